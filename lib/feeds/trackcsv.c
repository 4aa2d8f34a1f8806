/* CSV readers for instantaneous states and normalized recorded traffic (see trackcsv.h). */
#include "deconflict/trackcsv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 9

static const char *const states_cols[] = {"id",    "lat",     "lon",   "alt_ft",
                                          "gs_kt", "trk_deg", "vs_fpm"};
static const char *const traffic_cols[] = {"t_unix", "icao24", "callsign", "lat",   "lon",
                                           "alt_ft", "gs_kt",  "trk_deg",  "vs_fpm"};
#define N_STATES  (sizeof(states_cols) / sizeof(states_cols[0]))
#define N_TRAFFIC (sizeof(traffic_cols) / sizeof(traffic_cols[0]))

static void say(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (!msg || msg_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

/* Copies line without its line end into buf and splits it at commas in place. Returns the
 * number of fields, or -1 if the line is too long or has more than max fields. */
static int split(const char *line, char *buf, char **fields, int max)
{
    size_t n = strcspn(line, "\r\n");
    if (n >= DC_TRACKCSV_LINE_MAX) return -1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    int count = 0;
    char *p = buf;
    for (;;) {
        if (count == max) return -1;
        fields[count++] = p;
        char *comma = strchr(p, ',');
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    return count;
}

dc_err_t dc_trackcsv_header(const char *line, dc_trackcsv_format_t *fmt, char *msg, size_t msg_len)
{
    char buf[DC_TRACKCSV_LINE_MAX];
    char *f[MAX_FIELDS];
    int n = split(line, buf, f, MAX_FIELDS);
    const char *const *cols[] = {states_cols, traffic_cols};
    const size_t ncols[] = {N_STATES, N_TRAFFIC};
    const dc_trackcsv_format_t fmts[] = {DC_TRACKCSV_STATES, DC_TRACKCSV_TRAFFIC};
    for (int k = 0; k < 2 && n > 0; k++) {
        if ((size_t)n != ncols[k]) continue;
        size_t i = 0;
        while (i < ncols[k] && strcmp(f[i], cols[k][i]) == 0) i++;
        if (i == ncols[k]) {
            *fmt = fmts[k];
            return DC_OK;
        }
    }
    say(msg, msg_len,
        "unrecognised header: expected 'id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm' or "
        "'t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm'");
    return DC_ERR_INVALID;
}

/* Parses a decimal number occupying the whole field. Returns 1 if parsed, 0 if the field is
 * empty, -1 if malformed. */
static int parse_num(const char *s, double *out)
{
    if (*s == '\0') return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 1;
}

dc_err_t dc_trackcsv_row(dc_trackcsv_format_t fmt, const char *line, dc_track_state_t *st,
                         char callsign[DC_CALLSIGN_MAX], char *msg, size_t msg_len)
{
    char buf[DC_TRACKCSV_LINE_MAX];
    char *f[MAX_FIELDS];
    const bool traffic = fmt == DC_TRACKCSV_TRAFFIC;
    const char *const *cols = traffic ? traffic_cols : states_cols;
    const int want = traffic ? (int)N_TRAFFIC : (int)N_STATES;
    int n = split(line, buf, f, MAX_FIELDS);
    if (n < 0) {
        say(msg, msg_len, "line too long or too many fields (want %d)", want);
        return DC_ERR_INVALID;
    }
    if (n != want) {
        say(msg, msg_len, "%d fields, want %d", n, want);
        return DC_ERR_INVALID;
    }

    memset(st, 0, sizeof(*st));
    if (callsign) callsign[0] = '\0';
    const int id_col = traffic ? 1 : 0;
    const int first_num = traffic ? 3 : 1; /* lat, lon, alt_ft, gs_kt, trk_deg, vs_fpm follow */
    if (strlen(f[id_col]) >= DC_TRACK_ID_MAX || f[id_col][0] == '\0') {
        say(msg, msg_len, "field '%s': '%s' must be 1..%d bytes", cols[id_col], f[id_col],
            DC_TRACK_ID_MAX - 1);
        return DC_ERR_INVALID;
    }
    strcpy(st->id, f[id_col]);
    if (traffic) {
        int r = parse_num(f[0], &st->t_s);
        if (r <= 0) {
            say(msg, msg_len, "field 't_unix': '%s' is not a number", f[0]);
            return r == 0 ? DC_ERR_INCOMPLETE : DC_ERR_INVALID;
        }
        if (strlen(f[2]) >= DC_CALLSIGN_MAX) {
            say(msg, msg_len, "field 'callsign': '%s' longer than %d bytes", f[2],
                DC_CALLSIGN_MAX - 1);
            return DC_ERR_INVALID;
        }
        if (callsign) strcpy(callsign, f[2]);
    }
    double *dst[] = {&st->lat_deg, &st->lon_deg, &st->alt_ft,
                     &st->gs_kt,   &st->trk_deg, &st->vs_fpm};
    for (int i = 0; i < 6; i++) {
        const char *col = cols[first_num + i];
        int r = parse_num(f[first_num + i], dst[i]);
        if (r < 0) {
            say(msg, msg_len, "field '%s': '%s' is not a number", col, f[first_num + i]);
            return DC_ERR_INVALID;
        }
        if (r == 0) {
            if (traffic && i == 5) continue; /* unknown vertical rate: level */
            say(msg, msg_len, "field '%s' is empty", col);
            return traffic ? DC_ERR_INCOMPLETE : DC_ERR_INVALID;
        }
    }
    /* A track of exactly 360 means north; normalise it rather than reject it. */
    if (st->trk_deg == 360.0) st->trk_deg = 0.0;
    const char *bad = NULL;
    if (dc_track_state_validate(st, &bad) != DC_OK) {
        /* Map the validator's field name to this format's column: the kinematic names are the
         * column names; only the id and the time are spelt differently. */
        int col = strcmp(bad, "t") == 0 ? 0 : id_col;
        for (int i = 0; i < want; i++)
            if (strcmp(bad, cols[i]) == 0) col = i;
        say(msg, msg_len, "field '%s': '%s' out of range", cols[col], f[col]);
        return DC_ERR_INVALID;
    }
    return DC_OK;
}
