/* Request bodies as JSON: see parse.h and api.h. */
#include <strings.h>

#include "api/api.h"
#include "api/parse.h"

dc_err_t dd_json_body(const char *body, size_t len, json_type want, json_t **out, dd_fault_t *f)
{
    json_error_t err;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
    *out = NULL;
    if (!j)
        return dd_fail(f, DC_ERR_JSON, "", "request body is not JSON: %s (line %d column %d)",
                       err.text, err.line, err.column);
    if (json_typeof(j) != want) {
        json_decref(j);
        return dd_fail(f, DC_ERR_JSON, "", "request body: expected a JSON %s",
                       want == JSON_ARRAY ? "array" : "object");
    }
    *out = j;
    return DC_OK;
}

bool dd_is_json_type(const char *ct)
{
    static const char type[] = "application/json";
    if (!ct || strncasecmp(ct, type, sizeof(type) - 1) != 0) return false;
    const char *rest = ct + sizeof(type) - 1;
    while (*rest == ' ' || *rest == '\t') rest++;
    return *rest == '\0' || *rest == ';';
}

bool dd_request_says_json(dd_request_t *rq, dd_response_t *rs)
{
    if (dd_is_json_type(rq->header(rq->conn, "Content-Type"))) return true;
    dd_respond_problem(rs, DC_ERR_MEDIA_TYPE, "Content-Type",
                       "Content-Type: expected application/json");
    return false;
}

json_t *dd_request_json(dd_request_t *rq, json_type want, dd_response_t *rs)
{
    if (!dd_request_says_json(rq, rs)) return NULL;
    dd_fault_t f;
    json_t *j;
    if (dd_json_body(rq->body, rq->len, want, &j, &f) != DC_OK) dd_respond_fault(rs, &f);
    return j;
}
