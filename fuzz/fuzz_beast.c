/* libFuzzer driver: Beast input -- the framing, the Mode S decoder and the SBS tracker behind
 * them. The first byte picks how the rest is read:
 *
 *   bit 0-1 = 0  a capture (t0 given), fed in two pieces cut where the second byte says, so a
 *                frame spans two calls
 *           = 1  a live stream, fed in pieces of 1..16 bytes, the clock advancing
 *           = 2  extended squitters: each 12 bytes of input become a DF17/18 message -- a
 *                format byte, the address and ME, its parity computed so that the decoder's
 *                paths past the CRC are reached (random bytes almost never pass it) -- the
 *                12th byte advancing the time; when the format byte's bit 1 is set, one bit
 *                (picked by the 12th byte) is then flipped, for the single-bit repair and its
 *                guard
 *           = 3  as 0
 *   bit 2        a receiver position is configured (local and surface decoding from it)
 *
 * Every message must carry values in their ranges and every state must validate. The committed
 * corpus (fuzz/corpus/beast/) holds the start of the Toulouse capture and frames built from the
 * Atlanta messages (both MIT: xoolive/traffic, xoolive/rs1090; see ../shared/data/README.md),
 * escapes, garbage, unknown types and cut frames. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/beast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sink {
    dc_sbs_tracker_t *tr;
} sink_t;

static void check(const dc_sbs_msg_t *m, void *ctx)
{
    sink_t *s = ctx;
    if (m->type < 1 || m->type > 4 || m->icao > 0xFFFFFF || !isfinite(m->t_s)) abort();
    if ((m->has & DC_SBS_POS) &&
        !(fabs(m->lat_deg) <= 90 && m->lon_deg >= -180 && m->lon_deg < 180))
        abort();
    if ((m->has & DC_SBS_ALT) && !(m->alt_ft >= DC_ALT_FT_MIN && m->alt_ft <= DC_ALT_FT_MAX))
        abort();
    if ((m->has & DC_SBS_GS) && !(m->gs_kt >= 0 && m->gs_kt <= DC_GS_KT_MAX)) abort();
    if ((m->has & DC_SBS_TRK) && !(m->trk_deg >= 0 && m->trk_deg < 360)) abort();
    if ((m->has & DC_SBS_VS) && !(fabs(m->vs_fpm) <= DC_VS_FPM_MAX)) abort();
    if (m->has & DC_SBS_CALLSIGN) {
        if (!memchr(m->callsign, '\0', sizeof(m->callsign)) || !m->callsign[0]) abort();
        for (const char *c = m->callsign; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) abort();
    }
    dc_track_state_t st;
    char cs[9];
    if (dc_sbs_tracker_apply(s->tr, m, &st, cs) &&
        (dc_track_state_validate(&st, NULL) != DC_OK || memchr(cs, '\0', 9) == NULL))
        abort();
}

/* DF17 (or DF18 CF 0) from each 12 bytes: the format, the address and ME, the time step. */
static void squitters(dc_modes_decoder_t *dec, const uint8_t *p, size_t n, sink_t *s)
{
    double t = 1.7e9;
    for (; n >= 12; p += 12, n -= 12) {
        uint8_t msg[DC_MODES_LONG_BYTES] = {0};
        msg[0] = p[0] & 1 ? (18 << 3) : (17 << 3 | 5);
        memcpy(msg + 1, p + 1, 10);
        uint32_t crc = dc_modes_crc(msg, sizeof(msg));
        msg[11] = (uint8_t)(crc >> 16), msg[12] = (uint8_t)(crc >> 8), msg[13] = (uint8_t)crc;
        if (dc_modes_crc(msg, sizeof(msg)) != 0) abort();
        if (p[0] & 2) {
            int bit = p[11] % DC_MODES_LONG_BITS;
            msg[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            uint8_t fixed[DC_MODES_LONG_BYTES];
            memcpy(fixed, msg, sizeof(fixed));
            /* Repaired to the frame sent, bit for bit, unless the bit was in the DF field. */
            int got = dc_modes_crc_fix(fixed);
            if (got != (bit < 5 ? -1 : bit)) abort();
            if (got >= 0 && dc_modes_crc(fixed, sizeof(fixed)) != 0) abort();
            fixed[bit / 8] ^= (uint8_t)(got >= 0 ? 0x80 >> (bit % 8) : 0);
            if (memcmp(fixed, msg, sizeof(fixed)) != 0) abort(); /* that bit only, or nothing */
        }
        t += p[11] / 16.0; /* 0 to 16 s on */
        dc_sbs_msg_t m;
        if (dc_modes_decode(dec, msg, sizeof(msg), t, &m) == DC_OK) check(&m, s);
        if (p[0] == 0xFF) dc_modes_decoder_expire(dec, t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int mode = data[0] & 3;
    dc_beast_config_t cfg = {.t0_s = mode == 1 ? NAN : 1.5e9};
    if (data[0] & 4)
        cfg.modes = (dc_modes_config_t){
            .has_receiver = true, .rx_lat_deg = 43.6, .rx_lon_deg = 1.4, .receiver_range_nm = 150};
    sink_t s = {.tr = dc_sbs_tracker_new(10, 60)};
    dc_beast_stream_t *in = dc_beast_stream_new(&cfg);
    dc_modes_decoder_t *dec = dc_modes_decoder_new(&cfg.modes);
    if (!s.tr || !in || !dec) abort();
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    if (mode == 0 || mode == 3) {
        size_t cut = data[1] < n ? data[1] : n;
        dc_beast_stream_feed(in, p, cut, 0, check, &s);
        dc_beast_stream_feed(in, p + cut, n - cut, 0, check, &s);
    } else if (mode == 1) {
        double now = 1.7e9;
        for (size_t i = 0, k = 0; i < n; k++) {
            size_t piece = 1 + (data[1] + k) % 16;
            if (piece > n - i) piece = n - i;
            dc_beast_stream_feed(in, p + i, piece, now, check, &s);
            now += 0.05;
            i += piece;
            if (k % 64 == 63) dc_beast_stream_reset(in); /* a reconnection */
        }
    } else {
        squitters(dec, p, n, &s);
    }
    dc_beast_stats_t st;
    dc_beast_stream_stats(in, &st);
    if (st.bad > st.frames || st.modeac + st.short_frames + st.long_frames > st.frames) abort();
    if (dc_modes_decoder_count(dec) > DC_MODES_AIRCRAFT_MAX) abort();
    dc_modes_stats_t ms;
    dc_modes_decoder_stats(dec, &ms);
    if (ms.fix_unknown > ms.crc_bad || ms.crc_fixed + ms.crc_bad > ms.messages) abort();
    dc_sbs_tracker_expire(s.tr, 1e12);
    if (dc_sbs_tracker_count(s.tr) != 0) abort();
    dc_modes_decoder_free(dec);
    dc_beast_stream_free(in);
    dc_sbs_tracker_free(s.tr);
    return 0;
}
