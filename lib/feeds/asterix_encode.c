/* ASTERIX encoding: records into data blocks of CAT021 (2.6), CAT062 (1.19) and CAT004 (1.12)
 * (include/deconflict/asterix.h). Items are written in FRN order with the scales of the
 * specifications; asterix.c reads them back with the same scales, and tshark is the judge of
 * both (tests/integration/test_asterix.py). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "deconflict/asterix.h"
#include "feeds/asterix_uap.h"

#define RECORD_MAX 512 /* octets: more than any record written here */
#define M_PER_NM   1852.0

typedef struct writer {
    uint8_t fspec[8];
    int max_frn;
    uint8_t data[RECORD_MAX];
    size_t len;
} writer_t;

/* Items must be announced in increasing FRN order. */
static void announce(writer_t *w, int frn)
{
    int i = frn - 1;
    w->fspec[i / 7] |= (uint8_t)(0x80 >> (i % 7));
    w->max_frn = frn;
}
static void put8(writer_t *w, unsigned v)
{
    w->data[w->len++] = (uint8_t)v;
}
static void put16(writer_t *w, unsigned v)
{
    put8(w, v >> 8), put8(w, v);
}
static void put24(writer_t *w, uint32_t v)
{
    put8(w, v >> 16), put16(w, v & 0xffff);
}
static void put32(writer_t *w, uint32_t v)
{
    put16(w, v >> 16), put16(w, v & 0xffff);
}

/* lround of v / lsb as a two's complement value of bits bits. */
static uint32_t scaled(double v, double lsb, int bits)
{
    long q = lround(v / lsb);
    long lim = 1L << (bits - 1);
    if (q >= lim) q = lim - 1;
    if (q < -lim) q = -lim;
    return (uint32_t)q & (bits == 32 ? 0xffffffffu : ((1u << bits) - 1));
}

/* The 6-bit ICAO code of one callsign character, or -1. */
static int icao_code(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A' + 1;
    if (c == ' ' || c == 0) return 32;
    if (c >= '0' && c <= '9') return c;
    return -1;
}

static bool put_icao_chars(writer_t *w, const char *cs)
{
    uint64_t v = 0;
    bool ended = false;
    for (int i = 0; i < 8; i++) {
        char c = ended ? 0 : cs[i];
        if (!c) ended = true;
        int code = icao_code(c);
        if (code < 0) return false;
        v = v << 6 | (unsigned)code;
    }
    for (int i = 5; i >= 0; i--) put8(w, (unsigned)(v >> (8 * i)) & 0xff);
    return true;
}

static dc_err_t bad(char *msg, size_t len, const char *field, const char *limit)
{
    if (msg && len) snprintf(msg, len, "%s: %s", field, limit);
    return DC_ERR_INVALID;
}

/* The ranges every category shares. */
static dc_err_t check_common(const dc_asterix_record_t *r, char *msg, size_t len)
{
    if (r->sac < 0 || r->sac > 255 || r->sic < 0 || r->sic > 255)
        return bad(msg, len, "sac/sic", "0..255 each");
    if (!(r->has & DC_ASTERIX_TOD) || !(r->tod_s >= 0 && r->tod_s < 86400))
        return bad(msg, len, "tod_s", "a time of day in [0, 86400) s is required");
    if (r->has & DC_ASTERIX_POS && !(fabs(r->lat_deg) <= 90 && fabs(r->lon_deg) <= 180))
        return bad(msg, len, "lat/lon", "WGS84 degrees, |lat| <= 90, |lon| <= 180");
    if (r->has & DC_ASTERIX_FL && !(r->fl >= -15 && r->fl <= 1500))
        return bad(msg, len, "fl", "-15..1500");
    if (r->has & DC_ASTERIX_GEO_ALT && !(r->geo_alt_ft >= -1500 && r->geo_alt_ft <= 150000))
        return bad(msg, len, "geo_alt_ft", "-1500..150000 ft");
    if (r->has & DC_ASTERIX_VEL &&
        !(r->gs_kt >= 0 && r->gs_kt <= 2000 && r->trk_deg >= 0 && r->trk_deg <= 360))
        return bad(msg, len, "gs_kt/trk_deg", "0..2000 kt, 0..360 deg");
    if (r->has & DC_ASTERIX_VS && !(fabs(r->vs_fpm) <= 60000))
        return bad(msg, len, "vs_fpm", "-60000..60000 ft/min");
    if (r->has & DC_ASTERIX_ADDR && r->addr > 0xffffff) return bad(msg, len, "addr", "24 bits");
    if (r->has & DC_ASTERIX_MODE3A && (r->mode3a < 0 || r->mode3a > 07777))
        return bad(msg, len, "mode3a", "4 octal digits");
    return DC_OK;
}

static dc_err_t encode_021(const dc_asterix_record_t *r, writer_t *w, char *msg, size_t len)
{
    if (r->has & DC_ASTERIX_TRACK && (r->track_number < 0 || r->track_number > 4095))
        return bad(msg, len, "track_number", "0..4095 in CAT021");
    unsigned tod = (unsigned)lround(r->tod_s * 128) % (86400 * 128);
    announce(w, 1), put8(w, (unsigned)r->sac), put8(w, (unsigned)r->sic);
    /* I021/040: ATP 24-bit ICAO address, ARC 25 ft; a second octet carries GBS/SIM/TST. */
    unsigned trd2 = (r->flags & DC_ASTERIX_GROUND ? 0x40 : 0) |
                    (r->flags & DC_ASTERIX_SIMULATED ? 0x20 : 0) |
                    (r->flags & DC_ASTERIX_TEST ? 0x10 : 0);
    announce(w, 2), put8(w, trd2 ? 1 : 0);
    if (trd2) put8(w, trd2);
    if (r->has & DC_ASTERIX_TRACK) announce(w, 3), put16(w, (unsigned)r->track_number);
    announce(w, 5), put24(w, tod); /* time of applicability for position */
    if (r->has & DC_ASTERIX_POS)
        announce(w, 7), put32(w, scaled(r->lat_deg, 180.0 / (1u << 30), 32)),
            put32(w, scaled(r->lon_deg, 180.0 / (1u << 30), 32));
    if (r->has & DC_ASTERIX_ADDR) announce(w, 11), put24(w, r->addr);
    announce(w, 12), put24(w, tod); /* time of message reception for position */
    if (r->has & DC_ASTERIX_GEO_ALT) announce(w, 16), put16(w, scaled(r->geo_alt_ft, 6.25, 16));
    if (r->has & DC_ASTERIX_QUALITY) announce(w, 17), put8(w, (unsigned)(r->nic & 15) << 1);
    if (r->has & DC_ASTERIX_MODE3A) announce(w, 19), put16(w, (unsigned)r->mode3a);
    if (r->has & DC_ASTERIX_FL) announce(w, 21), put16(w, scaled(r->fl, 0.25, 16));
    if (r->has & DC_ASTERIX_VS) announce(w, 24), put16(w, scaled(r->vs_fpm, 6.25, 15));
    if (r->has & DC_ASTERIX_VEL) {
        double trk = r->trk_deg >= 360 ? r->trk_deg - 360 : r->trk_deg;
        announce(w, 26), put16(w, (unsigned)lround(r->gs_kt / 3600.0 * (1 << 14)) & 0x7fff);
        put16(w, (unsigned)lround(trk / 360.0 * 65536) & 0xffff);
    }
    if (r->has & DC_ASTERIX_CALLSIGN) {
        announce(w, 29);
        if (!put_icao_chars(w, r->callsign))
            return bad(msg, len, "callsign", "up to 8 of A-Z, 0-9, space");
    }
    return DC_OK;
}

static dc_err_t encode_062(const dc_asterix_record_t *r, writer_t *w, char *msg, size_t len)
{
    if (!(r->has & DC_ASTERIX_TRACK) || r->track_number < 0 || r->track_number > 65535)
        return bad(msg, len, "track_number", "a track number 0..65535 is required in CAT062");
    announce(w, 1), put8(w, (unsigned)r->sac), put8(w, (unsigned)r->sic);
    announce(w, 3), put8(w, 1); /* service identification */
    announce(w, 4), put24(w, (unsigned)lround(r->tod_s * 128) % (86400 * 128));
    if (r->has & DC_ASTERIX_POS)
        announce(w, 5), put32(w, scaled(r->lat_deg, 180.0 / (1 << 25), 32)),
            put32(w, scaled(r->lon_deg, 180.0 / (1 << 25), 32));
    if (r->has & DC_ASTERIX_VEL) {
        double a = r->trk_deg * (M_PI / 180), v = r->gs_kt * M_PER_NM / 3600;
        announce(w, 7), put16(w, scaled(v * sin(a), 0.25, 16)),
            put16(w, scaled(v * cos(a), 0.25, 16));
    }
    if (r->has & DC_ASTERIX_MODE3A) announce(w, 9), put16(w, (unsigned)r->mode3a);
    if (r->has & DC_ASTERIX_CALLSIGN) {
        announce(w, 10), put8(w, 0); /* STI 0: the callsign downlinked by the aircraft */
        if (!put_icao_chars(w, r->callsign))
            return bad(msg, len, "callsign", "up to 8 of A-Z, 0-9, space");
    }
    if (r->has & DC_ASTERIX_ADDR) announce(w, 11), put8(w, 0x80), put24(w, r->addr); /* 380 ADR */
    announce(w, 12), put16(w, (unsigned)r->track_number);
    /* I062/080: confirmed; a second octet when simulated or ended, a fourth when coasting. */
    unsigned o2 =
        (r->flags & DC_ASTERIX_SIMULATED ? 0x80 : 0) | (r->flags & DC_ASTERIX_ENDED ? 0x40 : 0);
    bool cst = r->flags & DC_ASTERIX_COASTING;
    announce(w, 13), put8(w, (r->flags & DC_ASTERIX_TENTATIVE ? 0x02 : 0) | (o2 || cst ? 1 : 0));
    if (o2 || cst) put8(w, o2 | (cst ? 1 : 0));
    if (cst) put8(w, 1), put8(w, 0x80);
    if (r->has & DC_ASTERIX_AGE)
        announce(w, 14), put8(w, 0x80), put8(w, (unsigned)fmin(255, lround(r->age_s * 4)));
    if (r->has & DC_ASTERIX_FL) announce(w, 17), put16(w, scaled(r->fl, 0.25, 16));
    if (r->has & DC_ASTERIX_GEO_ALT) announce(w, 18), put16(w, scaled(r->geo_alt_ft, 6.25, 16));
    if (r->has & DC_ASTERIX_VS) announce(w, 20), put16(w, scaled(r->vs_fpm, 6.25, 16));
    return DC_OK;
}

/* I004/170 and /171: callsign (7 ASCII characters) and position with altitude. */
static dc_err_t put_004_aircraft(writer_t *w, const char *cs, bool pos, double lat, double lon,
                                 double fl, char *msg, size_t len)
{
    size_t n = strlen(cs);
    if (n > 7) return bad(msg, len, "callsign", "at most 7 characters in CAT004");
    for (size_t i = 0; i < n; i++)
        if (icao_code(cs[i]) < 0) return bad(msg, len, "callsign", "A-Z, 0-9, space");
    put8(w, (n ? 0x80 : 0) | (pos ? 0x20 : 0));
    if (n)
        for (size_t i = 0; i < 7; i++) put8(w, i < n ? (unsigned char)cs[i] : ' ');
    if (pos)
        put32(w, scaled(lat, 180.0 / (1 << 25), 32)), put32(w, scaled(lon, 180.0 / (1 << 25), 32)),
            put16(w, scaled(fl * 100, 25, 16));
    return DC_OK;
}

static dc_err_t encode_004(const dc_asterix_record_t *r, writer_t *w, char *msg, size_t len)
{
    if (r->msg_type < 1 || r->msg_type > 255) return bad(msg, len, "msg_type", "1..255");
    bool alert = r->msg_type != DC_ASTERIX_CAT004_ALIVE;
    if (alert && (!(r->has & DC_ASTERIX_TRACK) || r->track_number < 0 || r->track_number > 65535))
        return bad(msg, len, "track_number", "an alert names its first track, 0..65535");
    if (r->has & DC_ASTERIX_TRACK2 && (r->track_number_2 < 0 || r->track_number_2 > 65535))
        return bad(msg, len, "track_number_2", "0..65535");
    if (r->alert_status < 0 || r->alert_status > 7) return bad(msg, len, "alert_status", "0..7");
    announce(w, 1), put8(w, (unsigned)r->sac), put8(w, (unsigned)r->sic);
    announce(w, 2), put8(w, (unsigned)r->msg_type);
    announce(w, 4), put24(w, (unsigned)lround(r->tod_s * 128) % (86400 * 128));
    if (!alert) return DC_OK;
    if (r->has & DC_ASTERIX_ALERT) {
        announce(w, 5), put16(w, (unsigned)r->alert_id & 0xffff);
        announce(w, 6), put8(w, (unsigned)r->alert_status << 1);
    }
    if (r->msg_type == DC_ASTERIX_CAT004_STCA) announce(w, 7), put8(w, 0x02); /* I004/060 STCA */
    announce(w, 8), put16(w, (unsigned)r->track_number);
    if (r->has & (DC_ASTERIX_CALLSIGN | DC_ASTERIX_POS)) {
        announce(w, 9);
        dc_err_t e =
            put_004_aircraft(w, r->has & DC_ASTERIX_CALLSIGN ? r->callsign : "",
                             r->has & DC_ASTERIX_POS, r->lat_deg, r->lon_deg, r->fl, msg, len);
        if (e != DC_OK) return e;
    }
    /* I004/120 conflict classification: the alert level as the class (CPC), critical (CS) from
     * the warning level up. */
    announce(w, 10), put8(w, 0x40),
        put8(w, (unsigned)(r->alert_status & 7) << 1 | (r->alert_status >= 2));
    if (r->has & DC_ASTERIX_TIMING) {
        /* A vertical separation at closest approach that is not known (NAN) is left out. */
        bool mvs = !isnan(r->cpa_v_ft);
        if (!(r->time_to_conflict_s >= 0 && r->time_to_conflict_s < 131072 &&
              r->time_to_cpa_s >= 0 && r->time_to_cpa_s < 131072 && r->cpa_h_nm >= 0 &&
              (!mvs || r->cpa_v_ft >= 0)))
            return bad(msg, len, "conflict timing", "times 0..131071 s, separations >= 0");
        announce(w, 11), put8(w, 0x80 | 0x40 | 0x10 | (mvs ? 0x04 : 0));
        put24(w, (uint32_t)lround(r->time_to_conflict_s * 128)),
            put24(w, (uint32_t)lround(r->time_to_cpa_s * 128));
        put16(w, (unsigned)fmin(65535, lround(r->cpa_h_nm * M_PER_NM * 2)));
        if (mvs) put16(w, (unsigned)fmin(65535, lround(r->cpa_v_ft / 25)));
    }
    if (r->has & DC_ASTERIX_TRACK2) announce(w, 16), put16(w, (unsigned)r->track_number_2);
    if (r->has_second) {
        announce(w, 17);
        dc_err_t e = put_004_aircraft(w, r->callsign_2,
                                      fabs(r->lat2_deg) <= 90 && (r->lat2_deg || r->lon2_deg),
                                      r->lat2_deg, r->lon2_deg, r->fl2, msg, len);
        if (e != DC_OK) return e;
    }
    return DC_OK;
}

void dc_asterix_block_start(dc_asterix_block_t *blk, int cat, size_t cap)
{
    blk->cat = cat;
    blk->cap = cap < 16 ? 16 : cap > DC_ASTERIX_BLOCK_MAX ? DC_ASTERIX_BLOCK_MAX : cap;
    blk->len = 3, blk->records = 0;
    blk->buf[0] = (uint8_t)cat, blk->buf[1] = 0, blk->buf[2] = 3;
}

dc_err_t dc_asterix_block_add(dc_asterix_block_t *blk, const dc_asterix_record_t *rec, char *msg,
                              size_t msg_len)
{
    writer_t w;
    memset(&w, 0, sizeof(w));
    if (msg && msg_len) msg[0] = 0;
    dc_err_t e = check_common(rec, msg, msg_len);
    if (e == DC_OK) {
        switch (blk->cat) {
        case 21:
            e = encode_021(rec, &w, msg, msg_len);
            break;
        case 62:
            e = encode_062(rec, &w, msg, msg_len);
            break;
        case 4:
            e = encode_004(rec, &w, msg, msg_len);
            break;
        default:
            e = bad(msg, msg_len, "category", "CAT004, CAT021 or CAT062 are encoded");
        }
    }
    if (e != DC_OK) return e;
    size_t fspec = (size_t)(w.max_frn + 6) / 7;
    for (size_t i = 0; i + 1 < fspec; i++) w.fspec[i] |= 1;
    if (blk->len + fspec + w.len > blk->cap) return DC_ERR_LIMIT;
    memcpy(blk->buf + blk->len, w.fspec, fspec);
    memcpy(blk->buf + blk->len + fspec, w.data, w.len);
    blk->len += fspec + w.len;
    blk->buf[1] = (uint8_t)(blk->len >> 8), blk->buf[2] = (uint8_t)blk->len;
    blk->records++;
    return DC_OK;
}
