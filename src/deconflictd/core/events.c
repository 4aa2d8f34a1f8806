/* Events and the streams' marks: see events.h. */
#include "core/events.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"

/* The marks' slot of party, added in order when absent; NULL only without memory. Called with
 * marks_mu held. */
static dd_party_mark_t *mark_of(dd_service_t *svc, int64_t party)
{
    size_t lo = 0, hi = svc->n_marks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (svc->marks[mid].party < party)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < svc->n_marks && svc->marks[lo].party == party) return &svc->marks[lo];
    if (svc->n_marks == svc->cap_marks) {
        size_t cap = svc->cap_marks ? 2 * svc->cap_marks : 16;
        dd_party_mark_t *m = realloc(svc->marks, cap * sizeof(*m));
        if (!m) return NULL;
        svc->marks = m, svc->cap_marks = cap;
    }
    memmove(&svc->marks[lo + 1], &svc->marks[lo], (svc->n_marks - lo) * sizeof(*svc->marks));
    svc->n_marks++;
    svc->marks[lo] = (dd_party_mark_t){party, svc->marks_floor, false};
    return &svc->marks[lo];
}

int64_t dd_events_durable(dd_service_t *svc)
{
    return __atomic_load_n(&svc->durable_seq, __ATOMIC_ACQUIRE);
}

int64_t dd_events_mark(dd_service_t *svc, int64_t party)
{
    int64_t durable = dd_events_durable(svc), last = INT64_MAX;
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    if (m) last = m->last_seq; /* without memory: "something may be new", never "nothing" */
    pthread_mutex_unlock(&svc->marks_mu);
    return last < durable ? last : durable;
}

bool dd_channel_suspended(dd_service_t *svc, int64_t party)
{
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    bool s = m && m->suspended;
    pthread_mutex_unlock(&svc->marks_mu);
    return s;
}

void dd_channel_set_suspended(dd_service_t *svc, int64_t party, bool suspended)
{
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    if (m) m->suspended = suspended;
    pthread_mutex_unlock(&svc->marks_mu);
}

dc_err_t dd_event_text(dd_service_t *svc, int64_t party, const char *type, const char *text,
                       double now)
{
    int64_t seq = 0;
    dc_err_t rc = dc_store_event_append(svc->store, party, type, text, now, &seq);
    if (rc != DC_OK) return rc;
    svc->events_total++;
    /* Marked before it is durable: a stream that looks early finds nothing up to the durable
     * seq and waits for the sync's wake-up; one rolled back costs a stream one empty read. */
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    if (m && seq > m->last_seq) m->last_seq = seq;
    pthread_mutex_unlock(&svc->marks_mu);
    return DC_OK;
}

dc_err_t dd_event(dd_service_t *svc, int64_t party, const char *type, json_t *data, double now)
{
    char *text = dd_json_text(data);
    if (!text) return DC_ERR_NOMEM;
    dc_err_t rc = dd_event_text(svc, party, type, text, now);
    free(text);
    return rc;
}

dc_err_t dd_events_read(dd_service_t *svc, int64_t party, int64_t after, int64_t upto, size_t max,
                        dd_event_fn fn, void *ctx, int64_t *last)
{
    pthread_mutex_lock(&svc->events_lock);
    dc_err_t rc = dc_store_event_since(svc->events_store, party, after, upto, max, fn, ctx, last);
    pthread_mutex_unlock(&svc->events_lock);
    return rc;
}

void dd_events_poll(dd_service_t *svc)
{
    if (!svc->shared) return;
    pthread_mutex_lock(&svc->events_lock);
    int64_t last = dc_store_event_last_seq(svc->events_store);
    pthread_mutex_unlock(&svc->events_lock);
    if (last <= dd_events_durable(svc)) return;
    /* Every commit on a shared store is durable when it returns: what is committed is sent. */
    pthread_mutex_lock(&svc->marks_mu);
    for (size_t i = 0; i < svc->n_marks; i++)
        if (svc->marks[i].last_seq < last) svc->marks[i].last_seq = last;
    if (svc->marks_floor < last) svc->marks_floor = last;
    pthread_mutex_unlock(&svc->marks_mu);
    pthread_mutex_lock(&svc->lock);
    if (last > svc->durable_seq) __atomic_store_n(&svc->durable_seq, last, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&svc->lock);
}

void dd_events_open(dd_service_t *svc, int64_t last_seq)
{
    svc->durable_seq = svc->committed_seq = last_seq;
    for (size_t i = 0; i < svc->n_marks; i++) svc->marks[i].last_seq = last_seq;
    svc->marks_floor = last_seq;
}

void dd_events_close(dd_service_t *svc)
{
    free(svc->marks);
    svc->marks = NULL;
    svc->n_marks = svc->cap_marks = 0;
}
