/* Agreements: proposal, acceptance, withdrawal, and the geometry of their live check. See
 * agreements.h and docs/hotline.md.
 *
 * An agreement is shared by its participants, who all see all of it: it is one document per
 * participant (kind "agreement", id "<agreement id>:<party id>"), written together, so that
 * each party's listing and the audit trail work as for every other document. */
#include "agreements.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "deconflict/hotline.h"
#include "deconflict/timefmt.h"
#include "messages.h"

#define AGR_PARTIES_MAX 8
#define AGR_POINTS_MAX  256

static char *time_text(double t_s, char buf[DC_TIME_RFC3339_MAX])
{
    if (dc_time_format_rfc3339(t_s, buf, DC_TIME_RFC3339_MAX) != DC_OK) buf[0] = '\0';
    return buf;
}

typedef struct name_lookup {
    const char *name;
    int64_t id;
} name_lookup_t;

static void find_name(const dc_party_t *p, void *ctx)
{
    name_lookup_t *l = ctx;
    if (!p->disabled && strcmp(p->name, l->name) == 0) l->id = p->id;
}

static int64_t party_id(dd_service_t *svc, const char *name)
{
    name_lookup_t l = {name, 0};
    if (name) dc_store_party_list(svc->store, find_name, &l);
    return l.id;
}

/* ---- geometry ----
 * Points are [lat, lon] in WGS84 degrees. Near a point the sphere is taken as flat (an
 * equirectangular projection centred on it, in NM): constraints are tens to hundreds of NM,
 * where that is good to well under a percent; lines and areas across the antimeridian or a
 * pole are refused at proposal. */

static void project(double lat0, double lon0, double lat, double lon, double *x, double *y)
{
    *x = (lon - lon0) * cos(lat0 * M_PI / 180) * 60.0;
    *y = (lat - lat0) * 60.0;
}

static bool in_area(json_t *pts, double lat, double lon)
{
    size_t n = json_array_size(pts);
    bool inside = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double xi, yi, xj, yj;
        project(lat, lon, json_real_value(json_array_get(json_array_get(pts, i), 0)),
                json_real_value(json_array_get(json_array_get(pts, i), 1)), &xi, &yi);
        project(lat, lon, json_real_value(json_array_get(json_array_get(pts, j), 0)),
                json_real_value(json_array_get(json_array_get(pts, j), 1)), &xj, &yj);
        /* A ray from the point (the origin) along +x. */
        if ((yi > 0) != (yj > 0) && 0 < xi + (0 - yi) * (xj - xi) / (yj - yi)) inside = !inside;
    }
    return inside;
}

/* Which side of the line the point is on (+1 left, -1 right, looking along the line), from its
 * nearest segment; 0 when it is farther than within_nm from the line. */
static int side_of(json_t *pts, double within_nm, double lat, double lon)
{
    double best = INFINITY;
    int side = 0;
    for (size_t i = 0; i + 1 < json_array_size(pts); i++) {
        double ax, ay, bx, by;
        project(lat, lon, json_real_value(json_array_get(json_array_get(pts, i), 0)),
                json_real_value(json_array_get(json_array_get(pts, i), 1)), &ax, &ay);
        project(lat, lon, json_real_value(json_array_get(json_array_get(pts, i + 1), 0)),
                json_real_value(json_array_get(json_array_get(pts, i + 1), 1)), &bx, &by);
        double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
        double u = l2 > 0 ? fmax(0, fmin(1, (-ax * dx - ay * dy) / l2)) : 0;
        double px = ax + u * dx, py = ay + u * dy, d = sqrt(px * px + py * py);
        if (d < best) {
            best = d;
            double cross = dx * (0 - ay) - dy * (0 - ax);
            side = cross > 0 ? 1 : cross < 0 ? -1 : 0;
        }
    }
    return best <= within_nm ? side : 0;
}

int64_t dd_agreement_violated(dd_service_t *svc, int64_t party, double lat_deg, double lon_deg,
                              double alt_ft, double t_s, const char **agreement_id)
{
    const char *id;
    json_t *a;
    char me[24];
    snprintf(me, sizeof(me), "%lld", (long long)party);
    json_object_foreach(svc->agreements, id, a)
    {
        const char *state = json_string_value(json_object_get(a, "state"));
        if (strcmp(state, "active") != 0 && strcmp(state, "withdrawal_proposed") != 0) continue;
        json_t *ids = json_object_get(a, "ids"); /* name -> party id */
        bool involved = false;
        const char *name;
        json_t *pid;
        json_object_foreach(ids, name, pid) involved |= json_integer_value(pid) == party;
        if (!involved) continue;
        if (t_s < json_real_value(json_object_get(a, "t0")) ||
            t_s > json_real_value(json_object_get(a, "t1")) ||
            alt_ft < json_number_value(json_object_get(a, "alt_lower_ft")) ||
            alt_ft > json_number_value(json_object_get(a, "alt_upper_ft")))
            continue;
        json_t *c = json_object_get(a, "constraint");
        const char *owner = NULL;
        if (json_object_get(c, "area")) {
            if (in_area(json_object_get(c, "area"), lat_deg, lon_deg))
                owner = json_string_value(json_object_get(c, "owner"));
        } else {
            int s = side_of(json_object_get(c, "line"),
                            json_number_value(json_object_get(c, "within_nm")), lat_deg, lon_deg);
            owner = s > 0   ? json_string_value(json_object_get(c, "left"))
                    : s < 0 ? json_string_value(json_object_get(c, "right"))
                            : NULL;
        }
        int64_t q = owner ? json_integer_value(json_object_get(ids, owner)) : 0;
        if (q && q != party) {
            *agreement_id = id;
            return q;
        }
    }
    return 0;
}

int64_t dd_agreement_violated_by(dd_service_t *svc, int64_t party, const dc_operation_t *op,
                                 const char **agreement_id)
{
    if (json_object_size(svc->agreements) == 0) return 0;
    for (size_t v = 0; v < op->n_volumes; v++) {
        const dc_volume4d_t *vol = &op->volumes[v];
        dc_latlon_t pts[16];
        size_t n = 0;
        if (vol->kind == DC_FOOTPRINT_CIRCLE) {
            pts[n++] = vol->center;
            double dlat = vol->radius_m / 1852.0 / 60.0;
            double dlon = dlat / fmax(0.01, cos(vol->center.lat_deg * M_PI / 180));
            for (int k = 0; k < 8; k++, n++) {
                pts[n].lat_deg = vol->center.lat_deg + dlat * sin(k * M_PI / 4);
                pts[n].lon_deg = vol->center.lon_deg + dlon * cos(k * M_PI / 4);
            }
        }
        size_t nv = vol->kind == DC_FOOTPRINT_CIRCLE ? n : vol->n_vertices;
        for (size_t i = 0; i < nv; i++) {
            dc_latlon_t p = vol->kind == DC_FOOTPRINT_CIRCLE ? pts[i] : vol->vertices[i];
            double alts[2] = {vol->alt_lower_m / 0.3048, vol->alt_upper_m / 0.3048};
            double ts[3] = {vol->t_start_s, (vol->t_start_s + vol->t_end_s) / 2, vol->t_end_s};
            for (int a = 0; a < 2; a++)
                for (int t = 0; t < 3; t++) {
                    int64_t q = dd_agreement_violated(svc, party, p.lat_deg, p.lon_deg, alts[a],
                                                      ts[t], agreement_id);
                    if (q) return q;
                }
        }
    }
    return 0;
}

/* ---- validation ---- */

static bool points_ok(json_t *pts, size_t min)
{
    if (!json_is_array(pts) || json_array_size(pts) < min || json_array_size(pts) > AGR_POINTS_MAX)
        return false;
    size_t i;
    json_t *p;
    double lon0 = 0;
    json_array_foreach(pts, i, p)
    {
        json_t *la = json_array_get(p, 0), *lo = json_array_get(p, 1);
        if (json_array_size(p) != 2 || !json_is_number(la) || !json_is_number(lo)) return false;
        double lat = json_number_value(la), lon = json_number_value(lo);
        if (!(fabs(lat) <= 85) || !(fabs(lon) <= 180)) return false;
        if (i == 0) lon0 = lon;
        if (fabs(lon - lon0) > 90) return false; /* no antimeridian crossing */
        /* Normalise to reals: the live check reads them with json_real_value. */
        json_array_set_new(p, 0, json_real(lat));
        json_array_set_new(p, 1, json_real(lon));
    }
    return true;
}

static bool is_participant(json_t *names, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i,
                       n) if (name && strcmp(json_string_value(n), name) == 0) return true;
    return false;
}

/* Writes every participant's copy of agreement a (its view, as all share it) and appends the
 * event to each. */
static dc_err_t put_agreement(dd_service_t *svc, json_t *a, const char *event, int64_t actor)
{
    json_t *view = json_object_get(a, "view");
    char *text = json_dumps(view, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (!text) return DC_ERR_NOMEM;
    const char *id = json_string_value(json_object_get(view, "id"));
    const char *state = json_string_value(json_object_get(view, "state"));
    dc_err_t rc = DC_OK;
    const char *name;
    json_t *pid;
    json_object_foreach(json_object_get(a, "ids"), name, pid)
    {
        if (rc != DC_OK) break;
        char doc_id[80];
        snprintf(doc_id, sizeof(doc_id), "%s:%lld", id, (long long)json_integer_value(pid));
        dc_doc_t doc = {"agreement", doc_id, json_integer_value(pid), 0, text, NULL, state,
                        dd_now_s(),  actor};
        rc = dc_store_doc_put(svc->store, &doc);
        if (rc == DC_OK) rc = dd_event(svc, json_integer_value(pid), event, view);
    }
    free(text);
    return rc;
}

/* put_agreement in a transaction of its own. */
static dc_err_t commit_agreement(dd_service_t *svc, json_t *a, const char *event, int64_t actor)
{
    dc_err_t rc = dd_tx_begin(svc);
    if (rc == DC_OK) rc = put_agreement(svc, a, event, actor);
    if (rc == DC_OK) return dd_tx_end(svc);
    dd_tx_abort(svc);
    return rc;
}

dc_err_t dd_agreement_propose(dd_service_t *svc, int64_t party, json_t *body, json_t **out,
                              dd_problem_t *pb)
{
    json_t *others = json_object_get(body, "parties"), *c = json_object_get(body, "constraint");
    json_t *lo = json_object_get(body, "alt_lower_ft"), *hi = json_object_get(body, "alt_upper_ft");
    const char *t0s = json_string_value(json_object_get(body, "time_start"));
    const char *t1s = json_string_value(json_object_get(body, "time_end"));
    json_t *text = json_object_get(body, "text");
    char me[DC_PARTY_NAME_MAX];
    dd_party_name(svc, party, me);
    if (!json_is_array(others) || json_array_size(others) < 1 ||
        json_array_size(others) >= AGR_PARTIES_MAX)
        return dd_problem(pb, 400, "invalid_argument", "parties",
                          "parties: the other parties that must accept, 1 to 7 names");
    json_t *names = json_array(), *ids = json_object();
    json_array_append_new(names, json_string(me));
    json_object_set_new(ids, me, json_integer(party));
    size_t i;
    json_t *n;
    json_array_foreach(others, i, n)
    {
        int64_t id = party_id(svc, json_string_value(n));
        if (!id || id == party || is_participant(names, json_string_value(n))) {
            json_decref(names), json_decref(ids);
            return dd_problem(pb, 400, "invalid_argument", "parties",
                              "parties/%zu: not another party (or named twice)", i);
        }
        json_array_append(names, n);
        json_object_set_new(ids, json_string_value(n), json_integer(id));
    }
    const char *bad = NULL;
    json_t *constraint = json_deep_copy(c);
    if (!json_is_object(c)) {
        bad = "constraint: expected {area, owner} or {line, left, right[, within_nm]}";
    } else if (json_object_get(c, "area")) {
        if (!points_ok(json_object_get(constraint, "area"), 3))
            bad = "constraint/area: 3 to 256 [lat, lon] points, |lat| <= 85, not across the "
                  "antimeridian";
        else if (!is_participant(names, json_string_value(json_object_get(c, "owner"))))
            bad = "constraint/owner: one of the parties";
    } else if (json_object_get(c, "line")) {
        json_t *w = json_object_get(c, "within_nm");
        if (!points_ok(json_object_get(constraint, "line"), 2))
            bad = "constraint/line: 2 to 256 [lat, lon] points, |lat| <= 85, not across the "
                  "antimeridian";
        else if (!is_participant(names, json_string_value(json_object_get(c, "left"))) ||
                 !is_participant(names, json_string_value(json_object_get(c, "right"))) ||
                 strcmp(json_string_value(json_object_get(c, "left")),
                        json_string_value(json_object_get(c, "right"))) == 0)
            bad = "constraint/left, right: two different parties";
        else if (w &&
                 (!json_is_number(w) || json_number_value(w) < 0.1 || json_number_value(w) > 500))
            bad = "constraint/within_nm: 0.1 to 500";
        else if (!w)
            json_object_set_new(constraint, "within_nm", json_real(50));
    } else {
        bad = "constraint: expected {area, owner} or {line, left, right[, within_nm]}";
    }
    double t0 = 0, t1 = 0;
    if (!bad && (!json_is_number(lo) || !json_is_number(hi) || json_number_value(lo) < -2000 ||
                 json_number_value(hi) > 100000 || json_number_value(lo) >= json_number_value(hi)))
        bad = "alt_lower_ft, alt_upper_ft: feet, lower < upper, within [-2000, 100000]";
    if (!bad && (!t0s || !t1s || dc_time_parse_rfc3339(t0s, &t0) != DC_OK ||
                 dc_time_parse_rfc3339(t1s, &t1) != DC_OK || t1 <= t0))
        bad = "time_start, time_end: RFC 3339 times, start before end";
    if (!bad && text &&
        (!json_is_string(text) || !dc_msg_text_ok(json_string_value(text), DC_MSG_TEXT_MAX)))
        bad = "text: at most 4000 bytes, no control characters";
    if (bad) {
        json_decref(names), json_decref(ids), json_decref(constraint);
        char field[64];
        snprintf(field, sizeof(field), "%.*s", (int)strcspn(bad, ":,"), bad);
        return dd_problem(pb, 400, "invalid_argument", field, "%s", bad);
    }
    char id[40], now_text[DC_TIME_RFC3339_MAX];
    dd_random_id("agr_", id, sizeof(id));
    time_text(dd_now_s(), now_text);
    json_t *view =
        json_pack("{s:s, s:s, s:s, s:O, s:[s], s:o, s:O, s:O, s:s, s:s, s:s, s:s}", "id", id,
                  "state", "proposed", "proposer", me, "parties", names, "accepted", me,
                  "constraint", constraint, "alt_lower_ft", lo, "alt_upper_ft", hi, "time_start",
                  t0s, "time_end", t1s, "created", now_text, "updated", now_text);
    if (text) json_object_set(view, "text", text);
    json_t *a = json_pack("{s:o, s:o, s:f, s:f, s:O, s:O, s:O, s:s}", "view", view, "ids", ids,
                          "t0", t0, "t1", t1, "constraint", json_object_get(view, "constraint"),
                          "alt_lower_ft", lo, "alt_upper_ft", hi, "state", "proposed");
    json_decref(names);
    dc_err_t rc = commit_agreement(svc, a, "agreement.proposed", party);
    if (rc != DC_OK) {
        json_decref(a);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the agreement");
    }
    json_object_set_new(svc->agreements, id, a);
    /* The proposal goes over the hotline too, as a deconfliction request to each party. */
    /* The description, cut to fit a message's text at a character boundary. */
    const char *desc = text ? json_string_value(text) : "";
    int desc_len = (int)strlen(desc);
    while (desc_len > 3500) {
        desc_len--;
        while (desc_len > 0 && ((unsigned char)desc[desc_len] & 0xC0) == 0x80) desc_len--;
    }
    char *request = malloc((size_t)desc_len + 256);
    json_array_foreach(others, i, n)
    {
        if (!request) break;
        snprintf(request, (size_t)desc_len + 256,
                 "Agreement %s proposed by %s: accept with POST /v1/agreements/%s/accept%s%.*s", id,
                 me, id, desc_len ? ". " : "", desc_len, desc);
        json_t *m =
            json_pack("{s:O, s:s, s:s, s:{s:s}, s:b}", "to", n, "category", "deconfliction_request",
                      "priority", "urgent", "fields", "request", request, "ack_required", 1);
        json_t *sent = NULL;
        dd_problem_t mpb;
        if (dd_message_send(svc, party, m, &sent, &mpb) != DC_OK)
            fprintf(stderr, "deconflictd: agreement %s: the request to %s was not sent: %s\n", id,
                    json_string_value(n), mpb.detail);
        json_decref(m), json_decref(sent);
    }
    free(request);
    *out = json_incref(json_object_get(a, "view"));
    return DC_OK;
}

static void collect(const char *id, const char *view, void *ctx)
{
    (void)id;
    json_t *v = json_loads(view, 0, NULL);
    if (v) json_array_append_new(ctx, v);
}

dc_err_t dd_agreement_list(dd_service_t *svc, int64_t party, json_t **out, dd_problem_t *pb)
{
    json_t *items = json_array();
    if (dc_store_doc_list(svc->store, "agreement", party, NULL, collect, items) != DC_OK) {
        json_decref(items);
        return dd_problem(pb, 500, "store_failed", "", "the store could not be read");
    }
    *out = json_pack("{s:o}", "agreements", items);
    return DC_OK;
}

/* The in-memory agreement id if party takes part in it, else NULL. */
static json_t *of_party(dd_service_t *svc, int64_t party, const char *id)
{
    json_t *a = json_object_get(svc->agreements, id);
    const char *name;
    json_t *pid;
    json_object_foreach(json_object_get(a, "ids"), name,
                        pid) if (json_integer_value(pid) == party) return a;
    return NULL;
}

dc_err_t dd_agreement_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                          dd_problem_t *pb)
{
    json_t *a = of_party(svc, party, id);
    if (!a) return dd_problem(pb, 404, "not_found", "id", "no agreement '%.60s'", id);
    *out = json_deep_copy(json_object_get(a, "view"));
    return DC_OK;
}

dc_err_t dd_agreement_act(dd_service_t *svc, int64_t party, const char *id, const char *action,
                          json_t **out, dd_problem_t *pb)
{
    json_t *held = of_party(svc, party, id);
    if (!held) return dd_problem(pb, 404, "not_found", "id", "no agreement '%.60s'", id);
    /* Changed on a copy, which replaces the agreement in memory only once committed. */
    json_t *a = json_deep_copy(held);
    json_t *view = json_object_get(a, "view");
    const char *state = json_string_value(json_object_get(view, "state"));
    char me[DC_PARTY_NAME_MAX], t[DC_TIME_RFC3339_MAX];
    dd_party_name(svc, party, me);
    json_t *accepted = json_object_get(view, "accepted");
    const char *to = NULL, *event = NULL;
    bool proposed = strcmp(state, "proposed") == 0, wp = strcmp(state, "withdrawal_proposed") == 0;
    if (strcmp(action, "accept") == 0 && (proposed || wp)) {
        /* Accepting the proposal, or the proposal to withdraw it. */
        if (!is_participant(accepted, me)) json_array_append_new(accepted, json_string(me));
        bool all = json_array_size(accepted) == json_array_size(json_object_get(view, "parties"));
        to = all ? (proposed ? "active" : "withdrawn") : state;
        event =
            all ? (proposed ? "agreement.active" : "agreement.withdrawn") : "agreement.accepted";
    } else if (strcmp(action, "reject") == 0 && (proposed || wp)) {
        to = proposed ? "rejected" : "active"; /* a rejected withdrawal leaves it in force */
        event = proposed ? "agreement.rejected" : "agreement.withdrawal_rejected";
        json_array_clear(accepted);
        if (wp) json_array_extend(accepted, json_object_get(view, "parties"));
    } else if (strcmp(action, "withdraw") == 0 && strcmp(state, "active") == 0) {
        to = "withdrawal_proposed";
        event = "agreement.withdrawal_proposed";
        json_array_clear(accepted);
        json_array_append_new(accepted, json_string(me));
        json_object_set_new(view, "withdrawal_proposed_by", json_string(me));
    } else if (strcmp(action, "accept") == 0 || strcmp(action, "reject") == 0 ||
               strcmp(action, "withdraw") == 0) {
        dd_problem(pb, 409, "invalid_transition", "state", "cannot %s a %s agreement", action,
                   state);
        json_decref(a);
        return DC_ERR_CONFLICT;
    } else {
        json_decref(a);
        return dd_problem(pb, 404, "not_found", "", "no such action '%.40s'", action);
    }
    json_object_set_new(view, "state", json_string(to));
    json_object_set_new(view, "updated", json_string(time_text(dd_now_s(), t)));
    json_object_set_new(a, "state", json_string(to));
    dc_err_t rc = commit_agreement(svc, a, event, party);
    if (rc != DC_OK) {
        json_decref(a);
        return dd_problem(pb, 500, "store_failed", "", "the store refused it");
    }
    *out = json_deep_copy(view);
    json_object_set_new(svc->agreements, id, a);
    return DC_OK;
}

/* ---- restore ---- */

static void restore(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    json_t *view = json_loads(doc->view_a, 0, NULL);
    const char *id = json_string_value(json_object_get(view, "id"));
    if (!id || json_object_get(svc->agreements, id)) {
        json_decref(view);
        return;
    }
    json_t *ids = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(view, "parties"), i, n) json_object_set_new(
        ids, json_string_value(n), json_integer(party_id(svc, json_string_value(n))));
    double t0 = 0, t1 = 0;
    dc_time_parse_rfc3339(json_string_value(json_object_get(view, "time_start")), &t0);
    dc_time_parse_rfc3339(json_string_value(json_object_get(view, "time_end")), &t1);
    json_t *a =
        json_pack("{s:o, s:o, s:f, s:f, s:O, s:O, s:O, s:O}", "view", view, "ids", ids, "t0", t0,
                  "t1", t1, "constraint", json_object_get(view, "constraint"), "alt_lower_ft",
                  json_object_get(view, "alt_lower_ft"), "alt_upper_ft",
                  json_object_get(view, "alt_upper_ft"), "state", json_object_get(view, "state"));
    if (a) json_object_set_new(svc->agreements, id, a);
}

bool dd_agreements_open(dd_service_t *svc)
{
    svc->agreements = json_object();
    return svc->agreements && dc_store_doc_each(svc->store, "agreement", restore, svc) == DC_OK;
}
