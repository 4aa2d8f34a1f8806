/* CSV readers: header recognition, row parsing, and an error naming the field for each way a
 * row can be wrong. */
#include "testutil.h"

#include "deconflict/trackcsv.h"

static void test_headers(void **state)
{
    (void)state;
    dc_trackcsv_format_t f;
    char msg[256];
    assert_int_equal(
        dc_trackcsv_header("id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\r\n", &f, msg, sizeof(msg)),
        DC_OK);
    assert_int_equal(f, DC_TRACKCSV_STATES);
    assert_int_equal(
        dc_trackcsv_header("t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n", &f, msg,
                           sizeof(msg)),
        DC_OK);
    assert_int_equal(f, DC_TRACKCSV_TRAFFIC);
    assert_int_equal(dc_trackcsv_header("id,lat,lon,alt,gs_kt,trk_deg,vs_fpm", &f, msg, 256),
                     DC_ERR_INVALID);
    assert_non_null(strstr(msg, "header"));
    assert_int_equal(dc_trackcsv_header("", &f, msg, sizeof(msg)), DC_ERR_INVALID);
}

static void test_rows(void **state)
{
    (void)state;
    dc_track_state_t st;
    char cs[DC_CALLSIGN_MAX], msg[256];
    assert_int_equal(dc_trackcsv_row(DC_TRACKCSV_STATES, "AB1,46.5,7.25,35000,450.5,359.9,-500\n",
                                     &st, NULL, msg, sizeof(msg)),
                     DC_OK);
    assert_string_equal(st.id, "AB1");
    assert_true(st.lat_deg == 46.5 && st.lon_deg == 7.25 && st.alt_ft == 35000);
    assert_true(st.gs_kt == 450.5 && st.trk_deg == 359.9 && st.vs_fpm == -500 && st.t_s == 0);
    assert_int_equal(dc_trackcsv_row(DC_TRACKCSV_TRAFFIC,
                                     "1533099600.5,4067f2,TOM2XE,46.679232,10.202179,38000,438.1,"
                                     "360,\r\n",
                                     &st, cs, msg, sizeof(msg)),
                     DC_OK);
    assert_string_equal(cs, "TOM2XE");
    assert_string_equal(st.id, "4067f2");
    assert_true(st.t_s == 1533099600.5 && st.trk_deg == 0.0 && st.vs_fpm == 0.0);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    static const struct {
        dc_trackcsv_format_t fmt;
        const char *line, *want;
        dc_err_t err;
    } bad[] = {
        {DC_TRACKCSV_STATES, "A,95,7,35000,450,90,0", "field 'lat': '95' out of range",
         DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,35000,fast,90,0", "field 'gs_kt': 'fast' is not a number",
         DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,35000,450,,0", "field 'trk_deg' is empty", DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,35000,450,90", "6 fields, want 7", DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,35000,450,90,0,1", "8 fields, want 7", DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, ",45,7,35000,450,90,0", "field 'id'", DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,nan,450,90,0", "field 'alt_ft': 'nan' is not a number",
         DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,7,35000,450,90,1e400", "field 'vs_fpm'", DC_ERR_INVALID},
        {DC_TRACKCSV_STATES, "A,45,-181,35000,450,90,0", "field 'lon'", DC_ERR_INVALID},
        {DC_TRACKCSV_TRAFFIC, "1,abc,X,45,7,,450,90,0", "field 'alt_ft' is empty",
         DC_ERR_INCOMPLETE},
        {DC_TRACKCSV_TRAFFIC, ",abc,X,45,7,100,450,90,0", "field 't_unix'", DC_ERR_INCOMPLETE},
        {DC_TRACKCSV_TRAFFIC, "1,abc,CALLSIGNTOOLONG1,45,7,100,450,90,0", "field 'callsign'",
         DC_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dc_track_state_t st;
        char msg[256] = "";
        dc_err_t err = dc_trackcsv_row(bad[i].fmt, bad[i].line, &st, NULL, msg, sizeof(msg));
        if (err != bad[i].err || !strstr(msg, bad[i].want)) {
            print_error("'%s': got %d '%s', want %d '%s'\n", bad[i].line, err, msg, bad[i].err,
                        bad[i].want);
            fail();
        }
    }
}

static void test_line_length_limit(void **state)
{
    (void)state;
    char line[DC_TRACKCSV_LINE_MAX + 16], msg[128];
    memset(line, '1', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    dc_track_state_t st;
    assert_int_equal(dc_trackcsv_row(DC_TRACKCSV_STATES, line, &st, NULL, msg, sizeof(msg)),
                     DC_ERR_INVALID);
    assert_non_null(strstr(msg, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_line_length_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
