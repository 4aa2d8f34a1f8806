/* Shared by the drivers of the daemon's request bodies: the body read by the API's own rule
 * (dd_json_body), and the invariant every refusal keeps -- it names an error of the table, and so
 * a 4xx or 5xx status and a code, and says why. */
#ifndef DC_FUZZ_REQUEST_BODIES_H
#define DC_FUZZ_REQUEST_BODIES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse.h"

static inline void check_fault(dd_fault_t *f)
{
    int status = dc_err_http_status(f->err);
    if (f->err == DC_OK || status < 400 || status > 599 || !dc_err_code(f->err)[0] || !f->detail[0])
        abort();
    dd_fault_clear(f);
}

/* The input as a body of JSON type want, or NULL once its refusal was checked. */
static inline json_t *body_of(const uint8_t *data, size_t size, json_type want)
{
    dd_fault_t f;
    json_t *body;
    if (dd_json_body((const char *)data, size, want, &body, &f) != DC_OK) check_fault(&f);
    return body;
}

#endif
