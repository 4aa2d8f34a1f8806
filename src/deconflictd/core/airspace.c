/* Separation minima by airspace: see airspace.h. */
#include "core/airspace.h"

#include <math.h>

const char *dd_profile_name(dd_profile_t p)
{
    return p == DD_PROFILE_HIGH ? "high" : p == DD_PROFILE_TERMINAL ? "terminal" : "enroute";
}

bool dd_in_terminal_area(const dd_config_t *cfg, double lat_deg, double lon_deg)
{
    for (size_t i = 0; i < cfg->n_terminal_areas; i++) {
        /* Haversine on the mean sphere: areas are tens of NM, 0.5% is plenty. */
        double p1 = lat_deg * M_PI / 180, p2 = cfg->terminal_areas[i].lat_deg * M_PI / 180;
        double dl = (cfg->terminal_areas[i].lon_deg - lon_deg) * M_PI / 180;
        double h =
            sin((p2 - p1) / 2) * sin((p2 - p1) / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
        double d_nm = 2 * asin(fmin(1, sqrt(h))) * 6371.0088 / 1.852;
        if (d_nm <= cfg->terminal_areas[i].radius_nm) return true;
    }
    return false;
}

dd_profile_t dd_pair_profile(const dd_config_t *cfg, double lat1_deg, double lon1_deg,
                             double alt1_ft, double lat2_deg, double lon2_deg, double alt2_ft)
{
    if (alt1_ft > cfg->high_above_ft || alt2_ft > cfg->high_above_ft) return DD_PROFILE_HIGH;
    if (cfg->n_terminal_areas && dd_in_terminal_area(cfg, lat1_deg, lon1_deg) &&
        dd_in_terminal_area(cfg, lat2_deg, lon2_deg))
        return DD_PROFILE_TERMINAL;
    return DD_PROFILE_ENROUTE;
}

const dd_minima_t *dd_profile_minima(const dd_config_t *cfg, dd_profile_t p)
{
    return p == DD_PROFILE_HIGH       ? &cfg->high
           : p == DD_PROFILE_TERMINAL ? &cfg->terminal
                                      : &cfg->enroute;
}
