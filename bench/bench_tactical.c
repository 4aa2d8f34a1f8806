/* The tactical engine benchmark: full detection passes over seeded traffic at en-route density.
 *
 * Traffic: N aircraft spread uniformly over a spherical cap sized so that the density is
 * DENSITY_PER_KM2 (about three times the peak of the recorded Swiss upper-airspace day, i.e. a
 * busy core area); at N = 1M the cap is the whole globe, which also exercises the poles and the
 * antimeridian. 70% are level at flight levels FL300-FL450, 30% climb or descend at 500-3000
 * ft/min; ground speeds 380-500 kt; reports are 0-5 s old at the evaluation time.
 *
 * Printed per N: median ms per full pass (queue empty: extrapolate, index, pairs, snapshot), ms to
 * queue and apply N reports, pairs sharing a cell, candidate pairs evaluated exactly, conflicts,
 * bytes per track held by the engine; and, at --brute N, the O(N^2) reference (every pair
 * evaluated exactly) in the same run with the ratio. */
#include "bench.h"
#include "deconflict/geo.h"
#include "deconflict/tactical.h"
#include "tactical/engine_internal.h"
#include "tactical/kinematics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DENSITY_PER_KM2 2.0e-3
#define EARTH_R_KM      6371.0
#define NOW_S           1533130000.0

static void gen_traffic(size_t n, uint64_t seed, dc_track_state_t *out)
{
    bench_rng_t rng;
    bench_rng_seed(&rng, seed);
    const double lat0 = 46.8 * M_PI / 180, lon0 = 8.2 * M_PI / 180;
    double area = n / DENSITY_PER_KM2;
    double cos_theta = 1.0 - area / (2 * M_PI * EARTH_R_KM * EARTH_R_KM);
    if (cos_theta < -1) cos_theta = -1;
    for (size_t i = 0; i < n; i++) {
        dc_track_state_t *s = &out[i];
        /* Uniform on the cap: cos(distance) uniform in [cos_theta, 1]. */
        double cd = 1.0 - bench_rng_uniform(&rng) * (1.0 - cos_theta);
        double d = acos(cd), az = 2 * M_PI * bench_rng_uniform(&rng);
        double lat = asin(sin(lat0) * cos(d) + cos(lat0) * sin(d) * cos(az));
        double lon = lon0 + atan2(sin(az) * sin(d) * cos(lat0), cos(d) - sin(lat0) * sin(lat));
        lon = remainder(lon, 2 * M_PI);
        snprintf(s->id, sizeof(s->id), "AC%07zu", i);
        s->lat_deg = lat * 180 / M_PI;
        s->lon_deg = lon * 180 / M_PI;
        s->gs_kt = 380 + 120 * bench_rng_uniform(&rng);
        s->trk_deg = 360 * bench_rng_uniform(&rng);
        if (bench_rng_uniform(&rng) < 0.7) {
            s->alt_ft = 30000 + 1000 * floor(16 * bench_rng_uniform(&rng));
            s->vs_fpm = 0;
        } else {
            s->alt_ft = 20000 + 25000 * bench_rng_uniform(&rng);
            s->vs_fpm =
                (bench_rng_uniform(&rng) < 0.5 ? -1 : 1) * (500 + 2500 * bench_rng_uniform(&rng));
        }
        s->t_s = NOW_S - 5 * bench_rng_uniform(&rng);
        if (s->trk_deg >= 360) s->trk_deg = 0;
    }
}

static size_t brute_force(const dc_track_state_t *st, size_t n, const dc_tactical_config_t *cfg,
                          kin_t *k)
{
    pass_params_t pp;
    pass_params_from_config(cfg, &pp);
    for (size_t i = 0; i < n; i++) kin_from_state(&st[i], &k[i]);
    size_t hits = 0;
    dc_pair_eval_t ev;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) hits += kin_eval_pair(&k[i], &k[j], NOW_S, &pp, &ev);
    return hits;
}

int bench_tactical(int argc, char **argv)
{
    size_t sizes[16] = {1000, 10000, 100000, 1000000}, n_sizes = 4, brute_n = 10000;
    int reps = 7;
    uint64_t seed = 20181001;
    const char *input = NULL;
    bool brute_input = false;
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: deconflict-bench tactical [--sizes N,N,...] [--reps K] [--seed S] "
                   "[--brute N]\n"
                   "       deconflict-bench tactical --input STATES.csv [--rpz-nm R] "
                   "[--hpz-ft H] [--lookahead-s T] [--reps K] [--threads N] [--resolution S] "
                   "[--brute-force]\n");
            return 0;
        }
        if (strcmp(argv[i], "--brute-force") == 0) {
            brute_input = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench tactical: %s needs a value\n", argv[i]);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--sizes") == 0) {
            n_sizes = 0;
            for (char *p = (char *)v; *p && n_sizes < 16; p += *p == ',')
                sizes[n_sizes++] = strtoull(p, &p, 10);
        } else if (strcmp(argv[i - 1], "--reps") == 0) {
            reps = atoi(v);
        } else if (strcmp(argv[i - 1], "--seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--brute") == 0) {
            brute_n = strtoull(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--threads") == 0) {
            dc_tactical_threads_max = strtoull(v, NULL, 10);
        } else if (strcmp(argv[i - 1], "--resolution") == 0) {
            dc_tactical_resolution_fixed = strtod(v, NULL);
        } else if (strcmp(argv[i - 1], "--input") == 0) {
            input = v;
        } else if (strcmp(argv[i - 1], "--rpz-nm") == 0) {
            cfg.rpz_nm = strtod(v, NULL);
        } else if (strcmp(argv[i - 1], "--hpz-ft") == 0) {
            cfg.hpz_ft = strtod(v, NULL);
        } else if (strcmp(argv[i - 1], "--lookahead-s") == 0) {
            cfg.lookahead_s = strtod(v, NULL);
        } else {
            fprintf(stderr, "bench tactical: unknown option %s\n", argv[i - 1]);
            return 2;
        }
    }
    const char *field;
    if (dc_tactical_config_validate(&cfg, &field) != DC_OK) {
        fprintf(stderr, "bench tactical: %s is out of range\n", field ? field : "a minimum");
        return 2;
    }
    if (reps < 1 || reps > 1000) reps = 7;
    if (input) return bench_tactical_input(input, &cfg, reps, brute_input);
    printf("tactical benchmark: seed %llu, %d passes per N, R %.0f NM, H %.0f ft, T %.0f s, "
           "density %.1e aircraft/km^2\n",
           (unsigned long long)seed, reps, cfg.rpz_nm, cfg.hpz_ft, cfg.lookahead_s,
           DENSITY_PER_KM2);
    printf("%9s %12s %12s %12s %6s %8s %14s %12s %10s %10s\n", "N", "pass_ms_med", "mean_of_32",
           "apply_ms", "slices", "cells/trk", "cell_pairs", "candidates", "conflicts", "B/track");
    for (size_t si = 0; si < n_sizes; si++) {
        size_t n = sizes[si];
        dc_track_state_t *st = malloc(n * sizeof(*st));
        double *ms = malloc(reps * sizeof(double));
        dc_tactical_t *eng = dc_tactical_new(&cfg);
        if (!st || !ms || !eng) {
            fprintf(stderr, "bench: out of memory at N=%zu\n", n);
            return 1;
        }
        gen_traffic(n, seed + n, st);
        double t0 = bench_now_ms();
        for (size_t i = 0; i < n; i++) dc_tactical_update(eng, &st[i], NULL);
        const dc_tactical_snapshot_t *snap = NULL;
        dc_tactical_detect(eng, NOW_S, NULL, &snap);
        double apply_ms = bench_now_ms() - t0; /* includes the first pass */
        dc_tactical_snapshot_release(snap);
        for (int w = 0; w < 7; w++) dc_tactical_detect(eng, NOW_S, NULL, NULL); /* settles */
        for (int r = 0; r < reps; r++) {
            t0 = bench_now_ms();
            dc_tactical_detect(eng, NOW_S, NULL, NULL);
            ms[r] = bench_now_ms() - t0;
        }
        /* The mean over 32 more passes counts the one that reorders the records (every 32). */
        t0 = bench_now_ms();
        for (int r = 0; r < 32; r++) dc_tactical_detect(eng, NOW_S, NULL, NULL);
        double mean32 = (bench_now_ms() - t0) / 32;
        snap = dc_tactical_snapshot_acquire(eng);
        double med = bench_median(ms, reps);
        printf("%9zu %12.2f %12.2f %12.2f %6zu %8.2f %14llu %12llu %10zu %10.0f\n", n, med, mean32,
               apply_ms - med, snap->stats.slices, (double)snap->stats.index_entries / n,
               (unsigned long long)snap->stats.cell_pairs,
               (unsigned long long)snap->stats.candidates, snap->n_conflicts,
               (double)snap->stats.memory_bytes / n);
        fflush(stdout);
        if (n == brute_n) {
            kin_t *k = malloc(n * sizeof(kin_t));
            double bms[3];
            size_t hits = 0;
            for (int r = 0; r < 3 && k; r++) {
                t0 = bench_now_ms();
                hits = brute_force(st, n, &cfg, k);
                bms[r] = bench_now_ms() - t0;
            }
            double bmed = bench_median(bms, 3);
            printf("%9zu %12.2f  brute-force O(N^2) reference (median of 3): %zu conflicts "
                   "(engine %zu), %.0fx slower than the indexed pass\n",
                   n, bmed, hits, snap->n_conflicts, bmed / med);
            free(k);
        }
        dc_tactical_snapshot_release(snap);
        dc_tactical_free(eng);
        free(ms);
        free(st);
    }
    return 0;
}
