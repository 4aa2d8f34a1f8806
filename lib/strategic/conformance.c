/* Conformance of a live track to filed operations: see include/deconflict/conformance.h. */
#include "deconflict/conformance.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define M_PER_DEG (6371008.8 * 3.14159265358979323846 / 180.0) /* the corridor's width */
#define HITS_MAX  32                                           /* operations one probe reports */

dc_entry_level_t dc_entry_level(double tte_s, double warning_s)
{
    return tte_s <= 0 ? DC_ENTRY_INSIDE : tte_s <= warning_s ? DC_ENTRY_WARNING : DC_ENTRY_ADVISORY;
}

const char *dc_entry_level_name(dc_entry_level_t level)
{
    static const char *const names[] = {"advisory", "warning", "inside"};
    return (unsigned)level < 3 ? names[level] : "advisory";
}

typedef struct hits {
    dc_op_entry_t e[HITS_MAX];
    size_t n;
} hits_t;

/* The operations whose volumes meet probe volume v, into h (tte_s 0). */
static dc_err_t probe_volume(dc_strategic_t *eng, const char *party, dc_volume4d_t *v, hits_t *h)
{
    /* Barometric taken as W84 height: the engine's stated assumption. */
    v->alt_lower_ref = v->alt_upper_ref = DC_ALT_REF_W84;
    dc_operation_t op = {.state = DC_OP_ACTIVE, .volumes = v, .n_volumes = 1};
    snprintf(op.id, sizeof(op.id), "conformance probe");
    snprintf(op.party, sizeof(op.party), "%s", party && party[0] ? party : "-");
    dc_strategic_result_t res;
    h->n = 0;
    dc_err_t rc = dc_strategic_check(eng, &op, &res);
    if (rc != DC_OK) return rc;
    for (size_t i = 0; i < res.n_conflicts && h->n < HITS_MAX; i++) {
        bool seen = false; /* one entry per operation, whichever of our volumes met it */
        for (size_t k = 0; k < h->n && !seen; k++)
            seen = strcmp(h->e[k].ref, res.conflicts[i].other_ref) == 0;
        if (seen) continue;
        dc_op_entry_t *e = &h->e[h->n++];
        snprintf(e->ref, sizeof(e->ref), "%s", res.conflicts[i].other_ref);
        snprintf(e->party, sizeof(e->party), "%s", res.conflicts[i].other_party);
        e->tte_s = 0;
    }
    dc_strategic_result_clear(&res);
    return DC_OK;
}

/* Where st is at now_s + dt_s: a 1 m circle x 1 m band x 1 s; or, for a track that hardly moves
 * (dur_s the look-ahead), its report widened by how far it drifts in that time x dur_s. */
static dc_err_t probe_point(dc_strategic_t *eng, const char *party, const dc_track_state_t *st,
                            double now_s, double dt_s, double dur_s, hits_t *h)
{
    dc_volume4d_t v = {0};
    double alt_ft = st->alt_ft;
    v.kind = DC_FOOTPRINT_CIRCLE;
    v.center.lat_deg = st->lat_deg, v.center.lon_deg = st->lon_deg;
    if (dt_s > 0)
        dc_track_state_at(st, now_s + dt_s, &v.center.lat_deg, &v.center.lon_deg, &alt_ft);
    double drift_s = dur_s > 1 ? now_s + dur_s - st->t_s : 0;
    double drift_ft = fabs(st->vs_fpm) / 60 * drift_s;
    v.radius_m = 1 + st->gs_kt * 1852.0 / 3600.0 * drift_s;
    v.alt_lower_m = (alt_ft - drift_ft) * 0.3048 - 0.5;
    v.alt_upper_m = (alt_ft + drift_ft) * 0.3048 + 0.5;
    h->n = 0;
    if (drift_s > 0) { /* a candidate filter may take in more */
        v.alt_lower_m = fmax(v.alt_lower_m, DC_STRATEGIC_ALT_MIN_M);
        v.alt_upper_m = fmin(v.alt_upper_m, DC_STRATEGIC_ALT_MAX_M);
    }
    if (v.alt_lower_m < DC_STRATEGIC_ALT_MIN_M || v.alt_upper_m > DC_STRATEGIC_ALT_MAX_M ||
        v.alt_upper_m - v.alt_lower_m < 0.5)
        return DC_OK; /* predicted beyond any operation's band (below ground, say) */
    v.t_start_s = now_s + dt_s, v.t_end_s = now_s + dt_s + dur_s;
    return probe_volume(eng, party, &v, h);
}

/* The corridor of st's path from now_s to now_s + T, a candidate filter: 1 m either side, from
 * 1 m behind the report to 1 m beyond where the track will be (never degenerate, even for a
 * track that only climbs). The property test (tests/unit/strategic/test_conformance.c) finds
 * no entry it misses, at 47 N over 120 s and at 70 N over 900 s. */
static dc_err_t probe_path(dc_strategic_t *eng, const char *party, const dc_track_state_t *st,
                           double now_s, double T, hits_t *h)
{
    /* From the report itself, which the probe at now_s tests too. */
    double la0 = st->lat_deg, lo0 = st->lon_deg, a0 = st->alt_ft, la1, lo1, a1;
    dc_track_state_at(st, now_s + T, &la1, &lo1, &a1);
    double hdg = st->trk_deg * M_PI / 180, k = fmax(cos(st->lat_deg * M_PI / 180), 1e-6);
    double ula = cos(hdg) / M_PER_DEG, ulo = sin(hdg) / (M_PER_DEG * k); /* 1 m along */
    double vla = -ulo * k, vlo = ula / k;                                /* 1 m across */
    dc_latlon_t c[4] = {{la0 - ula + vla, lo0 - ulo + vlo},
                        {la1 + ula + vla, lo1 + ulo + vlo},
                        {la1 + ula - vla, lo1 + ulo - vlo},
                        {la0 - ula - vla, lo0 - ulo - vlo}};
    dc_volume4d_t v = {0};
    v.kind = DC_FOOTPRINT_POLYGON;
    v.vertices = c, v.n_vertices = 4;
    /* The band clamped to what operations may have: a candidate filter may take in more. */
    v.alt_lower_m = fmax(fmin(a0, a1) * 0.3048 - 0.5, DC_STRATEGIC_ALT_MIN_M);
    v.alt_upper_m = fmin(fmax(a0, a1) * 0.3048 + 0.5, DC_STRATEGIC_ALT_MAX_M);
    if (v.alt_upper_m - v.alt_lower_m < 0.5) return DC_OK; /* wholly beyond any band */
    v.t_start_s = now_s, v.t_end_s = now_s + T;
    return probe_volume(eng, party, &v, h);
}

static bool has(const hits_t *h, const char *ref)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->e[i].ref, ref) == 0) return true;
    return false;
}

dc_err_t dc_conformance_entries(dc_strategic_t *eng, const dc_track_state_t *st, const char *party,
                                double now_s, double lookahead_s, double step_s, bool probe_now,
                                dc_op_entry_t *out, size_t max, size_t *n)
{
    *n = 0;
    const char *field;
    if (!eng || !st || dc_track_state_validate(st, &field) != DC_OK || !isfinite(now_s) ||
        !(lookahead_s > 0 && lookahead_s <= 3600) || !(step_s > 0 && step_s <= lookahead_s))
        return DC_ERR_INVALID;
    /* One query for most tracks: the corridor over the look-ahead, which starts at the report;
     * only when it meets an operation is the report probed and each entry timed. A track that
     * does not move (under 1 kt and 100 fpm) has for corridor the point it is at over the whole
     * look-ahead: an operation about to start around it is entered too. */
    bool moves = st->gs_kt > 1 || fabs(st->vs_fpm) > 100;
    hits_t path, now, at; /* not cleared: only their first n are read */
    path.n = now.n = 0;
    dc_err_t rc = moves ? probe_path(eng, party, st, now_s, lookahead_s, &path)
                        : probe_point(eng, party, st, now_s, 0, lookahead_s + 1, &path);
    if (rc == DC_ERR_INVALID || rc == DC_ERR_LIMIT) {
        /* A corridor the engine cannot take (longer than a footprint may be, or over a pole):
         * the candidates are then what a point probe finds at any step, the slow way, so that
         * nothing is missed. */
        path.n = 0;
        for (double dt = 0; dt <= lookahead_s + 1e-9; dt += step_s) {
            if ((rc = probe_point(eng, party, st, now_s, dt, 1, &at)) != DC_OK) break;
            for (size_t i = 0; i < at.n && path.n < HITS_MAX; i++)
                if (!has(&path, at.e[i].ref)) path.e[path.n++] = at.e[i];
        }
    }
    if (rc == DC_OK && (path.n || probe_now)) rc = probe_point(eng, party, st, now_s, 0, 1, &now);
    for (size_t i = 0; rc == DC_OK && i < now.n && *n < max; i++) out[(*n)++] = now.e[i];
    /* Predicted: what the corridor met that the track is not inside yet, timed by one point
     * probe per step for them all. */
    size_t left = 0;
    for (size_t i = 0; i < path.n; i++) {
        path.e[i].tte_s = has(&now, path.e[i].ref) ? 0 : INFINITY;
        left += isinf(path.e[i].tte_s);
    }
    for (double dt = step_s; rc == DC_OK && left && dt <= lookahead_s + 1e-9; dt += step_s) {
        rc = probe_point(eng, party, st, now_s, dt, 1, &at);
        for (size_t i = 0; rc == DC_OK && i < path.n; i++)
            if (isinf(path.e[i].tte_s) && has(&at, path.e[i].ref)) path.e[i].tte_s = dt, left--;
    }
    for (size_t i = 0; rc == DC_OK && i < path.n && *n < max; i++)
        if (path.e[i].tte_s > 0 && isfinite(path.e[i].tte_s)) out[(*n)++] = path.e[i];
    return rc;
}
