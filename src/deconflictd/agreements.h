/* deconflictd: agreements (agreements.c) — shared constraints that parties propose, accept and
 * withdraw together, the way the 2017 river line was agreed, checked live once active
 * (docs/hotline.md). A constraint is an area owned by one party, or a line with a party on each
 * side, within an altitude band and a time window. Calls with svc->lock held (write lock). */
#ifndef DC_DAEMON_AGREEMENTS_H
#define DC_DAEMON_AGREEMENTS_H

#include <jansson.h>

#include "daemon.h"
#include "service.h"

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
