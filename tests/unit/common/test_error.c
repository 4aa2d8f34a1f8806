/* dc_err_t: every code has a sentence, a stable token and an HTTP status; unknown codes degrade. */
#include "testutil.h"

#include "deconflict/error.h"

static void test_known_codes(void **state)
{
    (void)state;
    assert_string_equal(dc_strerror(DC_OK), "success");
    assert_string_equal(dc_err_code(DC_ERR_INVALID), "invalid_argument");
    assert_int_equal(dc_err_http_status(DC_ERR_INVALID), 400);
    assert_int_equal(dc_err_http_status(DC_ERR_NOT_FOUND), 404);
    assert_int_equal(dc_err_http_status(DC_ERR_CONFLICT), 409);
    assert_int_equal(dc_err_http_status(DC_ERR_LIMIT), 413);
    assert_string_equal(dc_err_code(DC_ERR_STALE_VERSION), "stale_version");
    assert_int_equal(dc_err_http_status(DC_ERR_FORBIDDEN), 403);
    assert_int_equal(dc_err_http_status(DC_ERR_UNAUTHORIZED), 401);
    assert_int_equal(dc_err_http_status(DC_ERR_MEDIA_TYPE), 415);
    assert_int_equal(dc_err_http_status(DC_ERR_RATE), 429);
    assert_string_equal(dc_err_code(DC_ERR_STORE), "store_failed");
    for (int e = DC_OK; e <= DC_ERR_STORE; e++) {
        assert_non_null(dc_strerror((dc_err_t)e));
        assert_string_not_equal(dc_err_code((dc_err_t)e), "unknown_error");
    }
}

static void test_unknown_code(void **state)
{
    (void)state;
    assert_string_equal(dc_strerror((dc_err_t)999), "unknown error");
    assert_string_equal(dc_err_code((dc_err_t)-1), "unknown_error");
    assert_int_equal(dc_err_http_status((dc_err_t)999), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_unknown_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
