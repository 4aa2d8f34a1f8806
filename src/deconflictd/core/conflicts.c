/* Conflicts: one structure, one writer. See conflicts.h; the views are documented in
 * docs/service.md ("Need-to-know") and docs/openapi.yaml (Conflict). */
#include "core/conflicts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/commit.h"
#include "core/events.h"
#include "core/parties.h"
#include "deconflict/timefmt.h"

static const char *const kind_names[DD_CF_KINDS] = {
    [DD_CF_STRATEGIC] = "strategic", [DD_CF_TACTICAL] = "tactical",
    [DD_CF_INTRUSION] = "intrusion", [DD_CF_NONCONFORMING] = "nonconforming",
    [DD_CF_AGREEMENT] = "agreement",
};

_Static_assert(DD_CF_AGREEMENT + 1 == DD_CF_KINDS, "DD_CF_KINDS counts the kinds");
_Static_assert(DD_CF_LEVEL_INSIDE + 1 == DD_CF_LEVELS, "DD_CF_LEVELS counts the levels");

static const char *const level_names[DD_CF_LEVELS] = {
    [DD_CF_LEVEL_NONE] = "none",       [DD_CF_LEVEL_ADVISORY] = "advisory",
    [DD_CF_LEVEL_WARNING] = "warning", [DD_CF_LEVEL_LOSS] = "loss",
    [DD_CF_LEVEL_INSIDE] = "inside",
};

const char *dd_cf_kind_name(dd_cf_kind_t kind)
{
    return (unsigned)kind < DD_CF_KINDS ? kind_names[kind] : "unknown";
}

const char *dd_cf_level_name(dd_cf_level_t level)
{
    return (unsigned)level < DD_CF_LEVELS ? level_names[level] : "unknown";
}

bool dd_cf_kind_has_level(dd_cf_kind_t kind, dd_cf_level_t level)
{
    /* Bit l: the kind may be at level l (detection.c grades tactical conflicts, conformance.c
     * intrusions and agreement conflicts of aircraft; operations.c's agreement conflicts and
     * the rest have none). */
    static const unsigned levels_of[DD_CF_KINDS] = {
        [DD_CF_STRATEGIC] = 1u << DD_CF_LEVEL_NONE,
        [DD_CF_TACTICAL] =
            1u << DD_CF_LEVEL_ADVISORY | 1u << DD_CF_LEVEL_WARNING | 1u << DD_CF_LEVEL_LOSS,
        [DD_CF_INTRUSION] =
            1u << DD_CF_LEVEL_ADVISORY | 1u << DD_CF_LEVEL_WARNING | 1u << DD_CF_LEVEL_INSIDE,
        [DD_CF_NONCONFORMING] = 1u << DD_CF_LEVEL_NONE,
        [DD_CF_AGREEMENT] = 1u << DD_CF_LEVEL_NONE | 1u << DD_CF_LEVEL_ADVISORY |
                            1u << DD_CF_LEVEL_WARNING | 1u << DD_CF_LEVEL_INSIDE,
    };
    return (unsigned)kind < DD_CF_KINDS && (unsigned)level < DD_CF_LEVELS &&
           (levels_of[kind] >> level & 1u);
}

void dd_conflicts_count(const dd_service_t *svc, double now, dd_conflict_counts_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < svc->conflicts.cap; i++) {
        const dd_conflict_t *c = svc->conflicts.slots[i].key ? svc->conflicts.slots[i].val : NULL;
        if (!c || (unsigned)c->kind >= DD_CF_KINDS) continue;
        dd_cf_level_t level = DD_CF_LEVEL_NONE;
        for (int l = 1; c->level && l < DD_CF_LEVELS; l++)
            if (strcmp(c->level, level_names[l]) == 0) level = (dd_cf_level_t)l;
        out->open[c->kind][level]++;
        for (int k = 0; k < 2; k++) {
            const dd_cf_side_t *s = &c->side[k];
            if (!s->party || s->acknowledged || !s->ack_due) continue;
            out->acks_owed++;
            if (s->ack_due <= now || s->escalations > 0) out->acks_overdue++;
        }
    }
}

dd_conflict_t *dd_conflict_new(dd_cf_kind_t kind, const char *id)
{
    dd_conflict_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->kind = kind;
    snprintf(c->id, sizeof(c->id), "%s", id);
    return c;
}

void dd_conflict_free(dd_conflict_t *c)
{
    if (!c) return;
    json_decref(c->side[0].overlaps);
    json_decref(c->side[1].overlaps);
    free(c);
}

dd_conflict_t *dd_conflict_open(dd_service_t *svc, const char *id)
{
    return dd_table_get(&svc->conflicts, id);
}

static bool aircraft_of(json_t *v, dc_track_state_t *a)
{
    if (!json_is_object(v)) return false;
    memset(a, 0, sizeof(*a));
    a->t_s = json_number_value(json_object_get(v, "t"));
    a->lat_deg = json_number_value(json_object_get(v, "lat"));
    a->lon_deg = json_number_value(json_object_get(v, "lon"));
    a->alt_ft = json_number_value(json_object_get(v, "alt_ft"));
    a->gs_kt = json_number_value(json_object_get(v, "gs_kt"));
    a->trk_deg = json_number_value(json_object_get(v, "trk_deg"));
    a->vs_fpm = json_number_value(json_object_get(v, "vs_fpm"));
    return true;
}

/* Side k's view: what k owns, what it is shown of the other side, its acknowledgement. The
 * only place a conflict's view is made. */
static json_t *view_of(dd_service_t *svc, const dd_conflict_t *c, int k, double now)
{
    const dd_cf_side_t *me = &c->side[k], *other = &c->side[1 - k];
    char t[40];
    json_t *v = json_pack("{s:s, s:s, s:s}", "id", c->id, "kind", kind_names[c->kind], "state",
                          c->open ? "open" : "resolved");
    if (!v) return NULL;
    if (c->kind == DD_CF_TACTICAL) {
        json_object_set_new(v, "level", json_string(c->level));
        json_object_set_new(v, "data", json_string(c->data));
    }
    if ((c->kind == DD_CF_INTRUSION || c->kind == DD_CF_AGREEMENT) && c->level) {
        json_object_set_new(v, "level", json_string(c->level));
        json_object_set_new(v, "time_to_entry_s", json_real(c->eval.tin_s));
    }
    if (c->kind == DD_CF_AGREEMENT) json_object_set_new(v, "agreement", json_string(c->agreement));
    if (me->track[0]) json_object_set_new(v, "own_track", json_string(me->track));
    if (me->operation[0]) json_object_set_new(v, "own_operation", json_string(me->operation));
    if (other->party) {
        char name[DC_PARTY_NAME_MAX];
        dd_party_name(svc, other->party, name);
        json_object_set_new(v, "other_party", json_string(name));
    }
    if (me->other_ref[0]) json_object_set_new(v, "other_operation_ref", json_string(me->other_ref));
    if (me->priority) json_object_set_new(v, "priority", json_string(me->priority));
    if (me->overlaps) json_object_set(v, "overlaps", me->overlaps);
    if (c->kind == DD_CF_TACTICAL) {
        const dc_pair_eval_t *e = &c->eval;
        json_object_set_new(v, "tcpa_s", json_real(e->tcpa_s));
        json_object_set_new(v, "dcpa_nm", json_real(e->dcpa_nm));
        json_object_set_new(v, "hsep_nm", json_real(e->hsep_nm));
        json_object_set_new(v, "vsep_ft", json_real(e->vsep_ft));
        json_object_set_new(v, "time_to_loss_s", json_real(e->los_now ? 0.0 : e->tin_s));
        /* The times above count from here, not from "updated": an acknowledgement rewrites
         * the view but not the prediction (the CAT004 sender counts them down from it). */
        if (c->predicted_s > 0)
            json_object_set_new(v, "predicted_at", json_string(dd_time_text(c->predicted_s, t)));
    }
    json_object_set_new(v, "updated", json_string(dd_time_text(now, t)));
    if (me->sees_aircraft) json_object_set_new(v, "other_aircraft", dd_state_json(&me->aircraft));
    if (c->kind == DD_CF_TACTICAL)
        json_object_set_new(v, "minima",
                            json_pack("{s:s, s:f, s:f}", "profile", c->profile, "h_nm",
                                      c->minima.h_nm, "v_ft", c->minima.v_ft));
    if (me->acknowledged) {
        json_object_set_new(v, "acknowledged", json_true());
        json_object_set_new(v, "acknowledged_at", json_string(me->acknowledged_at));
    }
    /* When the side's acknowledgement is due (kept, once given, as the deadline it had): a
     * restart reads the deadline back from here, so escalation never slips. */
    double due = me->acknowledged ? me->ack_due_shown : me->ack_due;
    if (due > 0) {
        char text[40];
        json_object_set_new(v, "ack_due", json_string(dd_time_text(due, text)));
    }
    if (me->escalations) {
        json_object_set_new(v, "escalations", json_integer(me->escalations));
        json_object_set_new(v, "escalated_at", json_string(me->escalated_at));
    }
    return v;
}

json_t *dd_conflict_view(dd_service_t *svc, const dd_conflict_t *c, int64_t party, double now)
{
    int k = c->side[0].party == party ? 0 : c->side[1].party == party && party ? 1 : -1;
    return k < 0 ? NULL : view_of(svc, c, k, now);
}

/* Appends the events of a write. */
static dc_err_t append_events(dd_service_t *svc, const dd_conflict_t *c, json_t *views[2],
                              dd_cf_change_t change, int side, double now)
{
    static const char *const types[] = {
        [DD_CF_NEW] = "conflict.new",
        [DD_CF_UPDATE] = "conflict.update",
        [DD_CF_RESOLVED] = "conflict.resolved",
        [DD_CF_ACKED] = "conflict.acked",
        [DD_CF_ESCALATED] = "conflict.escalated",
    };
    dc_err_t rc = DC_OK;
    if (change == DD_CF_ACKED)
        return dd_event(svc, c->side[side].party, types[change], views[side], now);
    if (change == DD_CF_ESCALATED) {
        rc = dd_event(svc, c->side[side].party, types[change], views[side], now);
        int o = 1 - side;
        if (rc == DC_OK && c->side[o].party && views[o]) {
            /* The other side is told whose acknowledgement is missing. */
            char name[DC_PARTY_NAME_MAX];
            dd_party_name(svc, c->side[side].party, name);
            json_t *note = json_copy(views[o]);
            json_object_set_new(note, "unacknowledged_by", json_string(name));
            rc = dd_event(svc, c->side[o].party, types[change], note, now);
            json_decref(note);
        }
        return rc;
    }
    for (int k = 0; k < 2 && rc == DC_OK; k++)
        if (c->side[k].party) rc = dd_event(svc, c->side[k].party, types[change], views[k], now);
    return rc;
}

dc_err_t dd_conflict_write(dd_service_t *svc, dd_conflict_t *c, dd_cf_change_t change, int side,
                           int64_t actor, double now)
{
    bool was_open = dd_table_get(&svc->conflicts, c->id) == c;
    /* Every side owes an acknowledgement, pressed after conflict_ack_s -- of a tactical
     * conflict, from its first warning (an advisory is shown, not acknowledged). */
    bool owed = !c->level || strcmp(c->level, "advisory") != 0;
    if (change == DD_CF_NEW) c->open = true;
    if ((change == DD_CF_NEW || change == DD_CF_UPDATE) && owed)
        for (int k = 0; k < 2; k++) {
            dd_cf_side_t *s = &c->side[k];
            if (s->party && !s->acknowledged && !s->ack_due && !s->ack_due_shown)
                s->ack_due = now + svc->cfg.conflict_ack_s;
        }
    if (change == DD_CF_RESOLVED) c->open = false;
    if (c->kind == DD_CF_TACTICAL &&
        (change == DD_CF_NEW || change == DD_CF_UPDATE || change == DD_CF_RESOLVED))
        c->predicted_s = now;
    json_t *views[2] = {view_of(svc, c, 0, now), c->side[1].party ? view_of(svc, c, 1, now) : NULL};
    char *ta = views[0] ? dd_json_text(views[0]) : NULL;
    char *tb = views[1] ? dd_json_text(views[1]) : NULL;
    dc_err_t rc = ta && (!c->side[1].party || tb) ? DC_OK : DC_ERR_NOMEM;
    if (rc == DC_OK) {
        dc_doc_t doc = {"conflict",
                        c->id,
                        c->side[0].party,
                        c->side[1].party,
                        ta,
                        tb,
                        c->open ? "open" : "resolved",
                        now,
                        actor};
        rc = dc_store_doc_put(svc->store, &doc);
    }
    if (rc == DC_OK) rc = append_events(svc, c, views, change, side, now);
    free(ta), free(tb);
    json_decref(views[0]), json_decref(views[1]);
    if (rc != DC_OK) {
        if (change == DD_CF_RESOLVED) c->open = was_open;
        return rc;
    }
    if (change == DD_CF_NEW && !was_open) {
        if (!dd_table_put(&svc->conflicts, c->id, c)) return DC_ERR_NOMEM;
        svc->open_conflicts++;
    } else if (change == DD_CF_RESOLVED && was_open) {
        dd_table_del(&svc->conflicts, c->id);
        if (svc->open_conflicts) svc->open_conflicts--;
        dd_conflict_free(c);
    }
    return DC_OK;
}

/* ---- a conflict back from its document ---- */

static void copy_str(char *dst, size_t len, json_t *v)
{
    snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The static name matching a stored word (the structure keeps pointers to constants). */
static const char *word(json_t *v, const char *const *words, size_t n)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, words[i]) == 0) return words[i];
    return NULL;
}

static void side_from_view(dd_cf_side_t *s, json_t *v, double updated_s, double ack_s)
{
    static const char *const priorities[] = {"lower", "equal", "higher"};
    copy_str(s->track, sizeof(s->track), json_object_get(v, "own_track"));
    copy_str(s->operation, sizeof(s->operation), json_object_get(v, "own_operation"));
    copy_str(s->other_ref, sizeof(s->other_ref), json_object_get(v, "other_operation_ref"));
    s->priority = word(json_object_get(v, "priority"), priorities, 3);
    json_t *ov = json_object_get(v, "overlaps");
    s->overlaps = ov ? json_incref(ov) : NULL;
    s->sees_aircraft = aircraft_of(json_object_get(v, "other_aircraft"), &s->aircraft);
    s->acknowledged = json_is_true(json_object_get(v, "acknowledged"));
    copy_str(s->acknowledged_at, sizeof(s->acknowledged_at), json_object_get(v, "acknowledged_at"));
    s->escalations = (int)json_integer_value(json_object_get(v, "escalations"));
    copy_str(s->escalated_at, sizeof(s->escalated_at), json_object_get(v, "escalated_at"));
    double due = 0;
    bool shown =
        dc_time_parse_rfc3339(json_string_value(json_object_get(v, "ack_due")), &due) == DC_OK;
    s->ack_due_shown = shown ? due : 0;
    /* Still owed: the deadline shown, else the last write's time plus the allowance. */
    s->ack_due = s->acknowledged ? 0 : shown ? due : updated_s + ack_s;
}

/* Conflict doc as a structure (new; NULL when its views are not readable). */
static dd_conflict_t *from_doc(const dc_doc_t *doc, double ack_s)
{
    json_t *va = json_loads(doc->view_a, 0, NULL);
    json_t *vb = doc->view_b ? json_loads(doc->view_b, 0, NULL) : NULL;
    static const char *const kinds[] = {"strategic", "tactical", "intrusion", "nonconforming",
                                        "agreement"};
    static const char *const levels[] = {"advisory", "warning", "loss", "predicted"},
                             *const datas[] = {"live", "stale", "lost"};
    static const char *const profiles[] = {"enroute", "terminal", "high"};
    const char *kind = word(json_object_get(va, "kind"), kinds, 5);
    dd_conflict_t *c = va && kind ? dd_conflict_new(DD_CF_STRATEGIC, doc->id) : NULL;
    if (c) {
        for (int k = 0; k < 5; k++)
            if (kind == kinds[k]) c->kind = (dd_cf_kind_t)k;
        c->open = strcmp(doc->state, "open") == 0;
        copy_str(c->agreement, sizeof(c->agreement), json_object_get(va, "agreement"));
        c->side[0].party = doc->party_a, c->side[1].party = doc->party_b;
        side_from_view(&c->side[0], va, doc->updated_s, ack_s);
        if (vb) side_from_view(&c->side[1], vb, doc->updated_s, ack_s);
        if (c->kind == DD_CF_INTRUSION || c->kind == DD_CF_AGREEMENT) {
            static const char *const entries[] = {"advisory", "warning", "inside"};
            c->level = word(json_object_get(va, "level"), entries, 3);
            if (!c->level) c->level = entries[2]; /* before predicted intrusions */
            c->eval.tin_s = json_number_value(json_object_get(va, "time_to_entry_s"));
            for (int k = 0; k < 2 && c->level == entries[0]; k++)
                if (!c->side[k].ack_due_shown) c->side[k].ack_due = 0;
        }
        if (c->kind == DD_CF_TACTICAL) {
            c->level = word(json_object_get(va, "level"), levels, 4);
            if (c->level == levels[3]) c->level = levels[1]; /* before graded alerting */
            c->data = word(json_object_get(va, "data"), datas, 3);
            json_t *m = json_object_get(va, "minima");
            c->profile = word(json_object_get(m, "profile"), profiles, 3);
            if (!c->level) c->level = levels[1];
            for (int k = 0; k < 2 && c->level == levels[0]; k++)
                if (!c->side[k].ack_due_shown) c->side[k].ack_due = 0; /* never warned: none owed */
            if (!c->data) c->data = "live";
            if (!c->profile) c->profile = "enroute";
            c->minima.h_nm = json_number_value(json_object_get(m, "h_nm"));
            c->minima.v_ft = json_number_value(json_object_get(m, "v_ft"));
            dc_pair_eval_t *e = &c->eval;
            e->tcpa_s = json_number_value(json_object_get(va, "tcpa_s"));
            e->dcpa_nm = json_number_value(json_object_get(va, "dcpa_nm"));
            e->hsep_nm = json_number_value(json_object_get(va, "hsep_nm"));
            e->vsep_ft = json_number_value(json_object_get(va, "vsep_ft"));
            e->tin_s = json_number_value(json_object_get(va, "time_to_loss_s"));
            e->los_now = strcmp(c->level, "loss") == 0;
            e->conflict = true;
            /* Written before predicted_at: the last write's time is the best there is. */
            const char *at = json_string_value(json_object_get(va, "predicted_at"));
            if (!at || dc_time_parse_rfc3339(at, &c->predicted_s) != DC_OK)
                c->predicted_s = doc->updated_s;
        }
    }
    json_decref(va), json_decref(vb);
    return c;
}

/* ---- acknowledgement and escalation ---- */

dc_err_t dd_conflict_ack_in(dd_service_t *svc, int64_t party, const char *id, double now,
                            json_t **out, dd_fault_t *f)
{
    dd_conflict_t *c = dd_conflict_open(svc, id), *loaded = NULL;
    if (!c) { /* a resolved one may still be acknowledged: from its document */
        dc_doc_t doc;
        if (dc_store_doc_fetch(svc->store, "conflict", id, &doc) == DC_OK) {
            loaded = c = from_doc(&doc, svc->cfg.conflict_ack_s);
            dc_doc_release(&doc);
        }
    }
    int k = !c ? -1 : c->side[0].party == party ? 0 : c->side[1].party == party && party ? 1 : -1;
    if (k < 0) {
        dd_conflict_free(loaded);
        return dd_fail(f, DC_ERR_NOT_FOUND, "id", "no conflict '%.60s'", id);
    }
    if (!c->side[k].acknowledged && c->side[k].ack_due > 0)
        c->side[k].ack_due_shown = c->side[k].ack_due;
    c->side[k].acknowledged = true;
    c->side[k].ack_due = 0;
    dd_time_text(now, c->side[k].acknowledged_at);
    dc_err_t rc = dd_conflict_write(svc, c, DD_CF_ACKED, k, party, now);
    if (rc == DC_OK) *out = view_of(svc, c, k, now);
    dd_conflict_free(loaded);
    if (rc != DC_OK) return dd_store_failed(svc, f);
    return DC_OK;
}

typedef struct ack_job {
    int64_t party;
    const char *id;
    double now;
    json_t **out;
} ack_job_t;

static dc_err_t ack_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    ack_job_t *j = job;
    return dd_conflict_ack_in(svc, j->party, j->id, j->now, j->out, f);
}

dc_err_t dd_conflict_ack(dd_service_t *svc, int64_t party, const char *id, double now, json_t **out,
                         dd_fault_t *f)
{
    *out = NULL;
    ack_job_t j = {party, id, now, out};
    dc_err_t rc = dd_write_section(svc, ack_section, &j, f);
    if (rc != DC_OK) json_decref(*out), *out = NULL;
    return rc;
}

void dd_conflicts_escalate(dd_service_t *svc, double now)
{
    /* Collected first: writing does not change the table (only a resolution would). */
    for (size_t i = 0; i < svc->conflicts.cap; i++) {
        dd_conflict_t *c = svc->conflicts.slots[i].key ? svc->conflicts.slots[i].val : NULL;
        for (int k = 0; c && k < 2; k++) {
            dd_cf_side_t *s = &c->side[k];
            if (!s->party || s->acknowledged || !s->ack_due || s->ack_due > now) continue;
            s->escalations++;
            dd_time_text(now, s->escalated_at);
            s->ack_due = now + svc->cfg.conflict_ack_s;
            if (dd_conflict_write(svc, c, DD_CF_ESCALATED, k, 0, now) != DC_OK)
                fprintf(stderr, "deconflictd: conflict %s could not be escalated: %s\n", c->id,
                        dc_store_last_error(svc->store));
        }
    }
}

/* ---- restore ---- */

void dd_conflicts_apply(dd_service_t *svc, const dc_doc_t *doc)
{
    dd_conflict_t *held = dd_table_get(&svc->conflicts, doc->id);
    if (held) {
        dd_table_del(&svc->conflicts, doc->id);
        if (svc->open_conflicts) svc->open_conflicts--;
        dd_conflict_free(held);
    }
    if (strcmp(doc->state, "open") != 0) return;
    dd_conflict_t *c = from_doc(doc, svc->cfg.conflict_ack_s);
    if (c && dd_table_put(&svc->conflicts, c->id, c))
        svc->open_conflicts++;
    else
        dd_conflict_free(c);
}

static void restore_one(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "open") != 0) return;
    dd_conflict_t *c = from_doc(doc, svc->cfg.conflict_ack_s);
    if (!c) {
        fprintf(stderr, "deconflictd: conflict %s is not readable; left as it is\n", doc->id);
        return;
    }
    if (!dd_table_put(&svc->conflicts, c->id, c)) {
        dd_conflict_free(c);
        return;
    }
    svc->open_conflicts++;
}

bool dd_conflicts_open(dd_service_t *svc,
                       void (*each)(dd_service_t *svc, const dd_conflict_t *c, void *ctx),
                       void *ctx)
{
    if (dc_store_doc_each(svc->store, "conflict", restore_one, svc) != DC_OK) return false;
    for (size_t i = 0; each && i < svc->conflicts.cap; i++)
        if (svc->conflicts.slots[i].key) each(svc, svc->conflicts.slots[i].val, ctx);
    return true;
}

void dd_conflicts_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->conflicts, (void (*)(void *))dd_conflict_free);
}
