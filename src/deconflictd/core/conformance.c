/* Conformance: see conformance.h. */
#include "core/conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agreements.h"
#include "core/ids.h"
#include "core/operations.h"
#include "core/tracks.h"

#define HITS_MAX     32  /* operations one probe reports */
#define ENTRY_STEP_S 5.0 /* a predicted entry is timed to this */
#define KEYS_MAX     (2 * HITS_MAX + 2)
#define M_PER_DEG    (6371008.8 * 3.14159265358979323846 / 180.0) /* the corridor's width */

typedef struct hit {
    const dd_op_t *op;
    char ref[DD_ID_MAX];
} hit_t;

/* The operations in force (not ended or cancelled) whose volumes meet probe volume v (at most
 * max). */
static size_t probe_volume(dd_service_t *svc, dc_volume4d_t *v, hit_t *hits, size_t max)
{
    /* Barometric taken as W84 height: the engine's stated assumption. */
    v->alt_lower_ref = v->alt_upper_ref = DC_ALT_REF_W84;
    dc_operation_t op = {
        .id = "probe", .party = "probe", .state = DC_OP_ACTIVE, .volumes = v, .n_volumes = 1};
    dc_strategic_result_t res;
    if (dc_strategic_check(svc->strategic, &op, &res) != DC_OK) return 0;
    size_t n = 0;
    for (size_t i = 0; i < res.n_conflicts && n < max; i++) {
        const dd_op_t *o = dd_operation_by_ref(svc, res.conflicts[i].other_ref);
        if (!o || o->state == DC_OP_ENDED || o->state == DC_OP_CANCELLED) continue;
        hits[n].op = o;
        snprintf(hits[n].ref, sizeof(hits[n].ref), "%s", res.conflicts[i].other_ref);
        n++;
    }
    dc_strategic_result_clear(&res);
    return n;
}

/* The operations whose volumes contain track t at now + dt: a 1 m circle x 1 m band x 1 s, at
 * its report (dt 0) or where it is predicted then. */
static size_t probe(dd_service_t *svc, const dd_track_t *t, double now, double dt, hit_t *hits,
                    size_t max)
{
    dc_volume4d_t v = {0};
    double alt_ft = t->st.alt_ft;
    v.kind = DC_FOOTPRINT_CIRCLE;
    v.center.lat_deg = t->st.lat_deg, v.center.lon_deg = t->st.lon_deg;
    if (dt > 0) dc_track_state_at(&t->st, now + dt, &v.center.lat_deg, &v.center.lon_deg, &alt_ft);
    v.radius_m = 1;
    v.alt_lower_m = alt_ft * 0.3048 - 0.5, v.alt_upper_m = alt_ft * 0.3048 + 0.5;
    v.t_start_s = now + dt, v.t_end_s = now + dt + 1;
    return probe_volume(svc, &v, hits, max);
}

/* The operations track t's straight path over the look-ahead may enter: a 2 m wide corridor from
 * where it is now to where it will be, its altitudes and times between (a first filter; the entry
 * is then timed by point probes). */
static size_t probe_path(dd_service_t *svc, const dd_track_t *t, double now, double T, hit_t *hits,
                         size_t max)
{
    double la0 = t->st.lat_deg, lo0 = t->st.lon_deg, a0 = t->st.alt_ft, la1, lo1, a1;
    dc_track_state_at(&t->st, now + T, &la1, &lo1, &a1);
    double h = t->st.trk_deg * M_PI / 180, k = cos(t->st.lat_deg * M_PI / 180);
    double dla = -sin(h) * 1.0 / M_PER_DEG, dlo = cos(h) * 1.0 / (M_PER_DEG * k); /* 1 m across */
    dc_latlon_t c[4] = {{la0 + dla, lo0 + dlo},
                        {la1 + dla, lo1 + dlo},
                        {la1 - dla, lo1 - dlo},
                        {la0 - dla, lo0 - dlo}};
    dc_volume4d_t v = {0};
    v.kind = DC_FOOTPRINT_POLYGON;
    v.vertices = c, v.n_vertices = 4;
    v.alt_lower_m = fmin(a0, a1) * 0.3048 - 0.5, v.alt_upper_m = fmax(a0, a1) * 0.3048 + 0.5;
    v.t_start_s = now, v.t_end_s = now + T;
    return probe_volume(svc, &v, hits, max);
}

/* When track t is first predicted inside each of the n operations of ops, in seconds from now,
 * timed to ENTRY_STEP_S within the look-ahead T, into tte[] (INFINITY: not within it); one point
 * probe per step serves them all. */
static void times_to_entry(dd_service_t *svc, const dd_track_t *t, const hit_t *ops, size_t n,
                           double now, double T, double *tte)
{
    size_t left = n;
    for (size_t i = 0; i < n; i++) tte[i] = INFINITY;
    for (double dt = ENTRY_STEP_S; dt <= T && left; dt += ENTRY_STEP_S) {
        hit_t hits[HITS_MAX];
        size_t nh = probe(svc, t, now, dt, hits, HITS_MAX);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < nh && isinf(tte[i]); k++)
                if (hits[k].op == ops[i].op) tte[i] = dt, left--;
    }
}

static dd_conf_entry_t *entry_of(dd_track_t *t, const char *key)
{
    for (size_t i = 0; i < t->n_conf; i++)
        if (strcmp(t->conf[i].key, key) == 0) return &t->conf[i];
    return NULL;
}

static bool add_entry(dd_track_t *t, const char *key, const char *cid)
{
    if (t->n_conf == t->cap_conf) {
        size_t cap = t->cap_conf ? 2 * t->cap_conf : 2;
        dd_conf_entry_t *e = realloc(t->conf, cap * sizeof(*e));
        if (!e) return false;
        t->conf = e, t->cap_conf = cap;
    }
    dd_conf_entry_t *e = &t->conf[t->n_conf++];
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->cid, sizeof(e->cid), "%s", cid);
    return true;
}

/* Opens conflict c (new, its sides filled) for track t under key. */
static void open_for(dd_service_t *svc, dd_track_t *t, const char *key, dd_conflict_t *c,
                     double now)
{
    c->side[0].party = t->party;
    snprintf(c->side[0].track, sizeof(c->side[0].track), "%s", dd_track_own_id(t));
    if (c->side[1].party) {
        c->side[1].sees_aircraft = true;
        c->side[1].aircraft = t->st;
    }
    if (dd_conflict_write(svc, c, DD_CF_NEW, 0, 0, now) != DC_OK) {
        fprintf(stderr, "deconflictd: conflict %s could not be written: %s\n", c->id,
                dc_store_last_error(svc->store));
        dd_conflict_free(c);
        return;
    }
    if (!add_entry(t, key, c->id))
        fprintf(stderr, "deconflictd: conflict %s: out of memory to follow it\n", c->id);
}

static dd_conflict_t *new_conflict(dd_cf_kind_t kind)
{
    char cid[40];
    dd_random_id("cf_", cid, sizeof(cid));
    return dd_conflict_new(kind, cid);
}

/* An intrusion's level: "inside" now, or predicted to enter within warning_s ("warning") or
 * within the look-ahead ("advisory"). */
static const char *entry_level(const dd_service_t *svc, double tte)
{
    return tte <= 0 ? "inside" : tte <= svc->cfg.warning_s ? "warning" : "advisory";
}

/* Track t's intrusion into hit's operation at level (tte s before it enters): opened when new,
 * written again when its level changed. */
static void intrude(dd_service_t *svc, dd_track_t *t, const hit_t *hit, double tte, double now)
{
    const dd_op_t *op = hit->op;
    const char *level = entry_level(svc, tte);
    dd_conf_entry_t *e = entry_of(t, op->id);
    if (e) {
        dd_conflict_t *c = dd_conflict_open(svc, e->cid);
        if (!c || (c->level && strcmp(c->level, level) == 0)) return;
        c->level = level, c->eval.tin_s = tte;
        if (c->side[1].sees_aircraft) c->side[1].aircraft = t->st;
        if (dd_conflict_write(svc, c, DD_CF_UPDATE, 0, 0, now) != DC_OK)
            fprintf(stderr, "deconflictd: conflict %s could not be written: %s\n", c->id,
                    dc_store_last_error(svc->store));
        return;
    }
    dd_conflict_t *c = new_conflict(DD_CF_INTRUSION);
    if (!c) return;
    c->level = level, c->eval.tin_s = tte;
    snprintf(c->side[0].other_ref, sizeof(c->side[0].other_ref), "%s", hit->ref);
    c->side[1].party = op->party;
    snprintf(c->side[1].operation, sizeof(c->side[1].operation), "%s", op->id);
    open_for(svc, t, op->id, c, now);
}

/* What track t is in now or is predicted to enter within the look-ahead, as keys (at most
 * KEYS_MAX), opening what is new. */
static size_t check_now(dd_service_t *svc, dd_track_t *t, double now, char keys[][DD_ID_MAX + 8])
{
    /* One query for most tracks: the corridor of the path over the look-ahead, which starts at
     * the report; only when it meets an operation (or the track names its own) is the report
     * itself probed, and an entry timed. A track that does not move is probed where it is. */
    double T = svc->tactical_cfg.lookahead_s;
    bool moves = t->st.gs_kt > 1 || fabs(t->st.vs_fpm) > 100;
    hit_t hits[HITS_MAX], path[HITS_MAX];
    size_t n_path = moves ? probe_path(svc, t, now, T, path, HITS_MAX) : 0, n = 0;
    size_t n_hits = !moves || n_path || t->operation[0] ? probe(svc, t, now, 0, hits, HITS_MAX) : 0;
    for (size_t i = 0; i < n_hits; i++) {
        if (hits[i].op->party == t->party) continue;
        snprintf(keys[n++], DD_ID_MAX + 8, "%s", hits[i].op->id);
        intrude(svc, t, &hits[i], 0, now);
    }
    /* Predicted: another party's operation its straight path enters within the look-ahead. */
    hit_t ahead[HITS_MAX];
    double tte[HITS_MAX];
    size_t n_ahead = 0;
    for (size_t i = 0; i < n_path; i++) {
        bool inside = false;
        for (size_t k = 0; k < n_hits && !inside; k++) inside = hits[k].op == path[i].op;
        if (!inside && path[i].op->party != t->party) ahead[n_ahead++] = path[i];
    }
    times_to_entry(svc, t, ahead, n_ahead, now, T, tte);
    for (size_t i = 0; i < n_ahead; i++) {
        if (!isfinite(tte[i])) continue;
        snprintf(keys[n++], DD_ID_MAX + 8, "%s", ahead[i].op->id);
        intrude(svc, t, &ahead[i], tte[i], now);
    }
    /* Nonconformance: a named own operation that is active and does not contain the track. */
    const dd_op_t *own = t->operation[0] ? dd_operation(svc, t->operation) : NULL;
    bool inside = false;
    for (size_t i = 0; own && i < n_hits; i++) inside |= hits[i].op == own;
    if (own && own->state == DC_OP_ACTIVE && !inside) {
        snprintf(keys[n], DD_ID_MAX + 8, "own:%s", own->id);
        dd_conflict_t *c = entry_of(t, keys[n]) ? NULL : new_conflict(DD_CF_NONCONFORMING);
        if (c) {
            snprintf(c->side[0].operation, sizeof(c->side[0].operation), "%s", own->id);
            open_for(svc, t, keys[n], c, now);
        }
        n++;
    }
    /* Agreements: the track on ground an active agreement gives another party. */
    const char *agr = NULL;
    int64_t q =
        dd_agreement_violated(svc, t->party, t->st.lat_deg, t->st.lon_deg, t->st.alt_ft, now, &agr);
    if (q) {
        snprintf(keys[n], DD_ID_MAX + 8, "agr:%s", agr);
        dd_conflict_t *c = entry_of(t, keys[n]) ? NULL : new_conflict(DD_CF_AGREEMENT);
        if (c) {
            snprintf(c->agreement, sizeof(c->agreement), "%s", agr);
            c->side[1].party = q;
            open_for(svc, t, keys[n], c, now);
        }
        n++;
    }
    return n;
}

static void check_track(dd_service_t *svc, dd_track_t *t, double now)
{
    char keys[KEYS_MAX][DD_ID_MAX + 8];
    size_t n = check_now(svc, t, now, keys);
    /* What the track is no longer in: resolved, the aircraft shown as it is now. */
    for (size_t i = 0; i < t->n_conf;) {
        bool still = false;
        for (size_t k = 0; k < n && !still; k++) still = strcmp(keys[k], t->conf[i].key) == 0;
        if (still) {
            i++;
            continue;
        }
        dd_conflict_t *c = dd_conflict_open(svc, t->conf[i].cid);
        if (c) {
            for (int k = 0; k < 2; k++)
                if (c->side[k].sees_aircraft) c->side[k].aircraft = t->st;
            if (dd_conflict_write(svc, c, DD_CF_RESOLVED, 0, 0, now) != DC_OK) {
                i++; /* tried again next round */
                continue;
            }
        }
        t->conf[i] = t->conf[--t->n_conf];
    }
}

void dd_conformance_slice(dd_service_t *svc, double now)
{
    size_t total = svc->n_tracks;
    if (!total) return;
    size_t slice = (size_t)ceil(total * svc->cfg.period_s / svc->cfg.conformance_s);
    size_t at = svc->conformance_next < total ? svc->conformance_next : 0;
    for (size_t k = 0; k < slice && k < total; k++) {
        dd_track_t *t = svc->track_list[at];
        if (now - t->st.t_s <= svc->tactical_cfg.stale_s) check_track(svc, t, now);
        at = (at + 1) % total;
    }
    svc->conformance_next = at;
}

void dd_conformance_restore(dd_service_t *svc, const dd_conflict_t *c)
{
    char key[DD_ID_MAX + 8];
    if (c->kind == DD_CF_INTRUSION && c->side[1].operation[0])
        snprintf(key, sizeof(key), "%s", c->side[1].operation);
    else if (c->kind == DD_CF_NONCONFORMING && c->side[0].operation[0])
        snprintf(key, sizeof(key), "own:%s", c->side[0].operation);
    else if (c->kind == DD_CF_AGREEMENT && c->side[0].track[0])
        snprintf(key, sizeof(key), "agr:%s", c->agreement);
    else
        return;
    char id[DC_TRACK_ID_MAX];
    dd_track_t *t = dd_engine_id(c->side[0].party, c->side[0].track, id) ? dd_track(svc, id) : NULL;
    if (t && !entry_of(t, key)) add_entry(t, key, c->id);
}
