/* deconflict — WGS84 geometry shared by the engines.
 *
 * Positions cross every boundary as WGS84 geodetic latitude/longitude in degrees. Inside the
 * engines they become Earth-centred, Earth-fixed (ECEF) Cartesian vectors in metres on the WGS84
 * ellipsoid surface (height 0): a frame with no antimeridian and no polar singularity, in which
 * the local tangent plane of any point is found without trigonometry. Altitude is carried apart,
 * as barometric feet, because the separation minima are defined that way.
 *
 * Unit constants below are exact by definition (1 NM = 1852 m, 1 ft = 0.3048 m). */
#ifndef DECONFLICT_GEO_H
#define DECONFLICT_GEO_H

#define DC_WGS84_A_M    6378137.0             /* semi-major axis */
#define DC_WGS84_F      (1.0 / 298.257223563) /* flattening */
#define DC_M_PER_NM     1852.0
#define DC_M_PER_FT     0.3048
#define DC_MPS_PER_KT   (1852.0 / 3600.0)
#define DC_FTPS_PER_FPM (1.0 / 60.0)

typedef struct dc_vec3 {
    double x, y, z;
} dc_vec3_t;

/* Converts geodetic lat/lon (deg) to ECEF (m) on the WGS84 ellipsoid surface. Inputs are not
 * range-checked: callers validate first (see dc_track_state_validate). */
void dc_geo_to_ecef(double lat_deg, double lon_deg, dc_vec3_t *p_m);

/* Converts an ECEF vector to geodetic lat/lon (deg); the vector need not lie on the surface
 * (its height is discarded). Accurate to well below 1e-9 deg for |height| < 1000 km. */
void dc_geo_from_ecef(const dc_vec3_t *p_m, double *lat_deg, double *lon_deg);

/* Returns in east/north the unit vectors of the local tangent plane at lat/lon. At a pole, the
 * north vector points along the meridian of lon_deg, so a track there is relative to that meridian.
 */
void dc_geo_enu_basis(double lat_deg, double lon_deg, dc_vec3_t *east, dc_vec3_t *north);

/* Returns the horizontal velocity (m/s, ECEF) of ground speed gs_kt on true track trk_deg at
 * lat/lon: tangent to the ellipsoid, so the motion it describes starts along the geodesic. */
void dc_geo_velocity_ecef(double lat_deg, double lon_deg, double gs_kt, double trk_deg,
                          dc_vec3_t *v_mps);

/* Returns in up the unit ellipsoid normal (geodetic vertical) at the surface point nearest p_m. */
void dc_geo_up(const dc_vec3_t *p_m, dc_vec3_t *up);

#endif
