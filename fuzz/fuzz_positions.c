/* libFuzzer driver: a POST /v1/positions body as deconflictd reads it -- JSON without duplicate
 * keys, an array, each report parsed (dd_position_parse). Beyond "no crash": a report accepted
 * is a valid track state of the party, and one refused names a field. */
#include <stdint.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *batch = body_of(data, size, JSON_ARRAY);
    if (!batch) return 0;
    size_t i;
    json_t *o;
    json_array_foreach(batch, i, o)
    {
        dd_report_t r;
        dd_position_parse(o, 7, &r);
        if (r.bad_field) continue;
        if (dc_track_state_validate(&r.st, NULL) != DC_OK || strncmp(r.st.id, "7/", 2) != 0 ||
            strlen(r.callsign) > 8 || !memchr(r.operation, 0, sizeof(r.operation)))
            abort();
    }
    json_decref(batch);
    return 0;
}
