/* Fixed-point formatting by scaled integer arithmetic; see numfmt.h for the rounding contract. */
#include "common/numfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static const double pow10_table[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

size_t dc_fmt_fixed(char *out, double v, int decimals)
{
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    double scaled = fabs(v) * pow10_table[decimals];
    /* Below 2^43 the product's rounding error is under 2^-10 of the last digit, so only values
     * that close to a half can round the other way; above it, printf. */
    if (!(scaled < 8796093022208.0)) {
        int k = snprintf(out, DC_FMT_FIXED_MAX, "%.*f", decimals, v);
        return k < 0 ? 0 : (size_t)k < DC_FMT_FIXED_MAX ? (size_t)k : DC_FMT_FIXED_MAX - 1;
    }
    uint64_t u = (uint64_t)llround(scaled);
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (nd <= (size_t)decimals) digits[nd++] = '0'; /* at least one digit before the point */
    size_t len = 0;
    /* printf keeps the sign of a negative value that rounds to zero ("-0.000"); so do we. */
    if (signbit(v)) out[len++] = '-';
    for (size_t i = nd; i-- > 0;) {
        out[len++] = digits[i];
        if (i == (size_t)decimals && decimals > 0) out[len++] = '.';
    }
    out[len] = '\0';
    return len;
}
