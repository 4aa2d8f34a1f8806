/* Answers, and the one mapping of domain faults to RFC 9457 problems: the status and the code
 * come from the library's error table (include/deconflict/error.h), never from a handler. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/format.h"

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Bad Request";
    }
}

static void respond_raw(dd_response_t *rs, int status, const char *type, char *text)
{
    rs->status = status;
    rs->type = type;
    rs->body = text;
    rs->len = text ? strlen(text) : 0;
}

void dd_respond_text(dd_response_t *rs, int status, char *text)
{
    if (!text) {
        respond_raw(rs, 500, "application/problem+json", NULL);
        return;
    }
    respond_raw(rs, status, "application/json", text);
}

void dd_respond_json(dd_response_t *rs, int status, json_t *j)
{
    char *text = j ? dd_json_text(j) : NULL;
    json_decref(j);
    if (!text) {
        dd_respond_problem(rs, DC_ERR_NOMEM, "", "out of memory");
        return;
    }
    dd_respond_text(rs, status, text);
}

void dd_respond_fault(dd_response_t *rs, dd_fault_t *f)
{
    int status = dc_err_http_status(f->err);
    json_t *j =
        json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", reason(status),
                  "status", status, "code", dc_err_code(f->err), "detail", f->detail);
    if (j && f->field[0]) json_object_set_new(j, "field", json_string(f->field));
    if (j && f->ext) json_object_update(j, f->ext);
    dd_fault_clear(f);
    char *text = j ? dd_json_text(j) : NULL;
    json_decref(j);
    respond_raw(rs, status, "application/problem+json", text);
}

void dd_respond_problem(dd_response_t *rs, dc_err_t err, const char *field, const char *fmt, ...)
{
    dd_fault_t f = {.err = err};
    snprintf(f.field, sizeof(f.field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
    va_end(ap);
    dd_respond_fault(rs, &f);
}

void dd_reply(dd_response_t *rs, dc_err_t rc, int status)
{
    json_t *out = rs->out;
    rs->out = NULL;
    if (rc != DC_OK) {
        json_decref(out);
        dd_respond_fault(rs, &rs->fault);
    } else {
        dd_respond_json(rs, status, out);
    }
}
