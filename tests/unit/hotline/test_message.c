/* The hotline's message templates: every category renders in English and Russian from its
 * fields; missing, unknown and malformed fields are refused by name; free text is bounded and
 * carried as written. */
#include "testutil.h"

#include <stdlib.h>

#include "deconflict/hotline.h"

static dc_err_t render(dc_msg_category_t c, const char *json, char **en, char **ru,
                       char field[DC_MSG_FIELD_MAX])
{
    char msg[256];
    return dc_msg_render(c, json, strlen(json), en, ru, field, msg, sizeof(msg));
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < DC_MSG_CATEGORY_COUNT; i++) {
        dc_msg_category_t c;
        assert_int_equal(dc_msg_category_parse(dc_msg_category_name((dc_msg_category_t)i), &c),
                         DC_OK);
        assert_int_equal(c, i);
    }
    dc_msg_category_t c;
    assert_int_equal(dc_msg_category_parse("gossip", &c), DC_ERR_INVALID);
    dc_msg_priority_t p;
    assert_int_equal(dc_msg_priority_parse("flash", &p), DC_OK);
    assert_int_equal(p, DC_MSG_FLASH);
    assert_int_equal(dc_msg_priority_parse("FLASH", &p), DC_ERR_INVALID);
}

static void test_incident_both_languages(void **state)
{
    (void)state;
    char *en, *ru, field[DC_MSG_FIELD_MAX];
    assert_int_equal(render(DC_MSG_INCIDENT,
                            "{\"time\":\"2015-10-20T09:15:00+03:00\",\"lat\":35.5,\"lon\":-36.25,"
                            "\"alt_ft\":25000,\"tracks\":[\"A1\",\"B2\"],"
                            "\"description\":\"Сближение до 1 NM\"}",
                            &en, &ru, field),
                     DC_OK);
    assert_string_equal(en, "INCIDENT\nTime: 2015-10-20T06:15:00Z\nLatitude: 35.5000 N\n"
                            "Longitude: 36.2500 W\nAltitude: 25000 ft\nTracks involved: A1, B2\n"
                            "Description: Сближение до 1 NM");
    assert_string_equal(ru, "ИНЦИДЕНТ\nВремя: 2015-10-20T06:15:00Z\nШирота: 35.5000 с.ш.\n"
                            "Долгота: 36.2500 з.д.\nВысота: 25000 футов\nБорта: A1, B2\n"
                            "Описание: Сближение до 1 NM");
    free(en), free(ru);
}

static void test_every_category_renders(void **state)
{
    (void)state;
    const char *minimal[DC_MSG_CATEGORY_COUNT] = {
        "{\"time_start\":\"2030-01-01T00:00:00Z\",\"time_end\":\"2030-01-01T02:00:00Z\","
        "\"alt_lower_ft\":0,\"alt_upper_ft\":20000}",
        "{\"request\":\"climb to FL300 north of the river\"}",
        "{\"time\":\"2030-01-01T00:00:00Z\",\"lat\":1,\"lon\":2,\"alt_ft\":3,\"description\":"
        "\"x\"}",
        "{\"reason\":\"exercise\"}",
        "{}",
        "{\"period_start\":\"2030-01-01T00:00:00Z\",\"period_end\":\"2030-01-02T00:00:00Z\","
        "\"summary\":\"14 calls\"}",
        "{\"text\":\"radio check\"}",
    };
    for (int i = 0; i < DC_MSG_CATEGORY_COUNT; i++) {
        char *en, *ru, field[DC_MSG_FIELD_MAX];
        assert_int_equal(render((dc_msg_category_t)i, minimal[i], &en, &ru, field), DC_OK);
        assert_true(strlen(en) > 0 && strlen(ru) > 0 && strcmp(en, ru) != 0);
        free(en), free(ru);
        if (strcmp(minimal[i], "{}") == 0) continue;
        /* Every category has a required field: the empty object is refused, naming it. */
        assert_int_equal(render((dc_msg_category_t)i, "{}", &en, &ru, field), DC_ERR_INVALID);
        assert_true(strlen(field) > 0);
        assert_null(en);
    }
}

static void test_bad_fields_named(void **state)
{
    (void)state;
    struct {
        dc_msg_category_t c;
        const char *json, *field;
    } cases[] = {
        {DC_MSG_FREE_TEXT, "{\"text\":\"hi\",\"colour\":\"red\"}", "colour"},
        {DC_MSG_FREE_TEXT, "{\"text\":\"\"}", "text"},
        {DC_MSG_FREE_TEXT, "{\"text\":\"bell\\u0007\"}", "text"},
        {DC_MSG_FREE_TEXT, "{\"text\":42}", "text"},
        {DC_MSG_FREE_TEXT, "[\"text\"]", ""},
        {DC_MSG_FREE_TEXT, "{\"text\":\"a\",\"text\":\"b\"}", ""},
        {DC_MSG_INCIDENT,
         "{\"time\":\"2030-02-30T00:00:00Z\",\"lat\":1,\"lon\":2,\"alt_ft\":3,\"description\":"
         "\"x\"}",
         "time"},
        {DC_MSG_INCIDENT,
         "{\"time\":\"2030-01-01T00:00:00Z\",\"lat\":91,\"lon\":2,\"alt_ft\":3,\"description\":"
         "\"x\"}",
         "lat"},
        {DC_MSG_INCIDENT,
         "{\"time\":\"2030-01-01T00:00:00Z\",\"lat\":1,\"lon\":2,\"alt_ft\":3,\"description\":"
         "\"x\","
         "\"tracks\":[\"A1\",7]}",
         "tracks"},
        {DC_MSG_INCIDENT, "{\"time\":\"2030-01-01T00:00:00Z\",\"lat\":1,\"lon\":2,\"alt_ft\":3}",
         "description"},
        {DC_MSG_OPERATION_NOTICE,
         "{\"time_start\":\"2030-01-01T00:00:00Z\",\"time_end\":\"2030-01-01T02:00:00Z\","
         "\"alt_lower_ft\":0,\"alt_upper_ft\":200000}",
         "alt_upper_ft"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *en, *ru, field[DC_MSG_FIELD_MAX];
        assert_int_equal(render(cases[i].c, cases[i].json, &en, &ru, field), DC_ERR_INVALID);
        assert_string_equal(field, cases[i].field);
    }
}

static void test_text_bounds(void **state)
{
    (void)state;
    char *big = malloc(DC_MSG_TEXT_MAX + 64);
    /* 4000 bytes of two-byte letters: at the limit, accepted; one more letter: refused. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = 0;
        n += (size_t)sprintf(big, "{\"text\":\"");
        for (int k = 0; k < DC_MSG_TEXT_MAX / 2 + extra; k++) n += (size_t)sprintf(big + n, "Ж");
        sprintf(big + n, "\"}");
        char *en, *ru, field[DC_MSG_FIELD_MAX];
        dc_err_t rc = render(DC_MSG_FREE_TEXT, big, &en, &ru, field);
        assert_int_equal(rc, extra ? DC_ERR_INVALID : DC_OK);
        if (rc == DC_OK) {
            assert_non_null(strstr(en, "ЖЖЖ")); /* carried as written, not translated */
            free(en), free(ru);
        }
    }
    free(big);
    assert_true(dc_msg_text_ok("line 1\n\tline 2", 100));
    assert_false(dc_msg_text_ok("\xc3", 100));     /* truncated sequence */
    assert_false(dc_msg_text_ok("\xc3\x28", 100)); /* bad continuation */
    assert_false(dc_msg_text_ok("carriage\rreturn", 100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_incident_both_languages),
        cmocka_unit_test(test_every_category_renders),
        cmocka_unit_test(test_bad_fields_named),
        cmocka_unit_test(test_text_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
