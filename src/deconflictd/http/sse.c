/* The event stream's pending text: see sse.h. */
#include "http/sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_sse_begin(dd_sse_t *s)
{
    s->stopped = false;
    if (s->off == s->len) s->off = s->len = 0; /* all written: start the buffer over */
}

bool dd_sse_append(dd_sse_t *s, int64_t seq, const char *type, const char *data)
{
    if (s->stopped) return false;
    size_t need = strlen(type) + strlen(data) + 48; /* "id: ", the seq, "event: ", newlines */
    bool empty = s->len == s->off;
    /* A batch is bounded, but an event always goes into an empty one whatever its size: a
     * large event delayed forever would be an event skipped. */
    if (!empty && s->len - s->off + need > DD_SSE_BATCH_BYTES) {
        s->stopped = true;
        return false;
    }
    if (s->len + need > s->cap) {
        if (s->off) { /* move the unwritten text to the front before growing */
            memmove(s->text, s->text + s->off, s->len - s->off);
            s->len -= s->off, s->off = 0;
        }
        if (s->len + need > s->cap) {
            size_t cap = (s->len + need) * 2;
            char *t = (s->realloc_fn ? s->realloc_fn : realloc)(s->text, cap);
            if (!t) {
                s->stopped = true;
                return false;
            }
            s->text = t, s->cap = cap;
        }
    }
    int n = snprintf(s->text + s->len, s->cap - s->len, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                     seq, type, data);
    if (n < 0 || (size_t)n >= s->cap - s->len) { /* cannot happen: need covers it */
        s->stopped = true;
        return false;
    }
    s->len += (size_t)n;
    s->last_seq = seq;
    return true;
}

bool dd_sse_stuck(const dd_sse_t *s)
{
    return s->stopped && s->len == s->off;
}

size_t dd_sse_take(dd_sse_t *s, char *buf, size_t max)
{
    size_t n = s->len - s->off;
    if (n > max) n = max;
    memcpy(buf, s->text + s->off, n);
    s->off += n;
    return n;
}

void dd_sse_free(dd_sse_t *s)
{
    free(s->text);
    memset(s, 0, sizeof(*s));
}
