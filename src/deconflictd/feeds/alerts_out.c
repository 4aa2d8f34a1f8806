/* deconflictd's CAT004 output: each sender reads its party's event log (or, configured with
 * '*', every party's) as an event stream does -- the durable events after the last it read --
 * and sends each tactical conflict's alert as an ASTERIX CAT004 STCA message, repeated every
 * second while it stands, its end as an end-of-conflict message, and an alive message every
 * second, to one UDP address. What a party's sender sends is what that party's own conflict
 * views disclose: its own track, and of the other aircraft only a number this sender gives it
 * for the conflict (never its id, callsign or its party's own number). Every node reads the
 * log and keeps the alerts standing; only the node that leads sends, so that several nodes do
 * not repeat each message and a new leader goes on with the same alert numbers.
 *
 * A sender starts with the alerts standing when it starts: the party's open tactical conflicts
 * as the store holds them (its own view of each, as committed), read after the mark the log is
 * then read from, so that no change is missed and an alert standing across a restart (or a new
 * node) is repeated within a second. An event already in that state is read again and changes
 * nothing. */
#include "feeds/alerts_out.h"

#include <jansson.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "core/commit.h"
#include "core/documents.h"
#include "core/events.h"
#include "core/parties.h"
#include "core/tracks.h"
#include "deconflict/asterix.h"
#include "deconflict/timefmt.h"
#include "feeds/asterix_feed.h"

#define OUT_POLL_MS     250  /* how often the event log is read */
#define OUT_ALIVE_S     1.0  /* an alive message (and the standing alerts) this often */
#define OUT_NUMBERS_MAX 4096 /* track numbers held for other aircraft and own tracks */
#define OUT_DATAGRAM    1400 /* octets: a block fits an Ethernet frame */
#define OUT_OPEN_MAX    512  /* standing alerts repeated (more are sent once) */
#define OUT_READ_MAX    256  /* events read at a time */

/* Numbers the sender gives: to own tracks no ASTERIX source numbered, and to the other aircraft
 * of each conflict. The least recently used goes first. */
typedef struct numbers {
    struct {
        char key[80];
        int number;
        double used_s;
    } e[OUT_NUMBERS_MAX];
    size_t n;
    int next;
} numbers_t;

static int number_for(numbers_t *nb, const char *key, double now)
{
    size_t oldest = 0;
    for (size_t i = 0; i < nb->n; i++) {
        if (strcmp(nb->e[i].key, key) == 0) {
            nb->e[i].used_s = now;
            return nb->e[i].number;
        }
        if (nb->e[i].used_s < nb->e[oldest].used_s) oldest = i;
    }
    size_t i = nb->n < OUT_NUMBERS_MAX ? nb->n++ : oldest;
    snprintf(nb->e[i].key, sizeof(nb->e[i].key), "%s", key);
    nb->next = nb->next % 65535 + 1;
    nb->e[i].number = nb->next, nb->e[i].used_s = now;
    return nb->e[i].number;
}

/* A conflict's alert number, the same on every node: its id hashed (FNV-1a) into 1..65535. */
static int alert_number(const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return (int)(h % 65535) + 1;
}

typedef struct standing {
    char key[80];
    dc_asterix_record_t r;
    double event_s; /* when the event that made r was written: its times count down from it */
} standing_t;

/* A conflict view read (an event's data, or an open conflict's view as stored), taken after
 * the read: nothing is done under the store's lock but parsing. */
typedef struct view_in {
    json_t *v;
    bool resolved;
    double t_s; /* the event's time; the view's own "updated" for a stored one */
} view_in_t;

typedef struct sender {
    dd_alert_out_t *o;
    int fd;
    int64_t party; /* the party whose events are being read */
    double now;
    numbers_t tracks;
    standing_t open[OUT_OPEN_MAX];
    size_t n_open;
    view_in_t in[OUT_OPEN_MAX]; /* the views of one read, or of the open conflicts at start */
    size_t n_in;
    dc_asterix_block_t blk;
} sender_t;

static void send_block(sender_t *s)
{
    if (s->blk.records == 0) return;
    if (sendto(s->fd, s->blk.buf, s->blk.len, 0, s->o->to, s->o->to_len) < 0)
        __atomic_add_fetch(&s->o->send_errors, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&s->o->datagrams, 1, __ATOMIC_RELAXED);
    dc_asterix_block_start(&s->blk, 4, OUT_DATAGRAM);
}

static void add(sender_t *s, const dc_asterix_record_t *r)
{
    char msg[160];
    dc_err_t e = dc_asterix_block_add(&s->blk, r, msg, sizeof(msg));
    if (e == DC_ERR_LIMIT) {
        send_block(s);
        e = dc_asterix_block_add(&s->blk, r, msg, sizeof(msg));
    }
    if (e == DC_OK)
        __atomic_add_fetch(&s->o->messages, 1, __ATOMIC_RELAXED);
    else
        fprintf(stderr, "deconflictd: alerts %s:%d: a CAT004 message not sent: %s\n", s->o->host,
                s->o->port, msg);
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The track number of a party's own track: the number its ASTERIX source gave it (an
 * addressless track's id holds it, T<SAC><SIC>-<number>; an addressed one's is kept with the
 * track, in the store, so every node and a restart name it alike; else the one this node's
 * feed noted); others get one of this sender's. */
static int own_number(sender_t *s, const char *track)
{
    unsigned sacsic, tn;
    char extra;
    if (strlen(track) == 10 && sscanf(track, "T%4x-%4x%c", &sacsic, &tn, &extra) == 2)
        return (int)tn;
    int noted = dd_track_source_number(s->o->svc, s->party, track);
    if (!noted) noted = dd_asterix_track_number(s->party, track);
    if (noted) return noted;
    char key[80];
    snprintf(key, sizeof(key), "%lld/%s", (long long)s->party, track);
    return number_for(&s->tracks, key, s->now);
}

static int level_of(const char *level)
{
    if (!level) return 0;
    if (strcmp(level, "advisory") == 0) return 1;
    if (strcmp(level, "warning") == 0) return 2;
    if (strcmp(level, "loss") == 0) return 3;
    return 0;
}

static void note_standing(sender_t *s, const char *key, const dc_asterix_record_t *r,
                          double event_s, bool ended)
{
    size_t i = 0;
    while (i < s->n_open && strcmp(s->open[i].key, key) != 0) i++;
    if (ended) {
        if (i < s->n_open) s->open[i] = s->open[--s->n_open];
        return;
    }
    if (i == s->n_open) {
        if (s->n_open == OUT_OPEN_MAX) return;
        s->n_open++;
        snprintf(s->open[i].key, sizeof(s->open[i].key), "%s", key);
    }
    s->open[i].r = *r, s->open[i].event_s = event_s;
}

_Static_assert(OUT_READ_MAX <= OUT_OPEN_MAX, "every event of one read is kept");

/* Keeps a conflict view for after the read (a read's or the open conflicts': as many as can
 * stand). */
static void keep_view(sender_t *s, const char *data, bool resolved, double t_s)
{
    if (s->n_in == OUT_OPEN_MAX) return;
    json_t *v = json_loads(data, 0, NULL);
    const char *kind = json_string_value(json_object_get(v, "kind"));
    if (!kind || strcmp(kind, "tactical") != 0) {
        json_decref(v);
        return;
    }
    s->in[s->n_in++] = (view_in_t){v, resolved, t_s};
}

/* A conflict event of the party's log, kept. Called under the event log's lock. */
static void on_event(int64_t seq, const char *type, const char *data, double t_s, void *ctx)
{
    (void)seq;
    bool resolved = strcmp(type, "conflict.resolved") == 0;
    if (resolved || strcmp(type, "conflict.new") == 0 || strcmp(type, "conflict.update") == 0)
        keep_view(ctx, data, resolved, t_s);
}

/* An open conflict of the party's as the store holds it, kept, its time the view's own. */
static void on_open(const char *id, const char *data, void *ctx)
{
    (void)id;
    sender_t *s = ctx;
    size_t n = s->n_in;
    keep_view(s, data, false, s->now);
    double updated;
    if (s->n_in > n &&
        dc_time_parse_rfc3339(json_string_value(json_object_get(s->in[n].v, "updated")),
                              &updated) == DC_OK)
        s->in[n].t_s = updated;
}

/* A tactical conflict's view of the party's as a CAT004 message -- STCA, or end of conflict
 * when resolved -- sent when send is set, and the alerts standing kept. The one place a
 * message is made from a conflict, for its events and for the state a sender starts from. */
static void take_view(sender_t *s, const view_in_t *in, bool send)
{
    json_t *v = in->v;
    const char *id = json_string_value(json_object_get(v, "id"));
    const char *own = json_string_value(json_object_get(v, "own_track"));
    if (!id || !own) return;
    const dd_config_t *cfg = &s->o->svc->cfg;
    dc_asterix_record_t r = {.cat = 4, .sac = cfg->cat004_sac, .sic = cfg->cat004_sic};
    r.has = DC_ASTERIX_TOD | DC_ASTERIX_TRACK | DC_ASTERIX_TRACK2 | DC_ASTERIX_ALERT;
    r.tod_s = fmod(s->now, 86400);
    char key[80];
    snprintf(key, sizeof(key), "%lld/%s", (long long)s->party, id);
    r.alert_id = alert_number(key);
    r.track_number = own_number(s, own);
    char other[96];
    snprintf(other, sizeof(other), "%s/other", key);
    r.track_number_2 = number_for(&s->tracks, other, s->now);
    r.msg_type = in->resolved ? DC_ASTERIX_CAT004_END_OF_CONFLICT : DC_ASTERIX_CAT004_STCA;
    r.alert_status = level_of(json_string_value(json_object_get(v, "level")));
    if (!in->resolved) {
        double ttl = num(v, "time_to_loss_s"), tcpa = num(v, "tcpa_s"), dcpa = num(v, "dcpa_nm");
        if (ttl >= 0 && tcpa >= 0 && dcpa >= 0) {
            r.has |= DC_ASTERIX_TIMING;
            r.time_to_conflict_s = fmin(ttl, 131071), r.time_to_cpa_s = fmin(tcpa, 131071);
            r.cpa_h_nm = dcpa, r.cpa_v_ft = NAN; /* the view gives the vertical one now only */
        }
        /* The other aircraft's position would go in I004/171 CPW; tshark 4.0 reads that
         * subfield two octets longer than CAT004 1.12 defines it, so it is not sent. */
    }
    if (send) add(s, &r);
    /* The times count down from when they were predicted (an acknowledgement rewrites the
     * view later); a view written before predicted_at, from its event. */
    double predicted_s;
    if (dc_time_parse_rfc3339(json_string_value(json_object_get(v, "predicted_at")),
                              &predicted_s) != DC_OK)
        predicted_s = in->t_s;
    note_standing(s, key, &r, predicted_s, in->resolved);
}

/* Takes the views kept for party (send: the messages go out now), and lets them go. */
static void take_views(sender_t *s, int64_t party, bool send)
{
    s->party = party;
    for (size_t k = 0; k < s->n_in; k++) {
        take_view(s, &s->in[k], send);
        json_decref(s->in[k].v);
    }
    s->n_in = 0;
}

/* The alerts of party standing now, and the seq its log is to be read after: the mark first,
 * then the open conflicts as committed, so that every later change is read (one already in
 * that state again, to the same end). Their messages go out with the standing ones. */
static int64_t start_party(sender_t *s, int64_t party)
{
    dd_service_t *svc = s->o->svc;
    int64_t mark = dd_events_mark(svc, party);
    s->n_in = 0;
    if (dd_documents_list_committed(svc, "conflict", party, "open", on_open, s) != DC_OK)
        fprintf(stderr,
                "deconflictd: alerts %s:%d: the open conflicts could not be read; the alerts "
                "standing are sent at their next change\n",
                s->o->host, s->o->port);
    take_views(s, party, false);
    return mark;
}

static void *out_loop(void *arg)
{
    dd_alert_out_t *o = arg;
    dd_service_t *svc = o->svc;
    sender_t *s = calloc(1, sizeof(*s));
    int64_t *parties = NULL, *after = NULL;
    size_t n_parties = 0;
    if (!s || (s->fd = socket(o->to->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
        fprintf(stderr, "deconflictd: alerts %s:%d: cannot open a UDP socket\n", o->host, o->port);
        free(s);
        return NULL;
    }
    s->o = o;
    dc_asterix_block_start(&s->blk, 4, OUT_DATAGRAM);
    double last_alive = 0, last_parties = -1e9;
    while (!__atomic_load_n(&o->stop, __ATOMIC_SEQ_CST)) {
        usleep(OUT_POLL_MS * 1000);
        s->now = dd_now_s();
        /* The parties read: the one named, or every party (anew every 10 s: parties are added). */
        if (s->now - last_parties >= 10) {
            int64_t *ids = NULL;
            size_t n = 0;
            if (o->party) {
                ids = malloc(sizeof(*ids));
                if (ids) ids[0] = o->party, n = 1;
            } else {
                dd_read_lock(svc);
                bool ok = dd_parties_others(svc, 0, &ids, &n);
                dd_read_unlock(svc);
                if (!ok) ids = NULL, n = 0;
            }
            int64_t *a = calloc(n ? n : 1, sizeof(*a));
            if (ids && a) {
                for (size_t i = 0; i < n; i++) { /* a party already read goes on where it was */
                    size_t j = 0;
                    while (j < n_parties && parties[j] != ids[i]) j++;
                    a[i] = j < n_parties ? after[j] : start_party(s, ids[i]);
                }
                free(parties), free(after);
                parties = ids, after = a, n_parties = n;
            } else {
                free(ids), free(a);
            }
            last_parties = s->now;
        }
        bool leading = __atomic_load_n(&svc->leader, __ATOMIC_RELAXED);
        for (size_t i = 0; i < n_parties; i++) {
            int64_t mark = dd_events_mark(svc, parties[i]), last = after[i];
            if (mark <= after[i]) continue;
            s->n_in = 0;
            if (dd_events_read(svc, parties[i], after[i], mark, OUT_READ_MAX, on_event, s, &last) ==
                DC_OK)
                after[i] = last > after[i] ? last : mark;
            take_views(s, parties[i], leading);
        }
        if (leading && s->now - last_alive >= OUT_ALIVE_S) {
            dc_asterix_record_t alive = {
                .cat = 4, .has = DC_ASTERIX_TOD, .msg_type = DC_ASTERIX_CAT004_ALIVE};
            alive.sac = svc->cfg.cat004_sac, alive.sic = svc->cfg.cat004_sic;
            alive.tod_s = fmod(s->now, 86400);
            add(s, &alive);
            /* The alerts standing, their times counted down since their event. */
            for (size_t i = 0; i < s->n_open; i++) {
                dc_asterix_record_t r = s->open[i].r;
                double gone = fmax(0, s->now - s->open[i].event_s);
                r.tod_s = alive.tod_s;
                r.time_to_conflict_s = fmax(0, r.time_to_conflict_s - gone);
                r.time_to_cpa_s = fmax(0, r.time_to_cpa_s - gone);
                add(s, &r);
            }
            last_alive = s->now;
        }
        send_block(s);
    }
    close(s->fd);
    free(s), free(parties), free(after);
    return NULL;
}

bool dd_alert_outs_start(dd_service_t *svc, dd_alert_out_t *outs, char *err, size_t len)
{
    for (size_t i = 0; i < svc->cfg.n_alert_outs; i++) {
        dd_alert_out_t *o = &outs[i];
        memset(o, 0, sizeof(*o));
        o->svc = svc;
        snprintf(o->host, sizeof(o->host), "%s", svc->cfg.alert_outs[i].host);
        snprintf(o->party_name, sizeof(o->party_name), "%s", svc->cfg.alert_outs[i].party);
        o->port = svc->cfg.alert_outs[i].port;
        if (strcmp(o->party_name, "*") != 0) {
            dd_read_lock(svc);
            o->party = dd_party_id(svc, o->party_name);
            dd_read_unlock(svc);
            if (!o->party) {
                snprintf(err, len,
                         "--alerts-asterix %s:%d: no enabled party '%s' (deconflict party add)",
                         o->host, o->port, o->party_name);
                return false;
            }
        } else {
            fprintf(stderr, "deconflictd: alerts %s:%d: every party's alerts go there (':*')\n",
                    o->host, o->port);
        }
        char port[16];
        snprintf(port, sizeof(port), "%d", o->port);
        struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
        int gai = getaddrinfo(o->host, port, &hints, &ai);
        if (gai != 0 || ai->ai_addrlen > sizeof(o->to_storage)) {
            snprintf(err, len, "--alerts-asterix %s:%d: %s", o->host, o->port,
                     gai ? gai_strerror(gai) : "an address too long");
            if (ai) freeaddrinfo(ai);
            return false;
        }
        memcpy(&o->to_storage, ai->ai_addr, ai->ai_addrlen);
        o->to = (struct sockaddr *)&o->to_storage, o->to_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        if (pthread_create(&o->thread, NULL, out_loop, o) != 0) {
            snprintf(err, len, "cannot start the alerts thread");
            return false;
        }
        o->running = true;
    }
    return true;
}

void dd_alert_outs_stop(dd_service_t *svc, dd_alert_out_t *outs)
{
    for (size_t i = 0; i < svc->cfg.n_alert_outs; i++) {
        if (!outs[i].running) continue;
        __atomic_store_n(&outs[i].stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(outs[i].thread, NULL);
        outs[i].running = false;
    }
}
