/* Pair prediction against hand-computed answers (docs/tactical.md derives each case).
 * Scenarios sit on the equator, where a degree of longitude is exactly a*pi/180 m and the
 * tangent-plane geometry is plain; the antimeridian and the pole get their own cases. The
 * boundary cases after the first table (exactly on a cut-off, intervals that touch) state their
 * own derivations, exact in floating point.
 * Tolerances: times 0.1 s, distances 0.002 NM (3.7 m), well above the ~1e-3 m model error. */
#include "testutil.h"

#include <math.h>

#include "deconflict/geo.h"
#include "tactical/kinematics.h"

#define EQ_M_PER_DEG_LON (DC_WGS84_A_M * M_PI / 180.0) /* 111319.49 m */
#define EQ_M_PER_DEG_LAT 110574.2727                   /* meridian arc per degree at 0 deg */
#define E(nm)            ((nm)*DC_M_PER_NM / EQ_M_PER_DEG_LON) /* NM east of 0 deg -> lon */
#define N(nm)            ((nm)*DC_M_PER_NM / EQ_M_PER_DEG_LAT) /* NM north of 0 deg -> lat */
#define T_TOL            0.1
#define D_TOL            0.002
#define NA               NAN

typedef struct kcase {
    const char *name;
    dc_track_state_t a, b;
    bool conflict, los_now;
    double tcpa_s, dcpa_nm, tin_s, tout_s; /* NA: not checked */
} kcase_t;

#define S(id, t, lat, lon, alt, gs, trk, vs)                                                       \
    {                                                                                              \
        id, t, lat, lon, alt, gs, trk, vs                                                          \
    }

static const kcase_t cases[] = {
    /* Closing at 960 kt = 0.26667 NM/s from 20 NM: CPA at 75 s, loss while |20 - 0.26667 t| < 5. */
    {"head-on", S("A", 0, 0, 0, 35000, 480, 90, 0), S("B", 0, 0, E(20), 35000, 480, 270, 0), true,
     false, 75.0, 0.0, 56.25, 93.75},
    /* Same encounter, A reported 15 s earlier 2 NM further back: extrapolated to the same now. */
    {"head-on, reports of different ages", S("A", -15, 0, E(-2), 35000, 480, 90, 0),
     S("B", 0, 0, E(20), 35000, 480, 270, 0), true, false, 75.0, 0.0, 56.25, 93.75},
    /* r = (6, 0) NM, w = (-480, -480) kt: tcpa = 6*0.1333/(2*0.1333^2) = 22.5 s, dcpa = 3*sqrt2;
     * |r + w t| = 5 at 0.1333 t = (12 -+ sqrt 56)/4. */
    {"crossing at 90 degrees", S("A", 0, 0, 0, 35000, 480, 0, 0),
     S("B", 0, 0, E(6), 35000, 480, 270, 0), true, false, 22.5, 4.24264, 8.4693, 36.5307},
    /* B 10 NM behind, 2 NM abeam, 180 kt faster: |-10 + 0.05 t| < sqrt(21) from 108.35 s. The
     * closest approach (200 s) lies beyond T, so tcpa is T and dcpa |(-4, 2)| = 4.4721 NM. */
    {"overtaking", S("A", 0, 0, 0, 35000, 300, 90, 0), S("B", 0, N(2), E(-10), 35000, 480, 90, 0),
     true, false, 120.0, 4.47214, 108.348, 120.0},
    /* 2 NM apart in formation, B climbs from 2000 ft below at 2000 ft/min: |dz| < 999 ft
     * between (2000 - 999)/33.33 and (2000 + 999)/33.33 s. */
    {"climb through a level aircraft", S("A", 0, 0, 0, 35000, 450, 90, 0),
     S("B", 0, N(2), 0, 33000, 450, 90, 2000), true, false, 0.0, 2.0, 30.03, 89.97},
    {"parallel 4.9 NM: already lost", S("A", 0, 0, 0, 35000, 450, 0, 0),
     S("B", 0, 0, E(4.9), 35000, 450, 0, 0), true, true, 0.0, 4.9, 0.0, 120.0},
    {"parallel 5.1 NM: separated", S("A", 0, 0, 0, 35000, 450, 0, 0),
     S("B", 0, 0, E(5.1), 35000, 450, 0, 0), false, false, 0.0, 5.1, NA, NA},
    {"FL340 vs FL350 in formation: exactly 1000 ft is separated", S("A", 0, 0, 0, 34000, 450, 0, 0),
     S("B", 0, 0, E(2), 35000, 450, 0, 0), false, false, 0.0, 2.0, NA, NA},
    {"FL340 vs FL350 given in metres (10363.2 m, 10668 m)",
     S("A", 0, 0, 0, 10363.2 / 0.3048, 450, 0, 0), S("B", 0, 0, E(2), 10668.0 / 0.3048, 450, 0, 0),
     false, false, 0.0, 2.0, NA, NA},
    {"999.5 ft: within the 1 ft tolerance of the minimum", S("A", 0, 0, 0, 34000.5, 450, 0, 0),
     S("B", 0, 0, E(2), 35000, 450, 0, 0), false, false, 0.0, 2.0, NA, NA},
    {"998 ft: lost", S("A", 0, 0, 0, 34002, 450, 0, 0), S("B", 0, 0, E(2), 35000, 450, 0, 0), true,
     true, 0.0, 2.0, 0.0, 120.0},
    {"formation 1 NM: identical velocities", S("A", 0, 0, 0, 30000, 420, 45, 0),
     S("B", 0, 0, E(1), 30000, 420, 45, 0), true, true, 0.0, 1.0, 0.0, 120.0},
    {"zero ground speed, 3 NM apart", S("A", 0, 0, 0, 5000, 0, 0, 0),
     S("B", 0, 0, E(3), 5000, 0, 0, 0), true, true, 0.0, 3.0, 0.0, 120.0},
    {"zero ground speed, 6 NM apart", S("A", 0, 0, 0, 5000, 0, 0, 0),
     S("B", 0, 0, E(6), 5000, 0, 0, 0), false, false, 0.0, 6.0, NA, NA},
    /* Same position, 2000 ft apart, closing vertically at 2000 ft/min. */
    {"pure vertical convergence", S("A", 0, 0, 0, 10000, 0, 0, 1000),
     S("B", 0, 0, 0, 12000, 0, 0, -1000), true, false, 0.0, 0.0, 30.03, 89.97},
    /* 0.1 degree of longitude across the antimeridian = 6.0108 NM. */
    {"head-on across the antimeridian", S("A", 0, 0, 179.95, 35000, 480, 90, 0),
     S("B", 0, 0, -179.95, 35000, 480, 270, 0), true, false, 22.540, 0.0, 3.7904, 41.290},
    /* Two aircraft 0.05 degree from the pole on opposite meridians, both flying north: head-on
     * over the pole. 0.1 degree of meridian at the pole = 11169.4 m = 6.0310 NM. */
    {"head-on over the north pole", S("A", 0, 89.95, 0, 35000, 480, 0, 0),
     S("B", 0, 89.95, 180, 35000, 480, 0, 0), true, false, 22.616, 0.0, 3.866, 41.366},
};

static void check_case(const kcase_t *c, const dc_track_state_t *a, const dc_track_state_t *b)
{
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    dc_pair_eval_t ev;
    assert_int_equal(dc_tactical_pair(a, b, 0.0, &cfg, &ev), DC_OK);
    if (ev.conflict != c->conflict || ev.los_now != c->los_now ||
        (!isnan(c->tcpa_s) && fabs(ev.tcpa_s - c->tcpa_s) > T_TOL) ||
        (!isnan(c->dcpa_nm) && fabs(ev.dcpa_nm - c->dcpa_nm) > D_TOL) ||
        (c->conflict && fabs(ev.tin_s - c->tin_s) > T_TOL) ||
        (c->conflict && fabs(ev.tout_s - c->tout_s) > T_TOL)) {
        print_error("case '%s' (%s, %s): got conflict=%d los=%d tcpa=%.4f dcpa=%.5f tin=%.4f "
                    "tout=%.4f; want conflict=%d los=%d tcpa=%.4f dcpa=%.5f tin=%.4f tout=%.4f\n",
                    c->name, a->id, b->id, ev.conflict, ev.los_now, ev.tcpa_s, ev.dcpa_nm, ev.tin_s,
                    ev.tout_s, c->conflict, c->los_now, c->tcpa_s, c->dcpa_nm, c->tin_s, c->tout_s);
        fail();
    }
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], &cases[i].a, &cases[i].b);
        check_case(&cases[i], &cases[i].b, &cases[i].a); /* symmetric */
    }
}

static void test_lookahead_and_minima_are_honoured(void **state)
{
    (void)state;
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    const kcase_t *h = &cases[0]; /* head-on: loss from 56.25 s */
    dc_pair_eval_t ev;
    cfg.lookahead_s = 56.0;
    dc_tactical_pair(&h->a, &h->b, 0, &cfg, &ev);
    assert_false(ev.conflict);
    cfg.lookahead_s = 57.0;
    dc_tactical_pair(&h->a, &h->b, 0, &cfg, &ev);
    assert_true(ev.conflict);
    assert_true(fabs(ev.tout_s - 57.0) < 1e-9); /* clipped to T */
    /* A 3 NM minimum: the loss starts at (20 - 3)/0.26667 = 63.75 s. */
    cfg.lookahead_s = 120;
    cfg.rpz_nm = 3;
    dc_tactical_pair(&h->a, &h->b, 0, &cfg, &ev);
    assert_true(ev.conflict && fabs(ev.tin_s - 63.75) < T_TOL);
    /* A 500 ft minimum keeps 600 ft apart separated. */
    dc_track_state_t b = h->b;
    b.alt_ft = 35600;
    cfg.hpz_ft = 500;
    dc_tactical_pair(&h->a, &b, 0, &cfg, &ev);
    assert_false(ev.conflict);
}

/* ---- Boundaries (include/deconflict/tactical.h): separation exactly equal to a minimum is not a
 * loss. The comparisons are d < R - htol_m and |dz| < H - vtol_ft on open intervals of time, so
 * every case below puts one quantity exactly on its cut-off (not a loss) and a hair inside it (a
 * loss). The values are exact in floating point: altitudes are integers or quarters (exact as
 * float), 960 ft/min is exactly 16 ft/s, and aircraft flying north on the equator have exactly
 * the same ECEF velocity, so the horizontal loss of those pairs is either never or always.
 * Each case is evaluated both ways round and through a two-track engine pass, exactly
 * (BT_TOL) unless a time is only approximate (T_TOL). */
#define BT_TOL 1e-9

/* Evaluates a and b with cfg through dc_tactical_pair (both orders) and an engine pass, and
 * compares with the expectation; prints every disagreement and returns false if there is one (the
 * callers fail after the whole table, so that a broken cut-off lists every case it breaks). */
static bool check_boundary(const char *name, const dc_track_state_t *a, const dc_track_state_t *b,
                           const dc_tactical_config_t *cfg, bool conflict, bool los_now,
                           double tin_s, double tout_s, double tol)
{
    dc_pair_eval_t ev[3];
    bool found[3];
    assert_int_equal(dc_tactical_pair(a, b, 0.0, cfg, &ev[0]), DC_OK);
    assert_int_equal(dc_tactical_pair(b, a, 0.0, cfg, &ev[1]), DC_OK);
    found[0] = ev[0].conflict, found[1] = ev[1].conflict;
    dc_tactical_t *eng = dc_tactical_new(cfg);
    assert_non_null(eng);
    assert_int_equal(dc_tactical_update(eng, a, NULL), DC_OK);
    assert_int_equal(dc_tactical_update(eng, b, NULL), DC_OK);
    const dc_tactical_snapshot_t *snap;
    assert_int_equal(dc_tactical_detect(eng, 0.0, NULL, &snap), DC_OK);
    found[2] = snap->n_conflicts == 1;
    /* The engine reports conflicts only: los_now and the times are compared when there is one. */
    memset(&ev[2], 0, sizeof(ev[2]));
    if (found[2]) ev[2] = snap->conflicts[0].eval;
    dc_tactical_snapshot_release(snap);
    dc_tactical_free(eng);
    static const char *const path[] = {"pair(a, b)", "pair(b, a)", "engine"};
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        if (found[i] == conflict && (ev[i].los_now == los_now || (i == 2 && !found[i])) &&
            (!conflict || (fabs(ev[i].tin_s - tin_s) <= tol && fabs(ev[i].tout_s - tout_s) <= tol)))
            continue;
        print_error("case '%s' via %s: got conflict=%d los=%d tin=%.9f tout=%.9f; want "
                    "conflict=%d los=%d tin=%.9f tout=%.9f\n",
                    name, path[i], found[i], ev[i].los_now, ev[i].tin_s, ev[i].tout_s, conflict,
                    los_now, tin_s, tout_s);
        ok = false;
    }
    return ok;
}

/* Vertical cut-offs, 2 NM apart in formation heading north on the equator (horizontally lost
 * throughout). R 5 NM, H 1000 ft, htol 1 m, T 120 s; vtol as given, so the cut-off is 999 ft
 * (vtol 1, the default) or exactly 1000 ft (vtol 0). */
typedef struct vcase {
    const char *name;
    double vtol_ft;
    double alt_b_ft, vs_b_fpm; /* A is level at 35000 ft */
    bool conflict, los_now;
    double tin_s, tout_s; /* exact; checked if conflict */
} vcase_t;

static const vcase_t vcases[] = {
    {"level, 999 ft apart: on the default cut-off", 1, 35999, 0, false, false, NA, NA},
    {"level, 998.75 ft apart: a hair inside", 1, 35998.75, 0, true, true, 0, 120},
    {"level, 1000 ft apart, vtol 0: on the cut-off", 0, 36000, 0, false, false, NA, NA},
    {"level, 999.75 ft apart, vtol 0: a hair inside", 0, 35999.75, 0, true, true, 0, 120},
    /* |dz| = 999 - 16 t or 999 + 16 t: the vertical loss interval ends or begins at exactly 0. */
    {"999 ft, B climbing away at 960 ft/min: loss ended at t = 0", 1, 35999, 960, false, false, NA,
     NA},
    {"999 ft, B descending at 960 ft/min: loss from t = 0, not now", 1, 35999, -960, true, false, 0,
     120},
    {"998.75 ft, B climbing away: lost now, for 1/64 s", 1, 35998.75, 960, true, true, 0, 0.015625},
    {"1000 ft, vtol 0, B climbing away: loss ended at t = 0", 0, 36000, 960, false, false, NA, NA},
    {"1000 ft, vtol 0, B descending: loss from t = 0, not now", 0, 36000, -960, true, false, 0,
     120},
    /* B below, climbing at 16 ft/s: |dz| reaches the cut-off at (|dz| - cut-off) / 16 s. */
    {"2919 ft below, climbing: loss begins exactly at T", 1, 35000 - 2919, 960, false, false, NA,
     NA},
    {"2918.75 ft below, climbing: loss from T - 1/64 s", 1, 35000 - 2918.75, 960, true, false,
     119.984375, 120},
    {"2920 ft below, vtol 0, climbing: loss begins exactly at T", 0, 35000 - 2920, 960, false,
     false, NA, NA},
};

static void test_vertical_cutoffs(void **state)
{
    (void)state;
    bool ok = true;
    for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
        const vcase_t *c = &vcases[i];
        dc_tactical_config_t cfg;
        dc_tactical_config_default(&cfg);
        cfg.rpz_nm = 5, cfg.hpz_ft = 1000, cfg.htol_m = 1, cfg.lookahead_s = 120;
        cfg.vtol_ft = c->vtol_ft;
        dc_track_state_t a = test_state("A", 0, 0, 0, 35000, 450, 0, 0);
        dc_track_state_t b = test_state("B", 0, 0, E(2), c->alt_b_ft, 450, 0, c->vs_b_fpm);
        ok &= check_boundary(c->name, &a, &b, &cfg, c->conflict, c->los_now, c->tin_s, c->tout_s,
                             BT_TOL);
    }
    if (!ok) fail();
}

/* Horizontal cut-off. A and B sit on the equator at -HLON and +HLON: their ECEF positions are
 * (x, -y, 0) and (x, y, 0) exactly (sin is odd), the midpoint's normal is exactly the x axis and
 * the tangent-plane separation the engine measures is exactly 2y (no rounding anywhere; both
 * premises are asserted). Rather than hunt for a longitude at which 2y is exactly 5 NM - 1 m
 * (which would hang on the last bit of libm's sin), htol_m is set to 5 NM - 2y (exact: Sterbenz),
 * within a millimetre of the default 1 m, which puts R - htol_m exactly on the engine's distance.
 * inside_m lowers htol_m further: the aircraft are that much inside. */
#define HLON E(9259.0 / 2 / DC_M_PER_NM)

typedef struct hcase {
    const char *name;
    double gs_a_kt, trk_a_deg, gs_b_kt, trk_b_deg; /* A at -HLON, B at +HLON, both FL350 */
    double inside_m;
    bool conflict, los_now;
    double tin_s, tout_s; /* to T_TOL; checked if conflict */
} hcase_t;

static const hcase_t hcases[] = {
    {"stationary, exactly on the cut-off", 0, 0, 0, 0, 0, false, false, NA, NA},
    {"stationary, 1 mm inside", 0, 0, 0, 0, 1e-3, true, true, 0, 120},
    {"formation heading north, exactly on the cut-off", 450, 0, 450, 0, 0, false, false, NA, NA},
    {"formation heading north, 1 mm inside", 450, 0, 450, 0, 1e-3, true, true, 0, 120},
    /* Closing at 960 kt: the loss interval is (0, 37.5) s, one root exactly 0. */
    {"closing, on the cut-off: loss from t = 0, not now", 480, 90, 480, 270, 0, true, false, 0,
     37.496},
    {"closing, 1 mm inside: lost now", 480, 90, 480, 270, 1e-3, true, true, 0, 37.496},
    /* Opening: the loss interval is (-37.5, 0) s. */
    {"opening, on the cut-off: loss ended at t = 0", 480, 270, 480, 90, 0, false, false, NA, NA},
    {"opening, 1 mm inside: lost now, for 2 us", 480, 270, 480, 90, 1e-3, true, true, 0, 0},
};

static void test_horizontal_cutoff(void **state)
{
    (void)state;
    dc_vec3_t pa, pb;
    dc_geo_to_ecef(0, -HLON, &pa);
    dc_geo_to_ecef(0, HLON, &pb);
    assert_true(pa.x == pb.x && pa.y == -pb.y && pa.z == 0 && pb.z == 0);
    const double sep_m = pb.y - pa.y;
    dc_track_state_t a0 = test_state("A", 0, 0, -HLON, 35000, 0, 0, 0);
    dc_track_state_t b0 = test_state("B", 0, 0, HLON, 35000, 0, 0, 0);
    double h_nm, v_ft;
    dc_tactical_separation_at(&a0, &b0, 0, 0, &h_nm, &v_ft);
    assert_true(h_nm == sep_m / DC_M_PER_NM); /* the engine measures exactly sep_m */
    bool ok = true;
    for (size_t i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
        const hcase_t *c = &hcases[i];
        dc_tactical_config_t cfg;
        dc_tactical_config_default(&cfg);
        cfg.rpz_nm = 5, cfg.hpz_ft = 1000, cfg.vtol_ft = 1, cfg.lookahead_s = 120;
        cfg.htol_m = 5 * DC_M_PER_NM - sep_m;
        /* R - htol as pass_params_from_config computes it: exactly the measured distance. */
        assert_true(cfg.rpz_nm * DC_M_PER_NM - cfg.htol_m == sep_m);
        cfg.htol_m -= c->inside_m;
        dc_track_state_t a = a0, b = b0;
        a.gs_kt = c->gs_a_kt, a.trk_deg = c->trk_a_deg;
        b.gs_kt = c->gs_b_kt, b.trk_deg = c->trk_b_deg;
        ok &= check_boundary(c->name, &a, &b, &cfg, c->conflict, c->los_now, c->tin_s, c->tout_s,
                             T_TOL);
    }
    if (!ok) fail();
}

/* Intervals that touch. The head-on encounter of the first table loses horizontal separation
 * over (t1, t2) ~ (56.25, 93.75) s; the engine's own t1 and t2 are read from a level run (where
 * the vertical interval is unbounded, so tin = t1 and tout = t2 exactly). Then:
 *   VBEGIN_AT_HEND  B climbs at 16 ft/s from D ft below; vtol makes the cut-off h = D - 16 t2,
 *                   so the vertical loss (D - h) / 16 begins exactly when the horizontal ends;
 *   VEND_AT_HBEGIN  B climbs away at 16 ft/s from U ft above; h = U + 16 t1, so the vertical
 *                   loss ends exactly when the horizontal one begins;
 *   T_AT_HBEGIN     level, the look-ahead is exactly t1.
 * These are exact: for t in [32, 128) 16 t is exact and a multiple of 2^-43, so h, an integer
 * minus 16 t in (999, 1000], is representable, as are vtol = 1000 - h and 1000 - vtol = h (the
 * premises are asserted). nudge moves the cut-off (ft) or T (s) a hair towards a loss. */
typedef enum { VBEGIN_AT_HEND, VEND_AT_HBEGIN, T_AT_HBEGIN } touch_t;

static const struct {
    const char *name;
    touch_t kind;
    double nudge;
    bool conflict;
} tcases[] = {
    {"vertical loss begins the instant horizontal loss ends", VBEGIN_AT_HEND, 0, false},
    {"... the cut-off 1e-6 ft larger: they overlap", VBEGIN_AT_HEND, 1e-6, true},
    {"vertical loss ends the instant horizontal loss begins", VEND_AT_HBEGIN, 0, false},
    {"... the cut-off 1e-6 ft larger: they overlap", VEND_AT_HBEGIN, 1e-6, true},
    {"horizontal loss begins exactly at T", T_AT_HBEGIN, 0, false},
    {"... T 1e-6 s later", T_AT_HBEGIN, 1e-6, true},
};

static void test_touching_intervals(void **state)
{
    (void)state;
    const dc_track_state_t a = cases[0].a, b0 = cases[0].b; /* head-on, both at 35000 ft */
    dc_tactical_config_t def;
    dc_tactical_config_default(&def);
    def.lookahead_s = 120;
    dc_pair_eval_t lvl;
    assert_int_equal(dc_tactical_pair(&a, &b0, 0, &def, &lvl), DC_OK);
    assert_true(lvl.conflict && lvl.tin_s > 32 && lvl.tout_s < 120);
    const double t1 = lvl.tin_s, t2 = lvl.tout_s;
    bool ok = true;
    for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
        dc_tactical_config_t cfg = def;
        cfg.hpz_ft = 1000;
        dc_track_state_t b = b0;
        double t = 0, h = 0;
        switch (tcases[i].kind) {
        case VBEGIN_AT_HEND: {
            double m = 16 * t2, d = floor(m) + 1000;
            h = d - m; /* in (999, 1000] */
            b.alt_ft = a.alt_ft - d, b.vs_fpm = 960, t = t2;
            assert_true((d - h) / 16 == t2); /* the engine's (-h - dz) / dvz */
            break;
        }
        case VEND_AT_HBEGIN: {
            double m = 16 * t1, u = floor(1000 - m);
            h = u + m; /* in (999, 1000] */
            b.alt_ft = a.alt_ft + u, b.vs_fpm = 960, t = t1;
            assert_true((h - u) / 16 == t1); /* the engine's (h - dz) / dvz */
            break;
        }
        case T_AT_HBEGIN:
            h = 999, t = t1;
            cfg.lookahead_s = t1 + tcases[i].nudge;
            break;
        }
        cfg.vtol_ft = cfg.hpz_ft - h;
        assert_true(cfg.hpz_ft - cfg.vtol_ft == h);
        if (tcases[i].kind != T_AT_HBEGIN) cfg.vtol_ft -= tcases[i].nudge;
        ok &= check_boundary(tcases[i].name, &a, &b, &cfg, tcases[i].conflict, false, t, t, 1e-5);
    }
    if (!ok) fail();
}

/* Grazing: the relative track touches the circle of radius R - htol at one instant, so the
 * separation never drops below it. Built on the internal kinematic state (kinematics.h) so that
 * every number is chosen: A and B sit at (a, -ry/2, -rz/2) and (a, ry/2, rz/2) ECEF with
 * velocities -(0, wy, 0) and (0, wy, 0), so that exactly r = (0, ry, rz) and w = (0, 2 wy, 0) in
 * the tangent plane (the midpoint's normal is the x axis) and the closest approach is |rz| at
 * -ry / (2 wy). With r_m = rz the discriminant b^2 - a c of kinematics.c is exactly 0 although
 * its two rounded roots -b/a and c/-b differ in the last place (these numbers were found by a
 * search for that), so a `disc < 0` test would report a loss lasting a few 1e-15 s. One ulp more
 * and the loss is real; one ulp less and there is none. */
static const struct {
    double ry, rz;
    float wy;
    double t_s; /* the instant of closest approach, ~ -ry / (2 wy) */
} gcases[] = {
    {-0x1.5dce14c1159c2p+12, 0x1.002c69344dd8dp+13, 0x1.1a5458p+7f, 19.8239},
    {-0x1.5584c0a459098p+12, 0x1.12cbc35ae1178p+13, 0x1.f46142p+5f, 43.6812},
};

static void test_grazing_is_not_a_loss(void **state)
{
    (void)state;
    bool ok = true;
    for (size_t i = 0; i < sizeof(gcases) / sizeof(gcases[0]); i++) {
        const double ry = gcases[i].ry, rz = gcases[i].rz;
        const float wy = gcases[i].wy;
        kin_t a = {.t_s = 0, .p = {DC_WGS84_A_M, -ry / 2, -rz / 2}, .v = {0, -wy, 0}};
        kin_t b = {.t_s = 0, .p = {DC_WGS84_A_M, ry / 2, rz / 2}, .v = {0, wy, 0}};
        a.alt_ft = b.alt_ft = 35000;
        const double r_m[] = {nextafter(rz, 0), rz, nextafter(rz, INFINITY)};
        const bool want[] = {false, false, true};
        for (int k = 0; k < 3; k++) {
            pass_params_t pp = {.r_m = r_m[k], .h_ft = 999, .lookahead_s = 120};
            dc_pair_eval_t ab, ba;
            bool cab = kin_eval_pair(&a, &b, 0, &pp, &ab);
            bool cba = kin_eval_pair(&b, &a, 0, &pp, &ba);
            if (cab != want[k] || cba != want[k] || ab.conflict != want[k] ||
                (want[k] && (fabs(ab.tin_s - gcases[i].t_s) > 1e-3 ||
                             fabs(ab.tout_s - gcases[i].t_s) > 1e-3))) {
                print_error("grazing case %zu, r_m = rz %+d ulp: got conflict=%d/%d tin=%.17g "
                            "tout=%.17g; want conflict=%d\n",
                            i, k - 1, cab, cba, ab.tin_s, ab.tout_s, want[k]);
                ok = false;
            }
            assert_near(ab.dcpa_nm * DC_M_PER_NM, rz, 1e-6);
        }
    }
    if (!ok) fail();
}

static void test_invalid_states(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        dc_track_state_t s;
    } bad[] = {
        {"id", S("", 0, 0, 0, 1000, 100, 0, 0)},
        {"t", S("X", NAN, 0, 0, 1000, 100, 0, 0)},
        {"lat", S("X", 0, 90.0001, 0, 1000, 100, 0, 0)},
        {"lat", S("X", 0, NAN, 0, 1000, 100, 0, 0)},
        {"lon", S("X", 0, 0, -180.5, 1000, 100, 0, 0)},
        {"alt_ft", S("X", 0, 0, 0, INFINITY, 100, 0, 0)},
        {"alt_ft", S("X", 0, 0, 0, 100001, 100, 0, 0)},
        {"gs_kt", S("X", 0, 0, 0, 1000, -1, 0, 0)},
        {"gs_kt", S("X", 0, 0, 0, 1000, 2001, 0, 0)},
        {"trk_deg", S("X", 0, 0, 0, 1000, 100, 360, 0)},
        {"trk_deg", S("X", 0, 0, 0, 1000, 100, -0.1, 0)},
        {"vs_fpm", S("X", 0, 0, 0, 1000, 100, 0, NAN)},
        {"vs_fpm", S("X", 0, 0, 0, 1000, 100, 0, -60001)},
    };
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    dc_track_state_t good = test_state("G", 0, 0, 0, 1000, 100, 0, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *field = NULL;
        assert_int_equal(dc_track_state_validate(&bad[i].s, &field), DC_ERR_INVALID);
        assert_string_equal(field, bad[i].field);
        dc_pair_eval_t ev;
        assert_int_equal(dc_tactical_pair(&bad[i].s, &good, 0, &cfg, &ev), DC_ERR_INVALID);
    }
    dc_track_state_t longid = good;
    memset(longid.id, 'x', sizeof(longid.id)); /* no terminator within DC_TRACK_ID_MAX */
    assert_int_equal(dc_track_state_validate(&longid, NULL), DC_ERR_INVALID);
    dc_track_state_t ctl = good;
    strcpy(ctl.id, "a\nb");
    assert_int_equal(dc_track_state_validate(&ctl, NULL), DC_ERR_INVALID);
}

static void test_invalid_config(void **state)
{
    (void)state;
    dc_tactical_config_t cfg;
    const char *field;
    dc_tactical_config_default(&cfg);
    assert_int_equal(dc_tactical_config_validate(&cfg, &field), DC_OK);
    cfg.rpz_nm = 0;
    assert_int_equal(dc_tactical_config_validate(&cfg, &field), DC_ERR_INVALID);
    assert_string_equal(field, "rpz_nm");
    dc_tactical_config_default(&cfg);
    cfg.lookahead_s = NAN;
    assert_int_equal(dc_tactical_config_validate(&cfg, &field), DC_ERR_INVALID);
    assert_string_equal(field, "lookahead_s");
    dc_tactical_config_default(&cfg);
    cfg.vtol_ft = 1000;
    assert_int_equal(dc_tactical_config_validate(&cfg, &field), DC_ERR_INVALID);
    assert_string_equal(field, "vtol_ft");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lookahead_and_minima_are_honoured),
        cmocka_unit_test(test_vertical_cutoffs),
        cmocka_unit_test(test_horizontal_cutoff),
        cmocka_unit_test(test_touching_intervals),
        cmocka_unit_test(test_grazing_is_not_a_loss),
        cmocka_unit_test(test_invalid_states),
        cmocka_unit_test(test_invalid_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
