/* libFuzzer driver: PUT /v1/party/replay-clock's body as deconflictd reads it
 * (dd_replay_clock_parse). Beyond "no crash": an accepted clock is within its ranges -- a
 * recording of the past, a service start within a day of now, a speed of 0.01-1000 -- and a
 * refusal names its field. */
#include <math.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    const double now = 1796126400.0;
    dd_replay_clock_t c;
    dd_fault_t f;
    if (dd_replay_clock_parse(body, now, &c, &f) == DC_OK) {
        if (!(c.recording_start_s >= 0 && c.recording_start_s <= now) ||
            !(fabs(c.service_start_s - now) <= 86400) || !(c.speed >= 0.01 && c.speed <= 1000))
            abort();
    } else {
        if (!f.field[0]) abort();
        check_fault(&f);
    }
    json_decref(body);
    return 0;
}
