/* deconflict-bench beast: Beast decoding speed on one core. The real ulss7 capture (13,954
 * frames: Mode A/C, Mode S short and long, 61 s of 11 aircraft) is held in memory and read over
 * and over by a fresh stream each round -- framing, CRC, extended squitter decoding, CPR -- then
 * the same with every message merged into the SBS tracker. Then the same capture with one bit
 * flipped in 10% of its extended squitters, decoded with single-bit repair and without: what a
 * weak receiver's frames cost. Prints frames/s, the median of --reps runs.
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

/* One run: rounds passes over the capture, each by a new stream (single-bit repair off when
 * no_fix); the milliseconds taken. */
static double run(const uint8_t *buf, size_t len, size_t rounds, bool merge, bool no_fix, sink_t *s,
                  dc_beast_stats_t *st)
{
    *s = (sink_t){.tr = merge ? dc_sbs_tracker_new(10, 1e12) : NULL};
    double t0 = bench_now_ms();
    for (size_t k = 0; k < rounds; k++) {
        dc_beast_config_t cfg = {.t0_s = 1.5e9 + 100.0 * (double)k, .modes.no_crc_fix = no_fix};
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

/* A copy of the capture with one bit (5..111) flipped in `share` of its intact DF17/18 frames,
 * chosen by a fixed seed; only a bit whose byte neither is nor becomes 0x1a, so that the
 * escaping is unchanged. NULL out of memory. */
static uint8_t *damage(const uint8_t *buf, size_t len, double share)
{
    uint8_t *out = malloc(len);
    if (!out) return NULL;
    memcpy(out, buf, len);
    uint64_t rng = 1090;
    size_t i = 0;
    while (i + 1 < len) {
        if (out[i] != 0x1a || out[i + 1] < '1' || out[i + 1] > '3') {
            i++;
            continue;
        }
        static const size_t msg_len[] = {2, 7, 14};
        size_t need = 7 + msg_len[out[i + 1] - '1'], at[7 + 14], k = 0, j = i + 2;
        while (k < need && j < len) {
            if (out[j] == 0x1a) j++; /* a doubled 0x1a */
            if (j < len) at[k++] = j++;
        }
        if (k < need) break;
        uint8_t msg[14];
        for (size_t b = 0; b < 14 && need == 21; b++) msg[b] = out[at[7 + b]];
        int df = msg[0] >> 3;
        if (need == 21 && (df == 17 || df == 18) && dc_modes_crc(msg, 14) == 0) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            if ((double)(rng % 1000) < share * 1000) {
                for (;;) {
                    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                    int bit = 5 + (int)(rng % 107);
                    uint8_t *p = &out[at[7 + bit / 8]], flipped = *p ^ (uint8_t)(0x80 >> (bit % 8));
                    if (*p == 0x1a || flipped == 0x1a) continue;
                    *p = flipped;
                    break;
                }
            }
        }
        i = j;
    }
    return out;
}

int bench_beast(int argc, char **argv)
{
    const char *dir = "../shared/data";
    int reps = 7;
    size_t target = 5000000;
    if (!bench_data_args(argc, argv, "--frames", "beast [--data DIR] [--reps K] [--frames N]", &dir,
                         &reps, &target))
        return 2;
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
           *merge_ms = malloc(sizeof(double) * (size_t)reps),
           *fix_ms = malloc(sizeof(double) * (size_t)reps),
           *nofix_ms = malloc(sizeof(double) * (size_t)reps);
    uint8_t *bad = buf && len ? damage(buf, len, 0.10) : NULL;
    if (!buf || !dec_ms || !merge_ms || !fix_ms || !nofix_ms || !bad) {
        fprintf(stderr, "bench beast: %s is empty (or out of memory)\n", path);
        free(buf), free(dec_ms), free(merge_ms), free(fix_ms), free(nofix_ms), free(bad);
        return 1;
    }
    dc_beast_stats_t st, fix_st, nofix_st;
    sink_t s;
    run(buf, len, 1, false, false, &s, &st); /* the frames in one pass */
    size_t per_round = (size_t)st.frames, rounds = target / per_round + 1;
    size_t messages = 0, states = 0, fix_messages = 0, nofix_messages = 0;
    for (int r = 0; r < reps; r++) {
        dec_ms[r] = run(buf, len, rounds, false, false, &s, &st);
        messages = s.messages;
        merge_ms[r] = run(buf, len, rounds, true, false, &s, &st);
        states = s.states;
        fix_ms[r] = run(bad, len, rounds, false, false, &s, &fix_st);
        fix_messages = s.messages;
        nofix_ms[r] = run(bad, len, rounds, false, true, &s, &nofix_st);
        nofix_messages = s.messages;
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
    printf("  damaged copy: one bit flipped in %llu of the long frames (10%% of the squitters)\n",
           (unsigned long long)nofix_st.modes.crc_bad);
    printf("  ... repaired:     %.2f M frames/s (median); %llu repaired, %llu refused, %zu "
           "messages per round\n",
           total / bench_median(fix_ms, (size_t)reps) / 1e3,
           (unsigned long long)fix_st.modes.crc_fixed, (unsigned long long)fix_st.modes.crc_bad,
           fix_messages / rounds);
    printf("  ... not repaired: %.2f M frames/s (median); %zu messages per round\n",
           total / bench_median(nofix_ms, (size_t)reps) / 1e3, nofix_messages / rounds);
    free(buf), free(dec_ms), free(merge_ms), free(fix_ms), free(nofix_ms), free(bad);
    return 0;
}
