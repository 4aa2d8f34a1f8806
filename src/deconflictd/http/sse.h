/* deconflictd: the text of an event stream (Server-Sent Events) waiting to be written, and the
 * rule that no event is ever skipped.
 *
 * Events are appended in seq order; the buffer remembers the seq of the last one it holds, and
 * only that seq is where the stream goes on from. An event that cannot be appended (the batch
 * is full, or memory cannot be had) stops the batch there: it is read again next time. A batch
 * holds up to DD_SSE_BATCH_BYTES, but an event always fits alone, however large; when even
 * that allocation fails the caller closes the stream, and the client resumes with
 * Last-Event-ID from the last event it received. So a party never misses an alert. */
#ifndef DC_DAEMON_SSE_H
#define DC_DAEMON_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DD_SSE_BATCH_BYTES 65536 /* events gathered before a batch is handed to the socket */

typedef struct dd_sse {
    char *text; /* formatted events not yet written */
    size_t len, off, cap;
    int64_t last_seq; /* the last event appended: where the stream goes on from */
    bool stopped;     /* an event did not fit: the batch ends before it */
    /* The allocator (NULL: realloc); tests make it fail. */
    void *(*realloc_fn)(void *p, size_t n);
} dd_sse_t;

/* Starts a batch: appends are accepted again (the text not yet written is kept). */
void dd_sse_begin(dd_sse_t *s);

/* Appends event seq ("id: seq\nevent: type\ndata: data\n\n"); false when it does not fit (the
 * batch full, or no memory), and then every later append of the batch is refused too, so that
 * events stay in order. data must be one line (compact JSON). */
bool dd_sse_append(dd_sse_t *s, int64_t seq, const char *type, const char *data);

/* Whether the last batch could not take even its first event into an empty buffer: the stream
 * must close (the client resumes from Last-Event-ID). */
bool dd_sse_stuck(const dd_sse_t *s);

/* Copies up to max bytes of unwritten text into buf; returns how many. */
size_t dd_sse_take(dd_sse_t *s, char *buf, size_t max);

void dd_sse_free(dd_sse_t *s);

#endif
