/* deconflictd: a histogram of durations in seconds with fixed buckets, the shape Prometheus
 * reads (https://prometheus.io/docs/concepts/metric_types/#histogram): how many observations
 * fell at or under each upper bound, their count and their sum. Knows nothing about aviation
 * and reads no clock: the caller measures and observes. Not thread-safe: its owner's lock
 * guards it. A zeroed one is empty and ready. */
#ifndef DD_CORE_HISTOGRAM_H
#define DD_CORE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/* The buckets' upper bounds, seconds, increasing: Prometheus's default buckets (5 ms - 10 s)
 * extended down to 1 ms, which covers a periodic pass from an idle service (about 1 ms) to
 * one far over its period (1 s by default). The +Inf bucket is implied. */
#define DD_HISTOGRAM_BUCKETS 13
extern const double dd_histogram_le_s[DD_HISTOGRAM_BUCKETS];

typedef struct dd_histogram {
    uint64_t in_bucket[DD_HISTOGRAM_BUCKETS + 1]; /* per bucket, not cumulative; the last: over
                                                   * every bound (+Inf only) */
    uint64_t count;
    double sum_s;
} dd_histogram_t;

/* Counts one duration of took_s seconds (a negative one, from a clock stepped back, as 0). */
void dd_histogram_observe(dd_histogram_t *h, double took_s);

/* Observations at or under bucket i's bound (i == DD_HISTOGRAM_BUCKETS: all of them). */
uint64_t dd_histogram_cumulative(const dd_histogram_t *h, size_t i);

#endif
