/* Footprints on the sphere, projected gnomonically for GEOS: see footprint.h. */
#include "strategic/footprint.h"

#include <geodesic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    for (int i = 0; i < DC_STRATEGIC_CIRCLE_SEGMENTS; i++) {
        double az = 2.0 * M_PI * i / DC_STRATEGIC_CIRCLE_SEGMENTS;
        double dn = r * cos(az) / pl.sy_m, de = r * sin(az) / pl.sx_m;
        double th = hypot(dn, de), s = sin(th), c = cos(th);
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

GEOSGeometry *fp_to_geos(GEOSContextHandle_t ctx, const fp_t *fp, const fp_plane_t *pl)
{
    dc_vec3_t circ[DC_STRATEGIC_CIRCLE_SEGMENTS];
    const dc_vec3_t *ring = fp->ring;
    size_t n = fp->n;
    if (fp->circle) {
        circle_ring(fp, circ);
        ring = circ;
        n = DC_STRATEGIC_CIRCLE_SEGMENTS;
    }
    double *xy = malloc((n + 1) * 2 * sizeof(double));
    if (!xy) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!project(pl, &ring[i], &xy[2 * i], &xy[2 * i + 1])) {
            free(xy);
            return NULL;
        }
    }
    xy[2 * n] = xy[0];
    xy[2 * n + 1] = xy[1];
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(ctx, xy, n + 1, 0, 0);
    free(xy);
    if (!seq) return NULL;
    GEOSGeometry *shell = GEOSGeom_createLinearRing_r(ctx, seq);
    if (!shell) return NULL;
    return GEOSGeom_createPolygon_r(ctx, shell, NULL, 0);
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
    q->geom = fp_to_geos(ctx, fp, &q->plane);
    if (!q->geom) return DC_ERR_NOMEM;
    q->prep = GEOSPrepare_r(ctx, q->geom);
    if (!q->prep) {
        fp_query_clear(q);
        return DC_ERR_NOMEM;
    }
    return DC_OK;
}

void fp_query_clear(fp_query_t *q)
{
    if (q->prep) GEOSPreparedGeom_destroy_r(q->ctx, q->prep);
    if (q->geom) GEOSGeom_destroy_r(q->ctx, q->geom);
    q->prep = NULL;
    q->geom = NULL;
}

static int to_lonlat(double *x, double *y, void *ud)
{
    double lat, lon;
    unproject(ud, *x, *y, &lat, &lon);
    *x = lon;
    *y = lat;
    return 1;
}

/* Area on the WGS84 ellipsoid (PROJ's geodesic polygon area) of the polygonal parts of g. */
static double geodesic_area_m2(GEOSContextHandle_t ctx, const GEOSGeometry *g_lonlat)
{
    static _Thread_local struct geod_geodesic geod;
    static _Thread_local bool geod_ready;
    if (!geod_ready) {
        geod_init(&geod, DC_WGS84_A_M, DC_WGS84_F);
        geod_ready = true;
    }
    int type = GEOSGeomTypeId_r(ctx, g_lonlat);
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        double sum = 0;
        int k = GEOSGetNumGeometries_r(ctx, g_lonlat);
        for (int i = 0; i < k; i++)
            sum += geodesic_area_m2(ctx, GEOSGetGeometryN_r(ctx, g_lonlat, i));
        return sum;
    }
    if (type != GEOS_POLYGON) return 0;
    double total = 0;
    int holes = GEOSGetNumInteriorRings_r(ctx, g_lonlat);
    for (int r = -1; r < holes; r++) {
        const GEOSGeometry *ring =
            r < 0 ? GEOSGetExteriorRing_r(ctx, g_lonlat) : GEOSGetInteriorRingN_r(ctx, g_lonlat, r);
        const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
        unsigned int n = 0;
        GEOSCoordSeq_getSize_r(ctx, seq, &n);
        struct geod_polygon poly;
        geod_polygon_init(&poly, 0);
        for (unsigned int i = 0; i + 1 < n; i++) { /* the last point closes the ring */
            double lon, lat;
            GEOSCoordSeq_getXY_r(ctx, seq, i, &lon, &lat);
            geod_polygon_addpoint(&geod, &poly, lat, lon);
        }
        double area = 0;
        geod_polygon_compute(&geod, &poly, 0, 1, &area, NULL); /* signed: never the complement */
        total += r < 0 ? fabs(area) : -fabs(area);
    }
    return total;
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

int fp_query_test(fp_query_t *q, const fp_t *other, fp_overlap_t *out)
{
    double touch_rad = DC_STRATEGIC_TOUCH_M / 6.3e6;
    if (fp_angle(&q->fp->center, &other->center) > q->fp->rho_rad + other->rho_rad + touch_rad)
        return 0;
    GEOSGeometry *g = fp_to_geos(q->ctx, other, &q->plane);
    if (!g) return -1;
    char near = GEOSPreparedDistanceWithin_r(q->ctx, q->prep, g, DC_STRATEGIC_TOUCH_M);
    if (near != 1) {
        GEOSGeom_destroy_r(q->ctx, g);
        return near == 0 ? 0 : -1;
    }
    if (!out) {
        GEOSGeom_destroy_r(q->ctx, g);
        return 1;
    }
    memset(out, 0, sizeof(*out));
    GEOSGeometry *inter = GEOSIntersection_r(q->ctx, q->geom, g);
    double plane_area = 0;
    if (inter) GEOSArea_r(q->ctx, inter, &plane_area);
    if (plane_area <= SLIVER_M2) {
        out->touching = true;
        inter = contact(q->ctx, q->geom, g, inter);
    }
    GEOSGeom_destroy_r(q->ctx, g);
    if (!inter) return -1;
    GEOSGeometry *ll = GEOSGeom_transformXY_r(q->ctx, inter, to_lonlat, &q->plane);
    GEOSGeom_destroy_r(q->ctx, inter);
    if (!ll) return -1;
    out->area_m2 = out->touching ? 0.0 : geodesic_area_m2(q->ctx, ll);
    out->geojson = to_geojson(q->ctx, ll);
    GEOSGeom_destroy_r(q->ctx, ll);
    return out->geojson ? 1 : -1;
}
