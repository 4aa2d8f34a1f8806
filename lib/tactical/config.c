/* Defaults and validation for tactical configuration and reported states. */
#include "deconflict/tactical.h"

#include <math.h>
#include <string.h>

void dc_tactical_config_default(dc_tactical_config_t *cfg)
{
    cfg->rpz_nm = 5.0;
    cfg->hpz_ft = 1000.0;
    cfg->lookahead_s = 120.0;
    cfg->stale_s = 30.0;
    cfg->expire_s = 300.0;
    cfg->htol_m = 1.0;
    cfg->vtol_ft = 1.0;
}

/* The bounds are generous on purpose: they reject nonsense (NaN, negative minima, a look-ahead
 * of days), not unusual but meaningful choices. */
dc_err_t dc_tactical_config_validate(const dc_tactical_config_t *cfg, const char **field)
{
    const char *bad = NULL;
    if (!(cfg->rpz_nm > 0 && cfg->rpz_nm <= 100))
        bad = "rpz_nm";
    else if (!(cfg->hpz_ft > 0 && cfg->hpz_ft <= 20000))
        bad = "hpz_ft";
    else if (!(cfg->lookahead_s >= 0 && cfg->lookahead_s <= 3600))
        bad = "lookahead_s";
    else if (!(cfg->stale_s >= 0 && cfg->stale_s <= 3600))
        bad = "stale_s";
    else if (!(cfg->expire_s >= cfg->stale_s && cfg->expire_s <= 86400))
        bad = "expire_s";
    else if (!(cfg->htol_m >= 0 && cfg->htol_m < cfg->rpz_nm * 1852.0))
        bad = "htol_m";
    else if (!(cfg->vtol_ft >= 0 && cfg->vtol_ft < cfg->hpz_ft))
        bad = "vtol_ft";
    if (field) *field = bad;
    return bad ? DC_ERR_INVALID : DC_OK;
}

static bool id_valid(const char *id)
{
    size_t n = strnlen(id, DC_TRACK_ID_MAX);
    if (n == 0 || n >= DC_TRACK_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

dc_err_t dc_track_state_validate(const dc_track_state_t *st, const char **field)
{
    const char *bad = NULL;
    if (!id_valid(st->id))
        bad = "id";
    else if (!isfinite(st->t_s))
        bad = "t";
    else if (!(st->lat_deg >= -90 && st->lat_deg <= 90))
        bad = "lat";
    else if (!(st->lon_deg >= -180 && st->lon_deg <= 180))
        bad = "lon";
    else if (!(st->alt_ft >= DC_ALT_FT_MIN && st->alt_ft <= DC_ALT_FT_MAX))
        bad = "alt_ft";
    else if (!(st->gs_kt >= 0 && st->gs_kt <= DC_GS_KT_MAX))
        bad = "gs_kt";
    else if (!(st->trk_deg >= 0 && st->trk_deg < 360))
        bad = "trk_deg";
    else if (!(fabs(st->vs_fpm) <= DC_VS_FPM_MAX))
        bad = "vs_fpm";
    if (field) *field = bad;
    return bad ? DC_ERR_INVALID : DC_OK;
}
