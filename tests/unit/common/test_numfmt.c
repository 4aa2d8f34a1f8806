/* dc_fmt_fixed against printf's correctly rounded "%.*f" on a million random values. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/numfmt.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static void check_one(double v, int decimals, size_t *ties)
{
    char ours[DC_FMT_FIXED_MAX], ref[64];
    size_t n = dc_fmt_fixed(ours, v, decimals);
    snprintf(ref, sizeof(ref), "%.*f", decimals, v);
    assert_int_equal(n, strlen(ours));
    if (strcmp(ours, ref) == 0) return;
    /* Allowed only at a rounding tie: the two texts one unit apart, v halfway between. */
    double unit = pow(10, -decimals);
    double a = strtod(ours, NULL), b = strtod(ref, NULL);
    long double scaled = fabsl((long double)v * powl(10, decimals)); /* 64-bit mantissa */
    double frac = (double)(scaled - floorl(scaled));
    if (!(fabs(fabs(a - b) - unit) < unit * 0.05 && fabs(frac - 0.5) < 1e-3)) {
        fprintf(stderr, "v=%.17g decimals=%d ours=%s printf=%s\n", v, decimals, ours, ref);
        fail();
    }
    (*ties)++;
}

static void test_random_against_printf(void **state)
{
    (void)state;
    size_t ties = 0;
    for (int i = 0; i < 1000000; i++) {
        int decimals = (int)(rng_next() % 10);
        double mag = pow(10, -12 + 20 * rng_unit()); /* 1e-12 .. 1e8 */
        double v = (rng_next() & 1 ? -1 : 1) * mag * rng_unit();
        check_one(v, decimals, &ties);
    }
    /* Coordinates as the GeoJSON writer emits them. */
    for (int i = 0; i < 1000000; i++) check_one(-180 + 360 * rng_unit(), 9, &ties);
    printf("2,000,000 values: %zu differ from printf at a rounding tie\n", ties);
    assert_true(ties < 100);
}

static void test_edges(void **state)
{
    (void)state;
    char s[DC_FMT_FIXED_MAX];
    dc_fmt_fixed(s, 0.0, 9);
    assert_string_equal(s, "0.000000000");
    dc_fmt_fixed(s, -0.0, 3);
    assert_string_equal(s, "-0.000");
    dc_fmt_fixed(s, -1e-12, 9);
    assert_string_equal(s, "-0.000000000");
    dc_fmt_fixed(s, 179.9999999996, 9);
    assert_string_equal(s, "180.000000000");
    dc_fmt_fixed(s, -8.25, 0);
    assert_string_equal(s, "-8");
    dc_fmt_fixed(s, 12.5, 0); /* tie: llround goes away from zero, printf to even */
    assert_true(strcmp(s, "13") == 0 || strcmp(s, "12") == 0);
    dc_fmt_fixed(s, 1e300, 2); /* too large to scale: printf's text, truncated to fit */
    assert_int_equal(strlen(s), DC_FMT_FIXED_MAX - 1);
    dc_fmt_fixed(s, NAN, 2);
    assert_true(strstr(s, "nan") != NULL);
    dc_fmt_fixed(s, 123456.789, 9);
    assert_string_equal(s, "123456.789000000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_against_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
