/* deconflict audit export: the whole log of a store as one JSON document, the format the
 * verifier reads (include/deconflict/audit.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "deconflict/audit.h"
#include "deconflict/store.h"

typedef struct export_ctx {
    FILE *out;
    int64_t upto, last;
    bool first;
} export_ctx_t;

static void write_row(const dc_audit_row_t *row, void *ctx)
{
    export_ctx_t *x = ctx;
    if (row->seq > x->upto) return;
    char bh[2 * DC_AUDIT_HASH_BYTES + 1], h[2 * DC_AUDIT_HASH_BYTES + 1];
    dc_audit_hex(row->body_hash, DC_AUDIT_HASH_BYTES, bh, sizeof(bh));
    dc_audit_hex(row->hash, DC_AUDIT_HASH_BYTES, h, sizeof(h));
    json_t *e = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)row->seq, "body_hash", bh,
                          "hash", h, "body", row->body ? row->body : "");
    if (row->request) json_object_set_new(e, "request", json_string(row->request));
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    if (text) fprintf(x->out, "%s\n  %s", x->first ? "" : ",", text);
    x->first = false;
    x->last = row->seq;
    free(text);
    json_decref(e);
}

dc_err_t dc_audit_export(dc_store_t *st, FILE *out)
{
    uint8_t pk[DC_AUDIT_PK_BYTES], sk[DC_AUDIT_SK_BYTES], hash[DC_AUDIT_HASH_BYTES],
        sig[DC_AUDIT_SIG_BYTES];
    int64_t head;
    /* The head first: entries up to it never change, so a daemon writing meanwhile does not
     * matter. */
    dc_err_t rc = dc_store_audit_key(st, pk, sk);
    if (rc == DC_OK) rc = dc_store_audit_head(st, &head, hash);
    if (rc != DC_OK) return rc;
    dc_audit_sign_head(sk, (uint64_t)head, hash, sig);
    char pk64[64], h[2 * DC_AUDIT_HASH_BYTES + 1], sig64[128];
    dc_audit_b64(pk, sizeof(pk), pk64, sizeof(pk64));
    dc_audit_hex(hash, sizeof(hash), h, sizeof(h));
    dc_audit_b64(sig, sizeof(sig), sig64, sizeof(sig64));
    fprintf(out,
            "{\"format\":\"deconflict-audit-v1\",\"public_key\":\"%s\",\n"
            " \"head\":{\"seq\":%lld,\"hash\":\"%s\",\"signature\":\"%s\"},\n"
            " \"entries\":[",
            pk64, (long long)head, h, sig64);
    export_ctx_t x = {out, head, 0, true};
    while (rc == DC_OK && x.last < head) {
        int64_t before = x.last;
        rc = dc_store_audit_each(st, x.last, 1000, 0, write_row, &x);
        if (x.last == before) break; /* a gap at the end: the verifier reports it */
    }
    fprintf(out, "\n]}\n");
    return rc == DC_OK && !ferror(out) ? DC_OK : DC_ERR_IO;
}
