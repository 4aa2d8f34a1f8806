/* GET /v1/audit: the audit trail as the caller may see it (docs/audit.md). */
#include "audit_api.h"

#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "deconflict/audit.h"

#define AUDIT_PAGE_MAX 10000

static void add_row(const dc_audit_row_t *row, void *ctx)
{
    char bh[2 * DC_AUDIT_HASH_BYTES + 1], h[2 * DC_AUDIT_HASH_BYTES + 1];
    dc_audit_hex(row->body_hash, DC_AUDIT_HASH_BYTES, bh, sizeof(bh));
    dc_audit_hex(row->hash, DC_AUDIT_HASH_BYTES, h, sizeof(h));
    json_t *e =
        json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)row->seq, "body_hash", bh, "hash", h);
    if (row->body) json_object_set_new(e, "body", json_string(row->body));
    if (row->view) json_object_set_new(e, "view", json_string(row->view));
    if (row->request) json_object_set_new(e, "request", json_string(row->request));
    json_array_append_new(ctx, e);
}

json_t *dd_audit_head(dd_service_t *svc)
{
    int64_t seq;
    uint8_t hash[DC_AUDIT_HASH_BYTES], sig[DC_AUDIT_SIG_BYTES];
    if (dc_store_audit_head(svc->store, &seq, hash) != DC_OK) return NULL;
    dc_audit_sign_head(svc->audit_sk, (uint64_t)seq, hash, sig);
    char h[2 * DC_AUDIT_HASH_BYTES + 1], s[128];
    dc_audit_hex(hash, sizeof(hash), h, sizeof(h));
    dc_audit_b64(sig, sizeof(sig), s, sizeof(s));
    return json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)seq, "hash", h, "signature", s);
}

dc_err_t dd_audit_page(dd_service_t *svc, int64_t party, const char *after_text,
                       const char *limit_text, json_t **out, dd_problem_t *pb)
{
    char *end;
    long long after = after_text ? strtoll(after_text, &end, 10) : 0;
    if (after_text && (*end || end == after_text || after < 0))
        return dd_problem(pb, 400, "invalid_argument", "after",
                          "after: the seq of the last entry already held (0 for all)");
    long long limit = limit_text ? strtoll(limit_text, &end, 10) : 1000;
    if (limit_text && (*end || end == limit_text || limit < 1 || limit > AUDIT_PAGE_MAX))
        return dd_problem(pb, 400, "invalid_argument", "limit", "limit: 1 to %d entries",
                          AUDIT_PAGE_MAX);
    json_t *entries = json_array();
    /* Entries and head from one read under the lock: the head is the page's last entry when
     * the page reaches the end of the log. */
    dd_read_lock(svc);
    dc_err_t rc = dc_store_audit_each(svc->store, after, (size_t)limit, party, add_row, entries);
    json_t *head = rc == DC_OK ? dd_audit_head(svc) : NULL;
    dd_read_unlock(svc);
    if (!head) {
        json_decref(entries);
        return dd_problem(pb, 500, "store_failed", "", "the audit trail could not be read");
    }
    char pk[64];
    dc_audit_b64(svc->audit_pk, sizeof(svc->audit_pk), pk, sizeof(pk));
    *out = json_pack("{s:s, s:s, s:o, s:o}", "format", "deconflict-audit-v1", "public_key", pk,
                     "head", head, "entries", entries);
    return DC_OK;
}
