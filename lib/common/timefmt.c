/* RFC 3339 time stamps <-> Unix seconds, without the C library's time zone machinery (timegm is
 * not standard C, and the process time zone must not matter). Civil-date arithmetic after
 * H. Hinnant's "chrono-compatible low-level date algorithms". */
#include "deconflict/timefmt.h"

#include "common/civil.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

int64_t dc_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char a, char b)
{
    if (**p != a && **p != b) return false;
    (*p)++;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

dc_err_t dc_time_parse_rfc3339(const char *text, double *t_s)
{
    const char *p = text;
    int y, mo, d, h, mi, s;
    if (!p || !digits(&p, 4, &y) || !expect(&p, '-', '-') || !digits(&p, 2, &mo) ||
        !expect(&p, '-', '-') || !digits(&p, 2, &d) || !expect(&p, 'T', 't') ||
        !digits(&p, 2, &h) || !expect(&p, ':', ':') || !digits(&p, 2, &mi) ||
        !expect(&p, ':', ':') || !digits(&p, 2, &s))
        return DC_ERR_INVALID;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        s > 60)
        return DC_ERR_INVALID;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (++nd > 9) return DC_ERR_INVALID;
            frac += (*p++ - '0') * scale;
            scale /= 10;
        }
        if (nd == 0) return DC_ERR_INVALID;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!digits(&p, 2, &oh) || !expect(&p, ':', ':') || !digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return DC_ERR_INVALID;
        offset_min = sign * (oh * 60 + om);
    } else {
        return DC_ERR_INVALID;
    }
    if (*p != '\0') return DC_ERR_INVALID;
    int64_t secs = dc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_min * 60;
    if (secs < 0) return DC_ERR_INVALID;
    *t_s = (double)secs + frac;
    return DC_OK;
}

dc_err_t dc_time_format_rfc3339(double t_s, char *buf, size_t len)
{
    /* 253402300800 = 10000-01-01T00:00:00Z */
    if (!isfinite(t_s) || t_s < 0 || t_s >= 253402300800.0) return DC_ERR_INVALID;
    int64_t us = (int64_t)llround(t_s * 1e6);
    int64_t secs = us / 1000000, frac_us = us % 1000000;
    int64_t days = secs / 86400, rem = secs % 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int n;
    if (frac_us)
        n = snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac_us);
    else
        n = snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    return n < 0 || (size_t)n >= len ? DC_ERR_LIMIT : DC_OK;
}
