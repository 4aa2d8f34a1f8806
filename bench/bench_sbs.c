/* deconflict-bench sbs: SBS-1 parsing speed on one core. The real dump1090 output of the ulss7
 * capture (8,622 lines of types 1, 3-8) is held in memory and parsed over and over; then the same
 * with each message merged into the tracker. Prints lines/s, the median of --reps runs.
 *
 *   deconflict-bench sbs [--data DIR] [--reps K] [--lines N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "deconflict/sbs.h"

int bench_sbs(int argc, char **argv)
{
    const char *dir = "../shared/data";
    int reps = 7;
    size_t target = 5000000;
    if (!bench_data_args(argc, argv, "--lines", "sbs [--data DIR] [--reps K] [--lines N]", &dir,
                         &reps, &target))
        return 2;
    char path[1024];
    snprintf(path, sizeof(path), "%s/dump1090/ulss7_sbs_output.txt", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench sbs: cannot read %s\n", path);
        return 1;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += n) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf) return 1;
    /* Line starts and lengths, once. */
    size_t max_lines = 1;
    for (size_t i = 0; i < len; i++) max_lines += buf[i] == '\n';
    size_t n_lines = 0, *off = malloc(sizeof(size_t) * max_lines),
           *ln = malloc(sizeof(size_t) * max_lines);
    if (!off || !ln || len == 0) {
        fprintf(stderr, "bench sbs: %s is empty (or out of memory)\n", path);
        free(buf), free(off), free(ln);
        return 1;
    }
    for (size_t s = 0; s < len;) {
        size_t e = s;
        while (e < len && buf[e] != '\n') e++;
        off[n_lines] = s, ln[n_lines++] = e - s;
        s = e + 1;
    }
    size_t rounds = target / n_lines + 1;
    double *parse_ms = malloc(sizeof(double) * (size_t)reps),
           *merge_ms = malloc(sizeof(double) * (size_t)reps);
    size_t ok = 0, states = 0;
    for (int r = 0; r < reps; r++) {
        dc_sbs_msg_t m;
        double t0 = bench_now_ms();
        ok = 0;
        for (size_t k = 0; k < rounds; k++)
            for (size_t i = 0; i < n_lines; i++)
                ok += dc_sbs_parse_line(buf + off[i], ln[i], &m) == DC_OK;
        parse_ms[r] = bench_now_ms() - t0;
        dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 1e12);
        t0 = bench_now_ms();
        states = 0;
        for (size_t k = 0; k < rounds; k++)
            for (size_t i = 0; i < n_lines; i++) {
                dc_track_state_t st;
                char cs[9];
                if (dc_sbs_parse_line(buf + off[i], ln[i], &m) == DC_OK)
                    states += dc_sbs_tracker_apply(tr, &m, &st, cs);
            }
        merge_ms[r] = bench_now_ms() - t0;
        dc_sbs_tracker_free(tr);
    }
    double total = (double)rounds * (double)n_lines;
    printf(
        "sbs: %zu lines of dump1090 output x %zu rounds = %.0f lines per run, %d runs, one core\n",
        n_lines, rounds, total, reps);
    printf("  parse only:       %.2f M lines/s (median; %zu valid per round)\n",
           total / bench_median(parse_ms, (size_t)reps) / 1e3, ok / rounds);
    printf("  parse + merge:    %.2f M lines/s (median; %zu states per round)\n",
           total / bench_median(merge_ms, (size_t)reps) / 1e3, states / rounds);
    free(buf), free(off), free(ln), free(parse_ms), free(merge_ms);
    return 0;
}
