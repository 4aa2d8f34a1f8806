/* The audit trail's formats: hashes and links against vectors computed independently (Python's
 * hashlib.blake2b from docs/audit.md), head signatures, and the verifier on a small log built
 * here: it accepts it, and names the entry of each alteration. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "deconflict/audit.h"

static void hex(const uint8_t *b, char out[65])
{
    dc_audit_hex(b, 32, out, 65);
}

static void test_vectors(void **state)
{
    (void)state;
    uint8_t bh[32], l1[32], l2[32], zero[32] = {0}, x[32];
    char h[65];
    dc_audit_hash("{\"a\":1}", 7, bh);
    hex(bh, h);
    assert_string_equal(h, "10a7ff3e312baec0c356be489739b93f63af84416c40f1c13023eb96c7ed50aa");
    dc_audit_link(zero, 1, bh, l1);
    hex(l1, h);
    assert_string_equal(h, "29d57c001eec18891fd7f66269a18979633df4fae69891915d9e25757837406d");
    dc_audit_hash("x", 1, x);
    dc_audit_link(l1, 2, x, l2);
    hex(l2, h);
    assert_string_equal(h, "538bc54b45b61b499156367a1ace6ccc338b1495b767dbdc0181b577d77d6c05");
}

static void test_head_signature(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64], other_pk[32], other_sk[64], hash[32] = {1, 2, 3}, sig[64];
    assert_int_equal(dc_audit_keypair(pk, sk), DC_OK);
    assert_int_equal(dc_audit_keypair(other_pk, other_sk), DC_OK);
    dc_audit_sign_head(sk, 7, hash, sig);
    assert_true(dc_audit_head_ok(pk, 7, hash, sig));
    assert_false(dc_audit_head_ok(pk, 8, hash, sig)); /* another seq */
    hash[31] ^= 1;
    assert_false(dc_audit_head_ok(pk, 7, hash, sig)); /* another hash */
    hash[31] ^= 1;
    assert_false(dc_audit_head_ok(other_pk, 7, hash, sig)); /* another key */
}

/* A log of n entries as the export writes it (bodies {"n":<i>}),
 * without entry drop, with entry bad_body's body altered, with the head's signature altered. */
static char *build_log(int n, int drop, int bad_body, bool bad_head)
{
    uint8_t pk[32], sk[64], prev[32] = {0}, sig[64];
    dc_audit_keypair(pk, sk);
    char entries[8192] = "", pk64[64], sig64[128], h[65], bh_hex[65];
    size_t el = 0;
    for (int i = 1; i <= n; i++) {
        char body[32], quoted[40];
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        uint8_t bh[32];
        dc_audit_hash(body, strlen(body), bh);
        dc_audit_link(prev, (uint64_t)i, bh, prev);
        if (i == drop) continue;
        if (i == bad_body) body[5] = body[5] == '9' ? '8' : '9';
        snprintf(quoted, sizeof(quoted), "{\\\"n\\\":%s", body + 5); /* as a JSON string */
        hex(bh, bh_hex), hex(prev, h);
        el +=
            (size_t)snprintf(entries + el, sizeof(entries) - el,
                             "%s{\"seq\":%d,\"body_hash\":\"%s\",\"hash\":\"%s\",\"body\":\"%s\"}",
                             el ? "," : "", i, bh_hex, h, quoted);
    }
    dc_audit_sign_head(sk, (uint64_t)n, prev, sig);
    if (bad_head) sig[0] ^= 1;
    dc_audit_b64(pk, 32, pk64, sizeof(pk64));
    dc_audit_b64(sig, 64, sig64, sizeof(sig64));
    hex(prev, h);
    size_t cap = strlen(entries) + 1024;
    char *out = malloc(cap);
    snprintf(out, cap,
             "{\"format\":\"deconflict-audit-v1\",\"public_key\":\"%s\",\"head\":"
             "{\"seq\":%d,\"hash\":\"%s\",\"signature\":\"%s\"},\"entries\":[%s]}",
             pk64, n, h, sig64, entries);
    return out;
}

static void test_verifier(void **state)
{
    (void)state;
    dc_audit_report_t rep;
    char *log = build_log(6, 0, 0, false);
    assert_int_equal(dc_audit_verify_json(log, strlen(log), NULL, &rep), DC_OK);
    assert_true(rep.ok);
    assert_int_equal(rep.entries, 6);
    assert_int_equal(rep.head_seq, 6);
    free(log);
    log = build_log(6, 3, 0, false); /* entry 3 missing */
    dc_audit_verify_json(log, strlen(log), NULL, &rep);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 3);
    free(log);
    log = build_log(6, 0, 4, false); /* entry 4's body altered */
    dc_audit_verify_json(log, strlen(log), NULL, &rep);
    assert_false(rep.ok);
    assert_int_equal(rep.bad_seq, 4);
    free(log);
    log = build_log(6, 0, 0, true); /* head signature altered */
    dc_audit_verify_json(log, strlen(log), NULL, &rep);
    assert_false(rep.ok);
    assert_non_null(strstr(rep.why, "signature"));
    free(log);
    dc_audit_verify_json("{\"format\":\"other\"}", 18, NULL, &rep);
    assert_false(rep.ok);
    dc_audit_verify_json("not json", 8, NULL, &rep);
    assert_false(rep.ok);
    assert_int_equal(dc_audit_page_last_seq("{\"entries\":[{\"seq\":4},{\"seq\":9}]}", 33), 9);
    assert_int_equal(dc_audit_page_last_seq("{\"entries\":[]}", 14), 0);
    assert_int_equal(dc_audit_page_last_seq("[]", 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_head_signature),
        cmocka_unit_test(test_verifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
