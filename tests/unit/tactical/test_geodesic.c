/* The engine's tangent-plane geometry against the WGS84 geodesic computed by PROJ (Karney's
 * algorithms, geodesic.h): for random pairs anywhere on Earth, including the antimeridian and
 * latitudes above 80 degrees, each aircraft is moved along its geodesic by gs * (age + t) with
 * geod_direct and the distance is taken with geod_inverse; the engine's horizontal separation
 * at the same instant must agree within the bound stated in docs/tactical.md. */
#include "testutil.h"

#include <geodesic.h>
#include <math.h>

#include "deconflict/geo.h"

/* The documented bound: separations up to 50 NM, ages up to 30 s, t in [0, 120] s, speeds up
 * to 600 kt (the aircraft travel up to 25 NM). */
#define MAX_ERR_M 5.0

static double geodesic_sep_m(const struct geod_geodesic *g, const dc_track_state_t *a,
                             const dc_track_state_t *b, double at_s)
{
    double la, lo, lb, lob, az, s12;
    geod_direct(g, a->lat_deg, a->lon_deg, a->trk_deg, a->gs_kt * DC_MPS_PER_KT * (at_s - a->t_s),
                &la, &lo, &az);
    geod_direct(g, b->lat_deg, b->lon_deg, b->trk_deg, b->gs_kt * DC_MPS_PER_KT * (at_s - b->t_s),
                &lb, &lob, &az);
    geod_inverse(g, la, lo, lb, lob, &s12, NULL, NULL);
    return s12;
}

static void test_against_proj(void **state)
{
    (void)state;
    uint64_t seed = test_seed("geodesic reference", 42);
    test_rng_t rng = {seed};
    struct geod_geodesic g;
    geod_init(&g, DC_WGS84_A_M, DC_WGS84_F);
    double worst = 0, worst_polar = 0, worst_antimeridian = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        int region = i % 4; /* anywhere, lat > 80, near +-180, near the south pole */
        double lat = region == 0   ? asin(2 * test_uniform(&rng) - 1) * 180 / M_PI
                     : region == 1 ? 80 + 9.9 * test_uniform(&rng)
                     : region == 2 ? (test_uniform(&rng) - 0.5) * 120
                                   : -80 - 9.9 * test_uniform(&rng);
        double lon = region == 2 ? 179.5 + test_uniform(&rng) : 360 * test_uniform(&rng) - 180;
        lon = remainder(lon, 360.0);
        double age_a = 30 * test_uniform(&rng), age_b = 30 * test_uniform(&rng);
        dc_track_state_t a = test_state("A", -age_a, lat, lon, 35000, 600 * test_uniform(&rng),
                                        fmin(359.999, 360 * test_uniform(&rng)), 0);
        /* B within 50 NM of A's position, placed with the geodesic itself. */
        double lb, lob, az;
        geod_direct(&g, lat, lon, 360 * test_uniform(&rng), 50 * DC_M_PER_NM * test_uniform(&rng),
                    &lb, &lob, &az);
        dc_track_state_t b = test_state("B", -age_b, lb, lob, 35000, 600 * test_uniform(&rng),
                                        fmin(359.999, 360 * test_uniform(&rng)), 0);
        double t = 120 * test_uniform(&rng);
        double h_nm, v_ft;
        dc_tactical_separation_at(&a, &b, 0.0, t, &h_nm, &v_ft);
        double ref = geodesic_sep_m(&g, &a, &b, t);
        if (ref > 75 * DC_M_PER_NM) continue; /* beyond the scope of the bound */
        double err = fabs(h_nm * DC_M_PER_NM - ref);
        if (err > MAX_ERR_M) {
            print_error("pair %d: A(%.6f, %.6f) B(%.6f, %.6f) t=%.1f: engine %.3f m, geodesic "
                        "%.3f m\n",
                        i, a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg, t, h_nm * DC_M_PER_NM, ref);
            fail();
        }
        worst = fmax(worst, err);
        if (region == 1 || region == 3) worst_polar = fmax(worst_polar, err);
        if (region == 2) worst_antimeridian = fmax(worst_antimeridian, err);
    }
    printf("[ info ] %d pairs: max |engine - geodesic| = %.3f m (polar %.3f m, antimeridian "
           "%.3f m)\n",
           n, worst, worst_polar, worst_antimeridian);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_against_proj)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
