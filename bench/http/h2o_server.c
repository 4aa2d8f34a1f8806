/*
 * h2o_server.c - minimal libh2o (evloop flavour) server for the HTTP library
 * benchmark recorded in docs/dependencies.md. Same three endpoints as
 * mhd_server.c, with the same behaviour:
 *
 *   GET  /healthz       small JSON body, built per request
 *   POST /v1/positions  ~1 MB JSON body, counted, not parsed (h2o 2.2 buffers
 *                       the whole body before calling the handler)
 *   GET  /v1/events     Server-Sent Events, one event every TICK_MS
 *
 * Events come from a separate ticker thread, as they will from the daemon's
 * detection loop; it posts a message to each worker's h2o_multithread queue,
 * and the worker pushes to its subscribers through the generator API (one
 * h2o_send() in flight per stream, the next one from proceed()).
 *
 * Usage: h2o_server [-p PORT] [-t THREADS]
 * Each thread runs its own h2o_context_t and event loop with its own
 * SO_REUSEPORT listener, which is how h2o scales over cores. SIGINT/SIGTERM
 * stop it gracefully; it then prints per-status counts from the access-log
 * hook on stderr.
 */
#define _GNU_SOURCE
/* Debian's libh2o-evloop.pc does not define this, and h2o's headers then
 * default to the libuv flavour and fail to find <uv.h>. */
#define H2O_USE_LIBUV 0
#include <arpa/inet.h>
#include <errno.h>
#include <h2o.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 10
/* A positions batch is ~1 MB; refuse anything four times larger. */
#define MAX_BODY_BYTES (4u * 1024u * 1024u)
#define MAX_THREADS    16
/* How long a stopping worker waits for its connections to finish. */
#define DRAIN_MS 1000

/* One event loop thread. Everything in it is touched by that thread only,
 * except tick_receiver, which h2o's queue makes safe to post to. */
struct worker {
    pthread_t tid;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_receiver_t tick_receiver;
    h2o_linklist_t subs; /* struct sub, by link */
    uint64_t seq, t_us;  /* latest event seen by this worker */
    unsigned long s2xx, s4xx, s5xx, other;
};

struct tick_msg {
    h2o_multithread_message_t super;
    uint64_t seq, t_us;
};

/* One SSE subscriber, allocated from its request's pool: it lives exactly
 * as long as the request, and stop() unlinks it before the pool goes. */
struct sub {
    h2o_generator_t gen;
    h2o_req_t *req;
    struct worker *w;
    h2o_linklist_t link;
    uint64_t sent_seq;
    int in_flight; /* an h2o_send() awaits proceed(); its buffer is busy */
    int closing;   /* the server is stopping: end the stream at proceed() */
    char buf[96];
};

static h2o_globalconf_t g_config;
static struct worker g_workers[MAX_THREADS];
static unsigned g_nworkers = 1;
static unsigned g_port = 18080;
static atomic_int g_stop;
static h2o_barrier_t g_ready;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct worker *worker_of(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(struct worker, ctx, req->conn->ctx);
}

/* Sends body as a complete response; h2o copies it into the request pool. */
static void reply_json(h2o_req_t *req, int status, const char *reason, const char *body)
{
    size_t len = strlen(body);
    req->res.status = status;
    req->res.reason = reason;
    /* h2o_send_inline() leaves the length unset, which would mean chunked. */
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

static int is_method(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static int is_path(h2o_req_t *req, const char *p)
{
    return h2o_memis(req->path_normalized.base, req->path_normalized.len, p, strlen(p));
}

static int on_healthz(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!is_method(req, "GET") || !is_path(req, "/healthz")) return -1;
    char body[96];
    snprintf(body, sizeof(body), "{\"status\":\"ok\",\"uptime_ms\":%" PRIu64 "}", now_us() / 1000u);
    reply_json(req, 200, "OK", body);
    return 0;
}

static int on_positions(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!is_method(req, "POST") || !is_path(req, "/v1/positions")) return -1;
    /* Over max_request_entity_size h2o answers 413 itself and never calls us. */
    char body[64];
    snprintf(body, sizeof(body), "{\"accepted_bytes\":%zu}",
             req->entity.base ? req->entity.len : 0);
    reply_json(req, 200, "OK", body);
    return 0;
}

static int on_not_found(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    reply_json(req, 404, "Not Found", "{\"error\":\"not_found\"}");
    return 0;
}

static void sub_send(struct sub *s)
{
    int n = snprintf(s->buf, sizeof(s->buf), "data: {\"seq\":%" PRIu64 ",\"t_us\":%" PRIu64 "}\n\n",
                     s->w->seq, s->w->t_us);
    h2o_iovec_t v = h2o_iovec_init(s->buf, (size_t)n);
    s->sent_seq = s->w->seq;
    s->in_flight = 1;
    h2o_send(s->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* The previous chunk is written: send the newest event if we missed one. A
 * slow subscriber thus skips to the latest event instead of queueing. */
static void sub_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct sub *s = H2O_STRUCT_FROM_MEMBER(struct sub, gen, gen);
    s->in_flight = 0;
    if (s->closing)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else if (s->sent_seq != s->w->seq)
        sub_send(s);
}

/* The client went away (or the connection is being torn down). */
static void sub_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct sub *s = H2O_STRUCT_FROM_MEMBER(struct sub, gen, gen);
    if (h2o_linklist_is_linked(&s->link)) h2o_linklist_unlink(&s->link);
}

static int on_events(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!is_method(req, "GET") || !is_path(req, "/v1/events")) return -1;
    struct worker *w = worker_of(req);
    struct sub *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->gen.proceed = sub_proceed;
    s->gen.stop = sub_stop;
    s->req = req;
    s->w = w;
    h2o_linklist_insert(&w->subs, &s->link);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    h2o_start_response(req, &s->gen);
    /* An SSE comment, so the headers go out now rather than at the first tick. */
    memcpy(s->buf, ": ok\n\n", 6);
    h2o_iovec_t v = h2o_iovec_init(s->buf, 6);
    s->sent_seq = w->seq;
    s->in_flight = 1;
    h2o_send(req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
    return 0;
}

/* Per-request hook: where the daemon will write its access log. */
static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    (void)self;
    struct worker *w = worker_of(req);
    int st = req->res.status;
    if (st >= 200 && st < 300)
        w->s2xx++;
    else if (st >= 400 && st < 500)
        w->s4xx++;
    else if (st >= 500)
        w->s5xx++;
    else
        w->other++;
}

static void on_tick(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, tick_receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        struct tick_msg *m = H2O_STRUCT_FROM_MEMBER(struct tick_msg, super.link, messages->next);
        w->seq = m->seq;
        w->t_us = m->t_us;
        h2o_linklist_unlink(&m->super.link);
        free(m);
    }
    for (h2o_linklist_t *l = w->subs.next; l != &w->subs; l = l->next) {
        struct sub *s = H2O_STRUCT_FROM_MEMBER(struct sub, link, l);
        if (!s->in_flight) sub_send(s);
    }
}

/* Publishes one event every TICK_MS on an absolute schedule, so the event
 * rate does not drift with scheduling noise. */
static void *run_ticker(void *arg)
{
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (uint64_t seq = 1; !atomic_load(&g_stop); seq++) {
        next.tv_nsec += TICK_MS * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        uint64_t t = now_us();
        for (unsigned i = 0; i < g_nworkers; i++) {
            struct tick_msg *m = malloc(sizeof(*m));
            if (m == NULL) continue; /* the next tick will catch up */
            memset(m, 0, sizeof(*m));
            m->seq = seq;
            m->t_us = t;
            h2o_multithread_send_message(&g_workers[i].tick_receiver, &m->super);
        }
    }
    return NULL;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct worker *w = listener->data;
    if (err != NULL) return;
    /* Bounded, so one busy listener cannot starve the loop. */
    for (int i = 0; i < 64; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) return;
        h2o_accept(&w->accept_ctx, sock);
    }
}

/* Returns a listening socket on 127.0.0.1:port, or -1. */
static int open_listener(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    /* Everything a loop owns is created on its own thread: h2o 2.2 keeps
     * buffer and pool free-lists in thread-local storage, so memory must be
     * released by the thread that took it. */
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, loop, &g_config);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = g_config.hosts;
    h2o_linklist_init_anchor(&w->subs);
    h2o_multithread_register_receiver(w->ctx.queue, &w->tick_receiver, on_tick);
    int fd = open_listener(g_port);
    if (fd < 0) {
        fprintf(stderr, "h2o_server: cannot listen on port %u: %s\n", g_port, strerror(errno));
        exit(1);
    }
    w->listener = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);
    h2o_barrier_wait(&g_ready);

    while (!atomic_load(&g_stop))
        h2o_evloop_run(loop, 100); /* the timeout bounds how late we see g_stop */

    /* Graceful stop: no new connections, end every event stream, then let
     * keep-alive connections finish. h2o 2.2 has no public count of open
     * HTTP/1 connections, so drain on the context's private list, bounded:
     * request_shutdown() does not close idle keep-alive connections (nor
     * those whose stream we just ended), which otherwise wait for
     * http1.req_timeout (10 s by default). */
    h2o_socket_read_stop(w->listener);
    h2o_socket_close(w->listener);
    while (!h2o_linklist_is_empty(&w->subs)) {
        struct sub *s = H2O_STRUCT_FROM_MEMBER(struct sub, link, w->subs.next);
        h2o_linklist_unlink(&s->link);
        if (s->in_flight)
            s->closing = 1;
        else
            h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
    }
    h2o_context_request_shutdown(&w->ctx);
    uint64_t deadline = now_us() + DRAIN_MS * 1000u;
    while (!h2o_linklist_is_empty(&w->ctx.http1._conns) && now_us() < deadline)
        h2o_evloop_run(loop, 10);
    return NULL;
}

static h2o_pathconf_t *add_path(h2o_hostconf_t *host, const char *path,
                                int (*on_req)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
    h->on_req = on_req;
    h2o_logger_t *lg = h2o_create_logger(pc, sizeof(*lg));
    lg->log_access = on_log_access;
    return pc;
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "p:t:")) != -1) {
        if (opt == 'p') {
            g_port = (unsigned)atoi(optarg);
        } else if (opt == 't' && atoi(optarg) >= 1 && atoi(optarg) <= MAX_THREADS) {
            g_nworkers = (unsigned)atoi(optarg);
        } else {
            fprintf(stderr, "usage: %s [-p PORT] [-t 1..%d]\n", argv[0], MAX_THREADS);
            return 2;
        }
    }
    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&g_config);
    g_config.max_request_entity_size = MAX_BODY_BYTES;
    h2o_hostconf_t *host =
        h2o_config_register_host(&g_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    add_path(host, "/healthz", on_healthz);
    add_path(host, "/v1/positions", on_positions);
    add_path(host, "/v1/events", on_events);
    add_path(host, "/", on_not_found);

    /* The ticker may only post to receivers that exist. */
    h2o_barrier_init(&g_ready, g_nworkers + 1);
    for (unsigned i = 0; i < g_nworkers; i++)
        pthread_create(&g_workers[i].tid, NULL, run_worker, &g_workers[i]);
    h2o_barrier_wait(&g_ready);
    pthread_t ticker;
    pthread_create(&ticker, NULL, run_ticker, NULL);

    int sig;
    sigwait(&sigs, &sig);
    atomic_store(&g_stop, 1);
    pthread_join(ticker, NULL);
    unsigned long s2xx = 0, s4xx = 0, s5xx = 0, other = 0;
    for (unsigned i = 0; i < g_nworkers; i++) {
        struct worker *w = &g_workers[i];
        pthread_join(w->tid, NULL);
        s2xx += w->s2xx;
        s4xx += w->s4xx;
        s5xx += w->s5xx;
        other += w->other;
    }
    fprintf(stderr, "h2o_server: 2xx=%lu 4xx=%lu 5xx=%lu other=%lu\n", s2xx, s4xx, s5xx, other);
    /* Contexts and loops are not disposed: connections that outlived the
     * drain still reference them, and the process is exiting anyway. */
    return 0;
}
