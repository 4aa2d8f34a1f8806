/* ASTERIX decoding: data blocks into records (include/deconflict/asterix.h). A record is walked
 * twice: once to find where each item is (lengths from the UAP tables of asterix_uap.c), then
 * once per category to read the items this library uses. Scales and bit positions are those of
 * the EUROCONTROL specifications named in the header; every value read is range-checked. */
#include "deconflict/asterix.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feeds/asterix_uap.h"

#define FRN_MAX    56 /* 8 FSPEC octets: more than any UAP here defines */
#define M_PER_NM   1852.0
#define KT_PER_MPS (3600.0 / 1852.0)

static unsigned u16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}
static uint32_t u24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | u24(p + 1);
}
/* The low bits of v as a two's complement number. */
static int32_t sext(uint32_t v, int bits)
{
    uint32_t m = 1u << (bits - 1);
    v &= (bits == 32) ? 0xffffffffu : ((1u << bits) - 1);
    return (int32_t)((v ^ m) - m);
}

/* Eight 6-bit ICAO characters (Annex 10: A-Z, space, 0-9) from 6 octets; false when a code is
 * not one of those. Trailing spaces are dropped. */
static bool icao_chars(const uint8_t *p, char out[9])
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) v = v << 8 | p[i];
    for (int i = 0; i < 8; i++) {
        unsigned c = (unsigned)(v >> (42 - 6 * i)) & 63;
        if (c >= 1 && c <= 26)
            out[i] = (char)('A' + c - 1);
        else if (c == 32)
            out[i] = ' ';
        else if (c >= 48 && c <= 57)
            out[i] = (char)c;
        else
            return false;
    }
    out[8] = 0;
    for (int i = 7; i >= 0 && out[i] == ' '; i--) out[i] = 0;
    return true;
}

/* Up to 7 ASCII characters (I004/170 AI); false for anything but A-Z, 0-9 and space. */
static bool ascii_chars(const uint8_t *p, size_t n, char out[9])
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c == 0) c = ' ';
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ')) return false;
        out[i] = c;
    }
    out[n] = 0;
    for (size_t i = n; i-- > 0 && out[i] == ' ';) out[i] = 0;
    return true;
}

/* Where each present item of a record starts, by FRN - 1. */
typedef struct items {
    const ax_uap_t *uap;
    const uint8_t *at[FRN_MAX];
} items_t;

static const uint8_t *item(const items_t *it, int frn)
{
    return it->at[frn - 1];
}

typedef struct errbuf {
    char *msg;
    size_t len;
} errbuf_t;

static dc_err_t fail(errbuf_t *e, const char *fmt, const char *what, size_t at)
{
    if (e->msg && e->len) snprintf(e->msg, e->len, fmt, what, at);
    return DC_ERR_INVALID;
}

/* Walks one record's FSPEC and items from p (avail octets); *rec_len its length. */
static dc_err_t walk_record(const ax_uap_t *uap, const uint8_t *p, size_t avail, size_t off,
                            items_t *it, size_t *rec_len, errbuf_t *e)
{
    memset(it->at, 0, sizeof(it->at));
    it->uap = uap;
    size_t fspec = 0, max = (uap->n_items + 6) / 7;
    do {
        if (fspec == avail)
            return fail(e, "%s: the FSPEC at octet %zu runs past the block", uap->name, off);
        if (fspec == max)
            return fail(e, "%s: the FSPEC at octet %zu is longer than the UAP", uap->name, off);
    } while (p[fspec++] & 1);
    size_t n = fspec;
    for (size_t i = 0; i < fspec * 7; i++) {
        if (!(p[i / 7] & (0x80 >> (i % 7)))) continue;
        if (i >= uap->n_items || uap->items[i].kind == AX_SPARE)
            return fail(e, "%s: a spare field reference (octet %zu) is set", uap->name, off);
        size_t l = dc_ax_item_len(&uap->items[i], p + n, avail - n);
        if (!l)
            return fail(e, "item I%s at octet %zu is malformed or runs past the block", uap->ids[i],
                        off + n);
        it->at[i] = p + n;
        n += l;
    }
    if (n == fspec) return fail(e, "%s: the record at octet %zu has no item", uap->name, off);
    *rec_len = n;
    return DC_OK;
}

static void set_callsign(dc_asterix_record_t *r, const uint8_t *p6)
{
    if (icao_chars(p6, r->callsign) && r->callsign[0])
        r->has |= DC_ASTERIX_CALLSIGN;
    else
        r->callsign[0] = 0;
}

static void set_tod(dc_asterix_record_t *r, const uint8_t *p)
{
    double t = u24(p) / 128.0;
    if (t < 86400) r->tod_s = t, r->has |= DC_ASTERIX_TOD;
}

static void set_pos(dc_asterix_record_t *r, double lat, double lon)
{
    if (fabs(lat) <= 90 && fabs(lon) <= 180)
        r->lat_deg = lat, r->lon_deg = lon, r->has |= DC_ASTERIX_POS;
}

static void set_fl(dc_asterix_record_t *r, int32_t quarter_fl)
{
    double fl = quarter_fl / 4.0;
    if (fl >= -15 && fl <= 1500) r->fl = fl, r->has |= DC_ASTERIX_FL;
}

static void set_vel(dc_asterix_record_t *r, double gs_kt, double trk_deg)
{
    if (gs_kt < 0 || gs_kt > 2000) return;
    if (trk_deg >= 360) trk_deg -= 360;
    if (trk_deg < 0) trk_deg += 360;
    r->gs_kt = gs_kt, r->trk_deg = trk_deg, r->has |= DC_ASTERIX_VEL;
}

static void decode_021(const items_t *it, dc_asterix_cat021_edition_t ed, dc_asterix_record_t *r)
{
    const uint8_t *p;
    bool v2 = ed == DC_ASTERIX_CAT021_V2;
    /* FRNs differ between the 0.2x and 2.x UAPs. */
    int f010 = 1, f040 = 2, f080 = v2 ? 11 : 5, f140 = v2 ? 16 : 6, f090 = v2 ? 17 : 7,
        f070 = v2 ? 19 : 27, f145 = v2 ? 21 : 10, f155 = v2 ? 24 : 14, f157 = v2 ? 25 : 15,
        f160 = v2 ? 26 : 16, f170 = v2 ? 29 : 18;
    if ((p = item(it, f010))) r->sac = p[0], r->sic = p[1];
    if ((p = item(it, f040))) {
        unsigned b = v2 ? (p[0] & 1 ? p[1] : 0) : p[0];
        /* 2.x: second octet DCR GBS SIM TST; 0.2x: first octet DCR GBS SIM TST RAB. */
        if (b & 0x40) r->flags |= DC_ASTERIX_GROUND;
        if (b & 0x20) r->flags |= DC_ASTERIX_SIMULATED;
        if (b & 0x10) r->flags |= DC_ASTERIX_TEST;
        if (p[0] & (v2 ? 0x02 : 0x08)) r->flags |= DC_ASTERIX_TEST; /* RAB: a field monitor */
        /* 2.x: CL "report suspect" (second octet); IPC, NOGO, CPR validation or range check
         * failed (third): the station doubts the position. */
        if (v2 && p[0] & 1 &&
            (((p[1] >> 1) & 3) == 1 || (p[1] & 1 && p[2] & (0x20 | 0x10 | 0x08 | 0x02))))
            r->flags |= DC_ASTERIX_SUSPECT;
    }
    if (v2) {
        if ((p = item(it, 3))) r->track_number = (int)(u16(p) & 0xfff), r->has |= DC_ASTERIX_TRACK;
        /* The time tshark shows, and the most precise: reception of the position first. */
        if ((p = item(it, 12)) || (p = item(it, 5)) || (p = item(it, 28))) set_tod(r, p);
        if ((p = item(it, 7)))
            set_pos(r, sext(u32(p), 32) * (180.0 / (1u << 30)),
                    sext(u32(p + 4), 32) * (180.0 / (1u << 30)));
        else if ((p = item(it, 6)))
            set_pos(r, sext(u24(p), 24) * (180.0 / (1 << 23)),
                    sext(u24(p + 3), 24) * (180.0 / (1 << 23)));
    } else {
        if ((p = item(it, 3))) set_tod(r, p);
        if ((p = item(it, 4))) {
            if (ed == DC_ASTERIX_CAT021_V026)
                set_pos(r, sext(u32(p), 32) * (180.0 / (1 << 25)),
                        sext(u32(p + 4), 32) * (180.0 / (1 << 25)));
            else
                set_pos(r, sext(u24(p), 24) * (180.0 / (1 << 23)),
                        sext(u24(p + 3), 24) * (180.0 / (1 << 23)));
        }
    }
    if ((p = item(it, f080))) r->addr = u24(p), r->has |= DC_ASTERIX_ADDR;
    if ((p = item(it, f140))) r->geo_alt_ft = sext(u16(p), 16) * 6.25, r->has |= DC_ASTERIX_GEO_ALT;
    if ((p = item(it, f090))) {
        r->nic = v2 ? (p[0] >> 1) & 15 : p[1] & 15; /* NUCp/NIC; 0.2x: the figure of merit's PA */
        r->has |= DC_ASTERIX_QUALITY;
    }
    if ((p = item(it, f070))) r->mode3a = (int)(u16(p) & 0xfff), r->has |= DC_ASTERIX_MODE3A;
    if ((p = item(it, f145))) set_fl(r, sext(u16(p), 16));
    /* A vertical rate flagged out of range (RE, 2.x) is left out rather than clipped. */
    if ((p = item(it, f155)) && !(v2 && (p[0] & 0x80)))
        r->vs_fpm = sext(u16(p), v2 ? 15 : 16) * 6.25, r->has |= DC_ASTERIX_VS;
    else if ((p = item(it, f157)) && !(v2 && (p[0] & 0x80)))
        r->vs_fpm = sext(u16(p), v2 ? 15 : 16) * 6.25, r->has |= DC_ASTERIX_VS;
    if ((p = item(it, f160)) && !(v2 && (p[0] & 0x80))) {
        unsigned gs = v2 ? u16(p) & 0x7fff : u16(p);
        set_vel(r, gs * 3600.0 / (1 << 14), u16(p + 2) * (360.0 / 65536));
    }
    if ((p = item(it, f170))) set_callsign(r, p);
    if (r->has & DC_ASTERIX_VS && fabs(r->vs_fpm) > 60000) r->has &= ~(unsigned)DC_ASTERIX_VS;
}

static void decode_062(const items_t *it, dc_asterix_record_t *r)
{
    const uint8_t *p, *s;
    if ((p = item(it, 1))) r->sac = p[0], r->sic = p[1];
    if ((p = item(it, 4))) set_tod(r, p);
    if ((p = item(it, 5)))
        set_pos(r, sext(u32(p), 32) * (180.0 / (1 << 25)),
                sext(u32(p + 4), 32) * (180.0 / (1 << 25)));
    if ((p = item(it, 7))) {
        double vx = sext(u16(p), 16) * 0.25, vy = sext(u16(p + 2), 16) * 0.25; /* m/s east, north */
        double trk = atan2(vx, vy) * (180 / M_PI);
        set_vel(r, hypot(vx, vy) * KT_PER_MPS, trk < 0 ? trk + 360 : trk);
    }
    if ((p = item(it, 9))) r->mode3a = (int)(u16(p) & 0xfff), r->has |= DC_ASTERIX_MODE3A;
    if ((p = item(it, 10))) set_callsign(r, p + 1);
    if ((p = item(it, 11))) {
        const ax_format_t *f = &it->uap->items[10];
        if ((s = dc_ax_subfield(f, p, 0))) r->addr = u24(s), r->has |= DC_ASTERIX_ADDR;
        /* The downlinked identification stands over the flight plan's (I062/245). */
        if ((s = dc_ax_subfield(f, p, 1))) set_callsign(r, s);
    }
    if ((p = item(it, 12))) r->track_number = (int)u16(p), r->has |= DC_ASTERIX_TRACK;
    if ((p = item(it, 13))) {
        /* Octets: MON SPI MRH SRC CNF | SIM TSE TSB FPC AFF STP KOS | AMA MD4 ME MI MD5 | CST ...
         */
        if (p[0] & 0x02) r->flags |= DC_ASTERIX_TENTATIVE;
        if (p[0] & 1) {
            if (p[1] & 0x80) r->flags |= DC_ASTERIX_SIMULATED;
            if (p[1] & 0x40) r->flags |= DC_ASTERIX_ENDED;
            if (p[1] & 1 && p[2] & 1 && (p[3] & 0x80)) r->flags |= DC_ASTERIX_COASTING;
        }
    }
    if ((p = item(it, 14)) && (s = dc_ax_subfield(&it->uap->items[13], p, 0)))
        r->age_s = s[0] * 0.25, r->has |= DC_ASTERIX_AGE;
    if ((p = item(it, 17)))
        set_fl(r, sext(u16(p), 16));
    else if ((p = item(it, 19)))
        set_fl(r, sext(u16(p), 15)); /* QNH bit, then the level */
    if ((p = item(it, 18))) r->geo_alt_ft = sext(u16(p), 16) * 6.25, r->has |= DC_ASTERIX_GEO_ALT;
    if ((p = item(it, 20))) {
        double vs = sext(u16(p), 16) * 6.25;
        if (fabs(vs) <= 60000) r->vs_fpm = vs, r->has |= DC_ASTERIX_VS;
    }
}

/* The position of a CAT048 plot: its slant range and azimuth from the radar, its flight level
 * taken as its height (the radar does not measure one), on a sphere of the Earth's radius of
 * curvature there (4/3 refraction is not applied: over the 250 NM of a radar the error this
 * leaves is a few hundred metres at most, well inside a radar's own). */
static void plot_position(const dc_asterix_radar_t *rad, dc_asterix_record_t *r)
{
    const double re_m = 6371008.8;
    double rho_m = r->rho_nm * M_PER_NM;
    double h_m = (r->has & DC_ASTERIX_FL ? r->fl * 100 : rad->alt_ft) * 0.3048,
           hr_m = rad->alt_ft * 0.3048;
    /* The angle at the Earth's centre between radar and target, from the triangle
     * centre-radar-target with sides re+hr, re+h and rho. */
    double a = re_m + hr_m, b = re_m + h_m;
    double c = (a * a + b * b - rho_m * rho_m) / (2 * a * b);
    if (c > 1) c = 1;
    if (c < -1) c = -1;
    double ang = acos(c), az = r->theta_deg * (M_PI / 180);
    double la1 = rad->lat_deg * (M_PI / 180), lo1 = rad->lon_deg * (M_PI / 180);
    double la2 = asin(sin(la1) * cos(ang) + cos(la1) * sin(ang) * cos(az));
    double lo2 = lo1 + atan2(sin(az) * sin(ang) * cos(la1), cos(ang) - sin(la1) * sin(la2));
    double lon = lo2 * (180 / M_PI);
    if (lon > 180) lon -= 360;
    if (lon < -180) lon += 360;
    set_pos(r, la2 * (180 / M_PI), lon);
}

static void decode_048(const items_t *it, const dc_asterix_config_t *cfg, dc_asterix_record_t *r)
{
    const uint8_t *p;
    if ((p = item(it, 1))) r->sac = p[0], r->sic = p[1];
    if ((p = item(it, 2))) set_tod(r, p);
    if ((p = item(it, 3))) {
        if (p[0] & 0x10) r->flags |= DC_ASTERIX_SIMULATED;
        if (p[0] & 0x02) r->flags |= DC_ASTERIX_TEST; /* RAB: a field monitor */
        if (p[0] & 1 && p[1] & 0x80) r->flags |= DC_ASTERIX_TEST;
    }
    if ((p = item(it, 4))) {
        r->rho_nm = u16(p) / 256.0, r->theta_deg = u16(p + 2) * (360.0 / 65536);
        r->has |= DC_ASTERIX_POLAR;
    }
    if ((p = item(it, 5))) r->mode3a = (int)(u16(p) & 0xfff), r->has |= DC_ASTERIX_MODE3A;
    /* Flight level: V (code not validated) and G (garbled) make it unusable. */
    if ((p = item(it, 6)) && !(p[0] & 0xc0)) set_fl(r, sext(u16(p), 14));
    if ((p = item(it, 8))) r->addr = u24(p), r->has |= DC_ASTERIX_ADDR;
    if ((p = item(it, 9))) set_callsign(r, p);
    if ((p = item(it, 11))) r->track_number = (int)(u16(p) & 0xfff), r->has |= DC_ASTERIX_TRACK;
    if ((p = item(it, 13))) set_vel(r, u16(p) * 3600.0 / (1 << 14), u16(p + 2) * (360.0 / 65536));
    if ((p = item(it, 14))) {
        if (p[0] & 0x80) r->flags |= DC_ASTERIX_TENTATIVE;
        if (p[0] & 1 && p[1] & 0x80) r->flags |= DC_ASTERIX_ENDED;
    }
    if (r->has & DC_ASTERIX_POLAR && cfg)
        for (size_t i = 0; i < cfg->n_radars; i++)
            if (cfg->radars[i].sac == r->sac && cfg->radars[i].sic == r->sic) {
                plot_position(&cfg->radars[i], r);
                break;
            }
}

/* I004/170 or /171: an aircraft's identification and position. */
static void decode_004_aircraft(const ax_format_t *f, const uint8_t *p, char cs[9], double *lat,
                                double *lon, double *fl, unsigned *has)
{
    const uint8_t *s;
    if ((s = dc_ax_subfield(f, p, 0)) && ascii_chars(s, 7, cs) && cs[0])
        *has |= DC_ASTERIX_CALLSIGN;
    else
        cs[0] = 0;
    if ((s = dc_ax_subfield(f, p, 2))) {
        double la = sext(u32(s), 32) * (180.0 / (1 << 25)),
               lo = sext(u32(s + 4), 32) * (180.0 / (1 << 25));
        if (fabs(la) <= 90 && fabs(lo) <= 180) {
            *lat = la, *lon = lo, *has |= DC_ASTERIX_POS;
            *fl = sext(u16(s + 8), 16) * 0.25; /* 25 ft */
            *has |= DC_ASTERIX_FL;
        }
    }
}

static void decode_004(const items_t *it, dc_asterix_record_t *r)
{
    const uint8_t *p, *s;
    if ((p = item(it, 1))) r->sac = p[0], r->sic = p[1];
    if ((p = item(it, 2))) r->msg_type = p[0];
    if ((p = item(it, 4))) set_tod(r, p);
    if ((p = item(it, 5))) r->alert_id = (int)u16(p), r->has |= DC_ASTERIX_ALERT;
    if ((p = item(it, 6))) r->alert_status = (p[0] >> 1) & 7;
    if ((p = item(it, 8))) r->track_number = (int)u16(p), r->has |= DC_ASTERIX_TRACK;
    if ((p = item(it, 16))) r->track_number_2 = (int)u16(p), r->has |= DC_ASTERIX_TRACK2;
    if ((p = item(it, 9)))
        decode_004_aircraft(&it->uap->items[8], p, r->callsign, &r->lat_deg, &r->lon_deg, &r->fl,
                            &r->has);
    if ((p = item(it, 17))) {
        unsigned h2 = 0;
        decode_004_aircraft(&it->uap->items[16], p, r->callsign_2, &r->lat2_deg, &r->lon2_deg,
                            &r->fl2, &h2);
        r->has_second = true;
    }
    if ((p = item(it, 11))) {
        const ax_format_t *f = &it->uap->items[10];
        if ((s = dc_ax_subfield(f, p, 0))) r->time_to_conflict_s = u24(s) / 128.0;
        if ((s = dc_ax_subfield(f, p, 1))) r->time_to_cpa_s = u24(s) / 128.0;
        if ((s = dc_ax_subfield(f, p, 3))) r->cpa_h_nm = u16(s) * 0.5 / M_PER_NM;
        if ((s = dc_ax_subfield(f, p, 5))) r->cpa_v_ft = u16(s) * 25.0;
        r->has |= DC_ASTERIX_TIMING;
    }
}

/* Validates (fn NULL) or decodes the records of one block. */
static dc_err_t records(const uint8_t *buf, size_t block_len, const ax_uap_t *uap,
                        const dc_asterix_config_t *cfg, dc_asterix_record_fn fn, void *ctx,
                        size_t *n_records, errbuf_t *e)
{
    items_t it;
    size_t off = 3;
    *n_records = 0;
    while (off < block_len) {
        size_t rl;
        dc_err_t err = walk_record(uap, buf + off, block_len - off, off, &it, &rl, e);
        if (err != DC_OK) return err;
        if (fn) {
            dc_asterix_record_t r;
            memset(&r, 0, sizeof(r));
            r.cat = uap->cat;
            switch (uap->cat) {
            case 21:
                decode_021(&it, cfg ? cfg->cat021_edition : DC_ASTERIX_CAT021_V2, &r);
                break;
            case 62:
                decode_062(&it, &r);
                break;
            case 48:
                decode_048(&it, cfg, &r);
                break;
            default:
                decode_004(&it, &r);
                break;
            }
            fn(&r, ctx);
        }
        off += rl;
        (*n_records)++;
    }
    return DC_OK;
}

static dc_err_t decode_block(const uint8_t *buf, size_t len, const dc_asterix_config_t *cfg,
                             dc_asterix_record_fn fn, void *ctx, size_t *used, size_t *n_records,
                             errbuf_t *e)
{
    *used = 0, *n_records = 0;
    if (len < 3) return DC_ERR_INCOMPLETE;
    size_t block_len = u16(buf + 1);
    if (block_len < 3) {
        if (e->msg && e->len) snprintf(e->msg, e->len, "data block LEN %zu: at least 3", block_len);
        return DC_ERR_INVALID;
    }
    if (block_len > len) return DC_ERR_INCOMPLETE;
    *used = block_len;
    const ax_uap_t *uap = dc_ax_uap(buf[0], cfg);
    if (!uap) return DC_ERR_NOT_FOUND;
    if (block_len == 3) {
        if (e->msg && e->len)
            snprintf(e->msg, e->len, "%s: a data block with no record", uap->name);
        return DC_ERR_INVALID;
    }
    /* Validate the whole block before passing on a record of it. */
    dc_err_t err = records(buf, block_len, uap, cfg, NULL, NULL, n_records, e);
    if (err != DC_OK || !fn) return err;
    return records(buf, block_len, uap, cfg, fn, ctx, n_records, e);
}

dc_err_t dc_asterix_decode_block(const uint8_t *buf, size_t len, const dc_asterix_config_t *cfg,
                                 dc_asterix_record_fn fn, void *ctx, size_t *used, char *msg,
                                 size_t msg_len)
{
    errbuf_t e = {msg, msg_len};
    size_t n;
    if (msg && msg_len) msg[0] = 0;
    return decode_block(buf, len, cfg, fn, ctx, used, &n, &e);
}

dc_err_t dc_asterix_decode_datagram(const uint8_t *buf, size_t len, const dc_asterix_config_t *cfg,
                                    dc_asterix_record_fn fn, void *ctx, dc_asterix_stats_t *stats,
                                    char *msg, size_t msg_len)
{
    errbuf_t e = {msg, msg_len};
    if (msg && msg_len) msg[0] = 0;
    size_t off = 0;
    while (off < len) {
        size_t used, n;
        dc_err_t err = decode_block(buf + off, len - off, cfg, fn, ctx, &used, &n, &e);
        if (err == DC_ERR_NOT_FOUND) {
            stats->other_blocks++;
        } else if (err == DC_OK) {
            stats->blocks++, stats->records += n;
        } else {
            if (err == DC_ERR_INCOMPLETE && msg && msg_len)
                snprintf(msg, msg_len,
                         "a data block at octet %zu runs past the datagram (%zu octets)", off, len);
            stats->bad_blocks++;
            return DC_ERR_INVALID;
        }
        off += used;
    }
    return DC_OK;
}

double dc_asterix_tod_to_unix(double tod_s, double ref_s)
{
    double day = floor(ref_s / 86400) * 86400, t = day + tod_s;
    if (t - ref_s > 43200)
        t -= 86400;
    else if (ref_s - t > 43200)
        t += 86400;
    return t;
}

/* Whether a record describes a real aircraft worth tracking. */
static bool trackable(const dc_asterix_record_t *rec)
{
    if (rec->cat == 4) return false;
    return !(rec->flags & (DC_ASTERIX_SIMULATED | DC_ASTERIX_TEST | DC_ASTERIX_ENDED));
}

static bool altitude(const dc_asterix_record_t *rec, double *alt_ft)
{
    if (rec->has & DC_ASTERIX_FL)
        *alt_ft = rec->fl * 100;
    else if (rec->has & DC_ASTERIX_GEO_ALT)
        *alt_ft = rec->geo_alt_ft;
    else
        return false;
    return *alt_ft >= -2000 && *alt_ft <= 100000; /* the SBS reader's and the engine's range */
}

size_t dc_asterix_to_messages(const dc_asterix_record_t *rec, double t_s, dc_sbs_msg_t out[3])
{
    if (!trackable(rec) || !(rec->has & DC_ASTERIX_ADDR)) return 0;
    size_t n = 0;
    dc_sbs_msg_t base;
    memset(&base, 0, sizeof(base));
    base.icao = rec->addr & 0xffffff, base.t_s = t_s;
    if (rec->has & DC_ASTERIX_CALLSIGN) {
        out[n] = base, out[n].type = 1, out[n].has = DC_SBS_CALLSIGN;
        memcpy(out[n].callsign, rec->callsign, sizeof(out[n].callsign));
        n++;
    }
    /* A coasting track's position and velocity are the source's extrapolation, not a
     * measurement: the service ages the track from its last measured report instead. */
    if (rec->flags & DC_ASTERIX_COASTING) return n;
    if (rec->has & DC_ASTERIX_VEL) {
        out[n] = base, out[n].type = 4, out[n].has = DC_SBS_GS | DC_SBS_TRK | DC_SBS_VS;
        out[n].gs_kt = rec->gs_kt, out[n].trk_deg = rec->trk_deg;
        out[n].vs_fpm = rec->has & DC_ASTERIX_VS ? rec->vs_fpm : 0;
        n++;
    }
    double alt;
    if (rec->has & DC_ASTERIX_POS && !(rec->flags & DC_ASTERIX_SUSPECT) && altitude(rec, &alt)) {
        out[n] = base, out[n].has = DC_SBS_POS | DC_SBS_ALT;
        out[n].type = rec->flags & DC_ASTERIX_GROUND ? 2 : 3;
        out[n].on_ground = rec->flags & DC_ASTERIX_GROUND;
        out[n].lat_deg = rec->lat_deg, out[n].lon_deg = rec->lon_deg, out[n].alt_ft = alt;
        n++;
    }
    return n;
}

bool dc_asterix_track_state(const dc_asterix_record_t *rec, double t_s, dc_track_state_t *st,
                            char callsign[9])
{
    unsigned need = DC_ASTERIX_TRACK | DC_ASTERIX_POS | DC_ASTERIX_VEL;
    double alt;
    if (!trackable(rec) || rec->has & DC_ASTERIX_ADDR || (rec->has & need) != need ||
        rec->flags & (DC_ASTERIX_GROUND | DC_ASTERIX_COASTING | DC_ASTERIX_SUSPECT) ||
        !altitude(rec, &alt))
        return false;
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "T%02X%02X-%04X", (unsigned)rec->sac & 0xff,
             (unsigned)rec->sic & 0xff, (unsigned)rec->track_number & 0xffff);
    st->t_s = t_s, st->lat_deg = rec->lat_deg, st->lon_deg = rec->lon_deg, st->alt_ft = alt;
    st->gs_kt = rec->gs_kt, st->trk_deg = rec->trk_deg;
    st->vs_fpm = rec->has & DC_ASTERIX_VS ? rec->vs_fpm : 0;
    memcpy(callsign, rec->callsign, 9);
    return true;
}

dc_err_t dc_asterix_parse_edition(const char *text, dc_asterix_cat021_edition_t *ed)
{
    if (strcmp(text, "2") == 0 ||
        (strncmp(text, "2.", 2) == 0 && text[2] >= '1' && text[2] <= '6' && !text[3]))
        *ed = DC_ASTERIX_CAT021_V2;
    else if (strcmp(text, "0.26") == 0)
        *ed = DC_ASTERIX_CAT021_V026;
    else if (strcmp(text, "0.23") == 0)
        *ed = DC_ASTERIX_CAT021_V023;
    else
        return DC_ERR_INVALID;
    return DC_OK;
}

dc_err_t dc_asterix_parse_radar(const char *text, dc_asterix_radar_t *radar)
{
    dc_asterix_radar_t r = {0};
    int used = 0;
    int got = sscanf(text, "%d/%d:%lf,%lf%n,%lf%n", &r.sac, &r.sic, &r.lat_deg, &r.lon_deg, &used,
                     &r.alt_ft, &used);
    if (got < 4 || text[used] || r.sac < 0 || r.sac > 255 || r.sic < 0 || r.sic > 255 ||
        !(fabs(r.lat_deg) <= 90) || !(fabs(r.lon_deg) <= 180) ||
        !(r.alt_ft >= -1500 && r.alt_ft <= 30000))
        return DC_ERR_INVALID;
    *radar = r;
    return DC_OK;
}
