/* libFuzzer driver: the operation-list JSON parser (ASTM Volume4D), then the engine on whatever
 * parses. Invariants checked beyond "no crash": a parsed list has 1..N valid operations, and
 * filing them never fails for a reason other than a duplicate id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/strategic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_operation_t *ops;
    size_t n;
    dc_strategic_error_t err;
    if (dc_operation_list_parse_json((const char *)data, size, 16, &ops, &n, &err) != DC_OK) {
        if (strlen(err.message) == 0) abort(); /* every error says what is wrong */
        return 0;
    }
    dc_strategic_t *eng = dc_strategic_new(NULL);
    for (size_t i = 0; eng && i < n; i++) {
        if (!dc_op_state_is_live(ops[i].state)) continue;
        dc_strategic_result_t res;
        dc_err_t rc = dc_strategic_file(eng, &ops[i], &res);
        if (rc != DC_OK && rc != DC_ERR_NOMEM) abort();
        for (size_t k = 0; rc == DC_OK && k < res.n_conflicts; k++)
            if (res.conflicts[k].volume_index >= ops[i].n_volumes) abort();
        if (rc == DC_OK) dc_strategic_result_clear(&res);
    }
    dc_strategic_expire(eng, 4e9, NULL, NULL);
    dc_strategic_free(eng);
    dc_operation_list_free(ops, n);
    /* The single-volume entry point on the same bytes. */
    dc_volume4d_t vol;
    if (dc_volume4d_parse_json((const char *)data, size, &vol, &err) == DC_OK)
        dc_volume4d_clear(&vol);
    return 0;
}
