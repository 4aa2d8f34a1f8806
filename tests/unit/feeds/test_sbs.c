/* The SBS-1 reader: each message type, malformed lines refused (never a crash, never a poisoned
 * track), other record kinds told apart; and the real producer: every line of dump1090's output
 * for the ulss7 capture parses, and the tracks merged from it end where dump1090's own aircraft
 * list says (same addresses with positions, within 0.001 deg, same altitudes).
 *
 * usage: unit_feeds_sbs DATA_DIR */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "deconflict/sbs.h"

static const char *data_dir = "../shared/data";

static dc_err_t parse(const char *line, dc_sbs_msg_t *m)
{
    return dc_sbs_parse_line(line, strlen(line), m);
}

static void test_types(void **state)
{
    (void)state;
    dc_sbs_msg_t m;
    assert_int_equal(parse("MSG,1,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,"
                           "UTA470  ,,,,,,,,,,,0\r\n",
                           &m),
                     DC_OK);
    assert_int_equal(m.type, 1);
    assert_int_equal(m.icao, 0x424263);
    assert_string_equal(m.callsign, "UTA470");
    assert_true(m.has & DC_SBS_CALLSIGN);
    assert_true(m.has & DC_SBS_GROUND);
    assert_false(m.on_ground);
    /* 2026-11-22T04:10:41.680Z */
    assert_true(fabs(m.t_s - 1795320641.680) < 1e-6);
    assert_int_equal(parse("MSG,3,1,1,71BE34,1,2026/11/22,04:10:42.183,2026/11/22,04:10:42.183,,"
                           "35000,,,59.73459,31.99796,,,,,,0",
                           &m),
                     DC_OK);
    assert_true((m.has & (DC_SBS_ALT | DC_SBS_POS)) == (DC_SBS_ALT | DC_SBS_POS));
    assert_true(m.alt_ft == 35000 && fabs(m.lat_deg - 59.73459) < 1e-12 &&
                fabs(m.lon_deg - 31.99796) < 1e-12);
    assert_int_equal(parse("MSG,4,1,1,400159,1,2026/11/22,04:10:41.479,2026/11/22,04:10:41.479,,,"
                           "203,314,,,-640,,,,,",
                           &m),
                     DC_OK);
    assert_true(m.gs_kt == 203 && m.trk_deg == 314 && m.vs_fpm == -640);
    assert_false(m.has & DC_SBS_POS);
    assert_int_equal(parse("MSG,6,1,1,400159,1,2026/11/22,04:10:41.579,2026/11/22,04:10:41.579,,,"
                           ",,,,,1017,0,0,0,",
                           &m),
                     DC_OK);
    assert_int_equal(m.squawk, 1017);
    assert_int_equal(parse("MSG,8,1,1,400159,1,2026/11/22,04:10:41.278,2026/11/22,04:10:41.378,,,"
                           ",,,,,,,,,-1",
                           &m),
                     DC_OK);
    assert_true(m.on_ground);
    /* Trailing empty fields left out by some writers. */
    assert_int_equal(parse("MSG,7,1,1,504DD9,1,2026/11/22,04:10:41.479,2026/11/22,04:10:41.479,,"
                           "6425",
                           &m),
                     DC_OK);
    assert_true(m.alt_ft == 6425);
    assert_int_equal(
        parse("STA,,1,1,400159,1,2026/11/22,04:10:41.278,2026/11/22,04:10:41.378,RM", &m),
        DC_ERR_NOT_FOUND);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "MSG",
        "XYZ,1,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,A,,,,,,,,,,,0",
        "MSG,9,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,,,,,,,,,,,0",
        "MSG,3,1,1,42426,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,100,,,1,2,,,,,,0",
        "MSG,3,1,1,42426G,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,100,,,1,2,,,,,,0",
        "MSG,3,1,1,424263,1,2026/02/30,04:10:41.680,2026/11/22,04:10:41.680,,100,,,1,2,,,,,,0",
        "MSG,3,1,1,424263,1,2026/11/22,24:10:41.680,2026/11/22,04:10:41.680,,100,,,1,2,,,,,,0",
        "MSG,3,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,100,,,91,2,,,,,,0",
        "MSG,3,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,100,,,1,,,,,,,0",
        "MSG,3,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,1e3,,,1,2,,,,,,0",
        "MSG,3,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,nan,,,1,2,,,,,,0",
        "MSG,4,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,,203,361,,,0,,,,,",
        "MSG,1,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,TOOLONGCS,,,,,,,,,,,0",
        "MSG,1,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,ab\"c,,,,,,,,,,,0",
        "MSG,1,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,AB 123,,,,,,,,,,,0",
        "MSG,6,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/22,04:10:41.680,,,,,,,,12345,,,,",
        "MSG,3,1,1,424263,1,2026/11/22,04:10:41.680,2026/11/"
        "22,04:10:41.680,,100,,,1,2,,,,,,0,extra",
    };
    dc_sbs_msg_t m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &m) != DC_ERR_INVALID) fail_msg("accepted: %s", bad[i]);
    }
    char longline[DC_SBS_LINE_MAX + 10];
    memset(longline, 'A', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    assert_int_equal(parse(longline, &m), DC_ERR_INVALID);
}

static void test_merge(void **state)
{
    (void)state;
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    dc_sbs_msg_t m;
    dc_track_state_t st;
    char cs[9];
    const char *lines[] = {
        "MSG,1,1,1,ABC123,1,2026/11/22,10:00:00.000,2026/11/22,10:00:00.000,TEST01  ,,,,,,,,,,,0",
        "MSG,3,1,1,ABC123,1,2026/11/22,10:00:01.000,2026/11/"
        "22,10:00:01.000,,30000,,,50.0,8.0,,,,,,0",
        "MSG,4,1,1,ABC123,1,2026/11/22,10:00:02.000,2026/11/22,10:00:02.000,,,450,90,,,-500,,,,,0",
        "MSG,3,1,1,ABC123,1,2026/11/22,10:00:03.000,2026/11/"
        "22,10:00:03.000,,29975,,,50.0,8.01,,,,,,0",
        "MSG,3,1,1,ABC123,1,2026/11/22,10:00:02.500,2026/11/"
        "22,10:00:02.500,,29990,,,51.0,9.0,,,,,,0",
        "MSG,3,1,1,ABC123,1,2026/11/22,10:00:20.000,2026/11/"
        "22,10:00:20.000,,29000,,,50.0,8.2,,,,,,0",
    };
    bool emitted[6];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(parse(lines[i], &m), DC_OK);
        emitted[i] = dc_sbs_tracker_apply(tr, &m, &st, cs);
        if (i == 3) {
            assert_string_equal(st.id, "ABC123");
            assert_string_equal(cs, "TEST01");
            assert_true(st.alt_ft == 29975 && st.gs_kt == 450 && st.vs_fpm == -500);
        }
    }
    assert_false(emitted[1]); /* no velocity yet */
    assert_true(emitted[3]);
    assert_false(emitted[4]); /* an older position than the one held */
    assert_false(emitted[5]); /* velocity 18 s old: not fresh */
    /* On the ground: no state, even with everything fresh; airborne again: states. */
    const char *ground[] = {
        "MSG,4,1,1,ABC123,1,2026/11/22,10:00:21.000,2026/11/22,10:00:21.000,,,20,90,,,0,,,,,-1",
        "MSG,2,1,1,ABC123,1,2026/11/22,10:00:22.000,2026/11/"
        "22,10:00:22.000,,,20,90,50.0,8.2,,,,,,-1",
        "MSG,3,1,1,ABC123,1,2026/11/22,10:00:23.000,2026/11/"
        "22,10:00:23.000,,1000,,,50.0,8.2,,,,,,0",
    };
    bool g[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(parse(ground[i], &m), DC_OK);
        g[i] = dc_sbs_tracker_apply(tr, &m, &st, cs);
    }
    assert_false(g[1]);
    assert_true(g[2] && st.alt_ft == 1000);
    assert_int_equal(dc_sbs_tracker_count(tr), 1);
    assert_int_equal(dc_sbs_tracker_expire(tr, m.t_s + 30), 0);
    assert_int_equal(dc_sbs_tracker_expire(tr, m.t_s + 61), 1);
    assert_int_equal(dc_sbs_tracker_count(tr), 0);
    dc_sbs_tracker_free(tr);
}

typedef struct held {
    const dc_sbs_aircraft_t *list[256];
    size_t n;
} held_t;

static void collect(const dc_sbs_aircraft_t *a, void *ctx)
{
    held_t *h = ctx;
    if (h->n < 256) h->list[h->n++] = a;
}

/* dump1090's own output of a real capture, against dump1090's own aircraft list. */
/* A source sending more addresses than the tracker holds: it stays at DC_SBS_TRACKER_MAX, and
 * an aircraft whose messages come after still makes a state. */
static void test_tracker_bound(void **state)
{
    (void)state;
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    dc_track_state_t st;
    char cs[9];
    dc_sbs_msg_t m = {.type = 1, .has = DC_SBS_CALLSIGN, .t_s = 1000};
    snprintf(m.callsign, sizeof(m.callsign), "FLOOD");
    for (uint32_t i = 0; i < DC_SBS_TRACKER_MAX + 1000; i++) {
        m.icao = 0x100000 + i;
        assert_false(dc_sbs_tracker_apply(tr, &m, &st, cs));
    }
    assert_int_equal(dc_sbs_tracker_count(tr), DC_SBS_TRACKER_MAX);
    dc_sbs_msg_t vel = {.type = 4,
                        .icao = 0xABCDEF,
                        .t_s = 1001,
                        .has = DC_SBS_GS | DC_SBS_TRK,
                        .gs_kt = 400,
                        .trk_deg = 90};
    dc_sbs_msg_t pos = {.type = 3,
                        .icao = 0xABCDEF,
                        .t_s = 1002,
                        .has = DC_SBS_POS | DC_SBS_ALT,
                        .lat_deg = 47,
                        .lon_deg = 8,
                        .alt_ft = 35000};
    assert_false(dc_sbs_tracker_apply(tr, &vel, &st, cs));
    assert_true(dc_sbs_tracker_apply(tr, &pos, &st, cs));
    assert_string_equal(st.id, "ABCDEF");
    assert_int_equal(dc_sbs_tracker_count(tr), DC_SBS_TRACKER_MAX);
    dc_sbs_tracker_free(tr);
}

static void test_dump1090_output(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/dump1090/ulss7_sbs_output.txt", data_dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 1e9);
    char line[1024];
    size_t lines = 0, bad = 0, states = 0;
    while (fgets(line, sizeof(line), f)) {
        dc_sbs_msg_t m;
        dc_track_state_t st;
        char cs[9];
        lines++;
        if (dc_sbs_parse_line(line, strlen(line), &m) != DC_OK) {
            bad++;
            continue;
        }
        if (dc_sbs_tracker_apply(tr, &m, &st, cs)) {
            states++;
            assert_int_equal(dc_track_state_validate(&st, NULL), DC_OK);
        }
    }
    fclose(f);
    printf("[ info ] %zu lines, %zu malformed, %zu states, %zu aircraft\n", lines, bad, states,
           dc_sbs_tracker_count(tr));
    assert_int_equal(lines, 8622);
    assert_int_equal(bad, 0);
    assert_true(states > 100);
    snprintf(path, sizeof(path), "%s/dump1090/ulss7_aircraft.json", data_dir);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    held_t h = {.n = 0};
    dc_sbs_tracker_each(tr, collect, &h);
    size_t i, checked = 0;
    json_t *a;
    json_array_foreach(json_object_get(root, "aircraft"), i, a)
    {
        if (!json_object_get(a, "lat")) continue;
        uint32_t icao = (uint32_t)strtoul(json_string_value(json_object_get(a, "hex")), NULL, 16);
        const dc_sbs_aircraft_t *ours = NULL;
        for (size_t k = 0; k < h.n; k++)
            if (h.list[k]->icao == icao) ours = h.list[k];
        if (!ours || !ours->has_pos) fail_msg("%06X: dump1090 has a position, we do not", icao);
        double dlat = fabs(ours->lat_deg - json_number_value(json_object_get(a, "lat")));
        double dlon = fabs(ours->lon_deg - json_number_value(json_object_get(a, "lon")));
        if (dlat > 0.001 || dlon > 0.001)
            fail_msg("%06X: position differs by %.5f, %.5f deg", icao, dlat, dlon);
        if (ours->alt_ft != json_number_value(json_object_get(a, "altitude")))
            fail_msg("%06X: altitude %.0f, dump1090 %.0f", icao, ours->alt_ft,
                     json_number_value(json_object_get(a, "altitude")));
        checked++;
    }
    printf("[ info ] %zu aircraft with positions agree with dump1090's aircraft list\n", checked);
    assert_true(checked >= 10);
    json_decref(root);
    dc_sbs_tracker_free(tr);
}

int main(int argc, char **argv)
{
    if (argc > 1) data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),           cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_merge),           cmocka_unit_test(test_tracker_bound),
        cmocka_unit_test(test_dump1090_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
