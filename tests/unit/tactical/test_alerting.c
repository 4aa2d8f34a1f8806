/* Graded alerting (deconflict/alerting.h): each level, each filter on and off, persistence and
 * hysteresis, a turn the straight line misses, a level-off at the selected altitude, and the
 * refusals. Every case runs the engine under dc_alerting_candidate_config, as replay and the
 * bench do. Positions are built on a local plane at 46 N in NM. */
#include "testutil.h"

#include <math.h>

#include "deconflict/alerting.h"

#define LAT0 46.0
#define LON0 7.0

typedef struct harness {
    dc_tactical_t *eng;
    dc_alerting_t *al;
} harness_t;

static void h_init(harness_t *h, const dc_alerting_config_t *cfg)
{
    dc_tactical_config_t minima, cand;
    dc_tactical_config_default(&minima);
    h->al = dc_alerting_new(&minima, cfg);
    assert_non_null(h->al);
    dc_alerting_candidate_config(h->al, &cand);
    assert_true(cand.rpz_nm > minima.rpz_nm);
    h->eng = dc_tactical_new(&cand);
    assert_non_null(h->eng);
}

static void h_free(harness_t *h)
{
    dc_tactical_free(h->eng);
    dc_alerting_free(h->al);
}

static dc_track_state_t at(const char *id, double t, double x_nm, double y_nm, double alt_ft,
                           double gs_kt, double trk_deg, double vs_fpm)
{
    dc_track_state_t st;
    memset(&st, 0, sizeof(st));
    snprintf(st.id, sizeof(st.id), "%s", id);
    st.t_s = t;
    st.lat_deg = LAT0 + y_nm / 60.0;
    st.lon_deg = LON0 + x_nm / (60.0 * cos(LAT0 * M_PI / 180));
    st.alt_ft = alt_ft, st.gs_kt = gs_kt, st.trk_deg = trk_deg, st.vs_fpm = vs_fpm;
    return st;
}

static void h_report(harness_t *h, const dc_track_state_t *st, double step_ft, double sel_ft)
{
    dc_report_source_t src = {.alt_step_ft = step_ft, .selected_alt_ft = sel_ft};
    assert_int_equal(dc_tactical_update(h->eng, st, NULL), DC_OK);
    assert_int_equal(dc_alerting_report(h->al, st, &src, NULL), DC_OK);
}

/* A pass at now; the standing of pair (A, B), or NULL when it is not listed. */
static const dc_alert_t *h_pass(harness_t *h, double now)
{
    const dc_tactical_snapshot_t *snap;
    assert_int_equal(dc_tactical_detect(h->eng, now, NULL, &snap), DC_OK);
    assert_int_equal(dc_alerting_pass(h->al, snap), DC_OK);
    dc_tactical_snapshot_release(snap);
    for (size_t i = 0; i < dc_alerting_count(h->al); i++) {
        const dc_alert_t *a = dc_alerting_get(h->al, i);
        if (strcmp(a->id1, "A") == 0 && strcmp(a->id2, "B") == 0) return a;
    }
    return NULL;
}

static dc_alert_level_t level_of(const dc_alert_t *a)
{
    return a ? a->level : DC_ALERT_NONE;
}

/* Head-on at 450 kt each from 40 NM: A level at 35,000 ft reports at 0, 10, ..., B (alt_b,
 * vs_b; its altitude follows vs_b when climbs) at 5, 15, ...; predicted loss at 140 - t for a
 * co-altitude pair. levels[k]: the pair's level at the pass at 5 k s. */
static void run_head_on(harness_t *h, double t_end, double alt_b, double vs_b, bool climbs,
                        double step_ft, dc_alert_level_t *levels, const dc_alert_t **last)
{
    for (int k = 0; k * 5 <= t_end; k++) {
        double t = 5.0 * k;
        dc_track_state_t st = k % 2 == 0 ? at("A", t, 0.125 * t, 0, 35000, 450, 90, 0)
                                         : at("B", t, 40 - 0.125 * t, 0,
                                              alt_b + (climbs ? vs_b / 60 * t : 0), 450, 270, vs_b);
        h_report(h, &st, step_ft, NAN);
        if (k == 0) continue; /* B has not reported yet */
        *last = h_pass(h, t);
        levels[k] = level_of(*last);
    }
}

static void test_levels_and_persistence(void **state)
{
    (void)state;
    harness_t h;
    h_init(&h, NULL);
    dc_alert_level_t lv[40] = {0};
    const dc_alert_t *last = NULL;
    run_head_on(&h, 150, 35000, 0, false, 0, lv, &last);
    /* t = 10: predicted loss in 130 s, beyond the look-ahead */
    assert_int_equal(lv[2], DC_ALERT_NONE);
    /* t = 25 .. 45: within the look-ahead (115 .. 95 s), not within 90 s: advisory */
    for (int k = 5; k <= 9; k++) assert_int_equal(lv[k], DC_ALERT_ADVISORY);
    /* t = 55: the first update within 90 s was at 50 or 55; warning needs a second one 2 s
     * apart, so it is a warning from 60 at the latest -- and never before 50 */
    assert_int_equal(lv[11] >= DC_ALERT_ADVISORY, true);
    assert_int_equal(lv[12], DC_ALERT_WARNING);
    /* t = 145: 0.25 NM/s closure from 40 NM: within 5 NM from 140 s */
    assert_int_equal(lv[29], DC_ALERT_LOSS);
    assert_non_null(last);
    assert_true(last->eval.los_now && last->previous >= DC_ALERT_WARNING);
    h_free(&h);
}

static void test_persistence_counts_updates(void **state)
{
    (void)state;
    /* Passes without new reports are no new evidence: on the same two reports, passes every
     * second never confirm a warning; the next reports do. */
    harness_t h;
    h_init(&h, NULL);
    dc_track_state_t a = at("A", 0, 0, 0, 35000, 450, 90, 0);
    dc_track_state_t b = at("B", 0, 30, 0, 35000, 450, 270, 0);
    h_report(&h, &a, 0, NAN);
    h_report(&h, &b, 0, NAN);
    const dc_alert_t *al = NULL;
    for (double t = 1; t <= 29; t += 1) al = h_pass(&h, t);
    assert_int_equal(level_of(al), DC_ALERT_ADVISORY);
    assert_true(al->predicted && al->eval.tin_s < 90 && !al->confirmed);
    a = at("A", 30, 0.125 * 30, 0, 35000, 450, 90, 0); /* the second update */
    h_report(&h, &a, 0, NAN);
    assert_int_equal(level_of(h_pass(&h, 30)), DC_ALERT_ADVISORY); /* 1 of them within 90 s */
    b = at("B", 32, 30 - 0.125 * 32, 0, 35000, 450, 270, 0);       /* the third */
    h_report(&h, &b, 0, NAN);
    al = h_pass(&h, 32);
    assert_int_equal(level_of(al), DC_ALERT_WARNING);
    assert_true(al->confirmed && al->since_s == 1);
    h_free(&h);
}

static void test_quantisation_tolerance(void **state)
{
    (void)state;
    /* Two level aircraft read 975 ft apart: with 25 ft steps that is two adjacent levels, never
     * a conflict; with exact altitudes it is a loss. */
    harness_t h;
    dc_alert_level_t lv[40] = {0};
    const dc_alert_t *last = NULL;
    dc_alerting_config_t cfg;
    dc_alerting_config_default(&cfg);
    cfg.level_filter = false; /* the tolerance alone */
    h_init(&h, &cfg);
    run_head_on(&h, 150, 34025, 0, false, 25, lv, &last);
    for (int k = 0; k < 31; k++) assert_int_equal(lv[k], DC_ALERT_NONE);
    h_free(&h);
    h_init(&h, &cfg);
    run_head_on(&h, 150, 34025, 0, false, 0, lv, &last);
    assert_int_equal(lv[12], DC_ALERT_WARNING);
    assert_int_equal(lv[29], DC_ALERT_LOSS);
    h_free(&h);
}

static void test_level_flight_filter(void **state)
{
    (void)state;
    /* B 1000 ft below, level, its reported rate drifting at 128 fpm: the straight line brings it
     * within 1000 ft before the aircraft meet. */
    harness_t h;
    dc_alert_level_t lv[40] = {0};
    const dc_alert_t *last = NULL;
    h_init(&h, NULL);
    run_head_on(&h, 150, 34000, 128, false, 0, lv, &last);
    for (int k = 0; k < 31; k++) assert_int_equal(lv[k], DC_ALERT_NONE);
    h_free(&h);
    dc_alerting_config_t cfg;
    dc_alerting_config_default(&cfg);
    cfg.level_filter = false;
    h_init(&h, &cfg);
    run_head_on(&h, 150, 34000, 128, false, 0, lv, &last);
    assert_int_equal(lv[20], DC_ALERT_WARNING);
    h_free(&h);
    /* Not level (a 1,000 fpm climb): the filter does not apply. */
    h_init(&h, NULL);
    run_head_on(&h, 150, 33000, 1000, true, 0, lv, &last);
    assert_true(lv[20] >= DC_ALERT_WARNING);
    h_free(&h);
}

static void test_hysteresis(void **state)
{
    (void)state;
    /* A warning whose prediction stops (B turns away at 60 s) stays a warning for hold_s, then
     * comes down to none, listed once with previous = warning. */
    harness_t h;
    h_init(&h, NULL);
    const dc_alert_t *a = NULL;
    double t;
    for (t = 0; t <= 60; t += 5) {
        dc_track_state_t st = (int)t % 10 == 0 ? at("A", t, 0.125 * t, 0, 35000, 450, 90, 0)
                                               : at("B", t, 40 - 0.125 * t, 0, 35000, 450, 270, 0);
        h_report(&h, &st, 0, NAN);
        if (t > 0) a = h_pass(&h, t);
    }
    assert_int_equal(level_of(a), DC_ALERT_WARNING);
    /* B now flies north, away: not predicted any more. */
    double t_off = t;
    for (; t <= 60 + 40; t += 5) {
        dc_track_state_t st = (int)t % 10 == 0
                                  ? at("A", t, 0.125 * t, 0, 35000, 450, 90, 0)
                                  : at("B", t, 32.5, 0.125 * (t - 60), 35000, 450, 0, 0);
        h_report(&h, &st, 0, NAN);
        a = h_pass(&h, t);
        if (t - t_off < 15) {
            assert_int_equal(level_of(a), DC_ALERT_WARNING); /* held */
            assert_false(a->predicted);
        }
        if (a && a->level == DC_ALERT_NONE) break;
    }
    assert_non_null(a);
    assert_int_equal(a->level, DC_ALERT_NONE);
    assert_int_equal(a->previous, DC_ALERT_WARNING);
    assert_true(t - 60 >= 20); /* the default hold */
    a = h_pass(&h, t + 5);
    assert_null(a); /* no longer listed */
    h_free(&h);
}

static void test_turn_prediction(void **state)
{
    (void)state;
    /* A turns right at 3 deg/s (observed between its last two reports); a stationary object B
     * lies on the line A flies once it has turned 30 deg, 6 NM east of A's present straight line
     * (so the straight line misses it, by more than R, but within the candidate margin). */
    double v = 450.0 / 3600, w = 3 * M_PI / 180, r = v / w;
    double xe = r * (1 - cos(M_PI / 6)), ye = r * sin(M_PI / 6); /* after the 30 deg */
    double s = (6 - xe) / 0.5, xb = 6, yb = ye + s * cos(M_PI / 6);
    for (int turn = 1; turn >= 0; turn--) {
        dc_alerting_config_t cfg;
        dc_alerting_config_default(&cfg);
        cfg.turn_prediction = turn;
        harness_t h;
        h_init(&h, &cfg);
        dc_track_state_t a0 =
            at("A", -10, r * (1 - cos(M_PI / 6)), -r * sin(M_PI / 6), 35000, 450, 330, 0);
        dc_track_state_t a1 = at("A", 0, 0, 0, 35000, 450, 0, 0);
        h_report(&h, &a0, 0, NAN);
        h_report(&h, &a1, 0, NAN);
        dc_pair_eval_t straight;
        dc_track_state_t b = at("B", 0, xb, yb, 35000, 0, 0, 0);
        dc_tactical_config_t minima;
        dc_tactical_config_default(&minima);
        assert_int_equal(dc_tactical_pair(&a1, &b, 0, &minima, &straight), DC_OK);
        assert_false(straight.conflict); /* the straight line misses */
        const dc_alert_t *al = NULL;
        for (double t = 0; t <= 10; t += 5) {
            b.t_s = t;
            h_report(&h, &b, 0, NAN);
            al = h_pass(&h, t);
        }
        if (turn) {
            assert_int_equal(level_of(al), DC_ALERT_WARNING);
            assert_true(al->turning && al->eval.tin_s > 20 && al->eval.tin_s < 90);
        } else {
            assert_int_equal(level_of(al), DC_ALERT_NONE);
        }
        h_free(&h);
    }
}

static void test_selected_altitude(void **state)
{
    (void)state;
    /* B climbs 1,500 fpm from 4,000 ft below A and levels off 1,000 ft below it as they meet:
     * with the selected altitude known, no warning; without it, the straight line climbs
     * through A's level. */
    for (int known = 1; known >= 0; known--) {
        harness_t h;
        h_init(&h, NULL);
        const dc_alert_t *a = NULL;
        dc_alert_level_t worst = DC_ALERT_NONE;
        for (double t = 0; t <= 130; t += 5) {
            bool is_a = (int)t % 10 == 0;
            double alt_b = fmin(31000 + 1500.0 / 60 * t, 34000);
            double vs_b = alt_b < 34000 ? 1500 : 0;
            dc_track_state_t st = is_a ? at("A", t, 0.125 * t, 0, 35000, 450, 90, 0)
                                       : at("B", t, 40 - 0.125 * t, 0, alt_b, 450, 270, vs_b);
            h_report(&h, &st, 0, is_a || !known ? NAN : 34000);
            if (t > 0 && (a = h_pass(&h, t)) && a->level > worst) worst = a->level;
        }
        if (known)
            assert_true(worst < DC_ALERT_WARNING);
        else
            assert_true(worst >= DC_ALERT_WARNING);
        h_free(&h);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    dc_alerting_config_t cfg;
    const char *field = NULL;
    dc_alerting_config_default(&cfg);
    assert_int_equal(dc_alerting_config_validate(&cfg, &field), DC_OK);
    cfg.confirm_m = 4;
    assert_int_equal(dc_alerting_config_validate(&cfg, &field), DC_ERR_INVALID);
    assert_string_equal(field, "confirm_m");
    dc_alerting_config_default(&cfg);
    cfg.warning_s = NAN;
    assert_int_equal(dc_alerting_config_validate(&cfg, &field), DC_ERR_INVALID);
    assert_string_equal(field, "warning_s");
    dc_tactical_config_t minima;
    dc_tactical_config_default(&minima);
    assert_null(dc_alerting_new(&minima, &cfg));
    dc_alerting_t *al = dc_alerting_new(&minima, NULL);
    dc_track_state_t st = at("A", 0, 0, 0, 35000, 450, 90, 0);
    dc_report_source_t src = {.alt_step_ft = 600, .selected_alt_ft = NAN};
    assert_int_equal(dc_alerting_report(al, &st, &src, &field), DC_ERR_INVALID);
    assert_string_equal(field, "alt_step_ft");
    src = (dc_report_source_t){.alt_step_ft = 25, .selected_alt_ft = 1e9};
    assert_int_equal(dc_alerting_report(al, &st, &src, &field), DC_ERR_INVALID);
    assert_string_equal(field, "selected_alt_ft");
    st.lat_deg = 91;
    assert_int_equal(dc_alerting_report(al, &st, NULL, &field), DC_ERR_INVALID);
    /* A pass older than the last is refused. */
    dc_tactical_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    snap.now_s = 100;
    assert_int_equal(dc_alerting_pass(al, &snap), DC_OK);
    snap.now_s = 99;
    assert_int_equal(dc_alerting_pass(al, &snap), DC_ERR_INVALID);
    assert_string_equal(dc_alert_level_name(DC_ALERT_WARNING), "warning");
    dc_alerting_free(al);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_persistence),
        cmocka_unit_test(test_persistence_counts_updates),
        cmocka_unit_test(test_quantisation_tolerance),
        cmocka_unit_test(test_level_flight_filter),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_turn_prediction),
        cmocka_unit_test(test_selected_altitude),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
