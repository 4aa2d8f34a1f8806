/* Pairwise verdicts on hand-built cases: touching edges and vertices, the 1 cm tolerance,
 * concave polygons, the antimeridian, the poles, circles, time and altitude edges, the FL/W84
 * assumption, priorities, same-party filtering, and areas against PROJ's geodesic area. */
#include "strategic_testutil.h"

#include <geodesic.h>
#include "deconflict/geo.h"
#include <jansson.h>
#include <math.h>

/* 1 cm in degrees of longitude at the equator. */
#define CM_DEG (0.01 / 111319.49)
#define M_DEG  (1.0 / 111319.49)

typedef struct pair_case {
    const char *name;
    dc_volume4d_t a, b;
    int conflict; /* expected */
    int touching; /* expected when conflicting; -1: don't care */
} pair_case_t;

/* Files a as party A then b as party B; returns B's result (caller clears). */
static dc_strategic_result_t file_two(dc_volume4d_t a, dc_volume4d_t b, int64_t pa, int64_t pb,
                                      const char *party_b, const dc_strategic_config_t *cfg)
{
    dc_strategic_t *eng = dc_strategic_new(cfg);
    assert_non_null(eng);
    dc_operation_t oa = test_op("op-a", "A", pa, 1, &a);
    dc_operation_t ob = test_op("op-b", party_b, pb, 1, &b);
    snprintf(oa.ref, sizeof(oa.ref), "ref-of-a");
    assert_int_equal(dc_strategic_file(eng, &oa, NULL), DC_OK);
    dc_strategic_result_t res;
    assert_int_equal(dc_strategic_file(eng, &ob, &res), DC_OK);
    dc_operation_clear(&oa);
    dc_operation_clear(&ob);
    dc_strategic_free(eng);
    return res;
}

static void run_case(pair_case_t *c)
{
    dc_strategic_result_t res = file_two(c->a, c->b, 0, 0, "B", NULL);
    int got = res.n_conflicts > 0;
    printf("  %-48s %s (expected %s)%s\n", c->name, got ? "conflict" : "clear",
           c->conflict ? "conflict" : "clear",
           got && res.conflicts[0].touching ? ", touching" : "");
    if (got != c->conflict) fail_msg("case '%s'", c->name);
    if (got && c->touching >= 0 && res.conflicts[0].touching != c->touching)
        fail_msg("case '%s': touching %d, expected %d", c->name, res.conflicts[0].touching,
                 c->touching);
    if (got) {
        assert_string_equal(res.conflicts[0].other_ref, "ref-of-a");
        assert_string_equal(res.conflicts[0].other_party, "A");
        assert_non_null(res.conflicts[0].footprint_geojson);
    }
    dc_strategic_result_clear(&res);
}

static void test_footprint_table(void **state)
{
    (void)state;
    const double H = 3600;
    /* Concave U: a 100 m x 100 m square with a 40 m wide, 80 m deep notch from the north. */
    double u[] = {0,           0,           0,           100 * M_DEG,
                  100 * M_DEG, 100 * M_DEG, 100 * M_DEG, 70 * M_DEG,
                  20 * M_DEG,  70 * M_DEG,  20 * M_DEG,  30 * M_DEG,
                  100 * M_DEG, 30 * M_DEG,  100 * M_DEG, 0};
    /* A polygon around the north pole. */
    double pole[] = {89.9, 0, 89.9, 90, 89.9, 180, 89.9, -90};
    pair_case_t cases[] = {
        {"overlapping squares", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0.005, 0.005, 0.015, 0.015, 0, 100, 0, H), 1, 0},
        {"shared edge", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0.01, 0.01, 0.02, 0, 100, 0, H), 1, 1},
        {"shared vertex only", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0.01, 0.01, 0.02, 0.02, 0, 100, 0, H), 1, 1},
        {"gap of 0.5 cm (within tolerance)", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0.01 + 0.5 * CM_DEG, 0.01, 0.02, 0, 100, 0, H), 1, 1},
        {"gap of 2 cm", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0.01 + 2 * CM_DEG, 0.01, 0.02, 0, 100, 0, H), 0, -1},
        {"gap of 5.57 m", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0.01 + 5.57 * M_DEG, 0.01, 0.02, 0, 100, 0, H), 0, -1},
        {"concave: box in the notch, 5 m clear", test_poly(8, u, 0, 100, 0, H),
         test_box(40 * M_DEG, 35 * M_DEG, 90 * M_DEG, 65 * M_DEG, 0, 100, 0, H), 0, -1},
        {"concave: box in the notch, into an arm", test_poly(8, u, 0, 100, 0, H),
         test_box(40 * M_DEG, 25 * M_DEG, 90 * M_DEG, 65 * M_DEG, 0, 100, 0, H), 1, 0},
        {"concave: bounding boxes overlap, shapes do not", test_poly(8, u, 0, 100, 0, H),
         test_box(30 * M_DEG, 30.5 * M_DEG, 99 * M_DEG, 69.5 * M_DEG, 0, 100, 0, H), 0, -1},
        {"antimeridian: across +/-180", test_box(10, 179.9, 10.1, -179.9, 0, 100, 0, H),
         test_box(10.05, -179.95, 10.2, -179.8, 0, 100, 0, H), 1, 0},
        {"antimeridian: west of it, clear", test_box(10, 179.9, 10.1, -179.9, 0, 100, 0, H),
         test_box(10, -179.85, 10.1, -179.8, 0, 100, 0, H), 0, -1},
        {"north pole: polygon around it, box inside", test_poly(4, pole, 0, 100, 0, H),
         test_box(89.95, 40, 89.96, 50, 0, 100, 0, H), 1, 0},
        {"north pole: box outside the polygon", test_poly(4, pole, 0, 100, 0, H),
         test_box(89.5, 40, 89.6, 50, 0, 100, 0, H), 0, -1},
        {"south pole: two boxes across it", test_box(-89.99, -10, -89.98, 10, 0, 100, 0, H),
         test_box(-89.99, 170, -89.98, -170, 0, 100, 0, H), 0, -1},
        {"circle 1 km vs box 2 m beyond", test_circle(45, 7, 1000, 0, 100, 0, H),
         test_box(44.99, 7 + 1002 / (111319.49 * cos(45 * M_PI / 180)) + 0.0, 45.01, 7.02, 0, 100,
                  0, H),
         0, -1},
        {"circle 1 km vs box 1 m inside", test_circle(45, 7, 1000, 0, 100, 0, H),
         test_box(44.99, 7 + 999 / (111319.49 * cos(45 * M_PI / 180)), 45.01, 7.02, 0, 100, 0, H),
         1, 0},
        {"circles 990 m, 2 km apart", test_circle(0, 0, 990, 0, 100, 0, H),
         test_circle(0, 2000 * M_DEG, 990, 0, 100, 0, H), 0, -1},
        {"circles 1000.5 m, 2 km apart", test_circle(0, 0, 1000.5, 0, 100, 0, H),
         test_circle(0, 2000 * M_DEG, 1000.5, 0, 100, 0, H), 1, 0},
        {"time: end meets start", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0, 0.01, 0.01, 0, 100, H, 2 * H), 0, -1},
        {"time: 1 s overlap", test_box(0, 0, 0.01, 0.01, 0, 100, 0, H),
         test_box(0, 0, 0.01, 0.01, 0, 100, H - 1, 2 * H), 1, 0},
        {"altitude: bands meet at 120 m", test_box(0, 0, 0.01, 0.01, 0, 120, 0, H),
         test_box(0, 0, 0.01, 0.01, 120, 300, 0, H), 0, -1},
        {"altitude: 0.5 m overlap", test_box(0, 0, 0.01, 0.01, 0, 120, 0, H),
         test_box(0, 0, 0.01, 0.01, 119.5, 300, 0, H), 1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i]);
}

/* The area and the overlap bounds reported, against PROJ's geodesic area of the expected
 * overlap rectangle. */
static void test_overlap_values(void **state)
{
    (void)state;
    dc_strategic_result_t res =
        file_two(test_box(46.0, 7.0, 46.02, 7.02, 100, 500, 0, 7200),
                 test_box(46.01, 7.01, 46.03, 7.03, 300, 900, 3600, 10800), 0, 0, "B", NULL);
    assert_int_equal(res.n_conflicts, 1);
    const dc_strategic_conflict_t *c = &res.conflicts[0];
    struct geod_geodesic g;
    geod_init(&g, 6378137, 1 / 298.257223563);
    double lats[] = {46.01, 46.01, 46.02, 46.02}, lons[] = {7.01, 7.02, 7.02, 7.01}, area;
    geod_polygonarea(&g, lats, lons, 4, &area, NULL);
    printf("  overlap area %.3f m2, PROJ %.3f m2, relative difference %.1e\n", c->area_m2,
           fabs(area), fabs(c->area_m2 - fabs(area)) / fabs(area));
    /* Edges are great circles here and geodesics in PROJ: a 1 km box differs by far less. */
    assert_true(fabs(c->area_m2 - fabs(area)) < 1e-4 * fabs(area));
    assert_near(c->alt_lower_m, 300, 1e-9);
    assert_near(c->alt_upper_m, 500, 1e-9);
    assert_near(c->t_start_s, T_BASE_S + 3600, 1e-6);
    assert_near(c->t_end_s, T_BASE_S + 7200, 1e-6);
    assert_false(c->touching);
    assert_false(c->alt_assumption);
    /* The footprint is the intersection: every coordinate inside both boxes. Edges are great
     * circles, so where the top edge crosses the meridian 7.01 it lies ~9e-7 deg north of the
     * 46.02 parallel: allow 2e-6 deg. */
    json_error_t jerr;
    json_t *gj = json_loads(c->footprint_geojson, 0, &jerr);
    assert_non_null(gj);
    assert_string_equal(json_string_value(json_object_get(gj, "type")), "Polygon");
    json_t *ring = json_array_get(json_object_get(gj, "coordinates"), 0);
    assert_true(json_array_size(ring) >= 5);
    for (size_t i = 0; i < json_array_size(ring); i++) {
        double lon = json_number_value(json_array_get(json_array_get(ring, i), 0));
        double lat = json_number_value(json_array_get(json_array_get(ring, i), 1));
        assert_true(lon > 7.01 - 1e-9 && lon < 7.02 + 1e-9);
        assert_true(lat > 46.01 - 1e-9 && lat < 46.02 + 2e-6);
    }
    json_decref(gj);
    dc_strategic_result_clear(&res);

    /* A concave footprint (GEOS's overlay path), 0.5 deg (~30-55 km) across at 60 N: an L whose
     * arm a box crosses. Edges are great circles, whose vertices here lie up to ~17 m off the
     * parallels, so the reference is PROJ's area of the returned intersection's own vertices. */
    double l_shape[] = {60.0, 10.0, 60.0, 10.5, 60.1, 10.5, 60.1, 10.1, 60.5, 10.1, 60.5, 10.0};
    res = file_two(test_poly(6, l_shape, 0, 100, 0, 600),
                   test_box(60.05, 10.2, 60.3, 10.4, 0, 100, 0, 600), 0, 0, "B", NULL);
    assert_int_equal(res.n_conflicts, 1);
    gj = json_loads(res.conflicts[0].footprint_geojson, 0, &jerr);
    assert_non_null(gj);
    ring = json_array_get(json_object_get(gj, "coordinates"), 0);
    size_t nr = json_array_size(ring) - 1; /* closed */
    double rl[16], rn[16];
    assert_true(nr >= 4 && nr <= 16);
    for (size_t i = 0; i < nr; i++) {
        rn[i] = json_number_value(json_array_get(json_array_get(ring, i), 0));
        rl[i] = json_number_value(json_array_get(json_array_get(ring, i), 1));
    }
    geod_polygonarea(&g, rl, rn, (int)nr, &area, NULL);
    json_decref(gj);
    printf("  concave overlap area %.1f m2, PROJ %.1f m2, relative difference %.1e\n",
           res.conflicts[0].area_m2, fabs(area),
           fabs(res.conflicts[0].area_m2 - fabs(area)) / fabs(area));
    assert_true(fabs(res.conflicts[0].area_m2 - fabs(area)) < 1e-4 * fabs(area));
    dc_strategic_result_clear(&res);
}

/* Flight levels against W84 heights: equal by assumption, flagged within the margin. */
static void test_fl_assumption(void **state)
{
    (void)state;
    struct {
        double lo_m, hi_m;
        int conflict, flagged;
    } t[] = {
        {3100, 4000, 1, 1}, /* 52 m above FL100 (3048 m): a nominal gap within the margin */
        {4000, 5000, 0, 0}, /* 952 m above: clear whatever the atmosphere */
        {2000, 2500, 1, 0}, /* 548 m inside the band: a conflict whatever the atmosphere */
        {2900, 3500, 1, 1}, /* 148 m overlap: within the margin */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        dc_volume4d_t a = test_box(0, 0, 0.01, 0.01, 0, 100 * 100 * DC_M_PER_FT, 0, 3600);
        a.alt_lower_ref = DC_ALT_REF_FL;
        a.alt_upper_ref = DC_ALT_REF_FL;
        dc_strategic_result_t res =
            file_two(a, test_box(0, 0, 0.01, 0.01, t[i].lo_m, t[i].hi_m, 0, 3600), 0, 0, "B", NULL);
        printf("  FL000-FL100 vs W84 %.0f-%.0f m: %zu conflict(s)%s\n", t[i].lo_m, t[i].hi_m,
               res.n_conflicts,
               res.n_conflicts && res.conflicts[0].alt_assumption ? ", flagged" : "");
        assert_int_equal(res.n_conflicts > 0, t[i].conflict);
        if (t[i].conflict) assert_int_equal(res.conflicts[0].alt_assumption, t[i].flagged);
        dc_strategic_result_clear(&res);
    }
    /* FL against FL is a like-for-like comparison: a 52 m gap is clear. */
    dc_volume4d_t a = test_box(0, 0, 0.01, 0.01, 0, 3048, 0, 3600);
    dc_volume4d_t b = test_box(0, 0, 0.01, 0.01, 3100, 4000, 0, 3600);
    a.alt_lower_ref = a.alt_upper_ref = b.alt_lower_ref = b.alt_upper_ref = DC_ALT_REF_FL;
    dc_strategic_result_t res = file_two(a, b, 0, 0, "B", NULL);
    assert_int_equal(res.n_conflicts, 0);
}

static void test_priority_and_party(void **state)
{
    (void)state;
    int64_t prios[][2] = {{10, 0}, {5, 5}, {0, 10}};
    dc_priority_cmp_t want[] = {DC_PRIORITY_LOWER, DC_PRIORITY_EQUAL, DC_PRIORITY_HIGHER};
    for (int i = 0; i < 3; i++) {
        dc_strategic_result_t res = file_two(test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60),
                                             test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60), prios[i][0],
                                             prios[i][1], "B", NULL);
        assert_int_equal(res.n_conflicts, 1);
        assert_int_equal(res.conflicts[0].priority, want[i]);
        dc_strategic_result_clear(&res);
    }
    /* Same party: off by default, on when configured. */
    dc_strategic_result_t res =
        file_two(test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60),
                 test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60), 0, 0, "A", NULL);
    assert_int_equal(res.n_conflicts, 0);
    dc_strategic_config_t cfg;
    dc_strategic_config_default(&cfg);
    cfg.include_same_party = true;
    res = file_two(test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60),
                   test_box(0, 0, 0.01, 0.01, 0, 100, 0, 60), 0, 0, "A", &cfg);
    assert_int_equal(res.n_conflicts, 1);
    dc_strategic_result_clear(&res);
}

/* Need-to-know: a conflict names the other operation only by its ref and carries only the
 * overlap -- none of the other operation's other volumes, not its id. */
static void test_disclosure(void **state)
{
    (void)state;
    dc_strategic_t *eng = dc_strategic_new(NULL);
    dc_volume4d_t av[2] = {test_box(10, 20, 10.01, 20.01, 0, 100, 0, 600),
                           test_box(30.123456, 40.654321, 30.2, 40.7, 0, 100, 0, 600)};
    dc_operation_t a = test_op("secret-mission-7", "A", 0, 2, av);
    snprintf(a.ref, sizeof(a.ref), "c0ffee");
    assert_int_equal(dc_strategic_file(eng, &a, NULL), DC_OK);
    dc_volume4d_t bv[2] = {test_box(50, 50, 50.01, 50.01, 0, 100, 0, 600),
                           test_box(10.005, 20.005, 10.02, 20.02, 50, 300, 0, 600)};
    dc_operation_t b = test_op("b", "B", 0, 2, bv);
    dc_strategic_result_t res;
    assert_int_equal(dc_strategic_file(eng, &b, &res), DC_OK);
    assert_int_equal(res.n_conflicts, 1);
    const dc_strategic_conflict_t *c = &res.conflicts[0];
    assert_int_equal(c->volume_index, 1);
    assert_string_equal(c->other_ref, "c0ffee");
    assert_null(strstr(c->footprint_geojson, "secret"));
    assert_null(strstr(c->footprint_geojson, "30.12"));
    assert_null(strstr(c->footprint_geojson, "40.65"));
    assert_near(c->alt_lower_m, 50, 1e-9);
    assert_near(c->alt_upper_m, 100, 1e-9);
    dc_strategic_result_clear(&res);
    dc_operation_clear(&a);
    dc_operation_clear(&b);
    dc_strategic_free(eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footprint_table), cmocka_unit_test(test_overlap_values),
        cmocka_unit_test(test_fl_assumption),   cmocka_unit_test(test_priority_and_party),
        cmocka_unit_test(test_disclosure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
