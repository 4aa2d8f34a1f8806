/* BlueSky-style dense scenarios, and timing the tactical engine on any states file.
 *
 *   deconflict-bench dense --n N [--box-km K] [--seed S]   > STATES.csv
 *   deconflict-bench tactical --input STATES.csv [--rpz-nm R] [--hpz-ft H] [--lookahead-s T]
 *                             [--reps K] [--brute]
 *
 * The scenario is BlueSky's kind of stress test: N aircraft uniformly in a K km square box (500
 * km by default) centred on 51 N 4 E, FL100-FL400; 70% level on the semicircular flight levels
 * (eastbound tracks 000-179 on odd thousands FL110-FL390, westbound on even FL100-FL400), the
 * rest climbing or descending at 500-3,000 fpm anywhere in the band; ground speeds 250-480 kt.
 * In a fixed area the true conflicts grow with N^2, so this is where an index that does not
 * sort by altitude and time degenerates to all pairs.
 *
 * --input times full passes over a states file (the `deconflict detect` format, every report at
 * t = 0, the pass at now = 0) and ends with the line
 *   pass_ms_median=X candidate_pairs=Y conflicts=Z
 * which scripts/bench-bluesky.sh reads beside BlueSky's own timing of the same file. */
#include "bench.h"
#include "deconflict/tactical.h"
#include "deconflict/trackcsv.h"
#include "tactical/kinematics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOX_LAT0_DEG 51.0
#define BOX_LON0_DEG 4.0
#define M_PER_DEG    111195.0

int bench_dense(int argc, char **argv)
{
    size_t n = 10000;
    double box_km = 500;
    uint64_t seed = 20261203;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            printf("usage: deconflict-bench dense --n N [--box-km K] [--seed S] > STATES.csv\n");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bench dense: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--n") == 0)
            n = strtoull(v, NULL, 10);
        else if (strcmp(a, "--box-km") == 0)
            box_km = strtod(v, NULL);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "bench dense: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (n < 1 || n > 10000000) {
        fprintf(stderr, "bench dense: --n must be 1-10000000\n");
        return 2;
    }
    if (!(box_km >= 1 && box_km <= 2000)) {
        fprintf(stderr, "bench dense: --box-km must be 1-2000\n");
        return 2;
    }
    bench_rng_t rng;
    bench_rng_seed(&rng, seed);
    double half_lat = box_km * 500 / M_PER_DEG;
    double half_lon = half_lat / cos(BOX_LAT0_DEG * M_PI / 180);
    printf("id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n");
    for (size_t i = 0; i < n; i++) {
        double lat = BOX_LAT0_DEG + half_lat * (2 * bench_rng_uniform(&rng) - 1);
        double lon = BOX_LON0_DEG + half_lon * (2 * bench_rng_uniform(&rng) - 1);
        double trk = 360 * bench_rng_uniform(&rng), gs = 250 + 230 * bench_rng_uniform(&rng);
        double alt, vs = 0;
        if (bench_rng_uniform(&rng) < 0.7) {
            /* Semicircular: 15 odd levels FL110-FL390 eastbound, 16 even FL100-FL400 west. */
            bool east = trk < 180;
            int k = (int)floor(bench_rng_uniform(&rng) * (east ? 15 : 16));
            alt = east ? 11000 + 2000 * k : 10000 + 2000 * k;
        } else {
            alt = 10000 + 30000 * bench_rng_uniform(&rng);
            vs = (bench_rng_uniform(&rng) < 0.5 ? -1 : 1) * (500 + 2500 * bench_rng_uniform(&rng));
        }
        printf("AC%06zu,%.6f,%.6f,%.0f,%.1f,%.2f,%.0f\n", i, lat, lon, alt, gs, trk, vs);
    }
    return 0;
}

/* The states of path (the `detect` format) into *out, t = 0; 0 or an exit status. */
static int load_states(const char *path, dc_track_state_t **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench tactical: cannot read %s\n", path);
        return 1;
    }
    char line[DC_TRACKCSV_LINE_MAX + 2], msg[200];
    dc_trackcsv_format_t fmt;
    size_t cap = 0, lineno = 1;
    *out = NULL, *n = 0;
    if (!fgets(line, sizeof(line), f) ||
        dc_trackcsv_header(line, &fmt, msg, sizeof(msg)) != DC_OK || fmt != DC_TRACKCSV_STATES) {
        fprintf(stderr,
                "bench tactical: %s: not a states file (id,lat,lon,alt_ft,gs_kt,trk_deg,"
                "vs_fpm)\n",
                path);
        fclose(f);
        return 1;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            dc_track_state_t *p = realloc(*out, cap * sizeof(*p));
            if (!p) {
                fclose(f);
                return 1;
            }
            *out = p;
        }
        if (dc_trackcsv_row(fmt, line, &(*out)[*n], NULL, msg, sizeof(msg)) != DC_OK) {
            fprintf(stderr, "bench tactical: %s:%zu: %s\n", path, lineno, msg);
            fclose(f);
            return 1;
        }
        (*out)[(*n)++].t_s = 0;
    }
    fclose(f);
    return 0;
}

int bench_tactical_input(const char *path, const dc_tactical_config_t *cfg, int reps, bool brute)
{
    dc_track_state_t *st;
    size_t n;
    if (load_states(path, &st, &n)) return 1;
    dc_tactical_t *eng = dc_tactical_new(cfg);
    double *ms = malloc(reps * sizeof(double));
    if (!eng || !ms) return 1;
    for (size_t i = 0; i < n; i++) dc_tactical_update(eng, &st[i], NULL);
    /* The first pass applies the reports; the index then settles its slices in a few passes. */
    for (int w = 0; w < 8; w++) dc_tactical_detect(eng, 0, NULL, NULL);
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now_ms();
        dc_tactical_detect(eng, 0, NULL, NULL);
        ms[r] = bench_now_ms() - t0;
    }
    const dc_tactical_snapshot_t *snap = dc_tactical_snapshot_acquire(eng);
    double med = bench_median(ms, reps);
    printf("%s: %zu aircraft, R %.2f NM, H %.0f ft, T %.0f s, %d passes\n", path, n, cfg->rpz_nm,
           cfg->hpz_ft, cfg->lookahead_s, reps);
    printf("  slices %zu, index entries per track %.2f, pairs sharing a cell %llu, candidates %llu "
           "(%.1f per conflict), engine memory %.0f B/track\n",
           snap->stats.slices, (double)snap->stats.index_entries / (n ? n : 1),
           (unsigned long long)snap->stats.cell_pairs, (unsigned long long)snap->stats.candidates,
           snap->n_conflicts ? (double)snap->stats.candidates / snap->n_conflicts : 0.0,
           (double)snap->stats.memory_bytes / (n ? n : 1));
    if (brute) {
        pass_params_t pp;
        pass_params_from_config(cfg, &pp);
        kin_t *k = malloc(n * sizeof(kin_t));
        size_t hits = 0;
        dc_pair_eval_t ev;
        double t0 = bench_now_ms();
        for (size_t i = 0; k && i < n; i++) kin_from_state(&st[i], &k[i]);
        for (size_t i = 0; k && i < n; i++)
            for (size_t j = i + 1; j < n; j++) hits += kin_eval_pair(&k[i], &k[j], 0, &pp, &ev);
        printf("  brute force: %zu conflicts in %.0f ms (the engine: %zu)\n", hits,
               bench_now_ms() - t0, snap->n_conflicts);
        free(k);
    }
    printf("pass_ms_median=%.3f candidate_pairs=%llu conflicts=%zu\n", med,
           (unsigned long long)snap->stats.candidates, snap->n_conflicts);
    dc_tactical_snapshot_release(snap);
    dc_tactical_free(eng);
    free(ms);
    free(st);
    return 0;
}
