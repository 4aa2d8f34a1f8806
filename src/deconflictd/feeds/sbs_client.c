/* deconflictd's TCP surveillance feeds: one thread per `--feed sbs:HOST:PORT:PARTY` or
 * `--feed beast:HOST:PORT:PARTY`, a TCP client of a dump1090/readsb-style server -- SBS-1 lines
 * (port 30003) or Beast frames (port 30005), read by the library's reader of that kind
 * (deconflict/feedreader.h) into the same messages, merged into tracks (lib/feeds/sbs.c). The
 * states are fed in as the party's tracks every FEED_FLUSH_MS. A dropped or refused connection
 * is retried with a backoff from 1 s doubling to 30 s. Malformed lines or frames are counted and
 * skipped. See docs/feeds.md. */
#include "feeds/sbs_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "core/commit.h"
#include "core/parties.h"
#include "core/tracks.h"
#include "deconflict/feedreader.h"
#include "deconflict/sbs.h"
#include "feeds/asterix_feed.h"

#define FEED_FLUSH_MS      200  /* states are fed in at least this often */
#define FEED_BATCH_MAX     2000 /* ... or when this many are waiting */
#define FEED_BACKOFF_MAX_S 30   /* reconnection backoff cap */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeps up to s seconds, waking early when the service stops. */
static void nap(dd_feed_t *f, double s)
{
    for (double t = 0; t < s && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST); t += 0.1)
        usleep(100000);
}

/* Feeds the waiting states in, stamped with the time they were received: dump1090 writes its
 * receiver's local time, not UTC, and a Beast frame's counter has no epoch, so the messages'
 * own times only order them. */
static void flush(dd_feed_t *f, dc_track_state_t *states, char (*cs)[9], size_t *n)
{
    if (!*n) return;
    double now = dd_now_s();
    for (size_t i = 0; i < *n; i++) states[i].t_s = now;
    size_t stored = 0;
    if (dd_feed_states(f->svc, f->party, states, cs, NULL, *n, now, &stored) != DC_OK)
        fprintf(stderr, "deconflictd: feed %s:%d: could not store %zu states\n", f->host, f->port,
                *n);
    __atomic_add_fetch(&f->states, stored, __ATOMIC_RELAXED);
    *n = 0;
}

/* What a message does in the feed: merged, and its state batched (fed in when the batch is
 * full). */
typedef struct batch {
    dd_feed_t *f;
    dc_sbs_tracker_t *tr;
    dc_track_state_t *states;
    char (*cs)[9];
    size_t n;
    double last_flush;
} batch_t;

static void on_message(const dc_sbs_msg_t *m, void *ctx)
{
    batch_t *b = ctx;
    if (dc_sbs_tracker_apply(b->tr, m, &b->states[b->n], b->cs[b->n]) && ++b->n == FEED_BATCH_MAX) {
        flush(b->f, b->states, b->cs, &b->n);
        b->last_flush = mono_s();
    }
}

static void *feed_loop(void *arg)
{
    dd_feed_t *f = arg;
    batch_t b = {.f = f,
                 .tr = dc_sbs_tracker_new(10, 60),
                 .states = malloc(FEED_BATCH_MAX * sizeof(*b.states)),
                 .cs = malloc(FEED_BATCH_MAX * sizeof(*b.cs))};
    dc_feed_reader_t *in =
        dc_feed_reader_new(f->kind == DD_FEED_BEAST ? DC_FEED_BEAST : DC_FEED_SBS);
    char port[16];
    snprintf(port, sizeof(port), "%d", f->port);
    double backoff = 1;
    while (b.tr && b.states && b.cs && in && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        int fd = dc_sbs_connect(f->host, port, 2); /* stopping never waits long for it */
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
        dc_feed_reader_reset(in);
        b.last_flush = mono_s();
        double last_expire = b.last_flush;
        for (;;) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int r = poll(&p, 1, FEED_FLUSH_MS);
            if (__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) break;
            /* The reader times Beast frames by the monotonic clock: a step of the wall clock
             * must not freeze them (the states are stamped with dd_now_s() at the flush). */
            if (r > 0 && dc_feed_reader_read(in, fd, mono_s(), on_message, &b) != DC_OK)
                break; /* closed */
            if (r < 0 && errno != EINTR) break;
            dc_feed_counts_t c;
            dc_feed_reader_counts(in, &c);
            __atomic_store_n(&f->lines, c.units, __ATOMIC_RELAXED);
            __atomic_store_n(&f->bad_lines, c.bad, __ATOMIC_RELAXED);
            __atomic_store_n(&f->corrected, c.corrected, __ATOMIC_RELAXED);
            double now = mono_s();
            if (b.n && now - b.last_flush >= FEED_FLUSH_MS / 1000.0) {
                flush(f, b.states, b.cs, &b.n);
                b.last_flush = now;
            }
            if (now - last_expire >= 10) {
                dc_sbs_tracker_expire(b.tr, c.latest_msg_s); /* on the messages' own clock */
                __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(b.tr), __ATOMIC_RELAXED);
                last_expire = now;
            }
        }
        flush(f, b.states, b.cs, &b.n);
        __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(b.tr), __ATOMIC_RELAXED);
        __atomic_store_n(&f->connected, 0, __ATOMIC_SEQ_CST);
        close(fd);
        if (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
            fprintf(stderr, "deconflictd: feed %s:%d: connection closed; reconnecting\n", f->host,
                    f->port);
            nap(f, 1);
        }
    }
    dc_sbs_tracker_free(b.tr);
    free(b.states), free(b.cs);
    dc_feed_reader_free(in);
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
        f->kind = svc->cfg.feeds[i].kind;
        dd_read_lock(svc);
        f->party = dd_party_id(svc, f->party_name);
        dd_read_unlock(svc);
        if (!f->party) {
            snprintf(err, len, "--feed %s:%d: no enabled party '%s' (deconflict party add)",
                     f->host, f->port, f->party_name);
            return false;
        }
        if (pthread_create(&f->thread, NULL,
                           f->kind == DD_FEED_ASTERIX ? dd_asterix_feed_loop : feed_loop, f) != 0) {
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
