/* Domain faults: see fault.h. */
#include "core/fault.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

dc_err_t dd_fail(dd_fault_t *f, dc_err_t err, const char *field, const char *fmt, ...)
{
    f->err = err;
    f->ext = NULL;
    snprintf(f->field, sizeof(f->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
    return err;
}

void dd_fault_clear(dd_fault_t *f)
{
    json_decref(f->ext);
    f->ext = NULL;
}
