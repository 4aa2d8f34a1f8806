/* libFuzzer driver: a POST /v1/positions body read both ways deconflictd has -- as a stream
 * (dd_positions_read, what the handler does) and as a jansson tree judged report by report
 * (dd_json_body, dd_position_parse) -- which must agree: the same refusal of the body, or the
 * same reports with the same fields refused and the same values kept. Beyond that, a report
 * accepted is a valid track state of the party, and one refused names a field. */
#include <math.h>
#include <stdint.h>

#include "fuzz_request_bodies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_number(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static bool same_report(const dd_report_t *a, const dd_report_t *b)
{
    if (!a->bad_field != !b->bad_field) return false;
    if (a->bad_field) return strcmp(a->bad_field, b->bad_field) == 0;
    const dc_track_state_t *x = &a->st, *y = &b->st;
    return strcmp(x->id, y->id) == 0 && x->t_s == y->t_s && x->lat_deg == y->lat_deg &&
           x->lon_deg == y->lon_deg && x->alt_ft == y->alt_ft && x->gs_kt == y->gs_kt &&
           x->trk_deg == y->trk_deg && x->vs_fpm == y->vs_fpm &&
           strcmp(a->callsign, b->callsign) == 0 && strcmp(a->operation, b->operation) == 0 &&
           same_number(a->alt_step_ft, b->alt_step_ft) &&
           same_number(a->selected_alt_ft, b->selected_alt_ft);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dd_report_t *stream;
    size_t n_stream;
    dd_fault_t fs;
    dc_err_t rs = dd_positions_read((const char *)data, size, 7, &stream, &n_stream, &fs);

    /* The tree: the body, its length, each report. */
    dd_fault_t ft;
    json_t *batch;
    dc_err_t rt = dd_json_body((const char *)data, size, JSON_ARRAY, &batch, &ft);
    if (rt == DC_OK && json_array_size(batch) > DD_POSITIONS_MAX) {
        json_decref(batch);
        rt = dd_fail(&ft, DC_ERR_LIMIT, "", "too many");
    }
    if (rs != rt) abort(); /* one refuses the body, the other does not, or not alike */
    if (rs != DC_OK) {
        check_fault(&fs);
        check_fault(&ft);
        return 0;
    }
    if (json_array_size(batch) != n_stream) abort();
    for (size_t i = 0; i < n_stream; i++) {
        dd_report_t r;
        dd_position_parse(json_array_get(batch, i), 7, &r);
        if (!same_report(&r, &stream[i])) abort();
        if (r.bad_field) continue;
        if (dc_track_state_validate(&r.st, NULL) != DC_OK || strncmp(r.st.id, "7/", 2) != 0 ||
            strlen(r.callsign) > 8 || !memchr(r.operation, 0, sizeof(r.operation)))
            abort();
    }
    json_decref(batch);
    free(stream);
    return 0;
}
