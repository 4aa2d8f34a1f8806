/* Internal to lib/: the direction of the ellipsoid normal, inline, for the hot paths that need it
 * per pair (lib/tactical/kinematics.c); dc_geo_up (ecef.c) normalises it behind the public API. */
#ifndef DC_GEO_UP_INLINE_H
#define DC_GEO_UP_INLINE_H

#include "deconflict/geo.h"

/* A vector along the ellipsoid normal at the surface point nearest (x, y, z) m, not of unit
 * length: the gradient of x^2/a^2 + y^2/a^2 + z^2/b^2, scaled by a^2. */
static inline void dc_geo_up_direction(double x, double y, double z, double g[3])
{
    const double b_m = DC_WGS84_A_M * (1.0 - DC_WGS84_F);
    g[0] = x, g[1] = y, g[2] = z * ((DC_WGS84_A_M * DC_WGS84_A_M) / (b_m * b_m));
}

#endif
