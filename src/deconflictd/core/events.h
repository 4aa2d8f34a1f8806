/* deconflictd: each party's event log -- appending (inside a write section; streams see an
 * event once its group commits), and the marks the event streams read without the service
 * lock: per party, the seq of its last event and whether it has suspended its side of the
 * channel, with the durable seq (so a stream never waits for a detection pass to know whether
 * it has something to send). */
#ifndef DD_CORE_EVENTS_H
#define DD_CORE_EVENTS_H

#include "core/state.h"

/* Appends an event of type for party with data (JSON, serialised compactly) at now. */
dc_err_t dd_event(dd_service_t *svc, int64_t party, const char *type, json_t *data, double now);
/* The same with data already as text. */
dc_err_t dd_event_text(dd_service_t *svc, int64_t party, const char *type, const char *text,
                       double now);

/* The seq up to which events are durable (streams deliver up to it). */
int64_t dd_events_durable(dd_service_t *svc);
/* The seq below which party's stream has nothing new: min(its last event, the durable seq). */
int64_t dd_events_mark(dd_service_t *svc, int64_t party);
/* Whether party has suspended its side of the channel (its streams pause), and setting it
 * (messages.c, once the change is committed). */
bool dd_channel_suspended(dd_service_t *svc, int64_t party);
void dd_channel_set_suspended(dd_service_t *svc, int64_t party, bool suspended);

/* One event as a stream reads it. */
typedef void (*dd_event_fn)(int64_t seq, const char *type, const char *data, double t_s, void *ctx);

/* Calls fn for party's events after seq `after` up to seq upto (at most max), on the streams'
 * own store connection (never the service lock); *last: the last seq read. */
dc_err_t dd_events_read(dd_service_t *svc, int64_t party, int64_t after, int64_t upto, size_t max,
                        dd_event_fn fn, void *ctx, int64_t *last);

/* A shared store: events other nodes appended become visible here -- the durable seq moves to
 * the store's last, and every party's mark with it (a stream then reads whether any is its
 * own). Called by the streams' waker, on the streams' own connection. */
void dd_events_poll(dd_service_t *svc);

/* At open: every mark starts at the last event there is. */
void dd_events_open(dd_service_t *svc, int64_t last_seq);
void dd_events_close(dd_service_t *svc);

#endif
