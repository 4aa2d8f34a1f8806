/* The audit trail's hash chain, signed head and verifier: see include/deconflict/audit.h and
 * docs/audit.md. */
#include "deconflict/audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char link_tag[] = "deconflict-audit-v1";
static const char head_tag[] = "deconflict-audit-head-v1";

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) out[i] = (uint8_t)(v & 0xff), v >>= 8;
}

void dc_audit_hash(const void *data, size_t len, uint8_t out[DC_AUDIT_HASH_BYTES])
{
    crypto_generichash(out, DC_AUDIT_HASH_BYTES, data, len, NULL, 0);
}

void dc_audit_link(const uint8_t prev[DC_AUDIT_HASH_BYTES], uint64_t seq,
                   const uint8_t body_hash[DC_AUDIT_HASH_BYTES], uint8_t out[DC_AUDIT_HASH_BYTES])
{
    uint8_t s[8];
    be64(seq, s);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, DC_AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)link_tag, sizeof(link_tag) - 1);
    crypto_generichash_update(&st, prev, DC_AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, s, sizeof(s));
    crypto_generichash_update(&st, body_hash, DC_AUDIT_HASH_BYTES);
    crypto_generichash_final(&st, out, DC_AUDIT_HASH_BYTES);
}

/* The bytes a head signature covers. */
static void head_message(uint64_t seq, const uint8_t hash[DC_AUDIT_HASH_BYTES],
                         uint8_t msg[sizeof(head_tag) - 1 + 8 + DC_AUDIT_HASH_BYTES])
{
    memcpy(msg, head_tag, sizeof(head_tag) - 1);
    be64(seq, msg + sizeof(head_tag) - 1);
    memcpy(msg + sizeof(head_tag) - 1 + 8, hash, DC_AUDIT_HASH_BYTES);
}

dc_err_t dc_audit_keypair(uint8_t pk[DC_AUDIT_PK_BYTES], uint8_t sk[DC_AUDIT_SK_BYTES])
{
    if (sodium_init() < 0) return DC_ERR_IO;
    return crypto_sign_keypair(pk, sk) == 0 ? DC_OK : DC_ERR_IO;
}

void dc_audit_sign_head(const uint8_t sk[DC_AUDIT_SK_BYTES], uint64_t seq,
                        const uint8_t hash[DC_AUDIT_HASH_BYTES], uint8_t sig[DC_AUDIT_SIG_BYTES])
{
    uint8_t msg[sizeof(head_tag) - 1 + 8 + DC_AUDIT_HASH_BYTES];
    head_message(seq, hash, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
}

bool dc_audit_head_ok(const uint8_t pk[DC_AUDIT_PK_BYTES], uint64_t seq,
                      const uint8_t hash[DC_AUDIT_HASH_BYTES],
                      const uint8_t sig[DC_AUDIT_SIG_BYTES])
{
    uint8_t msg[sizeof(head_tag) - 1 + 8 + DC_AUDIT_HASH_BYTES];
    head_message(seq, hash, msg);
    return crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) == 0;
}

/* ---- verification of an exported log ---- */

static bool fail(dc_audit_report_t *rep, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(dc_audit_report_t *rep, uint64_t seq, const char *fmt, ...)
{
    rep->ok = false;
    rep->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
    va_end(ap);
    return false;
}

/* Decodes lowercase or uppercase hex of exactly n bytes. */
static bool hex_bytes(json_t *v, uint8_t *out, size_t n)
{
    const char *s = json_string_value(v);
    size_t got = 0;
    return s && strlen(s) == 2 * n && sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) == 0 &&
           got == n;
}

static bool b64_bytes(json_t *v, uint8_t *out, size_t n)
{
    const char *s = json_string_value(v);
    size_t got = 0;
    return s &&
           sodium_base642bin(out, n, s, strlen(s), NULL, &got, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           got == n;
}

/* A head object {seq, hash, signature}, signature checked with pk. */
static bool head_of(json_t *h, const uint8_t pk[DC_AUDIT_PK_BYTES], uint64_t *seq,
                    uint8_t hash[DC_AUDIT_HASH_BYTES])
{
    uint8_t sig[DC_AUDIT_SIG_BYTES];
    json_t *s = json_object_get(h, "seq");
    if (!json_is_integer(s) || json_integer_value(s) < 0 ||
        !hex_bytes(json_object_get(h, "hash"), hash, DC_AUDIT_HASH_BYTES) ||
        !b64_bytes(json_object_get(h, "signature"), sig, sizeof(sig)))
        return false;
    *seq = (uint64_t)json_integer_value(s);
    return dc_audit_head_ok(pk, *seq, hash, sig);
}

/* A signed request names its signer (DC_AUDIT_REQUEST_TAG, then the party id on the next line),
 * so that a signature cannot be replayed as another party's: the name must be the entry's
 * actor. Requests in the first format, which named no one, are counted apart (unbound). */
static bool check_signer(const char *text, const char *actor, uint64_t seq, dc_audit_report_t *rep)
{
    size_t tag = strlen(DC_AUDIT_REQUEST_TAG), n = strlen(actor);
    if (strncmp(text, DC_AUDIT_REQUEST_TAG, tag) == 0) {
        if (strncmp(text + tag, actor, n) != 0 || text[tag + n] != '\n')
            return fail(rep, seq,
                        "entry %llu: the signed request names another signer than "
                        "its actor, party %s",
                        (unsigned long long)seq, actor);
        rep->signatures++;
        return true;
    }
    if (strncmp(text, DC_AUDIT_REQUEST_TAG_V1, strlen(DC_AUDIT_REQUEST_TAG_V1)) == 0) {
        rep->signatures++;
        rep->unbound++;
        return true;
    }
    return fail(rep, seq, "entry %llu: the signed request is in no known format",
                (unsigned long long)seq);
}

/* Learns parties' keys from their registrations, and checks a signed request: its body (when
 * the log carries it) against the hash in the entry, and the signature by the actor's key. */
static bool check_signed(json_t *keys, json_t *entry, const char *body_text, uint64_t seq,
                         dc_audit_report_t *rep)
{
    json_t *body = json_loads(body_text, 0, NULL);
    if (!body) return fail(rep, seq, "entry %llu: the body is not JSON", (unsigned long long)seq);
    bool ok = true;
    const char *kind = json_string_value(json_object_get(body, "kind"));
    const char *state = json_string_value(json_object_get(body, "state"));
    json_t *req = json_object_get(body, "request");
    json_t *req_text = json_object_get(entry, "request");
    if (req && json_is_string(req_text)) {
        uint8_t h[DC_AUDIT_HASH_BYTES], want[DC_AUDIT_HASH_BYTES], sig[DC_AUDIT_SIG_BYTES],
            key[DC_AUDIT_PK_BYTES];
        char actor[24];
        snprintf(actor, sizeof(actor), "%lld",
                 (long long)json_integer_value(json_object_get(body, "actor")));
        dc_audit_hash(json_string_value(req_text), json_string_length(req_text), h);
        if (!hex_bytes(json_object_get(req, "hash"), want, sizeof(want)) ||
            sodium_memcmp(h, want, sizeof(h)) != 0)
            ok = fail(rep, seq, "entry %llu: the signed request does not match its hash",
                      (unsigned long long)seq);
        else if (!b64_bytes(json_object_get(keys, actor), key, sizeof(key)))
            ok = fail(rep, seq, "entry %llu: party %s registered no key before signing",
                      (unsigned long long)seq, actor);
        else if (!b64_bytes(json_object_get(req, "signature"), sig, sizeof(sig)) ||
                 crypto_sign_verify_detached(sig, (const uint8_t *)json_string_value(req_text),
                                             json_string_length(req_text), key) != 0)
            ok = fail(rep, seq, "entry %llu: party %s's signature does not verify",
                      (unsigned long long)seq, actor);
        else
            ok = check_signer(json_string_value(req_text), actor, seq, rep);
    }
    /* A key registration (itself perhaps signed with the previous key, checked above) applies
     * from the next entry on. */
    json_t *pk = json_object_get(body, "public_key");
    if (ok && kind && state && strcmp(kind, "party") == 0 && strcmp(state, "key_registered") == 0 &&
        pk)
        json_object_set(keys, json_string_value(json_object_get(body, "id")), pk);
    json_decref(body);
    return ok;
}

static bool verify(json_t *log, json_t *since, dc_audit_report_t *rep)
{
    if (!json_is_object(log) || !json_is_string(json_object_get(log, "format")) ||
        strcmp(json_string_value(json_object_get(log, "format")), "deconflict-audit-v1") != 0)
        return fail(rep, 0, "not a deconflict-audit-v1 log");
    uint8_t pk[DC_AUDIT_PK_BYTES];
    if (!b64_bytes(json_object_get(log, "public_key"), pk, sizeof(pk)))
        return fail(rep, 0, "public_key: expected 32 bytes in base64");
    json_t *entries = json_object_get(log, "entries");
    if (!json_is_array(entries)) return fail(rep, 0, "entries: expected an array");
    uint8_t prev[DC_AUDIT_HASH_BYTES] = {0};
    json_t *keys = json_object(); /* party id -> its registered public key, as the log says */
    json_object_set_new(log, "__keys", keys); /* freed with the log */
    uint64_t since_seq = 0;
    uint8_t since_hash[DC_AUDIT_HASH_BYTES];
    bool since_seen = false;
    if (since && !head_of(since, pk, &since_seq, since_hash))
        return fail(rep, since_seq, "the earlier head is malformed or not signed by this key");
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        uint64_t expect = (uint64_t)i + 1;
        json_t *s = json_object_get(e, "seq");
        if (!json_is_integer(s)) return fail(rep, expect, "entry %zu: no seq", i);
        uint64_t seq = (uint64_t)json_integer_value(s);
        if (seq != expect)
            return fail(rep, expect,
                        seq > expect ? "entry %llu is missing (found %llu next)"
                                     : "entry %llu is out of order (found %llu)",
                        (unsigned long long)expect, (unsigned long long)seq);
        uint8_t body_hash[DC_AUDIT_HASH_BYTES], hash[DC_AUDIT_HASH_BYTES],
            computed[DC_AUDIT_HASH_BYTES];
        if (!hex_bytes(json_object_get(e, "body_hash"), body_hash, sizeof(body_hash)) ||
            !hex_bytes(json_object_get(e, "hash"), hash, sizeof(hash)))
            return fail(rep, seq, "entry %llu: body_hash and hash must be 64 hex digits",
                        (unsigned long long)seq);
        json_t *body = json_object_get(e, "body");
        if (body) {
            if (!json_is_string(body))
                return fail(rep, seq, "entry %llu: body must be a string", (unsigned long long)seq);
            dc_audit_hash(json_string_value(body), json_string_length(body), computed);
            if (sodium_memcmp(computed, body_hash, sizeof(computed)) != 0)
                return fail(rep, seq, "entry %llu: the body does not match its body_hash",
                            (unsigned long long)seq);
            rep->bodies++;
            if (!check_signed(keys, e, json_string_value(body), seq, rep)) return false;
        }
        dc_audit_link(prev, seq, body_hash, computed);
        if (sodium_memcmp(computed, hash, sizeof(computed)) != 0)
            return fail(rep, seq, "entry %llu: hash does not follow from the previous entry",
                        (unsigned long long)seq);
        if (since && seq == since_seq) {
            if (sodium_memcmp(hash, since_hash, sizeof(hash)) != 0)
                return fail(rep, seq,
                            "entry %llu differs from the earlier signed head: the log was "
                            "rewritten at or before it",
                            (unsigned long long)seq);
            since_seen = true;
        }
        memcpy(prev, hash, sizeof(prev));
        rep->entries++;
    }
    if (since && since_seq > 0 && !since_seen)
        return fail(rep, since_seq, "the log ends before the earlier head's entry %llu",
                    (unsigned long long)since_seq);
    uint64_t head_seq;
    uint8_t head_hash[DC_AUDIT_HASH_BYTES];
    json_t *head = json_object_get(log, "head");
    if (!head_of(head, pk, &head_seq, head_hash))
        return fail(rep, rep->entries, "the head is malformed or its signature is not valid");
    rep->head_seq = head_seq;
    if (head_seq != rep->entries || (head_seq && sodium_memcmp(head_hash, prev, sizeof(prev)) != 0))
        return fail(rep, head_seq, "the signed head (entry %llu) is not the log's last entry",
                    (unsigned long long)head_seq);
    rep->ok = true;
    return true;
}

dc_err_t dc_audit_verify_pages(const char *const *pages, const size_t *lens, size_t n,
                               const char *since_head_json, dc_audit_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
    if (sodium_init() < 0) return DC_ERR_IO;
    json_error_t jerr;
    json_t *log = NULL, *since = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *page = json_loadb(pages[i], lens[i], 0, &jerr);
        if (!page) {
            fail(rep, 0, "page %zu is not JSON: %s", i + 1, jerr.text);
            json_decref(log);
            return DC_OK;
        }
        if (!log) {
            log = page;
            continue;
        }
        /* Later pages: their entries after the first page's, their head and key last. */
        json_array_extend(json_object_get(log, "entries"), json_object_get(page, "entries"));
        json_object_set(log, "head", json_object_get(page, "head"));
        json_object_set(log, "public_key", json_object_get(page, "public_key"));
        json_decref(page);
    }
    if (since_head_json && !(since = json_loads(since_head_json, 0, &jerr)))
        fail(rep, 0, "the earlier head is not JSON: %s", jerr.text);
    else if (!log)
        fail(rep, 0, "no log");
    else
        verify(log, since, rep);
    json_decref(log), json_decref(since);
    return DC_OK;
}

dc_err_t dc_audit_verify_json(const char *log_json, size_t len, const char *since_head_json,
                              dc_audit_report_t *rep)
{
    return dc_audit_verify_pages(&log_json, &len, 1, since_head_json, rep);
}

int64_t dc_audit_page_last_seq(const char *page_json, size_t len)
{
    json_t *page = json_loadb(page_json, len, 0, NULL);
    json_t *entries = json_object_get(page, "entries");
    int64_t last = json_is_array(entries) ? 0 : -1;
    size_t n = json_array_size(entries);
    if (n) last = json_integer_value(json_object_get(json_array_get(entries, n - 1), "seq"));
    json_decref(page);
    return last;
}

void dc_audit_b64(const uint8_t *bin, size_t n, char *out, size_t out_len)
{
    sodium_bin2base64(out, out_len, bin, n, sodium_base64_VARIANT_ORIGINAL);
}

void dc_audit_hex(const uint8_t *bin, size_t n, char *out, size_t out_len)
{
    sodium_bin2hex(out, out_len, bin, n);
}
