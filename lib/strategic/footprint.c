/* Footprints on the sphere, projected gnomonically for GEOS: see footprint.h. */
#include "strategic/footprint.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/numfmt.h"

#define DEG2RAD (M_PI / 180.0)
#define E2      (DC_WGS84_F * (2.0 - DC_WGS84_F))

/* A point this close to another (radians, ~6 micrometres) is the same vertex. */
#define SAME_POINT_RAD 1e-12
/* Projected points must stay this far in front of the plane (cos 84 deg): beyond, the gnomonic
 * scale blows up. Footprints are at most 500 km (4.5 deg) across, so this never triggers for a
 * pair the cap test lets through. */
#define MIN_PLANE_DOT 0.1
/* Intersections with less area than this (m^2) are rounding slivers of shared edges: at 50 km
 * from the plane centre double rounding is ~1e-11 m, so slivers are far below 1e-6 m^2, while
 * the smallest real overlap in the ASTM set (a 1.1 cm apex) has ~1e-4 m^2. */
#define SLIVER_M2 1e-6
/* Circles: vertices sit on a circle this much larger than circumscription needs, to cover the
 * ellipsoid's change of curvature across the circle (measured in unit_strategic_geometry). */
#define CIRCLE_SAFETY 1.0003

static size_t project_ring(const fp_t *fp, const fp_plane_t *pl, double *xy);
static bool ring_convex(const double *xy, size_t n);
static void ring_bbox(const double *xy, size_t n, double bb[4]);

static _Thread_local char geos_error[256];

static void on_geos_error(const char *msg, void *ud)
{
    (void)ud;
    snprintf(geos_error, sizeof(geos_error), "%s", msg);
}

GEOSContextHandle_t fp_geos_new(void)
{
    GEOSContextHandle_t ctx = GEOS_init_r();
    if (!ctx) return NULL;
    GEOSContext_setErrorMessageHandler_r(ctx, on_geos_error, NULL);
    GEOSContext_setNoticeMessageHandler_r(ctx, NULL, NULL);
    return ctx;
}

const char *fp_geos_last_error(void)
{
    return geos_error;
}

void dc_latlon_to_unit(double lat_deg, double lon_deg, dc_vec3_t *u)
{
    double phi = lat_deg * DEG2RAD, lam = lon_deg * DEG2RAD, c = cos(phi);
    u->x = c * cos(lam);
    u->y = c * sin(lam);
    u->z = sin(phi);
}

void dc_unit_to_latlon(const dc_vec3_t *u, double *lat_deg, double *lon_deg)
{
    *lat_deg = atan2(u->z, hypot(u->x, u->y)) / DEG2RAD;
    *lon_deg = atan2(u->y, u->x) / DEG2RAD;
}

static double dot(const dc_vec3_t *a, const dc_vec3_t *b)
{
    return a->x * b->x + a->y * b->y + a->z * b->z;
}

static void normalize(dc_vec3_t *v)
{
    double l = sqrt(dot(v, v));
    v->x /= l, v->y /= l, v->z /= l;
}

double fp_angle(const dc_vec3_t *a, const dc_vec3_t *b)
{
    dc_vec3_t c = {a->y * b->z - a->z * b->y, a->z * b->x - a->x * b->z, a->x * b->y - a->y * b->x};
    return atan2(sqrt(dot(&c, &c)), dot(a, b));
}

/* Radii of curvature at geodetic latitude: meridional (M) and prime vertical (N), metres. */
static void radii_m(double sin_lat, double *m, double *n)
{
    double w2 = 1.0 - E2 * sin_lat * sin_lat, w = sqrt(w2);
    *n = DC_WGS84_A_M / w;
    *m = DC_WGS84_A_M * (1.0 - E2) / (w2 * w);
}

static double circle_vertex_scale(void)
{
    return CIRCLE_SAFETY / cos(M_PI / DC_STRATEGIC_CIRCLE_SEGMENTS);
}

dc_err_t fp_init(fp_t *fp, const dc_volume4d_t *vol)
{
    memset(fp, 0, sizeof(*fp));
    if (vol->kind == DC_FOOTPRINT_CIRCLE) {
        double m, n;
        dc_latlon_to_unit(vol->center.lat_deg, vol->center.lon_deg, &fp->center);
        radii_m(fp->center.z, &m, &n);
        fp->circle = true;
        fp->convex = true;
        fp->radius_m = vol->radius_m;
        fp->rho_rad = vol->radius_m * circle_vertex_scale() / m; /* M <= N: the widest angle */
        return DC_OK;
    }
    if (vol->n_vertices < DC_STRATEGIC_VERTICES_MIN) return DC_ERR_INVALID;
    fp->ring = malloc(vol->n_vertices * sizeof(*fp->ring));
    if (!fp->ring) return DC_ERR_NOMEM;
    dc_vec3_t sum = {0, 0, 0};
    for (size_t i = 0; i < vol->n_vertices; i++) {
        dc_vec3_t u;
        dc_latlon_to_unit(vol->vertices[i].lat_deg, vol->vertices[i].lon_deg, &u);
        if (fp->n > 0 && fp_angle(&u, &fp->ring[fp->n - 1]) < SAME_POINT_RAD) continue;
        fp->ring[fp->n++] = u;
    }
    while (fp->n > 1 && fp_angle(&fp->ring[0], &fp->ring[fp->n - 1]) < SAME_POINT_RAD) fp->n--;
    for (size_t i = 0; i < fp->n; i++) {
        sum.x += fp->ring[i].x, sum.y += fp->ring[i].y, sum.z += fp->ring[i].z;
    }
    if (fp->n < DC_STRATEGIC_VERTICES_MIN || dot(&sum, &sum) < 1e-6) {
        fp_clear(fp);
        return DC_ERR_INVALID;
    }
    normalize(&sum);
    fp->center = sum;
    for (size_t i = 0; i < fp->n; i++) {
        double a = fp_angle(&fp->center, &fp->ring[i]);
        if (a > fp->rho_rad) fp->rho_rad = a;
    }
    if (fp->n <= DC_STRATEGIC_VERTICES_MAX) {
        fp_plane_t pl;
        double xy[2 * (DC_STRATEGIC_VERTICES_MAX + 1)];
        fp_plane_at(&pl, &fp->center);
        size_t n = project_ring(fp, &pl, xy);
        fp->convex = n > 0 && ring_convex(xy, n);
    }
    return DC_OK;
}

void fp_clear(fp_t *fp)
{
    if (!fp) return;
    free(fp->ring);
    memset(fp, 0, sizeof(*fp));
}

void fp_plane_at(fp_plane_t *pl, const dc_vec3_t *c)
{
    double lat, lon;
    dc_unit_to_latlon(c, &lat, &lon);
    pl->c = *c;
    dc_geo_enu_basis(lat, lon, &pl->e, &pl->n);
    radii_m(c->z, &pl->sy_m, &pl->sx_m);
}

/* The circle's polygon: vertex i lies at ellipsoidal azimuth 2*pi*i/n, at the circumscribing
 * distance, converted to sphere angles with the radii of curvature at the centre (north offsets
 * by M, east offsets by N), which is the ellipsoid's own metric to first order. */
static void circle_ring(const fp_t *fp, dc_vec3_t *out)
{
    fp_plane_t pl;
    fp_plane_at(&pl, &fp->center);
    double r = fp->radius_m * circle_vertex_scale();
    /* The azimuths' cosines and sines by rotation rather than a cos and a sin per vertex (this
     * runs for every circle a filing meets); the drift over 64 steps is ~1e-15. */
    double step_c = cos(2.0 * M_PI / DC_STRATEGIC_CIRCLE_SEGMENTS),
           step_s = sin(2.0 * M_PI / DC_STRATEGIC_CIRCLE_SEGMENTS), cos_az = 1, sin_az = 0;
    for (int i = 0; i < DC_STRATEGIC_CIRCLE_SEGMENTS; i++) {
        double dn = r * cos_az / pl.sy_m, de = r * sin_az / pl.sx_m;
        double next_c = cos_az * step_c - sin_az * step_s;
        sin_az = sin_az * step_c + cos_az * step_s;
        cos_az = next_c;
        double th = sqrt(dn * dn + de * de), s = sin(th), c = cos(th);
        double bn = th > 0 ? dn / th : 0, be = th > 0 ? de / th : 0;
        out[i].x = pl.c.x * c + (pl.n.x * bn + pl.e.x * be) * s;
        out[i].y = pl.c.y * c + (pl.n.y * bn + pl.e.y * be) * s;
        out[i].z = pl.c.z * c + (pl.n.z * bn + pl.e.z * be) * s;
    }
}

static bool project(const fp_plane_t *pl, const dc_vec3_t *p, double *x, double *y)
{
    double d = dot(p, &pl->c);
    if (d < MIN_PLANE_DOT) return false;
    *x = pl->sx_m * dot(p, &pl->e) / d;
    *y = pl->sy_m * dot(p, &pl->n) / d;
    return true;
}

static void unproject(const fp_plane_t *pl, double x, double y, double *lat, double *lon)
{
    double a = x / pl->sx_m, b = y / pl->sy_m;
    dc_vec3_t p = {pl->c.x + a * pl->e.x + b * pl->n.x, pl->c.y + a * pl->e.y + b * pl->n.y,
                   pl->c.z + a * pl->e.z + b * pl->n.z};
    normalize(&p);
    dc_unit_to_latlon(&p, lat, lon);
}

/* Projects fp's ring into pl as n (x, y) pairs written to xy (room for
 * DC_STRATEGIC_VERTICES_MAX + 1 pairs). Returns n, or 0 if a point lies too far from the centre. */
static size_t project_ring(const fp_t *fp, const fp_plane_t *pl, double *xy)
{
    dc_vec3_t circ[DC_STRATEGIC_CIRCLE_SEGMENTS];
    const dc_vec3_t *ring = fp->ring;
    size_t n = fp->n;
    if (fp->circle) {
        circle_ring(fp, circ);
        ring = circ;
        n = DC_STRATEGIC_CIRCLE_SEGMENTS;
    }
    for (size_t i = 0; i < n; i++)
        if (!project(pl, &ring[i], &xy[2 * i], &xy[2 * i + 1])) return 0;
    return n;
}

static GEOSGeometry *polygon_from_xy(GEOSContextHandle_t ctx, double *xy, size_t n)
{
    xy[2 * n] = xy[0]; /* close the ring: the buffer has room for one more pair */
    xy[2 * n + 1] = xy[1];
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(ctx, xy, n + 1, 0, 0);
    if (!seq) return NULL;
    GEOSGeometry *shell = GEOSGeom_createLinearRing_r(ctx, seq);
    if (!shell) return NULL;
    return GEOSGeom_createPolygon_r(ctx, shell, NULL, 0);
}

GEOSGeometry *fp_to_geos(GEOSContextHandle_t ctx, const fp_t *fp, const fp_plane_t *pl)
{
    double xy[2 * (DC_STRATEGIC_VERTICES_MAX + 1)];
    size_t n = project_ring(fp, pl, xy);
    return n ? polygon_from_xy(ctx, xy, n) : NULL;
}

/* Twice the signed area of a planar ring (positive when counter-clockwise). */
static double ring_area2(const double *xy, size_t n)
{
    double a = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        a += xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
    return a;
}

/* Whether a planar ring is convex (all turns the same way; collinear vertices allowed). The
 * gnomonic projection maps great circles to lines, so this is convexity on the sphere too. */
static bool ring_convex(const double *xy, size_t n)
{
    int sign = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = &xy[2 * i], *b = &xy[2 * ((i + 1) % n)], *c = &xy[2 * ((i + 2) % n)];
        double cr = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        int s = cr > 0 ? 1 : cr < 0 ? -1 : 0;
        if (s == 0) continue;
        if (sign == 0)
            sign = s;
        else if (s != sign)
            return false;
    }
    return true;
}

static void fmt(char *msg, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(msg, len, f, ap);
    va_end(ap);
}

dc_err_t fp_validate(GEOSContextHandle_t ctx, const fp_t *fp, char *msg, size_t len)
{
    double m, n;
    radii_m(fp->center.z, &m, &n);
    double extent_m = fp->rho_rad * m;
    if (extent_m > DC_STRATEGIC_EXTENT_MAX_M) {
        fmt(msg, len, "footprint reaches %.0f km from its centre; the limit is %.0f km",
            extent_m / 1000, DC_STRATEGIC_EXTENT_MAX_M / 1000);
        return DC_ERR_LIMIT;
    }
    if (fp->circle) return DC_OK;
    fp_plane_t pl;
    fp_plane_at(&pl, &fp->center);
    GEOSGeometry *g = fp_to_geos(ctx, fp, &pl);
    if (!g) {
        fmt(msg, len, "polygon could not be built: %s", fp_geos_last_error());
        return DC_ERR_INVALID;
    }
    char *reason = NULL;
    GEOSGeometry *where = NULL;
    char valid = GEOSisValidDetail_r(ctx, g, 0, &reason, &where);
    dc_err_t rc = DC_OK;
    if (valid != 1) {
        double x = 0, y = 0, lat = 0, lon = 0;
        if (where) {
            GEOSGeomGetX_r(ctx, where, &x);
            GEOSGeomGetY_r(ctx, where, &y);
            unproject(&pl, x, y, &lat, &lon);
        }
        fmt(msg, len, "polygon is not simple (%s near lat %.7f lon %.7f)",
            reason ? reason : "invalid", lat, lon);
        rc = DC_ERR_INVALID;
    } else {
        double area = 0;
        GEOSArea_r(ctx, g, &area);
        if (area <= SLIVER_M2) {
            fmt(msg, len, "polygon has no area (its vertices are collinear)");
            rc = DC_ERR_INVALID;
        }
    }
    if (reason) GEOSFree_r(ctx, reason);
    if (where) GEOSGeom_destroy_r(ctx, where);
    GEOSGeom_destroy_r(ctx, g);
    return rc;
}

dc_err_t fp_query_init(fp_query_t *q, GEOSContextHandle_t ctx, const fp_t *fp)
{
    memset(q, 0, sizeof(*q));
    q->ctx = ctx;
    q->fp = fp;
    fp_plane_at(&q->plane, &fp->center);
    size_t cap = (fp->circle ? DC_STRATEGIC_CIRCLE_SEGMENTS : fp->n) + 1;
    q->xy = malloc(2 * cap * sizeof(double));
    if (!q->xy) return DC_ERR_NOMEM;
    q->n = project_ring(fp, &q->plane, q->xy);
    if (!q->n) {
        fp_query_clear(q);
        return DC_ERR_NOMEM; /* cannot happen: a valid footprint is within 500 km of its centre */
    }
    ring_bbox(q->xy, q->n, q->bbox);
    if (ring_area2(q->xy, q->n) < 0) { /* the clipper wants counter-clockwise */
        for (size_t i = 0, j = q->n - 1; i < j; i++, j--) {
            double tx = q->xy[2 * i], ty = q->xy[2 * i + 1];
            q->xy[2 * i] = q->xy[2 * j], q->xy[2 * i + 1] = q->xy[2 * j + 1];
            q->xy[2 * j] = tx, q->xy[2 * j + 1] = ty;
        }
    }
    return DC_OK;
}

/* The query as a prepared GEOS geometry, built on first need: most filings are settled by
 * clipping alone. */
static bool query_geos(fp_query_t *q)
{
    if (q->prep) return true;
    if (!q->geom) q->geom = polygon_from_xy(q->ctx, q->xy, q->n);
    if (q->geom) q->prep = GEOSPrepare_r(q->ctx, q->geom);
    return q->prep != NULL;
}

void fp_query_clear(fp_query_t *q)
{
    if (q->prep) GEOSPreparedGeom_destroy_r(q->ctx, q->prep);
    if (q->geom) GEOSGeom_destroy_r(q->ctx, q->geom);
    free(q->xy);
    q->prep = NULL;
    q->geom = NULL;
    q->xy = NULL;
}

/* ---- the overlap: area and GeoJSON ---- */

/* The planar area of a region around plane point (x, y) converted to the ellipsoid: the
 * gnomonic area element is sec^3 of the angle from the centre, and the plane's metre scale
 * (N, M at the centre) is replaced by the radii of curvature at the point. Relative error is
 * second order in the region's size over R: below 1e-5 for 50 km overlaps (measured against
 * PROJ's geodesic area in unit_strategic_geometry). */
static double area_on_ellipsoid_m2(const fp_plane_t *pl, double area_plane_m2, double x, double y)
{
    double a = x / pl->sx_m, b = y / pl->sy_m;
    double cos_t = 1.0 / sqrt(1.0 + a * a + b * b);
    dc_vec3_t p = {pl->c.x + a * pl->e.x + b * pl->n.x, pl->c.y + a * pl->e.y + b * pl->n.y,
                   pl->c.z + a * pl->e.z + b * pl->n.z};
    normalize(&p);
    double m, n;
    radii_m(p.z, &m, &n);
    return area_plane_m2 * cos_t * cos_t * cos_t * (m * n) / (pl->sx_m * pl->sy_m);
}

/* Area-weighted centroid of a planar ring (any orientation). */
static void ring_centroid(const double *xy, size_t n, double *cx, double *cy)
{
    double a2 = 0, sx = 0, sy = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double cr = xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
        a2 += cr;
        sx += (xy[2 * j] + xy[2 * i]) * cr;
        sy += (xy[2 * j + 1] + xy[2 * i + 1]) * cr;
    }
    *cx = a2 != 0 ? sx / (3 * a2) : xy[0];
    *cy = a2 != 0 ? sy / (3 * a2) : xy[1];
}

typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf_t;

/* Makes room for `more` bytes and a NUL; false (and failed set) when memory runs out. */
static bool sb_reserve(sbuf_t *b, size_t more)
{
    if (b->failed) return false;
    if (b->s && b->len + more < b->cap) return true;
    size_t cap = (b->cap + more + 1) * 2;
    char *ns = realloc(b->s, cap);
    if (!ns) {
        b->failed = true;
        return false;
    }
    b->s = ns;
    b->cap = cap;
    return true;
}

static void sb_printf(sbuf_t *b, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *f, ...)
{
    for (;;) {
        if (b->failed) return;
        va_list ap;
        va_start(ap, f);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, f, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return;
        }
        if (!sb_reserve(b, (size_t)k)) return;
    }
}

/* Appends a closed ring of plane points as GeoJSON [[lon, lat], ...] (1e-9 deg = 0.1 mm).
 * Coordinates go through dc_fmt_fixed: printf's "%.9f" was a fifth of a filing's time. */
static void sb_ring(sbuf_t *b, const fp_plane_t *pl, const double *xy, size_t n)
{
    if (!sb_reserve(b, (n + 1) * (2 * DC_FMT_FIXED_MAX + 4) + 2)) return;
    b->s[b->len++] = '[';
    for (size_t k = 0; k <= n; k++) {
        size_t i = k % n;
        double lat, lon;
        unproject(pl, xy[2 * i], xy[2 * i + 1], &lat, &lon);
        if (k) b->s[b->len++] = ',';
        b->s[b->len++] = '[';
        b->len += dc_fmt_fixed(b->s + b->len, lon, 9);
        b->s[b->len++] = ',';
        b->len += dc_fmt_fixed(b->s + b->len, lat, 9);
        b->s[b->len++] = ']';
    }
    b->s[b->len++] = ']';
    b->s[b->len] = '\0';
}

/* What clipping found out about a pair, or that it leaves the pair to GEOS. */
typedef enum clip_verdict { CLIP_UNSURE = -1, CLIP_APART = 0, CLIP_OVERLAP = 1 } clip_verdict_t;

/* Sutherland-Hodgman clipping of subject ring s (sn points, simple, any orientation, convex or
 * not) by the convex counter-clockwise ring c (cn points). out and tmp hold cap points each;
 * spv holds cap doubles. Returns the result's point count, or SIZE_MAX when it would not fit.
 * When the result is empty, *apart_m is how far all of s lies beyond the edge of c that
 * emptied it (0 when s is not wholly beyond it).
 * *maybe_bridged is set when a stage cut the subject more than twice or met a vertex exactly on
 * the clip line: only then can the result carry the zero-width "bridges" this algorithm leaves
 * where a concave subject falls apart in pieces. With at most two cuts per stage, a simple
 * polygon stays one simple polygon: the part on one side of a line it crosses twice, closed by
 * the chord between the crossings. The area is right in every case. */
static size_t clip_by_convex(const double *c, size_t cn, const double *s, size_t sn, double *out,
                             double *tmp, double *spv, size_t cap, double *apart_m,
                             bool *maybe_bridged)
{
    size_t n = sn;
    *apart_m = 0;
    *maybe_bridged = false;
    if (sn > cap) return SIZE_MAX;
    memcpy(out, s, 2 * sn * sizeof(double));
    for (size_t e = 0; e < cn && n > 0; e++) {
        const double *a = &c[2 * e], *b = &c[2 * ((e + 1) % cn)];
        double ex = b[0] - a[0], ey = b[1] - a[1];
        if (ex == 0 && ey == 0) continue; /* repeated vertex: no edge */
        size_t cuts = 0, inside = 0;
        for (size_t i = 0; i < n; i++) {
            spv[i] = ex * (out[2 * i + 1] - a[1]) - ey * (out[2 * i] - a[0]);
            if (spv[i] == 0) *maybe_bridged = true;
            if (spv[i] >= 0) inside++;
        }
        if (inside == 0) { /* nothing left inside this edge: no overlap */
            /* The gap to c is the whole subject's depth beyond this edge (c lies on the inner
             * side), not the depth of what earlier stages left of it. */
            double nearest = INFINITY;
            for (size_t i = 0; i < sn; i++)
                nearest = fmin(nearest, -(ex * (s[2 * i + 1] - a[1]) - ey * (s[2 * i] - a[0])));
            *apart_m = nearest > 0 ? nearest / hypot(ex, ey) : 0;
            return 0;
        }
        if (inside == n) continue; /* all on the inner side: this edge changes nothing */
        for (size_t i = 0; i < n; i++) cuts += (spv[i] >= 0) != (spv[(i + 1) % n] >= 0);
        if (cuts > 2) *maybe_bridged = true;
        if (inside + cuts > cap) return SIZE_MAX;
        memcpy(tmp, out, 2 * n * sizeof(double));
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = (i + 1) % n;
            const double *p = &tmp[2 * i], *r = &tmp[2 * k];
            double sp = spv[i], sr = spv[k];
            if (sp >= 0) out[2 * m] = p[0], out[2 * m + 1] = p[1], m++;
            if ((sp >= 0) != (sr >= 0)) {
                double t = sp / (sp - sr);
                out[2 * m] = p[0] + t * (r[0] - p[0]);
                out[2 * m + 1] = p[1] + t * (r[1] - p[1]);
                m++;
            }
        }
        n = m;
    }
    return n;
}

/* Twice the signed area of triangle abc. */
static double orient2(const double *a, const double *b, const double *c)
{
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

static double point_segment_dist(const double *p, const double *a, const double *b)
{
    double dx = b[0] - a[0], dy = b[1] - a[1], l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/* Whether segments ab and cd come within eps of each other. */
static bool segments_near(const double *a, const double *b, const double *c, const double *d,
                          double eps)
{
    double o1 = orient2(a, b, c), o2 = orient2(a, b, d), o3 = orient2(c, d, a),
           o4 = orient2(c, d, b);
    if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)))
        return true; /* proper crossing */
    return point_segment_dist(a, c, d) <= eps || point_segment_dist(b, c, d) <= eps ||
           point_segment_dist(c, a, b) <= eps || point_segment_dist(d, a, b) <= eps;
}

/* Whether ring xy (n points) is simple with a margin of eps: no two non-adjacent edges within
 * eps, no edge folding back onto the previous one. Drops repeated points first (n updated).
 * Quadratic, so only run on results that may carry bridges (clip_by_convex). */
static bool ring_simple(double *xy, size_t *np, double eps)
{
    size_t n = 0;
    for (size_t i = 0; i < *np; i++) {
        const double *p = &xy[2 * i];
        if (n && hypot(p[0] - xy[2 * (n - 1)], p[1] - xy[2 * (n - 1) + 1]) <= eps) continue;
        xy[2 * n] = p[0], xy[2 * n + 1] = p[1], n++;
    }
    while (n > 1 && hypot(xy[0] - xy[2 * (n - 1)], xy[1] - xy[2 * (n - 1) + 1]) <= eps) n--;
    *np = n;
    if (n < 3) return false;
    for (size_t i = 0; i < n; i++) {
        const double *a = &xy[2 * i], *b = &xy[2 * ((i + 1) % n)], *c = &xy[2 * ((i + 2) % n)];
        /* A spike: c back on the line through ab, on a's side of b. */
        double abx = b[0] - a[0], aby = b[1] - a[1], bcx = c[0] - b[0], bcy = c[1] - b[1];
        if (abx * bcx + aby * bcy < 0 && point_segment_dist(c, a, b) <= eps) return false;
        for (size_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1) continue; /* adjacent through the closing edge */
            if (segments_near(a, b, &xy[2 * j], &xy[2 * ((j + 1) % n)], eps)) return false;
        }
    }
    return true;
}

/* Overlap of a pair where at least one footprint is convex, without GEOS: the convex one clips
 * the other. xy (n points) is the other footprint in q's plane. APART when a gap of more than
 * the touch tolerance separates them; OVERLAP with area and GeoJSON (when out) when the overlap
 * has area and is one simple polygon; UNSURE for the rest (slivers, contacts, results that
 * fell apart in pieces), which go through GEOS. */
static clip_verdict_t clip_overlap(fp_query_t *q, const double *xy, size_t n, bool other_convex,
                                   fp_overlap_t *out)
{
    /* The convex side clips; of two convex sides the one with fewer edges, since each clip
     * edge is a pass over the subject. */
    bool q_clips = q->fp->convex && (!other_convex || q->n <= n);
    const double *c = q_clips ? q->xy : xy, *s = q_clips ? xy : q->xy;
    size_t cn = q_clips ? q->n : n, sn = q_clips ? n : q->n;
    size_t cap = 2 * (cn + sn) + 8;
    double *buf = malloc((5 * cap + (q_clips ? 0 : 2 * cn)) * sizeof(double));
    if (!buf) return CLIP_UNSURE;
    if (!q_clips && ring_area2(xy, n) < 0) { /* the clipping ring must be counter-clockwise */
        double *ccw = buf + 5 * cap;
        for (size_t i = 0; i < n; i++)
            ccw[2 * i] = xy[2 * (n - 1 - i)], ccw[2 * i + 1] = xy[2 * (n - 1 - i) + 1];
        c = ccw;
    }
    double apart_m;
    bool maybe_bridged;
    size_t m = clip_by_convex(c, cn, s, sn, buf, buf + 2 * cap, buf + 4 * cap, cap, &apart_m,
                              &maybe_bridged);
    clip_verdict_t v = CLIP_UNSURE;
    if (m == 0 && apart_m > DC_STRATEGIC_TOUCH_M) v = CLIP_APART;
    if (m == SIZE_MAX || m < 3 || (maybe_bridged && !ring_simple(buf, &m, 1e-6))) {
        free(buf);
        return v;
    }
    double area2 = fabs(ring_area2(buf, m));
    if (area2 / 2 <= SLIVER_M2) {
        free(buf);
        return CLIP_UNSURE;
    }
    if (out) {
        double cx, cy;
        ring_centroid(buf, m, &cx, &cy);
        out->area_m2 = area_on_ellipsoid_m2(&q->plane, area2 / 2, cx, cy);
        sbuf_t b = {0};
        sb_printf(&b, "{\"type\":\"Polygon\",\"coordinates\":[");
        sb_ring(&b, &q->plane, buf, m);
        sb_printf(&b, "]}");
        out->geojson = b.failed ? (free(b.s), NULL) : b.s;
        v = out->geojson ? CLIP_OVERLAP : CLIP_UNSURE;
    } else {
        v = CLIP_OVERLAP;
    }
    free(buf);
    return v;
}

/* Area (plane, then to the ellipsoid) and GeoJSON of a polygonal GEOS result; NULL geojson if
 * the result is not Polygon or MultiPolygon (the caller then uses GEOS's writer). */
static void polygonal_overlap(GEOSContextHandle_t ctx, const fp_plane_t *pl, const GEOSGeometry *g,
                              fp_overlap_t *out)
{
    int type = GEOSGeomTypeId_r(ctx, g);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) return;
    int parts = type == GEOS_POLYGON ? 1 : GEOSGetNumGeometries_r(ctx, g);
    sbuf_t b = {0};
    sb_printf(&b, type == GEOS_POLYGON ? "{\"type\":\"Polygon\",\"coordinates\":"
                                       : "{\"type\":\"MultiPolygon\",\"coordinates\":[");
    double area = 0;
    for (int k = 0; k < parts; k++) {
        const GEOSGeometry *poly = type == GEOS_POLYGON ? g : GEOSGetGeometryN_r(ctx, g, k);
        int holes = GEOSGetNumInteriorRings_r(ctx, poly);
        sb_printf(&b, "%s[", k ? "," : "");
        for (int r = -1; r < holes; r++) {
            const GEOSGeometry *ring =
                r < 0 ? GEOSGetExteriorRing_r(ctx, poly) : GEOSGetInteriorRingN_r(ctx, poly, r);
            const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
            unsigned int np = 0;
            GEOSCoordSeq_getSize_r(ctx, seq, &np);
            if (np < 4) continue;
            double *xy = malloc(2 * np * sizeof(double));
            if (!xy) {
                b.failed = true;
                break;
            }
            for (unsigned int i = 0; i < np; i++)
                GEOSCoordSeq_getXY_r(ctx, seq, i, &xy[2 * i], &xy[2 * i + 1]);
            double cx, cy, a = fabs(ring_area2(xy, np - 1)) / 2;
            ring_centroid(xy, np - 1, &cx, &cy);
            area += (r < 0 ? 1 : -1) * area_on_ellipsoid_m2(pl, a, cx, cy);
            if (r >= 0) sb_printf(&b, ",");
            sb_ring(&b, pl, xy, np - 1);
            free(xy);
        }
        sb_printf(&b, "]");
    }
    if (type == GEOS_MULTIPOLYGON) sb_printf(&b, "]");
    sb_printf(&b, "}");
    if (b.failed) {
        free(b.s);
        return;
    }
    out->area_m2 = area;
    out->geojson = b.s;
}

static int to_lonlat(double *x, double *y, void *ud)
{
    double lat, lon;
    unproject(ud, *x, *y, &lat, &lon);
    *x = lon;
    *y = lat;
    return 1;
}

static char *to_geojson(GEOSContextHandle_t ctx, const GEOSGeometry *g_lonlat)
{
    GEOSGeoJSONWriter *w = GEOSGeoJSONWriter_create_r(ctx);
    if (!w) return NULL;
    char *s = GEOSGeoJSONWriter_writeGeometry_r(ctx, w, g_lonlat, -1);
    GEOSGeoJSONWriter_destroy_r(ctx, w);
    if (!s) return NULL;
    char *copy = strdup(s);
    GEOSFree_r(ctx, s);
    return copy;
}

/* The geometry reported for a touching pair: where they touch, or the midpoint of the gap. */
static GEOSGeometry *contact(GEOSContextHandle_t ctx, const GEOSGeometry *a, const GEOSGeometry *b,
                             GEOSGeometry *inter)
{
    if (inter && !GEOSisEmpty_r(ctx, inter)) return inter;
    if (inter) GEOSGeom_destroy_r(ctx, inter);
    GEOSCoordSequence *np = GEOSNearestPoints_r(ctx, a, b);
    if (!np) return NULL;
    double x0, y0, x1, y1;
    GEOSCoordSeq_getXY_r(ctx, np, 0, &x0, &y0);
    GEOSCoordSeq_getXY_r(ctx, np, 1, &x1, &y1);
    GEOSCoordSeq_destroy_r(ctx, np);
    return GEOSGeom_createPointFromXY_r(ctx, (x0 + x1) / 2, (y0 + y1) / 2);
}

static void ring_bbox(const double *xy, size_t n, double bb[4])
{
    bb[0] = bb[2] = xy[0];
    bb[1] = bb[3] = xy[1];
    for (size_t i = 1; i < n; i++) {
        bb[0] = fmin(bb[0], xy[2 * i]), bb[2] = fmax(bb[2], xy[2 * i]);
        bb[1] = fmin(bb[1], xy[2 * i + 1]), bb[3] = fmax(bb[3], xy[2 * i + 1]);
    }
}

int fp_query_test(fp_query_t *q, const fp_t *other, fp_overlap_t *out)
{
    double touch_rad = DC_STRATEGIC_TOUCH_M / 6.3e6;
    if (fp_angle(&q->fp->center, &other->center) > q->fp->rho_rad + other->rho_rad + touch_rad)
        return 0;
    double xy[2 * (DC_STRATEGIC_VERTICES_MAX + 1)], bb[4];
    size_t n = project_ring(other, &q->plane, xy);
    if (!n) return -1;
    /* Straight edges in the plane: the rings' bounding boxes bound the footprints exactly. */
    ring_bbox(xy, n, bb);
    if (bb[0] > q->bbox[2] + DC_STRATEGIC_TOUCH_M || bb[2] < q->bbox[0] - DC_STRATEGIC_TOUCH_M ||
        bb[1] > q->bbox[3] + DC_STRATEGIC_TOUCH_M || bb[3] < q->bbox[1] - DC_STRATEGIC_TOUCH_M)
        return 0;
    /* Pairs with a convex side (every circle, many polygons) are clipped directly, without
     * GEOS, when that settles them; the rest, and slivers or contacts, go through GEOS. */
    if (out) memset(out, 0, sizeof(*out));
    if (q->fp->convex || other->convex) {
        clip_verdict_t v = clip_overlap(q, xy, n, other->convex, out);
        if (v != CLIP_UNSURE) return v;
    }
    if (!query_geos(q)) return -1;
    GEOSGeometry *g = polygon_from_xy(q->ctx, xy, n);
    if (!g) return -1;
    char near = GEOSPreparedDistanceWithin_r(q->ctx, q->prep, g, DC_STRATEGIC_TOUCH_M);
    if (near != 1 || !out) {
        GEOSGeom_destroy_r(q->ctx, g);
        return near == 0 ? 0 : near == 1 ? 1 : -1;
    }
    GEOSGeometry *inter = GEOSIntersection_r(q->ctx, q->geom, g);
    double plane_area = 0;
    if (inter) GEOSArea_r(q->ctx, inter, &plane_area);
    if (plane_area <= SLIVER_M2) {
        out->touching = true;
        inter = contact(q->ctx, q->geom, g, inter);
    } else {
        polygonal_overlap(q->ctx, &q->plane, inter, out);
    }
    GEOSGeom_destroy_r(q->ctx, g);
    if (!inter) return -1;
    if (!out->geojson) { /* contacts and mixed collections: GEOS's own writer */
        GEOSGeometry *ll = GEOSGeom_transformXY_r(q->ctx, inter, to_lonlat, &q->plane);
        if (ll) {
            out->geojson = to_geojson(q->ctx, ll);
            if (!out->touching) out->area_m2 = plane_area; /* mixed result: plane area */
            GEOSGeom_destroy_r(q->ctx, ll);
        }
    }
    GEOSGeom_destroy_r(q->ctx, inter);
    return out->geojson ? 1 : -1;
}
