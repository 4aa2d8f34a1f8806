/* Bounded text (common/textbuf.h): JSON strings as jansson, an independent writer, writes them,
 * on random strings of every byte from 1 to 127; and a text that does not fit is cut and says
 * so, whichever append overflowed. */
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/textbuf.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static unsigned next_byte(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % 127) + 1;
}

static void test_json_string_as_jansson(void **state)
{
    (void)state;
    for (int k = 0; k < 20000; k++) {
        char s[40], buf[300], ref[300];
        size_t n = next_byte() % 39;
        for (size_t i = 0; i < n; i++) s[i] = (char)next_byte();
        s[n] = '\0';
        dc_text_t t = {buf, sizeof(buf), 0};
        dc_text_json_string(&t, s);
        assert_true(dc_text_ok(&t));
        assert_int_equal(t.len, strlen(buf));
        /* The same string, read back by jansson, is what was written. */
        json_error_t err;
        json_t *back = json_loads(buf, JSON_DECODE_ANY, &err);
        assert_non_null(back);
        assert_string_equal(json_string_value(back), s);
        json_decref(back);
        /* And jansson's own writing of it, where both escape the same characters. */
        json_t *js = json_string(s);
        char *dumped = json_dumps(js, JSON_ENCODE_ANY);
        snprintf(ref, sizeof(ref), "%s", dumped);
        bool plain = true;
        for (size_t i = 0; i < n; i++) plain &= s[i] >= 0x20 && s[i] != 0x7f && s[i] != '/';
        if (plain) assert_string_equal(buf, ref);
        free(dumped);
        json_decref(js);
    }
}

static void test_cut(void **state)
{
    (void)state;
    for (size_t cap = 1; cap < 40; cap++) {
        char buf[64];
        dc_text_t t = {buf, cap, 0};
        dc_text_append(&t, "{\"a\":", 5);
        dc_text_json_string(&t, "x\"y\\z");
        dc_text_fixed(&t, 1.5, 2);
        dc_text_printf(&t, "%s", "}");
        /* {"a":"x\"y\\z"1.50} is 19 bytes: it fits in 20 and more, else the text says cut. */
        assert_int_equal(dc_text_ok(&t), cap >= 20);
        if (cap >= 20) assert_string_equal(buf, "{\"a\":\"x\\\"y\\\\z\"1.50}");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string_as_jansson),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
