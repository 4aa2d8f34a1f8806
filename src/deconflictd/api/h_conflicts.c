/* /v1/conflicts: a party's view of its conflicts, and its acknowledgement of each
 * (docs/service.md, "Conflicts"; docs/hotline.md, "Acknowledgements"). */
#include "api/api.h"
#include "core/conflicts.h"

void dd_h_conflicts_list(dd_request_t *rq, dd_response_t *rs)
{
    dd_api_list(rq, rs, "conflict", "conflicts");
}

void dd_h_conflicts_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_api_get(rq, rs, "conflict");
}

void dd_h_conflicts_ack(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(rs, dd_conflict_ack(rq->svc, rq->party, rq->id, rq->now, &rs->out, &rs->fault), 200);
}
