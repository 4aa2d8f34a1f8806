/* deconflict — reading aircraft states from CSV files.
 *
 * Two formats, recognised by their header line:
 *   states:  id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm
 *            all states at one instant (the `deconflict detect` input); every field required.
 *   traffic: t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm
 *            the normalized recorded-traffic format of ../shared/data/traffic (README there);
 *            an empty field means unknown. An unknown vs_fpm reads as 0 (level); any other
 *            unknown kinematic field makes the row incomplete (DC_ERR_INCOMPLETE).
 * Fields are plain comma-separated values (no quoting); lines end in LF or CRLF; positions are
 * WGS84 degrees. Lines longer than DC_TRACKCSV_LINE_MAX bytes are invalid. */
#ifndef DECONFLICT_TRACKCSV_H
#define DECONFLICT_TRACKCSV_H

#include <stddef.h>

#include "deconflict/error.h"
#include "deconflict/tactical.h"

#define DC_TRACKCSV_LINE_MAX 1024 /* bytes, including the line end */
#define DC_CALLSIGN_MAX      16   /* bytes including NUL */

typedef enum dc_trackcsv_format {
    DC_TRACKCSV_STATES = 1,
    DC_TRACKCSV_TRAFFIC = 2,
} dc_trackcsv_format_t;

/* Recognises the header line (line end optional). Returns DC_OK and sets *fmt, or
 * DC_ERR_INVALID with an explanation in msg (always NUL-terminated when msg_len > 0). */
dc_err_t dc_trackcsv_header(const char *line, dc_trackcsv_format_t *fmt, char *msg, size_t msg_len);

/* Parses one data row of format fmt into st (and, for traffic, the callsign into callsign, which
 * may be NULL; "" when unknown). For states rows st->t_s is set to 0.
 * Returns DC_OK; DC_ERR_INVALID when a field is malformed or out of range; DC_ERR_INCOMPLETE
 * when a traffic row lacks a required field. msg then names the field and the value. */
dc_err_t dc_trackcsv_row(dc_trackcsv_format_t fmt, const char *line, dc_track_state_t *st,
                         char callsign[DC_CALLSIGN_MAX], char *msg, size_t msg_len);

#endif
