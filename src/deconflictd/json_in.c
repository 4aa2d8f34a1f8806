/* Request bodies as JSON: see json_in.h. */
#include "json_in.h"

json_t *dd_json_body(const char *body, size_t len, json_type want, dd_problem_t *pb)
{
    json_error_t err;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        dd_problem(pb, 400, "invalid_json", "", "request body is not JSON: %s (line %d column %d)",
                   err.text, err.line, err.column);
    } else if (json_typeof(j) != want) {
        json_decref(j);
        j = NULL;
        dd_problem(pb, 400, "invalid_json", "", "request body: expected a JSON %s",
                   want == JSON_ARRAY ? "array" : "object");
    }
    return j;
}
