/* libFuzzer driver: a POST /v1/agreements body as deconflictd reads it (dd_json_body, then
 * dd_agreement_parse: the parties' names, the constraint with its ground built as regions, the
 * band and window under the volumes' limits, the text), proposed by "alpha". Beyond "no
 * crash": an accepted proposal names 2-8 parties, the proposer first, has a window and a
 * ground. */
#include <stdint.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    dd_fault_t f;
    dd_agreement_req_t r;
    if (dd_agreement_parse(body, "alpha", &r, &f) == DC_OK) {
        if (r.n_names < 2 || r.n_names > 8 || strcmp(r.names[0], "alpha") != 0 ||
            !(r.t0_s < r.t1_s) || !r.constraint || !r.ground.region[0])
            abort();
        dd_agreement_req_clear(&r);
    } else {
        check_fault(&f);
    }
    json_decref(body);
    return 0;
}
