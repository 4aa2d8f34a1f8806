/* WGS84 geodetic <-> ECEF conversions and local tangent-plane vectors.
 * Formulas: the standard closed forms (e.g. NGA TR8350.2); the inverse uses Bowring's
 * single-iteration method refined twice, ample for points within kilometres of the surface. */
#include "deconflict/geo.h"

#include <math.h>

#include "up_inline.h"

#define DEG2RAD (M_PI / 180.0)
#define E2      (DC_WGS84_F * (2.0 - DC_WGS84_F)) /* first eccentricity squared */

void dc_geo_to_ecef(double lat_deg, double lon_deg, dc_vec3_t *p_m)
{
    double phi = lat_deg * DEG2RAD, lam = lon_deg * DEG2RAD;
    double sphi = sin(phi), cphi = cos(phi);
    double n = DC_WGS84_A_M / sqrt(1.0 - E2 * sphi * sphi);
    p_m->x = n * cphi * cos(lam);
    p_m->y = n * cphi * sin(lam);
    p_m->z = n * (1.0 - E2) * sphi;
}

void dc_geo_from_ecef(const dc_vec3_t *p_m, double *lat_deg, double *lon_deg)
{
    double p = hypot(p_m->x, p_m->y);
    *lon_deg = atan2(p_m->y, p_m->x) / DEG2RAD;
    if (p < 1e-9) { /* on the polar axis: longitude is arbitrary, keep atan2's 0 */
        *lat_deg = p_m->z >= 0 ? 90.0 : -90.0;
        return;
    }
    /* Iterate phi = atan((z + e2 N sin phi) / p), starting from the spherical guess. */
    double phi = atan2(p_m->z, p * (1.0 - E2));
    for (int i = 0; i < 4; i++) {
        double s = sin(phi);
        double n = DC_WGS84_A_M / sqrt(1.0 - E2 * s * s);
        phi = atan2(p_m->z + E2 * n * s, p);
    }
    *lat_deg = phi / DEG2RAD;
}

void dc_geo_enu_basis(double lat_deg, double lon_deg, dc_vec3_t *east, dc_vec3_t *north)
{
    double phi = lat_deg * DEG2RAD, lam = lon_deg * DEG2RAD;
    double sphi = sin(phi), cphi = cos(phi), slam = sin(lam), clam = cos(lam);
    east->x = -slam;
    east->y = clam;
    east->z = 0.0;
    north->x = -sphi * clam;
    north->y = -sphi * slam;
    north->z = cphi;
}

void dc_geo_velocity_ecef(double lat_deg, double lon_deg, double gs_kt, double trk_deg,
                          dc_vec3_t *v_mps)
{
    dc_vec3_t e, n;
    dc_geo_enu_basis(lat_deg, lon_deg, &e, &n);
    double gs = gs_kt * DC_MPS_PER_KT, trk = trk_deg * DEG2RAD;
    double vn = gs * cos(trk), ve = gs * sin(trk);
    v_mps->x = vn * n.x + ve * e.x;
    v_mps->y = vn * n.y + ve * e.y;
    v_mps->z = vn * n.z + ve * e.z;
}

void dc_geo_up(const dc_vec3_t *p_m, dc_vec3_t *up)
{
    double g[3];
    dc_geo_up_direction(p_m->x, p_m->y, p_m->z, g);
    double len = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
    if (len == 0.0) {
        up->x = 0, up->y = 0, up->z = 1;
        return;
    }
    double inv = 1.0 / len; /* one division instead of three */
    up->x = g[0] * inv, up->y = g[1] * inv, up->z = g[2] * inv;
}
