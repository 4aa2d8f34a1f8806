/* A report as its owner's JSON view: see dc_track_report_json() in deconflict/tactical.h. */
#include "deconflict/tactical.h"

#include <math.h>
#include <string.h>

#include "common/textbuf.h"

size_t dc_track_report_json(const dc_track_state_t *s, const char *track_id, const char *callsign,
                            const char *operation_id, char *out, size_t cap)
{
    dc_text_t t = {out, cap, 0};
    dc_text_append(&t, "{\"track_id\":", 12);
    dc_text_json_string(&t, track_id);
    static const char *const keys[] = {
        ",\"t\":",     ",\"lat\":",     ",\"lon\":",   ",\"alt_ft\":",
        ",\"gs_kt\":", ",\"trk_deg\":", ",\"vs_fpm\":"};
    /* A track that rounds to 360.00 is written 0: [0, 360) is what reads it back. */
    double trk = round(s->trk_deg * 100) / 100 >= 360 ? 0 : s->trk_deg;
    const double vals[] = {s->t_s, s->lat_deg, s->lon_deg, s->alt_ft, s->gs_kt, trk, s->vs_fpm};
    static const int decimals[] = {3, 7, 7, 2, 2, 2, 2};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        dc_text_append(&t, keys[i], strlen(keys[i]));
        dc_text_fixed(&t, vals[i], decimals[i]);
    }
    if (callsign) {
        dc_text_append(&t, ",\"callsign\":", 12);
        dc_text_json_string(&t, callsign);
    }
    if (operation_id) {
        dc_text_append(&t, ",\"operation_id\":", 16);
        dc_text_json_string(&t, operation_id);
    }
    dc_text_append(&t, "}", 1);
    return dc_text_ok(&t) ? t.len : 0;
}
