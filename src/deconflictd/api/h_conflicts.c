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
    json_t *out;
    dd_fault_t f;
    if (dd_conflict_ack(rq->svc, rq->party, rq->id, rq->now, &out, &f) != DC_OK)
        dd_respond_fault(rs, &f);
    else
        dd_respond_json(rs, 200, out);
}
