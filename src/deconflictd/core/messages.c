/* The hotline: sending, delivery, acknowledgement, escalation, the channel's suspension. See
 * messages.h and docs/hotline.md. What a recipient sees is what the sender wrote, the sender's
 * party name, and the sender's operations by their opaque refs (never their ids). */
#include "core/messages.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/commit.h"
#include "core/events.h"
#include "core/ids.h"
#include "core/parties.h"
#include "deconflict/timefmt.h"

/* Writes both views of message id (sender a, recipient b) and its state (the sender's view's):
 * the one writer of message documents. actor: who caused it (0: the service). */
static dc_err_t put_message(dd_service_t *svc, const char *id, int64_t a, int64_t b, json_t *va,
                            json_t *vb, int64_t actor, double now)
{
    char *ta = dd_json_text(va), *tb = dd_json_text(vb);
    const char *state = json_string_value(json_object_get(va, "state"));
    dc_doc_t doc = {"message", id, a, b, ta, tb, state ? state : "sent", now, actor};
    dc_err_t rc = ta && tb ? dc_store_doc_put(svc->store, &doc) : DC_ERR_NOMEM;
    free(ta), free(tb);
    return rc;
}

/* Sets key to value in both views. */
static void set_both(json_t *va, json_t *vb, const char *key, json_t *value)
{
    json_object_set(va, key, value);
    json_object_set_new(vb, key, value);
}

/* One entry point's work, run in a write section of its own (dd_write_section). */
typedef struct msg_job {
    int64_t party;
    const char *id, *reply;
    const dd_message_req_t *m;
    bool in;
    double now;
    json_t **out;
    int64_t sender; /* ack: whom the reply goes back to (0: none) */
} msg_job_t;

static dc_err_t run(dd_service_t *svc, dc_err_t (*fn)(dd_service_t *, void *, dd_fault_t *),
                    msg_job_t *j, dd_fault_t *f)
{
    *j->out = NULL;
    dc_err_t rc = dd_write_section(svc, fn, j, f);
    if (rc != DC_OK) json_decref(*j->out), *j->out = NULL;
    return rc;
}

static void note_pending(dd_service_t *svc, const char *id, double deadline_s)
{
    double *d = dd_table_get(&svc->msg_pending, id);
    if (!d && (d = malloc(sizeof(*d))) && !dd_table_put(&svc->msg_pending, id, d)) {
        free(d);
        d = NULL;
    }
    if (d) *d = deadline_s;
}

static void drop_pending(dd_service_t *svc, const char *id)
{
    free(dd_table_del(&svc->msg_pending, id));
}

static dc_err_t store_failed(dd_service_t *svc, dd_fault_t *f, const char *what)
{
    return dd_fail(f, DC_ERR_STORE, "", "the store refused %s: %s", what,
                   dc_store_last_error(svc->store));
}

dc_err_t dd_message_render(const dd_message_req_t *m, char **en, char **ru, dd_fault_t *f)
{
    *en = *ru = NULL;
    if (!json_is_object(m->fields))
        return dd_fail(f, DC_ERR_INVALID, "fields",
                       "fields: expected an object with the category's fields");
    char *text = dd_json_text(m->fields);
    char field[DC_MSG_FIELD_MAX] = "", msg[300] = "out of memory";
    dc_err_t rc = text ? dc_msg_render(m->cat, text, strlen(text), en, ru, field, msg, sizeof(msg))
                       : DC_ERR_NOMEM;
    free(text);
    if (rc == DC_OK) return DC_OK;
    char path[100];
    snprintf(path, sizeof(path), "fields%s%s", field[0] ? "/" : "", field);
    return dd_fail(f, rc, path, "%s", msg);
}

/* The references a sender may attach: its own operations (shown to the recipient by ref) and
 * conflicts it is in (their shape already checked). false with f on one that is not. */
static bool check_references(dd_service_t *svc, int64_t party, json_t *refs, json_t **for_sender,
                             json_t **for_recipient, dd_fault_t *f)
{
    *for_sender = json_object();
    *for_recipient = json_object();
    if (!refs || json_is_null(refs)) return true;
    const char *key;
    json_t *list;
    json_object_foreach(refs, key, list)
    {
        bool ops = strcmp(key, "operations") == 0;
        json_t *mine = json_array(), *theirs = json_array();
        json_object_set_new(*for_sender, key, mine);
        json_object_set_new(*for_recipient, ops ? "operation_refs" : "conflicts", theirs);
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            const char *ref_id = json_string_value(v);
            char *view = NULL, *state = NULL;
            bool ok = ref_id && dc_store_doc_get(svc->store, ops ? "operation" : "conflict", ref_id,
                                                 party, &view, &state) == DC_OK;
            json_t *parsed = ok ? json_loads(view, 0, NULL) : NULL;
            free(view), free(state);
            if (!ok || !parsed) {
                json_decref(parsed);
                dd_fail(f, DC_ERR_INVALID, "references", "references/%s/%zu: not one of your %s",
                        key, i, ops ? "operations" : "conflicts");
                return false;
            }
            json_array_append(mine, v);
            json_array_append(theirs, ops ? json_object_get(parsed, "ref") : v);
            json_decref(parsed);
        }
    }
    return true;
}

/* ---- the channel's degraded mode ----
 * A party that sends a `suspension` message suspends its side of the channel: what is sent to
 * it meanwhile is recorded as usual (messages "queued", their senders told the recipient is
 * suspended; alerts and every other event in its event log), but its event streams pause.
 * Its `resumption` message lifts that: the streams go on from where they paused, so everything
 * arrives, in order, and queued messages become "sent". The state is a document ("channel",
 * one per party), so it survives restarts and is in the audit trail. */

static void collect_queued(const char *id, const char *view, void *ctx)
{
    json_t *v = json_loads(view, 0, NULL);
    if (v && json_object_get(v, "from")) json_array_append_new(ctx, json_string(id));
    json_decref(v);
}

static dc_err_t set_channel(dd_service_t *svc, int64_t party, bool suspend, double now)
{
    char k[24], t[40];
    snprintf(k, sizeof(k), "%lld", (long long)party);
    json_t *view = json_pack("{s:s, s:s}", "state", suspend ? "suspended" : "active", "since",
                             dd_time_text(now, t));
    char *text = dd_json_text(view);
    json_decref(view);
    dc_doc_t doc = {"channel", k,    party, 0, text, NULL, suspend ? "suspended" : "active",
                    now,       party};
    dc_err_t rc = text ? dc_store_doc_put(svc->store, &doc) : DC_ERR_NOMEM;
    free(text);
    if (rc != DC_OK || suspend) return rc;
    /* What was queued for the party is now sent: both views say so. */
    json_t *ids = json_array();
    rc = dc_store_doc_list(svc->store, "message", party, "queued", collect_queued, ids);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (rc != DC_OK) break;
        dc_doc_t m;
        if (dc_store_doc_fetch(svc->store, "message", json_string_value(id), &m) != DC_OK) continue;
        json_t *va = json_loads(m.view_a, 0, NULL), *vb = json_loads(m.view_b, 0, NULL);
        set_both(va, vb, "state", json_string("sent"));
        set_both(va, vb, "updated", json_string(dd_time_text(now, t)));
        json_object_del(va, "recipient_suspended");
        rc = va && vb ? put_message(svc, m.id, m.party_a, m.party_b, va, vb, party, now)
                      : DC_ERR_NOMEM;
        json_decref(va), json_decref(vb);
        dc_doc_release(&m);
    }
    json_decref(ids);
    return rc;
}

static void restore_channel(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    dd_channel_set_suspended(svc, strtoll(doc->id, NULL, 10), strcmp(doc->state, "suspended") == 0);
}

/* ---- sending ---- */

/* The recipients of m from party: its one named party, or every other enabled one. */
static dc_err_t recipients(dd_service_t *svc, int64_t party, const char *to, int64_t **ids,
                           size_t *n, dd_fault_t *f)
{
    if (strcmp(to, "*") == 0)
        return dd_parties_others(svc, party, ids, n)
                   ? DC_OK
                   : dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    int64_t id = dd_party_id(svc, to);
    if (!id || id == party)
        return dd_fail(f, DC_ERR_INVALID, "to", "to: no other party named '%.60s'", to);
    *ids = malloc(sizeof(**ids));
    if (!*ids) return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    (*ids)[0] = id, *n = 1;
    return DC_OK;
}

/* Sends m from party, inside a write section: one message per recipient. */
static dc_err_t send_in(dd_service_t *svc, int64_t party, const dd_message_req_t *m, double now,
                        json_t **out, dd_fault_t *f)
{
    char *en, *ru;
    dc_err_t rc = dd_message_render(m, &en, &ru, f);
    if (rc != DC_OK) return rc;
    int64_t *rcpt = NULL;
    size_t n_rcpt = 0;
    json_t *refs_sender = NULL, *refs_recipient = NULL;
    rc = recipients(svc, party, m->to, &rcpt, &n_rcpt, f);
    /* A reply names a message the sender received. */
    char *orig_view = NULL, *orig_state = NULL;
    if (rc == DC_OK && m->in_reply_to &&
        dc_store_doc_get(svc->store, "message", json_string_value(m->in_reply_to), party,
                         &orig_view, &orig_state) != DC_OK)
        rc = dd_fail(f, DC_ERR_INVALID, "in_reply_to", "in_reply_to: not a message of yours");
    free(orig_view), free(orig_state);
    if (rc == DC_OK &&
        !check_references(svc, party, m->references, &refs_sender, &refs_recipient, f))
        rc = DC_ERR_INVALID;
    char now_text[40], dl_text[40], sender_name[DC_PARTY_NAME_MAX];
    dd_time_text(now, now_text);
    dd_party_name(svc, party, sender_name);
    json_t *sent = json_array();
    for (size_t i = 0; i < n_rcpt && rc == DC_OK; i++) {
        char id[40], rname[DC_PARTY_NAME_MAX];
        dd_random_id("msg_", id, sizeof(id));
        dd_party_name(svc, rcpt[i], rname);
        bool held = dd_channel_suspended(svc, rcpt[i]);
        json_t *common = json_pack(
            "{s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s}, s:b, s:s, s:s}", "id", id, "category",
            dc_msg_category_name(m->cat), "priority", dc_msg_priority_name(m->priority), "state",
            held ? "queued" : "sent", "fields", m->fields, "text", "en", en, "ru", ru,
            "ack_required", m->ack_required, "sent_at", now_text, "updated", now_text);
        if (m->ack_required) {
            json_object_set_new(common, "ack_deadline_s", json_real(m->deadline_s));
            json_object_set_new(common, "ack_due",
                                json_string(dd_time_text(now + m->deadline_s, dl_text)));
        }
        if (m->in_reply_to) json_object_set(common, "in_reply_to", m->in_reply_to);
        json_t *va = json_deep_copy(common), *vb = common;
        json_object_set_new(va, "to", json_string(rname));
        json_object_set(va, "references", refs_sender);
        if (held) json_object_set_new(va, "recipient_suspended", json_true());
        json_object_set_new(vb, "from", json_string(sender_name));
        json_object_set(vb, "references", refs_recipient);
        rc = put_message(svc, id, party, rcpt[i], va, vb, party, now);
        if (rc == DC_OK) rc = dd_event(svc, rcpt[i], "message.new", vb, now);
        if (rc == DC_OK && m->ack_required) note_pending(svc, id, now + m->deadline_s);
        json_array_append_new(sent, va);
        json_decref(vb);
        if (rc != DC_OK) store_failed(svc, f, "the message");
    }
    /* Suspending or resuming the sender's own side of the channel: its streams follow at once
     * (they deliver only what is durable; dd_message_send undoes it if the commit fails). */
    if (rc == DC_OK && (m->cat == DC_MSG_SUSPENSION || m->cat == DC_MSG_RESUMPTION)) {
        if ((rc = set_channel(svc, party, m->cat == DC_MSG_SUSPENSION, now)) != DC_OK)
            store_failed(svc, f, "the channel's state");
        else
            dd_channel_set_suspended(svc, party, m->cat == DC_MSG_SUSPENSION);
    }
    json_decref(refs_sender), json_decref(refs_recipient);
    free(en), free(ru), free(rcpt);
    if (rc != DC_OK) {
        json_decref(sent);
        return rc;
    }
    *out = json_pack("{s:o}", "messages", sent);
    return DC_OK;
}

static dc_err_t send_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    msg_job_t *j = job;
    return send_in(svc, j->party, j->m, j->now, j->out, f);
}

dc_err_t dd_message_send(dd_service_t *svc, int64_t party, const dd_message_req_t *m, double now,
                         json_t **out, dd_fault_t *f)
{
    bool was = dd_channel_suspended(svc, party);
    msg_job_t j = {.party = party, .m = m, .now = now, .out = out};
    dc_err_t rc = run(svc, send_in_section, &j, f);
    if (rc != DC_OK) dd_channel_set_suspended(svc, party, was);
    return rc;
}

/* ---- delivery ---- */

/* Moves message id to delivered if party is its recipient and it is still sent or queued;
 * appends the sender's event. Inside a write section. */
static dc_err_t deliver(dd_service_t *svc, int64_t party, const char *id, double now)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK) return DC_OK;
    dc_err_t rc = DC_OK;
    if (doc.party_b == party &&
        (strcmp(doc.state, "sent") == 0 || strcmp(doc.state, "queued") == 0)) {
        json_t *va = json_loads(doc.view_a, 0, NULL), *vb = json_loads(doc.view_b, 0, NULL);
        char t[40];
        dd_time_text(now, t);
        set_both(va, vb, "state", json_string("delivered"));
        set_both(va, vb, "delivered_at", json_string(t));
        set_both(va, vb, "updated", json_string(t));
        rc = va && vb ? put_message(svc, id, doc.party_a, doc.party_b, va, vb, party, now)
                      : DC_ERR_NOMEM;
        if (rc == DC_OK) rc = dd_event(svc, doc.party_a, "message.delivered", va, now);
        json_decref(va), json_decref(vb);
    }
    dc_doc_release(&doc);
    return rc;
}

static void collect(const char *id, const char *view, void *ctx)
{
    json_t *v = json_loads(view, 0, NULL);
    if (v) json_object_set_new(ctx, id, v);
}

static dc_err_t list_in(dd_service_t *svc, int64_t party, bool in, double now, json_t **out,
                        dd_fault_t *f)
{
    json_t *all = json_object();
    if (dc_store_doc_list(svc->store, "message", party, NULL, collect, all) != DC_OK) {
        json_decref(all);
        return dd_fail(f, DC_ERR_STORE, "", "the store could not be read");
    }
    /* The in box is what the caller received (its view has "from"). Fetching it delivers. */
    json_t *items = json_array();
    const char *id;
    json_t *v;
    dc_err_t rc = DC_OK;
    char t[40];
    json_object_foreach(all, id, v)
    {
        if ((json_object_get(v, "from") != NULL) != in) continue;
        const char *st = json_string_value(json_object_get(v, "state"));
        if (in && (strcmp(st, "sent") == 0 || strcmp(st, "queued") == 0)) {
            if (rc == DC_OK) rc = deliver(svc, party, id, now);
            json_object_set_new(v, "state", json_string("delivered"));
            json_object_set_new(v, "delivered_at", json_string(dd_time_text(now, t)));
        }
        json_array_append(items, v);
    }
    json_decref(all);
    if (rc == DC_OK)
        *out = json_pack("{s:o}", "messages", items);
    else
        json_decref(items);
    return rc == DC_OK ? DC_OK : store_failed(svc, f, "the delivery");
}

static dc_err_t list_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    msg_job_t *j = job;
    return list_in(svc, j->party, j->in, j->now, j->out, f);
}

dc_err_t dd_message_list(dd_service_t *svc, int64_t party, bool in, double now, json_t **out,
                         dd_fault_t *f)
{
    msg_job_t j = {.party = party, .in = in, .now = now, .out = out};
    return run(svc, list_in_section, &j, f); /* reads deliver: they write too */
}

static dc_err_t get_in(dd_service_t *svc, int64_t party, const char *id, double now, json_t **out,
                       dd_fault_t *f)
{
    char *view = NULL, *state = NULL;
    if (dc_store_doc_get(svc->store, "message", id, party, &view, &state) != DC_OK)
        return dd_fail(f, DC_ERR_NOT_FOUND, "id", "no message '%.60s'", id);
    bool deliver_now = strcmp(state, "sent") == 0 || strcmp(state, "queued") == 0;
    free(view), free(state);
    if (deliver_now && deliver(svc, party, id, now) != DC_OK)
        return store_failed(svc, f, "the delivery");
    view = state = NULL;
    dc_store_doc_get(svc->store, "message", id, party, &view, &state);
    *out = view ? json_loads(view, 0, NULL) : NULL;
    free(view), free(state);
    return *out ? DC_OK : dd_fail(f, DC_ERR_STORE, "", "unreadable message");
}

static dc_err_t get_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    msg_job_t *j = job;
    return get_in(svc, j->party, j->id, j->now, j->out, f);
}

dc_err_t dd_message_get(dd_service_t *svc, int64_t party, const char *id, double now, json_t **out,
                        dd_fault_t *f)
{
    msg_job_t j = {.party = party, .id = id, .now = now, .out = out};
    return run(svc, get_in_section, &j, f);
}

void dd_message_delivered(dd_service_t *svc, int64_t party, json_t *ids, double now)
{
    dd_write_lock(svc);
    if (dd_tx_begin(svc) == DC_OK) {
        size_t i;
        json_t *v;
        dc_err_t rc = DC_OK;
        json_array_foreach(ids, i, v) if (rc == DC_OK) rc =
            deliver(svc, party, json_string_value(v), now);
        if (rc == DC_OK)
            dd_tx_end(svc);
        else
            dd_tx_abort(svc);
    }
    dd_write_unlock(svc);
}

/* ---- acknowledgement ---- */

/* Acknowledges message id as party, inside a write section; the recipient's view in *out. */
static dc_err_t ack_in(dd_service_t *svc, int64_t party, const char *id, const char *reply,
                       double now, json_t **out, int64_t *sender, dd_fault_t *f)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK)
        return dd_fail(f, DC_ERR_NOT_FOUND, "id", "no message '%.60s'", id);
    if (doc.party_b != party) {
        bool is_sender = doc.party_a == party;
        dc_doc_release(&doc);
        /* Someone else's message and no message at all answer the same. */
        return is_sender
                   ? dd_fail(f, DC_ERR_FORBIDDEN, "id", "only the recipient acknowledges a message")
                   : dd_fail(f, DC_ERR_NOT_FOUND, "id", "no message '%.60s'", id);
    }
    json_t *va = json_loads(doc.view_a, 0, NULL), *vb = json_loads(doc.view_b, 0, NULL);
    *sender = doc.party_a;
    bool already = strcmp(doc.state, "acknowledged") == 0;
    dc_doc_release(&doc);
    if (already) {
        json_decref(va);
        *out = vb;
        *sender = 0; /* idempotent: the first acknowledgement stands, no reply again */
        return DC_OK;
    }
    char t[40];
    dd_time_text(now, t);
    if (!json_object_get(va, "delivered_at")) set_both(va, vb, "delivered_at", json_string(t));
    set_both(va, vb, "state", json_string("acknowledged"));
    set_both(va, vb, "acknowledged_at", json_string(t));
    set_both(va, vb, "updated", json_string(t));
    if (reply) set_both(va, vb, "reply_text", json_string(reply));
    dc_err_t rc = put_message(svc, id, *sender, party, va, vb, party, now);
    if (rc == DC_OK) rc = dd_event(svc, *sender, "message.acked", va, now);
    json_decref(va);
    if (rc != DC_OK) {
        json_decref(vb);
        return store_failed(svc, f, "the acknowledgement");
    }
    *out = vb;
    return DC_OK;
}

static dc_err_t ack_in_section(dd_service_t *svc, void *job, dd_fault_t *f)
{
    msg_job_t *j = job;
    return ack_in(svc, j->party, j->id, j->reply, j->now, j->out, &j->sender, f);
}

dc_err_t dd_message_ack(dd_service_t *svc, int64_t party, const char *id, const char *reply,
                        double now, json_t **out, dd_fault_t *f)
{
    msg_job_t j = {.party = party, .id = id, .reply = reply, .now = now, .out = out};
    dc_err_t rc = run(svc, ack_in_section, &j, f);
    if (rc != DC_OK) return rc;
    int64_t sender = j.sender;
    dd_write_lock(svc);
    drop_pending(svc, id);
    dd_write_unlock(svc);
    if (reply && sender) {
        /* The reply travels as a message of its own, threaded to the original. */
        char sender_name[DC_PARTY_NAME_MAX];
        dd_write_lock(svc);
        dd_party_name(svc, sender, sender_name);
        dd_write_unlock(svc);
        json_t *fields = json_pack("{s:s}", "text", reply), *orig = json_string(id);
        dd_message_req_t r = {.to = sender_name,
                              .cat = DC_MSG_FREE_TEXT,
                              .priority = DC_MSG_ROUTINE,
                              .fields = fields,
                              .in_reply_to = orig};
        json_t *rout = NULL;
        dd_fault_t rf;
        if (dd_message_send(svc, party, &r, now, &rout, &rf) == DC_OK)
            json_object_set(*out, "reply", json_array_get(json_object_get(rout, "messages"), 0));
        json_decref(rout), json_decref(fields), json_decref(orig);
    }
    return DC_OK;
}

/* ---- escalation ----
 * Past its deadline an unacknowledged message is re-notified to both sides as
 * message.escalated, one priority step higher (up to flash), with a new deadline one
 * ack_deadline_s later; it goes on until it is acknowledged. */

static void escalate_one(dd_service_t *svc, const char *id, double now)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK) {
        drop_pending(svc, id);
        return;
    }
    bool acked = strcmp(doc.state, "acknowledged") == 0;
    json_t *va = acked ? NULL : json_loads(doc.view_a, 0, NULL);
    json_t *vb = acked ? NULL : json_loads(doc.view_b, 0, NULL);
    int64_t a = doc.party_a, b = doc.party_b;
    dc_doc_release(&doc);
    if (!va || !vb) {
        json_decref(va), json_decref(vb);
        drop_pending(svc, id);
        return;
    }
    dc_msg_priority_t p = DC_MSG_ROUTINE;
    dc_msg_priority_parse(json_string_value(json_object_get(va, "priority")), &p);
    if (p < DC_MSG_FLASH) p++;
    double step = json_number_value(json_object_get(va, "ack_deadline_s"));
    if (step < 1) step = 300;
    char t[40], due[40];
    set_both(va, vb, "priority", json_string(dc_msg_priority_name(p)));
    set_both(va, vb, "escalations",
             json_integer(json_integer_value(json_object_get(va, "escalations")) + 1));
    set_both(va, vb, "escalated_at", json_string(dd_time_text(now, t)));
    set_both(va, vb, "ack_due", json_string(dd_time_text(now + step, due)));
    set_both(va, vb, "updated", json_string(t));
    if (put_message(svc, id, a, b, va, vb, 0, now) == DC_OK) {
        dd_event(svc, b, "message.escalated", vb, now);
        dd_event(svc, a, "message.escalated", va, now);
    }
    note_pending(svc, id, now + step);
    json_decref(va), json_decref(vb);
}

void dd_messages_escalate(dd_service_t *svc, double now)
{
    /* The due ones collected first: escalating changes the table. */
    size_t n = 0;
    char(*due)[40] = malloc((svc->msg_pending.len + 1) * sizeof(*due));
    for (size_t i = 0; due && i < svc->msg_pending.cap; i++) {
        const char *id = svc->msg_pending.slots[i].key;
        if (id && *(double *)svc->msg_pending.slots[i].val <= now)
            snprintf(due[n++], sizeof(due[0]), "%s", id);
    }
    for (size_t i = 0; i < n; i++) escalate_one(svc, due[i], now);
    free(due);
}

/* ---- restore ---- */

static void restore_pending(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "acknowledged") == 0) {
        drop_pending(svc, doc->id);
        return;
    }
    json_t *v = json_loads(doc->view_a, 0, NULL);
    double due;
    if (json_is_true(json_object_get(v, "ack_required")) &&
        dc_time_parse_rfc3339(json_string_value(json_object_get(v, "ack_due")), &due) == DC_OK)
        note_pending(svc, doc->id, due);
    json_decref(v);
}

bool dd_messages_open(dd_service_t *svc)
{
    return dc_store_doc_each(svc->store, "message", restore_pending, svc) == DC_OK &&
           dc_store_doc_each(svc->store, "channel", restore_channel, svc) == DC_OK;
}

void dd_messages_apply(dd_service_t *svc, const dc_doc_t *doc)
{
    if (strcmp(doc->kind, "channel") == 0)
        restore_channel(doc, svc);
    else
        restore_pending(doc, svc);
}

void dd_messages_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->msg_pending, free);
}
