/* deconflictd's surveillance feeds: one thread per `--feed sbs:HOST:PORT:PARTY`, a TCP client
 * of a dump1090/readsb-style SBS-1 server (port 30003). Lines are parsed and merged into tracks
 * (lib/feeds/sbs.c); the states are fed in as the party's tracks every FEED_FLUSH_MS. A dropped
 * or refused connection is retried with a backoff from 1 s doubling to 30 s. Malformed lines
 * are counted and skipped. See docs/feeds.md. */
#include "feeds.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "deconflict/sbs.h"
#include "live.h"

#define FEED_FLUSH_MS      200  /* states are fed in at least this often */
#define FEED_BATCH_MAX     2000 /* ... or when this many are waiting */
#define FEED_BACKOFF_MAX_S 30   /* reconnection backoff cap */

typedef struct party_lookup {
    const char *name;
    int64_t id;
} party_lookup_t;

static void find_party(const dc_party_t *p, void *ctx)
{
    party_lookup_t *l = ctx;
    if (!p->disabled && strcmp(p->name, l->name) == 0) l->id = p->id;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int connect_to(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        /* A connect that hangs gives up after 2 s, so stopping never waits long for it. */
        struct timeval tv = {.tv_sec = 2};
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Sleeps up to s seconds, waking early when the service stops. */
static void nap(dd_feed_t *f, double s)
{
    for (double t = 0; t < s && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST); t += 0.1)
        usleep(100000);
}

/* Feeds the waiting states in, stamped with the time they were received: dump1090 writes its
 * receiver's local time, not UTC, so the messages' own times only order them. */
static void flush(dd_feed_t *f, dc_track_state_t *states, char (*cs)[9], size_t *n)
{
    if (!*n) return;
    double now = dd_now_s();
    for (size_t i = 0; i < *n; i++) states[i].t_s = now;
    size_t stored = 0;
    if (dd_feed_states(f->svc, f->party, states, cs, *n, &stored) != DC_OK)
        fprintf(stderr, "deconflictd: feed %s:%d: could not store %zu states\n", f->host, f->port,
                *n);
    __atomic_add_fetch(&f->states, stored, __ATOMIC_RELAXED);
    *n = 0;
}

static void *feed_loop(void *arg)
{
    dd_feed_t *f = arg;
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    dc_track_state_t *states = malloc(FEED_BATCH_MAX * sizeof(*states));
    char(*cs)[9] = malloc(FEED_BATCH_MAX * sizeof(*cs));
    char *buf = malloc(DC_SBS_LINE_MAX * 8);
    double backoff = 1;
    while (tr && states && cs && buf && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        int fd = connect_to(f->host, f->port);
        if (fd < 0) {
            fprintf(stderr, "deconflictd: feed %s:%d: cannot connect (%s); retrying in %.0f s\n",
                    f->host, f->port, strerror(errno), backoff);
            nap(f, backoff);
            backoff = backoff * 2 > FEED_BACKOFF_MAX_S ? FEED_BACKOFF_MAX_S : backoff * 2;
            continue;
        }
        __atomic_store_n(&f->connected, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&f->connects, 1, __ATOMIC_RELAXED);
        fprintf(stderr, "deconflictd: feed %s:%d: connected, feeding party %s\n", f->host, f->port,
                f->party_name);
        backoff = 1;
        size_t have = 0, n = 0;
        bool skipping = false; /* inside an overlong line: drop it to its end */
        double last_flush = mono_s(), last_expire = last_flush, latest_msg_s = 0;
        for (;;) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int r = poll(&p, 1, FEED_FLUSH_MS);
            if (__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) break;
            if (r > 0) {
                ssize_t got = read(fd, buf + have, DC_SBS_LINE_MAX * 8 - have);
                if (got <= 0) break; /* closed or failed: reconnect */
                have += (size_t)got;
                size_t start = 0;
                for (size_t i = 0; i < have; i++) {
                    if (buf[i] != '\n') continue;
                    if (!skipping) {
                        dc_sbs_msg_t m;
                        dc_err_t rc = dc_sbs_parse_line(buf + start, i - start, &m);
                        __atomic_add_fetch(&f->lines, 1, __ATOMIC_RELAXED);
                        if (rc == DC_ERR_INVALID)
                            __atomic_add_fetch(&f->bad_lines, 1, __ATOMIC_RELAXED);
                        if (rc == DC_OK && m.t_s > latest_msg_s) latest_msg_s = m.t_s;
                        if (rc == DC_OK && dc_sbs_tracker_apply(tr, &m, &states[n], cs[n]) &&
                            ++n == FEED_BATCH_MAX) {
                            flush(f, states, cs, &n);
                            last_flush = mono_s();
                        }
                    }
                    skipping = false;
                    start = i + 1;
                }
                memmove(buf, buf + start, have - start);
                have -= start;
                if (have >= DC_SBS_LINE_MAX) {
                    /* A line past the cap: count it once, drop what we have of it. */
                    if (!skipping) {
                        __atomic_add_fetch(&f->lines, 1, __ATOMIC_RELAXED);
                        __atomic_add_fetch(&f->bad_lines, 1, __ATOMIC_RELAXED);
                    }
                    skipping = true;
                    have = 0;
                }
            } else if (r < 0 && errno != EINTR) {
                break;
            }
            double now = mono_s();
            if (n >= FEED_BATCH_MAX || (n && now - last_flush >= FEED_FLUSH_MS / 1000.0)) {
                flush(f, states, cs, &n);
                last_flush = now;
            }
            if (now - last_expire >= 10) {
                dc_sbs_tracker_expire(tr, latest_msg_s); /* on the messages' own clock */
                __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(tr), __ATOMIC_RELAXED);
                last_expire = now;
            }
        }
        flush(f, states, cs, &n);
        __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(tr), __ATOMIC_RELAXED);
        __atomic_store_n(&f->connected, 0, __ATOMIC_SEQ_CST);
        close(fd);
        if (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
            fprintf(stderr, "deconflictd: feed %s:%d: connection closed; reconnecting\n", f->host,
                    f->port);
            nap(f, 1);
        }
    }
    dc_sbs_tracker_free(tr);
    free(states), free(cs), free(buf);
    return NULL;
}

bool dd_feeds_start(dd_service_t *svc, dd_feed_t *feeds, char *err, size_t len)
{
    for (size_t i = 0; i < svc->cfg.n_feeds; i++) {
        dd_feed_t *f = &feeds[i];
        memset(f, 0, sizeof(*f));
        f->svc = svc;
        snprintf(f->host, sizeof(f->host), "%s", svc->cfg.feeds[i].host);
        snprintf(f->party_name, sizeof(f->party_name), "%s", svc->cfg.feeds[i].party);
        f->port = svc->cfg.feeds[i].port;
        party_lookup_t l = {f->party_name, 0};
        pthread_mutex_lock(&svc->lock);
        dc_store_party_list(svc->store, find_party, &l);
        pthread_mutex_unlock(&svc->lock);
        if (!l.id) {
            snprintf(err, len, "--feed %s:%d: no enabled party '%s' (deconflict party add)",
                     f->host, f->port, f->party_name);
            return false;
        }
        f->party = l.id;
        if (pthread_create(&f->thread, NULL, feed_loop, f) != 0) {
            snprintf(err, len, "cannot start the feed thread");
            return false;
        }
        f->running = true;
    }
    return true;
}

void dd_feeds_stop(dd_service_t *svc, dd_feed_t *feeds)
{
    for (size_t i = 0; i < svc->cfg.n_feeds; i++) {
        dd_feed_t *f = &feeds[i];
        if (!f->running) continue;
        /* The thread polls at most FEED_FLUSH_MS at a time and looks at stop each time. */
        __atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(f->thread, NULL);
        f->running = false;
    }
}
