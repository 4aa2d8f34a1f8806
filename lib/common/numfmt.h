/* Internal: fast fixed-point formatting of doubles for JSON output. Knows nothing about
 * aviation. */
#ifndef DC_COMMON_NUMFMT_H
#define DC_COMMON_NUMFMT_H

#include <stddef.h>

/* Longest output of dc_fmt_fixed, terminating NUL included. */
#define DC_FMT_FIXED_MAX 32

/* Writes v with exactly `decimals` digits after the point (0..9) into out (at least
 * DC_FMT_FIXED_MAX bytes), NUL-terminated; returns the length. Same text as printf's "%.*f"
 * except that the last digit may differ by one when v * 10^decimals lies within 2^-10 of a
 * half: the value is scaled and rounded in double arithmetic rather than printf's
 * exact multi-precision conversion, which cost a fifth of a strategic filing (GeoJSON
 * coordinates). Values with |v| * 10^decimals >= 2^43, NaN and infinities go through snprintf. */
size_t dc_fmt_fixed(char *out, double v, int decimals);

#endif
