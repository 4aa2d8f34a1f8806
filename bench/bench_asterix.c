/* deconflict-bench asterix: ASTERIX decoding speed on one core. The real Swiss day (139,098
 * states of 842 aircraft) is encoded in memory as CAT021 and as CAT062 data blocks of at most
 * 1,400 octets, as `deconflict asterix encode` writes them; the blocks are then decoded over and
 * over: records only, then records merged into aircraft states as the feeds merge them. Prints
 * records/s, the median of --reps runs, and the encoding speed.
 *
 *   deconflict-bench asterix [--data DIR] [--reps K] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "deconflict/asterix.h"
#include "deconflict/trackcsv.h"

typedef struct blob {
    uint8_t *buf;
    size_t len, cap, blocks, records;
} blob_t;

static int append(blob_t *b, const dc_asterix_block_t *blk)
{
    if (b->len + blk->len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 20;
        uint8_t *p = realloc(b->buf, cap);
        if (!p) return -1;
        b->buf = p, b->cap = cap;
    }
    memcpy(b->buf + b->len, blk->buf, blk->len);
    b->len += blk->len, b->blocks++, b->records += blk->records;
    return 0;
}

typedef struct sink {
    dc_sbs_tracker_t *tr;
    size_t records, states;
    double ref_s;
} sink_t;

static void count(const dc_asterix_record_t *r, void *ctx)
{
    (void)r;
    ((sink_t *)ctx)->records++;
}

static void merge(const dc_asterix_record_t *r, void *ctx)
{
    sink_t *s = ctx;
    dc_sbs_msg_t m[3];
    size_t n = dc_asterix_to_messages(r, dc_asterix_tod_to_unix(r->tod_s, s->ref_s), m);
    dc_track_state_t st;
    char cs[9];
    for (size_t i = 0; i < n; i++) s->states += dc_sbs_tracker_apply(s->tr, &m[i], &st, cs);
    s->records++;
}

int bench_asterix(int argc, char **argv)
{
    const char *dir = "../shared/data";
    int reps = 7;
    if (!bench_data_args(argc, argv, NULL, "asterix [--data DIR] [--reps K]", &dir, &reps, NULL))
        return 2;
    if (reps < 1 || reps > 1000) reps = 7;
    char path[1024], line[DC_TRACKCSV_LINE_MAX + 2], msg[160];
    snprintf(path, sizeof(path), "%s/traffic/switzerland_2018-08-01.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof(line), f)) {
        fprintf(stderr, "bench asterix: cannot read %s\n", path);
        if (f) fclose(f);
        return 1;
    }
    size_t n = 0, cap = 0;
    dc_asterix_record_t *recs = NULL;
    dc_trackcsv_format_t fmt;
    dc_trackcsv_header(line, &fmt, msg, sizeof(msg));
    while (fgets(line, sizeof(line), f)) {
        dc_track_state_t st;
        char cs[DC_CALLSIGN_MAX];
        if (dc_trackcsv_row(fmt, line, &st, cs, msg, sizeof(msg)) != DC_OK) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            dc_asterix_record_t *p = realloc(recs, cap * sizeof(*recs));
            if (!p) return fclose(f), free(recs), 1;
            recs = p;
        }
        dc_asterix_record_t *r = &recs[n++];
        memset(r, 0, sizeof(*r));
        r->sac = 1, r->sic = 2, r->addr = (uint32_t)strtoul(st.id, NULL, 16);
        r->has = DC_ASTERIX_TOD | DC_ASTERIX_ADDR | DC_ASTERIX_POS | DC_ASTERIX_FL |
                 DC_ASTERIX_VEL | DC_ASTERIX_VS | DC_ASTERIX_TRACK;
        r->tod_s = fmod(st.t_s, 86400), r->lat_deg = st.lat_deg, r->lon_deg = st.lon_deg;
        r->fl = st.alt_ft / 100, r->gs_kt = st.gs_kt, r->trk_deg = st.trk_deg,
        r->vs_fpm = st.vs_fpm;
        r->track_number = (int)(r->addr % 4000) + 1;
        if (cs[0]) memcpy(r->callsign, cs, 8), r->has |= DC_ASTERIX_CALLSIGN;
    }
    fclose(f);
    double ref_s = 1533124800; /* 2018-08-01T12:00:00Z */
    printf("asterix: %zu states of the Swiss day, %d runs, one core\n", n, reps);
    static const int cats[] = {21, 62};
    for (int c = 0; c < 2; c++) {
        static dc_asterix_block_t blk;
        blob_t b = {0};
        double *enc_ms = malloc(sizeof(double) * (size_t)reps),
               *dec_ms = malloc(sizeof(double) * (size_t)reps),
               *mrg_ms = malloc(sizeof(double) * (size_t)reps);
        if (!enc_ms || !dec_ms || !mrg_ms) return 1;
        sink_t s = {0};
        for (int r = 0; r < reps; r++) {
            b.len = b.blocks = b.records = 0;
            double t0 = bench_now_ms();
            dc_asterix_block_start(&blk, cats[c], 1400);
            for (size_t i = 0; i < n; i++) {
                dc_err_t e = dc_asterix_block_add(&blk, &recs[i], msg, sizeof(msg));
                if (e == DC_ERR_LIMIT) {
                    append(&b, &blk);
                    dc_asterix_block_start(&blk, cats[c], 1400);
                    e = dc_asterix_block_add(&blk, &recs[i], msg, sizeof(msg));
                }
                if (e != DC_OK) return fprintf(stderr, "bench asterix: %s\n", msg), 1;
            }
            append(&b, &blk);
            enc_ms[r] = bench_now_ms() - t0;
            dc_asterix_stats_t st = {0};
            s = (sink_t){.ref_s = ref_s};
            t0 = bench_now_ms();
            dc_asterix_decode_datagram(b.buf, b.len, NULL, count, &s, &st, msg, sizeof(msg));
            dec_ms[r] = bench_now_ms() - t0;
            s = (sink_t){.ref_s = ref_s, .tr = dc_sbs_tracker_new(10, 1e12)};
            t0 = bench_now_ms();
            dc_asterix_decode_datagram(b.buf, b.len, NULL, merge, &s, &st, msg, sizeof(msg));
            mrg_ms[r] = bench_now_ms() - t0;
            dc_sbs_tracker_free(s.tr);
        }
        printf("  CAT%03d: %zu blocks, %.1f octets per record\n", cats[c], b.blocks,
               (double)(b.len - 3 * b.blocks) / (double)b.records);
        printf("    decode:           %.2f M records/s (median)\n",
               (double)n / bench_median(dec_ms, (size_t)reps) / 1e3);
        printf("    decode + merge:   %.2f M records/s (median; %zu states)\n",
               (double)n / bench_median(mrg_ms, (size_t)reps) / 1e3, s.states);
        printf("    encode:           %.2f M records/s (median)\n",
               (double)n / bench_median(enc_ms, (size_t)reps) / 1e3);
        free(b.buf), free(enc_ms), free(dec_ms), free(mrg_ms);
    }
    free(recs);
    return 0;
}
