/* deconflict — UTC time stamps at the boundary.
 *
 * Times inside deconflict are Unix seconds (UTC, leap seconds not counted) held in a double,
 * which keeps microseconds exactly for any date this side of year 2200. At the boundary they are
 * RFC 3339 strings, as ASTM F3548 and the HTTP API use. */
#ifndef DECONFLICT_TIMEFMT_H
#define DECONFLICT_TIMEFMT_H

#include <stddef.h>

#include "deconflict/error.h"

/* Longest string dc_time_format_rfc3339() writes, with its NUL. */
#define DC_TIME_RFC3339_MAX 32

/* Parses an RFC 3339 date-time ("2026-11-22T10:00:00Z", "2026-11-22T11:00:00.25+01:00"; 'T'/'Z'
 * may be lower case; up to 9 fractional digits; years 1970..9999) into Unix seconds. Returns
 * DC_ERR_INVALID for anything else, including dates that do not exist (Feb 30) and trailing
 * characters. */
dc_err_t dc_time_parse_rfc3339(const char *text, double *t_s);

/* Writes t_s as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (fraction only when not whole seconds, rounded to
 * microseconds) into buf of len bytes (DC_TIME_RFC3339_MAX suffices). Returns DC_ERR_INVALID if
 * t_s is outside years 1970..9999, DC_ERR_LIMIT if buf is too small. */
dc_err_t dc_time_format_rfc3339(double t_s, char *buf, size_t len);

#endif
