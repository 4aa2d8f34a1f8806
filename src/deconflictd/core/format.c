/* Text forms: see format.h. */
#include "core/format.h"

#include <jansson.h>

#include "deconflict/timefmt.h"

char *dd_time_text(double t_s, char buf[40])
{
    if (dc_time_format_rfc3339(t_s, buf, 40) != DC_OK) buf[0] = '\0';
    return buf;
}

char *dd_json_text(json_t *json)
{
    return json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(12));
}

json_t *dd_state_json(const dc_track_state_t *st)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "t", st->t_s, "lat", st->lat_deg, "lon",
                     st->lon_deg, "alt_ft", st->alt_ft, "gs_kt", st->gs_kt, "trk_deg", st->trk_deg,
                     "vs_fpm", st->vs_fpm);
}
