/* /v1/operations: filing, reading, updating and ending operations (docs/service.md,
 * "Operations"). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "core/documents.h"

dc_err_t dd_operation_body_parse(json_t *body, dd_op_request_t *req, dd_fault_t *f)
{
    json_t *vols = json_object_get(body, "volumes");
    json_t *prio = json_object_get(body, "priority");
    json_t *st = json_object_get(body, "state");
    if (!json_is_array(vols))
        return dd_fail(f, DC_ERR_INVALID, "volumes", "volumes: expected an array of Volume4D");
    if (prio && !json_is_integer(prio))
        return dd_fail(f, DC_ERR_INVALID, "priority", "priority: expected an integer");
    req->state = DC_OP_PLANNED;
    if (st &&
        (!json_is_string(st) || dc_op_state_parse(json_string_value(st), &req->state) != DC_OK ||
         (req->state != DC_OP_PLANNED && req->state != DC_OP_ACTIVE)))
        return dd_fail(f, DC_ERR_INVALID, "state",
                       "state: a new operation is 'planned' or 'active'");
    req->volumes = vols;
    req->priority = prio ? json_integer_value(prio) : 0;
    return DC_OK;
}

dc_err_t dd_operation_update_parse(json_t *body, dd_op_update_t *req, dd_fault_t *f)
{
    json_t *ver = json_object_get(body, "version"), *vols = json_object_get(body, "volumes"),
           *prio = json_object_get(body, "priority");
    if (!json_is_integer(ver))
        return dd_fail(f, DC_ERR_INVALID, "version",
                       "version: the operation's current version is required");
    if (vols && !json_is_array(vols))
        return dd_fail(f, DC_ERR_INVALID, "volumes", "volumes: expected an array of Volume4D");
    if (prio && !json_is_integer(prio))
        return dd_fail(f, DC_ERR_INVALID, "priority", "priority: expected an integer");
    req->version = json_integer_value(ver);
    req->volumes = vols;
    req->has_priority = prio != NULL;
    req->priority = prio ? json_integer_value(prio) : 0;
    return DC_OK;
}

/* ---- listing and reading: shared with /v1/conflicts ---- */

static void add_item(const char *id, const char *view, void *ctx)
{
    (void)id;
    json_t *v = json_loads(view, 0, NULL);
    if (v) json_array_append_new(ctx, v);
}

/* {key: [the party's view of each document of kind, in the state asked]}. */
void dd_api_list(dd_request_t *rq, dd_response_t *rs, const char *kind, const char *key)
{
    json_t *items = json_array();
    dd_fault_t f;
    if (dd_documents_list(rq->svc, kind, rq->party, rq->arg(rq->conn, "state"), add_item, items,
                          &f) != DC_OK) {
        json_decref(items);
        dd_respond_fault(rs, &f);
        return;
    }
    dd_respond_json(rs, 200, json_pack("{s:o}", key, items));
}

void dd_api_get(dd_request_t *rq, dd_response_t *rs, const char *kind)
{
    char *view;
    dd_fault_t f;
    if (dd_document_get(rq->svc, kind, rq->id, rq->party, &view, &f) != DC_OK)
        dd_respond_fault(rs, &f);
    else
        dd_respond_text(rs, 200, view);
}

void dd_h_operations_list(dd_request_t *rq, dd_response_t *rs)
{
    dd_api_list(rq, rs, "operation", "operations");
}

void dd_h_operations_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_api_get(rq, rs, "operation");
}

/* ---- filing ---- */

void dd_h_operations_create(dd_request_t *rq, dd_response_t *rs)
{
    const char *key = rq->header(rq->conn, "Idempotency-Key");
    if (key && (strlen(key) == 0 || strlen(key) > 200)) {
        dd_respond_problem(rs, DC_ERR_INVALID, "Idempotency-Key",
                           "Idempotency-Key: 1-200 characters");
        return;
    }
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    dd_op_request_t req;
    dd_new_operation_t n;
    dd_fault_t f;
    /* Parsed and prepared (every footprint built and checked) before the service lock. */
    dc_err_t rc = dd_operation_body_parse(body, &req, &f);
    if (rc == DC_OK) rc = dd_operation_prepare(rq->svc, rq->party, &req, &n, &f);
    if (rc != DC_OK) {
        json_decref(body);
        dd_respond_fault(rs, &f);
        return;
    }
    json_t *out;
    dd_idem_answer_t stored;
    rc = dd_operation_create(rq->svc, rq->party, &n, key, rq->now, &out, &stored, &f);
    dd_operation_prepared_clear(&n);
    json_decref(body);
    if (rc != DC_OK)
        dd_respond_fault(rs, &f);
    else if (stored.text) /* a repeat of a filing: the first answer */
        dd_respond_text(rs, stored.status, stored.text);
    else
        dd_respond_json(rs, 201, out);
}

/* ---- changes ---- */

void dd_h_operations_update(dd_request_t *rq, dd_response_t *rs)
{
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    dd_op_update_t req;
    dc_err_t rc = dd_operation_update_parse(body, &req, &rs->fault);
    if (rc == DC_OK)
        rc = dd_operation_update(rq->svc, rq->party, rq->id, &req, rq->now, &rs->out, &rs->fault);
    json_decref(body);
    dd_reply(rs, rc, 200);
}

void dd_h_operations_state(dd_request_t *rq, dd_response_t *rs)
{
    dd_reply(rs,
             dd_operation_set_state(rq->svc, rq->party, rq->id, rq->action, rq->now, &rs->out,
                                    &rs->fault),
             200);
}
