/* Regions of ground that an agreement gives a party (include/deconflict/strategic.h): an area, or
 * one side of a line within a distance of it, tested exactly against points and footprints.
 *
 * A region is a union of pieces, each a polygon on the sphere with great-circle edges, held as
 * the footprint module holds footprints (fp_t), so that every test has the exact topology of
 * the spherical shapes (the gnomonic projection maps great circles to straight lines):
 *
 *   area      one piece: the polygon itself, validated as a volume's footprint is.
 *   one side  for each segment a->b of the line, the quadrilateral between the segment and its
 *             parallel at the given distance on that side (points cos(w)*p + sin(w)*pole, the
 *             pole of the segment's great circle on that side, every DENSIFY_M along it), and at
 *             each vertex where the line turns away from that side, the sector of the circle of
 *             that radius between the two segments' perpendiculars. The region is the one-sided
 *             buffer of the line on the sphere, square at its ends.
 *
 * Error: the far edge of a quadrilateral runs along great-circle chords between points at the
 * exact distance; on the sphere those chords lie slightly outside the parallel (a great circle
 * through two points of a small circle bulges away from its centre), by under 2 m at 500 NM
 * with DENSIFY_M = 20 km; sector arcs are circumscribed. So the region is never smaller than
 * defined, and larger by at most that: it errs on the side of a conflict, as circles do. Angles
 * are taken on the unit sphere of geodetic coordinates with a mean radius for distances. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/strategic.h"
#include "footprint.h"
#include "strategic_internal.h"

#define EARTH_MEAN_M     6371008.8 /* distances along the line and its parallel: the mean radius */
#define DENSIFY_M        20000.0   /* spacing of the points on a quadrilateral's far edge */
#define SECTOR_STEP      (5.0 * M_PI / 180.0) /* angle between a sector's arc points */
#define PIECE_POINTS_MAX DC_STRATEGIC_VERTICES_MAX

struct dc_region {
    fp_t *pieces;
    size_t n;
    dc_vec3_t center; /* every piece lies within rho_rad of it */
    double rho_rad;
};

static double dot3(const dc_vec3_t *a, const dc_vec3_t *b)
{
    return a->x * b->x + a->y * b->y + a->z * b->z;
}

static dc_vec3_t cross3(const dc_vec3_t *a, const dc_vec3_t *b)
{
    dc_vec3_t c = {a->y * b->z - a->z * b->y, a->z * b->x - a->x * b->z, a->x * b->y - a->y * b->x};
    return c;
}

static dc_vec3_t unit3(dc_vec3_t v)
{
    double l = sqrt(dot3(&v, &v));
    dc_vec3_t u = {v.x / l, v.y / l, v.z / l};
    return u;
}

/* cos(a) x + sin(a) y: a rotation in the plane of two orthogonal unit vectors. */
static dc_vec3_t rot(const dc_vec3_t *x, const dc_vec3_t *y, double a)
{
    double c = cos(a), s = sin(a);
    dc_vec3_t r = {c * x->x + s * y->x, c * x->y + s * y->y, c * x->z + s * y->z};
    return r;
}

void dc_region_free(dc_region_t *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) fp_clear(&r->pieces[i]);
    free(r->pieces);
    free(r);
}

/* Adds the polygon of unit vectors pts[0..n) as a piece (taking the footprint module's view of
 * it: repeated vertices dropped, centre and extent computed). */
static dc_err_t add_piece(dc_region_t *r, size_t *cap, const dc_vec3_t *pts, size_t n)
{
    if (n > PIECE_POINTS_MAX) return DC_ERR_LIMIT;
    if (r->n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        fp_t *p = realloc(r->pieces, c * sizeof(*p));
        if (!p) return DC_ERR_NOMEM;
        r->pieces = p, *cap = c;
    }
    dc_latlon_t ll[PIECE_POINTS_MAX];
    for (size_t i = 0; i < n; i++) dc_unit_to_latlon(&pts[i], &ll[i].lat_deg, &ll[i].lon_deg);
    dc_volume4d_t vol = {.kind = DC_FOOTPRINT_POLYGON, .vertices = ll, .n_vertices = n};
    dc_err_t rc = fp_init(&r->pieces[r->n], &vol);
    if (rc == DC_ERR_INVALID) return DC_OK; /* degenerate (no area): covers nothing */
    if (rc == DC_OK) r->n++;
    return rc;
}

/* The cap around every piece: the mean of their centres, and the widest reach from it. */
static void bound(dc_region_t *r)
{
    dc_vec3_t s = {0, 0, 0};
    for (size_t i = 0; i < r->n; i++)
        s.x += r->pieces[i].center.x, s.y += r->pieces[i].center.y, s.z += r->pieces[i].center.z;
    r->center = dot3(&s, &s) > 1e-12 ? unit3(s) : (r->n ? r->pieces[0].center : s);
    r->rho_rad = 0;
    for (size_t i = 0; i < r->n; i++) {
        double a = fp_angle(&r->center, &r->pieces[i].center) + r->pieces[i].rho_rad;
        if (a > r->rho_rad) r->rho_rad = a;
    }
}

static dc_err_t check_points(const dc_latlon_t *pts, size_t n, size_t min, const char *field,
                             dc_strategic_error_t *err)
{
    if (n < min || n > DC_STRATEGIC_VERTICES_MAX) {
        dc_strategic_error_set(err, field, "%zu to %d points, got %zu", min,
                               DC_STRATEGIC_VERTICES_MAX, n);
        return n > DC_STRATEGIC_VERTICES_MAX ? DC_ERR_LIMIT : DC_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++)
        if (!(fabs(pts[i].lat_deg) <= 90) || !(fabs(pts[i].lon_deg) <= 180)) {
            char f[96];
            snprintf(f, sizeof(f), "%s/%zu", field, i);
            dc_strategic_error_set(err, f,
                                   "latitude within [-90, 90], longitude within [-180, 180]");
            return DC_ERR_INVALID;
        }
    return DC_OK;
}

dc_err_t dc_region_area_new(const dc_latlon_t *pts, size_t n, dc_region_t **out,
                            dc_strategic_error_t *err)
{
    *out = NULL;
    dc_err_t rc = check_points(pts, n, DC_STRATEGIC_VERTICES_MIN, "area", err);
    if (rc != DC_OK) return rc;
    /* The same rules as a volume's footprint: extent, no self-intersection, an area. */
    dc_volume4d_t vol = {.kind = DC_FOOTPRINT_POLYGON,
                         .vertices = (dc_latlon_t *)pts,
                         .n_vertices = n,
                         .alt_lower_m = 0,
                         .alt_upper_m = 1,
                         .t_start_s = 0,
                         .t_end_s = 1};
    dc_strategic_error_t verr;
    memset(&verr, 0, sizeof(verr));
    if ((rc = dc_volume4d_validate(&vol, &verr)) != DC_OK) {
        dc_strategic_error_set(err, "area", "%s", verr.message);
        return rc;
    }
    dc_region_t *r = calloc(1, sizeof(*r));
    if (!r) return DC_ERR_NOMEM;
    r->pieces = calloc(1, sizeof(*r->pieces));
    if (!r->pieces || fp_init(&r->pieces[0], &vol) != DC_OK) {
        dc_region_free(r);
        return DC_ERR_NOMEM;
    }
    r->n = 1;
    bound(r);
    *out = r;
    return DC_OK;
}

/* Whether the line crosses itself: in the gnomonic plane at its centre, where its great-circle
 * segments are straight. */
static bool line_simple(const dc_vec3_t *u, size_t n, const dc_vec3_t *center)
{
    fp_plane_t pl;
    fp_plane_at(&pl, center);
    double *xy = malloc(2 * n * sizeof(double));
    if (!xy) return false;
    for (size_t i = 0; i < n; i++) {
        double d = dot3(&u[i], &pl.c);
        xy[2 * i] = dot3(&u[i], &pl.e) / d, xy[2 * i + 1] = dot3(&u[i], &pl.n) / d;
    }
    bool simple = true;
    for (size_t i = 0; i + 1 < n && simple; i++)
        for (size_t j = i + 2; j + 1 < n && simple; j++) {
            const double *a = &xy[2 * i], *b = &xy[2 * i + 2], *c = &xy[2 * j], *d = &xy[2 * j + 2];
            double d1 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            double d2 = (b[0] - a[0]) * (d[1] - a[1]) - (b[1] - a[1]) * (d[0] - a[0]);
            double d3 = (d[0] - c[0]) * (a[1] - c[1]) - (d[1] - c[1]) * (a[0] - c[0]);
            double d4 = (d[0] - c[0]) * (b[1] - c[1]) - (d[1] - c[1]) * (b[0] - c[0]);
            simple = !((d1 > 0) != (d2 > 0) && (d3 > 0) != (d4 > 0) && d1 * d2 < 0 && d3 * d4 < 0);
        }
    free(xy);
    return simple;
}

dc_err_t dc_region_side_new(const dc_latlon_t *pts, size_t n, double width_m, int side,
                            dc_region_t **out, dc_strategic_error_t *err)
{
    *out = NULL;
    dc_err_t rc = check_points(pts, n, 2, "line", err);
    if (rc != DC_OK) return rc;
    if (!(width_m > 0 && width_m <= DC_REGION_WIDTH_MAX_M)) {
        dc_strategic_error_set(err, "within",
                               "the distance from the line is more than 0 and at "
                               "most %.0f m, got %g",
                               DC_REGION_WIDTH_MAX_M, width_m);
        return DC_ERR_LIMIT;
    }
    dc_vec3_t *u = malloc(n * sizeof(*u));
    if (!u) return DC_ERR_NOMEM;
    size_t m = 0;
    dc_vec3_t sum = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        dc_latlon_to_unit(pts[i].lat_deg, pts[i].lon_deg, &u[m]);
        if (m && fp_angle(&u[m], &u[m - 1]) < 1e-9) continue; /* a repeated point */
        sum.x += u[m].x, sum.y += u[m].y, sum.z += u[m].z;
        m++;
    }
    rc = DC_OK;
    if (m < 2 || dot3(&sum, &sum) < 1e-12) {
        dc_strategic_error_set(err, "line", "a line needs 2 distinct points");
        rc = DC_ERR_INVALID;
    }
    dc_vec3_t center = rc == DC_OK ? unit3(sum) : sum;
    for (size_t i = 0; i < m && rc == DC_OK; i++)
        if (fp_angle(&center, &u[i]) * EARTH_MEAN_M > DC_REGION_LINE_EXTENT_MAX_M) {
            dc_strategic_error_set(err, "line",
                                   "the line reaches %.0f km from its centre; the "
                                   "limit is %.0f km",
                                   fp_angle(&center, &u[i]) * EARTH_MEAN_M / 1000,
                                   DC_REGION_LINE_EXTENT_MAX_M / 1000);
            rc = DC_ERR_LIMIT;
        }
    if (rc == DC_OK && !line_simple(u, m, &center)) {
        dc_strategic_error_set(err, "line",
                               "the line crosses itself: its sides would be "
                               "ambiguous");
        rc = DC_ERR_INVALID;
    }
    dc_region_t *r = rc == DC_OK ? calloc(1, sizeof(*r)) : NULL;
    if (rc == DC_OK && !r) rc = DC_ERR_NOMEM;
    size_t cap = 0;
    double w = width_m / EARTH_MEAN_M, s = side > 0 ? 1 : -1;
    dc_vec3_t poly[PIECE_POINTS_MAX];
    for (size_t i = 0; i + 1 < m && rc == DC_OK; i++) {
        /* The quadrilateral of segment i: a, b, then back along the parallel. */
        dc_vec3_t a = u[i], b = u[i + 1], c = cross3(&a, &b);
        dc_vec3_t pole = unit3(c);
        pole.x *= s, pole.y *= s, pole.z *= s;
        double len = fp_angle(&a, &b);
        dc_vec3_t t = unit3(cross3(&c, &a)); /* a's direction along the segment */
        size_t k = (size_t)ceil(len * EARTH_MEAN_M / DENSIFY_M);
        if (k < 1) k = 1;
        if (k + 3 > PIECE_POINTS_MAX) k = PIECE_POINTS_MAX - 3;
        size_t np = 0;
        poly[np++] = a;
        poly[np++] = b;
        for (size_t j = k + 1; j-- > 0;) {
            dc_vec3_t p = rot(&a, &t, len * (double)j / (double)k);
            poly[np++] = rot(&p, &pole, w);
        }
        rc = add_piece(r, &cap, poly, np);
        /* The sector at b when the line turns away from this side there. */
        if (rc != DC_OK || i + 2 >= m) continue;
        dc_vec3_t next = u[i + 2];
        if (dot3(&next, &pole) >= 0) continue; /* turns toward this side: the pieces overlap */
        dc_vec3_t pole2 = unit3(cross3(&b, &next));
        pole2.x *= s, pole2.y *= s, pole2.z *= s;
        double turn = fp_angle(&pole, &pole2);
        dc_vec3_t dir = unit3(cross3(&b, &pole)); /* completes pole in b's tangent plane */
        if (dot3(&dir, &pole2) < 0) dir.x = -dir.x, dir.y = -dir.y, dir.z = -dir.z;
        size_t steps = (size_t)ceil(turn / SECTOR_STEP);
        if (steps < 1) steps = 1;
        double step = turn / (double)steps;
        /* Arc points at the circumscribing distance: the great-circle chords between them stay
         * outside the circle of radius w around b. */
        double wc = atan(tan(w) / cos(step / 2));
        np = 0;
        poly[np++] = b;
        for (size_t j = 0; j <= steps && np < PIECE_POINTS_MAX; j++) {
            dc_vec3_t d = rot(&pole, &dir, step * (double)j);
            poly[np++] = rot(&b, &d, j == 0 || j == steps ? w : wc);
        }
        rc = add_piece(r, &cap, poly, np);
    }
    free(u);
    if (rc != DC_OK) {
        dc_region_free(r);
        return rc;
    }
    bound(r);
    *out = r;
    return DC_OK;
}

/* Whether unit vector p is inside piece fp: ray casting in the gnomonic plane centred on p,
 * where the piece's edges are straight and p is the origin. */
static bool piece_contains(const fp_t *fp, const dc_vec3_t *p)
{
    if (fp_angle(&fp->center, p) > fp->rho_rad + 1e-12) return false;
    fp_plane_t pl;
    fp_plane_at(&pl, p);
    bool inside = false;
    double xj = 0, yj = 0;
    for (size_t i = 0, first = 1; i <= fp->n; i++, first = 0) {
        const dc_vec3_t *v = &fp->ring[i % fp->n];
        double d = dot3(v, &pl.c);
        if (d <= 0) return false; /* cannot happen within the piece's cap */
        double xi = dot3(v, &pl.e) / d, yi = dot3(v, &pl.n) / d;
        if (!first && (yi > 0) != (yj > 0) && 0 < xi + (0 - yi) * (xj - xi) / (yj - yi))
            inside = !inside;
        xj = xi, yj = yi;
    }
    return inside;
}

bool dc_region_contains(const dc_region_t *r, double lat_deg, double lon_deg)
{
    dc_vec3_t p;
    dc_latlon_to_unit(lat_deg, lon_deg, &p);
    if (!r || fp_angle(&r->center, &p) > r->rho_rad + 1e-12) return false;
    for (size_t i = 0; i < r->n; i++)
        if (piece_contains(&r->pieces[i], &p)) return true;
    return false;
}

/* Whether footprint fp meets the region: each piece near it, by the footprint test. */
static int meets_fp(const dc_region_t *r, const fp_t *fp)
{
    if (fp_angle(&r->center, &fp->center) > r->rho_rad + fp->rho_rad + 1e-9) return 0;
    int met = 0;
    GEOSContextHandle_t ctx = fp_geos_new();
    fp_query_t q;
    if (!ctx || fp_query_init(&q, ctx, fp) != DC_OK) {
        met = -1;
    } else {
        for (size_t i = 0; i < r->n && met == 0; i++) met = fp_query_test(&q, &r->pieces[i], NULL);
        fp_query_clear(&q);
    }
    if (ctx) GEOS_finish_r(ctx);
    return met;
}

int dc_region_meets_footprint(const dc_region_t *r, const dc_volume4d_t *vol)
{
    fp_t fp;
    if (fp_init(&fp, vol) != DC_OK) return -1;
    int met = meets_fp(r, &fp);
    fp_clear(&fp);
    return met;
}

int dc_region_meets_prepared(const dc_region_t *r, const dc_strategic_prepared_t *p, size_t i)
{
    const fp_t *fp = dc_strategic_prepared_fp(p, i);
    return fp ? meets_fp(r, fp) : -1;
}
