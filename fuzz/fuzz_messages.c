/* libFuzzer driver: a POST /v1/messages body as deconflictd reads it (dd_json_body, then
 * dd_message_parse: members, category, priority, deadline, the fields rendered in English and
 * Russian, the references' shape). Beyond "no crash": an accepted message has both texts. */
#include <stdint.h>

#include "../src/deconflictd/messages.h"
#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = body_of(data, size, JSON_OBJECT);
    if (!body) return 0;
    dd_problem_t pb;
    dd_message_req_t m;
    if (dd_message_parse(body, &m, &pb) == DC_OK) {
        if (!m.en || !m.ru || !m.to || !*m.to || (m.ack_required && !(m.deadline_s >= 1))) abort();
        dd_message_req_clear(&m);
    } else {
        check_problem(&pb);
    }
    json_decref(body);
    return 0;
}
