/*
 * http_load.c - closed-loop HTTP/1.1 load generator for the HTTP library
 * benchmark (bench/http/run.sh, figures in docs/dependencies.md).
 *
 * One thread, epoll, N keep-alive connections to 127.0.0.1, each with at
 * most one request outstanding (no pipelining), so throughput is bounded by
 * round trips exactly as for the daemon's real clients. Modes:
 *
 *   healthz  GET /healthz; requests/s and latency p50/p99
 *   post     POST /v1/positions with a ~1 MB JSON array of 10,000 objects;
 *            bodies/s, request MB/s and latency p50/p99
 *   sse      N subscribers on GET /v1/events; events/s, subscribers served,
 *            sequence gaps and delivery latency (event t_us, stamped by the
 *            server with CLOCK_MONOTONIC, to receipt here)
 *
 * Only work completed inside [warm-up end, end] is counted. With -P PID the
 * server's CPU use over that window is read from /proc/PID/stat.
 * Output is one line of key=value pairs on stdout; exit status 1 on setup
 * failure (cannot connect, out of memory), 0 otherwise, even if requests
 * failed: failures are reported in errors=.
 *
 * Usage: http_load -m healthz|post|sse [-c CONNS] [-d SECONDS] [-w WARMUP_S]
 *                  [-p PORT] [-P SERVER_PID]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS       1024
#define RBUF_BYTES      (64 * 1024) /* every response we expect is far smaller */
#define MAX_SAMPLES     (32u * 1024u * 1024u)
#define POSITIONS_COUNT 10000

enum mode { MODE_HEALTHZ, MODE_POST, MODE_SSE };

struct conn {
    int fd;
    int sending;    /* request bytes still to go; waiting for EPOLLOUT */
    size_t sent;    /* bytes of the request already written */
    uint64_t t0_us; /* when the current request started */
    char *rbuf;     /* RBUF_BYTES */
    size_t rlen;
    size_t hdr_len;  /* 0 until the response headers are complete */
    size_t body_len; /* Content-Length of the current response */
    int close_after; /* the server said Connection: close */
    int streaming;   /* sse: head parsed, now reading events */
    uint64_t events; /* sse: events received inside the window */
    uint64_t last_seq;
};

/* Latency samples in microseconds, inside the window only. */
struct samples {
    uint32_t *v;
    size_t n, cap;
};

static enum mode g_mode = MODE_HEALTHZ;
static unsigned g_port = 18080;
static char *g_req; /* the request every connection sends, shared */
static size_t g_req_len, g_body_len;
static int g_ep;
static uint64_t g_warm_us, g_end_us;
static uint64_t g_done, g_errors, g_reconnects, g_gaps;
static struct samples g_lat;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void add_sample(uint64_t us)
{
    if (g_lat.n == g_lat.cap) {
        if (g_lat.cap >= MAX_SAMPLES) return; /* bounded; percentiles stay representative */
        size_t cap = g_lat.cap ? g_lat.cap * 2 : 65536;
        uint32_t *p = realloc(g_lat.v, cap * sizeof(*p));
        if (p == NULL) return;
        g_lat.v = p;
        g_lat.cap = cap;
    }
    g_lat.v[g_lat.n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Returns the pct-th percentile of the sorted samples, 0 if there are none. */
static uint32_t percentile(const struct samples *s, unsigned pct)
{
    if (s->n == 0) return 0;
    return s->v[(s->n - 1) * pct / 100];
}

/* Builds the JSON array the daemon receives from a feed: POSITIONS_COUNT
 * small objects, deterministic so every run sends the same bytes. Returns a
 * malloc'd buffer and its length in *len, or NULL. */
static char *make_positions(size_t *len)
{
    size_t cap = POSITIONS_COUNT * 160u + 16u;
    char *b = malloc(cap);
    if (b == NULL) return NULL;
    size_t n = 0;
    uint32_t x = 12345;
    b[n++] = '[';
    for (int i = 0; i < POSITIONS_COUNT; i++) {
        x = x * 1103515245u + 12345u; /* an LCG is enough for plausible digits */
        n += (size_t)snprintf(b + n, cap - n,
                              "%s{\"icao24\":\"%06x\",\"lat_deg\":%.6f,\"lon_deg\":%.6f,"
                              "\"alt_ft\":%u,\"gs_kt\":%u,\"t_ms\":%" PRIu64 "}",
                              i ? "," : "", x & 0xffffffu, 45.0 + (x % 50000) / 10000.0,
                              5.0 + (x % 70000) / 10000.0, 1000u + x % 39000u, 80u + x % 400u,
                              (uint64_t)1700000000000u + (uint64_t)i * 10u);
    }
    b[n++] = ']';
    *len = n;
    return b;
}

static int build_request(void)
{
    char head[256];
    char *body = NULL;
    int hl;
    if (g_mode == MODE_POST) {
        body = make_positions(&g_body_len);
        if (body == NULL) return -1;
        hl = snprintf(head, sizeof(head),
                      "POST /v1/positions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      g_body_len);
    } else if (g_mode == MODE_SSE) {
        hl = snprintf(head, sizeof(head),
                      "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Accept: text/event-stream\r\n\r\n");
    } else {
        hl = snprintf(head, sizeof(head), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    g_req_len = (size_t)hl + g_body_len;
    g_req = malloc(g_req_len);
    if (g_req == NULL) {
        free(body);
        return -1;
    }
    memcpy(g_req, head, (size_t)hl);
    if (body != NULL) memcpy(g_req + hl, body, g_body_len);
    free(body);
    return 0;
}

static void set_events(struct conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes as much of the request as the socket takes. Returns -1 on error. */
static int push_request(struct conn *c)
{
    while (c->sent < g_req_len) {
        ssize_t n = send(c->fd, g_req + c->sent, g_req_len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!c->sending) set_events(c, EPOLLOUT);
            c->sending = 1;
            return 0;
        }
        if (n <= 0) return -1;
        c->sent += (size_t)n;
    }
    if (c->sending) set_events(c, EPOLLIN); /* small requests never get here: no syscall */
    c->sending = 0;
    return 0;
}

static int start_request(struct conn *c)
{
    c->sent = 0;
    c->rlen = 0;
    c->hdr_len = 0;
    c->t0_us = now_us();
    return push_request(c);
}

/* Opens (or reopens) c's connection and sends the first request. */
static int open_conn(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)g_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Blocking connect: on loopback it completes at once, and it keeps the
     * event loop free of a connecting state. */
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &e);
    c->sending = 0;
    c->close_after = 0;
    c->streaming = 0;
    c->last_seq = 0;
    return start_request(c);
}

static void close_conn(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
}

/* Parses the response head in c->rbuf once it is complete. Returns 1 when
 * parsed, 0 when more bytes are needed, -1 on a non-200 or unusable head. */
static int parse_head(struct conn *c)
{
    char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (end == NULL) return c->rlen == RBUF_BYTES ? -1 : 0;
    c->hdr_len = (size_t)(end - c->rbuf) + 4;
    *end = '\0'; /* the head is done with after this; lets us use string calls */
    if (strncmp(c->rbuf, "HTTP/1.1 200 ", 13) != 0) return -1;
    int have_len = 0;
    for (char *line = strstr(c->rbuf, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "content-length:", 15) == 0) {
            c->body_len = strtoull(line + 15, NULL, 10);
            have_len = 1;
        } else if (strncasecmp(line, "connection:", 11) == 0) {
            c->close_after = strncasecmp(line + 11 + strspn(line + 11, " "), "close", 5) == 0;
        }
    }
    /* Both servers send Content-Length for these small bodies; streams are
     * chunked, which the sse scanner below reads through. */
    if (g_mode != MODE_SSE && !have_len) return -1;
    return 1;
}

/* Counts the complete "data: {...}\n\n" events in c->rbuf past the head and
 * keeps any partial one for the next read. Chunk-size lines between events
 * are skipped, since they never contain "data: ". */
static void scan_events(struct conn *c, uint64_t now)
{
    size_t pos = c->hdr_len;
    for (;;) {
        char *d = memmem(c->rbuf + pos, c->rlen - pos, "data: ", 6);
        if (d == NULL) {
            pos = c->rlen > pos + 5 ? c->rlen - 5 : pos; /* may hold "data" */
            break;
        }
        char *e = memmem(d, c->rlen - (size_t)(d - c->rbuf), "\n\n", 2);
        if (e == NULL) {
            pos = (size_t)(d - c->rbuf);
            break;
        }
        *e = '\0';
        char *s = strstr(d, "\"seq\":"), *t = strstr(d, "\"t_us\":");
        if (s != NULL && t != NULL) {
            uint64_t seq = strtoull(s + 6, NULL, 10), t_us = strtoull(t + 7, NULL, 10);
            if (now >= g_warm_us && now <= g_end_us) {
                c->events++;
                g_done++;
                if (c->last_seq != 0 && seq > c->last_seq + 1) g_gaps += seq - c->last_seq - 1;
                add_sample(now > t_us ? now - t_us : 0);
            }
            c->last_seq = seq;
        } else {
            g_errors++;
        }
        pos = (size_t)(e - c->rbuf) + 2;
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    c->hdr_len = 0; /* the head, if it was there, is gone now */
}

/* Reconnects after an error or a server-side close; counts it. */
static void restart_conn(struct conn *c, int was_error)
{
    if (was_error)
        g_errors++;
    else
        g_reconnects++;
    close_conn(c);
    if (open_conn(c) != 0) g_errors++;
}

static void on_readable(struct conn *c)
{
    for (;;) {
        if (c->rlen == RBUF_BYTES) {
            restart_conn(c, 1); /* a response larger than any we expect */
            return;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF_BYTES - c->rlen, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            /* A close between requests is the server's keep-alive policy;
             * anywhere else it is an error. */
            restart_conn(c, !(n == 0 && c->rlen == 0 && g_mode != MODE_SSE));
            return;
        }
        c->rlen += (size_t)n;
        uint64_t now = now_us();
        if (g_mode == MODE_SSE) {
            if (!c->streaming) {
                int r = parse_head(c);
                if (r < 0) {
                    restart_conn(c, 1);
                    return;
                }
                if (r == 0) continue;
                c->streaming = 1;
            }
            scan_events(c, now);
            continue;
        }
        if (c->hdr_len == 0) {
            int r = parse_head(c);
            if (r < 0) {
                restart_conn(c, 1);
                return;
            }
            if (r == 0) continue;
        }
        if (c->rlen < c->hdr_len + c->body_len) continue;
        if (c->rlen > c->hdr_len + c->body_len) {
            restart_conn(c, 1); /* bytes we never asked for */
            return;
        }
        if (now >= g_warm_us && now <= g_end_us) {
            g_done++;
            add_sample(now - c->t0_us);
        }
        if (c->close_after) {
            restart_conn(c, 0);
            return;
        }
        if (start_request(c) != 0) restart_conn(c, 1);
        return;
    }
}

/* Returns the CPU seconds (user + system, all threads) used so far by pid,
 * or -1 when it cannot be read. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    unsigned long ut, st;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    unsigned nconns = 1;
    double dur_s = 3.0, warm_s = 0.5;
    int srv_pid = 0, opt;
    while ((opt = getopt(argc, argv, "m:c:d:w:p:P:")) != -1) {
        switch (opt) {
        case 'm':
            if (strcmp(optarg, "healthz") == 0)
                g_mode = MODE_HEALTHZ;
            else if (strcmp(optarg, "post") == 0)
                g_mode = MODE_POST;
            else if (strcmp(optarg, "sse") == 0)
                g_mode = MODE_SSE;
            else
                goto usage;
            break;
        case 'c':
            nconns = (unsigned)atoi(optarg);
            break;
        case 'd':
            dur_s = atof(optarg);
            break;
        case 'w':
            warm_s = atof(optarg);
            break;
        case 'p':
            g_port = (unsigned)atoi(optarg);
            break;
        case 'P':
            srv_pid = atoi(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (nconns < 1 || nconns > MAX_CONNS || dur_s <= 0 || dur_s > 600 || warm_s < 0) goto usage;
    if (build_request() != 0) {
        fprintf(stderr, "http_load: out of memory\n");
        return 1;
    }
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc(nconns, sizeof(*conns));
    if (g_ep < 0 || conns == NULL) return 1;

    uint64_t t_start = now_us();
    g_warm_us = t_start + (uint64_t)(warm_s * 1e6);
    g_end_us = g_warm_us + (uint64_t)(dur_s * 1e6);
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].rbuf = malloc(RBUF_BYTES);
        if (conns[i].rbuf == NULL || open_conn(&conns[i]) != 0) {
            fprintf(stderr, "http_load: cannot connect to 127.0.0.1:%u: %s\n", g_port,
                    strerror(errno));
            return 1;
        }
    }

    int warmed = 0;
    double srv0 = 0, self0 = 0;
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_us();
        if (!warmed && now >= g_warm_us) {
            warmed = 1;
            srv0 = srv_pid ? proc_cpu_s(srv_pid) : 0;
            self0 = self_cpu_s();
        }
        if (now >= g_end_us) break;
        uint64_t next = warmed ? g_end_us : g_warm_us;
        int n = epoll_wait(g_ep, evs, 256, (int)((next - now) / 1000u) + 1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->sending) {
                if (push_request(c) != 0) restart_conn(c, 1);
            } else {
                on_readable(c);
            }
        }
    }
    double srv_cpu = srv_pid ? proc_cpu_s(srv_pid) - srv0 : 0;
    double self_cpu = self_cpu_s() - self0;
    double win_s = (double)(g_end_us - g_warm_us) / 1e6;

    qsort(g_lat.v, g_lat.n, sizeof(*g_lat.v), cmp_u32);
    const char *names[] = {"healthz", "post", "sse"};
    printf("mode=%s conns=%u secs=%.1f done=%" PRIu64 " per_s=%.0f", names[g_mode], nconns, win_s,
           g_done, (double)g_done / win_s);
    if (g_mode == MODE_POST)
        printf(" body_bytes=%zu mb_per_s=%.1f", g_body_len,
               (double)g_done * (double)g_body_len / win_s / 1e6);
    if (g_mode == MODE_SSE) {
        unsigned served = 0;
        uint64_t min_ev = UINT64_MAX;
        for (unsigned i = 0; i < nconns; i++) {
            served += conns[i].events > 0;
            if (conns[i].events < min_ev) min_ev = conns[i].events;
        }
        printf(" subs_served=%u min_events=%" PRIu64 " gaps=%" PRIu64, served, min_ev, g_gaps);
    }
    printf(" p50_us=%u p99_us=%u errors=%" PRIu64 " reconnects=%" PRIu64
           " srv_cpu_pct=%.0f load_cpu_pct=%.0f\n",
           percentile(&g_lat, 50), percentile(&g_lat, 99), g_errors, g_reconnects,
           srv_pid ? 100.0 * srv_cpu / win_s : -1.0, 100.0 * self_cpu / win_s);
    for (unsigned i = 0; i < nconns; i++) {
        close_conn(&conns[i]);
        free(conns[i].rbuf);
    }
    free(conns);
    free(g_req);
    free(g_lat.v);
    close(g_ep);
    return 0;

usage:
    fprintf(stderr,
            "usage: %s -m healthz|post|sse [-c CONNS<=%d] [-d SECONDS] [-w WARMUP_S] "
            "[-p PORT] [-P SERVER_PID]\n",
            argv[0], MAX_CONNS);
    return 2;
}
