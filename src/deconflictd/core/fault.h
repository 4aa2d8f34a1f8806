/* deconflictd's domain faults: what went wrong, as one code of the library's error table
 * (include/deconflict/error.h), the field at fault and a sentence naming it and the limit.
 * The domain never names an HTTP status; the API layer maps the code through that table
 * (api/problem.c). */
#ifndef DD_CORE_FAULT_H
#define DD_CORE_FAULT_H

#include "deconflict/error.h"

typedef struct json_t json_t;

typedef struct dd_fault {
    dc_err_t err;
    char field[200];  /* a member path such as "volumes/0/time_end/value", or "" */
    char detail[512]; /* a sentence for the client */
    json_t *ext;      /* members merged into the answer (owned), or NULL */
} dd_fault_t;

/* Fills f (err, field -- NULL for none --, a printf-style sentence) and returns err, for
 * `return dd_fail(f, ...)`. */
dc_err_t dd_fail(dd_fault_t *f, dc_err_t err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Drops what f owns. */
void dd_fault_clear(dd_fault_t *f);

#endif
