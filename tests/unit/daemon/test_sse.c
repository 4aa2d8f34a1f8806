/* The event stream's buffer (src/deconflictd/http/sse.c): no event is ever skipped. When an event
 * cannot be appended -- the batch is full, or memory cannot be had -- the stream goes on from
 * the last event it did take, so the next read starts with the one refused; an event larger
 * than a batch still goes out alone; and when even that allocation fails the stream is told to
 * close, so that the client resumes from Last-Event-ID. (Before this, the stream's position
 * moved past an event that was never written.) */
#include "testutil.h"

#include "http/sse.h"

static int fail_after = -1; /* allocations left before the next one fails (-1: never) */

static void *flaky_realloc(void *p, size_t n)
{
    if (fail_after == 0) return NULL;
    if (fail_after > 0) fail_after--;
    return realloc(p, n);
}

/* What a client would have read: the ids in the text taken so far. */
static size_t take_ids(dd_sse_t *s, int64_t *ids, size_t max)
{
    char buf[1 << 16], *p = buf;
    size_t n = 0, got = dd_sse_take(s, buf, sizeof(buf) - 1);
    buf[got] = '\0';
    while ((p = strstr(p, "id: ")) && n < max) ids[n++] = strtoll(p + 4, &p, 10);
    return n;
}

static void test_refused_event_is_read_again(void **state)
{
    (void)state;
    dd_sse_t s = {.realloc_fn = flaky_realloc};
    fail_after = 1; /* the first event gets memory, the second does not */
    dd_sse_begin(&s);
    assert_true(dd_sse_append(&s, 10, "conflict.new", "{\"id\":\"a\"}"));
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(dd_sse_append(&s, 11, "conflict.new", big));  /* no memory to grow */
    assert_false(dd_sse_append(&s, 12, "conflict.new", "{}")); /* and nothing after it */
    assert_false(dd_sse_stuck(&s));
    assert_int_equal(s.last_seq, 10); /* the stream goes on from 10, not from 12 */
    int64_t ids[8];
    assert_int_equal(take_ids(&s, ids, 8), 1);
    assert_int_equal(ids[0], 10);
    /* The next read starts after 10: 11 and 12 arrive. */
    fail_after = -1;
    dd_sse_begin(&s);
    assert_true(dd_sse_append(&s, 11, "conflict.new", big));
    assert_true(dd_sse_append(&s, 12, "conflict.new", "{}"));
    assert_int_equal(take_ids(&s, ids, 8), 2);
    assert_int_equal(ids[0], 11);
    assert_int_equal(ids[1], 12);
    assert_int_equal(s.last_seq, 12);
    dd_sse_free(&s);
}

static void test_batches_are_bounded_but_big_events_pass(void **state)
{
    (void)state;
    dd_sse_t s = {0};
    char data[1000];
    memset(data, 'y', sizeof(data) - 1);
    data[sizeof(data) - 1] = '\0';
    dd_sse_begin(&s);
    int64_t seq = 0;
    while (dd_sse_append(&s, ++seq, "e", data)) {
    }
    assert_true(s.len - s.off <= DD_SSE_BATCH_BYTES);
    assert_int_equal(s.last_seq, seq - 1); /* the one that did not fit is next */
    char *buf = malloc(DD_SSE_BATCH_BYTES * 4);
    dd_sse_take(&s, buf, DD_SSE_BATCH_BYTES * 4);
    /* An event four batches long goes out alone. */
    size_t n = 4 * DD_SSE_BATCH_BYTES;
    char *huge = malloc(n + 1);
    memset(huge, 'z', n);
    huge[n] = '\0';
    dd_sse_begin(&s);
    assert_true(dd_sse_append(&s, seq, "e", huge));
    assert_false(dd_sse_append(&s, seq + 1, "e", "{}"));
    assert_int_equal(s.last_seq, seq);
    free(huge), free(buf);
    dd_sse_free(&s);
}

static void test_stuck_when_not_even_one_fits(void **state)
{
    (void)state;
    dd_sse_t s = {.realloc_fn = flaky_realloc};
    fail_after = 0;
    dd_sse_begin(&s);
    assert_false(dd_sse_append(&s, 5, "conflict.new", "{}"));
    assert_true(dd_sse_stuck(&s)); /* close: the client resumes from its Last-Event-ID */
    assert_int_equal(s.last_seq, 0);
    fail_after = -1;
    dd_sse_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_event_is_read_again),
        cmocka_unit_test(test_batches_are_bounded_but_big_events_pass),
        cmocka_unit_test(test_stuck_when_not_even_one_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
