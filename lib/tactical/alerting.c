/* Graded alerting: see deconflict/alerting.h.
 *
 * The layer keeps each aircraft's last two reports (for its turn rate and its altitude step) and
 * the pairs it is following, sorted by (id1, id2), so that a pass is a merge join of the
 * engine's sorted candidates with them: O(candidates + followed pairs), whatever the traffic. */
#include "deconflict/alerting.h"
#include "common/array.h"
#include "common/hashmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX   8    /* updates remembered per pair: confirm_n's bound */
#define SAMPLE_S      1.0  /* the arc prediction's time step */
#define TURN_DT_MIN_S 0.5  /* a turn rate needs two reports at least this far apart ... */
#define TURN_DT_MAX_S 30.0 /* ... and at most this */
#define TURN_GS_MIN   50.0 /* kt: slower aircraft (hovering, taxiing) have no useful track */
#define EARTH_R_M     6371008.8
#define M_PER_NM      1852.0
#define FTPS_PER_FPM  (1.0 / 60.0)

static const double DEG = 3.14159265358979323846 / 180.0;

typedef struct track {
    dc_track_state_t cur, prev;
    bool has_prev;
    double step_ft, selected_ft; /* the source's (selected_ft NAN: none) */
} track_t;

typedef struct pair {
    dc_alert_t view;
    double last_loss_s, last_warn_s, last_adv_s; /* when each level's condition last held */
    double upd_s[HISTORY_MAX];                   /* the pair's updates, newest last */
    bool upd_pred[HISTORY_MAX];
    unsigned n_upd;
    double last_report_s; /* the newest report of either aircraft at the last update */
} pair_t;

struct dc_alerting {
    dc_tactical_config_t minima;
    dc_alerting_config_t cfg;
    track_t **tracks; /* owned; the map's keys are their ids */
    size_t n_tracks, cap_tracks;
    dc_strmap_t by_id;
    pair_t *pairs, *next; /* sorted by (id1, id2) */
    size_t n_pairs, cap_pairs, cap_next;
    dc_alert_t *out;
    size_t n_out, cap_out;
    double last_now_s;
    dc_alerting_rule_fn rule;
    void *rule_ctx;
};

const char *dc_alert_level_name(dc_alert_level_t level)
{
    switch (level) {
    case DC_ALERT_ADVISORY:
        return "advisory";
    case DC_ALERT_WARNING:
        return "warning";
    case DC_ALERT_LOSS:
        return "loss";
    default:
        return "none";
    }
}

void dc_alerting_config_default(dc_alerting_config_t *cfg)
{
    *cfg = (dc_alerting_config_t){.warning_s = 90,
                                  .quantisation = true,
                                  .level_filter = true,
                                  .level_vs_fpm = 250,
                                  .turn_prediction = true,
                                  .turn_min_dps = 0.5,
                                  .turn_max_deg = 30,
                                  .confirm_m = 2,
                                  .confirm_n = 3,
                                  .confirm_min_s = 2,
                                  .hold_s = 20,
                                  .candidate_margin_nm = 2,
                                  .use_selected_alt = true};
}

static bool within(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

dc_err_t dc_alerting_config_validate(const dc_alerting_config_t *cfg, const char **field)
{
    const char *bad = NULL;
    if (!within(cfg->warning_s, 0, 3600))
        bad = "warning_s";
    else if (!within(cfg->level_vs_fpm, 0, 5000))
        bad = "level_vs_fpm";
    else if (!within(cfg->turn_min_dps, 0.01, 30))
        bad = "turn_min_dps";
    else if (!within(cfg->turn_max_deg, 0, 720))
        bad = "turn_max_deg";
    else if (cfg->confirm_n < 1 || cfg->confirm_n > HISTORY_MAX)
        bad = "confirm_n";
    else if (cfg->confirm_m < 1 || cfg->confirm_m > cfg->confirm_n)
        bad = "confirm_m";
    else if (!within(cfg->confirm_min_s, 0, 600))
        bad = "confirm_min_s";
    else if (!within(cfg->hold_s, 0, 3600))
        bad = "hold_s";
    else if (!within(cfg->candidate_margin_nm, 0, 50))
        bad = "candidate_margin_nm";
    if (field) *field = bad;
    return bad ? DC_ERR_INVALID : DC_OK;
}

dc_alerting_t *dc_alerting_new(const dc_tactical_config_t *minima, const dc_alerting_config_t *cfg)
{
    dc_alerting_config_t def;
    if (!cfg) dc_alerting_config_default(&def), cfg = &def;
    if (!minima || dc_tactical_config_validate(minima, NULL) != DC_OK ||
        dc_alerting_config_validate(cfg, NULL) != DC_OK)
        return NULL;
    dc_alerting_t *al = calloc(1, sizeof(*al));
    if (!al) return NULL;
    al->minima = *minima;
    al->cfg = *cfg;
    al->last_now_s = -INFINITY;
    return al;
}

void dc_alerting_free(dc_alerting_t *al)
{
    if (!al) return;
    for (size_t i = 0; i < al->n_tracks; i++) free(al->tracks[i]);
    free(al->tracks);
    dc_strmap_free(&al->by_id);
    free(al->pairs), free(al->next), free(al->out);
    free(al);
}

void dc_alerting_candidate_config(const dc_alerting_t *al, dc_tactical_config_t *out)
{
    *out = al->minima;
    out->rpz_nm += al->cfg.candidate_margin_nm;
}

/* ---- aircraft ---- */

static track_t *track_of(const dc_alerting_t *al, const char *id)
{
    uint32_t i;
    return dc_strmap_get(&al->by_id, id, &i) ? al->tracks[i] : NULL;
}

dc_err_t dc_alerting_report(dc_alerting_t *al, const dc_track_state_t *st,
                            const dc_report_source_t *src, const char **field)
{
    if (dc_track_state_validate(st, field) != DC_OK) return DC_ERR_INVALID;
    double alt_step_ft = src ? src->alt_step_ft : 0, sel = src ? src->selected_alt_ft : NAN;
    if (!within(alt_step_ft, 0, 500)) {
        if (field) *field = "alt_step_ft";
        return DC_ERR_INVALID;
    }
    if (!isnan(sel) && !within(sel, DC_ALT_FT_MIN, DC_ALT_FT_MAX)) {
        if (field) *field = "selected_alt_ft";
        return DC_ERR_INVALID;
    }
    track_t *t = track_of(al, st->id);
    if (t) {
        if (st->t_s < t->cur.t_s) return DC_OK; /* older than what is held */
        if (st->t_s > t->cur.t_s) t->prev = t->cur, t->has_prev = true;
        t->cur = *st;
        t->step_ft = alt_step_ft, t->selected_ft = sel;
        return DC_OK;
    }
    if (!dc_array_grow((void **)&al->tracks, &al->cap_tracks, al->n_tracks + 1,
                       sizeof(*al->tracks)) ||
        !(t = calloc(1, sizeof(*t))))
        return DC_ERR_NOMEM;
    t->cur = *st;
    t->step_ft = alt_step_ft, t->selected_ft = sel;
    if (!dc_strmap_put(&al->by_id, t->cur.id, (uint32_t)al->n_tracks)) {
        free(t);
        return DC_ERR_NOMEM;
    }
    al->tracks[al->n_tracks++] = t;
    return DC_OK;
}

void dc_alerting_forget(dc_alerting_t *al, const char *id)
{
    uint32_t i;
    if (!dc_strmap_get(&al->by_id, id, &i)) return;
    dc_strmap_del(&al->by_id, id);
    free(al->tracks[i]);
    al->tracks[i] = al->tracks[--al->n_tracks];
    if (i < al->n_tracks) dc_strmap_put(&al->by_id, al->tracks[i]->cur.id, i); /* same key */
}

/* The observed turn rate, deg/s (positive: clockwise), or 0 when it cannot be told. */
static double turn_rate_dps(const track_t *t)
{
    if (!t->has_prev || t->cur.gs_kt < TURN_GS_MIN || t->prev.gs_kt < TURN_GS_MIN) return 0;
    double dt = t->cur.t_s - t->prev.t_s;
    if (dt < TURN_DT_MIN_S || dt > TURN_DT_MAX_S) return 0;
    double d = fmod(t->cur.trk_deg - t->prev.trk_deg + 540.0, 360.0) - 180.0;
    return d / dt;
}

/* ---- the arc prediction ---- */

typedef struct mover {
    double x0, y0;   /* m east and north of the origin at the report time */
    double t0;       /* report time */
    double v;        /* m/s */
    double h0;       /* track, rad */
    double w;        /* turn rate, rad/s (0: straight) */
    double e_max;    /* seconds of turning before it goes straight */
    double alt0, vs; /* ft, ft/s */
    double cap;      /* the level it stops at (NAN: none) */
} mover_t;

static void mover_init(mover_t *m, const track_t *t, double lat0, double lon0, double rate_dps,
                       double max_deg, double cap)
{
    m->cap = cap;
    double dlon = fmod(t->cur.lon_deg - lon0 + 540.0, 360.0) - 180.0;
    m->x0 = dlon * DEG * EARTH_R_M * cos(lat0 * DEG);
    m->y0 = (t->cur.lat_deg - lat0) * DEG * EARTH_R_M;
    m->t0 = t->cur.t_s;
    m->v = t->cur.gs_kt * M_PER_NM / 3600.0;
    m->h0 = t->cur.trk_deg * DEG;
    m->w = rate_dps * DEG;
    m->e_max = rate_dps != 0 ? max_deg / fabs(rate_dps) : 0;
    m->alt0 = t->cur.alt_ft;
    m->vs = t->cur.vs_fpm * FTPS_PER_FPM;
}

static void mover_at(const mover_t *m, double t, double *x, double *y, double *alt)
{
    double e = t - m->t0;
    *alt = m->alt0 + m->vs * e;
    if (!isnan(m->cap) && (*alt - m->cap) * m->vs > 0) *alt = m->cap;
    if (m->w == 0) {
        *x = m->x0 + m->v * sin(m->h0) * e, *y = m->y0 + m->v * cos(m->h0) * e;
        return;
    }
    double ea = e < m->e_max ? e : m->e_max, r = m->v / m->w, h = m->h0 + m->w * ea;
    *x = m->x0 + r * (cos(m->h0) - cos(h));
    *y = m->y0 + r * (sin(h) - sin(m->h0));
    if (e > ea) *x += m->v * sin(h) * (e - ea), *y += m->v * cos(h) * (e - ea);
}

/* The pair sampled every SAMPLE_S over the look-ahead along their arcs and up to their selected
 * levels (a local tangent plane: at most a few tens of NM across, where it is exact to metres). */
static void eval_sampled(const dc_alerting_t *al, const track_t *a, const track_t *b, double ra,
                         double rb, double cap_a, double cap_b, double now, double r_m, double h_ft,
                         dc_pair_eval_t *ev)
{
    mover_t ma, mb;
    double lat0 = a->cur.lat_deg, lon0 = a->cur.lon_deg;
    mover_init(&ma, a, lat0, lon0, ra, al->cfg.turn_max_deg, cap_a);
    mover_init(&mb, b, lat0, lon0, rb, al->cfg.turn_max_deg, cap_b);
    *ev = (dc_pair_eval_t){.dcpa_nm = INFINITY};
    double T = al->minima.lookahead_s;
    for (double t = 0; t <= T + 1e-9; t += SAMPLE_S) {
        double xa, ya, za, xb, yb, zb;
        mover_at(&ma, now + t, &xa, &ya, &za);
        mover_at(&mb, now + t, &xb, &yb, &zb);
        double h = hypot(xa - xb, ya - yb), v = fabs(za - zb);
        if (t == 0) ev->hsep_nm = h / M_PER_NM, ev->vsep_ft = v;
        if (h / M_PER_NM < ev->dcpa_nm) ev->dcpa_nm = h / M_PER_NM, ev->tcpa_s = t, ev->vcpa_ft = v;
        if (h < r_m && v < h_ft) {
            if (!ev->conflict) ev->tin_s = t, ev->los_now = t == 0;
            ev->conflict = true;
            ev->tout_s = t;
        }
    }
}

/* The level t is predicted to stop at: its selected altitude, when it climbs or descends toward
 * it; NAN otherwise. */
static double level_off(const dc_alerting_t *al, const track_t *t)
{
    double sel = t->selected_ft, vs = t->cur.vs_fpm;
    if (!al->cfg.use_selected_alt || isnan(sel) || fabs(vs) < al->cfg.level_vs_fpm) return NAN;
    return (sel - t->cur.alt_ft) * vs > 0 ? sel : NAN;
}

/* The pair judged at now under the filters; false when either aircraft is unknown. */
static bool evaluate(const dc_alerting_t *al, const track_t *a, const track_t *b, double now,
                     dc_pair_eval_t *ev, bool *turning)
{
    dc_tactical_config_t m = al->minima;
    if (al->rule && !al->rule(al->rule_ctx, &a->cur, &b->cur, &m)) return false;
    if (al->cfg.quantisation) m.vtol_ft += a->step_ft + b->step_ft;
    double ra = al->cfg.turn_prediction ? turn_rate_dps(a) : 0;
    double rb = al->cfg.turn_prediction ? turn_rate_dps(b) : 0;
    if (fabs(ra) < al->cfg.turn_min_dps) ra = 0;
    if (fabs(rb) < al->cfg.turn_min_dps) rb = 0;
    *turning = ra != 0 || rb != 0;
    double cap_a = level_off(al, a), cap_b = level_off(al, b);
    if (*turning || !isnan(cap_a) || !isnan(cap_b))
        eval_sampled(al, a, b, ra, rb, cap_a, cap_b, now, m.rpz_nm * M_PER_NM - m.htol_m,
                     m.hpz_ft - m.vtol_ft, ev);
    else if (dc_tactical_pair(&a->cur, &b->cur, now, &m, ev) != DC_OK)
        return false;
    bool level =
        fabs(a->cur.vs_fpm) < al->cfg.level_vs_fpm && fabs(b->cur.vs_fpm) < al->cfg.level_vs_fpm;
    /* Level and apart as reported (not as extrapolated: a rate that drifts while level is what
     * this filter ignores). */
    if (al->cfg.level_filter && level &&
        fabs(a->cur.alt_ft - b->cur.alt_ft) >= m.hpz_ft - m.vtol_ft)
        ev->conflict = ev->los_now = false;
    return true;
}

/* ---- the pairs ---- */

static int cmp_ids(const char *a1, const char *a2, const char *b1, const char *b2)
{
    int r = strcmp(a1, b1);
    return r ? r : strcmp(a2, b2);
}

/* Persistence: predicted in m of the last n updates, the first and last of them far enough
 * apart. */
static bool confirmed(const dc_alerting_t *al, const pair_t *p)
{
    unsigned n = p->n_upd < al->cfg.confirm_n ? p->n_upd : al->cfg.confirm_n, hits = 0;
    double first = INFINITY, last = -INFINITY;
    for (unsigned i = p->n_upd - n; i < p->n_upd; i++)
        if (p->upd_pred[i]) {
            hits++;
            first = fmin(first, p->upd_s[i]), last = fmax(last, p->upd_s[i]);
        }
    return hits >= al->cfg.confirm_m && last - first >= al->cfg.confirm_min_s;
}

static void remember_update(pair_t *p, double t, bool pred)
{
    if (p->n_upd == HISTORY_MAX) {
        memmove(p->upd_s, p->upd_s + 1, (HISTORY_MAX - 1) * sizeof(double));
        memmove(p->upd_pred, p->upd_pred + 1, (HISTORY_MAX - 1) * sizeof(bool));
        p->n_upd--;
    }
    p->upd_s[p->n_upd] = t, p->upd_pred[p->n_upd] = pred;
    p->n_upd++;
}

/* Judges p at now; c is its candidate prediction from the engine, or NULL when the pair was not
 * a candidate (nothing predicted). */
static void judge(dc_alerting_t *al, pair_t *p, bool candidate, double now)
{
    const track_t *a = track_of(al, p->view.id1), *b = track_of(al, p->view.id2);
    dc_pair_eval_t ev = {0};
    bool turning = false, known = a && b;
    if (!(candidate && known && evaluate(al, a, b, now, &ev, &turning))) ev.conflict = false;
    bool warn_pred = ev.conflict && ev.tin_s <= al->cfg.warning_s;
    if (known) {
        double newest = fmax(a->cur.t_s, b->cur.t_s);
        if (newest > p->last_report_s) {
            remember_update(p, newest, warn_pred);
            p->last_report_s = newest;
        }
    }
    bool conf = confirmed(al, p);
    dc_alert_level_t was = p->view.level;
    if (ev.los_now) p->last_loss_s = now;
    if (warn_pred && (conf || was >= DC_ALERT_WARNING)) p->last_warn_s = now;
    if (ev.conflict) p->last_adv_s = now;
    double hold = al->cfg.hold_s;
    dc_alert_level_t level = now - p->last_loss_s <= hold   ? DC_ALERT_LOSS
                             : now - p->last_warn_s <= hold ? DC_ALERT_WARNING
                             : now - p->last_adv_s <= hold  ? DC_ALERT_ADVISORY
                                                            : DC_ALERT_NONE;
    if (was == DC_ALERT_NONE && level != DC_ALERT_NONE) p->view.since_s = now;
    p->view.previous = was;
    p->view.level = level;
    p->view.predicted = ev.conflict;
    p->view.confirmed = conf;
    p->view.turning = turning;
    p->view.evaluated = candidate && known;
    p->view.eval = ev;
}

/* A pair is followed while it is alerted, just came down, or has a prediction in its
 * persistence window. */
static bool worth_keeping(const dc_alerting_t *al, const pair_t *p)
{
    if (p->view.level != DC_ALERT_NONE || p->view.previous != DC_ALERT_NONE) return true;
    unsigned n = p->n_upd < al->cfg.confirm_n ? p->n_upd : al->cfg.confirm_n;
    for (unsigned i = p->n_upd - n; i < p->n_upd; i++)
        if (p->upd_pred[i]) return true;
    return false;
}

static void new_pair(pair_t *p, const dc_conflict_t *c)
{
    memset(p, 0, sizeof(*p));
    memcpy(p->view.id1, c->id1, DC_TRACK_ID_MAX);
    memcpy(p->view.id2, c->id2, DC_TRACK_ID_MAX);
    p->last_loss_s = p->last_warn_s = p->last_adv_s = -INFINITY;
    p->last_report_s = -INFINITY;
}

void dc_alerting_set_rule(dc_alerting_t *al, dc_alerting_rule_fn rule, void *ctx)
{
    al->rule = rule, al->rule_ctx = ctx;
}

dc_err_t dc_alerting_restore(dc_alerting_t *al, const char *id1, const char *id2,
                             dc_alert_level_t level, double since_s, double now_s)
{
    if (strcmp(id1, id2) >= 0 || strlen(id1) >= DC_TRACK_ID_MAX || strlen(id2) >= DC_TRACK_ID_MAX ||
        level < DC_ALERT_ADVISORY || level > DC_ALERT_LOSS)
        return DC_ERR_INVALID;
    size_t lo = 0, hi = al->n_pairs;
    while (lo < hi) { /* where it goes in the sorted pairs */
        size_t mid = (lo + hi) / 2;
        int c = cmp_ids(al->pairs[mid].view.id1, al->pairs[mid].view.id2, id1, id2);
        if (c == 0) {
            lo = mid;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found =
        lo < al->n_pairs && cmp_ids(al->pairs[lo].view.id1, al->pairs[lo].view.id2, id1, id2) == 0;
    if (!found) {
        if (!dc_array_grow((void **)&al->pairs, &al->cap_pairs, al->n_pairs + 1, sizeof(pair_t)))
            return DC_ERR_NOMEM;
        memmove(&al->pairs[lo + 1], &al->pairs[lo], (al->n_pairs - lo) * sizeof(pair_t));
        al->n_pairs++;
        pair_t *p = &al->pairs[lo];
        memset(p, 0, sizeof(*p));
        snprintf(p->view.id1, DC_TRACK_ID_MAX, "%s", id1);
        snprintf(p->view.id2, DC_TRACK_ID_MAX, "%s", id2);
        p->last_loss_s = p->last_warn_s = p->last_adv_s = p->last_report_s = -INFINITY;
    }
    pair_t *p = &al->pairs[lo];
    if (level >= DC_ALERT_LOSS) p->last_loss_s = now_s;
    if (level >= DC_ALERT_WARNING) p->last_warn_s = now_s;
    p->last_adv_s = now_s;
    if (level > p->view.level) p->view.level = level;
    if (!found) p->view.since_s = since_s;
    return DC_OK;
}

dc_err_t dc_alerting_pass(dc_alerting_t *al, const dc_tactical_snapshot_t *snap)
{
    double now = snap->now_s;
    if (!(now >= al->last_now_s)) return DC_ERR_INVALID;
    size_t nc = snap->n_conflicts, most = al->n_pairs + nc;
    if (!dc_array_grow((void **)&al->next, &al->cap_next, most, sizeof(pair_t)) ||
        !dc_array_grow((void **)&al->out, &al->cap_out, most, sizeof(dc_alert_t)))
        return DC_ERR_NOMEM;
    al->last_now_s = now;
    size_t i = 0, j = 0, k = 0;
    al->n_out = 0;
    while (i < al->n_pairs || j < nc) {
        pair_t *p = i < al->n_pairs ? &al->pairs[i] : NULL;
        const dc_conflict_t *c = j < nc ? &snap->conflicts[j] : NULL;
        int cmp = !p ? 1 : !c ? -1 : cmp_ids(p->view.id1, p->view.id2, c->id1, c->id2);
        pair_t *q = &al->next[k];
        if (cmp <= 0) {
            *q = *p;
            judge(al, q, cmp == 0, now);
            i++, j += cmp == 0;
        } else {
            new_pair(q, c);
            judge(al, q, true, now);
            j++;
        }
        if (q->view.level != DC_ALERT_NONE || q->view.previous != DC_ALERT_NONE)
            al->out[al->n_out++] = q->view;
        if (worth_keeping(al, q)) k++;
    }
    pair_t *t = al->pairs;
    size_t tc = al->cap_pairs;
    al->pairs = al->next, al->cap_pairs = al->cap_next;
    al->next = t, al->cap_next = tc;
    al->n_pairs = k;
    return DC_OK;
}

size_t dc_alerting_count(const dc_alerting_t *al)
{
    return al->n_out;
}

const dc_alert_t *dc_alerting_get(const dc_alerting_t *al, size_t i)
{
    return i < al->n_out ? &al->out[i] : NULL;
}
