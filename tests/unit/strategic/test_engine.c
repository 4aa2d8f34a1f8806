/* The indexed engine against a brute-force all-pairs GEOS check on random operations (clustered
 * at mid-latitudes, on the antimeridian and at a pole), before and after cancellations and
 * expiry; and the lifecycle: versions, states, expiry, stats. Also the circle polygon's bound
 * against PROJ's geodesic circle, and the altitude verdict and reported band of flight-level
 * against W84 bands (mixed references, the FL/W84 margin). */
#include "strategic_testutil.h"

#include <geodesic.h>
#include <jansson.h>
#include <math.h>

#include "deconflict/geo.h"
#include "strategic/footprint.h"

#define MAX_OPS 700
#define MAX_VOL 3

typedef struct gen_op {
    dc_operation_t op;
    fp_t fp[MAX_VOL];
    bool cancelled;
} gen_op_t;

static double dot3(const dc_vec3_t *a, const dc_vec3_t *b)
{
    return a->x * b->x + a->y * b->y + a->z * b->z;
}

static const double centres[3][2] = {{46.5, 7.5}, {-12.0, 179.97}, {89.8, 0.0}};

static dc_volume4d_t random_volume(test_rng_t *r, int cluster)
{
    double lat0 = centres[cluster][0], lon0 = centres[cluster][1];
    /* ~20 km square cluster around the centre (in metres, then to degrees). */
    double north_m = (test_uniform(r) - 0.5) * 20000, east_m = (test_uniform(r) - 0.5) * 20000;
    double t0 = floor(test_uniform(r) * 8) * 1800,
           t1 = t0 + 1800 * (1 + floor(test_uniform(r) * 4));
    double lo = floor(test_uniform(r) * 6) * 100, hi = lo + 50 + floor(test_uniform(r) * 4) * 100;
    if (test_uniform(r) < 0.4) {
        dc_volume4d_t v = test_circle(0, 0, 300 + test_uniform(r) * 2500, lo, hi, t0, t1);
        /* Place by moving along the local axes on the sphere. */
        dc_vec3_t c, e, n;
        dc_latlon_to_unit(lat0, lon0, &c);
        fp_plane_t pl;
        fp_plane_at(&pl, &c);
        e = pl.e, n = pl.n;
        dc_vec3_t p = {c.x + east_m / 6371000 * e.x + north_m / 6371000 * n.x,
                       c.y + east_m / 6371000 * e.y + north_m / 6371000 * n.y,
                       c.z + east_m / 6371000 * e.z + north_m / 6371000 * n.z};
        double l = sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
        p.x /= l, p.y /= l, p.z /= l;
        dc_unit_to_latlon(&p, &v.center.lat_deg, &v.center.lon_deg);
        return v;
    }
    /* A star-shaped polygon (simple by construction): 4..9 vertices at increasing angles. */
    int nv = 4 + (int)(test_uniform(r) * 6);
    double ll[2 * 9];
    dc_vec3_t c, e, n;
    dc_latlon_to_unit(lat0, lon0, &c);
    fp_plane_t pl;
    fp_plane_at(&pl, &c);
    e = pl.e, n = pl.n;
    for (int i = 0; i < nv; i++) {
        double a = 2 * M_PI * (i + 0.8 * test_uniform(r)) / nv, rad = 400 + test_uniform(r) * 3000;
        double de = east_m + rad * cos(a), dn = north_m + rad * sin(a);
        dc_vec3_t p = {c.x + de / 6371000 * e.x + dn / 6371000 * n.x,
                       c.y + de / 6371000 * e.y + dn / 6371000 * n.y,
                       c.z + de / 6371000 * e.z + dn / 6371000 * n.z};
        double l = sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
        p.x /= l, p.y /= l, p.z /= l;
        dc_unit_to_latlon(&p, &ll[2 * i], &ll[2 * i + 1]);
    }
    return test_poly((size_t)nv, ll, lo, hi, t0, t1);
}

/* The reference: two volumes conflict iff windows and bands overlap and GEOS's distance between
 * the footprints, projected into a plane centred between them, is within 1 cm. */
static int brute_pair(GEOSContextHandle_t ctx, const dc_volume4d_t *a, const fp_t *fa,
                      const dc_volume4d_t *b, const fp_t *fb, double *dist_m)
{
    *dist_m = -1;
    if (!(a->t_start_s < b->t_end_s && b->t_start_s < a->t_end_s)) return 0;
    if (!(fmin(a->alt_upper_m, b->alt_upper_m) - fmax(a->alt_lower_m, b->alt_lower_m) >
          DC_STRATEGIC_ALT_EPSILON_M))
        return 0;
    if (fp_angle(&fa->center, &fb->center) > 0.05) { /* other clusters, 300+ km away */
        *dist_m = 1e9;
        return 0;
    }
    dc_vec3_t mid = {fa->center.x + fb->center.x, fa->center.y + fb->center.y,
                     fa->center.z + fb->center.z};
    double l = sqrt(mid.x * mid.x + mid.y * mid.y + mid.z * mid.z);
    mid.x /= l, mid.y /= l, mid.z /= l;
    fp_plane_t pl;
    fp_plane_at(&pl, &mid);
    GEOSGeometry *ga = fp_to_geos(ctx, fa, &pl), *gb = fp_to_geos(ctx, fb, &pl);
    assert_non_null(ga);
    assert_non_null(gb);
    assert_int_equal(GEOSDistance_r(ctx, ga, gb, dist_m), 1);
    GEOSGeom_destroy_r(ctx, ga);
    GEOSGeom_destroy_r(ctx, gb);
    return *dist_m <= DC_STRATEGIC_TOUCH_M;
}

typedef struct hit {
    int op, vol, other;
} hit_t;

static int hit_cmp(const void *x, const void *y)
{
    const hit_t *a = x, *b = y;
    if (a->op != b->op) return a->op - b->op;
    if (a->vol != b->vol) return a->vol - b->vol;
    return a->other - b->other;
}

static size_t uniq(hit_t *h, size_t n)
{
    qsort(h, n, sizeof(*h), hit_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || hit_cmp(&h[k - 1], &h[i]) != 0) h[k++] = h[i];
    return k;
}

static void compare(const hit_t *got, size_t n_got, const hit_t *want, size_t n_want)
{
    size_t i = 0, j = 0, bad = 0;
    while (i < n_got || j < n_want) {
        int c = i == n_got ? 1 : j == n_want ? -1 : hit_cmp(&got[i], &want[j]);
        if (c == 0) {
            i++, j++;
            continue;
        }
        const hit_t *h = c < 0 ? &got[i++] : &want[j++];
        printf("  %s: op %d vol %d vs op %d\n", c < 0 ? "engine only" : "reference only", h->op,
               h->vol, h->other);
        bad++;
    }
    assert_int_equal(bad, 0);
}

static int op_index(const char *id)
{
    return atoi(id + 2);
}

static void test_against_brute_force(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("strategic brute force", 20261122)};
    static gen_op_t ops[MAX_OPS];
    dc_strategic_config_t cfg;
    dc_strategic_config_default(&cfg);
    cfg.cell_m = 4000; /* small cells: many volumes span several, exercising the dedup */
    cfg.bucket_s = 3600;
    dc_strategic_t *eng = dc_strategic_new(&cfg);
    GEOSContextHandle_t ctx = fp_geos_new();
    const char *parties[] = {"red", "blue", "green"};

    hit_t *got = malloc(sizeof(hit_t) * MAX_OPS * MAX_OPS),
          *want = malloc(sizeof(hit_t) * MAX_OPS * MAX_OPS);
    size_t n_got = 0, n_want = 0, tested = 0;
    for (int i = 0; i < MAX_OPS; i++) {
        int cluster = i % 3, nv = 1 + (int)(test_uniform(&rng) * MAX_VOL);
        dc_volume4d_t vols[MAX_VOL];
        for (int k = 0; k < nv; k++) vols[k] = random_volume(&rng, cluster);
        char id[16];
        snprintf(id, sizeof(id), "op%d", i);
        ops[i].op = test_op(id, parties[(int)(test_uniform(&rng) * 3)], i % 5, (size_t)nv, vols);
        for (int k = 0; k < nv; k++) assert_int_equal(fp_init(&ops[i].fp[k], &vols[k]), DC_OK);
        dc_strategic_result_t res;
        assert_int_equal(dc_strategic_file(eng, &ops[i].op, &res), DC_OK);
        for (size_t c = 0; c < res.n_conflicts; c++)
            got[n_got++] = (hit_t){i, (int)res.conflicts[c].volume_index,
                                   op_index(res.conflicts[c].other_ref)};
        dc_strategic_result_clear(&res);
        for (int j = 0; j < i; j++) {
            if (strcmp(ops[j].op.party, ops[i].op.party) == 0) continue;
            for (int a = 0; a < nv; a++)
                for (size_t b = 0; b < ops[j].op.n_volumes; b++) {
                    double d;
                    tested++;
                    if (brute_pair(ctx, &ops[i].op.volumes[a], &ops[i].fp[a], &ops[j].op.volumes[b],
                                   &ops[j].fp[b], &d))
                        want[n_want++] = (hit_t){i, a, j};
                    /* Pairs right at the tolerance would be a coin toss between two planes. */
                    assert_false(d > 0.005 && d < 0.02);
                }
        }
    }
    n_got = uniq(got, n_got);
    n_want = uniq(want, n_want);
    printf("  %d operations, %zu volume pairs checked by brute force, %zu conflicts\n", MAX_OPS,
           tested, n_want);
    assert_true(n_want > 200); /* the clusters are dense enough to test something */
    compare(got, n_got, want, n_want);

    /* Cancel a third, expire everything that ended by T+2h, then probe with fresh operations. */
    int cancelled = 0;
    for (int i = 0; i < MAX_OPS; i += 3) {
        assert_int_equal(dc_strategic_set_state(eng, ops[i].op.id, DC_OP_CANCELLED), DC_OK);
        ops[i].cancelled = true;
        cancelled++;
    }
    double now = T_BASE_S + 7200;
    size_t dropped = dc_strategic_expire(eng, now, NULL, NULL);
    dc_strategic_stats_t st;
    dc_strategic_stats(eng, &st);
    printf("  cancelled %d, expired %zu volumes; %zu operations, %zu volumes, %zu cells, %zu "
           "entries left\n",
           cancelled, dropped, st.operations, st.volumes, st.index_cells, st.index_entries);
    n_got = n_want = 0;
    for (int p = 0; p < 150; p++) {
        int cluster = p % 3;
        dc_volume4d_t v = random_volume(&rng, cluster);
        dc_operation_t probe = test_op("probe", "probe-party", 0, 1, &v);
        fp_t fpv;
        assert_int_equal(fp_init(&fpv, &v), DC_OK);
        dc_strategic_result_t res;
        assert_int_equal(dc_strategic_check(eng, &probe, &res), DC_OK);
        for (size_t c = 0; c < res.n_conflicts; c++)
            got[n_got++] = (hit_t){p, 0, op_index(res.conflicts[c].other_ref)};
        dc_strategic_result_clear(&res);
        for (int j = 0; j < MAX_OPS; j++) {
            if (ops[j].cancelled) continue;
            for (size_t b = 0; b < ops[j].op.n_volumes; b++) {
                double d;
                if (ops[j].op.volumes[b].t_end_s <= now) continue; /* expired */
                if (brute_pair(ctx, &v, &fpv, &ops[j].op.volumes[b], &ops[j].fp[b], &d))
                    want[n_want++] = (hit_t){p, 0, j};
            }
        }
        fp_clear(&fpv);
        dc_operation_clear(&probe);
    }
    n_got = uniq(got, n_got);
    n_want = uniq(want, n_want);
    printf("  after removal: %zu probe conflicts\n", n_want);
    assert_true(n_want > 20);
    compare(got, n_got, want, n_want);

    for (int i = 0; i < MAX_OPS; i++) {
        for (size_t k = 0; k < ops[i].op.n_volumes; k++) fp_clear(&ops[i].fp[k]);
        dc_operation_clear(&ops[i].op);
    }
    free(got);
    free(want);
    GEOS_finish_r(ctx);
    dc_strategic_free(eng);
}

static void on_ended(const char *id, void *ctx)
{
    strcat((char *)ctx, id);
    strcat((char *)ctx, ";");
}

static void test_lifecycle(void **state)
{
    (void)state;
    dc_strategic_t *eng = dc_strategic_new(NULL);
    dc_volume4d_t va[2] = {test_box(0, 0, 0.01, 0.01, 0, 100, 0, 3600),
                           test_box(1, 1, 1.01, 1.01, 0, 100, 0, 7200)};
    dc_operation_t a = test_op("a", "A", 0, 2, va);
    assert_int_equal(dc_strategic_file(eng, &a, NULL), DC_OK);
    assert_int_equal(dc_strategic_file(eng, &a, NULL), DC_ERR_CONFLICT); /* same id */
    assert_int_equal(dc_strategic_version(eng, "a"), 1);

    dc_volume4d_t vb = test_box(0, 0, 0.01, 0.01, 0, 100, 0, 3600);
    dc_operation_t b = test_op("b", "B", 0, 1, &vb);
    dc_strategic_result_t res;
    assert_int_equal(dc_strategic_check(eng, &b, &res), DC_OK);
    assert_int_equal(res.n_conflicts, 1);
    dc_strategic_result_clear(&res);
    assert_int_equal(dc_strategic_version(eng, "b"), 0); /* check stores nothing */

    /* Update a: move its first volume away. Stale version and foreign party are refused. */
    dc_volume4d_t va2[1] = {test_box(5, 5, 5.01, 5.01, 0, 100, 0, 3600)};
    dc_operation_t a2 = test_op("a", "A", 0, 1, va2);
    assert_int_equal(dc_strategic_update(eng, &a2, 7, NULL), DC_ERR_CONFLICT);
    snprintf(a2.party, sizeof(a2.party), "B");
    assert_int_equal(dc_strategic_update(eng, &a2, 1, NULL), DC_ERR_CONFLICT);
    snprintf(a2.party, sizeof(a2.party), "A");
    assert_int_equal(dc_strategic_update(eng, &a2, 1, &res), DC_OK);
    dc_strategic_result_clear(&res);
    assert_int_equal(dc_strategic_version(eng, "a"), 2);
    assert_int_equal(dc_strategic_check(eng, &b, &res), DC_OK);
    assert_int_equal(res.n_conflicts, 0); /* the old volume left the index */
    dc_strategic_result_clear(&res);
    assert_int_equal(dc_strategic_update(eng, &b, 1, NULL), DC_ERR_NOT_FOUND);

    /* States: planned -> active -> nonconforming -> active -> ended; no way back. */
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_ACTIVE), DC_OK);
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_PLANNED), DC_ERR_INVALID);
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_NONCONFORMING), DC_OK);
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_ACTIVE), DC_OK);
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_ENDED), DC_OK);
    assert_int_equal(dc_strategic_set_state(eng, "a", DC_OP_ACTIVE), DC_ERR_NOT_FOUND);
    dc_operation_t ended =
        test_op("e", "A", 0, 1, (dc_volume4d_t[]){test_box(0, 0, 1, 1, 0, 1, 0, 1)});
    ended.state = DC_OP_ENDED;
    assert_int_equal(dc_strategic_file(eng, &ended, NULL), DC_ERR_INVALID);

    /* Expiry: b's volume ends at +1h; a fresh op c has volumes ending at +1h and +2h. */
    assert_int_equal(dc_strategic_file(eng, &b, NULL), DC_OK);
    dc_volume4d_t vc[2] = {test_box(0, 0, 0.01, 0.01, 200, 300, 0, 3600),
                           test_box(0, 0, 0.01, 0.01, 200, 300, 3600, 7200)};
    dc_operation_t c = test_op("c", "C", 0, 2, vc);
    assert_int_equal(dc_strategic_file(eng, &c, NULL), DC_OK);
    char ended_ids[64] = "";
    assert_int_equal(dc_strategic_expire(eng, T_BASE_S + 3599, on_ended, ended_ids), 0);
    assert_int_equal(dc_strategic_expire(eng, T_BASE_S + 3600, on_ended, ended_ids), 2);
    assert_string_equal(ended_ids, "b;");
    assert_int_equal(dc_strategic_version(eng, "c"), 1);
    assert_int_equal(dc_strategic_expire(eng, T_BASE_S + 1e6, on_ended, ended_ids), 1);
    assert_string_equal(ended_ids, "b;c;");
    dc_strategic_stats_t st;
    dc_strategic_stats(eng, &st);
    assert_int_equal(st.operations, 0);
    assert_int_equal(st.volumes, 0);
    assert_int_equal(st.index_entries, 0);
    assert_int_equal(st.index_cells, 0); /* empty cells are dropped */

    dc_operation_clear(&a);
    dc_operation_clear(&a2);
    dc_operation_clear(&b);
    dc_operation_clear(&c);
    dc_operation_clear(&ended);
    dc_strategic_free(eng);
}

/* Circles become circumscribed polygons: every point of the true geodesic circle (PROJ) lies
 * inside, and no vertex lies further out than the documented bound. */
static void test_circle_bound(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("circle bound", 7)};
    struct geod_geodesic g;
    geod_init(&g, 6378137, 1 / 298.257223563);
    GEOSContextHandle_t ctx = fp_geos_new();
    double worst_in = 1e9, worst_out = 0;
    for (int i = 0; i < 400; i++) {
        double lat = (test_uniform(&rng) * 2 - 1) * 89.9, lon = (test_uniform(&rng) * 2 - 1) * 180;
        double r = pow(10, 1 + test_uniform(&rng) * 4.5); /* 10 m .. 316 km */
        if (i < 20) lat = 89.9 * (i % 2 ? 1 : -1);
        dc_volume4d_t v = test_circle(lat, lon, r, 0, 1, 0, 1);
        fp_t fp;
        assert_int_equal(fp_init(&fp, &v), DC_OK);
        fp_plane_t pl;
        fp_plane_at(&pl, &fp.center);
        GEOSGeometry *poly = fp_to_geos(ctx, &fp, &pl);
        assert_non_null(poly);
        const GEOSPreparedGeometry *prep = GEOSPrepare_r(ctx, poly);
        for (int k = 0; k < 720; k++) {
            double plat, plon;
            geod_direct(&g, lat, lon, k * 0.5, r, &plat, &plon, NULL);
            dc_vec3_t u;
            dc_latlon_to_unit(plat, plon, &u);
            double d = dot3(&u, &pl.c);
            double x = pl.sx_m * dot3(&u, &pl.e) / d, y = pl.sy_m * dot3(&u, &pl.n) / d;
            GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx, x, y);
            double dist;
            GEOSGeometry *ring = (GEOSGeometry *)GEOSGetExteriorRing_r(ctx, poly);
            GEOSDistance_r(ctx, pt, ring, &dist);
            if (GEOSPreparedContains_r(ctx, prep, pt) != 1)
                fail_msg("circle r=%g m at %g,%g: point at azimuth %g outside by %g m", r, lat, lon,
                         k * 0.5, dist);
            if (dist / r < worst_in) worst_in = dist / r;
            GEOSGeom_destroy_r(ctx, pt);
        }
        /* Outward excess: vertices' true distance from the centre. */
        for (int k = 0; k < DC_STRATEGIC_CIRCLE_SEGMENTS; k++) {
            double x, y, s12;
            const GEOSCoordSequence *seq =
                GEOSGeom_getCoordSeq_r(ctx, GEOSGetExteriorRing_r(ctx, poly));
            GEOSCoordSeq_getXY_r(ctx, seq, (unsigned)k, &x, &y);
            double a = x / pl.sx_m, b = y / pl.sy_m;
            dc_vec3_t p = {pl.c.x + a * pl.e.x + b * pl.n.x, pl.c.y + a * pl.e.y + b * pl.n.y,
                           pl.c.z + a * pl.e.z + b * pl.n.z};
            double vlat, vlon;
            dc_unit_to_latlon(&p, &vlat, &vlon);
            geod_inverse(&g, lat, lon, vlat, vlon, &s12, NULL, NULL);
            if ((s12 - r) / r > worst_out) worst_out = (s12 - r) / r;
        }
        GEOSPreparedGeom_destroy_r(ctx, prep);
        GEOSGeom_destroy_r(ctx, poly);
        fp_clear(&fp);
    }
    printf("  400 circles, 10 m..316 km, 288,000 points of the geodesic circle: all inside; "
           "closest %.5f%% of r inside the edge; vertices at most %.4f%% of r outside\n",
           worst_in * 100, worst_out * 100);
    assert_true(worst_out <
                0.002); /* 0.12% polygonisation + 0.03% margin + ellipsoid, measured 0.175% */
    GEOS_finish_r(ctx);
}

/* A point east_m / north_m from the plane's centre, on the sphere, as lat/lon. */
static void plane_point(const fp_plane_t *pl, double east_m, double north_m, double *lat,
                        double *lon)
{
    dc_vec3_t p = {pl->c.x + east_m / 6371000 * pl->e.x + north_m / 6371000 * pl->n.x,
                   pl->c.y + east_m / 6371000 * pl->e.y + north_m / 6371000 * pl->n.y,
                   pl->c.z + east_m / 6371000 * pl->e.z + north_m / 6371000 * pl->n.z};
    double l = sqrt(dot3(&p, &p));
    p.x /= l, p.y /= l, p.z /= l;
    dc_unit_to_latlon(&p, lat, lon);
}

/* A footprint around (east_m, north_m) of plane pl: 0 circle, 1 convex polygon (points on an
 * ellipse), 2 star with deep notches (concave). */
static dc_volume4d_t shape(test_rng_t *r, const fp_plane_t *pl, int kind, double east_m,
                           double north_m, double size_m)
{
    if (kind == 0) {
        double lat, lon;
        plane_point(pl, east_m, north_m, &lat, &lon);
        return test_circle(lat, lon, size_m, 0, 100, 0, 3600);
    }
    int nv = kind == 1 ? 3 + (int)(test_uniform(r) * 10) : 6 + 2 * (int)(test_uniform(r) * 8);
    double ll[2 * 24], rot = test_uniform(r) * 2 * M_PI, squash = 0.3 + 0.7 * test_uniform(r);
    for (int i = 0; i < nv; i++) {
        double a = 2 * M_PI * (i + (kind == 1 ? 0.9 * test_uniform(r) : 0.5)) / nv;
        if (kind == 1) a = 2 * M_PI * i / nv + (2 * M_PI / nv) * 0.45 * test_uniform(r);
        double rad = kind == 1 ? size_m : size_m * (i % 2 ? 0.15 + 0.6 * test_uniform(r) : 1.0);
        double x = rad * cos(a), y = rad * sin(a) * (kind == 1 ? squash : 1);
        plane_point(pl, east_m + x * cos(rot) - y * sin(rot), north_m + x * sin(rot) + y * cos(rot),
                    &ll[2 * i], &ll[2 * i + 1]);
    }
    return test_poly((size_t)nv, ll, 0, 100, 0, 3600);
}

/* A GeoJSON Polygon or MultiPolygon (no holes expected here) in plane pl, as GEOS. */
static GEOSGeometry *geojson_in_plane(GEOSContextHandle_t ctx, const char *text,
                                      const fp_plane_t *pl)
{
    json_error_t jerr;
    json_t *gj = json_loads(text, 0, &jerr);
    assert_non_null(gj);
    bool multi = strcmp(json_string_value(json_object_get(gj, "type")), "MultiPolygon") == 0;
    json_t *coords = json_object_get(gj, "coordinates");
    size_t np = multi ? json_array_size(coords) : 1;
    GEOSGeometry *parts[64];
    assert_true(np >= 1 && np <= 64);
    for (size_t k = 0; k < np; k++) {
        json_t *poly = multi ? json_array_get(coords, k) : coords;
        assert_int_equal(json_array_size(poly), 1); /* an exterior ring, no holes */
        json_t *ring = json_array_get(poly, 0);
        size_t n = json_array_size(ring);
        double *ll = malloc(2 * n * sizeof(double));
        assert_non_null(ll);
        for (size_t i = 0; i < n; i++) {
            ll[2 * i] = json_number_value(json_array_get(json_array_get(ring, i), 1));
            ll[2 * i + 1] = json_number_value(json_array_get(json_array_get(ring, i), 0));
        }
        dc_volume4d_t v = test_poly(n, ll, 0, 1, 0, 1);
        fp_t fp;
        assert_int_equal(fp_init(&fp, &v), DC_OK);
        parts[k] = fp_to_geos(ctx, &fp, pl);
        assert_non_null(parts[k]);
        fp_clear(&fp);
        free(v.vertices);
        free(ll);
    }
    json_decref(gj);
    return multi ? GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, parts, (unsigned)np)
                 : parts[0];
}

/* The exact test's clipping (a convex side clips the other) and GEOS's overlay, against GEOS
 * on the same plane: same verdict, and the reported overlap is a valid polygon equal to GEOS's
 * intersection to 0.1 mm of coordinate rounding. Covers convex x concave pairs where the
 * concave side falls apart in pieces (the clipper's bridges: it must hand those to GEOS). */
static void test_clip_against_geos(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("strategic clip", 20261123)};
    GEOSContextHandle_t ctx = fp_geos_new();
    static const double places[4][2] = {{46.5, 7.5}, {-12.0, 179.99}, {89.9, 40.0}, {0, 0}};
    size_t hits = 0, multi = 0, apart = 0, pairs = 0;
    for (int it = 0; it < 4000; it++) {
        const double *pc = places[it % 4];
        dc_vec3_t c;
        dc_latlon_to_unit(pc[0], pc[1], &c);
        fp_plane_t pl;
        fp_plane_at(&pl, &c);
        int ka = (int)(test_uniform(&rng) * 3), kb = (int)(test_uniform(&rng) * 3);
        if (ka == 2 && kb == 2) kb = (int)(test_uniform(&rng) * 2); /* at least one convex */
        double sa = 200 + test_uniform(&rng) * 20000, sb = 200 + test_uniform(&rng) * 20000;
        double d = (sa + sb) * 1.2 * test_uniform(&rng), ang = 2 * M_PI * test_uniform(&rng);
        dc_volume4d_t va = shape(&rng, &pl, ka, 0, 0, sa);
        dc_volume4d_t vb = shape(&rng, &pl, kb, d * cos(ang), d * sin(ang), sb);
        fp_t fa, fb;
        assert_int_equal(fp_init(&fa, &va), DC_OK);
        assert_int_equal(fp_init(&fb, &vb), DC_OK);
        assert_int_equal(fp_validate(ctx, &fa, (char[128]){0}, 128), DC_OK);
        if (fp_validate(ctx, &fb, (char[128]){0}, 128) != DC_OK) { /* rare: too thin */
            fp_clear(&fa), fp_clear(&fb), free(va.vertices), free(vb.vertices);
            continue;
        }
        pairs++;
        fp_query_t q;
        assert_int_equal(fp_query_init(&q, ctx, &fa), DC_OK);
        fp_overlap_t ov;
        int hit = fp_query_test(&q, &fb, &ov);
        GEOSGeometry *ga = fp_to_geos(ctx, &fa, &q.plane), *gb = fp_to_geos(ctx, &fb, &q.plane);
        double dist;
        assert_int_equal(GEOSDistance_r(ctx, ga, gb, &dist), 1);
        if (!(dist > 0.005 && dist < 0.02)) assert_int_equal(hit, dist <= DC_STRATEGIC_TOUCH_M);
        if (hit == 1 && !ov.touching) {
            GEOSGeometry *ref = GEOSIntersection_r(ctx, ga, gb);
            GEOSGeometry *got = geojson_in_plane(ctx, ov.geojson, &q.plane);
            if (GEOSisValid_r(ctx, got) != 1)
                fail_msg("pair %d (kinds %d/%d): invalid overlap %s", it, ka, kb, ov.geojson);
            GEOSGeometry *diff = GEOSSymDifference_r(ctx, ref, got);
            double ref_area, diff_area, len;
            GEOSArea_r(ctx, ref, &ref_area);
            GEOSArea_r(ctx, diff, &diff_area);
            GEOSLength_r(ctx, ref, &len);
            /* Coordinates are written to 1e-9 deg (<= 0.11 mm): a band that wide. */
            if (!(diff_area <= len * 2e-4 + 1e-9 * ref_area))
                fail_msg("pair %d (kinds %d/%d): overlap differs from GEOS's by %.3g m2 of %.3g",
                         it, ka, kb, diff_area, ref_area);
            assert_true(fabs(ov.area_m2 - ref_area) <= 1e-3 * ref_area + 1e-6);
            multi += strstr(ov.geojson, "MultiPolygon") != NULL;
            hits++;
            GEOSGeom_destroy_r(ctx, ref), GEOSGeom_destroy_r(ctx, got),
                GEOSGeom_destroy_r(ctx, diff);
        }
        if (hit == 1) free(ov.geojson);
        apart += hit == 0;
        GEOSGeom_destroy_r(ctx, ga), GEOSGeom_destroy_r(ctx, gb);
        fp_query_clear(&q);
        fp_clear(&fa), fp_clear(&fb);
        free(va.vertices), free(vb.vertices);
    }
    printf("  %zu pairs with a convex side: %zu overlaps equal to GEOS's (%zu in pieces), %zu "
           "apart\n",
           pairs, hits, multi, apart);
    assert_true(hits > 1000 && multi > 20 && apart > 500);
    GEOS_finish_r(ctx);
}

/* ---- altitude references: flight levels against W84 heights ---- */

#define FL(n)         ((n)*100.0 * DC_M_PER_FT) /* FL n as the parser normalises it, metres */
#define ALT_TOL_M     1e-6  /* engine band vs the table: both are sums of the same doubles */
#define ORACLE_STEP_M 0.01  /* offset step of the oracle below */
#define ALT_MARGIN_M  300.0 /* the default fl_w84_margin_m, which these cases use */

/* One pair of bands over the same footprint and hour. ref: the lower and the upper end's
 * reference, 'F' flight level or 'W' W84. Expected: conflict, alt_assumption, and (when a
 * conflict) the reported band. */
typedef struct alt_case {
    const char *name;
    double a_lo, a_hi;
    const char *a_ref;
    double b_lo, b_hi;
    const char *b_ref;
    int conflict, flagged;
    double lo, hi;
} alt_case_t;

static dc_volume4d_t alt_volume(double lo_m, double hi_m, const char *ref)
{
    dc_volume4d_t v = test_box(0, 0, 0.01, 0.01, lo_m, hi_m, 0, 3600);
    v.alt_lower_ref = ref[0] == 'F' ? DC_ALT_REF_FL : DC_ALT_REF_W84;
    v.alt_upper_ref = ref[1] == 'F' ? DC_ALT_REF_FL : DC_ALT_REF_W84;
    return v;
}

/* Files the first band (party A), then the second (party B); returns B's result. */
static dc_strategic_result_t alt_pair(double lo1, double hi1, const char *ref1, double lo2,
                                      double hi2, const char *ref2)
{
    dc_strategic_t *eng = dc_strategic_new(NULL);
    assert_non_null(eng);
    dc_volume4d_t v1 = alt_volume(lo1, hi1, ref1), v2 = alt_volume(lo2, hi2, ref2);
    dc_operation_t o1 = test_op("first", "A", 0, 1, &v1), o2 = test_op("second", "B", 0, 1, &v2);
    assert_int_equal(dc_strategic_file(eng, &o1, NULL), DC_OK);
    dc_strategic_result_t res;
    assert_int_equal(dc_strategic_file(eng, &o2, &res), DC_OK);
    dc_operation_clear(&o1);
    dc_operation_clear(&o2);
    dc_strategic_free(eng);
    return res;
}

/* The definition, independently of the engine: every flight-level end lies at its nominal value
 * + d in W84 terms, one d in [-margin, +margin] for all of them. The pair may overlap if the
 * bands overlap (by more than the 1 mm epsilon) for some d, surely if for every d; the band
 * reported for a flagged pair is the hull, in W84 terms, of the overlaps over those d. */
static void alt_oracle(const alt_case_t *c, int *conflict, int *flagged, double *lo, double *hi)
{
    int any = 0, all = 1;
    *lo = INFINITY, *hi = -INFINITY;
    long n = lround(2 * ALT_MARGIN_M / ORACLE_STEP_M);
    for (long k = 0; k <= n; k++) {
        double d = -ALT_MARGIN_M + (double)k * ORACLE_STEP_M;
        double a0 = c->a_lo + (c->a_ref[0] == 'F' ? d : 0),
               a1 = c->a_hi + (c->a_ref[1] == 'F' ? d : 0);
        double b0 = c->b_lo + (c->b_ref[0] == 'F' ? d : 0),
               b1 = c->b_hi + (c->b_ref[1] == 'F' ? d : 0);
        double l = fmax(a0, b0), h = fmin(a1, b1);
        if (h - l > DC_STRATEGIC_ALT_EPSILON_M) {
            any = 1;
            *lo = fmin(*lo, l), *hi = fmax(*hi, h);
        } else {
            all = 0;
        }
    }
    *conflict = any;
    *flagged = any && !all;
}

/* Prints the row and what is wrong with it; returns the number of mismatches. */
static int check_alt_result(const alt_case_t *c, const dc_strategic_result_t *res,
                            const char *order)
{
    int got = res->n_conflicts > 0, bad = 0;
    const dc_strategic_conflict_t *cf = got ? &res->conflicts[0] : NULL;
    printf("  %-56s %s: %s", c->name, order, got ? "conflict" : "clear");
    if (got)
        printf("%s, band %.2f..%.2f m", cf->alt_assumption ? " (assumption)" : "", cf->alt_lower_m,
               cf->alt_upper_m);
    printf("\n");
    if (got != c->conflict) {
        printf("    MISMATCH: expected %s\n", c->conflict ? "a conflict" : "none");
        return 1;
    }
    if (!got) return 0;
    const char *why[4] = {NULL, NULL, NULL, NULL};
    if (res->n_conflicts != 1) why[0] = "more than one conflict";
    if (cf->alt_assumption != (bool)c->flagged)
        why[1] = c->flagged ? "alt_assumption expected" : "alt_assumption not expected";
    if (!(cf->alt_lower_m <= cf->alt_upper_m)) why[2] = "inverted band (alt_lower_m > alt_upper_m)";
    if (!(fabs(cf->alt_lower_m - c->lo) <= ALT_TOL_M && fabs(cf->alt_upper_m - c->hi) <= ALT_TOL_M))
        why[3] = "band differs from the table";
    for (int k = 0; k < 4; k++) {
        if (!why[k]) continue;
        printf("    MISMATCH: %s", why[k]);
        if (k == 3) printf(": expected %.4f..%.4f m (+/- %g)", c->lo, c->hi, ALT_TOL_M);
        printf("\n");
        bad++;
    }
    return bad;
}

/* Every combination of references against the verdict, the flag and the reported band, filed
 * both ways round; and every row against the oracle above (verdict and flag always, the band
 * when flagged: an unflagged band is the nominal intersection). Default margin, 300 m. */
static void test_alt_references(void **state)
{
    (void)state;
    static const alt_case_t cases[] = {
        /* A flight-level band against a W84 band. */
        {"FL050-FL060 over W84 0-1000 m, 524 m gap", FL(50), FL(60), "FF", 0, 1000, "WW", 0, 0, 0,
         0},
        {"FL000-FL010 under W84 700-900 m, 395.2 m gap", 0, FL(10), "FF", 700, 900, "WW", 0, 0, 0,
         0},
        {"FL000-FL100 around W84 2000-2500 m", 0, FL(100), "FF", 2000, 2500, "WW", 1, 0, 2000,
         2500},
        {"FL000-FL100 vs W84 2700-5000 m, 348 m overlap", 0, FL(100), "FF", 2700, 5000, "WW", 1, 0,
         2700, FL(100)},
        {"FL000-FL100 vs W84 2900-3500 m, 148 m overlap", 0, FL(100), "FF", 2900, 3500, "WW", 1, 1,
         2900, FL(100) + 300},
        {"FL000-FL100 touching W84 3048-4000 m", 0, FL(100), "FF", FL(100), 4000, "WW", 1, 1,
         FL(100), FL(100) + 300},
        {"FL000-FL100 vs W84 3100-4000 m, 52 m gap", 0, FL(100), "FF", 3100, 4000, "WW", 1, 1, 3100,
         FL(100) + 300},
        {"W84 100-200 m vs FL000-FL003, 8.56 m gap (the review)", 100, 200, "WW", 0, FL(3), "FF", 1,
         1, 100, 200},
        {"FL000-FL003 vs W84 400-500 m, 308.56 m gap", 0, FL(3), "FF", 400, 500, "WW", 0, 0, 0, 0},
        {"FL010-FL020 vs W84 0-400 m, 95.2 m overlap", FL(10), FL(20), "FF", 0, 400, "WW", 1, 1,
         FL(10) - 300, 400},
        /* Half-mixed bands: each end keeps its own reference. */
        {"FL033/W84 2000 m over W84 0-900 m, 105.84 m gap", FL(33), 2000, "FW", 0, 900, "WW", 1, 1,
         FL(33) - 300, 900},
        {"FL033/W84 2000 m vs W84 1900-2500 m, W84 ends", FL(33), 2000, "FW", 1900, 2500, "WW", 1,
         0, 1900, 2000},
        {"FL033/W84 2000 m meeting W84 2000-2500 m", FL(33), 2000, "FW", 2000, 2500, "WW", 0, 0, 0,
         0},
        {"W84 0 m/FL033 under W84 1100-1500 m, 94.16 m gap", 0, FL(33), "WF", 1100, 1500, "WW", 1,
         1, 1100, FL(33) + 300},
        {"FL033/W84 2000 m vs W84 0 m/FL036, like ends", FL(33), 2000, "FW", 0, FL(36), "WF", 1, 0,
         FL(33), FL(36)},
        {"FL066-FL100 vs FL062/W84 2100 m, 88.32 m overlap", FL(66), FL(100), "FF", FL(62), 2100,
         "FW", 1, 1, FL(66) - 300, 2100},
        {"FL066-FL100 vs FL062/W84 1950 m, 61.68 m gap", FL(66), FL(100), "FF", FL(62), 1950, "FW",
         1, 1, FL(66) - 300, 1950},
        /* Like with like: exact, never flagged. */
        {"FL000-FL100 vs FL102-FL120, 60.96 m gap", 0, FL(100), "FF", FL(102), FL(120), "FF", 0, 0,
         0, 0},
        {"FL000-FL100 vs FL090-FL120", 0, FL(100), "FF", FL(90), FL(120), "FF", 1, 0, FL(90),
         FL(100)},
        {"W84 0-100 m meeting W84 100-200 m", 0, 100, "WW", 100, 200, "WW", 0, 0, 0, 0},
        {"W84 0-3048 m vs W84 3100-4000 m, 52 m gap", 0, 3048, "WW", 3100, 4000, "WW", 0, 0, 0, 0},
        {"W84 0-120 m vs W84 119.5-300 m", 0, 120, "WW", 119.5, 300, "WW", 1, 0, 119.5, 120},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const alt_case_t *c = &cases[i];
        dc_strategic_result_t res =
            alt_pair(c->a_lo, c->a_hi, c->a_ref, c->b_lo, c->b_hi, c->b_ref);
        bad += check_alt_result(c, &res, "A then B");
        dc_strategic_result_clear(&res);
        res = alt_pair(c->b_lo, c->b_hi, c->b_ref, c->a_lo, c->a_hi, c->a_ref);
        bad += check_alt_result(c, &res, "B then A");
        dc_strategic_result_clear(&res);

        int conflict, flagged;
        double lo, hi;
        alt_oracle(c, &conflict, &flagged, &lo, &hi);
        if (conflict != c->conflict || flagged != c->flagged)
            fail_msg("case '%s': the oracle says conflict %d flagged %d", c->name, conflict,
                     flagged);
        if (flagged) {
            assert_near(lo, c->lo, ORACLE_STEP_M + ALT_TOL_M);
            assert_near(hi, c->hi, ORACLE_STEP_M + ALT_TOL_M);
        }
    }
    if (bad) fail_msg("%d mismatch(es) in the table", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_brute_force), cmocka_unit_test(test_clip_against_geos),
        cmocka_unit_test(test_lifecycle),           cmocka_unit_test(test_circle_bound),
        cmocka_unit_test(test_alt_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
