/* Internal: calendar arithmetic shared by the time parsers (RFC 3339, SBS-1). */
#ifndef DC_COMMON_CIVIL_H
#define DC_COMMON_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
int64_t dc_days_from_civil(int64_t y, int m, int d);

#endif
