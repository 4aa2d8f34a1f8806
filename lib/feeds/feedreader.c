/* The stream readers of TCP surveillance sources behind one table of functions: see
 * include/deconflict/feedreader.h. */
#include "deconflict/feedreader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/beast.h"

typedef struct reader_ops {
    const char *name;
    void *(*create)(void);
    void (*destroy)(void *state);
    void (*reset)(void *state);
    dc_err_t (*read)(void *state, int fd, double now_s,
                     void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx);
    void (*counts)(const void *state, dc_feed_counts_t *c);
} reader_ops_t;

struct dc_feed_reader {
    const reader_ops_t *ops;
    void *state;
};

/* ---- SBS-1: the line cutter of sbs.c; its messages carry their own (receiver-local) times,
 * which only order them ---- */

static void *sbs_create(void)
{
    return calloc(1, sizeof(dc_sbs_stream_t));
}

static void sbs_reset(void *state)
{
    dc_sbs_stream_reset(state);
}

static dc_err_t sbs_read(void *state, int fd, double now_s,
                         void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    (void)now_s;
    return dc_sbs_stream_read(state, fd, fn, ctx);
}

static void sbs_counts(const void *state, dc_feed_counts_t *c)
{
    const dc_sbs_stream_t *s = state;
    *c = (dc_feed_counts_t){.units = s->lines, .bad = s->bad, .latest_msg_s = s->latest_msg_s};
}

/* ---- Beast: frames timed by the reads ---- */

static void *beast_create(void)
{
    return dc_beast_stream_new(NULL);
}

static void beast_destroy(void *state)
{
    dc_beast_stream_free(state);
}

static void beast_reset(void *state)
{
    dc_beast_stream_reset(state);
}

static dc_err_t beast_read(void *state, int fd, double now_s,
                           void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    return dc_beast_stream_read(state, fd, now_s, fn, ctx);
}

static void beast_counts(const void *state, dc_feed_counts_t *c)
{
    dc_beast_stats_t st;
    dc_beast_stream_stats(state, &st);
    *c = (dc_feed_counts_t){.units = st.frames,
                            .bad = st.bad,
                            .corrected = st.modes.crc_fixed,
                            .latest_msg_s = isnan(st.latest_s) ? 0 : st.latest_s};
}

static const reader_ops_t OPS[] = {
    [DC_FEED_SBS] = {"sbs", sbs_create, free, sbs_reset, sbs_read, sbs_counts},
    [DC_FEED_BEAST] = {"beast", beast_create, beast_destroy, beast_reset, beast_read, beast_counts},
};
#define N_OPS (sizeof(OPS) / sizeof(OPS[0]))

const char *dc_feed_kind_name(dc_feed_kind_t kind)
{
    return (size_t)kind < N_OPS ? OPS[kind].name : NULL;
}

bool dc_feed_kind_parse(const char *name, dc_feed_kind_t *kind)
{
    for (size_t k = 0; k < N_OPS; k++) {
        if (strcmp(name, OPS[k].name) == 0) {
            *kind = (dc_feed_kind_t)k;
            return true;
        }
    }
    return false;
}

dc_feed_reader_t *dc_feed_reader_new(dc_feed_kind_t kind)
{
    if ((size_t)kind >= N_OPS) return NULL;
    dc_feed_reader_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->ops = &OPS[kind];
    r->state = r->ops->create();
    if (!r->state) {
        free(r);
        return NULL;
    }
    return r;
}

void dc_feed_reader_free(dc_feed_reader_t *r)
{
    if (!r) return;
    r->ops->destroy(r->state);
    free(r);
}

void dc_feed_reader_reset(dc_feed_reader_t *r)
{
    r->ops->reset(r->state);
}

dc_err_t dc_feed_reader_read(dc_feed_reader_t *r, int fd, double now_s,
                             void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    return r->ops->read(r->state, fd, now_s, fn, ctx);
}

void dc_feed_reader_counts(const dc_feed_reader_t *r, dc_feed_counts_t *counts)
{
    r->ops->counts(r->state, counts);
}
