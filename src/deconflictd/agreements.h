/* deconflictd: agreements (agreements.c) — shared constraints that parties propose, accept and
 * withdraw together, the way the 2017 river line was agreed, checked live once active
 * (docs/hotline.md). A constraint is an area owned by one party, or a line with a party on each
 * side, within an altitude band and a time window. Calls with svc->lock held (write lock). */
#ifndef DC_DAEMON_AGREEMENTS_H
#define DC_DAEMON_AGREEMENTS_H

#include <jansson.h>

#include "daemon.h"
#include "service.h"

/* A proposal as its body states it, checked on its own (no party looked up): the other
 * parties' names (1-7, distinct, not the proposer's), the constraint with its ground built and
 * checked as a volume's footprint is, the band and window under the volumes' limits, the text.
 * JSON borrowed from the body except names, constraint and geom (dd_agreement_req_clear). */
typedef struct dd_agreement_req {
    json_t *names;      /* the proposer's name, then the others' */
    json_t *constraint; /* normalised (within_nm defaulted) */
    json_t *lo, *hi, *text;
    const char *t0s, *t1s;
    double t0, t1;
    struct dd_agr_geom *geom; /* its ground, as regions */
} dd_agreement_req_t;

dc_err_t dd_agreement_parse(json_t *body, const char *me, dd_agreement_req_t *r, dd_problem_t *pb);
void dd_agreement_req_clear(dd_agreement_req_t *r);

/* POST /v1/agreements: a proposal; the named parties get a deconfliction_request message. */
dc_err_t dd_agreement_propose(dd_service_t *svc, int64_t party, json_t *body, json_t **out,
                              dd_problem_t *pb);
/* GET /v1/agreements (the caller's), GET /v1/agreements/{id}. */
dc_err_t dd_agreement_list(dd_service_t *svc, int64_t party, json_t **out, dd_problem_t *pb);
dc_err_t dd_agreement_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                          dd_problem_t *pb);
/* POST /v1/agreements/{id}/accept|reject|withdraw. */
dc_err_t dd_agreement_act(dd_service_t *svc, int64_t party, const char *id, const char *action,
                          json_t **out, dd_problem_t *pb);

/* The party whose ground (area or side) the point at alt_ft, time t_s is on, under an active
 * agreement involving party: returns that other party (0: none) and the agreement's id. */
int64_t dd_agreement_violated(dd_service_t *svc, int64_t party, double lat_deg, double lon_deg,
                              double alt_ft, double t_s, const char **agreement_id);

/* The party whose ground operation op (of party) enters under an active agreement: a volume
 * whose footprint meets that ground (exactly: covering or crossing it counts, wherever its
 * vertices are), whose window overlaps the agreement's and whose band may overlap its band;
 * 0: none. */
int64_t dd_agreement_violated_by(dd_service_t *svc, int64_t party, const dc_operation_t *op,
                                 const char **agreement_id);

/* Restores agreements at start. */
bool dd_agreements_open(dd_service_t *svc);
/* Frees them. */
void dd_agreements_close(dd_service_t *svc);

#endif
