/* Shared helpers of the benchmark programs: timing, medians, seeded random numbers. */
#ifndef DC_BENCH_H
#define DC_BENCH_H

#include <stddef.h>
#include <stdint.h>

double bench_now_ms(void);

/* The recorded-data benchmarks' flags: --data DIR, --reps K and, when count_flag is given, that
 * flag's N (e.g. "--frames"); dir, reps and count keep their defaults where not given. false,
 * with the benchmark's usage on stderr (usage: its flags' text), on anything else. */
_Bool bench_data_args(int argc, char **argv, const char *count_flag, const char *usage,
                      const char **dir, int *reps, size_t *count);
double bench_median(double *v, size_t n); /* sorts v */

/* xorshift64*: small, fast, and the same sequence on every machine for a seed. */
typedef struct bench_rng {
    uint64_t s;
} bench_rng_t;
void bench_rng_seed(bench_rng_t *r, uint64_t seed);
double bench_rng_uniform(bench_rng_t *r); /* [0, 1) */

int bench_tactical(int argc, char **argv);
int bench_dense(int argc, char **argv);
struct dc_tactical_config;
int bench_tactical_input(const char *path, const struct dc_tactical_config *cfg, int reps,
                         _Bool brute);
int bench_strategic(int argc, char **argv);
int bench_service(int argc, char **argv);
int bench_sbs(int argc, char **argv);
int bench_asterix(int argc, char **argv);
int bench_beast(int argc, char **argv);
int bench_idle(int argc, char **argv);
int bench_alerting(int argc, char **argv);

#endif
