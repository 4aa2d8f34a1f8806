/* Regions (areas, one side of a line) against a closed-form reference and in known cases.
 *
 * The reference decides membership of a side region from its definition alone, with spherical
 * trigonometry and no polygons: a point is on side s of segment a->b when its along-track angle
 * is within the segment and its cross-track angle towards s is within the width; or within the
 * width of a vertex where the line turns away from s, between the two segments' perpendiculars.
 * The library builds polygons instead and tests them in a gnomonic plane; the two must agree
 * for every point farther than TOL_M from the boundary. Footprints are tested in known cases
 * the sampled check got wrong: an operation covering an area whole, a corridor crossing a line
 * with every vertex outside the strip. */
#include "strategic_testutil.h"

#include "deconflict/geo.h"
#include "strategic/footprint.h"

#define R_M   6371008.8 /* the mean radius the library measures widths with */
#define TOL_M 5.0       /* points this close to the boundary are not judged */

static double dot3(const dc_vec3_t *a, const dc_vec3_t *b)
{
    return a->x * b->x + a->y * b->y + a->z * b->z;
}

static dc_vec3_t cross3(const dc_vec3_t *a, const dc_vec3_t *b)
{
    return (dc_vec3_t){a->y * b->z - a->z * b->y, a->z * b->x - a->x * b->z,
                       a->x * b->y - a->y * b->x};
}

static dc_vec3_t unit3(dc_vec3_t v)
{
    double l = sqrt(dot3(&v, &v));
    return (dc_vec3_t){v.x / l, v.y / l, v.z / l};
}

/* Membership of p in side s of the line u[0..n) at width w (radians), the region grown by
 * margin (radians; negative shrinks it). */
static bool ref_side(const dc_vec3_t *u, size_t n, int s, double w, const dc_vec3_t *p,
                     double margin)
{
    for (size_t i = 0; i + 1 < n; i++) {
        dc_vec3_t c = unit3(cross3(&u[i], &u[i + 1]));
        dc_vec3_t pole = {s * c.x, s * c.y, s * c.z};
        dc_vec3_t t = unit3(cross3(&c, &u[i]));
        double len = acos(fmax(-1, fmin(1, dot3(&u[i], &u[i + 1]))));
        double xt = asin(fmax(-1, fmin(1, dot3(p, &pole))));
        double along = atan2(dot3(p, &t), dot3(p, &u[i]));
        if (along >= -margin && along <= len + margin && xt >= -margin && xt <= w + margin)
            return true;
        if (i + 2 >= n) continue;
        /* The vertex b = u[i+1]: a sector when the line turns away from side s. */
        const dc_vec3_t *b = &u[i + 1], *next = &u[i + 2];
        if (dot3(next, &pole) >= 0) continue;
        dc_vec3_t c2 = unit3(cross3(b, next));
        dc_vec3_t pole2 = {s * c2.x, s * c2.y, s * c2.z};
        double dist = acos(fmax(-1, fmin(1, dot3(p, b))));
        if (dist > w + margin) continue;
        dc_vec3_t d = {p->x - dot3(p, b) * b->x, p->y - dot3(p, b) * b->y,
                       p->z - dot3(p, b) * b->z};
        if (dot3(&d, &d) < 1e-30) return true; /* p is b */
        d = unit3(d);
        double turn = acos(fmax(-1, fmin(1, dot3(&pole, &pole2))));
        double from1 = acos(fmax(-1, fmin(1, dot3(&d, &pole))));
        double from2 = acos(fmax(-1, fmin(1, dot3(&d, &pole2))));
        /* Between the two perpendiculars: the angles to each add up to the turn. */
        if (from1 + from2 <= turn + 1e-9 + margin / fmax(dist, 1e-12)) return true;
    }
    return false;
}

static void test_side_against_reference(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("region side", 20261202)};
    size_t judged = 0, skipped = 0, inside = 0;
    for (int line = 0; line < 60; line++) {
        double lat0 = (test_uniform(&rng) - 0.5) * 160, lon0 = (test_uniform(&rng) - 0.5) * 360;
        size_t n = 2 + (size_t)(test_uniform(&rng) * 5);
        dc_latlon_t pts[8];
        dc_vec3_t u[8];
        dc_latlon_to_unit(lat0, lon0, &u[0]);
        double bearing = test_uniform(&rng) * 2 * M_PI;
        for (size_t i = 0; i < n; i++) {
            if (i) {
                /* The next point: 20-300 km on, turning up to 100 degrees either way. */
                bearing += (test_uniform(&rng) - 0.5) * 2 * 100 * M_PI / 180;
                double dist = (20e3 + test_uniform(&rng) * 280e3) / R_M;
                dc_vec3_t east = unit3(cross3(&(dc_vec3_t){0, 0, 1}, &u[i - 1]));
                dc_vec3_t north = cross3(&u[i - 1], &east);
                dc_vec3_t dir = {cos(bearing) * north.x + sin(bearing) * east.x,
                                 cos(bearing) * north.y + sin(bearing) * east.y,
                                 cos(bearing) * north.z + sin(bearing) * east.z};
                u[i] = (dc_vec3_t){cos(dist) * u[i - 1].x + sin(dist) * dir.x,
                                   cos(dist) * u[i - 1].y + sin(dist) * dir.y,
                                   cos(dist) * u[i - 1].z + sin(dist) * dir.z};
            }
            dc_unit_to_latlon(&u[i], &pts[i].lat_deg, &pts[i].lon_deg);
        }
        double w_m = 5e3 + test_uniform(&rng) * 195e3;
        int s = test_uniform(&rng) < 0.5 ? 1 : -1;
        dc_region_t *r;
        dc_strategic_error_t err;
        memset(&err, 0, sizeof(err));
        dc_err_t rc = dc_region_side_new(pts, n, w_m, s, &r, &err);
        if (rc == DC_ERR_INVALID && strstr(err.message, "crosses itself")) continue;
        assert_int_equal(rc, DC_OK);
        /* Points around the line: near each vertex and segment, out to twice the width. */
        for (int k = 0; k < 400; k++) {
            size_t i = (size_t)(test_uniform(&rng) * (double)(n - 1));
            double f = test_uniform(&rng);
            dc_vec3_t m = unit3((dc_vec3_t){(1 - f) * u[i].x + f * u[i + 1].x,
                                            (1 - f) * u[i].y + f * u[i + 1].y,
                                            (1 - f) * u[i].z + f * u[i + 1].z});
            double off = test_uniform(&rng) * 2.2 * w_m / R_M, az = test_uniform(&rng) * 2 * M_PI;
            dc_vec3_t east = unit3(cross3(&(dc_vec3_t){0, 0, 1}, &m));
            dc_vec3_t north = cross3(&m, &east);
            dc_vec3_t dir = {cos(az) * north.x + sin(az) * east.x,
                             cos(az) * north.y + sin(az) * east.y,
                             cos(az) * north.z + sin(az) * east.z};
            dc_vec3_t p = {cos(off) * m.x + sin(off) * dir.x, cos(off) * m.y + sin(off) * dir.y,
                           cos(off) * m.z + sin(off) * dir.z};
            double lat, lon;
            dc_unit_to_latlon(&p, &lat, &lon);
            bool in_shrunk = ref_side(u, n, s, w_m / R_M, &p, -TOL_M / R_M);
            bool in_grown = ref_side(u, n, s, w_m / R_M, &p, TOL_M / R_M);
            if (in_shrunk != in_grown) {
                skipped++;
                continue;
            }
            bool got = dc_region_contains(r, lat, lon);
            if (got != in_shrunk)
                fail_msg("line %d (%zu points, width %.0f m, side %d): point %.7f %.7f: region "
                         "says %d, reference %d",
                         line, n, w_m, s, lat, lon, got, in_shrunk);
            judged++;
            inside += got;
        }
        dc_region_free(r);
    }
    printf("[ info ] %zu points judged (%zu inside), %zu within %.0f m of the boundary skipped\n",
           judged, inside, skipped, TOL_M);
    assert_true(judged > 15000 && inside > judged / 5 && inside < judged * 4 / 5);
}

/* Known cases: what the footprint test must find. */
static void test_footprints_met_exactly(void **state)
{
    (void)state;
    dc_strategic_error_t err;
    /* A square area covered whole by an operation: no vertex of either is inside the other. */
    const dc_latlon_t sq[] = {{10, 20}, {10, 20.5}, {10.5, 20.5}, {10.5, 20}};
    dc_region_t *area;
    assert_int_equal(dc_region_area_new(sq, 4, &area, &err), DC_OK);
    dc_volume4d_t cover = test_box(9, 19, 11.5, 21.5, 0, 100, 0, 60);
    assert_int_equal(dc_region_meets_footprint(area, &cover), 1);
    assert_true(dc_region_contains(area, 10.25, 20.25));
    assert_false(dc_region_contains(area, 10.25, 20.75));
    dc_volume4d_t beside = test_box(10, 20.6, 10.5, 21, 0, 100, 0, 60);
    assert_int_equal(dc_region_meets_footprint(area, &beside), 0);
    dc_volume4d_t ring = test_circle(10.25, 20.25, 1000, 0, 100, 0, 60); /* inside */
    assert_int_equal(dc_region_meets_footprint(area, &ring), 1);
    dc_volume4d_clear(&cover), dc_volume4d_clear(&beside);
    dc_region_free(area);

    /* The river line of the agreements test: north along 38 E, 30 NM each side. */
    const dc_latlon_t river[] = {{35.0, 38.0}, {36.5, 38.0}};
    double w = 30 * 1852.0;
    dc_region_t *left, *right;
    assert_int_equal(dc_region_side_new(river, 2, w, 1, &left, &err), DC_OK);
    assert_int_equal(dc_region_side_new(river, 2, w, -1, &right, &err), DC_OK);
    /* A corridor across it, every vertex 90 km from the line: in neither strip. */
    dc_volume4d_t corridor = test_box(35.5, 37.0, 35.51, 39.0, 0, 100, 0, 60);
    for (size_t i = 0; i < corridor.n_vertices; i++) {
        assert_false(
            dc_region_contains(left, corridor.vertices[i].lat_deg, corridor.vertices[i].lon_deg));
        assert_false(
            dc_region_contains(right, corridor.vertices[i].lat_deg, corridor.vertices[i].lon_deg));
    }
    assert_int_equal(dc_region_meets_footprint(left, &corridor), 1);
    assert_int_equal(dc_region_meets_footprint(right, &corridor), 1);
    /* Wholly on the west side, within the width: the left strip only. */
    dc_volume4d_t west = test_box(35.5, 37.6, 35.6, 37.9, 0, 100, 0, 60);
    assert_int_equal(dc_region_meets_footprint(left, &west), 1);
    assert_int_equal(dc_region_meets_footprint(right, &west), 0);
    /* Circles east of it: 45 km out with 10 km radius reaches in; 72 km out does not. */
    dc_volume4d_t near = test_circle(35.75, 38.5, 10000, 0, 100, 0, 60);
    dc_volume4d_t far = test_circle(35.75, 38.8, 10000, 0, 100, 0, 60);
    assert_int_equal(dc_region_meets_footprint(right, &near), 1);
    assert_int_equal(dc_region_meets_footprint(right, &far), 0);
    assert_int_equal(dc_region_meets_footprint(left, &near), 0);
    /* Square ends: 55 km north of the line's end is no one's side. */
    dc_volume4d_t beyond = test_circle(37.05, 38.0, 3000, 0, 100, 0, 60);
    assert_int_equal(dc_region_meets_footprint(left, &beyond), 0);
    assert_int_equal(dc_region_meets_footprint(right, &beyond), 0);
    assert_true(dc_region_contains(left, 35.7, 37.9) && !dc_region_contains(right, 35.7, 37.9));
    dc_volume4d_clear(&corridor), dc_volume4d_clear(&west);
    dc_region_free(left), dc_region_free(right);

    /* Across the antimeridian, eastward along the equator: north is the left. */
    const dc_latlon_t am[] = {{0, 179.5}, {0, -179.5}};
    assert_int_equal(dc_region_side_new(am, 2, 20000, 1, &left, &err), DC_OK);
    assert_true(dc_region_contains(left, 0.1, 180.0));
    assert_true(dc_region_contains(left, 0.1, -179.9));
    assert_false(dc_region_contains(left, -0.1, 179.9));
    dc_region_free(left);
}

static void test_refusals(void **state)
{
    (void)state;
    dc_region_t *r = NULL;
    dc_strategic_error_t err;
    const dc_latlon_t bowtie[] = {{0, 0}, {1, 1}, {1, 0}, {0, 1}};
    assert_int_equal(dc_region_area_new(bowtie, 4, &r, &err), DC_ERR_INVALID);
    assert_string_equal(err.field, "area");
    assert_non_null(strstr(err.message, "not simple"));
    const dc_latlon_t huge[] = {{0, 0}, {0, 20}, {20, 20}, {20, 0}};
    assert_int_equal(dc_region_area_new(huge, 4, &r, &err), DC_ERR_LIMIT);
    const dc_latlon_t zig[] = {{0, 0}, {1, 1}, {1, 0}, {0, 1}};
    assert_int_equal(dc_region_side_new(zig, 4, 1000, 1, &r, &err), DC_ERR_INVALID);
    assert_non_null(strstr(err.message, "crosses itself"));
    const dc_latlon_t longline[] = {{0, 0}, {0, 40}};
    assert_int_equal(dc_region_side_new(longline, 2, 1000, 1, &r, &err), DC_ERR_LIMIT);
    const dc_latlon_t ok[] = {{0, 0}, {0, 1}};
    assert_int_equal(dc_region_side_new(ok, 2, 0, 1, &r, &err), DC_ERR_LIMIT);
    assert_string_equal(err.field, "within");
    assert_int_equal(dc_region_side_new(ok, 2, DC_REGION_WIDTH_MAX_M + 1, 1, &r, &err),
                     DC_ERR_LIMIT);
    const dc_latlon_t bad[] = {{0, 0}, {91, 1}};
    assert_int_equal(dc_region_side_new(bad, 2, 1000, 1, &r, &err), DC_ERR_INVALID);
    assert_string_equal(err.field, "line/1");
    const dc_latlon_t same[] = {{5, 5}, {5, 5}};
    assert_int_equal(dc_region_side_new(same, 2, 1000, 1, &r, &err), DC_ERR_INVALID);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_against_reference),
        cmocka_unit_test(test_footprints_met_exactly),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
