/* deconflict-bench: benchmark programs that print their figures (never timed assertions).
 *   deconflict-bench tactical [--sizes N,N,...] [--reps K] [--seed S] [--brute N]
 *   deconflict-bench strategic [--sizes N,N,...] [--queries K] [--seed S] [--cell-km KM]
 *                              [--bucket-h H] [--export DIR] [--pg CONNINFO]
 *                              [--pg-index composite|separate]
 *   deconflict-bench service --url URL --token A --token B [--tracks N] ... (a running daemon;
 *                              scripts/bench-service.sh)
 *   deconflict-bench sbs [--data DIR] [--reps K]   SBS-1 parsing speed
 *   deconflict-bench asterix [--data DIR] [--reps K]   ASTERIX decoding speed
 *   deconflict-bench beast [--data DIR] [--reps K]   Beast framing and Mode S decoding speed
 *   deconflict-bench idle --url URL --token T [--idle N] ...   a party's latency while strangers
 *                              hold idle sockets (a running daemon; scripts/bench-idle.sh)
 *   deconflict-bench alerting [--data CSV] [--step-s S] [--verbose]   graded alerting on the
 *                              Swiss day with injected encounters (docs/tactical.md) */
#include "bench.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool bench_data_args(int argc, char **argv, const char *count_flag, const char *usage,
                     const char **dir, int *reps, size_t *count)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            *dir = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            *reps = atoi(argv[i + 1]);
        else if (count_flag && !strcmp(argv[i], count_flag))
            *count = strtoul(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: deconflict-bench %s\n", usage);
            return false;
        }
    }
    return true;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_rng_seed(bench_rng_t *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

double bench_rng_uniform(bench_rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("deconflict-bench %s\n", DC_VERSION);
        return 0;
    }
    bool asked = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (argc >= 2 && !asked && argv[1][0] != '-' && strcmp(argv[1], "tactical") != 0 &&
        strcmp(argv[1], "dense") != 0 && strcmp(argv[1], "strategic") != 0 &&
        strcmp(argv[1], "service") != 0 && strcmp(argv[1], "sbs") != 0 &&
        strcmp(argv[1], "asterix") != 0 && strcmp(argv[1], "beast") != 0 &&
        strcmp(argv[1], "idle") != 0 && strcmp(argv[1], "alerting") != 0)
        fprintf(stderr, "deconflict-bench: no benchmark '%s'; these are:\n", argv[1]);
    if (argc >= 2 && strcmp(argv[1], "tactical") == 0) return bench_tactical(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "dense") == 0) return bench_dense(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "strategic") == 0) return bench_strategic(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "service") == 0) return bench_service(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sbs") == 0) return bench_sbs(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "asterix") == 0) return bench_asterix(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "beast") == 0) return bench_beast(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "idle") == 0) return bench_idle(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "alerting") == 0) return bench_alerting(argc - 1, argv + 1);
    fprintf(stderr, "usage: deconflict-bench tactical [--sizes N,N,...] [--reps K] [--seed S] "
                    "[--brute N]\n"
                    "       deconflict-bench tactical --input STATES.csv [--rpz-nm R] [--hpz-ft H] "
                    "[--lookahead-s T] [--reps K] [--threads N] [--brute-force]\n"
                    "       deconflict-bench dense --n N [--box-km K] [--seed S] > STATES.csv\n"
                    "       deconflict-bench strategic [--sizes N,N,...] [--queries K] [--seed S] "
                    "[--cell-km KM] [--bucket-h H] [--export DIR] [--pg CONNINFO] "
                    "[--pg-index composite|separate]\n"
                    "       deconflict-bench sbs [--data DIR] [--reps K] [--lines N]\n"
                    "       deconflict-bench asterix [--data DIR] [--reps K]\n"
                    "       deconflict-bench beast [--data DIR] [--reps K] [--frames N]\n"
                    "       deconflict-bench service --url URL --token A --token B ...\n"
                    "       deconflict-bench idle --url URL --token T [--idle N] [--addresses A] "
                    "[--requests K] [--rounds R]\n"
                    "       deconflict-bench alerting [--data CSV] [--step-s S] [--verbose]\n");
    return asked ? 0 : 2;
}
