/* deconflictd: the audit trail over HTTP (audit_api.c). */
#ifndef DC_DAEMON_AUDIT_API_H
#define DC_DAEMON_AUDIT_API_H

#include <jansson.h>

#include "daemon.h"
#include "service.h"

/* GET /v1/audit?after=SEQ&limit=N: entries after SEQ (at most N, default 1000), with bodies
 * and own views where the caller is a part, the signed head and the service's public key. */
dc_err_t dd_audit_page(dd_service_t *svc, int64_t party, const char *after_text,
                       const char *limit_text, json_t **out, dd_problem_t *pb);

/* The current head {seq, hash, signature} (lock held). */
json_t *dd_audit_head(dd_service_t *svc);

#endif
