/* Acknowledgement deadlines of conflict alerts: see acks.h and docs/hotline.md. */
#include "acks.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/timefmt.h"
#include "service.h"

static void party_key(int64_t party, char out[24])
{
    snprintf(out, 24, "%lld", (long long)party);
}

void dd_acks_expect(dd_service_t *svc, const char *cid, int64_t party_a, int64_t party_b,
                    double now)
{
    json_t *due = json_object();
    char k[24];
    party_key(party_a, k);
    json_object_set_new(due, k, json_real(now + svc->cfg.conflict_ack_s));
    if (party_b) {
        party_key(party_b, k);
        json_object_set_new(due, k, json_real(now + svc->cfg.conflict_ack_s));
    }
    json_object_set_new(svc->ack_pending, cid, due);
}

void dd_acks_done(dd_service_t *svc, const char *cid, int64_t party)
{
    json_t *due = json_object_get(svc->ack_pending, cid);
    char k[24];
    party_key(party, k);
    json_object_del(due, k);
    if (due && json_object_size(due) == 0) json_object_del(svc->ack_pending, cid);
}

/* One escalation of conflict cid for party late (who has not acknowledged): its view counts
 * the escalation and carries the new deadline; both parties get conflict.escalated, the other
 * one told whose acknowledgement is missing. */
static bool escalate(dd_service_t *svc, const char *cid, int64_t late, double now, double next)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "conflict", cid, &doc) != DC_OK) return false;
    if (strcmp(doc.state, "open") != 0) {
        /* Over before anyone answered: the alert stays unacknowledged in the views, but is no
         * longer pressed. */
        dc_doc_release(&doc);
        return false;
    }
    bool late_is_a = doc.party_a == late;
    json_t *va = json_loads(doc.view_a, 0, NULL);
    json_t *vb = doc.view_b ? json_loads(doc.view_b, 0, NULL) : NULL;
    json_t *mine = late_is_a ? va : vb, *theirs = late_is_a ? vb : va;
    int64_t other = late_is_a ? doc.party_b : doc.party_a;
    if (mine) {
        char t[DC_TIME_RFC3339_MAX], due[DC_TIME_RFC3339_MAX];
        dc_time_format_rfc3339(now, t, sizeof(t));
        dc_time_format_rfc3339(next, due, sizeof(due));
        json_object_set_new(
            mine, "escalations",
            json_integer(json_integer_value(json_object_get(mine, "escalations")) + 1));
        json_object_set_new(mine, "escalated_at", json_string(t));
        json_object_set_new(mine, "ack_due", json_string(due));
        char *ta = json_dumps(va, JSON_COMPACT | JSON_REAL_PRECISION(12));
        char *tb = vb ? json_dumps(vb, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        dc_doc_t upd = doc;
        upd.view_a = ta, upd.view_b = tb, upd.updated_s = now, upd.actor = 0;
        if (ta && (!vb || tb) && dc_store_doc_put(svc->store, &upd) == DC_OK) {
            dd_event(svc, late, "conflict.escalated", mine);
            if (theirs && other) {
                char name[DC_PARTY_NAME_MAX];
                dd_party_name(svc, late, name);
                json_t *note = json_copy(theirs);
                json_object_set_new(note, "unacknowledged_by", json_string(name));
                dd_event(svc, other, "conflict.escalated", note);
                json_decref(note);
            }
        }
        free(ta), free(tb);
    }
    json_decref(va), json_decref(vb);
    dc_doc_release(&doc);
    return true;
}

void dd_acks_escalate(dd_service_t *svc, double now)
{
    const char *cid;
    json_t *due;
    void *tmp_c;
    json_object_foreach_safe(svc->ack_pending, tmp_c, cid, due)
    {
        const char *k;
        json_t *t;
        void *tmp_k;
        json_object_foreach_safe(due, tmp_k, k, t)
        {
            if (json_real_value(t) > now) continue;
            double next = now + svc->cfg.conflict_ack_s;
            if (escalate(svc, cid, strtoll(k, NULL, 10), now, next))
                json_object_set_new(due, k, json_real(next));
            else
                json_object_del(due, k);
        }
        if (json_object_size(due) == 0) json_object_del(svc->ack_pending, cid);
    }
}

static void restore(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "open") != 0) return;
    const char *views[2] = {doc->view_a, doc->view_b};
    int64_t parties[2] = {doc->party_a, doc->party_b};
    for (int i = 0; i < 2; i++) {
        if (!views[i] || !parties[i]) continue;
        json_t *v = json_loads(views[i], 0, NULL);
        if (v && !json_is_true(json_object_get(v, "acknowledged"))) {
            json_t *due = json_object_get(svc->ack_pending, doc->id);
            if (!due) {
                due = json_object();
                json_object_set_new(svc->ack_pending, doc->id, due);
            }
            char k[24];
            party_key(parties[i], k);
            double at = doc->updated_s + svc->cfg.conflict_ack_s;
            double when = 0;
            if (dc_time_parse_rfc3339(json_string_value(json_object_get(v, "ack_due")), &when) ==
                DC_OK)
                at = when;
            json_object_set_new(due, k, json_real(at));
        }
        json_decref(v);
    }
}

bool dd_acks_open(dd_service_t *svc)
{
    svc->ack_pending = json_object();
    return svc->ack_pending && dc_store_doc_each(svc->store, "conflict", restore, svc) == DC_OK;
}
