/* The pass's histogram of durations (src/deconflictd/core/histogram.c): each observation in the
 * first bucket whose upper bound it does not exceed (a bound is inclusive, as Prometheus's `le`),
 * over every bound in +Inf only, a negative or NaN duration as 0; cumulative counts as
 * /metrics writes them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/histogram.h"

static void test_buckets(void **state)
{
    (void)state;
    static const struct {
        double took_s;
        size_t bucket; /* DD_HISTOGRAM_BUCKETS: +Inf */
    } cases[] = {
        {0.0, 0},  {0.001, 0}, {0.0010001, 1}, {0.0025, 1}, {0.003, 2},
        {0.5, 8},  {0.7, 9},   {1.0, 9},       {10.0, 12},  {10.5, DD_HISTOGRAM_BUCKETS},
        {-2.0, 0}, {NAN, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dd_histogram_t h = {0};
        dd_histogram_observe(&h, cases[i].took_s);
        for (size_t b = 0; b <= DD_HISTOGRAM_BUCKETS; b++)
            assert_int_equal(h.in_bucket[b], b == cases[i].bucket);
        assert_int_equal(h.count, 1);
    }
}

static void test_cumulative(void **state)
{
    (void)state;
    dd_histogram_t h = {0};
    const double took[] = {0.0005, 0.004, 0.004, 0.2, 30};
    for (size_t i = 0; i < 5; i++) dd_histogram_observe(&h, took[i]);
    assert_int_equal(dd_histogram_cumulative(&h, 0), 1);                        /* le 0.001 */
    assert_int_equal(dd_histogram_cumulative(&h, 2), 3);                        /* le 0.005 */
    assert_int_equal(dd_histogram_cumulative(&h, 7), 4);                        /* le 0.25 */
    assert_int_equal(dd_histogram_cumulative(&h, DD_HISTOGRAM_BUCKETS - 1), 4); /* le 10 */
    assert_int_equal(dd_histogram_cumulative(&h, DD_HISTOGRAM_BUCKETS), 5);     /* +Inf */
    assert_int_equal(h.count, 5);
    assert_true(fabs(h.sum_s - 30.2085) < 1e-9);
    for (size_t b = 1; b < DD_HISTOGRAM_BUCKETS; b++)
        assert_true(dd_histogram_le_s[b] > dd_histogram_le_s[b - 1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_cumulative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
