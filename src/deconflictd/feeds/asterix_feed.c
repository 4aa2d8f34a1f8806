/* deconflictd's ASTERIX feeds: a UDP socket bound to HOST:PORT -- a local address, or a
 * multicast group (GROUP or GROUP@IFADDR), as ASTERIX is distributed -- whose datagrams are
 * decoded (lib/feeds/asterix.c, with the service's CAT021 edition and radar sites), merged into
 * aircraft as the SBS-1 feeds merge theirs, and fed in as the party's tracks every FEED_FLUSH_MS.
 * A report's time is its own time of day on the day nearest the service's clock: the sources
 * are UTC-synchronised surveillance systems, and a stale report is refused by the service's
 * report_age_max_s as any other. Malformed datagrams are counted and skipped whole. */
#include "feeds/asterix_feed.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "core/tracks.h"
#include "deconflict/asterix.h"
#include "feeds/feed.h"

#define FEED_FLUSH_MS  200  /* states are fed in at least this often */
#define FEED_BATCH_MAX 2000 /* ... or when this many are waiting */

/* ---- track numbers, for CAT004 ----
 * What each party's sources numbered each address, in a table of NUMBERS_SLOTS slots indexed
 * by a hash of (party, address): a slot another aircraft takes over is forgotten, and the CAT004
 * sender then numbers that track itself. A system track's number (CAT062) stands over an ADS-B
 * or radar one's while it is fresh, so that a party fed both keeps one number per aircraft. */
#define NUMBERS_SLOTS   16384
#define NUMBERS_FRESH_S 30.0

static pthread_mutex_t numbers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t party;
    uint32_t addr;
    int number, cat;
    double noted_s;
} numbers[NUMBERS_SLOTS];

static size_t slot_of(int64_t party, uint32_t addr)
{
    uint64_t h = ((uint64_t)party << 24 | addr) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 50) % NUMBERS_SLOTS;
}

static void note_number(int64_t party, const dc_asterix_record_t *rec, double now)
{
    size_t i = slot_of(party, rec->addr);
    pthread_mutex_lock(&numbers_mu);
    bool same = numbers[i].party == party && numbers[i].addr == rec->addr;
    if (!(same && numbers[i].cat == 62 && rec->cat != 62 &&
          now - numbers[i].noted_s < NUMBERS_FRESH_S)) {
        numbers[i].party = party, numbers[i].addr = rec->addr,
        numbers[i].number = rec->track_number;
        numbers[i].cat = rec->cat, numbers[i].noted_s = now;
    }
    pthread_mutex_unlock(&numbers_mu);
}

int dd_asterix_track_number(int64_t party, const char *track_id)
{
    char *end;
    unsigned long addr = strtoul(track_id, &end, 16);
    if (end - track_id != 6 || *end) return 0;
    size_t i = slot_of(party, (uint32_t)addr);
    pthread_mutex_lock(&numbers_mu);
    int number = numbers[i].party == party && numbers[i].addr == addr ? numbers[i].number : 0;
    pthread_mutex_unlock(&numbers_mu);
    return number;
}

/* ---- the feed ---- */
typedef struct batch {
    dd_feed_t *f;
    dc_sbs_tracker_t *tr;
    dc_track_state_t states[FEED_BATCH_MAX];
    char cs[FEED_BATCH_MAX][9];
    int numbers[FEED_BATCH_MAX]; /* each state's track number, as the table holds it */
    size_t n;
    double now;
} batch_t;

static void flush(batch_t *b)
{
    if (!b->n) return;
    size_t stored = 0;
    /* Each number goes with its track into the store: a restart, or another node leading,
     * names the track in CAT004 alerts as this feed's source does. */
    for (size_t i = 0; i < b->n; i++)
        b->numbers[i] = dd_asterix_track_number(b->f->party, b->states[i].id);
    if (dd_feed_states(b->f->svc, b->f->party, b->states, b->cs, b->numbers, b->n, dd_now_s(),
                       &stored) != DC_OK)
        fprintf(stderr, "deconflictd: feed asterix %s:%d: could not store %zu states\n", b->f->host,
                b->f->port, b->n);
    __atomic_add_fetch(&b->f->states, stored, __ATOMIC_RELAXED);
    b->n = 0;
}

static void on_record(const dc_asterix_record_t *rec, void *ctx)
{
    batch_t *b = ctx;
    double t = rec->has & DC_ASTERIX_TOD ? dc_asterix_tod_to_unix(rec->tod_s, b->now) : b->now;
    if ((rec->has & (DC_ASTERIX_ADDR | DC_ASTERIX_TRACK)) == (DC_ASTERIX_ADDR | DC_ASTERIX_TRACK) &&
        !(rec->flags & (DC_ASTERIX_SIMULATED | DC_ASTERIX_TEST | DC_ASTERIX_ENDED)) &&
        rec->track_number)
        note_number(b->f->party, rec, b->now);
    dc_sbs_msg_t m[3];
    size_t n = dc_asterix_to_messages(rec, t, m);
    for (size_t i = 0; i < n; i++)
        if (dc_sbs_tracker_apply(b->tr, &m[i], &b->states[b->n], b->cs[b->n]) &&
            ++b->n == FEED_BATCH_MAX)
            flush(b);
    if (!n && dc_asterix_track_state(rec, t, &b->states[b->n], b->cs[b->n]) &&
        ++b->n == FEED_BATCH_MAX)
        flush(b);
}

/* A UDP socket bound to host:port, host an IPv4 address; a multicast group is joined, on the
 * interface of the address after an '@' (GROUP@IFADDR), else on the one the routes choose.
 * -1 with errno. */
static int listen_udp(const dd_feed_t *f)
{
    char host[256];
    snprintf(host, sizeof(host), "%s", f->host);
    char *at = strchr(host, '@');
    struct in_addr addr, iface = {.s_addr = htonl(INADDR_ANY)};
    if (at) *at = 0;
    if (inet_pton(AF_INET, host, &addr) != 1 || (at && inet_pton(AF_INET, at + 1, &iface) != 1)) {
        errno = EINVAL;
        return -1;
    }
    bool multicast = IN_MULTICAST(ntohl(addr.s_addr));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1, rcvbuf = 4 << 20; /* a burst of a whole picture waits in the kernel */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port), .sin_addr = addr};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (multicast) {
        struct ip_mreq mreq = {.imr_multiaddr = addr, .imr_interface = iface};
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

void *dd_asterix_feed_loop(void *arg)
{
    dd_feed_t *f = arg;
    batch_t *b = calloc(1, sizeof(*b));
    uint8_t *buf = malloc(65536);
    if (b) b->f = f, b->tr = dc_sbs_tracker_new(10, 60);
    int fd = -1;
    while (b && b->tr && buf && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        if ((fd = listen_udp(f)) >= 0) break;
        fprintf(stderr, "deconflictd: feed asterix %s:%d: cannot listen (%s); retrying in 5 s\n",
                f->host, f->port, strerror(errno));
        for (int i = 0; i < 50 && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST); i++) usleep(100000);
    }
    if (fd >= 0) {
        __atomic_store_n(&f->connected, 1, __ATOMIC_SEQ_CST);
        fprintf(stderr, "deconflictd: feed asterix %s:%d: listening, feeding party %s\n", f->host,
                f->port, f->party_name);
    }
    double last_flush = dd_now_s(), last_expire = last_flush;
    uint64_t datagrams = 0, bad = 0;
    while (fd >= 0 && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, FEED_FLUSH_MS) > 0) {
            ssize_t n = recv(fd, buf, 65536, MSG_DONTWAIT);
            if (n > 0) {
                char msg[160];
                dc_asterix_stats_t st = {0};
                b->now = dd_now_s();
                datagrams++;
                if (dc_asterix_decode_datagram(buf, (size_t)n, &f->svc->cfg.asterix, on_record, b,
                                               &st, msg, sizeof(msg)) != DC_OK &&
                    bad++ < 10)
                    fprintf(stderr, "deconflictd: feed asterix %s:%d: a datagram skipped: %s\n",
                            f->host, f->port, msg);
                __atomic_store_n(&f->lines, datagrams, __ATOMIC_RELAXED);
                __atomic_store_n(&f->bad_lines, bad, __ATOMIC_RELAXED);
            }
        }
        double now = dd_now_s();
        if (b->n && now - last_flush >= FEED_FLUSH_MS / 1000.0) flush(b), last_flush = now;
        if (now - last_expire >= 10) {
            dc_sbs_tracker_expire(b->tr, now);
            __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(b->tr), __ATOMIC_RELAXED);
            last_expire = now;
        }
    }
    if (b && b->tr)
        flush(b), __atomic_store_n(&f->aircraft, dc_sbs_tracker_count(b->tr), __ATOMIC_RELAXED);
    __atomic_store_n(&f->connected, 0, __ATOMIC_SEQ_CST);
    if (fd >= 0) close(fd);
    if (b) dc_sbs_tracker_free(b->tr);
    free(b), free(buf);
    return NULL;
}
