/* The event streams: see streams.h. Lock order: the registry's mutex before the domain's marks
 * (dd_events_mark). */
#include "http/streams.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "core/events.h"
#include "core/messages.h"
#include "http/sse.h"

#define STREAM_BATCH_EVENTS 256
#define STREAM_POLL_MS      50 /* a shared store: other nodes' events looked for this often */

typedef struct stream {
    dd_streams_t *reg;
    struct MHD_Connection *conn;
    int64_t party;
    int64_t last_seq; /* the last event handed to the stream: the next read starts after it */
    int64_t scanned;  /* every event of the party up to this seq has been handed over */
    dd_sse_t sse;
    double last_write_s;
    json_t *delivered; /* ids of message.new events handed to the stream: now delivered */
    size_t batch;      /* events the store handed over in the last read */
    bool suspended;    /* under the registry's mutex */
    bool greeted;      /* the retry: field has been sent */
    struct stream *prev, *next;
} stream_t;

/* How long a client waits before reconnecting a stream that ended (the SSE retry: field): a
 * node stopping or failing over is back, or another answers, within it. */
#define SSE_RETRY_MS 3000

struct dd_streams {
    dd_service_t *svc;
    dd_access_t *access;
    pthread_mutex_t mu;
    stream_t *head;
    size_t n;
    bool closing;
    pthread_t waker;
    bool waker_running;
};

/* Whether s has something to send: unseen durable events of its party, unless the party has
 * suspended its side of the channel (a keepalive being due is asked apart). */
static bool has_events(stream_t *s)
{
    dd_service_t *svc = s->reg->svc;
    return !dd_channel_suspended(svc, s->party) && dd_events_mark(svc, s->party) > s->scanned;
}

static void on_event(int64_t seq, const char *type, const char *data, double t_s, void *ctx)
{
    (void)t_s;
    stream_t *s = ctx;
    s->batch++;
    if (!dd_sse_append(&s->sse, seq, type, data)) return; /* read again next time */
    if (strcmp(type, "message.new") == 0) {
        json_t *v = json_loads(data, 0, NULL);
        json_t *id = json_object_get(v, "id");
        if (id) json_array_append(s->delivered, id);
        json_decref(v);
    }
}

/* Reads the party's next events, up to the durable seq, into the stream's buffer. */
static void read_events(stream_t *s)
{
    dd_service_t *svc = s->reg->svc;
    if (dd_channel_suspended(svc, s->party)) return; /* paused: it resumes where it was */
    int64_t upto = dd_events_durable(svc);
    dd_sse_begin(&s->sse);
    s->sse.last_seq = s->last_seq;
    s->batch = 0;
    int64_t last = s->last_seq;
    if (dd_events_read(svc, s->party, s->last_seq, upto, STREAM_BATCH_EVENTS, on_event, s, &last) !=
        DC_OK)
        return;
    /* Only what was appended counts as handed over (not the store's last): an event that did
     * not fit is read again next time, never skipped. Everything up to upto was seen when the
     * store had fewer than a batch to give and all of it fitted. */
    s->last_seq = s->sse.last_seq;
    s->scanned = !s->sse.stopped && s->batch < STREAM_BATCH_EVENTS ? upto : s->last_seq;
    if (json_array_size(s->delivered)) {
        dd_message_delivered(svc, s->party, s->delivered, dd_now_s());
        json_array_clear(s->delivered);
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    dd_streams_t *reg = s->reg;
    dd_service_t *svc = reg->svc;
    if (!s->greeted) {
        char text[32];
        int n = snprintf(text, sizeof(text), "retry: %d\n\n", SSE_RETRY_MS);
        if (n < 0 || (size_t)n > max) return 0;
        memcpy(buf, text, (size_t)n);
        s->greeted = true;
        s->last_write_s = dd_now_s();
        return n;
    }
    for (;;) {
        if (s->sse.len > s->sse.off) {
            s->last_write_s = dd_now_s();
            return (ssize_t)dd_sse_take(&s->sse, buf, max);
        }
        if (__atomic_load_n(&svc->stopping, __ATOMIC_SEQ_CST))
            return MHD_CONTENT_READER_END_OF_STREAM;
        read_events(s);
        if (dd_sse_stuck(&s->sse)) /* not even one event fits: the client resumes it */
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->sse.len > s->sse.off) continue;
        double now = dd_now_s();
        if (now - s->last_write_s >= svc->cfg.keepalive_s) {
            s->last_write_s = now;
            const char *ka = ": keepalive\n\n";
            size_t n = strlen(ka) < max ? strlen(ka) : max;
            memcpy(buf, ka, n);
            return (ssize_t)n;
        }
        /* Nothing to send: suspend, unless an event became durable since the read (the waker
         * checks the same marks under the same mutex, so no wake-up is lost in between). */
        pthread_mutex_lock(&reg->mu);
        bool again = has_events(s), closing = reg->closing;
        if (!again && !closing) {
            s->suspended = true;
            MHD_suspend_connection(s->conn);
        }
        pthread_mutex_unlock(&reg->mu);
        if (closing) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!again) return 0; /* resumed by the waker */
    }
}

static void stream_free(void *cls)
{
    stream_t *s = cls;
    dd_streams_t *reg = s->reg;
    pthread_mutex_lock(&reg->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        reg->head = s->next;
    if (s->next) s->next->prev = s->prev;
    reg->n--;
    pthread_mutex_unlock(&reg->mu);
    dd_access_stream_close(reg->access, s->party);
    dd_sse_free(&s->sse);
    json_decref(s->delivered);
    free(s);
}

/* The waker: resumes suspended streams with something to send. It wakes at every sync that
 * makes events durable (events_cond) and at least once a second (keepalives). */
static void *stream_waker(void *arg)
{
    dd_streams_t *reg = arg;
    dd_service_t *svc = reg->svc;
    int64_t seen = -1;
    for (;;) {
        pthread_mutex_lock(&svc->lock);
        if (!svc->stopping && svc->durable_seq == seen) {
            /* A shared store: other nodes' events are looked for every STREAM_POLL_MS. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long step_ns = svc->shared ? STREAM_POLL_MS * 1000000L : 1000000000L;
            until.tv_nsec += step_ns;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&svc->events_cond, &svc->lock, &until);
        }
        pthread_mutex_unlock(&svc->lock);
        dd_events_poll(svc);
        pthread_mutex_lock(&svc->lock);
        seen = svc->durable_seq;
        pthread_mutex_unlock(&svc->lock);
        double now = dd_now_s();
        pthread_mutex_lock(&reg->mu);
        bool closing = reg->closing;
        for (stream_t *s = reg->head; s; s = s->next) {
            if (!s->suspended) continue;
            if (closing || has_events(s) || now - s->last_write_s >= svc->cfg.keepalive_s) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
            }
        }
        pthread_mutex_unlock(&reg->mu);
        if (closing) return NULL;
    }
}

dd_streams_t *dd_streams_new(dd_service_t *svc, dd_access_t *access, char *err, size_t len)
{
    dd_streams_t *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    reg->svc = svc, reg->access = access;
    pthread_mutex_init(&reg->mu, NULL);
    if (pthread_create(&reg->waker, NULL, stream_waker, reg) != 0) {
        snprintf(err, len, "cannot start the event streams' thread");
        pthread_mutex_destroy(&reg->mu);
        free(reg);
        return NULL;
    }
    reg->waker_running = true;
    return reg;
}

dc_err_t dd_stream_open(dd_streams_t *reg, struct MHD_Connection *c, int64_t party,
                        const char *last_id, enum MHD_Result *queued, dd_fault_t *f)
{
    dd_service_t *svc = reg->svc;
    int64_t after = 0;
    if (last_id) {
        char *end;
        errno = 0;
        long long v = strtoll(last_id, &end, 10);
        if (errno || end == last_id || *end || v < 0)
            return dd_fail(f, DC_ERR_INVALID, "Last-Event-ID",
                           "Last-Event-ID: expected the id of an event received earlier");
        after = v;
    } else {
        after = dd_events_durable(svc); /* new subscribers: from now on */
    }
    if (!dd_access_stream_open(reg->access, party))
        return dd_fail(f, DC_ERR_TOO_MANY_STREAMS, "",
                       "this party has the maximum number of open event streams");
    stream_t *s = calloc(1, sizeof(*s));
    if (!s) {
        dd_access_stream_close(reg->access, party);
        return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    }
    s->reg = reg, s->conn = c, s->party = party, s->last_seq = s->scanned = after;
    s->last_write_s = dd_now_s();
    s->delivered = json_array();
    pthread_mutex_lock(&reg->mu);
    s->next = reg->head;
    if (reg->head) reg->head->prev = s;
    reg->head = s;
    reg->n++;
    pthread_mutex_unlock(&reg->mu);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!r) {
        stream_free(s);
        return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    }
    /* A stream writes at least every keepalive_s; one that cannot write for three of them is a
     * client gone or stuck. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)(3 * svc->cfg.keepalive_s));
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    *queued = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return DC_OK;
}

size_t dd_streams_count(dd_streams_t *reg)
{
    pthread_mutex_lock(&reg->mu);
    size_t n = reg->n;
    pthread_mutex_unlock(&reg->mu);
    return n;
}

void dd_streams_close(dd_streams_t *reg)
{
    if (!reg) return;
    /* Every suspended stream is resumed and ends (MHD must hold none suspended when it stops);
     * none suspends again once closing is set. */
    pthread_mutex_lock(&reg->mu);
    reg->closing = true;
    for (stream_t *s = reg->head; s; s = s->next)
        if (s->suspended) {
            s->suspended = false;
            MHD_resume_connection(s->conn);
        }
    pthread_mutex_unlock(&reg->mu);
    pthread_mutex_lock(&reg->svc->lock);
    pthread_cond_broadcast(&reg->svc->events_cond);
    pthread_mutex_unlock(&reg->svc->lock);
    if (reg->waker_running) pthread_join(reg->waker, NULL);
    reg->waker_running = false;
}

void dd_streams_free(dd_streams_t *reg)
{
    if (!reg) return;
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}
