/* The indexed engine against a brute-force O(N^2) reference (its sweep on one thread and cut
 * into slices on several), plus its table semantics: repeated
 * ids, out-of-order reports, staleness, expiry, removal, snapshots and concurrent updates. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>

#include "tactical/engine_internal.h"

typedef struct pairkey {
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    dc_pair_eval_t ev;
} pairkey_t;

static int pair_cmp(const void *x, const void *y)
{
    const pairkey_t *a = x, *b = y;
    int c = strcmp(a->id1, b->id1);
    return c ? c : strcmp(a->id2, b->id2);
}

/* Every pair, evaluated with the public single-pair function. */
static size_t brute_force(const dc_track_state_t *st, size_t n, double now,
                          const dc_tactical_config_t *cfg, pairkey_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(now - st[i].t_s) > cfg->stale_s) continue;
        for (size_t j = i + 1; j < n; j++) {
            if (fabs(now - st[j].t_s) > cfg->stale_s) continue;
            dc_pair_eval_t ev;
            assert_int_equal(dc_tactical_pair(&st[i], &st[j], now, cfg, &ev), DC_OK);
            if (!ev.conflict) continue;
            bool sw = strcmp(st[i].id, st[j].id) > 0;
            strcpy(out[k].id1, sw ? st[j].id : st[i].id);
            strcpy(out[k].id2, sw ? st[i].id : st[j].id);
            out[k++].ev = ev;
        }
    }
    qsort(out, k, sizeof(pairkey_t), pair_cmp);
    return k;
}

/* Traffic in a few dense clusters (so that conflicts happen), one of them across the
 * antimeridian and one near the north pole; report ages up to 40 s (some stale). */
static void gen(test_rng_t *r, dc_track_state_t *st, size_t n, double now)
{
    /* Switzerland, the antimeridian, near the pole, Sydney, and the corner of three faces of the
     * index's cube (x = y = z). */
    static const double centres[][2] = {
        {46.8, 8.2}, {0.0, 180.0}, {88.5, -30.0}, {-33.9, 151.2}, {35.26, 45.0}};
    for (size_t i = 0; i < n; i++) {
        const double *c = centres[i % 5];
        double lat = c[0] + (test_uniform(r) - 0.5) * 1.5;
        if (lat > 90) lat = 180 - lat;
        double lon = remainder(c[1] + (test_uniform(r) - 0.5) * (c[0] > 80 ? 60 : 2.0), 360.0);
        if (lon == 180.0) lon = -180.0;
        double alt = 30000 + 500 * floor(test_uniform(r) * 12);
        double vs = test_uniform(r) < 0.3 ? (test_uniform(r) - 0.5) * 6000 : 0;
        double trk = test_uniform(r) * 360;
        st[i] = test_state("", now - test_uniform(r) * 40, lat, lon, alt,
                           test_uniform(r) < 0.05 ? 0 : 100 + test_uniform(r) * 500,
                           trk >= 360 ? 0 : trk, vs);
        /* A quarter share their first 8 bytes: the conflicts' sort must look past them. */
        snprintf(st[i].id, sizeof(st[i].id), i % 4 == 3 ? "PREFIXED%05zu" : "T%05zu", i);
    }
}

static void assert_same(const pairkey_t *ref, size_t n_ref, const dc_tactical_snapshot_t *snap,
                        double tol)
{
    if (n_ref != snap->n_conflicts) {
        print_error("brute force %zu conflicts, engine %zu\n", n_ref, snap->n_conflicts);
        fail();
    }
    for (size_t i = 0; i < n_ref; i++) {
        const dc_conflict_t *c = &snap->conflicts[i];
        assert_string_equal(ref[i].id1, c->id1);
        assert_string_equal(ref[i].id2, c->id2);
        assert_true(fabs(ref[i].ev.tin_s - c->eval.tin_s) <= tol);
        assert_true(fabs(ref[i].ev.tout_s - c->eval.tout_s) <= tol);
        assert_true(fabs(ref[i].ev.tcpa_s - c->eval.tcpa_s) <= tol);
        assert_true(fabs(ref[i].ev.dcpa_nm - c->eval.dcpa_nm) <= tol);
        assert_int_equal(ref[i].ev.los_now, c->eval.los_now);
    }
}

/* A new engine fed the n states finds at now exactly the k pairs of ref, in the same order,
 * whether it sorts its conflicts by id or by the tracks' ranks (dc_tactical_rank_min_share). */
static void assert_fresh_engine_same(const dc_tactical_config_t *cfg, const dc_track_state_t *st,
                                     size_t n, double now, const pairkey_t *ref, size_t k)
{
    double saved = dc_tactical_rank_min_share;
    for (int ranked = 0; ranked < 2; ranked++) {
        dc_tactical_rank_min_share = ranked ? 0 : 1e9;
        dc_tactical_t *eng = dc_tactical_new(cfg);
        /* Ranked, the tracks come in the reverse order of their ids: the ranks must not lean on
         * the order they came in. */
        for (size_t i = 0; i < n; i++) dc_tactical_update(eng, &st[ranked ? n - 1 - i : i], NULL);
        const dc_tactical_snapshot_t *snap;
        assert_int_equal(dc_tactical_detect(eng, now, NULL, &snap), DC_OK);
        assert_same(ref, k, snap, 1e-9);
        dc_tactical_snapshot_release(snap);
        dc_tactical_free(eng);
    }
    dc_tactical_rank_min_share = saved;
}

static void test_matches_brute_force(void **state)
{
    (void)state;
    uint64_t seed = test_seed("engine vs brute force", 20181001);
    test_rng_t rng = {seed};
    const size_t n = 1200;
    dc_track_state_t *st = malloc(n * sizeof(*st));
    pairkey_t *ref = malloc(n * n / 2 * sizeof(*ref));
    assert_non_null(st);
    assert_non_null(ref);
    const double lookaheads[] = {120, 300, 30};
    const double minima[][2] = {{5, 1000}, {3, 1000}, {10, 2000}};
    for (int round = 0; round < 3; round++) {
        double now = 1.5e9 + round * 1000.5;
        gen(&rng, st, n, now);
        dc_tactical_config_t cfg;
        dc_tactical_config_default(&cfg);
        cfg.lookahead_s = lookaheads[round];
        cfg.rpz_nm = minima[round][0];
        cfg.hpz_ft = minima[round][1];
        dc_tactical_t *eng = dc_tactical_new(&cfg);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(dc_tactical_update(eng, &st[i], NULL), DC_OK);
        const dc_tactical_snapshot_t *snap;
        assert_int_equal(dc_tactical_detect(eng, now, NULL, &snap), DC_OK);
        size_t k = brute_force(st, n, now, &cfg, ref);
        printf("[ info ] round %d: %zu live, %zu stale, %llu candidates, %zu conflicts\n", round,
               snap->stats.live, snap->stats.stale, (unsigned long long)snap->stats.candidates, k);
        assert_true(k > 10); /* the clusters must actually produce conflicts */
        assert_true(snap->stats.stale > 0);
        assert_same(ref, k, snap, 1e-9);
        dc_tactical_snapshot_release(snap);

        /* Every resolution of the index (one slice with cells 8x a slice's box, up to 8
         * slices) finds exactly the same. */
        const double resolutions[] = {0.125, 0.5, 1, 2, 3, 8};
        for (size_t ri = 0; ri < sizeof(resolutions) / sizeof(resolutions[0]); ri++) {
            dc_tactical_resolution_fixed = resolutions[ri];
            assert_fresh_engine_same(&cfg, st, n, now, ref, k);
        }
        dc_tactical_resolution_fixed = 0;

        /* The sweep cut into slices on several threads finds exactly the same. */
        size_t saved = dc_tactical_parallel_min_entries;
        dc_tactical_parallel_min_entries = 0;
        assert_fresh_engine_same(&cfg, st, n, now, ref, k);
        dc_tactical_parallel_min_entries = saved;

        /* Time-shift invariance: the same scene an hour and a half second later. */
        dc_tactical_t *eng2 = dc_tactical_new(&cfg);
        for (size_t i = 0; i < n; i++) {
            dc_track_state_t s = st[i];
            s.t_s += 3600.5;
            dc_tactical_update(eng2, &s, NULL);
        }
        assert_int_equal(dc_tactical_detect(eng2, now + 3600.5, NULL, &snap), DC_OK);
        assert_same(ref, k, snap, 1e-6);
        dc_tactical_snapshot_release(snap);
        dc_tactical_free(eng2);
        dc_tactical_free(eng);
    }
    free(ref);
    free(st);
}

static void test_symmetry(void **state)
{
    (void)state;
    uint64_t seed = test_seed("pair symmetry", 7);
    test_rng_t rng = {seed};
    dc_track_state_t st[400];
    gen(&rng, st, 400, 1e9);
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    cfg.stale_s = 60;
    for (size_t i = 0; i + 1 < 400; i += 2) {
        dc_pair_eval_t ab, ba;
        dc_tactical_pair(&st[i], &st[i + 1], 1e9, &cfg, &ab);
        dc_tactical_pair(&st[i + 1], &st[i], 1e9, &cfg, &ba);
        assert_int_equal(ab.conflict, ba.conflict);
        assert_true(fabs(ab.hsep_nm - ba.hsep_nm) < 1e-9);
        assert_true(fabs(ab.tcpa_s - ba.tcpa_s) < 1e-6);
        if (ab.conflict) assert_true(fabs(ab.tin_s - ba.tin_s) < 1e-6);
    }
}

static const dc_tactical_snapshot_t *pass(dc_tactical_t *eng, double now)
{
    const dc_tactical_snapshot_t *snap;
    assert_int_equal(dc_tactical_detect(eng, now, NULL, &snap), DC_OK);
    return snap;
}

/* A report stamped ahead of the clock (a client clock an hour fast, a time in milliseconds)
 * must never freeze the track: later, correct reports replace it and the pair is detected. */
static void test_future_report_never_freezes(void **state)
{
    (void)state;
    dc_tactical_t *eng = dc_tactical_new(NULL);
    /* Head-on, 0.3 degrees apart at the equator: in conflict within the look-ahead. */
    dc_tactical_update(eng, &(dc_track_state_t){"A", 1000, 0, 0, 35000, 480, 90, 0}, NULL);
    dc_tactical_update(eng, &(dc_track_state_t){"B", 1200, 0, 0.3, 35000, 480, 270, 0}, NULL);
    const dc_tactical_snapshot_t *s1 = pass(eng, 1000);
    assert_int_equal(s1->stats.stale, 1); /* B, 200 s ahead: not predicted, not expired */
    assert_int_equal(s1->n_conflicts, 0);
    dc_tactical_update(eng, &(dc_track_state_t){"A", 1001, 0, 0, 35000, 480, 90, 0}, NULL);
    dc_tactical_update(eng, &(dc_track_state_t){"B", 1001, 0, 0.3, 35000, 480, 270, 0}, NULL);
    const dc_tactical_snapshot_t *s2 = pass(eng, 1001);
    assert_int_equal(s2->stats.out_of_order, 0);
    assert_int_equal(s2->stats.stale, 0);
    assert_int_equal(s2->n_conflicts, 1);
    /* Once the stored time is not ahead of the clock, an older report is ignored again. */
    dc_tactical_update(eng, &(dc_track_state_t){"B", 995, 0, 0.9, 35000, 480, 270, 0}, NULL);
    const dc_tactical_snapshot_t *s3 = pass(eng, 1002);
    assert_int_equal(s3->stats.out_of_order, 1);
    assert_int_equal(s3->n_conflicts, 1);
    dc_tactical_snapshot_release(s1);
    dc_tactical_snapshot_release(s2);
    dc_tactical_snapshot_release(s3);
    dc_tactical_free(eng);
}

static void test_table_semantics(void **state)
{
    (void)state;
    dc_tactical_t *eng = dc_tactical_new(NULL);
    dc_tactical_update(eng, &(dc_track_state_t){"A", 100, 0, 0, 35000, 480, 90, 0}, NULL);
    dc_tactical_update(eng, &(dc_track_state_t){"B", 100, 0, 0.3, 35000, 480, 270, 0}, NULL);
    /* The same id twice: the newer report wins, the older one is ignored and counted. */
    dc_tactical_update(eng, &(dc_track_state_t){"B", 90, 0, 0.9, 35000, 480, 270, 0}, NULL);
    dc_tactical_update(eng, &(dc_track_state_t){"A", 100, 0, 0, 35000, 480, 90, 0}, NULL);
    const dc_tactical_snapshot_t *s1 = pass(eng, 100);
    assert_int_equal(s1->stats.tracks, 2);
    assert_int_equal(s1->stats.out_of_order, 1);
    assert_int_equal(s1->n_conflicts, 1);
    assert_string_equal(s1->conflicts[0].id1, "A");
    assert_string_equal(s1->conflicts[0].id2, "B");

    /* Stale: 31 s after B's report it is excluded but kept; the held snapshot is unchanged. */
    dc_tactical_update(eng, &(dc_track_state_t){"A", 131, 0, 0, 35000, 480, 90, 0}, NULL);
    const dc_tactical_snapshot_t *s2 = pass(eng, 131);
    assert_int_equal(s2->stats.stale, 1);
    assert_int_equal(s2->stats.tracks, 2);
    assert_int_equal(s2->n_conflicts, 0);
    assert_int_equal(s1->n_conflicts, 1);
    assert_string_equal(s1->conflicts[0].id2, "B");

    /* Expiry after 300 s, removal by id, removal of an unknown id. */
    dc_tactical_update(eng, &(dc_track_state_t){"C", 401, 10, 10, 35000, 480, 90, 0}, NULL);
    dc_tactical_remove(eng, "nobody");
    const dc_tactical_snapshot_t *s3 = pass(eng, 401);
    assert_int_equal(s3->stats.expired, 1); /* B, last reported at 100 */
    assert_int_equal(s3->stats.tracks, 2);
    dc_tactical_remove(eng, "A");
    const dc_tactical_snapshot_t *s4 = pass(eng, 402);
    assert_int_equal(s4->stats.tracks, 1);

    const dc_tactical_snapshot_t *cur = dc_tactical_snapshot_acquire(eng);
    assert_ptr_equal(cur, s4);
    dc_tactical_snapshot_release(cur);
    dc_tactical_snapshot_release(s1);
    dc_tactical_snapshot_release(s2);
    dc_tactical_snapshot_release(s3);
    dc_tactical_free(eng); /* s4 outlives the engine */
    assert_int_equal(s4->stats.tracks, 1);
    dc_tactical_snapshot_release(s4);
}

static void test_rejects_invalid(void **state)
{
    (void)state;
    dc_tactical_t *eng = dc_tactical_new(NULL);
    const char *field = NULL;
    dc_track_state_t bad = test_state("X", 0, 95, 0, 1000, 100, 0, 0);
    assert_int_equal(dc_tactical_update(eng, &bad, &field), DC_ERR_INVALID);
    assert_string_equal(field, "lat");
    assert_int_equal(dc_tactical_detect(eng, NAN, NULL, NULL), DC_ERR_INVALID);
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    cfg.hpz_ft = -5;
    assert_null(dc_tactical_new(&cfg));
    assert_int_equal(dc_tactical_detect(eng, 0, &cfg, NULL), DC_ERR_INVALID);
    assert_null(dc_tactical_snapshot_acquire(eng)); /* no pass has succeeded */
    dc_tactical_free(eng);
    dc_tactical_free(NULL);
    dc_tactical_snapshot_release(NULL);
}

/* Writers queue updates while the detection thread runs passes and readers hold snapshots. */
typedef struct writer_arg {
    dc_tactical_t *eng;
    int which;
} writer_arg_t;

static void *writer(void *p)
{
    writer_arg_t *w = p;
    for (int round = 0; round < 200; round++)
        for (int i = 0; i < 50; i++) {
            dc_track_state_t s =
                test_state("", 1000 + round, 47 + i * 0.01, 8 + w->which * 0.02, 35000, 400, 90, 0);
            snprintf(s.id, sizeof(s.id), "W%d-%02d", w->which, i);
            assert_int_equal(dc_tactical_update(w->eng, &s, NULL), DC_OK);
        }
    return NULL;
}

static void *reader(void *p)
{
    dc_tactical_t *eng = p;
    for (int i = 0; i < 2000; i++) {
        const dc_tactical_snapshot_t *s = dc_tactical_snapshot_acquire(eng);
        if (s) assert_true(s->n_conflicts <= s->stats.live * s->stats.live);
        dc_tactical_snapshot_release(s);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    dc_tactical_t *eng = dc_tactical_new(NULL);
    pthread_t w[2], r;
    writer_arg_t args[2] = {{eng, 0}, {eng, 1}};
    for (int i = 0; i < 2; i++) pthread_create(&w[i], NULL, writer, &args[i]);
    pthread_create(&r, NULL, reader, eng);
    for (int i = 0; i < 100; i++)
        assert_int_equal(dc_tactical_detect(eng, 1100, NULL, NULL), DC_OK);
    for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
    pthread_join(r, NULL);
    const dc_tactical_snapshot_t *s = pass(eng, 1199);
    assert_int_equal(s->stats.tracks, 100); /* 2 writers x 50 ids, nothing lost or doubled */
    assert_int_equal(s->stats.live, 100);
    dc_tactical_snapshot_release(s);
    dc_tactical_free(eng);
}

/* dc_track_state_at is the engine's own extrapolation: the point it gives is where
 * dc_tactical_separation_at puts the aircraft (a stationary state there is 0 m away), and 60 s
 * at 450 kt due north is 7.5 NM north. */
static void test_state_at(void **state)
{
    (void)state;
    dc_track_state_t s = {.id = "A",
                          .t_s = 1000,
                          .lat_deg = 46,
                          .lon_deg = 7,
                          .alt_ft = 30000,
                          .gs_kt = 450,
                          .trk_deg = 0,
                          .vs_fpm = 1200};
    double lat, lon, alt;
    dc_track_state_at(&s, 1060, &lat, &lon, &alt);
    assert_true(fabs((lat - 46) * 60 - 7.5) < 0.05 && fabs(lon - 7) < 1e-6);
    assert_true(fabs(alt - 31200) < 1e-3);
    dc_track_state_t at = {.id = "B", .t_s = 1060, .lat_deg = lat, .lon_deg = lon, .alt_ft = alt};
    double h_nm, v_ft;
    dc_tactical_separation_at(&s, &at, 1060, 0, &h_nm, &v_ft);
    assert_true(h_nm * 1852 < 1 && v_ft < 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_symmetry),
        cmocka_unit_test(test_table_semantics),
        cmocka_unit_test(test_rejects_invalid),
        cmocka_unit_test(test_future_report_never_freezes),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_state_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
