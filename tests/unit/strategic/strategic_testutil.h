/* Builders for strategic tests: volumes and operations in a few lines. */
#ifndef DC_STRATEGIC_TESTUTIL_H
#define DC_STRATEGIC_TESTUTIL_H

#include "testutil.h"

#include "deconflict/strategic.h"

#define T_BASE_S 1796126400.0 /* 2026-12-01T12:00:00Z */

/* A polygon volume from n (lat, lon) pairs, W84 metres, times relative to T_BASE_S. */
static inline dc_volume4d_t test_poly(size_t n, const double *latlon, double lo_m, double hi_m,
                                      double t0_s, double t1_s)
{
    dc_volume4d_t v;
    memset(&v, 0, sizeof(v));
    v.kind = DC_FOOTPRINT_POLYGON;
    v.vertices = malloc(n * sizeof(*v.vertices));
    assert_non_null(v.vertices);
    for (size_t i = 0; i < n; i++) {
        v.vertices[i].lat_deg = latlon[2 * i];
        v.vertices[i].lon_deg = latlon[2 * i + 1];
    }
    v.n_vertices = n;
    v.alt_lower_m = lo_m;
    v.alt_upper_m = hi_m;
    v.t_start_s = T_BASE_S + t0_s;
    v.t_end_s = T_BASE_S + t1_s;
    return v;
}

/* An axis-aligned lat/lon box. */
static inline dc_volume4d_t test_box(double lat0, double lon0, double lat1, double lon1,
                                     double lo_m, double hi_m, double t0_s, double t1_s)
{
    double ll[8] = {lat0, lon0, lat0, lon1, lat1, lon1, lat1, lon0};
    return test_poly(4, ll, lo_m, hi_m, t0_s, t1_s);
}

static inline dc_volume4d_t test_circle(double lat, double lon, double radius_m, double lo_m,
                                        double hi_m, double t0_s, double t1_s)
{
    dc_volume4d_t v;
    memset(&v, 0, sizeof(v));
    v.kind = DC_FOOTPRINT_CIRCLE;
    v.center.lat_deg = lat;
    v.center.lon_deg = lon;
    v.radius_m = radius_m;
    v.alt_lower_m = lo_m;
    v.alt_upper_m = hi_m;
    v.t_start_s = T_BASE_S + t0_s;
    v.t_end_s = T_BASE_S + t1_s;
    return v;
}

/* An operation owning copies of nothing: it takes the volumes given (freed by
 * dc_operation_clear). */
static inline dc_operation_t test_op(const char *id, const char *party, int64_t prio, size_t n,
                                     const dc_volume4d_t *vols)
{
    dc_operation_t op;
    memset(&op, 0, sizeof(op));
    snprintf(op.id, sizeof(op.id), "%s", id);
    snprintf(op.party, sizeof(op.party), "%s", party);
    op.priority = prio;
    op.state = DC_OP_PLANNED;
    op.volumes = malloc(n * sizeof(*op.volumes));
    assert_non_null(op.volumes);
    memcpy(op.volumes, vols, n * sizeof(*vols));
    op.n_volumes = n;
    return op;
}

#endif
