/* deconflictd's HTTP side on libmicrohttpd: request bodies with a size limit, bearer
 * authentication, routing, RFC 9457 problems, one JSON log line per request, Prometheus
 * metrics, and the Server-Sent Events stream.
 *
 * Thread model: a pool of http_threads threads, each with its own epoll loop over many
 * connections (MHD_USE_EPOLL_INTERNAL_THREAD + MHD_OPTION_THREAD_POOL_SIZE), so idle or slow
 * clients cost a socket each and never a thread: thousands of them cannot take the line down
 * (issue 14; bench: deconflict-bench idle). Who may hold a connection is access.c's rule:
 * strangers' connections give way to parties'. A client that has not sent its headers within
 * header_timeout_s is closed; a party's idle keep-alive connection lives idle_timeout_s.
 *
 * An event stream never holds a thread while it waits: its reader suspends the connection
 * when it has nothing to send, and a waker thread resumes it when the party has new durable
 * events or a keepalive is due (the stream registry below). */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "agreements.h"
#include "access.h"
#include "audit_api.h"
#include "commit.h"
#include "console.h"
#include "deconflict/audit.h"
#include "daemon.h"
#include "json_in.h"
#include "live.h"
#include "messages.h"
#include "service.h"
#include "sse.h"

typedef struct request {
    dd_service_t *svc;
    char *body;
    size_t len, cap;
    bool too_large;
    double t0;
    int status;
    int64_t party;
    char party_name[DC_PARTY_NAME_MAX];
    bool has_key;
    uint8_t public_key[32];
    struct MHD_Connection *conn;
    bool require_signatures; /* the party's or the service's policy */
    bool is_signed;          /* the signature was checked (signed_route) */
    char method[16];
    char path[256];
} request_t;

dc_err_t dd_problem(dd_problem_t *pb, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    pb->status = status;
    pb->ext = NULL;
    snprintf(pb->code, sizeof(pb->code), "%s", code);
    snprintf(pb->field, sizeof(pb->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
    va_end(ap);
    return status == 404 ? DC_ERR_NOT_FOUND : status == 409 ? DC_ERR_CONFLICT : DC_ERR_INVALID;
}

/* An API answer's headers, then queued: never cached, never sniffed. */
static enum MHD_Result queue_answer(struct MHD_Connection *c, request_t *rq, int status,
                                    const char *type, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    rq->status = status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_text(struct MHD_Connection *c, request_t *rq, int status,
                                 const char *type, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return r ? queue_answer(c, rq, status, type, r) : MHD_NO;
}

/* The same for a body built for the answer (malloc'd): handed over, not copied. */
static enum MHD_Result send_text_owned(struct MHD_Connection *c, request_t *rq, int status,
                                       const char *type, char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    return queue_answer(c, rq, status, type, r);
}

static enum MHD_Result send_json(struct MHD_Connection *c, request_t *rq, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(j);
    return text ? send_text_owned(c, rq, status, "application/json", text) : MHD_NO;
}

static enum MHD_Result send_problem(struct MHD_Connection *c, request_t *rq, dd_problem_t *pb)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title",
                          MHD_get_reason_phrase_for((unsigned)pb->status), "status", pb->status,
                          "code", pb->code, "detail", pb->detail);
    if (pb->field[0]) json_object_set_new(j, "field", json_string(pb->field));
    if (pb->ext) json_object_update(j, pb->ext);
    json_decref(pb->ext);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(j);
    if (!text) return MHD_NO;
    enum MHD_Result ok =
        send_text(c, rq, pb->status, "application/problem+json", text, strlen(text));
    free(text);
    return ok;
}

static enum MHD_Result problem(struct MHD_Connection *c, request_t *rq, int status,
                               const char *code, const char *field, const char *detail)
{
    dd_problem_t pb;
    dd_problem(&pb, status, code, field, "%s", detail);
    return send_problem(c, rq, &pb);
}

/* ---- authentication ---- */

static bool authenticate(dd_service_t *svc, struct MHD_Connection *c, request_t *rq)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    dc_party_t p;
    pthread_mutex_lock(&svc->auth_lock);
    dc_err_t rc = dc_store_party_by_token(svc->auth_store, h + 7, &p);
    pthread_mutex_unlock(&svc->auth_lock);
    if (rc != DC_OK) return false;
    rq->party = p.id;
    snprintf(rq->party_name, sizeof(rq->party_name), "%s", p.name);
    rq->has_key = p.has_key;
    memcpy(rq->public_key, p.public_key, sizeof(rq->public_key));
    rq->require_signatures = p.require_signatures || svc->cfg.require_signatures;
    /* A party's connection: never evicted, and kept open idle_timeout_s between requests. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) dd_access_proven(svc->access, ci->socket_context);
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)svc->cfg.idle_timeout_s);
    return true;
}

/* ---- listing ---- */

static void add_item(const char *id, const char *view, void *ctx)
{
    (void)id;
    json_t *v = json_loads(view, 0, NULL);
    if (v) json_array_append_new(ctx, v);
}

static enum MHD_Result list_docs(struct MHD_Connection *c, request_t *rq, const char *kind,
                                 const char *key)
{
    dd_service_t *svc = rq->svc;
    const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    /* The store filters on the document's state, which is also each view's. */
    json_t *items = json_array();
    dd_read_lock(svc);
    dc_err_t rc = dc_store_doc_list(svc->store, kind, rq->party, state, add_item, items);
    dd_read_unlock(svc);
    if (rc != DC_OK) {
        json_decref(items);
        return problem(c, rq, 500, "store_failed", "", "the store could not be read");
    }
    return send_json(c, rq, 200, json_pack("{s:o}", key, items));
}

static enum MHD_Result get_doc(struct MHD_Connection *c, request_t *rq, const char *kind,
                               const char *id)
{
    dd_service_t *svc = rq->svc;
    char *view = NULL, *state = NULL;
    dd_read_lock(svc);
    dc_err_t rc = dc_store_doc_get(svc->store, kind, id, rq->party, &view, &state);
    dd_read_unlock(svc);
    free(state);
    if (rc != DC_OK) {
        /* Someone else's document and no document at all answer the same. */
        char msg[160];
        snprintf(msg, sizeof(msg), "no %s '%.80s'", kind, id);
        return problem(c, rq, 404, "not_found", "id", msg);
    }
    enum MHD_Result ok = send_text(c, rq, 200, "application/json", view, strlen(view));
    free(view);
    return ok;
}

/* ---- the event stream ----
 * Readers run on the pool's threads and never wait: with nothing to send, a stream suspends
 * its connection. The registry holds every stream; the waker thread resumes a suspended one
 * when its party has events it has not seen up to the durable seq, or a keepalive is due, or
 * the service stops. Lock order: streams_mu before the service's seq marks (dd_events_mark). */

typedef struct stream {
    dd_service_t *svc;
    struct MHD_Connection *conn;
    int64_t party;
    int64_t last_seq; /* the last event handed to the stream: the next read starts after it */
    int64_t scanned;  /* every event of the party up to this seq has been handed over */
    dd_sse_t sse;
    double last_write_s;
    json_t *delivered; /* ids of message.new events handed to the stream: now delivered */
    size_t batch;      /* events the store handed over in the last read */
    bool suspended;    /* under streams_mu */
    struct stream *prev, *next;
} stream_t;

struct dd_streams {
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
    return !dd_channel_suspended(s->svc, s->party) && dd_events_mark(s->svc, s->party) > s->scanned;
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

#define STREAM_BATCH_EVENTS 256

/* Reads the party's next events, up to the durable seq, into the stream's buffer. */
static void read_events(stream_t *s)
{
    dd_service_t *svc = s->svc;
    if (dd_channel_suspended(svc, s->party)) return; /* paused: it resumes where it was */
    int64_t upto = dd_events_durable(svc);
    dd_sse_begin(&s->sse);
    s->sse.last_seq = s->last_seq;
    s->batch = 0;
    int64_t last = s->last_seq;
    pthread_mutex_lock(&svc->events_lock);
    dc_err_t rc = dc_store_event_since(svc->events_store, s->party, s->last_seq, upto,
                                       STREAM_BATCH_EVENTS, on_event, s, &last);
    pthread_mutex_unlock(&svc->events_lock);
    if (rc != DC_OK) return;
    /* Only what was appended counts as handed over (not the store's last): an event that did
     * not fit is read again next time, never skipped. Everything up to upto was seen when the
     * store had fewer than a batch to give and all of it fitted. */
    s->last_seq = s->sse.last_seq;
    s->scanned = !s->sse.stopped && s->batch < STREAM_BATCH_EVENTS ? upto : s->last_seq;
    if (json_array_size(s->delivered)) {
        dd_message_delivered(svc, s->party, s->delivered);
        json_array_clear(s->delivered);
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    dd_service_t *svc = s->svc;
    struct dd_streams *reg = svc->streams;
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
    dd_service_t *svc = s->svc;
    struct dd_streams *reg = svc->streams;
    pthread_mutex_lock(&reg->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        reg->head = s->next;
    if (s->next) s->next->prev = s->prev;
    reg->n--;
    pthread_mutex_unlock(&reg->mu);
    dd_access_stream_close(svc->access, s->party);
    dd_sse_free(&s->sse);
    json_decref(s->delivered);
    free(s);
}

/* The waker: resumes suspended streams with something to send. It wakes at every sync that
 * makes events durable (events_cond) and at least once a second (keepalives). */
static void *stream_waker(void *arg)
{
    dd_service_t *svc = arg;
    struct dd_streams *reg = svc->streams;
    int64_t seen = -1;
    for (;;) {
        pthread_mutex_lock(&svc->lock);
        if (!svc->stopping && svc->durable_seq == seen) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&svc->events_cond, &svc->lock, &until);
        }
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

static enum MHD_Result open_stream(struct MHD_Connection *c, request_t *rq)
{
    dd_service_t *svc = rq->svc;
    int64_t after = 0;
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (last) {
        char *end;
        errno = 0;
        long long v = strtoll(last, &end, 10);
        if (errno || end == last || *end || v < 0)
            return problem(c, rq, 400, "invalid_argument", "Last-Event-ID",
                           "Last-Event-ID: expected the id of an event received earlier");
        after = v;
    } else {
        after = dd_events_durable(svc); /* new subscribers: from now on */
    }
    if (!dd_access_stream_open(svc->access, rq->party))
        return problem(c, rq, 429, "too_many_streams", "",
                       "this party has the maximum number of open event streams");
    stream_t *s = calloc(1, sizeof(*s));
    if (!s) {
        dd_access_stream_close(svc->access, rq->party);
        return MHD_NO;
    }
    s->svc = svc, s->conn = c, s->party = rq->party, s->last_seq = s->scanned = after;
    s->last_write_s = dd_now_s();
    s->delivered = json_array();
    struct dd_streams *reg = svc->streams;
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
        return MHD_NO;
    }
    /* A stream writes at least every keepalive_s; one that cannot write for three of them is a
     * client gone or stuck. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)(3 * svc->cfg.keepalive_s));
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    rq->status = 200;
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- metrics ---- */

static enum MHD_Result metrics(struct MHD_Connection *c, request_t *rq)
{
    dd_service_t *svc = rq->svc;
    dc_strategic_stats_t st;
    char buf[12288];
    pthread_mutex_lock(&svc->sync_lock);
    uint64_t syncs = svc->syncs_total;
    pthread_mutex_unlock(&svc->sync_lock);
    dd_access_stats_t as;
    dd_access_stats(svc->access, &as);
    pthread_mutex_lock(&svc->streams->mu);
    size_t n_streams = svc->streams->n;
    pthread_mutex_unlock(&svc->streams->mu);
    pthread_mutex_lock(&svc->lock);
    dc_strategic_stats(svc->strategic, &st);
    int n = snprintf(
        buf, sizeof(buf),
        "# HELP deconflict_requests_total HTTP requests answered, by status class.\n"
        "# TYPE deconflict_requests_total counter\n"
        "deconflict_requests_total{class=\"2xx\"} %llu\n"
        "deconflict_requests_total{class=\"4xx\"} %llu\n"
        "deconflict_requests_total{class=\"5xx\"} %llu\n"
        "# HELP deconflict_events_total Events appended to parties' streams.\n"
        "# TYPE deconflict_events_total counter\n"
        "deconflict_events_total %llu\n"
        "# HELP deconflict_event_subscribers Open /v1/events streams.\n"
        "# TYPE deconflict_event_subscribers gauge\n"
        "deconflict_event_subscribers %zu\n"
        "# HELP deconflict_http_connections Connections the server holds.\n"
        "# TYPE deconflict_http_connections gauge\n"
        "deconflict_http_connections %zu\n"
        "# HELP deconflict_http_connections_unproven Held connections that have not yet carried "
        "an authenticated request (the ones that give way).\n"
        "# TYPE deconflict_http_connections_unproven gauge\n"
        "deconflict_http_connections_unproven %zu\n"
        "# HELP deconflict_http_connections_evicted_total Unproven connections shut to make room.\n"
        "# TYPE deconflict_http_connections_evicted_total counter\n"
        "deconflict_http_connections_evicted_total %llu\n"
        "# HELP deconflict_http_connections_refused_total Connections refused: every held one was "
        "a party's.\n"
        "# TYPE deconflict_http_connections_refused_total counter\n"
        "deconflict_http_connections_refused_total %llu\n"
        "# HELP deconflict_open_conflicts Conflicts not resolved.\n"
        "# TYPE deconflict_open_conflicts gauge\n"
        "deconflict_open_conflicts %zu\n"
        "# HELP deconflict_live_operations Operations in the strategic engine.\n"
        "# TYPE deconflict_live_operations gauge\n"
        "deconflict_live_operations %zu\n"
        "# HELP deconflict_live_volumes Volumes in the strategic engine.\n"
        "# TYPE deconflict_live_volumes gauge\n"
        "deconflict_live_volumes %zu\n"
        "# HELP deconflict_positions_total Position reports accepted.\n"
        "# TYPE deconflict_positions_total counter\n"
        "deconflict_positions_total %llu\n"
        "# HELP deconflict_positions_refused_total Position reports refused, by reason (time "
        "ahead of the service's clock, too old, invalid).\n"
        "# TYPE deconflict_positions_refused_total counter\n"
        "deconflict_positions_refused_total{reason=\"time_ahead\"} %llu\n"
        "deconflict_positions_refused_total{reason=\"time_old\"} %llu\n"
        "deconflict_positions_refused_total{reason=\"invalid\"} %llu\n"
        "# HELP deconflict_live_tracks Tracks evaluated in the last detection pass.\n"
        "# TYPE deconflict_live_tracks gauge\n"
        "deconflict_live_tracks %zu\n"
        "# HELP deconflict_detection_passes_total Tactical detection passes run.\n"
        "# TYPE deconflict_detection_passes_total counter\n"
        "deconflict_detection_passes_total %llu\n"
        "# HELP deconflict_detection_pass_ms Duration of the last detection pass.\n"
        "# TYPE deconflict_detection_pass_ms gauge\n"
        "deconflict_detection_pass_ms %.3f\n"
        "# HELP deconflict_store_commits_total Store transactions committed.\n"
        "# TYPE deconflict_store_commits_total counter\n"
        "deconflict_store_commits_total %llu\n"
        "# HELP deconflict_store_syncs_total Syncs of the store to disk (one sync makes "
        "every commit before it durable).\n"
        "# TYPE deconflict_store_syncs_total counter\n"
        "deconflict_store_syncs_total %llu\n"
        "# HELP deconflict_history_errors_total Track history samples that could not be stored "
        "(their reports were).\n"
        "# TYPE deconflict_history_errors_total counter\n"
        "deconflict_history_errors_total %llu\n"
        "# HELP deconflict_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE deconflict_uptime_seconds gauge\n"
        "deconflict_uptime_seconds %.0f\n",
        (unsigned long long)svc->requests_by_class[2],
        (unsigned long long)svc->requests_by_class[4],
        (unsigned long long)svc->requests_by_class[5], (unsigned long long)svc->events_total,
        n_streams, as.connections, as.unproven, (unsigned long long)as.evicted,
        (unsigned long long)as.refused, svc->open_conflicts, st.operations, st.volumes,
        (unsigned long long)svc->positions_total,
        (unsigned long long)svc->positions_refused[DD_REFUSED_AHEAD],
        (unsigned long long)svc->positions_refused[DD_REFUSED_OLD],
        (unsigned long long)svc->positions_refused[DD_REFUSED_INVALID], svc->live_tracks,
        (unsigned long long)svc->passes_total, svc->last_pass_ms,
        (unsigned long long)svc->committed, (unsigned long long)syncs,
        (unsigned long long)svc->history_errors, dd_now_s() - svc->started_s);
    pthread_mutex_unlock(&svc->lock);
    /* The SBS-1 feeds, one series per feed. */
    static const char *const names[][2] = {
        {"deconflict_feed_lines_total", "SBS-1 lines read from the feed."},
        {"deconflict_feed_bad_lines_total", "Malformed SBS-1 lines skipped."},
        {"deconflict_feed_states_total", "Aircraft states fed in as tracks."},
        {"deconflict_feed_aircraft", "Aircraft the feed's tracker holds."},
        {"deconflict_feed_connected", "1 while connected to the source."},
    };
    for (size_t k = 0; svc->cfg.n_feeds && k < sizeof(names) / sizeof(names[0]); k++) {
        if (n > (int)sizeof(buf) - 400) break; /* room for the longest HELP and TYPE lines */
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "# HELP %s %s\n# TYPE %s %s\n", names[k][0],
                      names[k][1], names[k][0], k < 3 ? "counter" : "gauge");
        for (size_t i = 0; i < svc->cfg.n_feeds && n < (int)sizeof(buf) - 200; i++) {
            const dd_feed_t *f = &svc->feeds[i];
            unsigned long long v =
                k == 0   ? __atomic_load_n(&f->lines, __ATOMIC_RELAXED)
                : k == 1 ? __atomic_load_n(&f->bad_lines, __ATOMIC_RELAXED)
                : k == 2 ? __atomic_load_n(&f->states, __ATOMIC_RELAXED)
                : k == 3 ? __atomic_load_n(&f->aircraft, __ATOMIC_RELAXED)
                         : (unsigned long long)__atomic_load_n(&f->connected, __ATOMIC_RELAXED);
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s{feed=\"%.100s:%d\"} %llu\n",
                          names[k][0], f->host, f->port, v);
        }
    }
    return send_text(c, rq, 200, "text/plain; version=0.0.4", buf, (size_t)n);
}

/* ---- routing ---- */

/* Every route, for `deconflictd --print-routes`: the integration test checks this list against
 * docs/openapi.yaml both ways and probes each route, so neither can drift from route(). */
static const char *const routes[][2] = {
    {"GET", "/"},
    {"GET", "/healthz"},
    {"GET", "/metrics"},
    {"GET", "/v1/operations"},
    {"POST", "/v1/operations"},
    {"GET", "/v1/operations/{id}"},
    {"PUT", "/v1/operations/{id}"},
    {"POST", "/v1/operations/{id}/activate"},
    {"POST", "/v1/operations/{id}/end"},
    {"POST", "/v1/operations/{id}/cancel"},
    {"GET", "/v1/conflicts"},
    {"GET", "/v1/conflicts/{id}"},
    {"POST", "/v1/conflicts/{id}/ack"},
    {"GET", "/v1/events"},
    {"POST", "/v1/positions"},
    {"GET", "/v1/messages"},
    {"POST", "/v1/messages"},
    {"GET", "/v1/messages/{id}"},
    {"POST", "/v1/messages/{id}/ack"},
    {"GET", "/v1/tracks"},
    {"GET", "/v1/history"},
    {"GET", "/v1/audit"},
    {"GET", "/v1/party"},
    {"GET", "/v1/agreements"},
    {"POST", "/v1/agreements"},
    {"GET", "/v1/agreements/{id}"},
    {"POST", "/v1/agreements/{id}/accept"},
    {"POST", "/v1/agreements/{id}/reject"},
    {"POST", "/v1/agreements/{id}/withdraw"},
    {"PUT", "/v1/party/key"},
};

void dd_http_print_routes(FILE *out)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        fprintf(out, "%s %s\n", routes[i][0], routes[i][1]);
}

/* Splits "/v1/operations/ID/ACTION" style paths: returns the number of segments (max 4). */
static int split(const char *url, char seg[4][128])
{
    int n = 0;
    const char *p = url;
    while (*p == '/') p++;
    while (*p && n < 4) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= 128) return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p += len;
        while (*p == '/') p++;
    }
    return *p ? -1 : n;
}

static enum MHD_Result with_result(struct MHD_Connection *c, request_t *rq, dc_err_t rc,
                                   json_t *out, dd_problem_t *pb, int ok_status)
{
    if (rc != DC_OK) return send_problem(c, rq, pb);
    return send_json(c, rq, ok_status, out);
}

/* Whether the request says its body is JSON: media type application/json, any case, with or
 * without parameters ("; charset=utf-8"). */
static bool is_json_type(const char *ct)
{
    static const char type[] = "application/json";
    if (!ct || strncasecmp(ct, type, sizeof(type) - 1) != 0) return false;
    const char *rest = ct + sizeof(type) - 1;
    while (*rest == ' ' || *rest == '\t') rest++;
    return *rest == '\0' || *rest == ';';
}

/* The request body as JSON of the expected type (JSON_OBJECT or JSON_ARRAY): every endpoint that
 * takes a body requires Content-Type application/json (415 otherwise) and refuses duplicate
 * keys anywhere in it (one member, one meaning). NULL with the problem in pb. */
static json_t *parse_body(struct MHD_Connection *c, request_t *rq, json_type want, dd_problem_t *pb)
{
    if (!is_json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"))) {
        dd_problem(pb, 415, "unsupported_media_type", "Content-Type",
                   "Content-Type: expected application/json");
        return NULL;
    }
    return dd_json_body(rq->body, rq->len, want, pb);
}

static enum MHD_Result route(struct MHD_Connection *c, request_t *rq, const char *url,
                             const char *method);

/* The text a party signs for a request (DC_AUDIT_REQUEST_TAG in deconflict/audit.h): the tag,
 * the signer's party id, the method, the path, each on its own line, then the body. v1 (no
 * party id) when v1 is set: only to tell a client that signed the old text what is wrong. */
static char *signed_text(request_t *rq, const char *method, const char *url, bool v1, size_t *len)
{
    char head[512];
    int n = v1 ? snprintf(head, sizeof(head), DC_AUDIT_REQUEST_TAG_V1 "%s\n%s\n", method, url)
               : snprintf(head, sizeof(head), DC_AUDIT_REQUEST_TAG "%lld\n%s\n%s\n",
                          (long long)rq->party, method, url);
    if (n < 0 || (size_t)n >= sizeof(head)) return NULL;
    char *msg = malloc((size_t)n + rq->len + 1);
    if (!msg) return NULL;
    memcpy(msg, head, (size_t)n);
    if (rq->len) memcpy(msg + n, rq->body, rq->len);
    *len = (size_t)n + rq->len;
    msg[*len] = '\0';
    return msg;
}

/* Checks a request's signature before routing it; the audit entries it causes keep it. */
static enum MHD_Result signed_route(struct MHD_Connection *c, request_t *rq, const char *url,
                                    const char *method, const char *header)
{
    if (!authenticate(rq->svc, c, rq))
        return problem(c, rq, 401, "unauthorized", "Authorization",
                       "Authorization: expected 'Bearer <token>' with a valid party token");
    uint8_t sig[64];
    size_t got = 0;
    const char *b64 = strncmp(header, "ed25519 ", 8) == 0 ? header + 8 : NULL;
    if (!b64 ||
        sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof(sig))
        return problem(c, rq, 400, "invalid_argument", "Deconflict-Signature",
                       "Deconflict-Signature: expected 'ed25519 <base64 of 64 bytes>'");
    if (!rq->has_key)
        return problem(c, rq, 400, "no_key", "Deconflict-Signature",
                       "Deconflict-Signature: this party has registered no public key "
                       "(PUT /v1/party/key)");
    /* What is signed: the signer, the method and the path with the body, so that a signature
     * authorises this action on this resource by this party and no other (docs/audit.md). */
    size_t len;
    char *msg = signed_text(rq, method, url, false, &len);
    if (!msg) return problem(c, rq, 400, "invalid_argument", "", "request path too long to sign");
    if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, rq->public_key) != 0) {
        free(msg);
        size_t old_len;
        char *old = signed_text(rq, method, url, true, &old_len);
        bool was_v1 = old && crypto_sign_verify_detached(sig, (const unsigned char *)old, old_len,
                                                         rq->public_key) == 0;
        free(old);
        if (was_v1)
            return problem(c, rq, 401, "bad_signature", "Deconflict-Signature",
                           "Deconflict-Signature: signed in the old format, which does not name "
                           "the signer; sign \"deconflict-request-v2\" with your party id "
                           "(docs/audit.md)");
        return problem(c, rq, 401, "bad_signature", "Deconflict-Signature",
                       "Deconflict-Signature: the signature does not match this request "
                       "(party, method, path and body) and the party's registered key");
    }
    rq->is_signed = true;
    dd_signed_request(rq->party, msg, len, sig);
    enum MHD_Result r = route(c, rq, url, method);
    dd_signed_request(0, NULL, 0, NULL);
    free(msg);
    return r;
}

/* What the console's pages may load and run: only its own files, and only requests back to
 * this service (docs/console.md). */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "                   \
    "frame-ancestors 'none'"

/* A file of the web console: content-hashed assets are cached for a year, everything else is
 * revalidated by its ETag on every load. */
static enum MHD_Result serve_console(struct MHD_Connection *c, request_t *rq, const char *url)
{
    const dd_console_file_t *f = dd_console_find(rq->svc->console, url);
    if (!f && !rq->svc->console)
        return problem(c, rq, 404, "not_found", "",
                       "the web console is not installed here: build it (make) or point "
                       "--console-dir at its files");
    if (!f) return problem(c, rq, 404, "not_found", "", "no such resource");
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool fresh = inm && strcmp(inm, f->etag) == 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(fresh ? 0 : f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", f->type);
    MHD_add_response_header(r, "Cache-Control",
                            f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(r, "ETag", f->etag);
    MHD_add_response_header(r, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    rq->status = fresh ? 304 : 200;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rq->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result route(struct MHD_Connection *c, request_t *rq, const char *url,
                             const char *method)
{
    dd_service_t *svc = rq->svc;
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/healthz") == 0 && get)
        return send_text(c, rq, 200, "application/json", "{\"status\":\"ok\"}", 15);
    if (strcmp(url, "/metrics") == 0 && get) return metrics(c, rq);
    if ((get || strcmp(method, "HEAD") == 0) && strncmp(url, "/v1/", 4) != 0 &&
        strcmp(url, "/v1") != 0)
        return serve_console(c, rq, url);
    char seg[4][128];
    int n = split(url, seg);
    if (n < 2 || strcmp(seg[0], "v1") != 0)
        return problem(c, rq, 404, "not_found", "", "no such resource");
    if (!authenticate(svc, c, rq))
        return problem(c, rq, 401, "unauthorized", "Authorization",
                       "Authorization: expected 'Bearer <token>' with a valid party token");
    double retry_s;
    if (!dd_access_rate(svc->access, rq->party, dd_now_s(), &retry_s)) {
        dd_problem_t rp;
        dd_problem(&rp, 429, "rate_limited", "",
                   "more than %.0f requests per second (burst %.0f) from this party; retry in "
                   "%.2f s",
                   svc->cfg.rate_rps, svc->cfg.rate_burst, retry_s);
        rp.ext = json_pack("{s:f}", "retry_after_s", retry_s);
        return send_problem(c, rq, &rp);
    }
    /* Under a signature policy every write must be signed; only registering the first key
     * needs none, or a party could never start signing. */
    bool writes = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    bool first_key = !rq->has_key && strcmp(method, "PUT") == 0 && n == 3 &&
                     strcmp(seg[1], "party") == 0 && strcmp(seg[2], "key") == 0;
    if (writes && rq->require_signatures && !rq->is_signed && !first_key)
        return problem(c, rq, 401, "signature_required", "Deconflict-Signature",
                       rq->has_key ? "Deconflict-Signature: this party's writes must be signed "
                                     "(signatures: required; docs/audit.md)"
                                   : "Deconflict-Signature: this party's writes must be signed "
                                     "(signatures: required): register a key first with PUT "
                                     "/v1/party/key, then sign (docs/audit.md)");
    if (rq->too_large) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body larger than %zu bytes", svc->cfg.max_body_bytes);
        return problem(c, rq, 413, "too_large", "", msg);
    }
    dd_problem_t pb;
    json_t *out = NULL;
    dc_err_t rc;
    if (strcmp(seg[1], "operations") == 0) {
        if (n == 2 && get) return list_docs(c, rq, "operation", "operations");
        if (n == 2 && post) {
            const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
            if (key && (strlen(key) == 0 || strlen(key) > 200))
                return problem(c, rq, 400, "invalid_argument", "Idempotency-Key",
                               "Idempotency-Key: 1-200 characters");
            json_t *body = parse_body(c, rq, JSON_OBJECT, &pb);
            if (!body) return send_problem(c, rq, &pb);
            dd_new_operation_t prepared;
            rc = dd_operation_prepare(rq->party, body, &prepared, &pb);
            if (rc != DC_OK) {
                json_decref(body);
                return send_problem(c, rq, &pb);
            }
            dd_write_lock(svc);
            int status;
            char *stored;
            if (key && dc_store_idem_get(svc->store, rq->party, key, &status, &stored) == DC_OK) {
                dd_write_unlock(svc);
                dd_operation_prepared_clear(&prepared);
                json_decref(body);
                enum MHD_Result ok =
                    send_text(c, rq, status, "application/json", stored, strlen(stored));
                free(stored);
                return ok;
            }
            rc = dd_operation_create(svc, rq->party, &prepared, key, &out, &pb);
            dd_write_unlock(svc);
            dd_operation_prepared_clear(&prepared);
            json_decref(body);
            return with_result(c, rq, rc, out, &pb, 201);
        }
        if (n == 3 && get) return get_doc(c, rq, "operation", seg[2]);
        if (n == 3 && strcmp(method, "PUT") == 0) {
            json_t *body = parse_body(c, rq, JSON_OBJECT, &pb);
            if (!body) return send_problem(c, rq, &pb);
            dd_write_lock(svc);
            rc = dd_operation_update(svc, rq->party, seg[2], body, &out, &pb);
            dd_write_unlock(svc);
            json_decref(body);
            return with_result(c, rq, rc, out, &pb, 200);
        }
        if (n == 4 && post) {
            dd_write_lock(svc);
            rc = dd_operation_set_state(svc, rq->party, seg[2], seg[3], &out, &pb);
            dd_write_unlock(svc);
            return with_result(c, rq, rc, out, &pb, 200);
        }
    } else if (strcmp(seg[1], "conflicts") == 0) {
        if (n == 2 && get) return list_docs(c, rq, "conflict", "conflicts");
        if (n == 3 && get) return get_doc(c, rq, "conflict", seg[2]);
        if (n == 4 && post && strcmp(seg[3], "ack") == 0) {
            dd_write_lock(svc);
            rc = dd_conflict_ack(svc, rq->party, seg[2], &out, &pb);
            dd_write_unlock(svc);
            return with_result(c, rq, rc, out, &pb, 200);
        }
    } else if (strcmp(seg[1], "messages") == 0) {
        json_t *body = NULL;
        if (post && (n == 2 || n == 4)) {
            if (n == 4 && rq->len == 0)
                body = json_object(); /* an ack without a reply needs no body */
            else if (!(body = parse_body(c, rq, JSON_OBJECT, &pb)))
                return send_problem(c, rq, &pb);
        }
        bool routed = true;
        dd_write_lock(svc); /* reads deliver: they write too */
        if (n == 2 && post)
            rc = dd_message_send(svc, rq->party, body, &out, &pb);
        else if (n == 2 && get)
            rc = dd_message_list(svc, rq->party,
                                 MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "box"), &out,
                                 &pb);
        else if (n == 3 && get)
            rc = dd_message_get(svc, rq->party, seg[2], &out, &pb);
        else if (n == 4 && post && strcmp(seg[3], "ack") == 0)
            rc = dd_message_ack(svc, rq->party, seg[2], body, &out, &pb);
        else
            routed = false;
        dd_write_unlock(svc);
        json_decref(body);
        if (routed) return with_result(c, rq, rc, out, &pb, n == 2 && post ? 201 : 200);
    } else if (strcmp(seg[1], "agreements") == 0) {
        json_t *body = NULL;
        if (n == 2 && post && !(body = parse_body(c, rq, JSON_OBJECT, &pb)))
            return send_problem(c, rq, &pb);
        bool routed = true;
        dd_write_lock(svc);
        if (n == 2 && post)
            rc = dd_agreement_propose(svc, rq->party, body, &out, &pb);
        else if (n == 2 && get)
            rc = dd_agreement_list(svc, rq->party, &out, &pb);
        else if (n == 3 && get)
            rc = dd_agreement_get(svc, rq->party, seg[2], &out, &pb);
        else if (n == 4 && post)
            rc = dd_agreement_act(svc, rq->party, seg[2], seg[3], &out, &pb);
        else
            routed = false;
        dd_write_unlock(svc);
        json_decref(body);
        if (routed) return with_result(c, rq, rc, out, &pb, n == 2 && post ? 201 : 200);
    } else if (strcmp(seg[1], "party") == 0) {
        if (n == 2 && get) {
            json_t *me =
                json_pack("{s:I, s:s}", "id", (json_int_t)rq->party, "name", rq->party_name);
            if (rq->has_key) {
                char k64[64];
                sodium_bin2base64(k64, sizeof(k64), rq->public_key, 32,
                                  sodium_base64_VARIANT_ORIGINAL);
                json_object_set_new(me, "public_key", json_string(k64));
            }
            return send_json(c, rq, 200, me);
        }
        if (n == 3 && strcmp(seg[2], "key") == 0 && strcmp(method, "PUT") == 0) {
            json_t *body = parse_body(c, rq, JSON_OBJECT, &pb);
            if (!body) return send_problem(c, rq, &pb);
            uint8_t key[32];
            size_t got = 0;
            const char *k64 = json_string_value(json_object_get(body, "public_key"));
            if (!k64 ||
                sodium_base642bin(key, sizeof(key), k64, strlen(k64), NULL, &got, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
                got != sizeof(key)) {
                json_decref(body);
                return problem(c, rq, 400, "invalid_argument", "public_key",
                               "public_key: an Ed25519 public key, 32 bytes in base64");
            }
            /* A point off the curve or of small order (the all-zero key among them) would let
             * anyone forge "valid" signatures. */
            if (!crypto_core_ed25519_is_valid_point(key)) {
                json_decref(body);
                return problem(c, rq, 400, "invalid_argument", "public_key",
                               "public_key: not a valid Ed25519 public key (a point of small "
                               "order or off the curve)");
            }
            dd_write_lock(svc);
            rc = dd_tx_begin(svc);
            if (rc == DC_OK) rc = dc_store_party_set_key(svc->store, rq->party, key);
            if (rc == DC_OK)
                rc = dd_tx_end(svc);
            else
                dd_tx_abort(svc);
            dd_write_unlock(svc);
            if (rc == DC_ERR_CONFLICT) {
                json_decref(body);
                return problem(c, rq, 409, "key_in_use", "public_key",
                               "public_key: this key is registered by another party; a key "
                               "identifies one party: generate your own");
            }
            if (rc != DC_OK) {
                json_decref(body);
                return problem(c, rq, 500, "store_failed", "", "the key could not be stored");
            }
            out = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)rq->party, "name", rq->party_name,
                            "public_key", json_object_get(body, "public_key"));
            json_decref(body);
            return send_json(c, rq, 200, out);
        }
    } else if (strcmp(seg[1], "audit") == 0 && n == 2 && get) {
        rc = dd_audit_page(
            svc, rq->party, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), &out, &pb);
        return with_result(c, rq, rc, out, &pb, 200);
    } else if (strcmp(seg[1], "events") == 0 && n == 2 && get) {
        return open_stream(c, rq);
    } else if (strcmp(seg[1], "positions") == 0 && n == 2 && post) {
        json_t *batch = parse_body(c, rq, JSON_ARRAY, &pb);
        if (!batch) return send_problem(c, rq, &pb);
        out = dd_positions(svc, rq->party, batch, &pb);
        json_decref(batch);
        return out ? send_json(c, rq, 200, out) : send_problem(c, rq, &pb);
    } else if (strcmp(seg[1], "tracks") == 0 && n == 2 && get) {
        return send_json(c, rq, 200, dd_tracks(svc, rq->party));
    } else if (strcmp(seg[1], "history") == 0 && n == 2 && get) {
        char *text = NULL;
        rc = dd_history(
            svc, rq->party, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to"),
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "step_s"), &text, &pb);
        if (rc != DC_OK) return send_problem(c, rq, &pb);
        return send_text_owned(c, rq, 200, "application/json", text);
    }
    return problem(c, rq, 404, "not_found", "", "no such resource");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    dd_service_t *svc = cls;
    request_t *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq) return MHD_NO;
        rq->svc = svc;
        rq->conn = c;
        rq->t0 = dd_now_s();
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        snprintf(rq->path, sizeof(rq->path), "%s", url);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Keep reading past the limit (answering early would reset the connection), but
         * keep nothing. */
        if (!rq->too_large && rq->len + *upload_data_size > svc->cfg.max_body_bytes) {
            rq->too_large = true;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
        }
        if (!rq->too_large) {
            if (rq->len + *upload_data_size + 1 > rq->cap) {
                size_t cap = (rq->len + *upload_data_size + 1) * 2;
                char *b = realloc(rq->body, cap);
                if (!b) return MHD_NO;
                rq->body = b, rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload_data, *upload_data_size);
            rq->len += *upload_data_size;
            rq->body[rq->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* A signed request: "Deconflict-Signature: ed25519 <base64 of the detached Ed25519
     * signature of the body>" by the party's registered key (docs/audit.md). */
    const char *sig_h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Deconflict-Signature");
    if (sig_h && strncmp(url, "/v1/", 4) == 0) {
        enum MHD_Result r = signed_route(c, rq, url, method, sig_h);
        dd_signed_request(0, NULL, 0, NULL);
        return r;
    }
    return route(c, rq, url, method);
}

/* Counts the request and prints its log line: one JSON object per request on stderr. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    dd_service_t *svc = cls;
    request_t *rq = *con_cls;
    if (!rq) return;
    if (rq->status >= 100 && rq->status < 600)
        __atomic_add_fetch(&svc->requests_by_class[rq->status / 100], 1, __ATOMIC_RELAXED);
    if (!svc->cfg.quiet) {
        json_t *line = json_pack("{s:f, s:s, s:s, s:i, s:f, s:s}", "t", rq->t0, "method",
                                 rq->method, "path", rq->path, "status", rq->status, "duration_ms",
                                 (dd_now_s() - rq->t0) * 1e3, "party", rq->party_name);
        char *text = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        if (text) fprintf(stderr, "%s\n", text);
        free(text);
        json_decref(line);
    }
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

/* Every connection the server takes is registered with access.c (before MHD closes its socket,
 * so an eviction never shuts a descriptor that has been reused). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    dd_service_t *svc = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = dd_access_opened(svc->access, fd ? fd->connect_fd : -1,
                                           addr ? addr->client_addr : NULL, dd_now_s());
    } else {
        dd_access_closed(svc->access, *socket_context);
        *socket_context = NULL;
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    dd_service_t *svc = cls;
    return dd_access_admit(svc->access, addr, len) ? MHD_YES : MHD_NO;
}

/* MHD's own connection limit sits above access.c's: an evicted connection counts until its
 * socket is closed, a moment after the one that took its place was accepted. */
#define MHD_LIMIT_HEADROOM 256

struct MHD_Daemon *dd_http_start(dd_service_t *svc, char *err, size_t len)
{
    dd_access_config_t acfg = {.max_connections = svc->cfg.max_connections,
                               .max_unproven_per_address = svc->cfg.max_unproven_per_address,
                               .rate_rps = svc->cfg.rate_rps,
                               .rate_burst = svc->cfg.rate_burst,
                               .max_streams_party = svc->cfg.max_streams_party};
    svc->access = dd_access_new(&acfg);
    svc->streams = calloc(1, sizeof(*svc->streams));
    if (!svc->access || !svc->streams) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&svc->streams->mu, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)svc->cfg.listen_port);
    if (inet_pton(AF_INET, svc->cfg.listen_host, &addr.sin_addr) != 1) {
        snprintf(err, len, "listen address '%s' is not an IPv4 address", svc->cfg.listen_host);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        (uint16_t)svc->cfg.listen_port, on_accept, svc, on_request, svc, MHD_OPTION_SOCK_ADDR,
        &addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)svc->cfg.http_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(svc->cfg.max_connections + MHD_LIMIT_HEADROOM),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)svc->cfg.header_timeout_s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, svc, MHD_OPTION_NOTIFY_COMPLETED, on_completed, svc, MHD_OPTION_END);
    if (!d) {
        snprintf(err, len, "cannot listen on %s:%d: %s", svc->cfg.listen_host, svc->cfg.listen_port,
                 strerror(errno));
        return NULL;
    }
    if (pthread_create(&svc->streams->waker, NULL, stream_waker, svc) != 0) {
        snprintf(err, len, "cannot start the event streams' thread");
        MHD_stop_daemon(d);
        return NULL;
    }
    svc->streams->waker_running = true;
    return d;
}

void dd_http_stop(dd_service_t *svc, struct MHD_Daemon *d)
{
    struct dd_streams *reg = svc->streams;
    if (reg) {
        /* Every suspended stream is resumed and ends (MHD must hold none suspended when it
         * stops); none suspends again once closing is set. */
        pthread_mutex_lock(&reg->mu);
        reg->closing = true;
        for (stream_t *s = reg->head; s; s = s->next)
            if (s->suspended) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
            }
        pthread_mutex_unlock(&reg->mu);
        pthread_mutex_lock(&svc->lock);
        pthread_cond_broadcast(&svc->events_cond);
        pthread_mutex_unlock(&svc->lock);
        if (reg->waker_running) pthread_join(reg->waker, NULL);
    }
    if (d) MHD_stop_daemon(d);
    if (reg) {
        pthread_mutex_destroy(&reg->mu);
        free(reg);
        svc->streams = NULL;
    }
    dd_access_free(svc->access);
    svc->access = NULL;
}
