/* The Beast binary framing and its clock: see include/deconflict/beast.h.
 *
 * The format as dump1090, readsb and the Mode-S Beast receiver write it: 0x1a, a type byte, a
 * 6-byte big-endian 12 MHz counter, a signal byte, then 2 (type '1', Mode A/C), 7 ('2', Mode S
 * short) or 14 ('3', Mode S long) message bytes. A 0x1a among the 6 + 1 + message bytes is sent
 * twice, so a single 0x1a always starts a frame: that is how a reader that lost its place (a
 * connection joined mid-frame, garbage on the line) finds the next one.
 *
 * The reader is a byte-at-a-time state machine, so a frame may be cut anywhere between two
 * read()s; it holds at most one frame (21 bytes), whatever it is sent. */
#include "deconflict/beast.h"
#include "feeds/modes_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ESC            0x1a
#define BODY_MAX       (6 + 1 + DC_MODES_LONG_BYTES)
#define TICKS_MASK     ((UINT64_C(1) << 48) - 1)
#define TICKS_HALF     (UINT64_C(1) << 47)
#define TICKS_MLAT     UINT64_C(0xFF004D4C4154) /* "\xff\0MLAT": a computed, not received, frame */
#define EXPIRE_EVERY_S 10.0
#define READ_CHUNK     16384

typedef enum { SEEK, TYPE, BODY, BODY_ESC } fstate_t;

struct dc_beast_stream {
    dc_beast_config_t cfg;
    bool live;
    dc_modes_decoder_t *dec;
    /* the frame being read */
    fstate_t state;
    uint8_t type;
    size_t need, have;
    uint8_t body[BODY_MAX];
    bool garbage; /* bytes skipped since the last frame */
    /* the capture's clock: its anchor, and the counter's advance from it (an integer, so a long
     * capture's times do not gather rounding) */
    bool anchored;
    double anchor_s;
    uint64_t elapsed_ticks, last_ticks;
    double last_s, next_expire_s;
    dc_beast_stats_t st;
};

dc_beast_stream_t *dc_beast_stream_new(const dc_beast_config_t *cfg)
{
    dc_beast_config_t c = cfg ? *cfg : (dc_beast_config_t){.t0_s = NAN};
    bool live = isnan(c.t0_s);
    if (!live && !(fabs(c.t0_s) < 1e11)) return NULL; /* a year within a few thousand */
    dc_beast_stream_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->dec = dc_modes_decoder_new(&c.modes);
    if (!s->dec) {
        free(s);
        return NULL;
    }
    s->cfg = c;
    s->live = live;
    s->last_s = s->st.first_s = s->st.latest_s = NAN;
    return s;
}

void dc_beast_stream_free(dc_beast_stream_t *s)
{
    if (!s) return;
    dc_modes_decoder_free(s->dec);
    free(s);
}

void dc_beast_stream_reset(dc_beast_stream_t *s)
{
    s->state = SEEK;
    s->have = 0;
    s->garbage = false;
}

bool dc_beast_looks_like(const uint8_t *buf, size_t len)
{
    return len >= 2 && buf[0] == ESC && buf[1] >= '1' && buf[1] <= '3';
}

void dc_beast_stream_stats(const dc_beast_stream_t *s, dc_beast_stats_t *stats)
{
    *stats = s->st;
    dc_modes_decoder_stats(s->dec, &stats->modes);
}

/* The time of a frame. Live: when it was read, never before the last frame's. A capture: t0 and
 * the counter's advance since the first frame. A counter that steps back a little (frames of
 * two receivers merged, as in the ulss7 capture) gives the latest time so far; one that steps
 * back further than DC_BEAST_CLOCK_BACK_S, or forward further than DC_BEAST_CLOCK_JUMP_S, broke:
 * the clock goes on from the latest time, adding nothing (so two receivers merged far apart
 * cannot run the clock away). The 48-bit counter wraps after 271 days: differences are taken
 * modulo 2^48. Only frames whose parity checks reach here (frame_done). */
static double frame_time(dc_beast_stream_t *s, uint64_t ticks, double now_s)
{
    double t;
    if (s->live) {
        t = isnan(s->last_s) || now_s > s->last_s ? now_s : s->last_s;
    } else if (ticks == 0 || ticks == TICKS_MLAT) {
        t = isnan(s->last_s) ? s->cfg.t0_s : s->last_s; /* no counter: as the frame before */
    } else if (!s->anchored) {
        s->anchored = true;
        s->anchor_s = s->cfg.t0_s;
        s->elapsed_ticks = 0, s->last_ticks = ticks;
        t = s->anchor_s;
    } else {
        uint64_t d = (ticks - s->last_ticks) & TICKS_MASK;
        if (d < TICKS_HALF && (double)d <= DC_BEAST_CLOCK_JUMP_S * DC_BEAST_TICKS_HZ) {
            s->elapsed_ticks += d, s->last_ticks = ticks;
        } else if (d < TICKS_HALF) {
            s->anchor_s += (double)s->elapsed_ticks / DC_BEAST_TICKS_HZ;
            s->elapsed_ticks = 0, s->last_ticks = ticks;
            s->st.clock_resets++;
        } else if ((double)(TICKS_MASK + 1 - d) > DC_BEAST_CLOCK_BACK_S * DC_BEAST_TICKS_HZ) {
            s->anchor_s += (double)s->elapsed_ticks / DC_BEAST_TICKS_HZ;
            s->elapsed_ticks = 0, s->last_ticks = ticks;
            s->st.clock_resets++;
        }
        t = s->anchor_s + (double)s->elapsed_ticks / DC_BEAST_TICKS_HZ;
    }
    if (isnan(s->st.first_s)) s->st.first_s = t;
    s->last_s = s->st.latest_s = t;
    return t;
}

static void frame_done(dc_beast_stream_t *s, double now_s,
                       void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    s->st.frames++;
    /* Only an ADS-B frame whose parity checks moves a capture's clock: the counter of a Mode
     * A/C or short frame, or of a corrupted one, cannot be trusted, and one wrong counter would
     * shift every time after it. The others take the latest time (t0 before the first). */
    uint64_t ticks = 0;
    for (int i = 0; i < 6; i++) ticks = ticks << 8 | s->body[i];
    const uint8_t *msg = s->body + 7;
    bool checked = s->type == '3' && ((msg[0] >> 3) == 17 || (msg[0] >> 3) == 18) &&
                   dc_modes_crc(msg, DC_MODES_LONG_BYTES) == 0;
    double t = s->live || checked ? frame_time(s, ticks, now_s)
               : isnan(s->last_s) ? s->cfg.t0_s
                                  : s->last_s;
    if (s->type == '1') {
        s->st.modeac++; /* Mode A/C: no address to merge it under */
        return;
    }
    if (s->type == '2') {
        s->st.short_frames++; /* DF0/4/5/11: altitude and identity replies, not decoded */
        return;
    }
    s->st.long_frames++;
    if (t >= s->next_expire_s) {
        dc_modes_decoder_expire(s->dec, t);
        s->next_expire_s = t + EXPIRE_EVERY_S;
    }
    dc_sbs_msg_t m;
    dc_err_t rc = dc_modes_decode_parity(s->dec, msg, DC_MODES_LONG_BYTES, t, &m, checked);
    if (rc == DC_OK)
        fn(&m, ctx);
    else if (rc == DC_ERR_INVALID)
        s->st.bad++;
}

/* A frame refused by its framing: counted among the frames read, as bad. */
static void frame_bad(dc_beast_stream_t *s)
{
    s->st.frames++;
    s->st.bad++;
    s->st.framing_bad++;
}

/* The byte after a frame-starting 0x1a. */
static void start_frame(dc_beast_stream_t *s, uint8_t b)
{
    if (s->garbage) frame_bad(s); /* what was skipped to get here: one bad frame */
    s->garbage = false;
    static const size_t len[] = {2, DC_MODES_SHORT_BYTES, DC_MODES_LONG_BYTES};
    if (b >= '1' && b <= '3') {
        s->type = b;
        s->need = 7 + len[b - '1'];
        s->have = 0;
        s->state = BODY;
    } else {
        frame_bad(s); /* an unknown type: skip to the next 0x1a */
        s->state = SEEK;
    }
}

void dc_beast_stream_feed(dc_beast_stream_t *s, const uint8_t *buf, size_t len, double now_s,
                          void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        switch (s->state) {
        case SEEK:
            if (b == ESC) {
                s->state = TYPE;
            } else {
                s->garbage = true;
                s->st.garbage_bytes++;
            }
            break;
        case TYPE:
            if (b == ESC) {
                /* 0x1a 0x1a: an escaped byte of a frame joined mid-way, not a start. */
                s->garbage = true;
                s->st.garbage_bytes += 2;
                s->state = SEEK;
            } else {
                start_frame(s, b);
            }
            break;
        case BODY:
            if (b == ESC) {
                s->state = BODY_ESC;
                break;
            }
            s->body[s->have++] = b;
            if (s->have == s->need) {
                s->state = SEEK;
                frame_done(s, now_s, fn, ctx);
            }
            break;
        case BODY_ESC:
            if (b == ESC) {
                s->body[s->have++] = ESC;
                s->state = BODY;
                if (s->have == s->need) {
                    s->state = SEEK;
                    frame_done(s, now_s, fn, ctx);
                }
            } else {
                /* A lone 0x1a: the next frame began before this one ended. */
                frame_bad(s);
                start_frame(s, b);
            }
            break;
        }
    }
}

dc_err_t dc_beast_stream_read(dc_beast_stream_t *s, int fd, double now_s,
                              void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    uint8_t buf[READ_CHUNK];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got <= 0) return DC_ERR_IO;
    dc_beast_stream_feed(s, buf, (size_t)got, now_s, fn, ctx);
    return DC_OK;
}
