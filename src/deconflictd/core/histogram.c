/* A histogram of durations: see histogram.h. */
#include "core/histogram.h"

const double dd_histogram_le_s[DD_HISTOGRAM_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void dd_histogram_observe(dd_histogram_t *h, double took_s)
{
    if (!(took_s > 0)) took_s = 0; /* NaN too */
    size_t i = 0;
    while (i < DD_HISTOGRAM_BUCKETS && took_s > dd_histogram_le_s[i]) i++;
    h->in_bucket[i]++;
    h->count++;
    h->sum_s += took_s;
}

uint64_t dd_histogram_cumulative(const dd_histogram_t *h, size_t i)
{
    uint64_t n = 0;
    for (size_t k = 0; k <= i && k <= DD_HISTOGRAM_BUCKETS; k++) n += h->in_bucket[k];
    return n;
}
