/* The audit trail: see audit_log.h. */
#include "core/audit_log.h"

#include "core/commit.h"

dc_err_t dd_audit_page(dd_service_t *svc, int64_t party, int64_t after, size_t limit,
                       void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx,
                       dd_audit_head_t *head, dd_fault_t *f)
{
    dd_read_lock(svc);
    dc_err_t rc = dc_store_audit_each(svc->store, after, limit, party, fn, ctx);
    if (rc == DC_OK) rc = dc_store_audit_head(svc->store, &head->seq, head->hash);
    dd_read_unlock(svc);
    if (rc != DC_OK) return dd_fail(f, DC_ERR_STORE, "", "the audit trail could not be read");
    dc_audit_sign_head(svc->audit_sk, (uint64_t)head->seq, head->hash, head->signature);
    return DC_OK;
}
