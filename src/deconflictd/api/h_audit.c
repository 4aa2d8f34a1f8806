/* GET /v1/audit?after=SEQ&limit=N: the audit trail as the caller may see it -- entries after
 * SEQ (at most N, default 1000), with bodies and own views where the caller is a part, the
 * signed head and the service's public key (docs/audit.md). */
#include <stdlib.h>

#include "api/api.h"
#include "core/audit_log.h"

static void add_row(const dc_audit_row_t *row, void *ctx)
{
    char bh[2 * DC_AUDIT_HASH_BYTES + 1], h[2 * DC_AUDIT_HASH_BYTES + 1];
    dc_audit_hex(row->body_hash, DC_AUDIT_HASH_BYTES, bh, sizeof(bh));
    dc_audit_hex(row->hash, DC_AUDIT_HASH_BYTES, h, sizeof(h));
    json_t *e =
        json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)row->seq, "body_hash", bh, "hash", h);
    if (!e) return;
    if (row->body) json_object_set_new(e, "body", json_string(row->body));
    if (row->view) json_object_set_new(e, "view", json_string(row->view));
    if (row->request) json_object_set_new(e, "request", json_string(row->request));
    json_array_append_new(ctx, e);
}

void dd_h_audit_get(dd_request_t *rq, dd_response_t *rs)
{
    const char *after_text = rq->arg(rq->conn, "after"), *limit_text = rq->arg(rq->conn, "limit");
    char *end;
    long long after = after_text ? strtoll(after_text, &end, 10) : 0;
    if (after_text && (*end || end == after_text || after < 0)) {
        dd_respond_problem(rs, DC_ERR_INVALID, "after",
                           "after: the seq of the last entry already held (0 for all)");
        return;
    }
    long long limit = limit_text ? strtoll(limit_text, &end, 10) : 1000;
    if (limit_text && (*end || end == limit_text || limit < 1 || limit > DD_AUDIT_PAGE_MAX)) {
        dd_respond_problem(rs, DC_ERR_INVALID, "limit", "limit: 1 to %d entries",
                           DD_AUDIT_PAGE_MAX);
        return;
    }
    json_t *entries = json_array();
    dd_audit_head_t head;
    dd_fault_t f;
    if (dd_audit_page(rq->svc, rq->party, after, (size_t)limit, add_row, entries, &head, &f) !=
        DC_OK) {
        json_decref(entries);
        dd_respond_fault(rs, &f);
        return;
    }
    char h[2 * DC_AUDIT_HASH_BYTES + 1], s[128], pk[64];
    dc_audit_hex(head.hash, sizeof(head.hash), h, sizeof(h));
    dc_audit_b64(head.signature, sizeof(head.signature), s, sizeof(s));
    dc_audit_b64(rq->svc->audit_pk, sizeof(rq->svc->audit_pk), pk, sizeof(pk));
    dd_respond_json(rs, 200,
                    json_pack("{s:s, s:s, s:{s:I, s:s, s:s}, s:o}", "format", "deconflict-audit-v1",
                              "public_key", pk, "head", "seq", (json_int_t)head.seq, "hash", h,
                              "signature", s, "entries", entries));
}
