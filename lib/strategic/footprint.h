/* Internal: footprints on the sphere and their exact pairwise test with GEOS.
 *
 * A footprint is held as unit vectors on the sphere of geodetic coordinates (the point at
 * geodetic lat/lon becomes (cos lat cos lon, cos lat sin lon, sin lat)), with polygon edges as
 * great-circle arcs, as S2 and the InterUSS DSS take them. To test two footprints, both are
 * projected into one gnomonic plane: the gnomonic projection maps every great circle to a
 * straight line, so the planar polygons GEOS sees have exactly the topology of the spherical
 * ones -- intersection, touching and gaps come out the same whatever the distance from the plane
 * centre. The plane's axes are scaled to metres by the ellipsoid's radii of curvature at the
 * centre (N east, M north), so distances near the centre are metres to within (d/R)^2.
 * Circles become circumscribed polygons, so they err on the side of a conflict. */
#ifndef DC_STRATEGIC_FOOTPRINT_H
#define DC_STRATEGIC_FOOTPRINT_H

#include <geos_c.h>
#include <stdbool.h>
#include <stddef.h>

#include "deconflict/geo.h"
#include "deconflict/strategic.h"

typedef struct fp {
    dc_vec3_t center; /* unit vector: polygon vertex mean, or circle centre */
    double rho_rad;   /* every point of the footprint is within this angle of center */
    bool circle;
    bool convex;     /* circles always; polygons when every turn goes the same way */
    double radius_m; /* circle: geodesic radius */
    dc_vec3_t *ring; /* polygon: n distinct vertices, not closed; owned */
    size_t n;
} fp_t;

/* A gnomonic plane scaled to metres at its centre. */
typedef struct fp_plane {
    dc_vec3_t c, e, n;
    double sx_m, sy_m;
} fp_plane_t;

void dc_latlon_to_unit(double lat_deg, double lon_deg, dc_vec3_t *u);
void dc_unit_to_latlon(const dc_vec3_t *u, double *lat_deg, double *lon_deg);

/* Builds fp from a volume's footprint (drops repeated and closing vertices). Does not
 * validate beyond what it needs: returns DC_ERR_INVALID if fewer than 3 distinct vertices remain,
 * DC_ERR_NOMEM. Caller frees with fp_clear(). */
dc_err_t fp_init(fp_t *fp, const dc_volume4d_t *vol);
void fp_clear(fp_t *fp);

/* The plane centred at unit vector c. */
void fp_plane_at(fp_plane_t *pl, const dc_vec3_t *c);

/* Returns fp as a GEOS polygon in pl, or NULL if a point lies too far from the plane centre
 * (more than ~84 degrees) or GEOS fails. Caller destroys it. */
GEOSGeometry *fp_to_geos(GEOSContextHandle_t ctx, const fp_t *fp, const fp_plane_t *pl);

/* Footprint rules beyond parsing: extent, no self-intersection, positive area. On failure fills
 * msg (len bytes) and returns DC_ERR_INVALID or DC_ERR_LIMIT. */
dc_err_t fp_validate(GEOSContextHandle_t ctx, const fp_t *fp, char *msg, size_t len);

/* A prepared filed footprint, tested against many others. */
typedef struct fp_query {
    GEOSContextHandle_t ctx;
    const fp_t *fp;
    fp_plane_t plane;
    GEOSGeometry *geom; /* geom and prep: built when a pair first needs GEOS */
    const GEOSPreparedGeometry *prep;
    double *xy; /* the query ring in the plane, counter-clockwise (convex fast path) */
    size_t n;
    double bbox[4]; /* of xy: min x, min y, max x, max y */
} fp_query_t;

typedef struct fp_overlap {
    double area_m2;
    bool touching;
    char *geojson; /* owned by the caller after fp_query_test returns 1 */
} fp_overlap_t;

dc_err_t fp_query_init(fp_query_t *q, GEOSContextHandle_t ctx, const fp_t *fp);
void fp_query_clear(fp_query_t *q);

/* Returns 1 if other overlaps or comes within DC_STRATEGIC_TOUCH_M of the query footprint (and
 * fills out when out is non-NULL), 0 if not, -1 if GEOS failed (caller treats as conflict). */
int fp_query_test(fp_query_t *q, const fp_t *other, fp_overlap_t *out);

/* Angle between two unit vectors, robust for tiny and large angles. */
double fp_angle(const dc_vec3_t *a, const dc_vec3_t *b);

/* A GEOS context whose errors land in a thread-local buffer (fp_geos_last_error()). */
GEOSContextHandle_t fp_geos_new(void);
const char *fp_geos_last_error(void);

#endif
