/* Input validation of Volume4D and operation JSON: every field, every unit, every limit, and the
 * error names the field. Also normalisation of units and RFC 3339 times. */
#include "strategic_testutil.h"

#include <math.h>

#include "deconflict/geo.h"
#include "deconflict/timefmt.h"

#define POLY                                                                                       \
    "\"outline_polygon\":{\"vertices\":[{\"lat\":1,\"lng\":1},{\"lat\":1,\"lng\":1.01},{\"lat\":"  \
    "1.01,\"lng\":1.01}]}"
#define ALT_L                        "\"altitude_lower\":{\"value\":0,\"reference\":\"W84\",\"units\":\"M\"}"
#define ALT_U                        "\"altitude_upper\":{\"value\":120,\"reference\":\"W84\",\"units\":\"M\"}"
#define T_S                          "\"time_start\":{\"value\":\"2026-12-01T12:00:00Z\",\"format\":\"RFC3339\"}"
#define T_E                          "\"time_end\":{\"value\":\"2026-12-01T13:00:00Z\",\"format\":\"RFC3339\"}"
#define VOL(outline, lo, hi, ts, te) "{\"volume\":{" outline "," lo "," hi "}," ts "," te "}"
#define GOOD                         VOL(POLY, ALT_L, ALT_U, T_S, T_E)

typedef struct bad_case {
    const char *json;
    dc_err_t rc;
    const char *field; /* expected prefix of err.field */
} bad_case_t;

static void test_good_volume_normalised(void **state)
{
    (void)state;
    dc_volume4d_t v;
    dc_strategic_error_t err;
    const char *doc =
        "{\"volume\":{\"outline_circle\":{\"center\":{\"lat\":46.5,\"lng\":7.25},"
        "\"radius\":{\"value\":2.5,\"units\":\"NM\"}},"
        "\"altitude_lower\":{\"value\":95,\"reference\":\"FL\",\"units\":\"FL\"},"
        "\"altitude_upper\":{\"value\":12000,\"reference\":\"W84\",\"units\":\"FT\"}},"
        "\"time_start\":{\"value\":\"2026-12-01T13:00:00.5+01:00\",\"format\":\"RFC3339\"},"
        "\"time_end\":{\"value\":\"2026-12-01t12:30:00z\"}}";
    assert_int_equal(dc_volume4d_parse_json(doc, strlen(doc), &v, &err), DC_OK);
    assert_int_equal(v.kind, DC_FOOTPRINT_CIRCLE);
    assert_near(v.radius_m, 2.5 * 1852, 1e-9);
    assert_near(v.alt_lower_m, 9500 * 0.3048, 1e-9);
    assert_int_equal(v.alt_lower_ref, DC_ALT_REF_FL);
    assert_near(v.alt_upper_m, 12000 * 0.3048, 1e-9);
    assert_int_equal(v.alt_upper_ref, DC_ALT_REF_W84);
    assert_near(v.t_start_s, T_BASE_S + 0.5, 1e-6);
    assert_near(v.t_end_s, T_BASE_S + 1800, 1e-6);
    dc_volume4d_clear(&v);

    /* A repeated closing vertex is dropped; the ASTM form with it is accepted. */
    const char *closed =
        VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":1,\"lng\":1},{\"lat\":1,\"lng\":1.01},"
            "{\"lat\":1.01,\"lng\":1.01},{\"lat\":1,\"lng\":1}]}",
            ALT_L, ALT_U, T_S, T_E);
    assert_int_equal(dc_volume4d_parse_json(closed, strlen(closed), &v, &err), DC_OK);
    dc_volume4d_clear(&v);
}

static void check_bad(const bad_case_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dc_volume4d_t v;
        dc_strategic_error_t err;
        dc_err_t rc = dc_volume4d_parse_json(c[i].json, strlen(c[i].json), &v, &err);
        printf("  %-44s -> %s: %s\n", c[i].field, err.field, err.message);
        if (rc != c[i].rc)
            fail_msg("case %zu (%s): rc %d, expected %d", i, c[i].field, rc, c[i].rc);
        if (strncmp(err.field, c[i].field, strlen(c[i].field)) != 0)
            fail_msg("case %zu: field '%s', expected '%s'", i, err.field, c[i].field);
        assert_true(strlen(err.message) > 0);
        assert_null(v.vertices);
    }
}

static void test_bad_volumes(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"not json", DC_ERR_INVALID, ""},
        {"[]", DC_ERR_INVALID, ""},
        {"{\"time_start\":1}", DC_ERR_INVALID, "volume"},
        {VOL("\"outline_circle\":{\"center\":{\"lat\":1,\"lng\":1},\"radius\":{\"value\":1,"
             "\"units\":\"M\"}}," POLY,
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume"},
        {"{\"volume\":{" ALT_L "," ALT_U "}," T_S "," T_E "}", DC_ERR_INVALID, "volume"},
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":1,\"lng\":1},{\"lat\":2,\"lng\":2}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon/vertices"},
        {VOL("\"outline_polygon\":{\"vertices\":{}}", ALT_L, ALT_U, T_S, T_E), DC_ERR_INVALID,
         "volume/outline_polygon/vertices"},
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":91,\"lng\":1},{\"lat\":1,\"lng\":1.01},"
             "{\"lat\":1.01,\"lng\":1.01}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon/vertices/0/lat"},
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":1,\"lng\":1},{\"lat\":1,\"lng\":180.5},"
             "{\"lat\":1.01,\"lng\":1.01}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon/vertices/1/lng"},
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":1,\"lng\":1},{\"lat\":\"1\",\"lng\":2},"
             "{\"lat\":1.01,\"lng\":1.01}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon/vertices/1/lat"},
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":0,\"lng\":0},{\"lat\":0.01,\"lng\":0.01},"
             "{\"lat\":0,\"lng\":0.01},{\"lat\":0.01,\"lng\":0}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon"}, /* bow tie */
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":0,\"lng\":0},{\"lat\":0,\"lng\":0.01},"
             "{\"lat\":0,\"lng\":0.02}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon"}, /* collinear */
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":0,\"lng\":0},{\"lat\":0,\"lng\":0},"
             "{\"lat\":0,\"lng\":0.01},{\"lat\":0,\"lng\":0.01}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_polygon"}, /* two distinct vertices */
        {VOL("\"outline_polygon\":{\"vertices\":[{\"lat\":0,\"lng\":0},{\"lat\":0,\"lng\":10},"
             "{\"lat\":10,\"lng\":10}]}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_LIMIT, "volume/outline_polygon"}, /* 1000 km across */
        {VOL("\"outline_circle\":{\"center\":{\"lat\":1,\"lng\":1},\"radius\":{\"value\":-1,"
             "\"units\":\"M\"}}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_circle/radius/value"},
        {VOL("\"outline_circle\":{\"center\":{\"lat\":1,\"lng\":1},\"radius\":{\"value\":1,"
             "\"units\":\"yd\"}}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_circle/radius/units"},
        {VOL("\"outline_circle\":{\"center\":{\"lat\":1,\"lng\":1},\"radius\":{\"value\":600,"
             "\"units\":\"NM\"}}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_LIMIT, "volume/outline_circle"},
        {VOL("\"outline_circle\":{\"center\":{\"lat\":-95,\"lng\":1},\"radius\":{\"value\":1,"
             "\"units\":\"M\"}}",
             ALT_L, ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/outline_circle/center/lat"},
        {VOL(POLY, "\"altitude_lower\":{\"value\":0,\"reference\":\"W84\",\"units\":\"km\"}", ALT_U,
             T_S, T_E),
         DC_ERR_INVALID, "volume/altitude_lower/units"},
        {VOL(POLY, "\"altitude_lower\":{\"value\":0,\"reference\":\"AGL\",\"units\":\"M\"}", ALT_U,
             T_S, T_E),
         DC_ERR_INVALID, "volume/altitude_lower/reference"},
        {VOL(POLY, "\"altitude_lower\":{\"value\":0,\"reference\":\"W84\",\"units\":\"FL\"}", ALT_U,
             T_S, T_E),
         DC_ERR_INVALID, "volume/altitude_lower/units"},
        {VOL(POLY, "\"altitude_lower\":{\"reference\":\"W84\",\"units\":\"M\"}", ALT_U, T_S, T_E),
         DC_ERR_INVALID, "volume/altitude_lower/value"},
        {VOL(POLY, ALT_L, "\"altitude_upper\":{\"value\":0,\"reference\":\"W84\",\"units\":\"M\"}",
             T_S, T_E),
         DC_ERR_INVALID, "volume/altitude_upper/value"}, /* upper == lower */
        {VOL(POLY, ALT_L,
             "\"altitude_upper\":{\"value\":200000,\"reference\":\"W84\",\"units\":\"M\"}", T_S,
             T_E),
         DC_ERR_INVALID, "volume/altitude_upper/value"},
        {"{\"volume\":{" POLY "," ALT_L "}," T_S "," T_E "}", DC_ERR_INVALID,
         "volume/altitude_upper"},
        {VOL(POLY, ALT_L, ALT_U, "\"time_start\":{\"value\":\"2026-02-30T12:00:00Z\"}", T_E),
         DC_ERR_INVALID, "time_start/value"},
        {VOL(POLY, ALT_L, ALT_U, "\"time_start\":{\"value\":\"2026-12-01 12:00\"}", T_E),
         DC_ERR_INVALID, "time_start/value"},
        {VOL(POLY, ALT_L, ALT_U,
             "\"time_start\":{\"value\":\"2026-12-01T12:00:00Z\",\"format\":\"ISO\"}", T_E),
         DC_ERR_INVALID, "time_start/format"},
        {VOL(POLY, ALT_L, ALT_U, T_S, "\"time_end\":{\"value\":\"2026-12-01T12:00:00Z\"}"),
         DC_ERR_INVALID, "time_end/value"}, /* end == start */
        {VOL(POLY, ALT_L, ALT_U, T_S, "\"time_end\":{\"value\":\"2027-01-15T12:00:00Z\"}"),
         DC_ERR_LIMIT, "time_end/value"}, /* 45 days */
        {"{\"volume\":{" POLY "," ALT_L "," ALT_U "}," T_S "}", DC_ERR_INVALID, "time_end"},
    };
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static char *many_vertices(size_t n)
{
    size_t cap = n * 48 + 1024;
    char *s = malloc(cap), *p = s;
    p += sprintf(p, "{\"volume\":{\"outline_polygon\":{\"vertices\":[");
    for (size_t i = 0; i < n; i++) {
        double a = 2 * M_PI * i / n;
        p +=
            sprintf(p, "%s{\"lat\":%.9f,\"lng\":%.9f}", i ? "," : "", 0.01 * sin(a), 0.01 * cos(a));
    }
    sprintf(p, "]}," ALT_L "," ALT_U "}," T_S "," T_E "}");
    return s;
}

static void test_vertex_limit(void **state)
{
    (void)state;
    dc_volume4d_t v;
    dc_strategic_error_t err;
    char *ok = many_vertices(DC_STRATEGIC_VERTICES_MAX);
    assert_int_equal(dc_volume4d_parse_json(ok, strlen(ok), &v, &err), DC_OK);
    assert_int_equal(v.n_vertices, DC_STRATEGIC_VERTICES_MAX);
    dc_volume4d_clear(&v);
    char *over = many_vertices(DC_STRATEGIC_VERTICES_MAX + 1);
    assert_int_equal(dc_volume4d_parse_json(over, strlen(over), &v, &err), DC_ERR_LIMIT);
    assert_string_equal(err.field, "volume/outline_polygon/vertices");
    free(ok);
    free(over);
}

static void test_operations(void **state)
{
    (void)state;
    dc_operation_t *ops;
    size_t n;
    dc_strategic_error_t err;
    const char *good = "[{\"id\":\"a\",\"party\":\"P\",\"priority\":3,\"state\":\"active\","
                       "\"volumes\":[" GOOD "," GOOD "]},"
                       "{\"id\":\"b\",\"party\":\"Q\",\"volumes\":[" GOOD "]}]";
    assert_int_equal(dc_operation_list_parse_json(good, strlen(good), 10, &ops, &n, &err), DC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ops[0].n_volumes, 2);
    assert_int_equal(ops[0].priority, 3);
    assert_int_equal(ops[0].state, DC_OP_ACTIVE);
    assert_int_equal(ops[1].priority, 0);
    assert_int_equal(ops[1].state, DC_OP_PLANNED);
    dc_operation_list_free(ops, n);

    struct {
        const char *json;
        dc_err_t rc;
        long op_index, volume_index;
        const char *field;
    } bad[] = {
        {"{}", DC_ERR_INVALID, -1, -1, ""},
        {"[{\"party\":\"P\",\"volumes\":[" GOOD "]}]", DC_ERR_INVALID, 0, -1, "id"},
        {"[{\"id\":\"\",\"party\":\"P\",\"volumes\":[" GOOD "]}]", DC_ERR_INVALID, 0, -1, "id"},
        {"[{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123\","
         "\"party\":\"P\",\"volumes\":[" GOOD "]}]",
         DC_ERR_LIMIT, 0, -1, "id"},
        {"[{\"id\":\"a\\u0001\",\"party\":\"P\",\"volumes\":[" GOOD "]}]", DC_ERR_INVALID, 0, -1,
         "id"},
        {"[{\"id\":\"a\",\"volumes\":[" GOOD "]}]", DC_ERR_INVALID, 0, -1, "party"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"priority\":1.5,\"volumes\":[" GOOD "]}]", DC_ERR_INVALID,
         0, -1, "priority"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"state\":\"flying\",\"volumes\":[" GOOD "]}]",
         DC_ERR_INVALID, 0, -1, "state"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"volumes\":[]}]", DC_ERR_INVALID, 0, -1, "volumes"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"volumes\":[" GOOD "]},"
         "{\"id\":\"b\",\"party\":\"P\",\"volumes\":[" GOOD "," VOL(
             POLY, ALT_L, "\"altitude_upper\":{\"value\":-1,\"reference\":\"W84\",\"units\":\"M\"}",
             T_S, T_E) "]}]",
         DC_ERR_INVALID, 1, 1, "volume/altitude_upper/value"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"volumes\":[" GOOD "]},"
         "{\"id\":\"a\",\"party\":\"Q\",\"volumes\":[" GOOD "]}]",
         DC_ERR_INVALID, 1, -1, "id"},
        {"[{\"id\":\"a\",\"party\":\"P\",\"volumes\":[" GOOD "],\"id\":\"b\"}]", DC_ERR_INVALID, -1,
         -1, ""}, /* duplicate key */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dc_err_t rc =
            dc_operation_list_parse_json(bad[i].json, strlen(bad[i].json), 10, &ops, &n, &err);
        printf("  op %ld vol %ld %-30s %s\n", err.op_index, err.volume_index, err.field,
               err.message);
        if (rc != bad[i].rc) fail_msg("case %zu: rc %d", i, rc);
        assert_null(ops);
        assert_int_equal(err.op_index, bad[i].op_index);
        assert_int_equal(err.volume_index, bad[i].volume_index);
        assert_string_equal(err.field, bad[i].field);
    }
    /* The list bound. */
    const char *two = "[{\"id\":\"a\",\"party\":\"P\",\"volumes\":[" GOOD "]},"
                      "{\"id\":\"b\",\"party\":\"P\",\"volumes\":[" GOOD "]}]";
    assert_int_equal(dc_operation_list_parse_json(two, strlen(two), 1, &ops, &n, &err),
                     DC_ERR_LIMIT);
}

static void test_volume_limit(void **state)
{
    (void)state;
    size_t n = DC_STRATEGIC_VOLUMES_MAX + 1, cap = n * (sizeof(GOOD) + 1) + 256;
    char *doc = malloc(cap), *p = doc;
    p += sprintf(p, "{\"id\":\"a\",\"party\":\"P\",\"volumes\":[");
    for (size_t i = 0; i < n; i++) p += sprintf(p, "%s%s", i ? "," : "", GOOD);
    sprintf(p, "]}");
    dc_operation_t op;
    dc_strategic_error_t err;
    assert_int_equal(dc_operation_parse_json(doc, strlen(doc), &op, &err), DC_ERR_LIMIT);
    assert_string_equal(err.field, "volumes");
    free(doc);
}

static void test_time_format(void **state)
{
    (void)state;
    double t;
    assert_int_equal(dc_time_parse_rfc3339("1970-01-01T00:00:00Z", &t), DC_OK);
    assert_near(t, 0, 0);
    assert_int_equal(dc_time_parse_rfc3339("2024-02-29T23:59:59.123456789-00:30", &t), DC_OK);
    assert_near(t, 1709251199.123456789 + 1800, 1e-6); /* 2024-03-01T00:00Z = 1709251200 */
    const char *bad[] = {"",
                         "2023-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-12-01T24:00:00Z",
                         "2026-12-01T12:00:00",
                         "2026-12-01T12:00:00Zjunk",
                         "2026-12-01T12:00:00.Z",
                         "1969-12-31T23:59:59Z",
                         "2026-12-01T12:00:00+2:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (dc_time_parse_rfc3339(bad[i], &t) == DC_OK) fail_msg("accepted '%s'", bad[i]);
    char buf[DC_TIME_RFC3339_MAX];
    assert_int_equal(dc_time_format_rfc3339(T_BASE_S + 0.25, buf, sizeof(buf)), DC_OK);
    assert_string_equal(buf, "2026-12-01T12:00:00.250000Z");
    assert_int_equal(dc_time_format_rfc3339(T_BASE_S, buf, sizeof(buf)), DC_OK);
    assert_string_equal(buf, "2026-12-01T12:00:00Z");
    assert_int_equal(dc_time_format_rfc3339(T_BASE_S, buf, 10), DC_ERR_LIMIT);
    assert_int_equal(dc_time_format_rfc3339(-1, buf, sizeof(buf)), DC_ERR_INVALID);
    /* Round trip over random instants. */
    test_rng_t rng = {test_seed("rfc3339 round trip", 17)};
    for (int i = 0; i < 10000; i++) {
        double s =
            floor(test_uniform(&rng) * 253402300799.0) + floor(test_uniform(&rng) * 1e6) / 1e6;
        assert_int_equal(dc_time_format_rfc3339(s, buf, sizeof(buf)), DC_OK);
        assert_int_equal(dc_time_parse_rfc3339(buf, &t), DC_OK);
        assert_near(t, s, 1e-6 * fmax(1, s / 1e9));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_volume_normalised), cmocka_unit_test(test_bad_volumes),
        cmocka_unit_test(test_vertex_limit),           cmocka_unit_test(test_operations),
        cmocka_unit_test(test_volume_limit),           cmocka_unit_test(test_time_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
