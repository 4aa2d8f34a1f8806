/*
 * mhd_server.c - minimal libmicrohttpd server for the HTTP library benchmark
 * recorded in docs/dependencies.md. It serves the three request shapes the
 * daemon sees most, and nothing else:
 *
 *   GET  /healthz       small JSON body, built per request
 *   POST /v1/positions  ~1 MB JSON body, accumulated and counted, not parsed
 *   GET  /v1/events     Server-Sent Events, one event every TICK_MS
 *
 * Events come from a separate ticker thread, as they will from the daemon's
 * detection loop, so the measurement includes the cross-thread wake-up.
 * Each event carries the ticker's CLOCK_MONOTONIC time so that http_load can
 * measure delivery latency on the same machine.
 *
 * Usage: mhd_server [-p PORT] [-m epoll|pool|tpc]
 *   epoll  one internal epoll thread; SSE readers suspend, the ticker resumes
 *   pool   MHD_OPTION_THREAD_POOL_SIZE=2 epoll threads; same SSE scheme
 *   tpc    MHD_USE_THREAD_PER_CONNECTION; SSE readers block on a condvar
 * SIGINT/SIGTERM stop it gracefully; it then prints per-status counts from
 * the request-completed hook on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 10
/* A positions batch is ~1 MB; refuse anything four times larger. */
#define MAX_BODY_BYTES (4u * 1024u * 1024u)
#define POOL_THREADS   2

enum mode { MODE_EPOLL, MODE_POOL, MODE_TPC };

/* Per-request state kept in MHD's con_cls for uploads; other requests
 * hold &g_seen there. Freed by on_completed(). */
struct upload {
    char *buf;
    size_t len, cap;
    int too_large;
};

/* One SSE subscriber; owned by its MHD response, freed by free_sub(). */
struct sub {
    struct sub *prev, *next; /* in g_hub.subs, under g_hub.mu */
    struct MHD_Connection *conn;
    uint64_t sent_seq;
    int suspended; /* only in epoll/pool modes */
};

/* The latest event and the subscribers waiting for it. The ticker writes
 * seq/t_us under mu; readers compare their sent_seq with seq, so a slow
 * subscriber skips to the newest event instead of queueing old ones. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t seq, t_us;
    struct sub subs; /* circular list head */
    int stopping;
} g_hub = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}, 0};

static enum mode g_mode = MODE_EPOLL;
static char g_seen;

/* Per-status counters fed by the request-completed hook: the place where
 * the daemon will write its access log. */
static struct {
    pthread_mutex_t mu;
    unsigned long s2xx, s4xx, s5xx, other, aborted;
} g_log = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (res == NULL) return MHD_NO;
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res); /* the queue holds its own reference */
    return ret;
}

static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sub *s = cls;
    (void)pos;
    pthread_mutex_lock(&g_hub.mu);
    if (g_mode == MODE_TPC) {
        /* This thread serves only this connection, so blocking is the model. */
        while (s->sent_seq == g_hub.seq && !g_hub.stopping) pthread_cond_wait(&g_hub.cv, &g_hub.mu);
    } else if (s->sent_seq == g_hub.seq && !g_hub.stopping) {
        /* Returning 0 without suspending would make the polling thread spin.
         * Suspend under mu so the ticker cannot resume before we are suspended. */
        s->suspended = 1;
        MHD_suspend_connection(s->conn);
        pthread_mutex_unlock(&g_hub.mu);
        return 0;
    }
    if (g_hub.stopping) {
        pthread_mutex_unlock(&g_hub.mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    int n = snprintf(buf, max, "data: {\"seq\":%" PRIu64 ",\"t_us\":%" PRIu64 "}\n\n", g_hub.seq,
                     g_hub.t_us);
    s->sent_seq = g_hub.seq;
    pthread_mutex_unlock(&g_hub.mu);
    if (n < 0 || (size_t)n >= max) return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void free_sub(void *cls)
{
    struct sub *s = cls;
    pthread_mutex_lock(&g_hub.mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&g_hub.mu);
    free(s);
}

static enum MHD_Result start_events(struct MHD_Connection *conn)
{
    struct sub *s = calloc(1, sizeof(*s));
    if (s == NULL) return MHD_NO;
    s->conn = conn;
    struct MHD_Response *res =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, read_events, s, free_sub);
    if (res == NULL) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    pthread_mutex_lock(&g_hub.mu);
    s->sent_seq = g_hub.seq; /* first event is the next tick */
    s->next = &g_hub.subs;
    s->prev = g_hub.subs.prev;
    g_hub.subs.prev->next = s;
    g_hub.subs.prev = s;
    pthread_mutex_unlock(&g_hub.mu);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, res);
    MHD_destroy_response(res); /* free_sub runs when the connection drops it */
    return ret;
}

/* MHD calls this once when the headers are in, then once per body chunk,
 * then once more with *upload_data_size == 0 when the body is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    int is_upload = strcmp(url, "/v1/positions") == 0 && strcmp(method, "POST") == 0;

    /* Answered in this first call, even a body-less GET got "Connection:
     * close" from MHD 0.9.75, i.e. no keep-alive; so every request is
     * answered from the second call on, as MHD's own examples do. */
    if (*con_cls == NULL) {
        if (!is_upload) {
            *con_cls = &g_seen;
            return MHD_YES;
        }
        struct upload *up = calloc(1, sizeof(*up));
        if (up == NULL) return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (is_upload) {
        struct upload *up = *con_cls;
        if (*upload_data_size > 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0; /* consumed */
            if (up->too_large || n > MAX_BODY_BYTES - up->len) {
                up->too_large = 1; /* keep draining, answer 413 at the end */
                return MHD_YES;
            }
            if (up->len + n > up->cap) {
                size_t cap = up->cap ? up->cap : 64 * 1024;
                while (cap < up->len + n) cap *= 2;
                char *p = realloc(up->buf, cap);
                if (p == NULL) return MHD_NO;
                up->buf = p;
                up->cap = cap;
            }
            memcpy(up->buf + up->len, upload_data, n);
            up->len += n;
            return MHD_YES;
        }
        if (up->too_large)
            return reply_json(conn, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body_too_large\"}");
        char body[64];
        snprintf(body, sizeof(body), "{\"accepted_bytes\":%zu}", up->len);
        return reply_json(conn, MHD_HTTP_OK, body);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0) {
        char body[96];
        snprintf(body, sizeof(body), "{\"status\":\"ok\",\"uptime_ms\":%" PRIu64 "}",
                 now_us() / 1000u);
        return reply_json(conn, MHD_HTTP_OK, body);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/events") == 0) return start_events(conn);
    return reply_json(conn, MHD_HTTP_NOT_FOUND, "{\"error\":\"not_found\"}");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = ci ? ci->http_status : 0;
    pthread_mutex_lock(&g_log.mu);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        g_log.aborted++;
    else if (status >= 200 && status < 300)
        g_log.s2xx++;
    else if (status >= 400 && status < 500)
        g_log.s4xx++;
    else if (status >= 500)
        g_log.s5xx++;
    else
        g_log.other++;
    pthread_mutex_unlock(&g_log.mu);
    struct upload *up = *con_cls;
    if (up != NULL && *con_cls != &g_seen) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

/* Publishes one event every TICK_MS on an absolute schedule, so the event
 * rate does not drift with scheduling noise. */
static void *run_ticker(void *arg)
{
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        next.tv_nsec += TICK_MS * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        pthread_mutex_lock(&g_hub.mu);
        g_hub.seq++;
        g_hub.t_us = now_us();
        /* stopping: resume everyone so they see END_OF_STREAM. */
        for (struct sub *s = g_hub.subs.next; s != &g_hub.subs; s = s->next) {
            if (s->suspended) {
                s->suspended = 0;
                MHD_resume_connection(s->conn);
            }
        }
        pthread_cond_broadcast(&g_hub.cv);
        int stopping = g_hub.stopping;
        pthread_mutex_unlock(&g_hub.mu);
        if (stopping) return NULL;
    }
}

int main(int argc, char **argv)
{
    unsigned port = 18080;
    int opt;
    while ((opt = getopt(argc, argv, "p:m:")) != -1) {
        if (opt == 'p') {
            port = (unsigned)atoi(optarg);
        } else if (opt == 'm' && strcmp(optarg, "epoll") == 0) {
            g_mode = MODE_EPOLL;
        } else if (opt == 'm' && strcmp(optarg, "pool") == 0) {
            g_mode = MODE_POOL;
        } else if (opt == 'm' && strcmp(optarg, "tpc") == 0) {
            g_mode = MODE_TPC;
        } else {
            fprintf(stderr, "usage: %s [-p PORT] [-m epoll|pool|tpc]\n", argv[0]);
            return 2;
        }
    }
    g_hub.subs.next = g_hub.subs.prev = &g_hub.subs;

    /* Signals are taken by sigwait() below; MHD's threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    unsigned pool = 0;
    if (g_mode == MODE_TPC) {
        /* epoll is not allowed with thread-per-connection. */
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC;
    } else {
        flags |= MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
        pool = g_mode == MODE_POOL ? POOL_THREADS : 0;
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* An array, because MHD warns about a pool size of 0 instead of taking
     * it as "no pool". */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 1000, NULL},
        {pool ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)pool, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                                            MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mhd_server: cannot start on port %u\n", port);
        return 1;
    }
    pthread_t ticker;
    if (pthread_create(&ticker, NULL, run_ticker, NULL) != 0) {
        MHD_stop_daemon(d);
        return 1;
    }

    int sig;
    sigwait(&sigs, &sig);

    /* Graceful stop: no new connections, end every event stream (a suspended
     * connection must be resumed before MHD_stop_daemon), then close the rest. */
    MHD_socket lsock = MHD_quiesce_daemon(d);
    pthread_mutex_lock(&g_hub.mu);
    g_hub.stopping = 1;
    pthread_mutex_unlock(&g_hub.mu);
    pthread_join(ticker, NULL);
    usleep(100 * 1000); /* let the final chunks go out */
    MHD_stop_daemon(d);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock); /* quiesce hands it to us, closable only after stop */
    fprintf(stderr, "mhd_server: 2xx=%lu 4xx=%lu 5xx=%lu other=%lu aborted=%lu\n", g_log.s2xx,
            g_log.s4xx, g_log.s5xx, g_log.other, g_log.aborted);
    return 0;
}
