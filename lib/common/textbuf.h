/* Internal: text written into a fixed buffer, the overflow noticed once at the end. Knows
 * nothing about aviation.
 *
 * Every append goes to b[len..cap); once one does not fit, len becomes cap and stays there, so
 * a single dc_text_ok() at the end tells whether the whole text is there. */
#ifndef DC_COMMON_TEXTBUF_H
#define DC_COMMON_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dc_text {
    char *b;
    size_t cap, len;
} dc_text_t;

void dc_text_printf(dc_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The n bytes of s, as they are (no format: the hot paths' literals and runs of plain text). */
void dc_text_append(dc_text_t *t, const char *s, size_t n);

/* s as a JSON string, quoted, with what JSON requires escaped. */
void dc_text_json_string(dc_text_t *t, const char *s);

/* v as a JSON number with exactly `decimals` digits after the point (dc_fmt_fixed). */
void dc_text_fixed(dc_text_t *t, double v, int decimals);

static inline bool dc_text_ok(const dc_text_t *t)
{
    return t->len < t->cap;
}

#endif
