/* deconflictd: agreements between parties (docs/hotline.md, "Agreements") -- proposal,
 * acceptance, withdrawal, and the ground each gives a party, checked exactly.
 *
 * An agreement is shared by its participants, who all see all of it: one document per
 * participant (kind "agreement", id "<agreement id>:<party id>"), written together by one
 * function (put_agreement in agreements.c). Its ground is held as regions of the library
 * (dc_region_t: an area, or one side of a line within its distance), built once when it is
 * proposed or restored: a track's position is a point in a region, an operation's volume meets
 * a region when its footprint does (covering an area whole or crossing a line counts, wherever
 * its vertices lie), its window overlaps the agreement's and its band may overlap the
 * agreement's (flight levels; a W84 end widened by the strategic engine's FL/W84 margin). */
#ifndef DD_CORE_AGREEMENTS_H
#define DD_CORE_AGREEMENTS_H

#include "core/ids.h"
#include "core/state.h"

#define DD_AGR_PARTIES_MAX 8 /* the proposer and up to 7 others */

typedef enum dd_agr_state {
    DD_AGR_PROPOSED,
    DD_AGR_ACTIVE,
    DD_AGR_REJECTED,
    DD_AGR_WITHDRAWAL_PROPOSED,
    DD_AGR_WITHDRAWN,
} dd_agr_state_t;

/* An agreement's ground: an area (ground[0], its owner) or a line's two sides (ground[0] the
 * left party's, ground[1] the right party's). owner[k]: the constraint's member naming it. */
typedef struct dd_agr_ground {
    dc_region_t *region[2];
    const char *owner_key[2];
} dd_agr_ground_t;

/* Builds the ground of constraint (a normalised {area, owner} or {line, left, right,
 * within_nm}); DC_OK, or the library's error with err saying where (its field relative to the
 * constraint). No state: the API checks a proposal with it before any lock. */
dc_err_t dd_agreement_ground(json_t *constraint, dd_agr_ground_t *g, dc_strategic_error_t *err);
void dd_agreement_ground_clear(dd_agr_ground_t *g);

/* A proposal as the API checked it (api/h_agreements.c): the participants' names (the
 * proposer first), the normalised constraint and its ground, band, window and text. The
 * proposal owns constraint, text and ground; dd_agreement_req_clear frees them. */
typedef struct dd_agreement_req {
    char names[DD_AGR_PARTIES_MAX][DC_PARTY_NAME_MAX];
    size_t n_names;
    json_t *constraint;
    double alt_lower_ft, alt_upper_ft;
    char time_start[40], time_end[40]; /* as given */
    double t0_s, t1_s;
    char *text; /* NULL: none */
    dd_agr_ground_t ground;
} dd_agreement_req_t;
void dd_agreement_req_clear(dd_agreement_req_t *r);

/* The other parties named in a proposal, looked up before it is judged (a proposer first
 * needs to hear of a party that does not exist): DC_OK, or DC_ERR_INVALID naming
 * "parties/<i>". */
dc_err_t dd_agreement_check_names(dd_service_t *svc, int64_t party, const char *const *names,
                                  size_t n, dd_fault_t *f);

/* POST /v1/agreements: stores the proposal (taking over r's ground) and sends each other party
 * a deconfliction_request over the hotline; its view in *out. */
dc_err_t dd_agreement_propose(dd_service_t *svc, int64_t party, dd_agreement_req_t *r, double now,
                              json_t **out, dd_fault_t *f);

/* GET /v1/agreements (every one party takes part in) and GET /v1/agreements/{id}. */
dc_err_t dd_agreement_list(dd_service_t *svc, int64_t party, json_t **out, dd_fault_t *f);
dc_err_t dd_agreement_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                          dd_fault_t *f);

/* POST /v1/agreements/{id}/accept|reject|withdraw. */
dc_err_t dd_agreement_act(dd_service_t *svc, int64_t party, const char *id, const char *action,
                          double now, json_t **out, dd_fault_t *f);

/* The party whose ground the point at alt_ft, time t_s is on, under an agreement binding party
 * (active, or asked to be withdrawn): that other party (0: none) and the agreement's id. */
int64_t dd_agreement_violated(dd_service_t *svc, int64_t party, double lat_deg, double lon_deg,
                              double alt_ft, double t_s, const char **agreement_id);

/* The same for track report st now (*tte_s 0) or, along its path as the tactical engine
 * extrapolates it, at the first step of step_s within lookahead_s where it is on such ground
 * (*tte_s that step). */
int64_t dd_agreement_ahead(dd_service_t *svc, int64_t party, const dc_track_state_t *st, double now,
                           double lookahead_s, double step_s, const char **agreement_id,
                           double *tte_s);

/* The same for operation op of party, its footprints prepared (p): a volume that meets that
 * ground in its window and may in its band. */
int64_t dd_agreement_violated_by(dd_service_t *svc, int64_t party, const dc_operation_t *op,
                                 const dc_strategic_prepared_t *p, const char **agreement_id);

bool dd_agreements_open(dd_service_t *svc);

/* An agreement document another node wrote (a shared store): the agreement held replaced by
 * it. Under the service lock. */
void dd_agreements_apply(dd_service_t *svc, const dc_doc_t *doc);
void dd_agreements_close(dd_service_t *svc);

#endif
