/* Pair prediction against hand-computed answers (docs/tactical.md derives each case).
 * Scenarios sit on the equator, where a degree of longitude is exactly a*pi/180 m and the
 * tangent-plane geometry is plain; the antimeridian and the pole get their own cases.
 * Tolerances: times 0.1 s, distances 0.002 NM (3.7 m), well above the ~1e-3 m model error. */
#include "testutil.h"

#include <math.h>

#include "deconflict/geo.h"

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
        cmocka_unit_test(test_invalid_states),
        cmocka_unit_test(test_invalid_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
