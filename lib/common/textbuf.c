/* Bounded text: see textbuf.h. */
#include "common/textbuf.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/numfmt.h"

void dc_text_printf(dc_text_t *t, const char *fmt, ...)
{
    if (t->len >= t->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->b + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len = n < 0 || (size_t)n >= t->cap - t->len ? t->cap : t->len + (size_t)n;
}

void dc_text_json_string(dc_text_t *t, const char *s)
{
    dc_text_printf(t, "\"");
    for (; *s && t->len < t->cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            dc_text_printf(t, "\\%c", c);
        else if (c < 0x20)
            dc_text_printf(t, "\\u%04x", c);
        else
            dc_text_printf(t, "%c", c);
    }
    dc_text_printf(t, "\"");
}

void dc_text_fixed(dc_text_t *t, double v, int decimals)
{
    char num[DC_FMT_FIXED_MAX];
    dc_fmt_fixed(num, v, decimals);
    dc_text_printf(t, "%s", num);
}
