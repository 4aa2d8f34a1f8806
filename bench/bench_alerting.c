/* deconflict-bench alerting: what graded alerting (deconflict/alerting.h) tells a duty officer,
 * in the figures a safety reviewer asks for.
 *
 * The real Swiss day (../shared/data/traffic) is replayed as `deconflict replay` does, alone and
 * with 30 synthetic encounters injected at half-hour intervals over Switzerland: 15 real
 * conflicts (head-on, crossing, overtaking, climbs and descents through an occupied level,
 * turns onto a conflict) and 15 known-safe ones (adjacent levels read 950 ft apart, level-offs
 * 1,000 ft below or above, parallel and offset tracks, a turn away). Each injected aircraft is
 * flown second by second and reported every 10 s as ADS-B reports it (altitude in 25 ft steps,
 * vertical rate in 64 fpm steps); the truth -- when separation is really lost, or that it never
 * is -- comes from the flown paths, not from the engine.
 *
 * Printed for the defaults and with each filter off in turn (what each filter costs or buys):
 * warnings per hour on the real traffic, injected conflicts warned before the loss began, the
 * warning time's median and minimum, safe encounters warned.
 *
 *   deconflict-bench alerting [--data CSV] [--step-s S] [--verbose] */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/alerting.h"
#include "deconflict/encounters.h"
#include "deconflict/trackcsv.h"

#define EARTH_R_M 6371008.8
#define M_PER_NM  1852.0
#define N_ENC     30
#define BEFORE_S  300 /* each encounter is flown from 300 s before its closest approach ... */
#define AFTER_S   150 /* ... to 150 s after */
#define N_SAMPLES (BEFORE_S + AFTER_S + 1)

static const double DEG = 3.14159265358979323846 / 180.0;

/* ---- flying the injected aircraft ---- */

typedef struct flight {
    /* at tc - BEFORE_S: */
    double x0_m, y0_m, hdg0_deg, gs_kt;
    double alt0_ft, vs_fpm;
    double level_ft;      /* the climb or descent stops here (NAN: none) */
    double slow_fpm;      /* the rate over the last 1000 ft before level_ft (0: no change) */
    double turn_at_s;     /* relative to tc */
    double turn_rate_dps; /* 0: straight */
    double turn_s;
    double reading_ft; /* the altimeter's reading error (adjacent levels read 950 ft apart) */
    bool vs_noise;     /* the reported rate wanders +-64 fpm while level */
    /* flown: */
    double x[N_SAMPLES], y[N_SAMPLES], hdg[N_SAMPLES], alt[N_SAMPLES], vs[N_SAMPLES];
} flight_t;

typedef struct encounter {
    const char *name;
    bool conflict; /* what it was built to be; the flown truth is checked */
    flight_t a, b;
    double tc_s, lat0, lon0;
    char ida[8], idb[8];
    /* truth from the flown paths */
    double loss_start_s; /* NAN: never */
    double min_h_nm, v_at_min_ft;
} encounter_t;

static void fly(flight_t *f)
{
    double x = f->x0_m, y = f->y0_m, h = f->hdg0_deg, alt = f->alt0_ft;
    double v = f->gs_kt * M_PER_NM / 3600.0;
    for (int i = 0; i < N_SAMPLES; i++) {
        double t = i - BEFORE_S; /* relative to tc */
        double vs = f->vs_fpm;
        if (!isnan(f->level_ft)) {
            double to_go = f->level_ft - alt;
            if (fabs(to_go) < 1e-6 || (to_go > 0) != (vs > 0))
                vs = 0;
            else if (f->slow_fpm && fabs(to_go) <= 1000)
                vs = copysign(f->slow_fpm, vs);
        }
        f->x[i] = x, f->y[i] = y, f->hdg[i] = fmod(h + 720, 360), f->alt[i] = alt, f->vs[i] = vs;
        /* one second on: the turn in ten steps */
        for (int k = 0; k < 10; k++) {
            double tk = t + k * 0.1;
            double rate = f->turn_rate_dps && tk >= f->turn_at_s && tk < f->turn_at_s + f->turn_s
                              ? f->turn_rate_dps
                              : 0;
            double hm = h + rate * 0.05;
            x += v * sin(hm * DEG) * 0.1, y += v * cos(hm * DEG) * 0.1;
            h += rate * 0.1;
        }
        double next = alt + vs / 60.0;
        if (!isnan(f->level_ft) && vs && (next - f->level_ft) * (alt - f->level_ft) < 0)
            next = f->level_ft;
        alt = next;
    }
}

/* A straight flight through (xc, yc) at tc. */
static void straight(flight_t *f, double xc_nm, double yc_nm, double hdg, double gs_kt,
                     double alt_tc, double vs_fpm)
{
    memset(f, 0, sizeof(*f));
    double v = gs_kt * M_PER_NM / 3600.0;
    f->x0_m = xc_nm * M_PER_NM - v * sin(hdg * DEG) * BEFORE_S;
    f->y0_m = yc_nm * M_PER_NM - v * cos(hdg * DEG) * BEFORE_S;
    f->hdg0_deg = hdg, f->gs_kt = gs_kt;
    f->alt0_ft = alt_tc - vs_fpm / 60.0 * BEFORE_S, f->vs_fpm = vs_fpm;
    f->level_ft = NAN;
}

/* ... climbing or descending from alt0 toward level (no crossing of tc's altitude imposed). */
static void with_level_off(flight_t *f, double alt0, double vs_fpm, double level, double slow_fpm)
{
    f->alt0_ft = alt0, f->vs_fpm = vs_fpm, f->level_ft = level, f->slow_fpm = slow_fpm;
}

/* A flight whose path after a turn is the reference: b is flown first, a then built straight to
 * meet b's position at tc offset by miss_nm across, heading rel_deg from b's final heading. */
static void meet_after_turn(flight_t *a, const flight_t *b, double rel_deg, double miss_nm,
                            double gs_kt, double alt_tc)
{
    double hb = b->hdg[BEFORE_S];
    double xc = b->x[BEFORE_S] / M_PER_NM + miss_nm * cos(hb * DEG);
    double yc = b->y[BEFORE_S] / M_PER_NM - miss_nm * sin(hb * DEG);
    straight(a, xc, yc, fmod(hb + rel_deg + 360, 360), gs_kt, alt_tc, 0);
}

static void build(encounter_t *e, int k)
{
    flight_t *a = &e->a, *b = &e->b;
    e->conflict = k < 15;
    switch (k) {
    /* real conflicts */
    case 0:
        e->name = "head-on, level, FL330";
        straight(a, 0, 0, 90, 450, 33000, 0), straight(b, 0, 0.5, 270, 460, 33000, 0);
        break;
    case 1:
        e->name = "head-on, level, 1.5 NM offset";
        straight(a, 0, 0, 40, 430, 35000, 0), straight(b, 1.2, -0.9, 220, 470, 35000, 0);
        break;
    case 2:
        e->name = "head-on, 500 ft apart";
        straight(a, 0, 0, 10, 440, 37000, 0), straight(b, 0, 0, 190, 450, 37500, 0);
        break;
    case 3:
        e->name = "crossing 90 deg, level";
        straight(a, 0, 0, 0, 450, 31000, 0), straight(b, 1, 0, 90, 420, 31000, 0);
        break;
    case 4:
        e->name = "crossing 45 deg, level";
        straight(a, 0, 0, 120, 440, 34000, 0), straight(b, 0, 0, 165, 450, 34000, 0);
        break;
    case 5:
        e->name = "crossing 135 deg, level";
        straight(a, 0, 0, 300, 460, 36000, 0), straight(b, 0.5, 0.5, 75, 440, 36000, 0);
        break;
    case 6:
        e->name = "overtaking, 1 NM offset";
        straight(a, 0, 0, 60, 320, 30000, 0), straight(b, 0.5, -0.85, 60, 480, 30000, 0);
        break;
    case 7:
        e->name = "overtaking, converging 10 deg";
        straight(a, 0, 0, 200, 330, 32000, 0), straight(b, 0, 0, 210, 470, 32000, 0);
        break;
    case 8:
        e->name = "climb through an occupied level";
        straight(a, 0, 0, 270, 450, 30000, 0), straight(b, 0, 0, 180, 400, 30000, 2000);
        b->level_ft = 34000;
        break;
    case 9:
        e->name = "climb through, crossing 60 deg";
        straight(a, 0, 0, 330, 440, 29000, 0), straight(b, 0, 0.5, 30, 380, 29000, 1500);
        b->level_ft = 33000;
        break;
    case 10:
        e->name = "descent through an occupied level";
        straight(a, 0, 0, 150, 450, 27000, 0), straight(b, 0, 0, 20, 420, 27000, -2500);
        b->level_ft = 20000;
        break;
    case 11:
        e->name = "turn onto a head-on conflict";
        /* b turns right 90 deg at 1.5 deg/s from 150 s before the meeting, then a meets it */
        memset(b, 0, sizeof(*b));
        b->x0_m = -40 * M_PER_NM, b->y0_m = -10 * M_PER_NM, b->hdg0_deg = 0, b->gs_kt = 450;
        b->alt0_ft = 35000, b->level_ft = NAN;
        b->turn_at_s = -150, b->turn_rate_dps = 1.5, b->turn_s = 60;
        fly(b);
        meet_after_turn(a, b, 180, 0.3, 440, 35000);
        break;
    case 12:
        e->name = "turn onto a crossing conflict";
        memset(b, 0, sizeof(*b));
        b->x0_m = 30 * M_PER_NM, b->y0_m = -30 * M_PER_NM, b->hdg0_deg = 315, b->gs_kt = 420;
        b->alt0_ft = 33000, b->level_ft = NAN;
        b->turn_at_s = -120, b->turn_rate_dps = -2.0, b->turn_s = 30;
        fly(b);
        meet_after_turn(a, b, 90, 0, 450, 33000);
        break;
    case 13:
        e->name = "one climbing, one descending, head-on";
        straight(a, 0, 0, 100, 400, 28000, -1500), straight(b, 0, 0.5, 280, 400, 28000, 1500);
        a->level_ft = 20000, b->level_ft = 36000;
        break;
    case 14:
        e->name = "converging 30 deg, level";
        straight(a, 0, 0, 240, 450, 38000, 0), straight(b, 0, 0, 270, 450, 38000, 0);
        break;
    /* known-safe encounters */
    case 15:
        e->name = "head-on at adjacent levels (read 950 ft apart)";
        straight(a, 0, 0, 90, 450, 34000, 0), straight(b, 0, 0, 270, 450, 35000, 0);
        a->reading_ft = 25, b->reading_ft = -25;
        break;
    case 16:
        e->name = "crossing at adjacent levels (read 975 ft apart)";
        straight(a, 0, 0, 0, 440, 36000, 0), straight(b, 0, 0, 90, 450, 37000, 0);
        a->reading_ft = 20;
        break;
    case 17:
        e->name = "head-on at adjacent levels, 64 fpm rate noise";
        straight(a, 0, 0, 45, 450, 32000, 0), straight(b, 0, 0, 225, 450, 33000, 0);
        a->reading_ft = 12, b->reading_ft = -12;
        a->vs_noise = b->vs_noise = true;
        break;
    case 18:
        e->name = "level-off 1000 ft below, 1500 fpm slowing to 500";
        straight(a, 0, 0, 90, 450, 30000, 0), straight(b, 0, 0, 270, 420, 29000, 0);
        with_level_off(b, 25000, 1500, 29000, 500);
        break;
    case 19:
        e->name = "level-off 1000 ft below, 2000 fpm slowing to 1000";
        straight(a, 0, 0, 0, 440, 31000, 0), straight(b, 0, 0, 90, 420, 30000, 0);
        with_level_off(b, 24000, 2000, 30000, 1000);
        break;
    case 20:
        e->name = "level-off 1000 ft above, descending 1500 slowing to 500";
        straight(a, 0, 0, 180, 450, 28000, 0), straight(b, 0, 0, 0, 430, 29000, 0);
        with_level_off(b, 34000, -1500, 29000, 500);
        break;
    case 21:
        e->name = "parallel, same level, 7 NM apart";
        straight(a, 0, 0, 90, 450, 35000, 0), straight(b, 0, 7, 90, 430, 35000, 0);
        break;
    case 22:
        e->name = "head-on, same level, 6.5 NM offset";
        straight(a, 0, 0, 90, 450, 33000, 0), straight(b, 0, 6.5, 270, 450, 33000, 0);
        break;
    case 23:
        e->name = "head-on, same level, 8 NM offset";
        straight(a, 0, 0, 200, 440, 37000, 0),
            straight(b, 8 * cos(200 * DEG), -8 * sin(200 * DEG), 20, 460, 37000, 0);
        break;
    case 24:
        e->name = "crossing, same level, 10 NM behind";
        straight(a, 0, 0, 0, 450, 31000, 0), straight(b, 0, -10, 90, 450, 31000, 0);
        break;
    case 25:
        e->name = "turn away from a head-on course";
        straight(a, 0, 0, 90, 440, 36000, 0), straight(b, 0, 0, 270, 440, 36000, 0);
        b->turn_at_s = -170, b->turn_rate_dps = 2.0, b->turn_s = 45;
        break;
    case 26:
        e->name = "level-off 2000 ft below";
        straight(a, 0, 0, 60, 450, 32000, 0), straight(b, 0, 0, 240, 420, 30000, 0);
        with_level_off(b, 25000, 2000, 30000, 0);
        break;
    case 27:
        e->name = "crossing, 2000 ft apart, both level";
        straight(a, 0, 0, 300, 450, 34000, 0), straight(b, 0, 0, 30, 450, 36000, 0);
        break;
    case 28:
        e->name = "overtaking, 6 NM abeam";
        straight(a, 0, 0, 120, 320, 33000, 0),
            straight(b, 6 * cos(120 * DEG), -6 * sin(120 * DEG), 120, 480, 33000, 0);
        break;
    default:
        e->name = "diverging after a 5.5 NM pass";
        straight(a, 0, 0, 10, 450, 35000, 0), straight(b, 5.5, 0, 150, 450, 35000, 0);
        break;
    }
    fly(a), fly(b);
}

static void to_latlon(const encounter_t *e, double x, double y, double *lat, double *lon)
{
    *lat = e->lat0 + y / EARTH_R_M / DEG;
    *lon = e->lon0 + x / (EARTH_R_M * cos(e->lat0 * DEG)) / DEG;
}

static void truth(encounter_t *e)
{
    e->loss_start_s = NAN, e->min_h_nm = INFINITY;
    for (int i = 0; i < N_SAMPLES; i++) {
        double h = hypot(e->a.x[i] - e->b.x[i], e->a.y[i] - e->b.y[i]) / M_PER_NM;
        double v = fabs(e->a.alt[i] - e->b.alt[i]);
        if (h < e->min_h_nm) e->min_h_nm = h, e->v_at_min_ft = v;
        if (h < 5 && v < 1000 && isnan(e->loss_start_s)) e->loss_start_s = e->tc_s + i - BEFORE_S;
    }
}

/* ---- rows ---- */

typedef struct row {
    dc_track_state_t st;
    double selected_ft; /* NAN: none (the real day's reports) */
} row_t;

typedef struct rows {
    row_t *v;
    size_t n, cap;
} rows_t;

static bool push(rows_t *r, const dc_track_state_t *st, double selected_ft)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 1 << 16;
        row_t *p = realloc(r->v, cap * sizeof(*p));
        if (!p) return false;
        r->v = p, r->cap = cap;
    }
    r->v[r->n].st = *st;
    r->v[r->n++].selected_ft = selected_ft;
    return true;
}

/* Reports of f every 10 s from phase, as ADS-B gives them. The selected altitude is downlinked
 * (Mode S EHS, mandatory for IFR airliners in core Europe): where the flight levels off, or
 * none. */
static bool report(rows_t *r, const encounter_t *e, const flight_t *f, const char *id, int phase)
{
    for (int i = phase; i < N_SAMPLES; i += 10) {
        dc_track_state_t st = {0};
        snprintf(st.id, sizeof(st.id), "%s", id);
        st.t_s = e->tc_s + i - BEFORE_S;
        to_latlon(e, f->x[i], f->y[i], &st.lat_deg, &st.lon_deg);
        st.alt_ft = round((f->alt[i] + f->reading_ft) / 25) * 25;
        st.gs_kt = round(f->gs_kt * 10) / 10;
        st.trk_deg = fmod(round(f->hdg[i] * 10) / 10, 360);
        st.vs_fpm = round(f->vs[i] / 64) * 64;
        if (f->vs_noise) st.vs_fpm += 64 * ((i / 10) % 3 - 1);
        if (!push(r, &st, f->level_ft)) return false;
    }
    return true;
}

static int row_cmp(const void *x, const void *y)
{
    double a = ((const row_t *)x)->st.t_s, b = ((const row_t *)y)->st.t_s;
    return (a > b) - (a < b);
}

static bool load(const char *path, rows_t *r, double *t_min, double *t_max)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[DC_TRACKCSV_LINE_MAX], msg[128], cs[DC_CALLSIGN_MAX];
    dc_trackcsv_format_t fmt;
    bool ok =
        fgets(line, sizeof(line), f) && dc_trackcsv_header(line, &fmt, msg, sizeof(msg)) == DC_OK;
    *t_min = INFINITY, *t_max = -INFINITY;
    while (ok && fgets(line, sizeof(line), f)) {
        dc_track_state_t st;
        if (dc_trackcsv_row(fmt, line, &st, cs, msg, sizeof(msg)) != DC_OK) continue;
        ok = push(r, &st, NAN);
        *t_min = fmin(*t_min, st.t_s), *t_max = fmax(*t_max, st.t_s);
    }
    fclose(f);
    return ok && r->n;
}

/* ---- the runs ---- */

typedef struct variant {
    const char *name;
    bool raw;
    dc_alerting_config_t cfg;
} variant_t;

/* Replays rows as `deconflict replay` does; the encounter log, or NULL. */
static dc_encounters_t *run(const rows_t *r, const variant_t *v, double step_s)
{
    dc_tactical_config_t minima, eng_cfg;
    dc_tactical_config_default(&minima);
    dc_alerting_t *al = v->raw ? NULL : dc_alerting_new(&minima, &v->cfg);
    eng_cfg = minima;
    if (al) dc_alerting_candidate_config(al, &eng_cfg);
    dc_tactical_t *eng = dc_tactical_new(&eng_cfg);
    dc_encounters_t *enc = dc_encounters_new(fmax(minima.stale_s, step_s));
    bool ok = eng && enc && (v->raw || al);
    size_t next = 0;
    double start = r->v[0].st.t_s, end = r->v[r->n - 1].st.t_s;
    for (size_t pass = 0; ok; pass++) {
        double now = start + step_s * (double)pass;
        if (now > end) break;
        while (ok && next < r->n && r->v[next].st.t_s <= now) {
            const row_t *row = &r->v[next++];
            dc_report_source_t src = {.alt_step_ft = 25, .selected_alt_ft = row->selected_ft};
            ok = dc_tactical_update(eng, &row->st, NULL) == DC_OK &&
                 (!al || dc_alerting_report(al, &row->st, &src, NULL) == DC_OK);
        }
        const dc_tactical_snapshot_t *snap;
        if (!ok || dc_tactical_detect(eng, now, NULL, &snap) != DC_OK) {
            ok = false;
            break;
        }
        ok = (!al || dc_alerting_pass(al, snap) == DC_OK) &&
             (al ? dc_encounters_observe_alerts(enc, now, al) : dc_encounters_observe(enc, snap)) ==
                 DC_OK;
        dc_tactical_snapshot_release(snap);
    }
    dc_tactical_free(eng);
    dc_alerting_free(al);
    if (!ok) {
        dc_encounters_free(enc);
        return NULL;
    }
    return enc;
}

/* When the pair was first warned (raw: first alerted) in an episode that began before until_s. */
static double first_warning(const dc_encounters_t *enc, const char *ida, const char *idb, bool raw,
                            dc_alert_level_t *level)
{
    const char *id1 = strcmp(ida, idb) < 0 ? ida : idb, *id2 = id1 == ida ? idb : ida;
    double first = NAN;
    *level = DC_ALERT_NONE;
    for (size_t i = 0; i < dc_encounters_count(enc); i++) {
        const dc_encounter_t *e = dc_encounters_get(enc, i);
        if (strcmp(e->id1, id1) || strcmp(e->id2, id2)) continue;
        double w = raw ? e->first_alert_s : e->first_warning_s;
        if (e->level > *level) *level = e->level;
        if (raw && !isnan(e->los_start_s)) *level = DC_ALERT_LOSS;
        if (raw && *level < DC_ALERT_WARNING) *level = DC_ALERT_WARNING;
        if (!isnan(w) && (isnan(first) || w < first)) first = w;
    }
    return first;
}

static size_t warnings(const dc_encounters_t *enc, bool raw)
{
    size_t n = 0;
    for (size_t i = 0; i < dc_encounters_count(enc); i++)
        n += raw || dc_encounters_get(enc, i)->level >= DC_ALERT_WARNING;
    return n;
}

int bench_alerting(int argc, char **argv)
{
    const char *path = "../shared/data/traffic/switzerland_2018-08-01.csv";
    double step_s = 10;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--step-s") == 0 && i + 1 < argc)
            step_s = atof(argv[++i]);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else {
            fprintf(stderr, "usage: deconflict-bench alerting [--data CSV] [--step-s S] "
                            "[--verbose]\n");
            return 2;
        }
    }
    if (!(step_s >= 0.5 && step_s <= 60)) {
        fprintf(stderr, "deconflict-bench alerting: --step-s must be in [0.5, 60]\n");
        return 2;
    }
    rows_t real = {0}, mixed = {0};
    double t_min, t_max;
    if (!load(path, &real, &t_min, &t_max)) {
        fprintf(stderr, "deconflict-bench alerting: cannot read %s\n", path);
        return 1;
    }
    qsort(real.v, real.n, sizeof(row_t), row_cmp);
    double hours = (t_max - t_min) / 3600.0;

    static encounter_t enc[N_ENC];
    for (int k = 0; k < N_ENC; k++) {
        encounter_t *e = &enc[k];
        build(e, k);
        e->tc_s = t_min + 3600 + 1800.0 * k;
        e->lat0 = 46.5 + 0.6 * ((k * 7) % 10) / 10.0;
        e->lon0 = 6.8 + 2.6 * ((k * 3) % 10) / 10.0;
        snprintf(e->ida, sizeof(e->ida), "inj%02da", k);
        snprintf(e->idb, sizeof(e->idb), "inj%02db", k);
        truth(e);
        if (e->conflict == isnan(e->loss_start_s))
            fprintf(stderr, "note: '%s' was built %s but its flown paths %s\n", e->name,
                    e->conflict ? "a conflict" : "safe",
                    e->conflict ? "never lose separation" : "do");
    }
    for (size_t i = 0; i < real.n; i++)
        if (!push(&mixed, &real.v[i].st, NAN)) return 1;
    for (int k = 0; k < N_ENC; k++)
        if (!report(&mixed, &enc[k], &enc[k].a, enc[k].ida, (k * 3) % 10) ||
            !report(&mixed, &enc[k], &enc[k].b, enc[k].idb, (k * 7 + 5) % 10))
            return 1;
    qsort(mixed.v, mixed.n, sizeof(row_t), row_cmp);

    variant_t vs[10];
    size_t nv = 0;
    dc_alerting_config_t def;
    dc_alerting_config_default(&def);
    vs[nv++] = (variant_t){"graded, defaults", false, def};
    vs[nv] = (variant_t){"  without the altitude tolerance", false, def};
    vs[nv++].cfg.quantisation = false;
    vs[nv] = (variant_t){"  without the level-flight filter", false, def};
    vs[nv++].cfg.level_filter = false;
    vs[nv] = (variant_t){"  without persistence", false, def};
    vs[nv].cfg.confirm_m = vs[nv].cfg.confirm_n = 1, vs[nv++].cfg.confirm_min_s = 0;
    vs[nv] = (variant_t){"  without hysteresis", false, def};
    vs[nv++].cfg.hold_s = 0;
    vs[nv] = (variant_t){"  without turn prediction", false, def};
    vs[nv++].cfg.turn_prediction = false;
    vs[nv] = (variant_t){"  without selected altitudes", false, def};
    vs[nv++].cfg.use_selected_alt = false;
    vs[nv++] = (variant_t){"raw engine (replay --raw)", true, def};

    printf("graded alerting on %s: %.1f h, %zu reports; %d injected encounters (15 conflicts, 15 "
           "safe), passes every %.0f s\n\n",
           path, hours, real.n, N_ENC, step_s);
    printf("%-34s %11s %11s %14s %11s %11s\n", "", "warnings/h", "conflicts", "warning time", "",
           "safe");
    printf("%-34s %11s %11s %14s %11s %11s\n", "variant", "(real day)", "warned", "median s",
           "min s", "warned");
    for (size_t v = 0; v < nv; v++) {
        double t0 = bench_now_ms();
        dc_encounters_t *e_real = run(&real, &vs[v], step_s);
        dc_encounters_t *e_mixed = run(&mixed, &vs[v], step_s);
        double ms = bench_now_ms() - t0;
        if (!e_real || !e_mixed) return 1;
        double w[N_ENC];
        size_t nw = 0, warned = 0, conflicts = 0, safe_warned = 0;
        for (int k = 0; k < N_ENC; k++) {
            encounter_t *e = &enc[k];
            dc_alert_level_t level;
            double fw = first_warning(e_mixed, e->ida, e->idb, vs[v].raw, &level);
            bool loss = !isnan(e->loss_start_s);
            if (loss) {
                conflicts++;
                if (!isnan(fw) && fw < e->loss_start_s) warned++, w[nw++] = e->loss_start_s - fw;
            } else {
                safe_warned += !isnan(fw);
            }
            if (verbose)
                printf("    %-52s %-8s truth: %s min %.2f NM / %.0f ft; first warning %s%.0f s\n",
                       e->name, dc_alert_level_name(level), loss ? "loss," : "safe,", e->min_h_nm,
                       e->v_at_min_ft,
                       isnan(fw) ? "none "
                       : loss    ? "before the loss "
                                 : "at ",
                       isnan(fw) ? 0
                       : loss    ? e->loss_start_s - fw
                                 : fw - e->tc_s);
        }
        double wmin = INFINITY;
        for (size_t i = 0; i < nw; i++) wmin = fmin(wmin, w[i]);
        double med = nw ? bench_median(w, nw) : NAN;
        printf("%-34s %11.1f %5zu of %2zu %14.0f %11.0f %5zu of %2d   (%.1f s)\n", vs[v].name,
               warnings(e_real, vs[v].raw) / hours, warned, conflicts, med, nw ? wmin : NAN,
               safe_warned, N_ENC - (int)conflicts, ms / 1000);
        dc_encounters_free(e_real);
        dc_encounters_free(e_mixed);
    }
    printf("\nwarnings/h: episodes that reached warning or loss on the real day alone (raw: every "
           "episode); conflicts warned: injected losses warned before the flown loss began; "
           "warning time: from the first warning to the flown loss; safe warned: known-safe "
           "encounters that reached warning.\n");
    free(real.v), free(mixed.v);
    return 0;
}
