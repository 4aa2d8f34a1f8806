/* POST /v1/positions: a batch of a party's live position reports (docs/service.md, "Live
 * positions"). The body is read by api/positions_in.c; the domain judges each report's time
 * against the clock, keeps the news and answers which were refused, by index and field. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "deconflict/timefmt.h"

void dd_h_positions_post(dd_request_t *rq, dd_response_t *rs)
{
    if (!dd_request_says_json(rq, rs)) return;
    dd_report_t *reports;
    size_t n;
    dd_fault_t f;
    if (dd_positions_read(rq->body, rq->len, rq->party, &reports, &n, &f) != DC_OK) {
        dd_respond_fault(rs, &f);
        return;
    }
    dd_positions_result_t res;
    dc_err_t rc = dd_positions_put(rq->svc, rq->party, reports, n, rq->now, &res, &f);
    free(reports);
    if (rc != DC_OK) {
        dd_respond_fault(rs, &f);
        return;
    }
    json_t *rejected = json_array();
    for (size_t i = 0; i < res.n_refused; i++)
        json_array_append_new(
            rejected, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)res.refused[i].index,
                                "field", res.refused[i].field, "detail", res.refused[i].detail));
    free(res.refused);
    dd_respond_json(
        rs, 200,
        json_pack("{s:I, s:o}", "accepted", (json_int_t)res.accepted, "rejected", rejected));
}
