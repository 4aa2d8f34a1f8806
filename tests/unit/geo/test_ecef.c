/* WGS84 <-> ECEF: exact values at the axes, round trips everywhere including the poles and the
 * antimeridian, and orthonormal tangent-plane vectors. */
#include "testutil.h"

#include <math.h>

#include "deconflict/geo.h"

static void test_axes(void **state)
{
    (void)state;
    dc_vec3_t p;
    dc_geo_to_ecef(0, 0, &p);
    assert_true(fabs(p.x - DC_WGS84_A_M) < 1e-6 && fabs(p.y) < 1e-6 && fabs(p.z) < 1e-6);
    dc_geo_to_ecef(90, 0, &p);
    double b = DC_WGS84_A_M * (1 - DC_WGS84_F); /* 6356752.3142 m */
    assert_true(fabs(p.z - b) < 1e-6 && fabs(hypot(p.x, p.y)) < 1e-6);
    dc_geo_to_ecef(0, 90, &p);
    assert_true(fabs(p.y - DC_WGS84_A_M) < 1e-6);
}

static void test_round_trip(void **state)
{
    (void)state;
    const double pts[][2] = {{0, 0},        {46.8, 8.2},      {-33.9, 151.2}, {89.999, 45},
                             {-89.5, -120}, {0, 180},         {10, -180},     {85, 179.9999},
                             {60, -179.99}, {-0.0001, 0.0001}};
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        dc_vec3_t p;
        double lat, lon;
        dc_geo_to_ecef(pts[i][0], pts[i][1], &p);
        dc_geo_from_ecef(&p, &lat, &lon);
        assert_true(fabs(lat - pts[i][0]) < 1e-9);
        double dlon = remainder(lon - pts[i][1], 360.0);
        assert_true(fabs(dlon) < 1e-9);
    }
}

static void test_basis_orthonormal(void **state)
{
    (void)state;
    const double pts[][2] = {{0, 0}, {45, 45}, {89.9, -170}, {-60, 180}};
    for (size_t i = 0; i < 4; i++) {
        dc_vec3_t e, n, p, up;
        dc_geo_enu_basis(pts[i][0], pts[i][1], &e, &n);
        dc_geo_to_ecef(pts[i][0], pts[i][1], &p);
        dc_geo_up(&p, &up);
        assert_true(fabs(e.x * e.x + e.y * e.y + e.z * e.z - 1) < 1e-12);
        assert_true(fabs(n.x * n.x + n.y * n.y + n.z * n.z - 1) < 1e-12);
        assert_true(fabs(e.x * n.x + e.y * n.y + e.z * n.z) < 1e-12);
        /* east, north and the ellipsoid normal form a right-handed orthonormal frame */
        assert_true(fabs(e.x * up.x + e.y * up.y + e.z * up.z) < 1e-12);
        assert_true(fabs(n.x * up.x + n.y * up.y + n.z * up.z) < 1e-12);
    }
}

static void test_velocity(void **state)
{
    (void)state;
    dc_vec3_t v;
    dc_geo_velocity_ecef(0, 0, 360, 90, &v); /* due east at the origin: +y */
    assert_true(fabs(v.y - 360 * DC_MPS_PER_KT) < 1e-9 && fabs(v.x) < 1e-9 && fabs(v.z) < 1e-9);
    dc_geo_velocity_ecef(0, 0, 360, 0, &v); /* due north: +z */
    assert_true(fabs(v.z - 360 * DC_MPS_PER_KT) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_axes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_basis_orthonormal),
        cmocka_unit_test(test_velocity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
