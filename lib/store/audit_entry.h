/* Internal: the text of one audit entry (include/deconflict/audit.h), the same for every store
 * backend: canonical JSON, keys sorted, compact, naming the change and, per party concerned,
 * the hash of that party's view; a signed request's hash and signature when the entry's actor
 * is the request's signer. A backend stores the body, links it into the chain (dc_audit_link)
 * and keeps the views and the request beside it. */
#ifndef DC_STORE_AUDIT_ENTRY_H
#define DC_STORE_AUDIT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#define DC_AUDIT_ENTRY_MAX 1024 /* bytes of an entry's body */

typedef struct dc_audit_part {
    int64_t party;
    const char *view; /* that party's view (JSON), whose hash the body carries */
} dc_audit_part_t;

typedef struct dc_audit_entry {
    int64_t actor; /* the party that caused it, 0: the service */
    const char *kind, *id, *state;
    double t_s;
    const dc_audit_part_t *parts;
    size_t n_parts;         /* 0..2 */
    const char *public_key; /* base64: a party's key registration only, else NULL */
    const char *request;    /* the signed request's text, or NULL */
    size_t request_len;
    const char *request_sig64; /* its signature, base64 */
} dc_audit_entry_t;

/* Writes e's body into out (cap bytes, NUL-terminated); returns its length, 0 when it does not
 * fit (names over 300 bytes, or more than cap). */
size_t dc_audit_entry_body(const dc_audit_entry_t *e, char *out, size_t cap);

#endif
