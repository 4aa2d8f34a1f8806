/* libFuzzer driver: a POST /v1/agreements body as deconflictd reads it (dd_json_body, then
 * dd_agreement_parse: the parties' names, the constraint with its ground built as regions, the
 * band and window under the volumes' limits, the text), proposed by "alpha". Beyond "no
 * crash": an accepted proposal names 2-8 parties, the proposer first, and has a window. */
#include <stdint.h>

#include "../src/deconflictd/agreements.h"
#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    dd_problem_t pb;
    dd_agreement_req_t r;
    if (dd_agreement_parse(body, "alpha", &r, &pb) == DC_OK) {
        size_t n = json_array_size(r.names);
        if (n < 2 || n > 8 || strcmp(json_string_value(json_array_get(r.names, 0)), "alpha") != 0 ||
            !(r.t0 < r.t1) || !r.constraint || !r.geom)
            abort();
        dd_agreement_req_clear(&r);
    } else {
        check_problem(&pb);
    }
    json_decref(body);
    return 0;
}
