/* /v1/messages: the hotline (docs/hotline.md) -- sending, the in and out boxes, reading one,
 * acknowledging with an optional reply. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"

/* The shape of a message's references: {"operations": [ids], "conflicts": [ids]}, each at most
 * DC_MSG_LIST_MAX strings. */
static dc_err_t references_shape(json_t *refs, dd_fault_t *f)
{
    if (!refs || json_is_null(refs)) return DC_OK;
    if (!json_is_object(refs))
        return dd_fail(f, DC_ERR_INVALID, "references",
                       "references: expected an object with operations and conflicts");
    const char *key;
    json_t *list;
    json_object_foreach(refs, key, list)
    {
        bool ops = strcmp(key, "operations") == 0, cfs = strcmp(key, "conflicts") == 0;
        if ((!ops && !cfs) || !json_is_array(list) || json_array_size(list) > DC_MSG_LIST_MAX)
            return dd_fail(f, DC_ERR_INVALID, "references",
                           "references: 'operations' and 'conflicts', each an array of at most "
                           "32 ids");
    }
    return DC_OK;
}

dc_err_t dd_message_parse(json_t *body, dd_message_req_t *m, dd_fault_t *f)
{
    memset(m, 0, sizeof(*m));
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
            return dd_fail(f, DC_ERR_INVALID, key, "%.60s: not a message member", key);
    }
    m->to = json_string_value(json_object_get(body, "to"));
    json_t *prio = json_object_get(body, "priority");
    json_t *ack = json_object_get(body, "ack_required"),
           *deadline = json_object_get(body, "ack_deadline_s");
    m->in_reply_to = json_object_get(body, "in_reply_to");
    m->references = json_object_get(body, "references");
    if (!m->to || !*m->to)
        return dd_fail(f, DC_ERR_INVALID, "to",
                       "to: the recipient party's name, or \"*\" for every party");
    if (dc_msg_category_parse(json_string_value(json_object_get(body, "category")), &m->cat) !=
        DC_OK)
        return dd_fail(f, DC_ERR_INVALID, "category",
                       "category: one of operation_notice, deconfliction_request, incident, "
                       "suspension, resumption, debrief, free_text");
    m->priority = DC_MSG_ROUTINE;
    if (prio && dc_msg_priority_parse(json_string_value(prio), &m->priority) != DC_OK)
        return dd_fail(f, DC_ERR_INVALID, "priority", "priority: routine, urgent or flash");
    if (ack && !json_is_boolean(ack))
        return dd_fail(f, DC_ERR_INVALID, "ack_required", "ack_required: true or false");
    m->ack_required = json_is_true(ack);
    if (deadline) {
        if (!json_is_number(deadline) || json_number_value(deadline) < 1 ||
            json_number_value(deadline) > DD_MSG_DEADLINE_MAX_S || !m->ack_required)
            return dd_fail(f, DC_ERR_INVALID, "ack_deadline_s",
                           "ack_deadline_s: 1 to 86400 seconds, with ack_required");
        m->deadline_s = json_number_value(deadline);
    } else if (m->ack_required) {
        m->deadline_s = 300; /* documented default */
    }
    if (m->in_reply_to && !json_is_string(m->in_reply_to))
        return dd_fail(f, DC_ERR_INVALID, "in_reply_to", "in_reply_to: not a message of yours");
    dc_err_t rc = references_shape(m->references, f);
    if (rc != DC_OK) return rc;
    /* A body without fields has none: an empty object, which the body then holds. */
    if (!json_object_get(body, "fields")) json_object_set_new(body, "fields", json_object());
    m->fields = json_object_get(body, "fields");
    /* The fields as the category's templates read them: refused here, before any lock. */
    char *en, *ru;
    rc = dd_message_render(m, &en, &ru, f);
    free(en), free(ru);
    return rc;
}

void dd_h_messages_send(dd_request_t *rq, dd_response_t *rs)
{
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    dd_message_req_t m;
    dc_err_t rc = dd_message_parse(body, &m, &rs->fault);
    if (rc == DC_OK) rc = dd_message_send(rq->svc, rq->party, &m, rq->now, &rs->out, &rs->fault);
    json_decref(body);
    dd_reply(rs, rc, 201);
}

void dd_h_messages_list(dd_request_t *rq, dd_response_t *rs)
{
    const char *box = rq->arg(rq->conn, "box");
    if (!box) box = "in";
    bool in = strcmp(box, "in") == 0;
    if (!in && strcmp(box, "out") != 0) {
        dd_respond_problem(rs, DC_ERR_INVALID, "box", "box: 'in' or 'out'");
        return;
    }
    dd_reply(rs, dd_message_list(rq->svc, rq->party, in, rq->now, &rs->out, &rs->fault), 200);
}

void dd_h_messages_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(rs, dd_message_get(rq->svc, rq->party, rq->id, rq->now, &rs->out, &rs->fault), 200);
}

void dd_h_messages_ack(dd_request_t *rq, dd_response_t *rs)
{
    /* An acknowledgement without a reply needs no body. */
    json_t *body = rq->len ? dd_request_json(rq, JSON_OBJECT, rs) : json_object();
    if (!body) return;
    json_t *reply = json_object_get(body, "reply");
    if (reply && (!json_is_string(reply) || json_string_length(reply) == 0 ||
                  !dc_msg_text_ok(json_string_value(reply), DC_MSG_TEXT_MAX))) {
        json_decref(body);
        dd_respond_problem(rs, DC_ERR_INVALID, "reply",
                           "reply: non-empty text of at most 4000 bytes, no control characters");
        return;
    }
    dc_err_t rc = dd_message_ack(rq->svc, rq->party, rq->id, json_string_value(reply), rq->now,
                                 &rs->out, &rs->fault);
    json_decref(body);
    dd_reply(rs, rc, 200);
}
