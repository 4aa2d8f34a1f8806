/* deconflictd: the audit trail as a party may see it (docs/audit.md) -- the entries after a
 * seq, with bodies and own views where the party is a part of them, and the head signed with
 * the service's key, read together so that a page reaching the end ends at the head. */
#ifndef DD_CORE_AUDIT_LOG_H
#define DD_CORE_AUDIT_LOG_H

#include "core/state.h"
#include "deconflict/audit.h"

#define DD_AUDIT_PAGE_MAX 10000 /* entries in one page */

typedef struct dd_audit_head {
    int64_t seq;
    uint8_t hash[DC_AUDIT_HASH_BYTES], signature[DC_AUDIT_SIG_BYTES];
} dd_audit_head_t;

/* Calls fn for up to limit (1..DD_AUDIT_PAGE_MAX) entries after seq `after` as party sees them,
 * and fills the signed head, in one read section. DC_ERR_STORE on failure. */
dc_err_t dd_audit_page(dd_service_t *svc, int64_t party, int64_t after, size_t limit,
                       void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx,
                       dd_audit_head_t *head, dd_fault_t *f);

#endif
