/* SBS-1 BaseStation lines and the tracks they make: see include/deconflict/sbs.h.
 *
 * The parser is written for speed (a receiver's port 30003 carries thousands of lines a second
 * and a recorded day millions): one pass over the line, fields located by their commas, numbers
 * read by hand instead of strtod, the date turned into days without mktime. */
#include "deconflict/sbs.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/civil.h"
#include "common/hashmap.h"

#define SBS_FIELDS 22

/* A decimal number: optional sign, digits, optional fraction. Nothing else (no exponent, no
 * spaces): what dump1090 and readsb write. */
static bool parse_num(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return false;
    double v = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), digits++;
    if (i < n && s[i] == '.') {
        i++;
        double scale = 0.1;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            v += (s[i++] - '0') * scale, scale *= 0.1, digits++;
    }
    if (i != n || digits == 0 || digits > 15) return false;
    *out = neg ? -v : v;
    return true;
}

static bool parse_uint(const char *s, size_t n, size_t want, int *out)
{
    if (n != want) return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY/MM/DD" and "HH:MM:SS[.fff]" (dump1090 writes 3 decimals). */
static bool parse_time(const char *d, size_t dn, const char *t, size_t tn, double *out)
{
    int y, mo, dd, h, mi;
    if (dn != 10 || d[4] != '/' || d[7] != '/' || !parse_uint(d, 4, 4, &y) ||
        !parse_uint(d + 5, 2, 2, &mo) || !parse_uint(d + 8, 2, 2, &dd))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > mdays[mo - 1]) return false;
    if (mo == 2 && dd == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
    double sec;
    if (tn < 8 || t[2] != ':' || t[5] != ':' || !parse_uint(t, 2, 2, &h) ||
        !parse_uint(t + 3, 2, 2, &mi) || !parse_num(t + 6, tn - 6, &sec) || t[6] == '-' ||
        t[6] == '+')
        return false;
    if (h > 23 || mi > 59 || !(sec >= 0 && sec < 61)) return false;
    *out = (double)dc_days_from_civil(y, mo, dd) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
    return true;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

dc_err_t dc_sbs_parse_line(const char *line, size_t len, dc_sbs_msg_t *out)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (len == 0 || len > DC_SBS_LINE_MAX) return DC_ERR_INVALID;
    /* The fields, by their commas. */
    const char *f[SBS_FIELDS + 1];
    size_t fl[SBS_FIELDS + 1];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len && n <= SBS_FIELDS; i++) {
        if (i == len || line[i] == ',') {
            f[n] = line + start, fl[n] = i - start, n++;
            start = i + 1;
        }
    }
    if (n > SBS_FIELDS) return DC_ERR_INVALID;
    if (fl[0] != 3 || memcmp(f[0], "MSG", 3) != 0) {
        static const char *const other[] = {"SEL", "ID", "AIR", "STA", "CLK"};
        for (size_t k = 0; k < sizeof(other) / sizeof(other[0]); k++)
            if (fl[0] == strlen(other[k]) && memcmp(f[0], other[k], fl[0]) == 0)
                return DC_ERR_NOT_FOUND;
        return DC_ERR_INVALID;
    }
    /* dump1090 writes 22 fields; some writers drop the trailing empty ones. */
    if (n < 10) return DC_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (fl[1] != 1 || f[1][0] < '1' || f[1][0] > '8') return DC_ERR_INVALID;
    out->type = f[1][0] - '0';
    if (fl[4] != 6) return DC_ERR_INVALID;
    uint32_t icao = 0;
    for (size_t i = 0; i < 6; i++) {
        int v = hexval(f[4][i]);
        if (v < 0) return DC_ERR_INVALID;
        icao = icao << 4 | (uint32_t)v;
    }
    out->icao = icao;
    if (!parse_time(f[6], fl[6], f[7], fl[7], &out->t_s)) return DC_ERR_INVALID;
    for (size_t i = n; i <= SBS_FIELDS; i++) fl[i] = 0; /* missing trailing fields: empty */
    double v;
    if (fl[10]) {
        /* Callsign: up to 8 characters, padded with spaces; letters, digits, spaces. */
        size_t cn = fl[10];
        while (cn && f[10][cn - 1] == ' ') cn--;
        if (cn > 8) return DC_ERR_INVALID;
        for (size_t i = 0; i < cn; i++) {
            char c = f[10][i];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return DC_ERR_INVALID;
            out->callsign[i] = c;
        }
        if (cn) out->has |= DC_SBS_CALLSIGN;
    }
    if (fl[11]) {
        /* The ranges are the tactical engine's, so a merged state always validates. */
        if (!parse_num(f[11], fl[11], &v) || v < DC_ALT_FT_MIN || v > DC_ALT_FT_MAX)
            return DC_ERR_INVALID;
        out->alt_ft = v, out->has |= DC_SBS_ALT;
    }
    if (fl[12]) {
        if (!parse_num(f[12], fl[12], &v) || v < 0 || v > DC_GS_KT_MAX) return DC_ERR_INVALID;
        out->gs_kt = v, out->has |= DC_SBS_GS;
    }
    if (fl[13]) {
        if (!parse_num(f[13], fl[13], &v) || v < 0 || v > 360) return DC_ERR_INVALID;
        out->trk_deg = v >= 360 ? 0 : v, out->has |= DC_SBS_TRK;
    }
    if (fl[14] || fl[15]) {
        double lon;
        if (!parse_num(f[14], fl[14], &v) || !parse_num(f[15], fl[15], &lon) || v < -90 || v > 90 ||
            lon < -180 || lon > 180)
            return DC_ERR_INVALID;
        out->lat_deg = v, out->lon_deg = lon >= 180 ? -180 : lon, out->has |= DC_SBS_POS;
    }
    if (fl[16]) {
        if (!parse_num(f[16], fl[16], &v) || fabs(v) > DC_VS_FPM_MAX) return DC_ERR_INVALID;
        out->vs_fpm = v, out->has |= DC_SBS_VS;
    }
    if (fl[17]) {
        int sq;
        if (!parse_uint(f[17], fl[17], 4, &sq)) return DC_ERR_INVALID;
        out->squawk = sq, out->has |= DC_SBS_SQUAWK;
    }
    if (fl[21]) {
        /* 0 or -1 (dump1090) for true; other writers use 1. */
        if (!parse_num(f[21], fl[21], &v)) return DC_ERR_INVALID;
        out->on_ground = v != 0, out->has |= DC_SBS_GROUND;
    }
    return DC_OK;
}

/* ---- tracks ---- */

struct dc_sbs_tracker {
    double vel_fresh_s, timeout_s;
    dc_sbs_aircraft_t *ac;
    size_t n, cap;
    dc_u64map_t by_icao; /* icao -> index in ac */
    size_t hand;         /* the next to give up when full */
};

dc_sbs_tracker_t *dc_sbs_tracker_new(double vel_fresh_s, double timeout_s)
{
    dc_sbs_tracker_t *tr = calloc(1, sizeof(*tr));
    if (!tr) return NULL;
    tr->vel_fresh_s = vel_fresh_s > 0 ? vel_fresh_s : 10;
    tr->timeout_s = timeout_s > 0 ? timeout_s : 60;
    return tr;
}

void dc_sbs_tracker_free(dc_sbs_tracker_t *tr)
{
    if (!tr) return;
    free(tr->ac);
    dc_u64map_free(&tr->by_icao);
    free(tr);
}

bool dc_sbs_tracker_apply(dc_sbs_tracker_t *tr, const dc_sbs_msg_t *m, dc_track_state_t *st,
                          char callsign[9])
{
    uint32_t idx;
    if (!dc_u64map_get(&tr->by_icao, m->icao, &idx)) {
        if (tr->n == DC_SBS_TRACKER_MAX) { /* full: the entry at the hand gives way */
            idx = (uint32_t)(tr->hand++ % tr->n);
            dc_u64map_del(&tr->by_icao, tr->ac[idx].icao);
        } else {
            if (!dc_array_grow((void **)&tr->ac, &tr->cap, tr->n + 1, sizeof(*tr->ac)))
                return false;
            idx = (uint32_t)tr->n++;
        }
        if (!dc_u64map_put(&tr->by_icao, m->icao, idx)) {
            tr->ac[idx] = tr->ac[--tr->n]; /* the slot is not kept: the last entry fills it */
            if (idx < tr->n) dc_u64map_put(&tr->by_icao, tr->ac[idx].icao, idx);
            return false;
        }
        memset(&tr->ac[idx], 0, sizeof(tr->ac[idx]));
        tr->ac[idx].icao = m->icao;
    }
    dc_sbs_aircraft_t *a = &tr->ac[idx];
    a->messages++;
    if (m->t_s > a->last_t_s) a->last_t_s = m->t_s;
    if (m->has & DC_SBS_CALLSIGN) memcpy(a->callsign, m->callsign, sizeof(a->callsign));
    if (m->has & DC_SBS_SQUAWK) a->squawk = m->squawk;
    if (m->type == 2)
        a->on_ground = true; /* a surface position */
    else if (m->has & DC_SBS_GROUND)
        a->on_ground = m->on_ground;
    /* Altitude: ADS-B's (sent with the position, types 2 and 3) is preferred while it is
     * fresh; the altitude of surveillance replies (types 5 to 7) comes with an address that
     * the receiver recovered from the parity, which can be wrong, so it is used only when no
     * ADS-B altitude is fresh. dump1090 chooses the same way. */
    if (m->has & DC_SBS_ALT) {
        bool adsb = m->type == 2 || m->type == 3;
        bool adsb_fresh = a->adsb_alt && m->t_s - a->alt_t_s <= tr->vel_fresh_s;
        if ((adsb || !adsb_fresh) && m->t_s >= a->alt_t_s) {
            a->alt_ft = m->alt_ft, a->alt_t_s = m->t_s, a->has_alt = true;
            a->adsb_alt = adsb;
        }
    }
    if ((m->has & (DC_SBS_GS | DC_SBS_TRK)) == (DC_SBS_GS | DC_SBS_TRK) && m->t_s >= a->vel_t_s) {
        a->gs_kt = m->gs_kt, a->trk_deg = m->trk_deg, a->vel_t_s = m->t_s, a->has_vel = true;
        a->vs_fpm = m->has & DC_SBS_VS ? m->vs_fpm : 0;
    }
    if (!(m->has & DC_SBS_POS) || (a->has_pos && m->t_s < a->pos_t_s)) return false;
    a->lat_deg = m->lat_deg, a->lon_deg = m->lon_deg, a->pos_t_s = m->t_s, a->has_pos = true;
    /* A state needs all three, the velocity and the altitude fresh enough to extrapolate with,
     * and the aircraft airborne: taxiing aircraft are not separated by these minima. */
    if (!a->has_alt || !a->has_vel || a->on_ground || m->t_s - a->vel_t_s > tr->vel_fresh_s ||
        m->t_s - a->alt_t_s > tr->vel_fresh_s)
        return false;
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%06X", (unsigned)a->icao);
    st->t_s = m->t_s;
    st->lat_deg = a->lat_deg, st->lon_deg = a->lon_deg, st->alt_ft = a->alt_ft;
    st->gs_kt = a->gs_kt, st->trk_deg = a->trk_deg, st->vs_fpm = a->vs_fpm;
    memcpy(callsign, a->callsign, 9);
    callsign[8] = '\0';
    return true;
}

size_t dc_sbs_tracker_expire(dc_sbs_tracker_t *tr, double now_s)
{
    size_t dropped = 0;
    for (size_t i = tr->n; i-- > 0;) {
        if (now_s - tr->ac[i].last_t_s <= tr->timeout_s) continue;
        dc_u64map_del(&tr->by_icao, tr->ac[i].icao);
        if (i != tr->n - 1) {
            tr->ac[i] = tr->ac[tr->n - 1];
            dc_u64map_put(&tr->by_icao, tr->ac[i].icao, (uint32_t)i);
        }
        tr->n--;
        dropped++;
    }
    return dropped;
}

size_t dc_sbs_tracker_count(const dc_sbs_tracker_t *tr)
{
    return tr->n;
}

void dc_sbs_tracker_each(const dc_sbs_tracker_t *tr,
                         void (*fn)(const dc_sbs_aircraft_t *a, void *ctx), void *ctx)
{
    for (size_t i = 0; i < tr->n; i++) fn(&tr->ac[i], ctx);
}

/* ---- a live source ---- */

int dc_sbs_connect(const char *host, const char *port, double timeout_s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        errno = err == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        /* A blocking connect gives up after SO_SNDTIMEO (Linux). */
        struct timeval tv = {.tv_sec = (time_t)timeout_s,
                             .tv_usec = (suseconds_t)((timeout_s - floor(timeout_s)) * 1e6)};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
        }
    }
    freeaddrinfo(res);
    return fd;
}

void dc_sbs_stream_reset(dc_sbs_stream_t *s)
{
    s->have = 0;
    s->skipping = false;
}

dc_err_t dc_sbs_stream_read(dc_sbs_stream_t *s, int fd,
                            void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx)
{
    ssize_t got = read(fd, s->buf + s->have, sizeof(s->buf) - s->have);
    if (got <= 0) return DC_ERR_IO;
    s->have += (size_t)got;
    size_t start = 0;
    for (size_t i = 0; i < s->have; i++) {
        if (s->buf[i] != '\n') continue;
        if (!s->skipping) {
            dc_sbs_msg_t m;
            dc_err_t rc = dc_sbs_parse_line(s->buf + start, i - start, &m);
            s->lines++;
            s->bad += rc == DC_ERR_INVALID;
            if (rc == DC_OK) {
                if (m.t_s > s->latest_msg_s) s->latest_msg_s = m.t_s;
                fn(&m, ctx);
            }
        }
        s->skipping = false;
        start = i + 1;
    }
    memmove(s->buf, s->buf + start, s->have - start);
    s->have -= start;
    if (s->have >= DC_SBS_LINE_MAX) {
        /* A line past the cap: count it once, drop what there is of it. */
        if (!s->skipping) s->lines++, s->bad++;
        s->skipping = true;
        s->have = 0;
    }
    return DC_OK;
}
