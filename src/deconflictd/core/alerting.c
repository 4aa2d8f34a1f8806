/* The alerting layer of each engine: see alerting.h. */
#include "core/alerting.h"

#include <ctype.h>
#include <string.h>

#include "core/ids.h"

/* Whether two parties' tracks are one aircraft: both named by the same ICAO address (6 hex
 * digits), as two receivers' feeds name what they both see. An aircraft does not conflict with
 * itself, and neither party learns from it what the other's receiver covers. */
static bool same_aircraft(const char *id1, const char *id2)
{
    const char *a = strchr(id1, '/'), *b = strchr(id2, '/');
    if (!a || !b || strlen(++a) != 6 || strcmp(a, ++b) != 0) return false;
    for (int i = 0; i < 6; i++)
        if (!isxdigit((unsigned char)a[i])) return false;
    return true;
}

/* The alerting layer's rule for a pair (deconflict/alerting.h): cross-party pairs of two
 * aircraft only, each judged by one engine (high pairs by the high one) under its airspace's
 * minima. */
static bool pair_rule(void *ctx, const dc_track_state_t *a, const dc_track_state_t *b,
                      dc_tactical_config_t *minima)
{
    const struct dd_engine_ref *ref = ctx;
    dd_service_t *svc = ref->svc;
    if (dd_party_of(a->id) == dd_party_of(b->id)) return false;
    if (same_aircraft(a->id, b->id)) return false;
    dd_profile_t profile = dd_pair_profile(&svc->cfg, a->lat_deg, a->lon_deg, a->alt_ft, b->lat_deg,
                                           b->lon_deg, b->alt_ft);
    if ((profile == DD_PROFILE_HIGH) != ref->high) return false;
    const dd_minima_t *m = dd_profile_minima(&svc->cfg, profile);
    minima->rpz_nm = m->h_nm, minima->hpz_ft = m->v_ft;
    return true;
}

dc_alerting_t *dd_alerting_for_engine(dd_service_t *svc, const dc_tactical_config_t *minima,
                                      bool high)
{
    dc_alerting_config_t cfg;
    dc_alerting_config_default(&cfg);
    cfg.warning_s = svc->cfg.warning_s;
    cfg.hold_s = svc->cfg.hysteresis_s;
    cfg.confirm_n = 3;
    cfg.confirm_m = svc->cfg.m_of_n < 3 ? (unsigned)svc->cfg.m_of_n : 3;
    dc_alerting_t *al = dc_alerting_new(minima, &cfg);
    if (!al) return NULL;
    svc->engine_ref[high] = (struct dd_engine_ref){svc, high};
    dc_alerting_set_rule(al, pair_rule, &svc->engine_ref[high]);
    return al;
}
