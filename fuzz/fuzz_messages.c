/* libFuzzer driver: a POST /v1/messages body as deconflictd reads it (dd_json_body, then
 * dd_message_parse: members, category, priority, deadline, the fields rendered in English and
 * Russian, the references' shape). Beyond "no crash": an accepted message renders in both
 * languages again, and names a recipient. */
#include <stdint.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    dd_fault_t f;
    dd_message_req_t m;
    if (dd_message_parse(body, &m, &f) == DC_OK) {
        char *en = NULL, *ru = NULL;
        if (dd_message_render(&m, &en, &ru, &f) != DC_OK || !en || !ru || !m.to || !*m.to ||
            (m.ack_required && !(m.deadline_s >= 1)))
            abort();
        free(en), free(ru);
    } else {
        check_fault(&f);
    }
    json_decref(body);
    return 0;
}
