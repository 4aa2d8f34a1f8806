/* The hotline in deconflictd: sending, delivery, acknowledgement, escalation. See messages.h
 * and docs/hotline.md. What a recipient sees is what the sender wrote, the sender's party name,
 * and the sender's operations by their opaque refs (never their ids). */
#include "messages.h"

#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "deconflict/hotline.h"
#include "deconflict/timefmt.h"

static char *time_text(double t_s, char buf[DC_TIME_RFC3339_MAX])
{
    if (dc_time_format_rfc3339(t_s, buf, DC_TIME_RFC3339_MAX) != DC_OK) buf[0] = '\0';
    return buf;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12));
}

typedef struct party_find {
    const char *name;
    int64_t id;
    bool disabled;
} party_find_t;

static void find_party(const dc_party_t *p, void *ctx)
{
    party_find_t *f = ctx;
    if (f->name ? strcmp(p->name, f->name) == 0 : false) f->id = p->id, f->disabled = p->disabled;
}

/* Every other enabled party: the recipients of a message to "*" (as many as there are). */
typedef struct party_all {
    int64_t *ids;
    size_t n, cap;
    int64_t except;
    bool nomem;
} party_all_t;

static void all_parties(const dc_party_t *p, void *ctx)
{
    party_all_t *a = ctx;
    if (p->id == a->except || p->disabled || a->nomem) return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        int64_t *ids = realloc(a->ids, cap * sizeof(*ids));
        if (!ids) {
            a->nomem = true;
            return;
        }
        a->ids = ids, a->cap = cap;
    }
    a->ids[a->n++] = p->id;
}

/* Writes both views of message doc (sender a, recipient b) and its state; actor: who caused
 * it (0: the service). */
static dc_err_t put_message(dd_service_t *svc, const char *id, int64_t a, int64_t b, json_t *va,
                            json_t *vb, int64_t actor)
{
    char *ta = dump(va), *tb = dump(vb);
    const char *state = json_string_value(json_object_get(va, "state"));
    dc_doc_t doc = {"message", id, a, b, ta, tb, state ? state : "sent", dd_now_s(), actor};
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

static void note_pending(dd_service_t *svc, const char *id, double deadline_s)
{
    json_object_set_new(svc->msg_pending, id, json_real(deadline_s));
}

/* The shape of a message's references: {"operations": [ids], "conflicts": [ids]}, each at most
 * DC_MSG_LIST_MAX strings. false with pb otherwise. */
static bool references_shape_ok(json_t *refs, dd_problem_t *pb)
{
    if (!refs || json_is_null(refs)) return true;
    if (!json_is_object(refs)) {
        dd_problem(pb, 400, "invalid_argument", "references",
                   "references: expected an object with operations and conflicts");
        return false;
    }
    const char *key;
    json_t *list;
    json_object_foreach(refs, key, list)
    {
        bool ops = strcmp(key, "operations") == 0, cfs = strcmp(key, "conflicts") == 0;
        if ((!ops && !cfs) || !json_is_array(list) || json_array_size(list) > DC_MSG_LIST_MAX) {
            dd_problem(pb, 400, "invalid_argument", "references",
                       "references: 'operations' and 'conflicts', each an array of at most 32 "
                       "ids");
            return false;
        }
    }
    return true;
}

/* The references a sender may attach: its own operations (shown to the recipient by ref) and
 * conflicts it is in (their shape already checked). false with pb on one that is not. */
static bool check_references(dd_service_t *svc, int64_t party, json_t *refs, json_t **for_sender,
                             json_t **for_recipient, dd_problem_t *pb)
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
                dd_problem(pb, 400, "invalid_argument", "references",
                           "references/%s/%zu: not one of your %s", key, i,
                           ops ? "operations" : "conflicts");
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
    char k[24], t[DC_TIME_RFC3339_MAX];
    snprintf(k, sizeof(k), "%lld", (long long)party);
    json_t *view = json_pack("{s:s, s:s}", "state", suspend ? "suspended" : "active", "since",
                             time_text(now, t));
    char *text = dump(view);
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
        set_both(va, vb, "updated", json_string(time_text(now, t)));
        json_object_del(va, "recipient_suspended");
        rc = va && vb ? put_message(svc, m.id, m.party_a, m.party_b, va, vb, party) : DC_ERR_NOMEM;
        json_decref(va), json_decref(vb);
        dc_doc_release(&m);
    }
    json_decref(ids);
    return rc;
}

static void restore_channel(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "suspended") == 0)
        dd_channel_set_suspended(svc, strtoll(doc->id, NULL, 10), true);
}

static dc_err_t send_parsed(dd_service_t *svc, int64_t party, const dd_message_req_t *m,
                            json_t **out, dd_problem_t *pb);

void dd_message_req_clear(dd_message_req_t *m)
{
    free(m->en), free(m->ru);
    json_decref(m->no_fields);
    memset(m, 0, sizeof(*m));
}

dc_err_t dd_message_parse(json_t *body, dd_message_req_t *m, dd_problem_t *pb)
{
    memset(m, 0, sizeof(*m));
    m->to = json_string_value(json_object_get(body, "to"));
    const char *cat_name = json_string_value(json_object_get(body, "category"));
    json_t *prio = json_object_get(body, "priority");
    m->fields = json_object_get(body, "fields");
    json_t *ack = json_object_get(body, "ack_required"),
           *deadline = json_object_get(body, "ack_deadline_s");
    m->in_reply_to = json_object_get(body, "in_reply_to");
    m->references = json_object_get(body, "references");
    static const char *const known[] = {
        "to",         "category",     "priority",       "fields",
        "references", "ack_required", "ack_deadline_s", "in_reply_to"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key) != 0) k++;
        if (k == sizeof(known) / sizeof(known[0]))
            return dd_problem(pb, 400, "invalid_argument", key, "%.60s: not a message member", key);
    }
    if (!m->to || !*m->to)
        return dd_problem(pb, 400, "invalid_argument", "to",
                          "to: the recipient party's name, or \"*\" for every party");
    if (dc_msg_category_parse(cat_name, &m->cat) != DC_OK)
        return dd_problem(pb, 400, "invalid_argument", "category",
                          "category: one of operation_notice, deconfliction_request, incident, "
                          "suspension, resumption, debrief, free_text");
    m->priority = DC_MSG_ROUTINE;
    if (prio && dc_msg_priority_parse(json_string_value(prio), &m->priority) != DC_OK)
        return dd_problem(pb, 400, "invalid_argument", "priority",
                          "priority: routine, urgent or flash");
    if (ack && !json_is_boolean(ack))
        return dd_problem(pb, 400, "invalid_argument", "ack_required",
                          "ack_required: true or false");
    m->ack_required = json_is_true(ack);
    if (deadline) {
        if (!json_is_number(deadline) || json_number_value(deadline) < 1 ||
            json_number_value(deadline) > DD_MSG_DEADLINE_MAX_S || !m->ack_required)
            return dd_problem(pb, 400, "invalid_argument", "ack_deadline_s",
                              "ack_deadline_s: 1 to 86400 seconds, with ack_required");
        m->deadline_s = json_number_value(deadline);
    } else if (m->ack_required) {
        m->deadline_s = 300; /* documented default */
    }
    if (m->in_reply_to && !json_is_string(m->in_reply_to))
        return dd_problem(pb, 400, "invalid_argument", "in_reply_to",
                          "in_reply_to: not a message of yours");
    if (!references_shape_ok(m->references, pb)) return DC_ERR_INVALID;
    if (!m->fields) m->fields = m->no_fields = json_object(); /* when the body has none */
    if (!json_is_object(m->fields)) {
        dd_message_req_clear(m);
        return dd_problem(pb, 400, "invalid_argument", "fields",
                          "fields: expected an object with the category's fields");
    }
    char *fields_text = dump(m->fields);
    char field[DC_MSG_FIELD_MAX] = "", msg[300] = "out of memory";
    dc_err_t rc = fields_text ? dc_msg_render(m->cat, fields_text, strlen(fields_text), &m->en,
                                              &m->ru, field, msg, sizeof(msg))
                              : DC_ERR_NOMEM;
    free(fields_text);
    if (rc != DC_OK) {
        char path[100];
        snprintf(path, sizeof(path), "fields%s%s", field[0] ? "/" : "", field);
        dd_message_req_clear(m);
        return dd_problem(pb, rc == DC_ERR_NOMEM ? 500 : 400, dc_err_code(rc), path, "%s", msg);
    }
    return DC_OK;
}

dc_err_t dd_message_send(dd_service_t *svc, int64_t party, json_t *body, json_t **out,
                         dd_problem_t *pb)
{
    dd_message_req_t m;
    dc_err_t rc = dd_message_parse(body, &m, pb);
    if (rc != DC_OK) return rc;
    rc = send_parsed(svc, party, &m, out, pb);
    dd_message_req_clear(&m);
    return rc;
}

/* Sends the parsed message m of party: its recipients, references and reply checked against
 * what is stored, then one message per recipient, in one write. */
static dc_err_t send_parsed(dd_service_t *svc, int64_t party, const dd_message_req_t *m,
                            json_t **out, dd_problem_t *pb)
{
    const char *to = m->to;
    dc_msg_category_t cat = m->cat;
    dc_msg_priority_t priority = m->priority;
    bool ack_required = m->ack_required;
    double deadline_s = m->deadline_s;
    json_t *fields = m->fields, *reply_to = m->in_reply_to;
    const char *en = m->en, *ru = m->ru;
    dc_err_t rc;
    /* The recipients. */
    party_all_t rcpt = {.except = party};
    if (strcmp(to, "*") == 0) {
        dc_store_party_list(svc->store, all_parties, &rcpt);
        if (rcpt.nomem) {
            free(rcpt.ids);
            return dd_problem(pb, 500, "out_of_memory", "", "out of memory");
        }
    } else {
        party_find_t f = {to, 0, false};
        dc_store_party_list(svc->store, find_party, &f);
        if (!f.id || f.disabled || f.id == party)
            return dd_problem(pb, 400, "invalid_argument", "to", "to: no other party named '%.60s'",
                              to);
        all_parties(&(dc_party_t){.id = f.id}, &rcpt);
        if (rcpt.nomem) return dd_problem(pb, 500, "out_of_memory", "", "out of memory");
    }
    /* A reply names a message the sender received. */
    char *orig_view = NULL, *orig_state = NULL;
    if (reply_to && dc_store_doc_get(svc->store, "message", json_string_value(reply_to), party,
                                     &orig_view, &orig_state) != DC_OK) {
        free(rcpt.ids);
        return dd_problem(pb, 400, "invalid_argument", "in_reply_to",
                          "in_reply_to: not a message of yours");
    }
    free(orig_view), free(orig_state);
    json_t *refs_sender, *refs_recipient;
    if (!check_references(svc, party, m->references, &refs_sender, &refs_recipient, pb)) {
        json_decref(refs_sender), json_decref(refs_recipient);
        free(rcpt.ids);
        return DC_ERR_INVALID;
    }
    char now_text[DC_TIME_RFC3339_MAX], dl_text[DC_TIME_RFC3339_MAX];
    double now = dd_now_s();
    time_text(now, now_text);
    char sender_name[DC_PARTY_NAME_MAX];
    dd_party_name(svc, party, sender_name);
    json_t *sent = json_array();
    rc = dd_tx_begin(svc);
    for (size_t i = 0; i < rcpt.n && rc == DC_OK; i++) {
        char id[40], rname[DC_PARTY_NAME_MAX];
        dd_random_id("msg_", id, sizeof(id));
        dd_party_name(svc, rcpt.ids[i], rname);
        bool held = dd_channel_suspended(svc, rcpt.ids[i]);
        json_t *common = json_pack(
            "{s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s}, s:b, s:s, s:s}", "id", id, "category",
            dc_msg_category_name(cat), "priority", dc_msg_priority_name(priority), "state",
            held ? "queued" : "sent", "fields", fields, "text", "en", en, "ru", ru, "ack_required",
            ack_required, "sent_at", now_text, "updated", now_text);
        if (ack_required) {
            json_object_set_new(common, "ack_deadline_s", json_real(deadline_s));
            json_object_set_new(common, "ack_due",
                                json_string(time_text(now + deadline_s, dl_text)));
        }
        if (reply_to) json_object_set(common, "in_reply_to", reply_to);
        json_t *va = json_deep_copy(common), *vb = common;
        json_object_set_new(va, "to", json_string(rname));
        json_object_set(va, "references", refs_sender);
        if (held) json_object_set_new(va, "recipient_suspended", json_true());
        json_object_set_new(vb, "from", json_string(sender_name));
        json_object_set(vb, "references", refs_recipient);
        rc = put_message(svc, id, party, rcpt.ids[i], va, vb, party);
        if (rc == DC_OK) rc = dd_event(svc, rcpt.ids[i], "message.new", vb);
        if (rc == DC_OK && ack_required) note_pending(svc, id, now + deadline_s);
        json_array_append_new(sent, va);
        json_decref(vb);
    }
    /* Suspending or resuming the sender's own side of the channel. */
    if (rc == DC_OK && (cat == DC_MSG_SUSPENSION || cat == DC_MSG_RESUMPTION))
        rc = set_channel(svc, party, cat == DC_MSG_SUSPENSION, now);
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    if (rc == DC_OK && (cat == DC_MSG_SUSPENSION || cat == DC_MSG_RESUMPTION)) {
        /* The channel's state in memory follows the store only once committed. */
        dd_channel_set_suspended(svc, party, cat == DC_MSG_SUSPENSION);
    }
    json_decref(refs_sender), json_decref(refs_recipient);
    free(rcpt.ids);
    if (rc != DC_OK) {
        json_decref(sent);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the message");
    }
    *out = json_pack("{s:o}", "messages", sent);
    return DC_OK;
}

/* Moves message id to delivered if party is its recipient and it is still "sent"; appends the
 * sender's event. Inside a write section. */
static dc_err_t deliver(dd_service_t *svc, int64_t party, const char *id)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK) return DC_OK;
    dc_err_t rc = DC_OK;
    if (doc.party_b == party &&
        (strcmp(doc.state, "sent") == 0 || strcmp(doc.state, "queued") == 0)) {
        json_t *va = json_loads(doc.view_a, 0, NULL), *vb = json_loads(doc.view_b, 0, NULL);
        char t[DC_TIME_RFC3339_MAX];
        time_text(dd_now_s(), t);
        set_both(va, vb, "state", json_string("delivered"));
        set_both(va, vb, "delivered_at", json_string(t));
        set_both(va, vb, "updated", json_string(t));
        rc =
            va && vb ? put_message(svc, id, doc.party_a, doc.party_b, va, vb, party) : DC_ERR_NOMEM;
        if (rc == DC_OK) rc = dd_event(svc, doc.party_a, "message.delivered", va);
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

dc_err_t dd_message_list(dd_service_t *svc, int64_t party, const char *box, json_t **out,
                         dd_problem_t *pb)
{
    if (!box) box = "in";
    bool in = strcmp(box, "in") == 0;
    if (!in && strcmp(box, "out") != 0)
        return dd_problem(pb, 400, "invalid_argument", "box", "box: 'in' or 'out'");
    json_t *all = json_object();
    if (dc_store_doc_list(svc->store, "message", party, NULL, collect, all) != DC_OK) {
        json_decref(all);
        return dd_problem(pb, 500, "store_failed", "", "the store could not be read");
    }
    /* The in box is what the caller received (its view has "from"). Fetching it delivers. */
    json_t *items = json_array();
    const char *id;
    json_t *v;
    dc_err_t rc = DC_OK;
    bool writing = false;
    json_object_foreach(all, id, v)
    {
        if ((json_object_get(v, "from") != NULL) != in) continue;
        const char *st = json_string_value(json_object_get(v, "state"));
        if (in && (strcmp(st, "sent") == 0 || strcmp(st, "queued") == 0)) {
            if (!writing) rc = dd_tx_begin(svc), writing = rc == DC_OK;
            if (rc == DC_OK) rc = deliver(svc, party, id);
            char t[DC_TIME_RFC3339_MAX];
            json_object_set_new(v, "state", json_string("delivered"));
            json_object_set_new(v, "delivered_at", json_string(time_text(dd_now_s(), t)));
        }
        json_array_append(items, v);
    }
    if (writing) {
        if (rc == DC_OK)
            rc = dd_tx_end(svc);
        else
            dd_tx_abort(svc);
    }
    json_decref(all);
    if (rc != DC_OK) {
        json_decref(items);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the delivery");
    }
    *out = json_pack("{s:o}", "messages", items);
    return DC_OK;
}

dc_err_t dd_message_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                        dd_problem_t *pb)
{
    char *view = NULL, *state = NULL;
    if (dc_store_doc_get(svc->store, "message", id, party, &view, &state) != DC_OK)
        return dd_problem(pb, 404, "not_found", "id", "no message '%.60s'", id);
    bool deliver_now = strcmp(state, "sent") == 0 || strcmp(state, "queued") == 0;
    free(view), free(state);
    if (deliver_now) {
        dc_err_t rc = dd_tx_begin(svc);
        if (rc == DC_OK) rc = deliver(svc, party, id);
        if (rc == DC_OK)
            rc = dd_tx_end(svc);
        else
            dd_tx_abort(svc);
        if (rc != DC_OK)
            return dd_problem(pb, 500, "store_failed", "", "the store refused the delivery");
    }
    dc_store_doc_get(svc->store, "message", id, party, &view, &state);
    *out = view ? json_loads(view, 0, NULL) : NULL;
    free(view), free(state);
    return *out ? DC_OK : dd_problem(pb, 500, "store_failed", "", "unreadable message");
}

dc_err_t dd_message_ack(dd_service_t *svc, int64_t party, const char *id, json_t *body,
                        json_t **out, dd_problem_t *pb)
{
    json_t *reply = body ? json_object_get(body, "reply") : NULL;
    if (reply && (!json_is_string(reply) || json_string_length(reply) == 0 ||
                  !dc_msg_text_ok(json_string_value(reply), DC_MSG_TEXT_MAX)))
        return dd_problem(pb, 400, "invalid_argument", "reply",
                          "reply: non-empty text of at most 4000 bytes, no control characters");
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK)
        return dd_problem(pb, 404, "not_found", "id", "no message '%.60s'", id);
    if (doc.party_b != party) {
        bool sender = doc.party_a == party;
        dc_doc_release(&doc);
        /* Someone else's message and no message at all answer the same. */
        return sender ? dd_problem(pb, 403, "forbidden", "id",
                                   "only the recipient acknowledges a message")
                      : dd_problem(pb, 404, "not_found", "id", "no message '%.60s'", id);
    }
    json_t *va = json_loads(doc.view_a, 0, NULL), *vb = json_loads(doc.view_b, 0, NULL);
    int64_t sender = doc.party_a;
    bool already = strcmp(doc.state, "acknowledged") == 0;
    dc_doc_release(&doc);
    if (already) {
        json_decref(va);
        *out = vb;
        return DC_OK; /* idempotent: the first acknowledgement stands */
    }
    char t[DC_TIME_RFC3339_MAX];
    time_text(dd_now_s(), t);
    if (!json_object_get(va, "delivered_at")) set_both(va, vb, "delivered_at", json_string(t));
    set_both(va, vb, "state", json_string("acknowledged"));
    set_both(va, vb, "acknowledged_at", json_string(t));
    set_both(va, vb, "updated", json_string(t));
    if (reply) set_both(va, vb, "reply_text", json_incref(reply));
    dc_err_t rc = dd_tx_begin(svc);
    if (rc == DC_OK) rc = put_message(svc, id, sender, party, va, vb, party);
    if (rc == DC_OK) rc = dd_event(svc, sender, "message.acked", va);
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    json_decref(va);
    if (rc != DC_OK) {
        json_decref(vb);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the acknowledgement");
    }
    json_object_del(svc->msg_pending, id);
    if (reply) {
        /* The reply travels as a message of its own, threaded to the original. */
        char sender_name[DC_PARTY_NAME_MAX];
        dd_party_name(svc, sender, sender_name);
        json_t *rbody = json_pack("{s:s, s:s, s:{s:O}, s:s}", "to", sender_name, "category",
                                  "free_text", "fields", "text", reply, "in_reply_to", id);
        json_t *rout = NULL;
        dd_problem_t rpb;
        if (dd_message_send(svc, party, rbody, &rout, &rpb) == DC_OK)
            json_object_set(vb, "reply", json_array_get(json_object_get(rout, "messages"), 0));
        json_decref(rbody), json_decref(rout);
    }
    *out = vb;
    return DC_OK;
}

void dd_message_delivered(dd_service_t *svc, int64_t party, json_t *ids)
{
    dd_write_lock(svc);
    if (dd_tx_begin(svc) == DC_OK) {
        size_t i;
        json_t *v;
        dc_err_t rc = DC_OK;
        json_array_foreach(ids, i, v) if (rc == DC_OK) rc =
            deliver(svc, party, json_string_value(v));
        if (rc == DC_OK)
            dd_tx_end(svc);
        else
            dd_tx_abort(svc);
    }
    dd_write_unlock(svc);
}

/* Escalation: past its deadline an unacknowledged message is re-notified to both sides as
 * message.escalated, one priority step higher (up to flash), with a new deadline one
 * ack_deadline_s later; it goes on until it is acknowledged. */
void dd_message_escalate(dd_service_t *svc, double now)
{
    const char *id;
    json_t *dl;
    void *tmp;
    json_object_foreach_safe(svc->msg_pending, tmp, id, dl)
    {
        if (json_real_value(dl) > now) continue;
        dc_doc_t doc;
        if (dc_store_doc_fetch(svc->store, "message", id, &doc) != DC_OK) {
            json_object_del(svc->msg_pending, id);
            continue;
        }
        if (strcmp(doc.state, "acknowledged") == 0) {
            dc_doc_release(&doc);
            json_object_del(svc->msg_pending, id);
            continue;
        }
        json_t *va = json_loads(doc.view_a, 0, NULL), *vb = json_loads(doc.view_b, 0, NULL);
        int64_t a = doc.party_a, b = doc.party_b;
        dc_doc_release(&doc);
        if (!va || !vb) {
            json_decref(va), json_decref(vb);
            json_object_del(svc->msg_pending, id);
            continue;
        }
        dc_msg_priority_t p = DC_MSG_ROUTINE;
        dc_msg_priority_parse(json_string_value(json_object_get(va, "priority")), &p);
        if (p < DC_MSG_FLASH) p++;
        double step = json_number_value(json_object_get(va, "ack_deadline_s"));
        if (step < 1) step = 300;
        char t[DC_TIME_RFC3339_MAX], due[DC_TIME_RFC3339_MAX];
        set_both(va, vb, "priority", json_string(dc_msg_priority_name(p)));
        set_both(va, vb, "escalations",
                 json_integer(json_integer_value(json_object_get(va, "escalations")) + 1));
        set_both(va, vb, "escalated_at", json_string(time_text(now, t)));
        set_both(va, vb, "ack_due", json_string(time_text(now + step, due)));
        set_both(va, vb, "updated", json_string(t));
        if (put_message(svc, id, a, b, va, vb, 0) == DC_OK) {
            dd_event(svc, b, "message.escalated", vb);
            dd_event(svc, a, "message.escalated", va);
        }
        json_object_set_new(svc->msg_pending, id, json_real(now + step));
        json_decref(va), json_decref(vb);
    }
}

static void restore_pending(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "acknowledged") == 0) return;
    json_t *v = json_loads(doc->view_a, 0, NULL);
    double due;
    if (json_is_true(json_object_get(v, "ack_required")) &&
        dc_time_parse_rfc3339(json_string_value(json_object_get(v, "ack_due")), &due) == DC_OK)
        note_pending(svc, doc->id, due);
    json_decref(v);
}

bool dd_messages_open(dd_service_t *svc)
{
    svc->msg_pending = json_object();
    return svc->msg_pending &&
           dc_store_doc_each(svc->store, "message", restore_pending, svc) == DC_OK &&
           dc_store_doc_each(svc->store, "channel", restore_channel, svc) == DC_OK;
}
