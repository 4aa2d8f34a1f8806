/* deconflict-bench beast: Beast decoding speed on one core. The real ulss7 capture (13,954
 * frames: Mode A/C, Mode S short and long, 61 s of 11 aircraft) is held in memory and read over
 * and over by a fresh stream each round -- framing, CRC, extended squitter decoding, CPR -- then
 * the same with every message merged into the SBS tracker. Prints frames/s, the median of
 * --reps runs.
 *
 *   deconflict-bench beast [--data DIR] [--reps K] [--frames N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "deconflict/beast.h"

typedef struct sink {
    dc_sbs_tracker_t *tr; /* NULL: decode only */
    size_t messages, states;
} sink_t;

static void on_message(const dc_sbs_msg_t *m, void *ctx)
{
    sink_t *s = ctx;
    s->messages++;
    if (s->tr) {
        dc_track_state_t st;
        char cs[9];
        s->states += dc_sbs_tracker_apply(s->tr, m, &st, cs);
    }
}

/* One run: rounds passes over the capture, each by a new stream; the milliseconds taken. */
static double run(const uint8_t *buf, size_t len, size_t rounds, bool merge, sink_t *s,
                  dc_beast_stats_t *st)
{
    *s = (sink_t){.tr = merge ? dc_sbs_tracker_new(10, 1e12) : NULL};
    double t0 = bench_now_ms();
    for (size_t k = 0; k < rounds; k++) {
        dc_beast_config_t cfg = {.t0_s = 1.5e9 + 100.0 * (double)k};
        dc_beast_stream_t *in = dc_beast_stream_new(&cfg);
        if (!in) break;
        dc_beast_stream_feed(in, buf, len, 0, on_message, s);
        if (k == 0) dc_beast_stream_stats(in, st);
        dc_beast_stream_free(in);
    }
    double ms = bench_now_ms() - t0;
    dc_sbs_tracker_free(s->tr);
    return ms;
}

int bench_beast(int argc, char **argv)
{
    const char *dir = "../shared/data";
    int reps = 7;
    size_t target = 5000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--frames"))
            target = strtoul(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: deconflict-bench beast [--data DIR] [--reps K] [--frames N]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    char path[1024];
    snprintf(path, sizeof(path), "%s/captures/ulss7_2018-04-03.beast", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench beast: cannot read %s\n", path);
        return 1;
    }
    size_t cap = 1 << 20, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += n) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    double *dec_ms = malloc(sizeof(double) * (size_t)reps),
           *merge_ms = malloc(sizeof(double) * (size_t)reps);
    if (!buf || !dec_ms || !merge_ms || len == 0) {
        fprintf(stderr, "bench beast: %s is empty (or out of memory)\n", path);
        free(buf), free(dec_ms), free(merge_ms);
        return 1;
    }
    dc_beast_stats_t st;
    sink_t s;
    run(buf, len, 1, false, &s, &st); /* the frames in one pass */
    size_t per_round = (size_t)st.frames, rounds = target / per_round + 1;
    size_t messages = 0, states = 0;
    for (int r = 0; r < reps; r++) {
        dec_ms[r] = run(buf, len, rounds, false, &s, &st);
        messages = s.messages;
        merge_ms[r] = run(buf, len, rounds, true, &s, &st);
        states = s.states;
    }
    double total = (double)rounds * (double)per_round;
    printf("beast: %zu frames (%zu bytes) of the ulss7 capture x %zu rounds = %.0f frames per "
           "run, %d runs, one core\n",
           per_round, len, rounds, total, reps);
    printf("  %llu Mode A/C, %llu Mode S short, %llu long; %zu messages, %zu states per round\n",
           (unsigned long long)st.modeac, (unsigned long long)st.short_frames,
           (unsigned long long)st.long_frames, messages / rounds, states / rounds);
    printf("  frame + decode:   %.2f M frames/s (median), %.1f MB/s\n",
           total / bench_median(dec_ms, (size_t)reps) / 1e3,
           (double)len * (double)rounds / bench_median(dec_ms, (size_t)reps) / 1e3);
    printf("  of which long:    %.2f M extended squitters and other long frames/s\n",
           (double)st.long_frames * (double)rounds / bench_median(dec_ms, (size_t)reps) / 1e3);
    printf("  ... + merge:      %.2f M frames/s (median)\n",
           total / bench_median(merge_ms, (size_t)reps) / 1e3);
    free(buf), free(dec_ms), free(merge_ms);
    return 0;
}
