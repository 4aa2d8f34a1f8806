/* Agreements: see agreements.h and docs/hotline.md. */
#include "core/agreements.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/commit.h"
#include "core/events.h"
#include "core/messages.h"
#include "core/parties.h"
#include "deconflict/timefmt.h"

/* An agreement as the service holds it: its shared view (the document every participant has),
 * and what the checks read, as structures. */
typedef struct dd_agreement {
    char id[DD_ID_MAX];
    json_t *view;
    dd_agr_state_t state;
    size_t n_parties;
    int64_t party[DD_AGR_PARTIES_MAX];
    char name[DD_AGR_PARTIES_MAX][DC_PARTY_NAME_MAX];
    double t0_s, t1_s, alt_lower_ft, alt_upper_ft;
    dd_agr_ground_t ground;  /* regions NULL: kept, but checked against nothing */
    int64_t ground_party[2]; /* the party each region is given to */
} dd_agreement_t;

static const char *const state_names[] = {
    [DD_AGR_PROPOSED] = "proposed",   [DD_AGR_ACTIVE] = "active",
    [DD_AGR_REJECTED] = "rejected",   [DD_AGR_WITHDRAWAL_PROPOSED] = "withdrawal_proposed",
    [DD_AGR_WITHDRAWN] = "withdrawn",
};

static bool state_parse(const char *s, dd_agr_state_t *out)
{
    for (size_t i = 0; s && i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (dd_agr_state_t)i;
            return true;
        }
    return false;
}

/* ---- the ground ---- */

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

dc_err_t dd_agreement_ground(json_t *constraint, dd_agr_ground_t *g, dc_strategic_error_t *err)
{
    memset(g, 0, sizeof(*g));
    json_t *area = json_object_get(constraint, "area");
    size_t n;
    dc_latlon_t *ll = latlon_points(area ? area : json_object_get(constraint, "line"), &n);
    if (!ll) return DC_ERR_NOMEM;
    dc_err_t rc;
    if (area) {
        g->owner_key[0] = "owner";
        rc = dc_region_area_new(ll, n, &g->region[0], err);
    } else {
        double w_m = json_number_value(json_object_get(constraint, "within_nm")) * 1852.0;
        g->owner_key[0] = "left", g->owner_key[1] = "right";
        rc = dc_region_side_new(ll, n, w_m, 1, &g->region[0], err);
        if (rc == DC_OK) rc = dc_region_side_new(ll, n, w_m, -1, &g->region[1], err);
    }
    free(ll);
    if (rc != DC_OK) dd_agreement_ground_clear(g);
    return rc;
}

void dd_agreement_ground_clear(dd_agr_ground_t *g)
{
    dc_region_free(g->region[0]);
    dc_region_free(g->region[1]);
    memset(g, 0, sizeof(*g));
}

void dd_agreement_req_clear(dd_agreement_req_t *r)
{
    json_decref(r->constraint);
    free(r->text);
    dd_agreement_ground_clear(&r->ground);
    memset(r, 0, sizeof(*r));
}

/* The party each region is given to: the constraint's owner/left/right, by name. */
static void resolve_ground_parties(dd_agreement_t *a)
{
    json_t *c = json_object_get(a->view, "constraint");
    for (int k = 0; k < 2; k++) {
        a->ground_party[k] = 0;
        const char *owner = a->ground.owner_key[k]
                                ? json_string_value(json_object_get(c, a->ground.owner_key[k]))
                                : NULL;
        for (size_t i = 0; owner && i < a->n_parties; i++)
            if (strcmp(a->name[i], owner) == 0) a->ground_party[k] = a->party[i];
    }
}

static void agreement_free(dd_agreement_t *a)
{
    if (!a) return;
    json_decref(a->view);
    dd_agreement_ground_clear(&a->ground);
    free(a);
}

/* ---- the checks ---- */

static bool takes_part(const dd_agreement_t *a, int64_t party)
{
    for (size_t i = 0; i < a->n_parties; i++)
        if (a->party[i] == party) return true;
    return false;
}

/* In force for party: active, or asked to be withdrawn (still active until all accept). */
static bool binds(const dd_agreement_t *a, int64_t party)
{
    return (a->state == DD_AGR_ACTIVE || a->state == DD_AGR_WITHDRAWAL_PROPOSED) &&
           takes_part(a, party);
}

int64_t dd_agreement_violated(dd_service_t *svc, int64_t party, double lat_deg, double lon_deg,
                              double alt_ft, double t_s, const char **agreement_id)
{
    for (size_t i = 0; i < svc->agreements.cap; i++) {
        const dd_agreement_t *a =
            svc->agreements.slots[i].key ? svc->agreements.slots[i].val : NULL;
        if (!a || !binds(a, party) || t_s < a->t0_s || t_s > a->t1_s || alt_ft < a->alt_lower_ft ||
            alt_ft > a->alt_upper_ft)
            continue;
        for (int k = 0; k < 2; k++) {
            int64_t q = a->ground_party[k];
            if (a->ground.region[k] && q && q != party &&
                dc_region_contains(a->ground.region[k], lat_deg, lon_deg)) {
                *agreement_id = a->id;
                return q;
            }
        }
    }
    return 0;
}

int64_t dd_agreement_ahead(dd_service_t *svc, int64_t party, const dc_track_state_t *st, double now,
                           double lookahead_s, double step_s, const char **agreement_id,
                           double *tte_s)
{
    *tte_s = 0;
    int64_t q =
        dd_agreement_violated(svc, party, st->lat_deg, st->lon_deg, st->alt_ft, now, agreement_id);
    /* Every track bound by an agreement steps through the look-ahead, a still one too: an
     * agreement whose window is about to open is entered where the aircraft hovers. */
    bool bound = false;
    for (size_t i = 0; !q && !bound && i < svc->agreements.cap; i++)
        bound = svc->agreements.slots[i].key && binds(svc->agreements.slots[i].val, party);
    for (double dt = step_s; bound && !q && dt <= lookahead_s + 1e-9; dt += step_s) {
        double lat, lon, alt;
        dc_track_state_at(st, now + dt, &lat, &lon, &alt);
        q = dd_agreement_violated(svc, party, lat, lon, alt, now + dt, agreement_id);
        *tte_s = dt;
    }
    return q;
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
                                 const dc_strategic_prepared_t *p, const char **agreement_id)
{
    if (!svc->agreements.len) return 0;
    dc_strategic_config_t scfg;
    dc_strategic_config_default(&scfg);
    for (size_t i = 0; i < svc->agreements.cap; i++) {
        const dd_agreement_t *a =
            svc->agreements.slots[i].key ? svc->agreements.slots[i].val : NULL;
        if (!a || !binds(a, party)) continue;
        for (size_t v = 0; v < op->n_volumes; v++) {
            const dc_volume4d_t *vol = &op->volumes[v];
            if (vol->t_end_s <= a->t0_s || vol->t_start_s >= a->t1_s ||
                !band_may_overlap(vol, a->alt_lower_ft, a->alt_upper_ft, scfg.fl_w84_margin_m))
                continue;
            for (int k = 0; k < 2; k++) {
                int64_t q = a->ground_party[k];
                /* Undecided (-1) counts as met: on the safe side. */
                if (a->ground.region[k] && q && q != party &&
                    dc_region_meets_prepared(a->ground.region[k], p, v) != 0) {
                    *agreement_id = a->id;
                    return q;
                }
            }
        }
    }
    return 0;
}

/* ---- the documents: one writer ---- */

/* Writes every participant's copy of a's view (all share it) and appends event to each. */
static dc_err_t put_agreement(dd_service_t *svc, const dd_agreement_t *a, const char *event,
                              int64_t actor, double now)
{
    char *text = dd_json_text(a->view);
    if (!text) return DC_ERR_NOMEM;
    dc_err_t rc = DC_OK;
    for (size_t i = 0; i < a->n_parties && rc == DC_OK; i++) {
        char doc_id[80];
        snprintf(doc_id, sizeof(doc_id), "%s:%lld", a->id, (long long)a->party[i]);
        dc_doc_t doc = {"agreement",           doc_id, a->party[i], 0, text, NULL,
                        state_names[a->state], now,    actor};
        rc = dc_store_doc_put(svc->store, &doc);
        if (rc == DC_OK) rc = dd_event_text(svc, a->party[i], event, text, now);
    }
    free(text);
    return rc;
}

/* ---- proposal ---- */

dc_err_t dd_agreement_check_names(dd_service_t *svc, int64_t party, const char *const *names,
                                  size_t n, dd_fault_t *f)
{
    dc_err_t rc = DC_OK;
    dd_read_lock(svc);
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        int64_t id = names[i] ? dd_party_id(svc, names[i]) : 0;
        if (!id || id == party)
            rc = dd_fail(f, DC_ERR_INVALID, "parties",
                         "parties/%zu: not another party (or named twice)", i);
    }
    dd_read_unlock(svc);
    return rc;
}

/* The request sent over the hotline to each other party: where to accept, and the proposal's
 * text cut to fit a message at a character boundary. */
static void send_requests(dd_service_t *svc, int64_t party, const dd_agreement_t *a,
                          const char *text, double now)
{
    const char *desc = text ? text : "";
    int desc_len = (int)strlen(desc);
    while (desc_len > 3500) {
        desc_len--;
        while (desc_len > 0 && ((unsigned char)desc[desc_len] & 0xC0) == 0x80) desc_len--;
    }
    size_t cap = (size_t)desc_len + 256;
    char *request = malloc(cap);
    for (size_t i = 1; request && i < a->n_parties; i++) {
        snprintf(request, cap,
                 "Agreement %s proposed by %s: accept with POST /v1/agreements/%s/accept%s%.*s",
                 a->id, a->name[0], a->id, desc_len ? ". " : "", desc_len, desc);
        json_t *fields = json_pack("{s:s}", "request", request);
        dd_message_req_t m = {.to = a->name[i],
                              .cat = DC_MSG_DECONFLICTION_REQUEST,
                              .priority = DC_MSG_URGENT,
                              .ack_required = true,
                              .deadline_s = 300,
                              .fields = fields};
        json_t *sent = NULL;
        dd_fault_t mf;
        if (dd_message_send(svc, party, &m, now, &sent, &mf) != DC_OK)
            fprintf(stderr, "deconflictd: agreement %s: the request to %s was not sent: %s\n",
                    a->id, a->name[i], mf.detail);
        json_decref(sent), json_decref(fields);
    }
    free(request);
}

/* The agreement of proposal r by party, its view as stored (NULL without memory). */
static dd_agreement_t *from_request(dd_service_t *svc, int64_t party, dd_agreement_req_t *r,
                                    double now)
{
    dd_agreement_t *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    dd_random_id("agr_", a->id, sizeof(a->id));
    a->state = DD_AGR_PROPOSED;
    a->n_parties = r->n_names;
    json_t *names = json_array();
    for (size_t i = 0; i < r->n_names; i++) {
        snprintf(a->name[i], sizeof(a->name[i]), "%s", r->names[i]);
        a->party[i] = i == 0 ? party : dd_party_id(svc, r->names[i]);
        json_array_append_new(names, json_string(r->names[i]));
    }
    a->t0_s = r->t0_s, a->t1_s = r->t1_s;
    a->alt_lower_ft = r->alt_lower_ft, a->alt_upper_ft = r->alt_upper_ft;
    char t[40];
    dd_time_text(now, t);
    a->view = json_pack("{s:s, s:s, s:s, s:o, s:[s], s:O, s:f, s:f, s:s, s:s, s:s, s:s}", "id",
                        a->id, "state", "proposed", "proposer", a->name[0], "parties", names,
                        "accepted", a->name[0], "constraint", r->constraint, "alt_lower_ft",
                        r->alt_lower_ft, "alt_upper_ft", r->alt_upper_ft, "time_start",
                        r->time_start, "time_end", r->time_end, "created", t, "updated", t);
    if (a->view && r->text) json_object_set_new(a->view, "text", json_string(r->text));
    if (!a->view) {
        free(a);
        return NULL;
    }
    a->ground = r->ground; /* taken over */
    memset(&r->ground, 0, sizeof(r->ground));
    resolve_ground_parties(a);
    return a;
}

dc_err_t dd_agreement_propose(dd_service_t *svc, int64_t party, dd_agreement_req_t *r, double now,
                              json_t **out, dd_fault_t *f)
{
    *out = NULL;
    dd_write_lock(svc);
    dd_agreement_t *a = from_request(svc, party, r, now);
    dc_err_t rc = a ? DC_OK : dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    for (size_t i = 1; a && i < a->n_parties && rc == DC_OK; i++)
        if (!a->party[i] || a->party[i] == party) /* disabled since the names were checked */
            rc = dd_fail(f, DC_ERR_INVALID, "parties",
                         "parties/%zu: not another party (or named twice)", i - 1);
    if (rc == DC_OK && (rc = dd_tx_start(svc, f)) == DC_OK) {
        if (put_agreement(svc, a, "agreement.proposed", party, now) != DC_OK)
            rc = dd_fail(f, DC_ERR_STORE, "", "the store refused the agreement: %s",
                         dc_store_last_error(svc->store));
        rc = dd_tx_finish(svc, rc, f);
    }
    if (rc == DC_OK && !dd_table_put(&svc->agreements, a->id, a))
        rc = dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    dd_write_unlock(svc);
    if (rc != DC_OK) {
        agreement_free(a);
        return rc;
    }
    /* The proposal goes over the hotline too: a deconfliction request to each other party. */
    send_requests(svc, party, a, r->text, now);
    dd_read_lock(svc);
    *out = json_deep_copy(a->view);
    dd_read_unlock(svc);
    return DC_OK;
}

/* ---- reading ---- */

static void collect(const char *id, const char *view, void *ctx)
{
    (void)id;
    json_t *v = json_loads(view, 0, NULL);
    if (v) json_array_append_new(ctx, v);
}

dc_err_t dd_agreement_list(dd_service_t *svc, int64_t party, json_t **out, dd_fault_t *f)
{
    json_t *items = json_array();
    dd_read_lock(svc);
    dc_err_t rc = dc_store_doc_list(svc->store, "agreement", party, NULL, collect, items);
    dd_read_unlock(svc);
    if (rc != DC_OK) {
        json_decref(items);
        return dd_fail(f, DC_ERR_STORE, "", "the store could not be read");
    }
    *out = json_pack("{s:o}", "agreements", items);
    return DC_OK;
}

static dd_agreement_t *of_party(dd_service_t *svc, int64_t party, const char *id)
{
    dd_agreement_t *a = dd_table_get(&svc->agreements, id);
    return a && takes_part(a, party) ? a : NULL;
}

dc_err_t dd_agreement_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                          dd_fault_t *f)
{
    dd_read_lock(svc);
    dd_agreement_t *a = of_party(svc, party, id);
    *out = a ? json_deep_copy(a->view) : NULL;
    dd_read_unlock(svc);
    return a ? DC_OK : dd_fail(f, DC_ERR_NOT_FOUND, "id", "no agreement '%.60s'", id);
}

/* ---- acceptance, rejection, withdrawal ---- */

static bool named_in(json_t *list, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n) if (strcmp(json_string_value(n), name) == 0) return true;
    return false;
}

/* Applies action by party (named me) to view (a copy) in state from: the new state and event,
 * or a fault. */
static dc_err_t transition(json_t *view, dd_agr_state_t from, const char *action, const char *me,
                           dd_agr_state_t *to, const char **event, dd_fault_t *f)
{
    json_t *accepted = json_object_get(view, "accepted");
    bool proposed = from == DD_AGR_PROPOSED, wp = from == DD_AGR_WITHDRAWAL_PROPOSED;
    bool known = strcmp(action, "accept") == 0 || strcmp(action, "reject") == 0 ||
                 strcmp(action, "withdraw") == 0;
    if (!known) return dd_fail(f, DC_ERR_NOT_FOUND, "", "no such action '%.40s'", action);
    if (strcmp(action, "accept") == 0 && (proposed || wp)) {
        /* Accepting the proposal, or the proposal to withdraw it. */
        if (!named_in(accepted, me)) json_array_append_new(accepted, json_string(me));
        bool all = json_array_size(accepted) == json_array_size(json_object_get(view, "parties"));
        *to = all ? (proposed ? DD_AGR_ACTIVE : DD_AGR_WITHDRAWN) : from;
        *event =
            all ? (proposed ? "agreement.active" : "agreement.withdrawn") : "agreement.accepted";
    } else if (strcmp(action, "reject") == 0 && (proposed || wp)) {
        *to = proposed ? DD_AGR_REJECTED : DD_AGR_ACTIVE; /* a rejected withdrawal leaves it */
        *event = proposed ? "agreement.rejected" : "agreement.withdrawal_rejected";
        json_array_clear(accepted);
        if (wp) json_array_extend(accepted, json_object_get(view, "parties"));
    } else if (strcmp(action, "withdraw") == 0 && from == DD_AGR_ACTIVE) {
        *to = DD_AGR_WITHDRAWAL_PROPOSED;
        *event = "agreement.withdrawal_proposed";
        json_array_clear(accepted);
        json_array_append_new(accepted, json_string(me));
        json_object_set_new(view, "withdrawal_proposed_by", json_string(me));
    } else {
        return dd_fail(f, DC_ERR_TRANSITION, "state", "cannot %s a %s agreement", action,
                       state_names[from]);
    }
    return DC_OK;
}

dc_err_t dd_agreement_act(dd_service_t *svc, int64_t party, const char *id, const char *action,
                          double now, json_t **out, dd_fault_t *f)
{
    *out = NULL;
    dd_write_lock(svc);
    dd_agreement_t *a = of_party(svc, party, id);
    if (!a) {
        dd_write_unlock(svc);
        return dd_fail(f, DC_ERR_NOT_FOUND, "id", "no agreement '%.60s'", id);
    }
    char me[DC_PARTY_NAME_MAX], t[40];
    dd_party_name(svc, party, me);
    /* Changed on a copy, which replaces the view only once committed. */
    json_t *view = json_deep_copy(a->view);
    dd_agr_state_t to = a->state;
    const char *event = NULL;
    dc_err_t rc = view ? transition(view, a->state, action, me, &to, &event, f)
                       : dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    if (rc == DC_OK) {
        json_object_set_new(view, "state", json_string(state_names[to]));
        json_object_set_new(view, "updated", json_string(dd_time_text(now, t)));
        dd_agreement_t next = *a;
        next.view = view, next.state = to;
        if ((rc = dd_tx_start(svc, f)) == DC_OK) {
            if (put_agreement(svc, &next, event, party, now) != DC_OK)
                rc = dd_fail(f, DC_ERR_STORE, "", "the store refused it: %s",
                             dc_store_last_error(svc->store));
            rc = dd_tx_finish(svc, rc, f);
        }
    }
    if (rc == DC_OK) {
        json_decref(a->view);
        a->view = view, a->state = to;
        *out = json_deep_copy(view);
    } else {
        json_decref(view);
    }
    dd_write_unlock(svc);
    return rc;
}

/* ---- restore ---- */

/* Reads agreement document doc into the table; replace: an agreement held under its id gives
 * way to it (every participant's copy is the same view: the first read serves). */
static void read_doc(dd_service_t *svc, const dc_doc_t *doc, bool replace)
{
    json_t *view = json_loads(doc->view_a, 0, NULL);
    const char *id = json_string_value(json_object_get(view, "id"));
    dd_agreement_t *held = id ? dd_table_get(&svc->agreements, id) : NULL;
    if (held && replace) {
        dd_table_del(&svc->agreements, id);
        agreement_free(held);
        held = NULL;
    }
    dd_agreement_t *a = id && !held ? calloc(1, sizeof(*a)) : NULL;
    if (!a) {
        json_decref(view);
        return;
    }
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->view = view;
    if (!state_parse(json_string_value(json_object_get(view, "state")), &a->state))
        a->state = DD_AGR_REJECTED; /* unreadable: binds nothing */
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(view, "parties"), i, n)
    {
        if (a->n_parties == DD_AGR_PARTIES_MAX || !json_is_string(n)) break;
        snprintf(a->name[a->n_parties], DC_PARTY_NAME_MAX, "%s", json_string_value(n));
        a->party[a->n_parties++] = dd_party_id(svc, json_string_value(n));
    }
    dc_time_parse_rfc3339(json_string_value(json_object_get(view, "time_start")), &a->t0_s);
    dc_time_parse_rfc3339(json_string_value(json_object_get(view, "time_end")), &a->t1_s);
    a->alt_lower_ft = json_number_value(json_object_get(view, "alt_lower_ft"));
    a->alt_upper_ft = json_number_value(json_object_get(view, "alt_upper_ft"));
    /* Its ground: one an older build accepted that the region builders refuse (a line across
     * itself, say) is kept as a document but binds nothing, and that is said. */
    dc_strategic_error_t err;
    memset(&err, 0, sizeof(err));
    if (dd_agreement_ground(json_object_get(view, "constraint"), &a->ground, &err) != DC_OK)
        fprintf(stderr, "deconflictd: agreement %s is not checked: constraint/%s: %s\n", id,
                err.field, err.message);
    resolve_ground_parties(a);
    if (!dd_table_put(&svc->agreements, a->id, a)) agreement_free(a);
}

static void restore_one(const dc_doc_t *doc, void *ctx)
{
    read_doc(ctx, doc, false);
}

void dd_agreements_apply(dd_service_t *svc, const dc_doc_t *doc)
{
    read_doc(svc, doc, true);
}

bool dd_agreements_open(dd_service_t *svc)
{
    return dc_store_doc_each(svc->store, "agreement", restore_one, svc) == DC_OK;
}

void dd_agreements_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->agreements, (void (*)(void *))agreement_free);
}
