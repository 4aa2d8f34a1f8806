/* Helpers shared by the unit tests: cmocka includes, seeded randomness with the seed printed,
 * and builders for track states. */
#ifndef DC_TESTUTIL_H
#define DC_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/tactical.h"

/* The seed comes from DC_TEST_SEED if set (to replay a failure), else from the given default;
 * it is always printed so that a failing run can be reproduced. */
static inline uint64_t test_seed(const char *what, uint64_t def)
{
    const char *env = getenv("DC_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : def;
    printf("[ seed ] %s: DC_TEST_SEED=%" PRIu64 "\n", what, seed);
    return seed;
}

/* |a - b| <= tol in double precision (cmocka's assert_float_equal works in float, which cannot
 * tell two Unix times a minute apart). */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol)))                                                             \
            fail_msg("%s = %.17g, expected %.17g +/- %g", #a, a_, b_, (double)(tol));              \
    } while (0)

typedef struct test_rng {
    uint64_t s;
} test_rng_t;

static inline double test_uniform(test_rng_t *r) /* [0, 1) */
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

static inline dc_track_state_t test_state(const char *id, double t_s, double lat, double lon,
                                          double alt_ft, double gs_kt, double trk_deg,
                                          double vs_fpm)
{
    dc_track_state_t s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    s.t_s = t_s;
    s.lat_deg = lat;
    s.lon_deg = lon;
    s.alt_ft = alt_ft;
    s.gs_kt = gs_kt;
    s.trk_deg = trk_deg;
    s.vs_fpm = vs_fpm;
    return s;
}

#endif
