/* deconflictd: separation minima by airspace. A pair's profile is `high` when either aircraft is
 * above high_above_ft, else `terminal` when both are inside one of the terminal areas, else
 * `enroute`; each profile has its minima (docs/service.md, "Separation minima"). Pure: reads
 * only the configuration. */
#ifndef DD_CORE_AIRSPACE_H
#define DD_CORE_AIRSPACE_H

#include <stdbool.h>

#include "core/config.h"

typedef enum dd_profile { DD_PROFILE_ENROUTE, DD_PROFILE_TERMINAL, DD_PROFILE_HIGH } dd_profile_t;

/* "enroute", "terminal" or "high". */
const char *dd_profile_name(dd_profile_t p);

/* The profile of a pair at these positions (WGS84 degrees) and altitudes. */
dd_profile_t dd_pair_profile(const dd_config_t *cfg, double lat1_deg, double lon1_deg,
                             double alt1_ft, double lat2_deg, double lon2_deg, double alt2_ft);

/* Its minima. */
const dd_minima_t *dd_profile_minima(const dd_config_t *cfg, dd_profile_t p);

/* Whether the point is within one of the terminal areas. */
bool dd_in_terminal_area(const dd_config_t *cfg, double lat_deg, double lon_deg);

#endif
