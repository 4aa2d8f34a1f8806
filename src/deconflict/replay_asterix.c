/* `deconflict replay` and ASTERIX: reading a recording (raw blocks, pcap or pcapng) into the
 * replay's rows, and writing the replay's alerts as CAT004 safety-net messages (--cat004).
 * docs/feeds.md, "ASTERIX". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "deconflict/alerting.h"
#include "deconflict/asterix.h"
#include "replay_asterix.h"

typedef struct loader {
    dc_sbs_tracker_t *tr;
    cli_row_t **rows;
    size_t *n_rows, cap;
    double ref_s;  /* the time the record's time of day is placed near */
    double last_s; /* the last record's time (NAN before the first) */
    long datagram;
    bool failed;
} loader_t;

static cli_row_t *next_row(loader_t *l)
{
    if (*l->n_rows == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        cli_row_t *grown = realloc(*l->rows, cap * sizeof(**l->rows));
        if (!grown) return l->failed = true, NULL;
        *l->rows = grown, l->cap = cap;
    }
    cli_row_t *r = &(*l->rows)[*l->n_rows];
    memset(r, 0, sizeof(*r));
    return r;
}

static void on_record(const dc_asterix_record_t *rec, void *ctx)
{
    loader_t *l = ctx;
    if (l->failed || !(rec->has & DC_ASTERIX_TOD)) return;
    double t = dc_asterix_tod_to_unix(rec->tod_s, l->ref_s);
    l->last_s = t;
    dc_sbs_msg_t m[3];
    size_t n = dc_asterix_to_messages(rec, t, m);
    cli_row_t *r;
    for (size_t i = 0; i < n; i++) {
        if (!(r = next_row(l))) return;
        if (dc_sbs_tracker_apply(l->tr, &m[i], &r->st, r->callsign)) {
            r->line = l->datagram;
            r->track_number = rec->has & DC_ASTERIX_TRACK ? rec->track_number : 0;
            (*l->n_rows)++;
        }
    }
    char cs[9];
    if (!n && (r = next_row(l)) && dc_asterix_track_state(rec, t, &r->st, cs)) {
        memcpy(r->callsign, cs, sizeof(cs));
        r->line = l->datagram, r->track_number = rec->track_number;
        (*l->n_rows)++;
    }
}

int cli_load_asterix(const char *path, const dc_asterix_config_t *cfg, double date_s,
                     cli_row_t **rows, size_t *n_rows, size_t *n_bad)
{
    *rows = NULL, *n_rows = 0, *n_bad = 0;
    char msg[256];
    dc_asterix_source_t *src;
    if (dc_asterix_source_open(path, &src, msg, sizeof(msg)) != DC_OK) {
        fprintf(stderr, "deconflict replay: %s\n", msg);
        return CLI_EXIT_DATA;
    }
    /* A raw recording has times of day only: they are placed on --date, else on the day the
     * file was last written. */
    if (isnan(date_s)) {
        struct stat sb;
        date_s = stat(path, &sb) == 0 ? floor((double)sb.st_mtime / 86400) * 86400 : 0;
    }
    loader_t l = {
        .tr = dc_sbs_tracker_new(10, 1e12), .rows = rows, .n_rows = n_rows, .last_s = NAN};
    int rc = l.tr ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    const uint8_t *data;
    size_t len;
    double t_s;
    int port;
    dc_err_t e = DC_OK;
    dc_asterix_stats_t st = {0};
    while (rc == CLI_EXIT_OK &&
           (e = dc_asterix_source_next(src, &data, &len, &t_s, &port, msg, sizeof(msg))) == DC_OK) {
        l.datagram++;
        /* Raw blocks: each time of day goes near the one before, so that a recording runs on
         * past midnight; the first goes on --date. */
        l.ref_s = isfinite(t_s) ? t_s : isfinite(l.last_s) ? l.last_s : date_s + 43200;
        if (dc_asterix_decode_datagram(data, len, cfg, on_record, &l, &st, msg, sizeof(msg)) !=
            DC_OK) {
            if (*n_bad < 5)
                fprintf(stderr, "deconflict replay: %s: datagram %ld: %s\n", path, l.datagram, msg);
            (*n_bad)++;
        }
        if (l.failed) rc = CLI_EXIT_INTERNAL;
    }
    if (rc == CLI_EXIT_OK && e != DC_ERR_NOT_FOUND) {
        fprintf(stderr, "deconflict replay: %s: %s\n", path, msg);
        rc = CLI_EXIT_DATA;
    }
    dc_asterix_source_free(src);
    dc_sbs_tracker_free(l.tr);
    return rc;
}

/* ---- CAT004 out ---- */

typedef struct numbered {
    const char *id;
    size_t first;
    int number;
} numbered_t;

typedef struct open_alert {
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    int alert_id;
} open_alert_t;

struct cli_cat004 {
    FILE *out;
    bool pcap;
    int sac, sic;
    numbered_t *nums;
    size_t n_nums;
    const cli_row_t *rows;
    open_alert_t *open;
    size_t n_open, cap_open;
    int next_alert;
    size_t messages, blocks;
    dc_asterix_block_t blk;
};

static int by_id_then_first(const void *a, const void *b)
{
    const numbered_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->first > y->first) - (x->first < y->first);
}
static int by_first(const void *a, const void *b)
{
    const numbered_t *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}
static int by_id(const void *a, const void *b)
{
    return strcmp(((const numbered_t *)a)->id, ((const numbered_t *)b)->id);
}

cli_cat004_t *cli_cat004_open(const char *path, int sac, int sic, const cli_row_t *rows,
                              size_t n_rows)
{
    cli_cat004_t *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->sac = sac, w->sic = sic, w->rows = rows, w->next_alert = 1;
    /* Each aircraft's track number: its source's own (an ASTERIX recording's), else numbers from
     * 1 in the order the aircraft first appear -- the numbers `deconflict asterix encode` gives
     * the same recording. */
    w->nums = malloc((n_rows ? n_rows : 1) * sizeof(*w->nums));
    if (!w->nums) return free(w), NULL;
    for (size_t i = 0; i < n_rows; i++)
        w->nums[i] = (numbered_t){rows[i].st.id, i, rows[i].track_number};
    qsort(w->nums, n_rows, sizeof(*w->nums), by_id_then_first);
    size_t k = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (!k || strcmp(w->nums[k - 1].id, w->nums[i].id) != 0) w->nums[k++] = w->nums[i];
    w->n_nums = k;
    qsort(w->nums, k, sizeof(*w->nums), by_first);
    int next = 1;
    for (size_t i = 0; i < k; i++)
        if (!w->nums[i].number) w->nums[i].number = next > 65535 ? 0 : next++;
    qsort(w->nums, k, sizeof(*w->nums), by_id);
    w->out = cli_asterix_create("deconflict replay", path, &w->pcap);
    if (!w->out) return free(w->nums), free(w), NULL;
    dc_asterix_block_start(&w->blk, 4, 1400);
    return w;
}

static int number_of(const cli_cat004_t *w, const char *id)
{
    numbered_t key = {.id = id};
    const numbered_t *n = bsearch(&key, w->nums, w->n_nums, sizeof(key), by_id);
    return n ? n->number : 0;
}

static bool add(cli_cat004_t *w, const dc_asterix_record_t *r, double now_s)
{
    char msg[160];
    dc_err_t e = dc_asterix_block_add(&w->blk, r, msg, sizeof(msg));
    if (e == DC_ERR_LIMIT) {
        cli_asterix_write_block(w->out, w->pcap, &w->blk, now_s), w->blocks++;
        dc_asterix_block_start(&w->blk, 4, 1400);
        e = dc_asterix_block_add(&w->blk, r, msg, sizeof(msg));
    }
    if (e != DC_OK) {
        fprintf(stderr, "deconflict replay: a CAT004 message not written: %s\n", msg);
        return false;
    }
    w->messages++;
    return true;
}

/* Whether CAT004 can carry callsign (7 of A-Z, 0-9, space): a recording's other callsigns are
 * left out of the message rather than losing the message. */
static bool carried(const char *cs)
{
    if (!cs || !cs[0]) return false;
    for (size_t i = 0; cs[i] && i < 7; i++)
        if (!((cs[i] >= 'A' && cs[i] <= 'Z') || (cs[i] >= '0' && cs[i] <= '9') || cs[i] == ' '))
            return false;
    return true;
}

static open_alert_t *find_open(cli_cat004_t *w, const char *id1, const char *id2)
{
    for (size_t i = 0; i < w->n_open; i++)
        if (strcmp(w->open[i].id1, id1) == 0 && strcmp(w->open[i].id2, id2) == 0)
            return &w->open[i];
    return NULL;
}

bool cli_cat004_pass(cli_cat004_t *w, double now_s, const dc_alerting_t *al,
                     const char *(*callsign_of)(const char *id, void *ctx), void *ctx)
{
    dc_asterix_record_t r = {.cat = 4, .sac = w->sac, .sic = w->sic, .has = DC_ASTERIX_TOD};
    r.tod_s = fmod(now_s, 86400);
    if (r.tod_s < 0) r.tod_s += 86400;
    r.msg_type = DC_ASTERIX_CAT004_ALIVE;
    bool ok = add(w, &r, now_s);
    for (size_t i = 0; ok && i < dc_alerting_count(al); i++) {
        const dc_alert_t *a = dc_alerting_get(al, i);
        open_alert_t *o = find_open(w, a->id1, a->id2);
        if (a->level == DC_ALERT_NONE && !o) continue;
        if (!o) {
            if (w->n_open == w->cap_open) {
                size_t cap = w->cap_open ? 2 * w->cap_open : 16;
                open_alert_t *p = realloc(w->open, cap * sizeof(*p));
                if (!p) return false;
                w->open = p, w->cap_open = cap;
            }
            o = &w->open[w->n_open++];
            snprintf(o->id1, sizeof(o->id1), "%s", a->id1);
            snprintf(o->id2, sizeof(o->id2), "%s", a->id2);
            o->alert_id = w->next_alert, w->next_alert = w->next_alert % 65535 + 1;
        }
        dc_asterix_record_t m = r;
        m.has = DC_ASTERIX_TOD | DC_ASTERIX_TRACK | DC_ASTERIX_TRACK2 | DC_ASTERIX_ALERT;
        m.msg_type =
            a->level == DC_ALERT_NONE ? DC_ASTERIX_CAT004_END_OF_CONFLICT : DC_ASTERIX_CAT004_STCA;
        m.alert_id = o->alert_id, m.alert_status = (int)a->level;
        m.track_number = number_of(w, a->id1), m.track_number_2 = number_of(w, a->id2);
        const char *cs1 = callsign_of(a->id1, ctx), *cs2 = callsign_of(a->id2, ctx);
        if (carried(cs1)) snprintf(m.callsign, 8, "%s", cs1), m.has |= DC_ASTERIX_CALLSIGN;
        if (carried(cs2)) snprintf(m.callsign_2, 8, "%s", cs2), m.has_second = true;
        if (a->evaluated && a->level != DC_ALERT_NONE) {
            m.has |= DC_ASTERIX_TIMING;
            m.time_to_conflict_s = a->eval.conflict ? a->eval.tin_s : a->eval.tcpa_s;
            m.time_to_cpa_s = a->eval.tcpa_s;
            m.cpa_h_nm = a->eval.dcpa_nm, m.cpa_v_ft = a->eval.vcpa_ft;
        }
        ok = add(w, &m, now_s);
        if (a->level == DC_ALERT_NONE) *o = w->open[--w->n_open];
    }
    cli_asterix_write_block(w->out, w->pcap, &w->blk, now_s), w->blocks++;
    dc_asterix_block_start(&w->blk, 4, 1400);
    return ok;
}

int cli_cat004_close(cli_cat004_t *w, const char *path)
{
    if (!w) return CLI_EXIT_OK;
    int rc = CLI_EXIT_OK;
    if (fclose(w->out) != 0) {
        fprintf(stderr, "deconflict replay: %s: %s\n", path, strerror(errno));
        rc = CLI_EXIT_DATA;
    } else {
        fprintf(stderr, "deconflict replay: wrote %zu CAT004 messages in %zu blocks to %s\n",
                w->messages, w->blocks, path);
    }
    free(w->nums), free(w->open), free(w);
    return rc;
}
