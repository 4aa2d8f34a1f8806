/* A live track against filed operations (deconflict/conformance.h): known cases, and a property
 * test against a brute-force reference.
 *
 * The reference knows nothing of corridors or of the strategic engine: at the report and at every
 * step of the look-ahead it places the track where the tactical engine's extrapolation puts it
 * and decides from the definition whether that point is inside each circular operation
 * (spherical distance to the centre, the band, the window). The sphere and the ellipsoid differ
 * by up to 0.6% in distance, so a point that close to a boundary is "maybe": an entry the library
 * reports must fall between the reference's first "maybe" step and its first certain one, and an
 * operation the reference never reaches even maybe must not be reported. */
#include "strategic_testutil.h"

#include <math.h>

#include "deconflict/conformance.h"

#define R_EARTH_M 6371008.8
#define STEP_S    5.0
#define T_S       120.0

static double dist_m(double la1, double lo1, double la2, double lo2)
{
    double r = M_PI / 180, dla = (la2 - la1) * r, dlo = (lo2 - lo1) * r;
    double a =
        sin(dla / 2) * sin(dla / 2) + cos(la1 * r) * cos(la2 * r) * sin(dlo / 2) * sin(dlo / 2);
    return 2 * R_EARTH_M * asin(fmin(1, sqrt(a)));
}

static dc_track_state_t track(double lat, double lon, double alt_ft, double gs_kt, double trk_deg,
                              double vs_fpm)
{
    dc_track_state_t s = {.t_s = T_BASE_S + 100,
                          .lat_deg = lat,
                          .lon_deg = lon,
                          .alt_ft = alt_ft,
                          .gs_kt = gs_kt,
                          .trk_deg = trk_deg,
                          .vs_fpm = vs_fpm};
    snprintf(s.id, sizeof(s.id), "T1");
    return s;
}

static dc_strategic_t *engine_with(dc_operation_t *ops, size_t n)
{
    dc_strategic_t *eng = dc_strategic_new(NULL);
    assert_non_null(eng);
    for (size_t i = 0; i < n; i++) {
        dc_strategic_result_t res;
        ops[i].state = DC_OP_ACTIVE;
        assert_int_equal(dc_strategic_file(eng, &ops[i], &res), DC_OK);
        dc_strategic_result_clear(&res);
        dc_operation_clear(&ops[i]);
    }
    return eng;
}

static void test_known_cases(void **state)
{
    (void)state;
    /* A 10 km circle at 47 N 8 E, 0-5,000 m, all hour; owned by party "A". */
    dc_volume4d_t v = test_circle(47, 8, 10000, 0, 5000, 0, 3600);
    v.alt_lower_ref = v.alt_upper_ref = DC_ALT_REF_W84;
    dc_operation_t op = test_op("area", "A", 1, 1, &v);
    dc_strategic_t *eng = engine_with(&op, 1);
    double now = T_BASE_S + 100;
    dc_op_entry_t out[4];
    size_t n;

    dc_track_state_t in = track(47.01, 8.0, 10000, 300, 90, 0);
    assert_int_equal(dc_conformance_entries(eng, &in, "B", now, T_S, STEP_S, false, out, 4, &n),
                     DC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].ref, "area");
    assert_string_equal(out[0].party, "A");
    assert_true(out[0].tte_s == 0);

    /* 20 km south heading north at 400 kt (205.8 m/s): the edge 10 km on, in 48.6 s -> 50 s. */
    double lat_s = 47 - 20000 / (R_EARTH_M * M_PI / 180);
    dc_track_state_t north = track(lat_s, 8.0, 10000, 400, 0, 0);
    assert_int_equal(dc_conformance_entries(eng, &north, "B", now, T_S, STEP_S, false, out, 4, &n),
                     DC_OK);
    assert_int_equal(n, 1);
    assert_true(out[0].tte_s == 50);
    /* The report is 10 s old at now: the entry is 10 s nearer. */
    assert_int_equal(
        dc_conformance_entries(eng, &north, "B", now + 10, T_S, STEP_S, false, out, 4, &n), DC_OK);
    assert_true(n == 1 && out[0].tte_s == 40);
    /* Its own party's operation is no intrusion; heading away, above the band, or beyond the
     * look-ahead, nothing. */
    assert_int_equal(dc_conformance_entries(eng, &north, "A", now, T_S, STEP_S, false, out, 4, &n),
                     DC_OK);
    assert_int_equal(n, 0);
    dc_track_state_t away = track(lat_s, 8.0, 10000, 400, 180, 0);
    dc_track_state_t above = track(lat_s, 8.0, 17000, 400, 0, 0);
    dc_track_state_t slow = track(lat_s, 8.0, 10000, 100, 0, 0); /* 194 s to the edge */
    dc_track_state_t *none[] = {&away, &above, &slow};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            dc_conformance_entries(eng, none[i], "B", now, T_S, STEP_S, false, out, 4, &n), DC_OK);
        assert_int_equal(n, 0);
    }
    /* Descending into the band from above, over the area: 17,000 ft at 3,000 fpm reaches
     * 16,404 ft (5,000 m) in 11.9 s -> 15 s. */
    dc_track_state_t down = track(47.0, 8.0, 17000, 0, 0, -3000);
    assert_int_equal(dc_conformance_entries(eng, &down, "B", now, T_S, STEP_S, false, out, 4, &n),
                     DC_OK);
    assert_true(n == 1 && out[0].tte_s == 15);
    /* Refusals: an invalid report, look-ahead or step. */
    dc_track_state_t bad = north;
    bad.lat_deg = 95;
    assert_int_equal(dc_conformance_entries(eng, &bad, "B", now, T_S, STEP_S, false, out, 4, &n),
                     DC_ERR_INVALID);
    assert_int_equal(dc_conformance_entries(eng, &north, "B", now, 0, STEP_S, false, out, 4, &n),
                     DC_ERR_INVALID);
    assert_int_equal(dc_conformance_entries(eng, &north, "B", now, 3601, STEP_S, false, out, 4, &n),
                     DC_ERR_INVALID);
    assert_int_equal(dc_conformance_entries(eng, &north, "B", now, T_S, 0, false, out, 4, &n),
                     DC_ERR_INVALID);
    assert_int_equal(dc_conformance_entries(eng, &north, "B", now, T_S, T_S + 1, false, out, 4, &n),
                     DC_ERR_INVALID);
    dc_strategic_free(eng);
    /* Entries graded by time: inside now, within the warning time (its edge included), beyond. */
    assert_int_equal(dc_entry_level(0, 90), DC_ENTRY_INSIDE);
    assert_int_equal(dc_entry_level(90, 90), DC_ENTRY_WARNING);
    assert_int_equal(dc_entry_level(90.5, 90), DC_ENTRY_ADVISORY);
    assert_string_equal(dc_entry_level_name(DC_ENTRY_WARNING), "warning");
}

/* The reference's verdict for a point: 0 outside, 1 maybe (near a boundary), 2 inside. */
typedef struct ref_op {
    double lat, lon, r_m, lo_m, hi_m, t0, t1;
} ref_op_t;

static int ref_inside(const ref_op_t *o, double lat, double lon, double alt_ft, double t)
{
    double d = dist_m(o->lat, o->lon, lat, lon), alt_m = alt_ft * 0.3048;
    bool maybe = d < o->r_m * 1.006 + 2 && alt_m + 0.6 > o->lo_m && alt_m - 0.6 < o->hi_m &&
                 t + 1 > o->t0 && t < o->t1;
    bool sure = d < o->r_m * 0.994 - 2 && alt_m - 0.6 > o->lo_m && alt_m + 0.6 < o->hi_m &&
                t >= o->t0 + 0.01 && t + 1 <= o->t1 - 0.01;
    return sure ? 2 : maybe ? 1 : 0;
}

static double urand(unsigned *seed, double lo, double hi)
{
    return lo + (hi - lo) * (rand_r(seed) / (double)RAND_MAX);
}

static void test_against_reference(void **state)
{
    (void)state;
    unsigned seed = 20261203;
    enum { N_OPS = 12, N_TRACKS = 5000 };
    ref_op_t ref[N_OPS];
    dc_operation_t ops[N_OPS];
    for (int i = 0; i < N_OPS; i++) {
        ref_op_t *o = &ref[i];
        o->lat = urand(&seed, 46.5, 47.5), o->lon = urand(&seed, 7.0, 9.0);
        o->r_m = urand(&seed, 2000, 15000);
        o->lo_m = urand(&seed, 0, 3000), o->hi_m = o->lo_m + urand(&seed, 300, 5000);
        o->t0 = T_BASE_S + urand(&seed, 0, 200), o->t1 = o->t0 + urand(&seed, 30, 600);
        dc_volume4d_t v = test_circle(o->lat, o->lon, o->r_m, o->lo_m, o->hi_m, o->t0 - T_BASE_S,
                                      o->t1 - T_BASE_S);
        v.alt_lower_ref = v.alt_upper_ref = DC_ALT_REF_W84;
        char id[16];
        snprintf(id, sizeof(id), "op%d", i);
        ops[i] = test_op(id, i % 2 ? "A" : "C", 1, 1, &v);
    }
    dc_strategic_t *eng = engine_with(ops, N_OPS);
    size_t entries = 0, predicted = 0;
    for (int k = 0; k < N_TRACKS; k++) {
        dc_track_state_t st =
            track(urand(&seed, 46.3, 47.7), urand(&seed, 6.8, 9.2), urand(&seed, 0, 25000),
                  urand(&seed, 0, 500), urand(&seed, 0, 359.9), urand(&seed, -4000, 4000));
        st.t_s = T_BASE_S + urand(&seed, 0, 300);
        if (k % 10 == 0)
            st.gs_kt = urand(&seed, 0, 1), st.vs_fpm = urand(&seed, -100, 100); /* some hover */
        double now = st.t_s + urand(&seed, 0, 10);
        dc_op_entry_t out[N_OPS];
        size_t n;
        assert_int_equal(
            dc_conformance_entries(eng, &st, "B", now, T_S, STEP_S, false, out, N_OPS, &n), DC_OK);
        for (int i = 0; i < N_OPS; i++) {
            /* The reference's first maybe and first sure step. */
            double first_maybe = INFINITY, first_sure = INFINITY;
            for (double dt = 0; dt <= T_S + 1e-9; dt += STEP_S) {
                double lat = st.lat_deg, lon = st.lon_deg, alt = st.alt_ft;
                if (dt > 0) dc_track_state_at(&st, now + dt, &lat, &lon, &alt);
                int v = ref_inside(&ref[i], lat, lon, alt, now + dt);
                if (v >= 1 && isinf(first_maybe)) first_maybe = dt;
                if (v == 2 && isinf(first_sure)) first_sure = dt;
            }
            const dc_op_entry_t *e = NULL;
            char id[16];
            snprintf(id, sizeof(id), "op%d", i);
            for (size_t j = 0; j < n; j++)
                if (strcmp(out[j].ref, id) == 0) e = &out[j];
            if (!e) {
                if (isfinite(first_sure))
                    fail_msg("track %d (%.6f %.6f %.1f ft %.1f kt %.1f deg %.0f fpm t+%.1f "
                             "now+%.1f) op%d (%.6f %.6f r %.0f %.0f-%.0f m %.0f-%.0f s) entered at "
                             "%.0f s by the reference, not reported",
                             k, st.lat_deg, st.lon_deg, st.alt_ft, st.gs_kt, st.trk_deg, st.vs_fpm,
                             st.t_s - T_BASE_S, now - T_BASE_S, i, ref[i].lat, ref[i].lon,
                             ref[i].r_m, ref[i].lo_m, ref[i].hi_m, ref[i].t0 - T_BASE_S,
                             ref[i].t1 - T_BASE_S, first_sure);
                continue;
            }
            entries++;
            predicted += e->tte_s > 0;
            if (!(e->tte_s >= first_maybe && e->tte_s <= first_sure))
                fail_msg("track %d (%.17g %.17g %.17g ft %.17g kt %.17g deg %.17g fpm t+%.17g "
                         "now+%.17g) op%d (%.6f %.6f r %.0f %.0f-%.0f m %.0f-%.0f s) reported at "
                         "%.0f s, the reference says %.0f..%.0f s",
                         k, st.lat_deg, st.lon_deg, st.alt_ft, st.gs_kt, st.trk_deg, st.vs_fpm,
                         st.t_s - T_BASE_S, now - T_BASE_S, i, ref[i].lat, ref[i].lon, ref[i].r_m,
                         ref[i].lo_m, ref[i].hi_m, ref[i].t0 - T_BASE_S, ref[i].t1 - T_BASE_S, i,
                         e->tte_s, first_maybe, first_sure);
        }
    }
    /* Enough of both kinds for the test to mean something. */
    assert_true(entries >= 100 && predicted >= 50);
    dc_strategic_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_cases),
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
