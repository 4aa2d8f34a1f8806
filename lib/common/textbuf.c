/* Bounded text: see textbuf.h. */
#include "common/textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void dc_text_append(dc_text_t *t, const char *s, size_t n)
{
    if (t->len >= t->cap) return;
    if (n >= t->cap - t->len) {
        t->len = t->cap; /* does not fit, with its terminator: the text is cut */
        return;
    }
    memcpy(t->b + t->len, s, n);
    t->len += n;
    t->b[t->len] = '\0';
}

void dc_text_json_string(dc_text_t *t, const char *s)
{
    dc_text_append(t, "\"", 1);
    while (*s && t->len < t->cap) {
        /* A run of characters that need no escape, at once. */
        size_t run = 0;
        while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20) run++;
        dc_text_append(t, s, run);
        s += run;
        if (!*s) break;
        unsigned char c = (unsigned char)*s++;
        if (c == '"' || c == '\\')
            dc_text_printf(t, "\\%c", c);
        else
            dc_text_printf(t, "\\u%04x", c);
    }
    dc_text_append(t, "\"", 1);
}

void dc_text_fixed(dc_text_t *t, double v, int decimals)
{
    char num[DC_FMT_FIXED_MAX];
    dc_fmt_fixed(num, v, decimals);
    dc_text_append(t, num, strlen(num));
}
