/* /v1/agreements: proposing an agreement between parties, reading them, and accepting,
 * rejecting or withdrawing one (docs/hotline.md, "Agreements"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "deconflict/hotline.h"
#include "deconflict/timefmt.h"

/* [lat, lon] number pairs, min to DC_STRATEGIC_VERTICES_MAX of them, normalised to reals (the
 * regions read them back); the geometry itself is judged by the region builders. */
static bool points_ok(json_t *pts, size_t min)
{
    if (!json_is_array(pts) || json_array_size(pts) < min ||
        json_array_size(pts) > DC_STRATEGIC_VERTICES_MAX)
        return false;
    size_t i;
    json_t *p;
    json_array_foreach(pts, i, p)
    {
        json_t *la = json_array_get(p, 0), *lo = json_array_get(p, 1);
        if (json_array_size(p) != 2 || !json_is_number(la) || !json_is_number(lo)) return false;
        double lat = json_number_value(la), lon = json_number_value(lo);
        if (!(fabs(lat) <= 90) || !(fabs(lon) <= 180)) return false;
        json_array_set_new(p, 0, json_real(lat));
        json_array_set_new(p, 1, json_real(lon));
    }
    return true;
}

/* The band and window under the rules every volume has (include/deconflict/strategic.h: the
 * altitude range, a band of some height, start before end, at most DC_STRATEGIC_WINDOW_MAX_S):
 * one set of limits for every document. NULL when they hold, else the sentence to refuse with,
 * its field first. */
static const char *band_and_window_problem(double lo_ft, double hi_ft, double t0, double t1,
                                           char *msg, size_t len)
{
    dc_volume4d_t v = {.kind = DC_FOOTPRINT_CIRCLE,
                       .center = {0, 0},
                       .radius_m = 1,
                       .alt_lower_m = lo_ft * 0.3048,
                       .alt_upper_m = hi_ft * 0.3048,
                       .alt_lower_ref = DC_ALT_REF_FL,
                       .alt_upper_ref = DC_ALT_REF_FL,
                       .t_start_s = t0,
                       .t_end_s = t1};
    dc_strategic_error_t err;
    memset(&err, 0, sizeof(err));
    if (dc_volume4d_validate(&v, &err) == DC_OK) return NULL;
    const char *field = strncmp(err.field, "time_end", 8) == 0      ? "time_end"
                        : strncmp(err.field, "time_start", 10) == 0 ? "time_start"
                        : strstr(err.field, "altitude_upper")       ? "alt_upper_ft"
                                                                    : "alt_lower_ft";
    snprintf(msg, len, "%s: %s", field, err.message);
    return msg;
}

static bool is_participant(const dd_agreement_req_t *r, const char *name)
{
    for (size_t i = 0; name && i < r->n_names; i++)
        if (strcmp(r->names[i], name) == 0) return true;
    return false;
}

/* The constraint, normalised (within_nm defaulted to 50) into *out: NULL when it holds, else
 * the sentence to refuse with. */
static const char *constraint_problem(json_t *c, const dd_agreement_req_t *r, json_t **out)
{
    if (!json_is_object(c))
        return "constraint: expected {area, owner} or {line, left, right[, within_nm]}";
    json_t *n = *out = json_deep_copy(c);
    if (json_object_get(c, "area")) {
        if (!points_ok(json_object_get(n, "area"), 3))
            return "constraint/area: 3 to 1000 [lat, lon] points, in degrees";
        if (!is_participant(r, json_string_value(json_object_get(c, "owner"))))
            return "constraint/owner: one of the parties";
        return NULL;
    }
    if (!json_object_get(c, "line"))
        return "constraint: expected {area, owner} or {line, left, right[, within_nm]}";
    json_t *w = json_object_get(c, "within_nm");
    const char *left = json_string_value(json_object_get(c, "left"));
    const char *right = json_string_value(json_object_get(c, "right"));
    if (!points_ok(json_object_get(n, "line"), 2))
        return "constraint/line: 2 to 1000 [lat, lon] points, in degrees";
    if (!is_participant(r, left) || !is_participant(r, right) || strcmp(left, right) == 0)
        return "constraint/left, right: two different parties";
    if (w && (!json_is_number(w) || json_number_value(w) < 0.1 || json_number_value(w) > 500))
        return "constraint/within_nm: 0.1 to 500";
    if (!w) json_object_set_new(n, "within_nm", json_real(50));
    return NULL;
}

/* The rest of the proposal after its parties and constraint: band, window, text. */
static const char *terms_problem(json_t *body, dd_agreement_req_t *r, char *msg, size_t len)
{
    json_t *lo = json_object_get(body, "alt_lower_ft"), *hi = json_object_get(body, "alt_upper_ft");
    const char *t0s = json_string_value(json_object_get(body, "time_start"));
    const char *t1s = json_string_value(json_object_get(body, "time_end"));
    json_t *text = json_object_get(body, "text");
    if (!json_is_number(lo) || !json_is_number(hi) ||
        json_number_value(lo) >= json_number_value(hi))
        return "alt_lower_ft, alt_upper_ft: feet of pressure altitude (flight level x 100), "
               "lower below upper";
    if (!t0s || !t1s || strlen(t0s) >= sizeof(r->time_start) ||
        strlen(t1s) >= sizeof(r->time_end) || dc_time_parse_rfc3339(t0s, &r->t0_s) != DC_OK ||
        dc_time_parse_rfc3339(t1s, &r->t1_s) != DC_OK || r->t1_s <= r->t0_s)
        return "time_start, time_end: RFC 3339 times, start before end";
    r->alt_lower_ft = json_number_value(lo), r->alt_upper_ft = json_number_value(hi);
    snprintf(r->time_start, sizeof(r->time_start), "%s", t0s);
    snprintf(r->time_end, sizeof(r->time_end), "%s", t1s);
    const char *bad =
        band_and_window_problem(r->alt_lower_ft, r->alt_upper_ft, r->t0_s, r->t1_s, msg, len);
    if (bad) return bad;
    if (text &&
        (!json_is_string(text) || !dc_msg_text_ok(json_string_value(text), DC_MSG_TEXT_MAX)))
        return "text: at most 4000 bytes, no control characters";
    if (text && !(r->text = strdup(json_string_value(text)))) return "text: out of memory";
    return NULL;
}

dc_err_t dd_agreement_parse(json_t *body, const char *me, dd_agreement_req_t *r, dd_fault_t *f)
{
    memset(r, 0, sizeof(*r));
    json_t *others = json_object_get(body, "parties");
    if (!json_is_array(others) || json_array_size(others) < 1 ||
        json_array_size(others) >= DD_AGR_PARTIES_MAX)
        return dd_fail(f, DC_ERR_INVALID, "parties",
                       "parties: the other parties that must accept, 1 to 7 names");
    snprintf(r->names[r->n_names++], DC_PARTY_NAME_MAX, "%s", me);
    size_t i;
    json_t *n;
    json_array_foreach(others, i, n)
    {
        const char *name = json_string_value(n);
        if (!name || !dc_party_name_valid(name) || is_participant(r, name)) {
            dd_agreement_req_clear(r);
            return dd_fail(f, DC_ERR_INVALID, "parties",
                           "parties/%zu: not another party (or named twice)", i);
        }
        snprintf(r->names[r->n_names++], DC_PARTY_NAME_MAX, "%s", name);
    }
    char msg[400];
    const char *bad = constraint_problem(json_object_get(body, "constraint"), r, &r->constraint);
    /* The ground itself, built once: the geometry rules of the region builders (an area as a
     * volume's footprint, a line not crossing itself, within its extent). */
    if (!bad) {
        dc_strategic_error_t gerr;
        memset(&gerr, 0, sizeof(gerr));
        dc_err_t grc = dd_agreement_ground(r->constraint, &r->ground, &gerr);
        if (grc == DC_ERR_NOMEM) {
            dd_agreement_req_clear(r);
            return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
        }
        if (grc != DC_OK) {
            snprintf(msg, sizeof(msg), "constraint/%s: %s",
                     strcmp(gerr.field, "within") == 0 ? "within_nm" : gerr.field, gerr.message);
            bad = msg;
        }
    }
    if (!bad) bad = terms_problem(body, r, msg, sizeof(msg));
    if (!bad) return DC_OK;
    char field[64];
    snprintf(field, sizeof(field), "%.*s", (int)strcspn(bad, ":,"), bad);
    dd_fail(f, DC_ERR_INVALID, field, "%s", bad);
    dd_agreement_req_clear(r);
    return DC_ERR_INVALID;
}

void dd_h_agreements_propose(dd_request_t *rq, dd_response_t *rs)
{
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    /* The names first: "no such party" is the first thing a proposer needs to hear. */
    json_t *named = json_object_get(body, "parties");
    const char *names[DD_AGR_PARTIES_MAX];
    size_t n = 0;
    if (json_is_array(named) && json_array_size(named) < DD_AGR_PARTIES_MAX)
        for (; n < json_array_size(named); n++)
            names[n] = json_string_value(json_array_get(named, n));
    dc_err_t rc = dd_agreement_check_names(rq->svc, rq->party, names, n, &rs->fault);
    dd_agreement_req_t r;
    memset(&r, 0, sizeof(r));
    if (rc == DC_OK) rc = dd_agreement_parse(body, rq->party_name, &r, &rs->fault);
    json_decref(body);
    if (rc == DC_OK)
        rc = dd_agreement_propose(rq->svc, rq->party, &r, rq->now, &rs->out, &rs->fault);
    dd_agreement_req_clear(&r);
    dd_reply(rs, rc, 201);
}

void dd_h_agreements_list(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(rs, dd_agreement_list(rq->svc, rq->party, &rs->out, &rs->fault), 200);
}

void dd_h_agreements_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(rs, dd_agreement_get(rq->svc, rq->party, rq->id, &rs->out, &rs->fault), 200);
}

void dd_h_agreements_act(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(
        rs, dd_agreement_act(rq->svc, rq->party, rq->id, rq->action, rq->now, &rs->out, &rs->fault),
        200);
}
