/* Shared helpers of the benchmark programs: timing, medians, seeded random numbers. */
#ifndef DC_BENCH_H
#define DC_BENCH_H

#include <stddef.h>
#include <stdint.h>

double bench_now_ms(void);
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
