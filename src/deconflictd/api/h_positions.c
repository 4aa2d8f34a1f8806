/* POST /v1/positions: a batch of a party's live position reports (docs/service.md, "Live
 * positions"). Each report is read here; the domain judges its time against the clock, keeps
 * the news and answers which were refused, by index and field. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "deconflict/timefmt.h"

/* A party's own track id: 1-24 printable bytes without '/' (it parts the engine id) or '|'
 * (it parts a pair's key). */
static bool track_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DD_TRACK_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127 || s[i] == '/' || s[i] == '|')
            return false;
    return true;
}

static bool callsign_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 8) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

static bool get_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* The first field of o that is missing or out of range, or NULL. */
static const char *parse_fields(json_t *o, int64_t party, dd_report_t *r)
{
    dc_track_state_t *st = &r->st;
    if (!json_is_object(o)) return "";
    json_t *id = json_object_get(o, "track_id");
    if (!json_is_string(id) || !track_id_ok(json_string_value(id))) return "track_id";
    snprintf(st->id, sizeof(st->id), "%lld/%s", (long long)party, json_string_value(id));
    json_t *t = json_object_get(o, "t");
    if (json_is_string(t)) {
        if (dc_time_parse_rfc3339(json_string_value(t), &st->t_s) != DC_OK) return "t";
    } else if (!get_num(o, "t", &st->t_s)) {
        return "t";
    }
    if (!get_num(o, "lat", &st->lat_deg)) return "lat";
    if (!get_num(o, "lon", &st->lon_deg)) return "lon";
    if (!get_num(o, "alt_ft", &st->alt_ft)) return "alt_ft";
    if (!get_num(o, "gs_kt", &st->gs_kt)) return "gs_kt";
    if (!get_num(o, "trk_deg", &st->trk_deg)) return "trk_deg";
    if (!get_num(o, "vs_fpm", &st->vs_fpm)) return "vs_fpm";
    json_t *cs = json_object_get(o, "callsign");
    if (cs && !json_is_null(cs)) {
        if (!json_is_string(cs) || !callsign_ok(json_string_value(cs))) return "callsign";
        snprintf(r->callsign, sizeof(r->callsign), "%s", json_string_value(cs));
    }
    json_t *op = json_object_get(o, "operation_id");
    if (op && !json_is_null(op)) {
        /* Whose operation it is, the domain judges; here only its shape. */
        if (!json_is_string(op) || json_string_length(op) >= sizeof(r->operation))
            return "operation_id";
        snprintf(r->operation, sizeof(r->operation), "%s", json_string_value(op));
    }
    /* The source's altitude resolution and the selected altitude, when it says them. */
    r->alt_step_ft = r->selected_alt_ft = NAN;
    json_t *step = json_object_get(o, "alt_step_ft"), *sel = json_object_get(o, "selected_alt_ft");
    if (step && !json_is_null(step) &&
        (!get_num(o, "alt_step_ft", &r->alt_step_ft) || r->alt_step_ft < 0 || r->alt_step_ft > 500))
        return "alt_step_ft";
    if (sel && !json_is_null(sel) &&
        (!get_num(o, "selected_alt_ft", &r->selected_alt_ft) ||
         r->selected_alt_ft < DC_ALT_FT_MIN || r->selected_alt_ft > DC_ALT_FT_MAX))
        return "selected_alt_ft";
    const char *field = NULL;
    if (dc_track_state_validate(st, &field) != DC_OK) return field ? field : "";
    return NULL;
}

void dd_position_parse(json_t *o, int64_t party, dd_report_t *r)
{
    memset(r, 0, sizeof(*r));
    r->bad_field = parse_fields(o, party, r);
}

void dd_h_positions_post(dd_request_t *rq, dd_response_t *rs)
{
    json_t *batch = dd_request_json(rq, JSON_ARRAY, rs);
    if (!batch) return;
    size_t n = json_array_size(batch);
    if (n > DD_POSITIONS_MAX) {
        json_decref(batch);
        dd_respond_problem(rs, DC_ERR_LIMIT, "", "a batch holds at most %d reports (got %zu)",
                           DD_POSITIONS_MAX, n);
        return;
    }
    dd_report_t *reports = malloc((n ? n : 1) * sizeof(*reports));
    if (!reports) {
        json_decref(batch);
        dd_respond_problem(rs, DC_ERR_NOMEM, "", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        dd_position_parse(json_array_get(batch, i), rq->party, &reports[i]);
    json_decref(batch);
    dd_positions_result_t res;
    dd_fault_t f;
    dc_err_t rc = dd_positions_put(rq->svc, rq->party, reports, n, rq->now, &res, &f);
    free(reports);
    if (rc != DC_OK) {
        dd_respond_fault(rs, &f);
        return;
    }
    json_t *rejected = json_array();
    for (size_t i = 0; i < res.n_refused; i++)
        json_array_append_new(
            rejected, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)res.refused[i].index,
                                "field", res.refused[i].field, "detail", res.refused[i].detail));
    free(res.refused);
    dd_respond_json(
        rs, 200,
        json_pack("{s:I, s:o}", "accepted", (json_int_t)res.accepted, "rejected", rejected));
}
