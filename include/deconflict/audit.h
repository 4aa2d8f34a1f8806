/* deconflict — the audit trail's formats: a hash chain of entries and a signed head, defined
 * here precisely enough for any party to verify a log on its own (docs/audit.md).
 *
 *   H(x)        BLAKE2b-256 of the bytes x (libsodium crypto_generichash, no key)
 *   body_hash   H(body), body being the entry's JSON text exactly as stored
 *   hash(seq)   H("deconflict-audit-v1" || hash(seq - 1) || seq as 8 bytes big-endian ||
 *               body_hash), hash(0) being 32 zero bytes; seq starts at 1, no gaps
 *   head        (seq, hash(seq)) of the last entry, signed by the service's Ed25519 key over
 *               "deconflict-audit-head-v1" || seq as 8 bytes big-endian || hash(seq)
 *
 * A party that may not read an entry's body still gets its body_hash and hash, so it can check
 * every link of the chain; where it has the body it also checks the body against body_hash. */
#ifndef DECONFLICT_AUDIT_H
#define DECONFLICT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "deconflict/error.h"
#include "deconflict/store.h"

#define DC_AUDIT_HASH_BYTES 32
#define DC_AUDIT_PK_BYTES   32
#define DC_AUDIT_SK_BYTES   64
#define DC_AUDIT_SIG_BYTES  64

void dc_audit_hash(const void *data, size_t len, uint8_t out[DC_AUDIT_HASH_BYTES]);

/* hash(seq) from hash(seq - 1) and the entry's body hash. */
void dc_audit_link(const uint8_t prev[DC_AUDIT_HASH_BYTES], uint64_t seq,
                   const uint8_t body_hash[DC_AUDIT_HASH_BYTES], uint8_t out[DC_AUDIT_HASH_BYTES]);

dc_err_t dc_audit_keypair(uint8_t pk[DC_AUDIT_PK_BYTES], uint8_t sk[DC_AUDIT_SK_BYTES]);
void dc_audit_sign_head(const uint8_t sk[DC_AUDIT_SK_BYTES], uint64_t seq,
                        const uint8_t hash[DC_AUDIT_HASH_BYTES], uint8_t sig[DC_AUDIT_SIG_BYTES]);
bool dc_audit_head_ok(const uint8_t pk[DC_AUDIT_PK_BYTES], uint64_t seq,
                      const uint8_t hash[DC_AUDIT_HASH_BYTES],
                      const uint8_t sig[DC_AUDIT_SIG_BYTES]);

/* Verifies an exported log (the JSON of `deconflict audit export` or of GET /v1/audit pages
 * joined, format "deconflict-audit-v1"): every entry's link, every body present against its
 * body_hash, and the signed head against the last entry. since_head_json, if not NULL, is a head
 * kept earlier ({"seq", "hash", "signature"}): it must be validly signed and hash(seq) in the log
 * must equal its hash, proving the log up to there was not rewritten since. Where the log carries
 * a party's signed request (the signer's own pages, the administrator's export), the request is
 * checked against the hash in its entry and the signature against the party's key, learnt from
 * the party's key registration earlier in the log. */
/* What a party signs for a request (docs/audit.md): this tag, its own party id (decimal) and a
 * newline, the method, a newline, the path, a newline, then the body exactly as sent. Naming
 * the signer binds the signature to one party. The first format (_V1: the tag, method, path,
 * body) named no one; the service no longer accepts it, and a verifier counts old ones apart. */
#define DC_AUDIT_REQUEST_TAG    "deconflict-request-v2\n"
#define DC_AUDIT_REQUEST_TAG_V1 "deconflict-request-v1\n"

typedef struct dc_audit_report {
    bool ok;
    uint64_t entries;    /* entries checked */
    uint64_t bodies;     /* of which bodies checked against their hash */
    uint64_t signatures; /* parties' signed requests checked (where the log has the request) */
    uint64_t unbound;    /* of which in the first format, which did not name the signer */
    uint64_t head_seq;   /* the signed head's seq */
    uint64_t bad_seq;    /* the first bad entry's seq (0: the head or the file itself) */
    char why[256];       /* what is wrong, when !ok */
} dc_audit_report_t;

dc_err_t dc_audit_verify_json(const char *log_json, size_t len, const char *since_head_json,
                              dc_audit_report_t *rep);

/* The same over pages of GET /v1/audit (after=0, then after each page's last seq): their
 * entries joined in order, the last page's head and key. */
dc_err_t dc_audit_verify_pages(const char *const *pages, const size_t *lens, size_t n,
                               const char *since_head_json, dc_audit_report_t *rep);

/* The seq of a page's last entry (0 when it has none), or -1 when the page is not a log. */
int64_t dc_audit_page_last_seq(const char *page_json, size_t len);

/* Writes the whole log of st, every body included, with its head signed by the service's key:
 * the administrator's export (`deconflict audit export`). */
dc_err_t dc_audit_export(dc_store_t *st, FILE *out);

/* Base64 (standard alphabet, padded) and hex as the formats use them. out_len: room. */
void dc_audit_b64(const uint8_t *bin, size_t n, char *out, size_t out_len);
void dc_audit_hex(const uint8_t *bin, size_t n, char *out, size_t out_len);

#endif
