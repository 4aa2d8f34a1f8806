/* Beast captures into replay rows: see replay_beast.h. */
#include "replay_beast.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deconflict/beast.h"
#include "deconflict/sbs.h"

#define CHUNK 65536

bool cli_is_beast(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t head[2];
    bool beast = f && fread(head, 1, 2, f) == 2 && dc_beast_looks_like(head, 2);
    if (f) fclose(f);
    return beast;
}

typedef struct loader {
    dc_sbs_tracker_t *tr;
    cli_row_t *rows;
    size_t n, cap;
    long frame; /* reported as the row's "line": the long frame it came from */
    bool nomem;
} loader_t;

static void on_message(const dc_sbs_msg_t *m, void *ctx)
{
    loader_t *l = ctx;
    l->frame++;
    if (l->nomem) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        cli_row_t *grown = realloc(l->rows, cap * sizeof(*grown));
        if (!grown) {
            l->nomem = true;
            return;
        }
        l->rows = grown, l->cap = cap;
    }
    cli_row_t *r = &l->rows[l->n];
    memset(r, 0, sizeof(*r));
    if (dc_sbs_tracker_apply(l->tr, m, &r->st, r->callsign)) r->line = l->frame, l->n++;
}

int cli_load_beast(const char *path, double t0_s, cli_row_t **rows, size_t *n_rows, size_t *n_bad)
{
    *rows = NULL, *n_rows = 0, *n_bad = 0;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        fprintf(stderr, "deconflict: cannot read %s\n", path);
        if (f) fclose(f);
        return CLI_EXIT_DATA;
    }
    /* Without --t0, decode from 0 and shift every row once the capture's span is known. */
    dc_beast_config_t cfg = {.t0_s = isnan(t0_s) ? 0 : t0_s};
    dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
    loader_t l = {.tr = dc_sbs_tracker_new(10, 1e12)};
    uint8_t *buf = malloc(CHUNK);
    int rc = s && l.tr && buf ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    size_t got;
    while (rc == CLI_EXIT_OK && (got = fread(buf, 1, CHUNK, f)) > 0)
        dc_beast_stream_feed(s, buf, got, 0, on_message, &l);
    if (rc == CLI_EXIT_OK && ferror(f)) {
        fprintf(stderr, "deconflict: error reading %s\n", path);
        rc = CLI_EXIT_DATA;
    }
    if (l.nomem) rc = CLI_EXIT_INTERNAL;
    if (rc == CLI_EXIT_OK) {
        dc_beast_stats_t st;
        dc_beast_stream_stats(s, &st);
        *n_bad = (size_t)st.bad;
        double shift = 0;
        if (isnan(t0_s) && !isnan(st.latest_s))
            shift = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9 - st.latest_s;
        for (size_t i = 0; i < l.n; i++) l.rows[i].st.t_s += shift;
        fprintf(stderr,
                "deconflict: %s: %llu Beast frames (%llu Mode A/C, %llu short, %llu long), %llu "
                "refused, %llu repaired (a single-bit CRC error); %llu ADS-B messages decoded, "
                "%llu positions%s\n",
                path, (unsigned long long)st.frames, (unsigned long long)st.modeac,
                (unsigned long long)st.short_frames, (unsigned long long)st.long_frames,
                (unsigned long long)st.bad, (unsigned long long)st.modes.crc_fixed,
                (unsigned long long)st.modes.decoded,
                (unsigned long long)(st.modes.cpr_global + st.modes.cpr_local),
                isnan(t0_s) ? "; times from the file's modification time (--t0 to set them)" : "");
        *rows = l.rows, *n_rows = l.n;
        l.rows = NULL;
    }
    free(l.rows), free(buf);
    dc_sbs_tracker_free(l.tr);
    dc_beast_stream_free(s);
    fclose(f);
    return rc;
}
