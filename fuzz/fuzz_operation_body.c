/* libFuzzer driver: a POST /v1/operations body as deconflictd reads it (dd_json_body, then
 * dd_operation_body_parse and dd_operation_prepare: volumes, priority, state, the engine's
 * operation built, validated and its footprints prepared) -- the daemon's own reading, not the
 * CLI's list parser (fuzz_operations.c). Beyond "no crash": a prepared operation has
 * 1..DC_STRATEGIC_VOLUMES_MAX valid volumes. */
#include <stdint.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Preparing reads only the strategic engine's configuration. */
    static dd_service_t svc;
    if (!svc.strategic && !(svc.strategic = dc_strategic_new(NULL))) abort();
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    dd_fault_t f;
    dd_op_request_t req;
    dd_new_operation_t n;
    if (dd_operation_body_parse(body, &req, &f) == DC_OK &&
        dd_operation_prepare(&svc, 3, &req, &n, &f) == DC_OK) {
        if (!n.prepared || n.op.n_volumes < 1 || n.op.n_volumes > DC_STRATEGIC_VOLUMES_MAX) abort();
        for (size_t i = 0; i < n.op.n_volumes; i++)
            if (dc_volume4d_validate(&n.op.volumes[i], NULL) != DC_OK) abort();
        dd_operation_prepared_clear(&n);
    } else {
        check_fault(&f);
    }
    json_decref(body);
    return 0;
}
