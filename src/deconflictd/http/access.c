/* Connections, rates and streams: see access.h. */
#include "http/access.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A client address as 16 bytes (IPv4 mapped into IPv6), so both families share one table. */
typedef struct addr16 {
    uint8_t b[16];
} addr16_t;

struct dd_conn {
    int fd;
    addr16_t addr;
    bool proven, evicted;
    dd_conn_t *prev, *next; /* the unproven, oldest first */
};

/* Unproven connections per address: open addressing, linear probing. Entries are never
 * deleted one by one; the table is rebuilt without its zero counts when it fills. */
typedef struct addr_slot {
    addr16_t addr;
    uint32_t unproven;
    bool used;
} addr_slot_t;

typedef struct party_slot {
    int64_t party;
    double tokens, at_s;
    size_t streams;
} party_slot_t;

struct dd_access {
    dd_access_config_t cfg;
    pthread_mutex_t mu;
    size_t connections, unproven;
    dd_conn_t *oldest, *newest; /* the unproven list */
    addr_slot_t *addrs;
    size_t addr_cap, addr_used;
    party_slot_t *parties; /* sorted by party */
    size_t n_parties, cap_parties;
    uint64_t evicted, refused;
};

static addr16_t addr16_of(const struct sockaddr *sa)
{
    addr16_t a;
    memset(&a, 0, sizeof(a));
    if (sa && sa->sa_family == AF_INET6) {
        memcpy(a.b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else if (sa && sa->sa_family == AF_INET) {
        a.b[10] = a.b[11] = 0xff;
        memcpy(a.b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
    return a;
}

static size_t addr_hash(const addr16_t *a)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++) h = (h ^ a->b[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

/* The slot of address a, added when absent (NULL only when memory ran out). */
static addr_slot_t *addr_slot(dd_access_t *x, const addr16_t *a, bool add)
{
    if (add && (x->addr_used + 1) * 10 > x->addr_cap * 7) {
        size_t cap = x->addr_cap ? x->addr_cap : 64, live = 0;
        for (size_t i = 0; i < x->addr_cap; i++) live += x->addrs[i].used && x->addrs[i].unproven;
        while ((live + 1) * 10 > cap * 5) cap *= 2;
        addr_slot_t *t = calloc(cap, sizeof(*t));
        if (!t) return NULL;
        for (size_t i = 0; i < x->addr_cap; i++) {
            if (!x->addrs[i].used || !x->addrs[i].unproven) continue;
            size_t j = addr_hash(&x->addrs[i].addr) & (cap - 1);
            while (t[j].used) j = (j + 1) & (cap - 1);
            t[j] = x->addrs[i];
        }
        free(x->addrs);
        x->addrs = t, x->addr_cap = cap, x->addr_used = live;
    }
    if (!x->addr_cap) return NULL;
    size_t j = addr_hash(a) & (x->addr_cap - 1);
    while (x->addrs[j].used) {
        if (memcmp(&x->addrs[j].addr, a, sizeof(*a)) == 0) return &x->addrs[j];
        j = (j + 1) & (x->addr_cap - 1);
    }
    if (!add) return NULL;
    x->addrs[j].used = true;
    x->addrs[j].addr = *a;
    x->addrs[j].unproven = 0;
    x->addr_used++;
    return &x->addrs[j];
}

dd_access_t *dd_access_new(const dd_access_config_t *cfg)
{
    dd_access_t *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->cfg = *cfg;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void dd_access_free(dd_access_t *a)
{
    if (!a) return;
    pthread_mutex_destroy(&a->mu);
    free(a->addrs);
    free(a->parties);
    free(a);
}

/* Takes c off the unproven list (and its address's count). */
static void unlist(dd_access_t *a, dd_conn_t *c)
{
    if (c->proven || c->evicted) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        a->newest = c->prev;
    c->prev = c->next = NULL;
    a->unproven--;
    addr_slot_t *s = addr_slot(a, &c->addr, false);
    if (s && s->unproven) s->unproven--;
}

/* Evicts unproven c: its socket is shut down, so the server sees it end and closes it (the
 * record stays until then; dd_access_closed comes before the close, so the fd is still c's). */
static void evict(dd_access_t *a, dd_conn_t *c)
{
    unlist(a, c);
    c->evicted = true;
    shutdown(c->fd, SHUT_RDWR);
    a->evicted++;
}

bool dd_access_admit(dd_access_t *a, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    addr16_t key = addr16_of(addr);
    pthread_mutex_lock(&a->mu);
    bool ok = true;
    addr_slot_t *s = addr_slot(a, &key, false);
    if (s && s->unproven >= a->cfg.max_unproven_per_address) {
        /* This address holds its share of unproven connections: its oldest gives way. */
        dd_conn_t *c = a->oldest;
        while (c && memcmp(&c->addr, &key, sizeof(key)) != 0) c = c->next;
        if (c) evict(a, c);
    }
    if (a->connections - (a->connections >= a->unproven ? 0 : 0) >= a->cfg.max_connections) {
        /* Full: the oldest unproven connection anywhere gives way; when every one held is a
         * party's, the newcomer is refused. */
        if (a->oldest)
            evict(a, a->oldest);
        else
            ok = false;
    }
    if (!ok) a->refused++;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

dd_conn_t *dd_access_opened(dd_access_t *a, int fd, const struct sockaddr *addr, double now_s)
{
    (void)now_s;
    dd_conn_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->fd = fd;
    c->addr = addr16_of(addr);
    pthread_mutex_lock(&a->mu);
    addr_slot_t *s = addr_slot(a, &c->addr, true);
    a->connections++;
    if (s) {
        s->unproven++;
        c->prev = a->newest;
        if (a->newest)
            a->newest->next = c;
        else
            a->oldest = c;
        a->newest = c;
        a->unproven++;
    } else {
        c->proven = true; /* no memory to track it: never evicted, only counted */
    }
    pthread_mutex_unlock(&a->mu);
    return c;
}

void dd_access_closed(dd_access_t *a, dd_conn_t *c)
{
    if (!c) return;
    pthread_mutex_lock(&a->mu);
    unlist(a, c);
    a->connections--;
    pthread_mutex_unlock(&a->mu);
    free(c);
}

void dd_access_proven(dd_access_t *a, dd_conn_t *c)
{
    if (!c) return;
    pthread_mutex_lock(&a->mu);
    unlist(a, c);
    if (!c->evicted) c->proven = true;
    pthread_mutex_unlock(&a->mu);
}

/* The party's slot, added in order when absent (NULL only when memory ran out). */
static party_slot_t *party_slot(dd_access_t *a, int64_t party, double now_s)
{
    size_t lo = 0, hi = a->n_parties;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->parties[mid].party < party)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->n_parties && a->parties[lo].party == party) return &a->parties[lo];
    if (a->n_parties == a->cap_parties) {
        size_t cap = a->cap_parties ? 2 * a->cap_parties : 16;
        party_slot_t *p = realloc(a->parties, cap * sizeof(*p));
        if (!p) return NULL;
        a->parties = p, a->cap_parties = cap;
    }
    memmove(&a->parties[lo + 1], &a->parties[lo], (a->n_parties - lo) * sizeof(*a->parties));
    a->n_parties++;
    a->parties[lo] = (party_slot_t){party, a->cfg.rate_burst, now_s, 0};
    return &a->parties[lo];
}

bool dd_access_rate(dd_access_t *a, int64_t party, double now_s, double *retry_s)
{
    *retry_s = 0;
    if (a->cfg.rate_rps <= 0) return true;
    pthread_mutex_lock(&a->mu);
    party_slot_t *p = party_slot(a, party, now_s);
    bool ok = false;
    if (!p) {
        *retry_s = 1; /* no memory for its bucket: refused, never waved through */
    } else {
        double t = p->tokens + (now_s - p->at_s) * a->cfg.rate_rps;
        if (t > a->cfg.rate_burst) t = a->cfg.rate_burst;
        ok = t >= 1;
        p->tokens = ok ? t - 1 : t;
        p->at_s = now_s;
        if (!ok) *retry_s = (1 - t) / a->cfg.rate_rps;
    }
    pthread_mutex_unlock(&a->mu);
    return ok;
}

bool dd_access_stream_open(dd_access_t *a, int64_t party)
{
    pthread_mutex_lock(&a->mu);
    party_slot_t *p = party_slot(a, party, 0);
    bool ok = p && p->streams < a->cfg.max_streams_party;
    if (ok) p->streams++;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

void dd_access_stream_close(dd_access_t *a, int64_t party)
{
    pthread_mutex_lock(&a->mu);
    party_slot_t *p = party_slot(a, party, 0);
    if (p && p->streams) p->streams--;
    pthread_mutex_unlock(&a->mu);
}

void dd_access_stats(dd_access_t *a, dd_access_stats_t *out)
{
    pthread_mutex_lock(&a->mu);
    out->connections = a->connections;
    out->unproven = a->unproven;
    out->evicted = a->evicted;
    out->refused = a->refused;
    pthread_mutex_unlock(&a->mu);
}
