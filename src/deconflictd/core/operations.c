/* Operations: see operations.h. */
#include "core/operations.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agreements.h"
#include "core/format.h"
#include "core/commit.h"
#include "core/conflicts.h"
#include "core/events.h"
#include "core/parties.h"
#include "deconflict/timefmt.h"

/* ---- the registry ---- */

dd_op_t *dd_operation(dd_service_t *svc, const char *id)
{
    return dd_table_get(&svc->ops, id);
}

dd_op_t *dd_operation_by_ref(dd_service_t *svc, const char *ref)
{
    return dd_table_get(&svc->refs, ref);
}

/* Notes operation id of party in state (adding it when new). false without memory. */
static bool note_op(dd_service_t *svc, const char *id, const char *ref, int64_t party,
                    dc_op_state_t state)
{
    dd_op_t *o = dd_operation(svc, id);
    if (!o) {
        o = calloc(1, sizeof(*o));
        if (!o) return false;
        snprintf(o->id, sizeof(o->id), "%s", id);
        snprintf(o->ref, sizeof(o->ref), "%s", ref);
        o->party = party;
        if (!dd_table_put(&svc->ops, o->id, o)) {
            free(o);
            return false;
        }
        if (!dd_table_put(&svc->refs, o->ref, o)) {
            dd_table_del(&svc->ops, o->id);
            free(o);
            return false;
        }
    }
    o->state = state;
    return true;
}

static void forget_op(dd_service_t *svc, const char *id)
{
    dd_op_t *o = dd_table_del(&svc->ops, id);
    if (o) dd_table_del(&svc->refs, o->ref);
    free(o);
}

/* ---- the engine's operation ---- */

/* The engine names parties by their id, so that names can change without refiling. */
static void party_key(int64_t party, char out[DC_STRATEGIC_ID_MAX])
{
    snprintf(out, DC_STRATEGIC_ID_MAX, "p%lld", (long long)party);
}

/* The engine's operation for (party, id, ref, priority, volumes): the library's parser, which
 * normalises units and checks every rule but the footprints' geometry (prepare does that). */
static dc_err_t engine_operation(int64_t party, const char *id, const char *ref, int64_t priority,
                                 json_t *volumes, dc_operation_t *op, dd_fault_t *f)
{
    char key[DC_STRATEGIC_ID_MAX];
    party_key(party, key);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:O}", "id", id, "party", key, "ref", ref,
                          "priority", (json_int_t)priority, "volumes", volumes);
    if (!o) return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    dc_strategic_error_t err;
    dc_err_t rc = dc_operation_parse_unprepared(o, op, &err);
    json_decref(o);
    if (rc == DC_OK) return DC_OK;
    if (rc == DC_ERR_NOMEM) return dd_fail(f, rc, "", "out of memory");
    char field[200];
    if (err.volume_index >= 0)
        snprintf(field, sizeof(field), "volumes/%ld/%s", err.volume_index, err.field);
    else
        snprintf(field, sizeof(field), "%s", err.field);
    return dd_fail(f, rc, field, "%s: %s", field, err.message);
}

/* Prepares op (footprints built and checked once); the fault names the volume field. */
static dc_err_t prepare_op(dd_service_t *svc, const dc_operation_t *op,
                           dc_strategic_prepared_t **out, dd_fault_t *f)
{
    dc_strategic_error_t err;
    dc_err_t rc = dc_strategic_prepare(svc->strategic, op, out, &err);
    if (rc == DC_OK) return DC_OK;
    if (rc == DC_ERR_NOMEM) return dd_fail(f, rc, "", "out of memory");
    char field[200];
    snprintf(field, sizeof(field), "volumes/%ld/%s", err.volume_index, err.field);
    return dd_fail(f, rc, field, "%s: %s", field, err.message);
}

/* ---- the operation document: its one writer ---- */

/* Writes operation id's document and the owner's event of type with the same view, and returns
 * the view (new reference), or NULL with *rc. */
static json_t *put_operation(dd_service_t *svc, int64_t party, const char *id, const char *ref,
                             dc_op_state_t state, int64_t priority, int64_t version,
                             json_t *volumes, double created_s, json_t *changes,
                             const char *event_type, double now, dc_err_t *rc)
{
    char c[40], u[40];
    json_t *view = json_pack("{s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:o}", "id", id, "ref", ref,
                             "state", dc_op_state_name(state), "priority", (json_int_t)priority,
                             "version", (json_int_t)version, "volumes", volumes, "created",
                             dd_time_text(created_s, c), "updated", dd_time_text(now, u), "changes",
                             changes ? json_incref(changes) : json_array());
    char *text = view ? dd_json_text(view) : NULL;
    if (!text) {
        json_decref(view);
        *rc = DC_ERR_NOMEM;
        return NULL;
    }
    dc_doc_t doc = {"operation", id, party, 0, text, NULL, dc_op_state_name(state), now, party};
    *rc = dc_store_doc_put(svc->store, &doc);
    if (*rc == DC_OK) *rc = dd_event_text(svc, party, event_type, text, now);
    free(text);
    if (*rc != DC_OK) {
        json_decref(view);
        return NULL;
    }
    return view;
}

/* ---- strategic conflicts ---- */

static const char *priority_word(dc_priority_cmp_t p)
{
    return p == DC_PRIORITY_LOWER ? "lower" : p == DC_PRIORITY_HIGHER ? "higher" : "equal";
}

/* One overlap as a side sees it (with the filing side's own volume index). */
static json_t *overlap_json(const dc_strategic_conflict_t *c, bool with_volume_index)
{
    char a[40], b[40];
    json_t *fp = c->footprint_geojson ? json_loads(c->footprint_geojson, 0, NULL) : json_null();
    json_t *o =
        json_pack("{s:o, s:f, s:f, s:s, s:s, s:f, s:b, s:b}", "footprint", fp ? fp : json_null(),
                  "alt_lower_m", c->alt_lower_m, "alt_upper_m", c->alt_upper_m, "time_start",
                  dd_time_text(c->t_start_s, a), "time_end", dd_time_text(c->t_end_s, b), "area_m2",
                  c->area_m2, "touching", c->touching, "alt_assumption", c->alt_assumption);
    if (o && with_volume_index)
        json_object_set_new(o, "own_volume_index", json_integer((json_int_t)c->volume_index));
    return o;
}

/* The strategic conflict between operation op (filed or updated by party) and other, from the
 * engine's rows [0, n) concerning them: written (new, or an update of the one the pair has had),
 * and the filing side's view appended to views. */
static dc_err_t put_strategic(dd_service_t *svc, int64_t party, const dd_op_t *op,
                              const dd_op_t *other, const dc_strategic_conflict_t *rows, size_t n,
                              json_t *views, double now)
{
    char id[40];
    dd_pair_conflict_id(op->id, other->id, id);
    dd_conflict_t *c = dd_conflict_open(svc, id);
    bool reopen = !c; /* new, or seen before and resolved since: an alert again either way */
    if (reopen && !(c = dd_conflict_new(DD_CF_STRATEGIC, id))) return DC_ERR_NOMEM;
    dd_cf_side_t was[2] = {c->side[0], c->side[1]};
    /* Side 0 is the party filing now: it sees its own volume indices. */
    const dd_op_t *ops[2] = {op, other};
    for (int k = 0; k < 2; k++) {
        dd_cf_side_t *s = &c->side[k];
        memset(s, 0, sizeof(*s));
        s->party = ops[k]->party;
        snprintf(s->operation, sizeof(s->operation), "%s", ops[k]->id);
        snprintf(s->other_ref, sizeof(s->other_ref), "%s", ops[1 - k]->ref);
        s->priority =
            priority_word(k == 0 ? rows[0].priority : (dc_priority_cmp_t)-rows[0].priority);
        s->overlaps = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(s->overlaps, overlap_json(&rows[i], k == 0));
        /* A party's acknowledgement outlives the rewrite, whichever side it is on now. */
        for (int w = 0; w < 2 && !reopen; w++)
            if (was[w].party == s->party) {
                s->acknowledged = was[w].acknowledged, s->escalations = was[w].escalations;
                s->ack_due = was[w].ack_due, s->ack_due_shown = was[w].ack_due_shown;
                memcpy(s->acknowledged_at, was[w].acknowledged_at, sizeof(s->acknowledged_at));
                memcpy(s->escalated_at, was[w].escalated_at, sizeof(s->escalated_at));
            }
    }
    json_decref(was[0].overlaps), json_decref(was[1].overlaps);
    dc_err_t rc = dd_conflict_write(svc, c, reopen ? DD_CF_NEW : DD_CF_UPDATE, 0, party, now);
    if (rc == DC_OK) json_array_append_new(views, dd_conflict_view(svc, c, party, now));
    if (rc != DC_OK && reopen) dd_conflict_free(c);
    return rc;
}

/* The engine's rows (sorted by volume, then other_ref) as one conflict per other operation. */
static dc_err_t record_conflicts(dd_service_t *svc, int64_t party, const dd_op_t *op,
                                 const dc_strategic_result_t *res, json_t *views, double now)
{
    size_t n = res->n_conflicts;
    bool *done = calloc(n ? n : 1, sizeof(bool));
    dc_strategic_conflict_t *rows = malloc((n ? n : 1) * sizeof(*rows));
    dc_err_t rc = done && rows ? DC_OK : DC_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        if (done[i]) continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && strcmp(res->conflicts[j].other_ref, res->conflicts[i].other_ref) == 0)
                rows[k++] = res->conflicts[j], done[j] = true;
        const dd_op_t *other = dd_operation_by_ref(svc, res->conflicts[i].other_ref);
        if (other) rc = put_strategic(svc, party, op, other, rows, k, views, now);
    }
    free(done), free(rows);
    return rc;
}

/* An operation on ground agreement agr gives party q (0: none; found by
 * dd_agreement_violated_by before the footprints passed to the engine): a conflict of kind
 * agreement for both (the other side seeing the operation by its ref), unless the operation
 * has one for that agreement open already (kept, and listed in views). */
static dc_err_t record_agreement(dd_service_t *svc, int64_t party, const dd_op_t *op, int64_t q,
                                 const char *agr, json_t *views, double now)
{
    if (!q) return DC_OK;
    for (size_t i = 0; i < svc->conflicts.cap; i++) {
        dd_conflict_t *c = svc->conflicts.slots[i].key ? svc->conflicts.slots[i].val : NULL;
        if (c && c->kind == DD_CF_AGREEMENT && strcmp(c->side[0].operation, op->id) == 0 &&
            strcmp(c->agreement, agr) == 0) {
            json_array_append_new(views, dd_conflict_view(svc, c, party, now));
            return DC_OK;
        }
    }
    char cid[40];
    dd_random_id("cf_", cid, sizeof(cid));
    dd_conflict_t *c = dd_conflict_new(DD_CF_AGREEMENT, cid);
    if (!c) return DC_ERR_NOMEM;
    snprintf(c->agreement, sizeof(c->agreement), "%s", agr);
    c->side[0].party = party;
    snprintf(c->side[0].operation, sizeof(c->side[0].operation), "%s", op->id);
    c->side[1].party = q;
    snprintf(c->side[1].other_ref, sizeof(c->side[1].other_ref), "%s", op->ref);
    dc_err_t rc = dd_conflict_write(svc, c, DD_CF_NEW, 0, party, now);
    if (rc != DC_OK) {
        dd_conflict_free(c);
        return rc;
    }
    json_array_append_new(views, dd_conflict_view(svc, c, party, now));
    return DC_OK;
}

/* Whether conflict c ends with operation op_id: the strategic ones it is in, and the agreement
 * conflict it raised when filed. (Intrusions end when the conformance check sees them end.) */
static bool ends_with(const dd_conflict_t *c, const char *op_id)
{
    if (c->kind == DD_CF_STRATEGIC)
        return strcmp(c->side[0].operation, op_id) == 0 || strcmp(c->side[1].operation, op_id) == 0;
    return c->kind == DD_CF_AGREEMENT && strcmp(c->side[0].operation, op_id) == 0;
}

/* Resolves every open conflict of operation op_id except those in keep (views with an "id";
 * NULL keeps none); actor: the party whose change resolves them. */
static dc_err_t resolve_conflicts_of(dd_service_t *svc, const char *op_id, json_t *keep,
                                     int64_t actor, double now)
{
    /* Collected first: resolving takes a conflict out of the table being walked. */
    size_t n = 0;
    char(*ids)[40] = malloc((svc->conflicts.len + 1) * sizeof(*ids));
    if (!ids) return DC_ERR_NOMEM;
    for (size_t i = 0; i < svc->conflicts.cap; i++) {
        dd_conflict_t *c = svc->conflicts.slots[i].key ? svc->conflicts.slots[i].val : NULL;
        if (!c || !ends_with(c, op_id)) continue;
        bool kept = false;
        size_t j;
        json_t *k;
        json_array_foreach(keep, j, k)
        {
            const char *kid = json_string_value(json_object_get(k, "id"));
            kept |= kid && strcmp(kid, c->id) == 0;
        }
        if (!kept) memcpy(ids[n++], c->id, sizeof(ids[0]));
    }
    dc_err_t rc = DC_OK;
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        dd_conflict_t *c = dd_conflict_open(svc, ids[i]);
        if (c) rc = dd_conflict_write(svc, c, DD_CF_RESOLVED, 0, actor, now);
    }
    free(ids);
    return rc;
}

/* ---- filing ---- */

dc_err_t dd_operation_prepare(dd_service_t *svc, int64_t party, const dd_op_request_t *req,
                              dd_new_operation_t *n, dd_fault_t *f)
{
    memset(n, 0, sizeof(*n));
    dd_random_id("op_", n->id, sizeof(n->id));
    dd_random_id("ref_", n->ref, sizeof(n->ref));
    n->state = req->state;
    n->priority = req->priority;
    n->volumes = req->volumes;
    dc_err_t rc = engine_operation(party, n->id, n->ref, n->priority, req->volumes, &n->op, f);
    if (rc != DC_OK) return rc;
    n->op.state = n->state;
    rc = prepare_op(svc, &n->op, &n->prepared, f);
    if (rc != DC_OK) dc_operation_clear(&n->op);
    return rc;
}

void dd_operation_prepared_clear(dd_new_operation_t *n)
{
    dc_strategic_prepared_free(n->prepared);
    if (n->prepared) dc_operation_clear(&n->op);
    memset(n, 0, sizeof(*n));
}

/* Files n under the lock, inside the write section. */
static dc_err_t create_in(dd_service_t *svc, int64_t party, dd_new_operation_t *n,
                          const char *idem_key, double now, json_t **out, dd_fault_t *f)
{
    /* Agreements first: filing passes the footprints to the engine. */
    const char *agr = NULL;
    int64_t q = dd_agreement_violated_by(svc, party, &n->op, n->prepared, &agr);
    dc_strategic_result_t res;
    dc_err_t rc = dc_strategic_file_prepared(svc->strategic, n->prepared, &res);
    if (rc != DC_OK)
        return dd_fail(f, rc, "volumes", "the operation could not be filed: %s", dc_strerror(rc));
    /* Noted before the section ends: a filing that runs while this one waits for its group's
     * commit may conflict with it. */
    if (!note_op(svc, n->id, n->ref, party, n->state))
        rc = DC_ERR_NOMEM;
    else
        dd_operation(svc, n->id)->version = 1;
    json_t *conflicts = json_array(), *view = NULL;
    if (rc == DC_OK)
        view = put_operation(svc, party, n->id, n->ref, n->state, n->priority, 1, n->volumes, now,
                             NULL, "operation.created", now, &rc);
    const dd_op_t *op = dd_operation(svc, n->id);
    if (rc == DC_OK) rc = record_conflicts(svc, party, op, &res, conflicts, now);
    dc_strategic_result_clear(&res);
    if (rc == DC_OK) rc = record_agreement(svc, party, op, q, agr, conflicts, now);
    if (rc == DC_OK) json_object_set_new(view, "conflicts", conflicts), conflicts = NULL;
    if (rc == DC_OK && idem_key) {
        char *text = dd_json_text(view);
        rc = text ? dc_store_idem_put(svc->store, party, idem_key, 201, text, now) : DC_ERR_NOMEM;
        free(text);
    }
    json_decref(conflicts);
    if (rc != DC_OK) {
        json_decref(view);
        return dd_store_failed(svc, f);
    }
    *out = view;
    return DC_OK;
}

dc_err_t dd_operation_create(dd_service_t *svc, int64_t party, dd_new_operation_t *n,
                             const char *idem_key, double now, json_t **out,
                             dd_idem_answer_t *stored, dd_fault_t *f)
{
    *out = NULL;
    stored->text = NULL;
    dd_write_lock(svc);
    if (idem_key &&
        dc_store_idem_get(svc->store, party, idem_key, &stored->status, &stored->text) == DC_OK) {
        dd_write_unlock(svc);
        return DC_OK;
    }
    dc_err_t rc = dd_tx_start(svc, f);
    if (rc == DC_OK) rc = create_in(svc, party, n, idem_key, now, out, f);
    rc = dd_tx_finish(svc, rc, f);
    if (rc != DC_OK) {
        /* Nothing of it is stored: the engine and the registry forget it too. */
        dc_strategic_set_state(svc->strategic, n->id, DC_OP_CANCELLED);
        forget_op(svc, n->id);
        json_decref(*out);
        *out = NULL;
    }
    dd_write_unlock(svc);
    return rc;
}

/* ---- updates ---- */

/* The stored operation id of party: its view and state; DC_ERR_NOT_FOUND as a fault. */
static dc_err_t load_own(dd_service_t *svc, int64_t party, const char *id, json_t **view,
                         dc_op_state_t *state, dd_fault_t *f)
{
    char *text = NULL, *state_name = NULL;
    if (dc_store_doc_get(svc->store, "operation", id, party, &text, &state_name) != DC_OK)
        return dd_fail(f, DC_ERR_NOT_FOUND, "id", "no operation '%s'", id);
    *view = json_loads(text, 0, NULL);
    *state = DC_OP_PLANNED;
    dc_op_state_parse(state_name, state);
    free(text), free(state_name);
    return *view ? DC_OK : dd_fail(f, DC_ERR_STORE, "", "unreadable operation");
}

/* An update or a state change, run in a write section of its own (dd_write_section). */
typedef struct op_job {
    int64_t party;
    const char *id;
    double now;
    json_t **out;
    dc_op_state_t to;           /* a state change: the state asked */
    const dd_op_update_t *req;  /* an update: the request */
    dc_operation_t op;          /* the engine's new operation */
    dc_strategic_prepared_t *p; /* its footprints, when the volumes were new (before the lock) */
    dc_err_t prepared_rc;       /* and why not, reported after the checks under the lock */
    dd_fault_t prepared_fault;
} op_job_t;

static dc_err_t update_in(dd_service_t *svc, int64_t party, const char *id, op_job_t *j, double now,
                          json_t **out, dd_fault_t *f)
{
    const dd_op_update_t *req = j->req;
    json_t *cur;
    dc_op_state_t state;
    dc_err_t rc = load_own(svc, party, id, &cur, &state, f);
    if (rc != DC_OK) return rc;
    json_int_t cur_version = json_integer_value(json_object_get(cur, "version"));
    json_t *changes = json_object_get(cur, "changes");
    if (req->version != cur_version) {
        /* Stale: say what changed since the caller's version. */
        json_t *since = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(changes, i, c) if (json_integer_value(json_object_get(c, "version")) >
                                              req->version) json_array_append(since, c);
        dd_fail(f, DC_ERR_STALE_VERSION, "version",
                "version %lld is not the current one (%lld): read the operation again",
                (long long)req->version, (long long)cur_version);
        f->ext = json_pack("{s:I, s:o}", "current_version", cur_version, "changes", since);
        json_decref(cur);
        return DC_ERR_STALE_VERSION;
    }
    if (!dc_op_state_is_live(state)) {
        json_decref(cur);
        return dd_fail(f, DC_ERR_TRANSITION, "state", "a %s operation cannot be updated",
                       dc_op_state_name(state));
    }
    json_t *new_vols = req->volumes ? req->volumes : json_object_get(cur, "volumes");
    int64_t new_prio =
        req->has_priority ? req->priority : json_integer_value(json_object_get(cur, "priority"));
    const char *ref = json_string_value(json_object_get(cur, "ref"));
    if (req->volumes && j->prepared_rc != DC_OK) {
        json_decref(cur);
        *f = j->prepared_fault;
        return j->prepared_rc;
    }
    if (!req->volumes) { /* a priority alone: the stored volumes, prepared now */
        rc = engine_operation(party, id, ref, new_prio, new_vols, &j->op, f);
        if (rc == DC_OK) rc = prepare_op(svc, &j->op, &j->p, f);
        if (rc != DC_OK) {
            json_decref(cur);
            return rc;
        }
    }
    snprintf(j->op.ref, sizeof(j->op.ref), "%s", ref);
    j->op.priority = new_prio;
    j->op.state = state;
    const char *agr = NULL;
    int64_t q = dd_agreement_violated_by(svc, party, &j->op, j->p, &agr);
    dc_strategic_result_t res;
    rc = dc_strategic_update_prepared(svc->strategic, j->p, (uint64_t)cur_version, &res);
    if (rc != DC_OK) {
        json_decref(cur);
        return dd_fail(f, DC_ERR_STALE_VERSION, "version", "the engine refused the update: %s",
                       dc_strerror(rc));
    }
    json_t *fields = json_array();
    if (req->volumes && !json_equal(req->volumes, json_object_get(cur, "volumes")))
        json_array_append_new(fields, json_string("volumes"));
    if (req->has_priority && new_prio != json_integer_value(json_object_get(cur, "priority")))
        json_array_append_new(fields, json_string("priority"));
    char t[40];
    json_t *all = json_copy(changes ? changes : json_array());
    json_array_append_new(all, json_pack("{s:I, s:o, s:s}", "version", cur_version + 1, "fields",
                                         fields, "at", dd_time_text(now, t)));
    double created = 0;
    dc_time_parse_rfc3339(json_string_value(json_object_get(cur, "created")), &created);
    json_t *conflicts = json_array();
    json_t *nv = put_operation(svc, party, id, ref, state, new_prio, cur_version + 1, new_vols,
                               created, all, "operation.updated", now, &rc);
    dd_op_t *op = dd_operation(svc, id);
    if (rc == DC_OK && op) op->version = cur_version + 1;
    if (rc == DC_OK && op) rc = record_conflicts(svc, party, op, &res, conflicts, now);
    if (rc == DC_OK && op) rc = record_agreement(svc, party, op, q, agr, conflicts, now);
    if (rc == DC_OK) rc = resolve_conflicts_of(svc, id, conflicts, party, now);
    dc_strategic_result_clear(&res);
    json_decref(all), json_decref(cur);
    if (rc != DC_OK) {
        /* The engine holds the new version; the store does not. Said plainly: the next restart
         * restores the stored one. */
        json_decref(nv), json_decref(conflicts);
        return dd_store_failed(svc, f);
    }
    json_object_set_new(nv, "conflicts", conflicts);
    *out = nv;
    return DC_OK;
}

static dc_err_t update_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    op_job_t *j = job;
    return update_in(svc, j->party, j->id, j, j->now, j->out, f);
}

dc_err_t dd_operation_update(dd_service_t *svc, int64_t party, const char *id,
                             const dd_op_update_t *req, double now, json_t **out, dd_fault_t *f)
{
    *out = NULL;
    op_job_t j = {.party = party, .id = id, .now = now, .out = out, .req = req};
    /* New volumes are prepared before the lock; their faults wait for the checks under it. */
    if (req->volumes) {
        /* The ref and the priority are the stored ones, set under the lock: the id stands in
         * for the ref meanwhile (the parser wants one). */
        j.prepared_rc = engine_operation(party, id, id, 0, req->volumes, &j.op, &j.prepared_fault);
        if (j.prepared_rc == DC_OK) {
            j.prepared_rc = prepare_op(svc, &j.op, &j.p, &j.prepared_fault);
            if (j.prepared_rc != DC_OK) dc_operation_clear(&j.op);
        }
    }
    dc_err_t rc = dd_write_section(svc, update_in_section, &j, f);
    if (rc != DC_OK) json_decref(*out), *out = NULL;
    dc_strategic_prepared_free(j.p);
    dc_operation_clear(&j.op);
    return rc;
}

/* ---- state changes ---- */

static dc_err_t set_state_in(dd_service_t *svc, int64_t party, const char *id, dc_op_state_t to,
                             double now, json_t **out, dd_fault_t *f)
{
    json_t *v;
    dc_op_state_t from;
    dc_err_t rc = load_own(svc, party, id, &v, &from, f);
    if (rc != DC_OK) return rc;
    rc =
        dc_op_state_is_live(from) ? dc_strategic_set_state(svc->strategic, id, to) : DC_ERR_INVALID;
    if (rc != DC_OK) {
        json_decref(v);
        return dd_fail(f, DC_ERR_TRANSITION, "state", "an operation cannot go from %s to %s",
                       dc_op_state_name(from), dc_op_state_name(to));
    }
    double created = 0;
    dc_time_parse_rfc3339(json_string_value(json_object_get(v, "created")), &created);
    json_t *nv = put_operation(svc, party, id, json_string_value(json_object_get(v, "ref")), to,
                               json_integer_value(json_object_get(v, "priority")),
                               json_integer_value(json_object_get(v, "version")),
                               json_object_get(v, "volumes"), created,
                               json_object_get(v, "changes"), "operation.state", now, &rc);
    if (rc == DC_OK && !dc_op_state_is_live(to))
        rc = resolve_conflicts_of(svc, id, NULL, party, now);
    if (rc == DC_OK) {
        dd_op_t *o = dd_operation(svc, id);
        if (o) o->state = to;
    }
    json_decref(v);
    if (rc != DC_OK) {
        json_decref(nv);
        return dd_store_failed(svc, f);
    }
    *out = nv;
    return DC_OK;
}

static dc_err_t set_state_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    op_job_t *j = job;
    return set_state_in(svc, j->party, j->id, j->to, j->now, j->out, f);
}

dc_err_t dd_operation_set_state(dd_service_t *svc, int64_t party, const char *id,
                                const char *action, double now, json_t **out, dd_fault_t *f)
{
    *out = NULL;
    dc_op_state_t to;
    if (strcmp(action, "activate") == 0)
        to = DC_OP_ACTIVE;
    else if (strcmp(action, "end") == 0)
        to = DC_OP_ENDED;
    else if (strcmp(action, "cancel") == 0)
        to = DC_OP_CANCELLED;
    else
        return dd_fail(f, DC_ERR_NOT_FOUND, "", "no such action '%.40s'", action);
    dd_read_lock(svc);
    dd_op_t *o = dd_operation(svc, id);
    dc_op_state_t before = o ? o->state : DC_OP_PLANNED;
    dd_read_unlock(svc);
    op_job_t j = {.party = party, .id = id, .now = now, .out = out, .to = to};
    dc_err_t rc = dd_write_section(svc, set_state_in_section, &j, f);
    if (rc != DC_OK) {
        /* The registry follows the store: as it was if the change did not commit. */
        json_decref(*out), *out = NULL;
        dd_write_lock(svc);
        if ((o = dd_operation(svc, id))) o->state = before;
        dd_write_unlock(svc);
    }
    return rc;
}

/* ---- restore ---- */

/* The engine's operation of document doc (view v, state), prepared; false when it is not
 * readable (said). */
static bool engine_from_doc(dd_service_t *svc, const dc_doc_t *doc, json_t *v, dc_op_state_t state,
                            dc_operation_t *op, dc_strategic_prepared_t **p)
{
    dd_fault_t f;
    const char *ref = json_string_value(json_object_get(v, "ref"));
    if (engine_operation(doc->party_a, doc->id, ref ? ref : doc->id,
                         json_integer_value(json_object_get(v, "priority")),
                         json_object_get(v, "volumes"), op, &f) != DC_OK) {
        fprintf(stderr, "deconflictd: operation %s is not readable: %s\n", doc->id, f.detail);
        return false;
    }
    op->state = state;
    if (prepare_op(svc, op, p, &f) != DC_OK) {
        fprintf(stderr, "deconflictd: operation %s is not readable: %s\n", doc->id, f.detail);
        dc_operation_clear(op);
        return false;
    }
    return true;
}

void dd_operations_apply(dd_service_t *svc, const dc_doc_t *doc)
{
    dc_op_state_t state;
    if (dc_op_state_parse(doc->state, &state) != DC_OK) return;
    json_t *v = json_loads(doc->view_a, 0, NULL);
    const char *ref = json_string_value(json_object_get(v, "ref"));
    int64_t version = json_integer_value(json_object_get(v, "version"));
    dd_op_t *o = dd_operation(svc, doc->id);
    bool was_live = o && dc_op_state_is_live(o->state), live = dc_op_state_is_live(state);
    int64_t was_version = o ? o->version : 0;
    if (!ref || !note_op(svc, doc->id, ref, doc->party_a, state)) {
        json_decref(v);
        return;
    }
    dd_operation(svc, doc->id)->version = version;
    dc_operation_t op;
    dc_strategic_prepared_t *p = NULL;
    if (live && (!was_live || version != was_version) &&
        engine_from_doc(svc, doc, v, state, &op, &p)) {
        /* New to this node, or another node changed it: the engine files or replaces it. */
        dc_err_t rc =
            was_live ? dc_strategic_update_prepared(svc->strategic, p, (uint64_t)was_version, NULL)
                     : dc_strategic_file_prepared(svc->strategic, p, NULL);
        if (rc != DC_OK)
            fprintf(stderr, "deconflictd: operation %s: the engine refused it: %s\n", doc->id,
                    dc_strerror(rc));
        dc_strategic_prepared_free(p);
        dc_operation_clear(&op);
    } else if (live && was_live) {
        dc_strategic_set_state(svc->strategic, doc->id, state); /* planned <-> active */
    } else if (!live && was_live) {
        dc_strategic_set_state(svc->strategic, doc->id, state); /* ended: out of the engine */
    }
    json_decref(v);
}

static void restore_one(const dc_doc_t *doc, void *ctx)
{
    dd_operations_apply(ctx, doc);
}

bool dd_operations_open(dd_service_t *svc)
{
    return dc_store_doc_each(svc->store, "operation", restore_one, svc) == DC_OK;
}

void dd_operations_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->ops, free);
    dd_table_free(&svc->refs);
}
