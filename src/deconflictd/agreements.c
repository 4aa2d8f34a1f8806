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
 * Each active agreement's ground is held as regions of the library (dc_region_t: an area, or one
 * side of a line within its distance), built once when the agreement is proposed or restored,
 * and tested exactly: a track's position is a point in a region, an operation's volume meets a
 * region when its footprint does (covering an area whole or crossing a line counts, wherever
 * its vertices lie), its window overlaps the agreement's and its band may overlap the
 * agreement's (flight levels; a W84 end is widened by the strategic engine's FL/W84 margin). */

/* The ground of one agreement: the area's owner, or the line's left and right parties. */
typedef struct dd_agr_geom {
    char id[48];
    dc_region_t *ground[2];
    const char *owner_key[2]; /* the constraint member naming each ground's party */
} dd_agr_geom_t;

static dd_agr_geom_t *geom_of(dd_service_t *svc, const char *id)
{
    for (size_t i = 0; i < svc->n_agr_geoms; i++)
        if (strcmp(svc->agr_geoms[i].id, id) == 0) return &svc->agr_geoms[i];
    return NULL;
}

/* Reads [lat, lon] points (validated at proposal) for the region builders. */
static dc_latlon_t *latlon_points(json_t *pts, size_t *n)
{
    *n = json_array_size(pts);
    dc_latlon_t *ll = malloc((*n ? *n : 1) * sizeof(*ll));
    for (size_t i = 0; ll && i < *n; i++) {
        ll[i].lat_deg = json_number_value(json_array_get(json_array_get(pts, i), 0));
        ll[i].lon_deg = json_number_value(json_array_get(json_array_get(pts, i), 1));
    }
    return ll;
}

/* Builds the regions of constraint c; DC_OK, or the library's error with err saying where (its
 * field relative to the constraint). */
static dc_err_t build_ground(json_t *c, dd_agr_geom_t *g, dc_strategic_error_t *err)
{
    memset(g->ground, 0, sizeof(g->ground));
    json_t *area = json_object_get(c, "area");
    size_t n;
    dc_latlon_t *ll = latlon_points(area ? area : json_object_get(c, "line"), &n);
    if (!ll) return DC_ERR_NOMEM;
    dc_err_t rc;
    if (area) {
        g->owner_key[0] = "owner", g->owner_key[1] = NULL;
        rc = dc_region_area_new(ll, n, &g->ground[0], err);
    } else {
        double w_m = json_number_value(json_object_get(c, "within_nm")) * 1852.0;
        g->owner_key[0] = "left", g->owner_key[1] = "right";
        rc = dc_region_side_new(ll, n, w_m, 1, &g->ground[0], err);
        if (rc == DC_OK) rc = dc_region_side_new(ll, n, w_m, -1, &g->ground[1], err);
    }
    free(ll);
    if (rc != DC_OK) dc_region_free(g->ground[0]), g->ground[0] = NULL;
    return rc;
}

/* Keeps the regions of agreement id (taking over g's). */
static dc_err_t keep_ground(dd_service_t *svc, const char *id, dd_agr_geom_t *g)
{
    if (svc->n_agr_geoms == svc->cap_agr_geoms) {
        size_t cap = svc->cap_agr_geoms ? 2 * svc->cap_agr_geoms : 8;
        dd_agr_geom_t *p = realloc(svc->agr_geoms, cap * sizeof(*p));
        if (!p) return DC_ERR_NOMEM;
        svc->agr_geoms = p, svc->cap_agr_geoms = cap;
    }
    snprintf(g->id, sizeof(g->id), "%s", id);
    svc->agr_geoms[svc->n_agr_geoms++] = *g;
    return DC_OK;
}

void dd_agreements_close(dd_service_t *svc)
{
    for (size_t i = 0; i < svc->n_agr_geoms; i++)
        dc_region_free(svc->agr_geoms[i].ground[0]), dc_region_free(svc->agr_geoms[i].ground[1]);
    free(svc->agr_geoms);
    svc->agr_geoms = NULL, svc->n_agr_geoms = svc->cap_agr_geoms = 0;
    json_decref(svc->agreements);
    svc->agreements = NULL;
}

/* The agreements that bind party now: active (or asked to be withdrawn), and involving it. */
static bool binds(json_t *a, int64_t party)
{
    const char *state = json_string_value(json_object_get(a, "state"));
    if (strcmp(state, "active") != 0 && strcmp(state, "withdrawal_proposed") != 0) return false;
    const char *name;
    json_t *pid;
    json_object_foreach(json_object_get(a, "ids"), name,
                        pid) if (json_integer_value(pid) == party) return true;
    return false;
}

/* The other party whose ground of agreement a (regions g) `meets` says is entered, or 0. */
static int64_t ground_entered(json_t *a, const dd_agr_geom_t *g, int64_t party,
                              bool (*meets)(const dc_region_t *r, const void *what),
                              const void *what)
{
    json_t *c = json_object_get(a, "constraint");
    for (int k = 0; k < 2; k++) {
        if (!g->ground[k] || !g->owner_key[k]) continue;
        const char *owner = json_string_value(json_object_get(c, g->owner_key[k]));
        int64_t q =
            owner ? json_integer_value(json_object_get(json_object_get(a, "ids"), owner)) : 0;
        if (q && q != party && meets(g->ground[k], what)) return q;
    }
    return 0;
}

static bool point_in(const dc_region_t *r, const void *what)
{
    const double *ll = what;
    return dc_region_contains(r, ll[0], ll[1]);
}

static bool footprint_meets(const dc_region_t *r, const void *what)
{
    return dc_region_meets_footprint(r, what) != 0; /* undecided (-1): on the safe side */
}

int64_t dd_agreement_violated(dd_service_t *svc, int64_t party, double lat_deg, double lon_deg,
                              double alt_ft, double t_s, const char **agreement_id)
{
    const char *id;
    json_t *a;
    json_object_foreach(svc->agreements, id, a)
    {
        if (!binds(a, party)) continue;
        if (t_s < json_real_value(json_object_get(a, "t0")) ||
            t_s > json_real_value(json_object_get(a, "t1")) ||
            alt_ft < json_number_value(json_object_get(a, "alt_lower_ft")) ||
            alt_ft > json_number_value(json_object_get(a, "alt_upper_ft")))
            continue;
        const dd_agr_geom_t *g = geom_of(svc, id);
        double ll[2] = {lat_deg, lon_deg};
        int64_t q = g ? ground_entered(a, g, party, point_in, ll) : 0;
        if (q) {
            *agreement_id = id;
            return q;
        }
    }
    return 0;
}

/* Whether a volume's band may overlap the agreement's, which is in flight levels (feet of
 * pressure altitude, as tracks report): a W84 end is compared with the strategic engine's
 * FL/W84 margin added, so that no possible overlap is missed. */
static bool band_may_overlap(const dc_volume4d_t *vol, double lo_ft, double hi_ft, double margin_m)
{
    double lo = vol->alt_lower_m - (vol->alt_lower_ref == DC_ALT_REF_W84 ? margin_m : 0);
    double hi = vol->alt_upper_m + (vol->alt_upper_ref == DC_ALT_REF_W84 ? margin_m : 0);
    return lo < hi_ft * 0.3048 && hi > lo_ft * 0.3048;
}

int64_t dd_agreement_violated_by(dd_service_t *svc, int64_t party, const dc_operation_t *op,
                                 const char **agreement_id)
{
    if (json_object_size(svc->agreements) == 0) return 0;
    dc_strategic_config_t scfg;
    dc_strategic_config_default(&scfg);
    const char *id;
    json_t *a;
    json_object_foreach(svc->agreements, id, a)
    {
        if (!binds(a, party)) continue;
        const dd_agr_geom_t *g = geom_of(svc, id);
        for (size_t v = 0; g && v < op->n_volumes; v++) {
            const dc_volume4d_t *vol = &op->volumes[v];
            if (vol->t_end_s <= json_real_value(json_object_get(a, "t0")) ||
                vol->t_start_s >= json_real_value(json_object_get(a, "t1")) ||
                !band_may_overlap(vol, json_number_value(json_object_get(a, "alt_lower_ft")),
                                  json_number_value(json_object_get(a, "alt_upper_ft")),
                                  scfg.fl_w84_margin_m))
                continue;
            int64_t q = ground_entered(a, g, party, footprint_meets, vol);
            if (q) {
                *agreement_id = id;
                return q;
            }
        }
    }
    return 0;
}

/* ---- validation ---- */

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

void dd_agreement_req_clear(dd_agreement_req_t *r)
{
    json_decref(r->names), json_decref(r->constraint);
    if (r->geom) dc_region_free(r->geom->ground[0]), dc_region_free(r->geom->ground[1]);
    free(r->geom);
    memset(r, 0, sizeof(*r));
}

dc_err_t dd_agreement_parse(json_t *body, const char *me, dd_agreement_req_t *r, dd_problem_t *pb)
{
    memset(r, 0, sizeof(*r));
    json_t *others = json_object_get(body, "parties"), *c = json_object_get(body, "constraint");
    json_t *lo = r->lo = json_object_get(body, "alt_lower_ft"),
           *hi = r->hi = json_object_get(body, "alt_upper_ft");
    const char *t0s = r->t0s = json_string_value(json_object_get(body, "time_start"));
    const char *t1s = r->t1s = json_string_value(json_object_get(body, "time_end"));
    json_t *text = r->text = json_object_get(body, "text");
    if (!json_is_array(others) || json_array_size(others) < 1 ||
        json_array_size(others) >= AGR_PARTIES_MAX)
        return dd_problem(pb, 400, "invalid_argument", "parties",
                          "parties: the other parties that must accept, 1 to 7 names");
    json_t *names = r->names = json_array();
    json_array_append_new(names, json_string(me));
    size_t i;
    json_t *n;
    json_array_foreach(others, i, n)
    {
        const char *name = json_string_value(n);
        if (!name || !dc_party_name_valid(name) || is_participant(names, name)) {
            dd_agreement_req_clear(r);
            return dd_problem(pb, 400, "invalid_argument", "parties",
                              "parties/%zu: not another party (or named twice)", i);
        }
        json_array_append(names, n);
    }
    r->geom = calloc(1, sizeof(*r->geom));
    if (!r->geom) {
        dd_agreement_req_clear(r);
        return dd_problem(pb, 500, "out_of_memory", "", "out of memory");
    }
    dd_agr_geom_t geom = {{0}, {NULL, NULL}, {NULL, NULL}};
    const char *bad = NULL;
    char msg[400];
    json_t *constraint = json_deep_copy(c);
    if (!json_is_object(c)) {
        bad = "constraint: expected {area, owner} or {line, left, right[, within_nm]}";
    } else if (json_object_get(c, "area")) {
        if (!points_ok(json_object_get(constraint, "area"), 3))
            bad = "constraint/area: 3 to 1000 [lat, lon] points, in degrees";
        else if (!is_participant(names, json_string_value(json_object_get(c, "owner"))))
            bad = "constraint/owner: one of the parties";
    } else if (json_object_get(c, "line")) {
        json_t *w = json_object_get(c, "within_nm");
        if (!points_ok(json_object_get(constraint, "line"), 2))
            bad = "constraint/line: 2 to 1000 [lat, lon] points, in degrees";
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
    /* The ground itself, built once: the geometry rules of the region builders (an area as a
     * volume's footprint, a line not crossing itself, within its extent). */
    dc_strategic_error_t gerr;
    memset(&gerr, 0, sizeof(gerr));
    dc_err_t grc = bad ? DC_OK : build_ground(constraint, &geom, &gerr);
    if (grc == DC_ERR_NOMEM) {
        json_decref(constraint);
        dd_agreement_req_clear(r);
        return dd_problem(pb, 500, "out_of_memory", "", "out of memory");
    }
    if (grc != DC_OK) {
        snprintf(msg, sizeof(msg), "constraint/%s: %s",
                 strcmp(gerr.field, "within") == 0 ? "within_nm" : gerr.field, gerr.message);
        bad = msg;
    }
    double t0 = 0, t1 = 0;
    if (!bad && (!json_is_number(lo) || !json_is_number(hi) ||
                 json_number_value(lo) >= json_number_value(hi)))
        bad = "alt_lower_ft, alt_upper_ft: feet of pressure altitude (flight level x 100), "
              "lower below upper";
    if (!bad && (!t0s || !t1s || dc_time_parse_rfc3339(t0s, &t0) != DC_OK ||
                 dc_time_parse_rfc3339(t1s, &t1) != DC_OK || t1 <= t0))
        bad = "time_start, time_end: RFC 3339 times, start before end";
    if (!bad)
        bad = band_and_window_problem(json_number_value(lo), json_number_value(hi), t0, t1, msg,
                                      sizeof(msg));
    if (!bad && text &&
        (!json_is_string(text) || !dc_msg_text_ok(json_string_value(text), DC_MSG_TEXT_MAX)))
        bad = "text: at most 4000 bytes, no control characters";
    if (bad) {
        dc_region_free(geom.ground[0]), dc_region_free(geom.ground[1]);
        json_decref(constraint);
        dd_agreement_req_clear(r);
        char field[64];
        snprintf(field, sizeof(field), "%.*s", (int)strcspn(bad, ":,"), bad);
        return dd_problem(pb, 400, "invalid_argument", field, "%s", bad);
    }
    r->constraint = constraint;
    *r->geom = geom;
    r->t0 = t0, r->t1 = t1;
    return DC_OK;
}

dc_err_t dd_agreement_propose(dd_service_t *svc, int64_t party, json_t *body, json_t **out,
                              dd_problem_t *pb)
{
    char me[DC_PARTY_NAME_MAX];
    dd_party_name(svc, party, me);
    /* The names first: "no such party" is the first thing a proposer needs to hear. */
    size_t i;
    json_t *n;
    json_t *named = json_object_get(body, "parties");
    json_array_foreach(
        json_is_array(named) && json_array_size(named) < AGR_PARTIES_MAX ? named : NULL, i, n)
    {
        int64_t id = json_is_string(n) ? party_id(svc, json_string_value(n)) : 0;
        if (!id || id == party)
            return dd_problem(pb, 400, "invalid_argument", "parties",
                              "parties/%zu: not another party (or named twice)", i);
    }
    dd_agreement_req_t r;
    dc_err_t rc = dd_agreement_parse(body, me, &r, pb);
    if (rc != DC_OK) return rc;
    /* The parties named must exist: each other name to its id. */
    json_t *ids = json_object();
    json_object_set_new(ids, me, json_integer(party));
    json_array_foreach(r.names, i, n)
    {
        if (i == 0) continue;
        int64_t id = party_id(svc, json_string_value(n));
        if (!id || id == party) {
            json_decref(ids);
            dd_agreement_req_clear(&r);
            return dd_problem(pb, 400, "invalid_argument", "parties",
                              "parties/%zu: not another party (or named twice)", i - 1);
        }
        json_object_set_new(ids, json_string_value(n), json_integer(id));
    }
    json_t *lo = r.lo, *hi = r.hi, *text = r.text, *names = r.names;
    const char *t0s = r.t0s, *t1s = r.t1s;
    double t0 = r.t0, t1 = r.t1;
    json_t *constraint = json_incref(r.constraint);
    json_t *others = json_object_get(body, "parties");
    dd_agr_geom_t geom = *r.geom;
    r.geom->ground[0] = r.geom->ground[1] = NULL; /* taken over */
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
    rc = commit_agreement(svc, a, "agreement.proposed", party);
    if (rc == DC_OK) rc = keep_ground(svc, id, &geom);
    if (rc != DC_OK) {
        dc_region_free(geom.ground[0]), dc_region_free(geom.ground[1]);
        json_decref(a);
        dd_agreement_req_clear(&r);
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
    dd_agreement_req_clear(&r);
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
    /* Its ground: one an older build accepted that the region builders refuse (a line across
     * itself, say) is kept as a document but binds nothing, and that is said. */
    dd_agr_geom_t geom;
    dc_strategic_error_t err;
    memset(&err, 0, sizeof(err));
    if (a && build_ground(json_object_get(a, "constraint"), &geom, &err) == DC_OK) {
        if (keep_ground(svc, id, &geom) != DC_OK)
            dc_region_free(geom.ground[0]), dc_region_free(geom.ground[1]);
    } else if (a) {
        fprintf(stderr, "deconflictd: agreement %s is not checked: constraint/%s: %s\n", id,
                err.field, err.message);
    }
    if (a) json_object_set_new(svc->agreements, id, a);
}

bool dd_agreements_open(dd_service_t *svc)
{
    svc->agreements = json_object();
    return svc->agreements && dc_store_doc_each(svc->store, "agreement", restore, svc) == DC_OK;
}
