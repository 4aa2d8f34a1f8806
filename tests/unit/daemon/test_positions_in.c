/* POST /v1/positions read two ways -- yajl's stream (dd_positions_read) and a jansson tree judged
 * report by report -- on thousands of generated bodies: reports valid and broken field by field
 * (missing, of the wrong type, out of range, too long), unknown members nested at any depth,
 * escapes, "\u0000", surrogates, UTF-8 that is and is not RFC 3629's, numbers at and past the edges
 * of 64-bit integers and doubles, duplicate keys at every depth, bodies that are not arrays, cut
 * short, followed by garbage, nested or wide beyond what the stream follows, and one past the batch
 * limit. The comparison is the fuzz driver's (fuzz/fuzz_positions.c), which aborts on any
 * difference. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x853c49e6748fea9bull;

static unsigned pick(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

typedef struct buf {
    char *b;
    size_t len, cap;
} buf_t;

static void put(buf_t *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    memcpy(o->b + o->len, s, n + 1);
    o->len += n;
}

/* A value of any kind, nested up to depth more. */
static void any_value(buf_t *o, int depth)
{
    static const char *const scalars[] = {"null",
                                          "true",
                                          "false",
                                          "0",
                                          "-0",
                                          "1.5e3",
                                          "9223372036854775807",
                                          "9223372036854775808",
                                          "-9223372036854775809",
                                          "1e308",
                                          "1e309",
                                          "-1e400",
                                          "1e-400",
                                          "\"x\"",
                                          "\"\\u00e9\\n\\t\\\"\"",
                                          "\"\\u0000\"",
                                          "\"\\ud83d\\ude00\"",
                                          "\"\\ud800\"",
                                          "\"caf\xc3\xa9\"",
                                          "\"\xff\"",
                                          "12.",
                                          "01",
                                          "\"unterminated",
                                          "\"\xc1\xbf\"",
                                          "\"\xed\xa0\x80\"",
                                          "\"\xf4\x90\x80\x80\"",
                                          "\"\xe0\x80\x80\"",
                                          "\"\xf0\x9f\x98\x80\""};
    unsigned k = pick(depth > 0 ? 31 : 28);
    if (k < 28) {
        put(o, scalars[k]);
    } else if (k == 28) {
        put(o, "[");
        for (unsigned i = 0, n = pick(4); i < n; i++) {
            if (i) put(o, ",");
            any_value(o, depth - 1);
        }
        put(o, "]");
    } else {
        put(o, "{");
        for (unsigned i = 0, n = pick(4); i < n; i++) {
            char key[16];
            snprintf(key, sizeof(key), "%s\"k%u\":", i ? "," : "", pick(3)); /* may repeat */
            put(o, key);
            any_value(o, depth - 1);
        }
        put(o, "}");
    }
}

/* One member of a report: its own value mostly, sometimes something else. */
static void member(buf_t *o, const char *key, const char *good)
{
    unsigned k = pick(20);
    if (k == 0) return; /* missing */
    char head[40];
    snprintf(head, sizeof(head), "\"%s\":", key);
    put(o, head);
    if (k < 15)
        put(o, good);
    else
        any_value(o, 2);
    put(o, ",");
}

static void report(buf_t *o)
{
    static const char *const ids[] = {
        "\"AB12\"", "\"a/b\"", "\"\"", "\"x y\"", "\"0123456789012345678901234\"", "\"T1\"", "7"};
    static const char *const times[] = {"1764748800",
                                        "\"2025-12-03T08:00:00Z\"",
                                        "\"2025-12-03T08:00:00.123456789+01:00\"",
                                        "\"nope\"",
                                        "-5",
                                        "1e20"};
    static const char *const lats[] = {"47.5", "-90", "90.0001", "1e2", "0"};
    static const char *const alts[] = {"35000", "-2001", "100000", "1e6"};
    static const char *const calls[] = {"\"SWR12\"", "null", "\"swr1\"", "\"ABCDEFGHI\""};
    static const char *const steps[] = {"25", "null", "-1", "501", "100"};
    if (pick(15) == 0) {
        any_value(o, 3);
        return;
    }
    put(o, "{");
    member(o, "track_id", ids[pick(7)]);
    member(o, "t", times[pick(6)]);
    member(o, "lat", lats[pick(5)]);
    member(o, "lon", lats[pick(5)]);
    member(o, "alt_ft", alts[pick(4)]);
    member(o, "gs_kt", pick(5) ? "450" : "2001");
    member(o, "trk_deg", pick(5) ? "359.99" : "360");
    member(o, "vs_fpm", pick(5) ? "-1500" : "60001");
    member(o, "callsign", calls[pick(4)]);
    member(o, "operation_id", pick(3) ? "\"op_1\"" : "null");
    member(o, "alt_step_ft", steps[pick(5)]);
    member(o, "selected_alt_ft", pick(3) ? "null" : "36000");
    if (pick(8) == 0) member(o, "track_id", "\"DUP\""); /* a duplicate key */
    if (pick(4) == 0) {
        put(o, "\"extra\":");
        any_value(o, 3);
        put(o, ",");
    }
    put(o, "\"z\":0}");
}

static void check(const buf_t *o)
{
    LLVMFuzzerTestOneInput((const uint8_t *)o->b, o->len); /* aborts on a difference */
}

static void test_generated_bodies(void **state)
{
    (void)state;
    for (int k = 0; k < 4000; k++) {
        buf_t o = {0};
        unsigned shape = pick(20);
        if (shape == 0) {
            any_value(&o, 3); /* not an array, mostly */
        } else {
            put(&o, "[");
            for (unsigned i = 0, n = pick(6); i < n; i++) {
                if (i) put(&o, ",");
                report(&o);
            }
            put(&o, "]");
            if (shape == 1) put(&o, " garbage");
            if (shape == 2) put(&o, " \n\t ");
            if (shape == 3 && o.len > 2) o.b[o.len /= 2] = '\0'; /* cut short */
        }
        check(&o);
        free(o.b);
    }
}

static void test_edges(void **state)
{
    (void)state;
    buf_t o = {0};
    /* Nested deeper than the stream follows (it falls back to the tree). */
    put(&o, "[{\"track_id\":\"D\",\"x\":");
    for (int i = 0; i < 40; i++) put(&o, "[");
    for (int i = 0; i < 40; i++) put(&o, "]");
    put(&o, "}]");
    check(&o);
    /* An object wider than the duplicate check follows, with and without a duplicate. */
    for (int dup = 0; dup < 2; dup++) {
        o.len = 0;
        put(&o, "[{");
        for (int i = 0; i < 100; i++) {
            char m[24];
            snprintf(m, sizeof(m), "%s\"m%d\":%d", i ? "," : "", dup && i == 99 ? 3 : i, i);
            put(&o, m);
        }
        put(&o, "}]");
        check(&o);
    }
    /* One report past the batch limit, and exactly at it. */
    for (int extra = 0; extra < 2; extra++) {
        o.len = 0;
        put(&o, "[");
        for (int i = 0; i < 10000 + extra; i++) put(&o, i ? ",{}" : "{}");
        put(&o, "]");
        check(&o);
    }
    const char *const bodies[] = {"",
                                  " ",
                                  "[]",
                                  "{}",
                                  "1",
                                  "\"s\"",
                                  "[1,2,[3]]",
                                  "[{}]{}",
                                  "[{\"a\":1,\"a\":2}]",
                                  "{\"a\":1,\"a\":2}",
                                  "[[{\"a\":1,\"a\":1}]]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        o.len = 0;
        put(&o, bodies[i]);
        check(&o);
    }
    free(o.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_bodies),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
