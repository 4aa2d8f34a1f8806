/* ASTERIX: records encoded and decoded back agree with what went in, within each format's
 * resolution (random records, CAT021, CAT062 and CAT004); malformed blocks are refused with the
 * item named and yield no record, cut at every length (never a crash, never a record read past
 * the block); the single-record vectors decode to the values their decoders' own tests hold;
 * records become the SBS reader's messages and the tracker's states.
 *
 * usage: unit_feeds_asterix DATA_DIR */
#include "testutil.h"

#include "deconflict/asterix.h"

static const char *data_dir = "../shared/data";

typedef struct collected {
    dc_asterix_record_t rec[64];
    size_t n;
} collected_t;

static void collect(const dc_asterix_record_t *r, void *ctx)
{
    collected_t *c = ctx;
    if (c->n < 64) c->rec[c->n] = *r;
    c->n++;
}

/* Decodes a copy of the len octets at p held in a buffer of exactly len octets. */
static dc_err_t decode_exact(const uint8_t *p, size_t len, const dc_asterix_config_t *cfg,
                             collected_t *out, size_t *used, char msg[160])
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    dc_err_t e = dc_asterix_decode_block(copy, len, cfg, collect, out, used, msg, 160);
    free(copy);
    return e;
}

static dc_asterix_record_t random_record(test_rng_t *rng, int cat)
{
    dc_asterix_record_t r;
    memset(&r, 0, sizeof(r));
    r.cat = cat;
    r.sac = (int)(test_uniform(rng) * 256), r.sic = (int)(test_uniform(rng) * 256);
    r.has = DC_ASTERIX_TOD | DC_ASTERIX_POS | DC_ASTERIX_TRACK;
    r.tod_s = floor(test_uniform(rng) * 86400 * 128) / 128;
    r.lat_deg = test_uniform(rng) * 180 - 90, r.lon_deg = test_uniform(rng) * 360 - 180;
    r.track_number = (int)(test_uniform(rng) * (cat == 21 ? 4096 : 65536));
    static const char *const cs[] = {"SWR123", "A", "EZY12AB", "RYR5XW  ", "DLH9CK", "B 1"};
    if (test_uniform(rng) < 0.7) {
        snprintf(r.callsign, sizeof(r.callsign), "%s", cs[(int)(test_uniform(rng) * 6)]);
        r.has |= DC_ASTERIX_CALLSIGN;
    }
    if (cat == 4) {
        r.msg_type = DC_ASTERIX_CAT004_STCA;
        r.has |= DC_ASTERIX_TRACK2 | DC_ASTERIX_TIMING | DC_ASTERIX_ALERT;
        r.track_number_2 = (int)(test_uniform(rng) * 65536);
        r.alert_id = (int)(test_uniform(rng) * 65536),
        r.alert_status = (int)(test_uniform(rng) * 4);
        r.time_to_conflict_s = floor(test_uniform(rng) * 300 * 128) / 128;
        r.time_to_cpa_s = r.time_to_conflict_s + 10;
        r.cpa_h_nm = test_uniform(rng) * 5, r.cpa_v_ft = floor(test_uniform(rng) * 40) * 25;
        r.fl = floor(test_uniform(rng) * 1600) / 4, r.has |= DC_ASTERIX_FL;
        r.callsign[7] = 0; /* CAT004 carries 7 characters */
        if (test_uniform(rng) < 0.5)
            r.has_second = true, snprintf(r.callsign_2, 8, "%s", cs[(int)(test_uniform(rng) * 6)]);
        return r;
    }
    r.has |= DC_ASTERIX_ADDR | DC_ASTERIX_FL | DC_ASTERIX_VEL | DC_ASTERIX_VS | DC_ASTERIX_MODE3A;
    r.addr = (uint32_t)(test_uniform(rng) * 0x1000000);
    r.fl = floor(test_uniform(rng) * 1515 * 4) / 4 - 15;
    r.gs_kt = test_uniform(rng) * 2000, r.trk_deg = test_uniform(rng) * 360;
    r.vs_fpm = test_uniform(rng) * 120000 - 60000;
    r.mode3a = (int)(test_uniform(rng) * 4096);
    if (test_uniform(rng) < 0.5)
        r.geo_alt_ft = floor(test_uniform(rng) * 8000) * 6.25, r.has |= DC_ASTERIX_GEO_ALT;
    return r;
}

static double angle_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 360);
    return d > 180 ? 360 - d : d;
}

/* Random records through a block and back, against the format's resolution. */
static void test_round_trip(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("asterix round trip", 20261203) | 1};
    static const int cats[] = {21, 62, 4};
    for (int c = 0; c < 3; c++) {
        int cat = cats[c];
        /* Position resolution: I021/131 180/2^30, I062/105 and I004/170 180/2^25. */
        double pos_tol = (cat == 21 ? 180.0 / (1u << 30) : 180.0 / (1 << 25)) / 2 + 1e-12;
        for (int round = 0; round < 200; round++) {
            static dc_asterix_block_t blk;
            dc_asterix_block_start(&blk, cat, 1400);
            dc_asterix_record_t in[40];
            size_t n = 0;
            char msg[128];
            while (n < 40) {
                in[n] = random_record(&rng, cat);
                dc_err_t e = dc_asterix_block_add(&blk, &in[n], msg, sizeof(msg));
                if (e == DC_ERR_LIMIT) break;
                if (e != DC_OK) fail_msg("CAT%03d record refused: %s", cat, msg);
                n++;
            }
            assert_true(n >= 3);
            collected_t out = {.n = 0};
            size_t used;
            assert_int_equal(dc_asterix_decode_block(blk.buf, blk.len, NULL, collect, &out, &used,
                                                     msg, sizeof(msg)),
                             DC_OK);
            assert_int_equal(used, blk.len);
            assert_int_equal(out.n, n);
            for (size_t i = 0; i < n; i++) {
                const dc_asterix_record_t *a = &in[i], *b = &out.rec[i];
                assert_int_equal(b->cat, cat);
                assert_int_equal(b->sac, a->sac);
                assert_int_equal(b->sic, a->sic);
                assert_near(b->tod_s, a->tod_s, 1e-9);
                assert_true(b->has & DC_ASTERIX_POS || cat == 4);
                if (b->has & DC_ASTERIX_POS) {
                    assert_near(b->lat_deg, a->lat_deg, pos_tol);
                    assert_near(b->lon_deg, a->lon_deg, pos_tol);
                }
                assert_int_equal(b->track_number, a->track_number);
                char want[9];
                snprintf(want, sizeof(want), "%s", a->has & DC_ASTERIX_CALLSIGN ? a->callsign : "");
                for (int k = (int)strlen(want) - 1; k >= 0 && want[k] == ' '; k--) want[k] = 0;
                assert_string_equal(b->callsign, want);
                if (cat == 4) {
                    assert_int_equal(b->msg_type, DC_ASTERIX_CAT004_STCA);
                    assert_int_equal(b->track_number_2, a->track_number_2);
                    assert_int_equal(b->alert_id, a->alert_id);
                    assert_int_equal(b->alert_status, a->alert_status);
                    assert_near(b->time_to_conflict_s, a->time_to_conflict_s, 1e-9);
                    assert_near(b->time_to_cpa_s, a->time_to_cpa_s, 1e-9);
                    assert_near(b->fl, a->fl, 1e-9);
                    assert_int_equal(b->has_second, a->has_second);
                    if (a->has_second) {
                        char want2[9];
                        snprintf(want2, sizeof(want2), "%s", a->callsign_2);
                        for (int k = (int)strlen(want2) - 1; k >= 0 && want2[k] == ' '; k--)
                            want2[k] = 0;
                        assert_string_equal(b->callsign_2, want2);
                    }
                    assert_near(b->cpa_h_nm, a->cpa_h_nm, 0.25 / 1852 + 1e-12);
                    assert_near(b->cpa_v_ft, a->cpa_v_ft, 1e-9);
                    continue;
                }
                assert_int_equal(b->addr, a->addr);
                assert_near(b->fl, a->fl, 1e-9);
                assert_int_equal(b->mode3a, cat == 21 || cat == 62 ? a->mode3a : b->mode3a);
                /* Speeds: I021/160 2^-14 NM/s; I062/185 0.25 m/s per component. */
                double gs_tol = cat == 21 ? 3600.0 / (1 << 14) : 0.25 * 3600 / 1852 * 0.75;
                assert_near(b->gs_kt, a->gs_kt, gs_tol);
                if (a->gs_kt > 50)
                    assert_true(angle_diff(b->trk_deg, a->trk_deg) < (cat == 21 ? 0.003 : 0.3));
                assert_near(b->vs_fpm, a->vs_fpm, 3.125 + 1e-9);
                if (a->has & DC_ASTERIX_GEO_ALT) assert_near(b->geo_alt_ft, a->geo_alt_ft, 1e-9);
            }
        }
    }
}

/* Every cut of a valid block is incomplete or invalid, never a record; a flipped octet never
 * reads past the block (ASan checks) and a refused block names an item. */
static void test_malformed(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("asterix malformed", 7) | 1};
    static dc_asterix_block_t blk;
    dc_asterix_block_start(&blk, 62, 600);
    char msg[160];
    for (int i = 0; i < 5; i++) {
        dc_asterix_record_t r = random_record(&rng, 62);
        assert_int_equal(dc_asterix_block_add(&blk, &r, msg, sizeof(msg)), DC_OK);
    }
    /* Every decode below is of a buffer exactly as long as the octets given (decode_exact), so
     * that ASan sees any read past them. */
    uint8_t buf[700];
    for (size_t cut = 0; cut < blk.len; cut++) {
        collected_t out = {.n = 0};
        size_t used;
        dc_err_t e = decode_exact(blk.buf, cut, NULL, &out, &used, msg);
        assert_true(e == DC_ERR_INCOMPLETE);
        assert_int_equal(out.n, 0);
        /* The same octets with LEN saying so: a record runs past the block. */
        memcpy(buf, blk.buf, cut);
        if (cut < 3) continue;
        buf[1] = (uint8_t)(cut >> 8), buf[2] = (uint8_t)cut;
        e = decode_exact(buf, cut, NULL, &out, &used, msg);
        if (cut == 3) {
            assert_int_equal(e, DC_ERR_INVALID); /* no record */
            continue;
        }
        /* A cut exactly at a record boundary is a valid shorter block. */
        if (e == DC_OK) continue;
        assert_int_equal(e, DC_ERR_INVALID);
        assert_int_equal(out.n, 0);
        assert_true(strstr(msg, "062") != NULL);
    }
    /* Octets flipped in blocks of every category, CAT021 read under each edition. */
    static const int cats[] = {21, 62, 4};
    for (int c = 0; c < 3; c++) {
        static dc_asterix_block_t b2;
        dc_asterix_block_start(&b2, cats[c], 600);
        for (int i = 0; i < 4; i++) {
            dc_asterix_record_t r = random_record(&rng, cats[c]);
            assert_int_equal(dc_asterix_block_add(&b2, &r, msg, sizeof(msg)), DC_OK);
        }
        for (int k = 0; k < 20000; k++) {
            memcpy(buf, b2.buf, b2.len);
            buf[3 + (size_t)(test_uniform(&rng) * (b2.len - 3))] ^=
                (uint8_t)(1 + test_uniform(&rng) * 255);
            dc_asterix_config_t cfg = {.cat021_edition = (dc_asterix_cat021_edition_t)(k % 3)};
            collected_t out = {.n = 0};
            size_t used;
            dc_err_t e = decode_exact(buf, b2.len, &cfg, &out, &used, msg);
            assert_true(e == DC_OK || e == DC_ERR_INVALID);
            if (e != DC_OK) assert_int_equal(out.n, 0);
        }
    }
    /* LEN under 3; a spare FRN (CAT062 FRN 2); an unknown category is skipped whole. */
    uint8_t short_len[] = {62, 0, 2};
    size_t used;
    assert_int_equal(
        dc_asterix_decode_block(short_len, 3, NULL, NULL, NULL, &used, msg, sizeof(msg)),
        DC_ERR_INVALID);
    assert_non_null(strstr(msg, "LEN"));
    uint8_t spare[] = {62, 0, 6, 0x40, 0, 0};
    assert_int_equal(dc_asterix_decode_block(spare, 6, NULL, NULL, NULL, &used, msg, sizeof(msg)),
                     DC_ERR_INVALID);
    assert_non_null(strstr(msg, "spare"));
    uint8_t other[] = {34, 0, 5, 0x80, 1, 99};
    assert_int_equal(dc_asterix_decode_block(other, 6, NULL, NULL, NULL, &used, msg, sizeof(msg)),
                     DC_ERR_NOT_FOUND);
    assert_int_equal(used, 5);
    /* An explicit item with a length of 0 (I062/SP). */
    uint8_t sp0[] = {62, 0, 9, 0x81, 0x01, 0x01, 0x01, 0x02, 0x00};
    assert_int_equal(dc_asterix_decode_block(sp0, 9, NULL, NULL, NULL, &used, msg, sizeof(msg)),
                     DC_ERR_INVALID);
    /* A datagram: one good block, then a block whose LEN runs past the datagram. */
    uint8_t dg[700];
    memcpy(dg, blk.buf, blk.len);
    dg[blk.len] = 62, dg[blk.len + 1] = 0, dg[blk.len + 2] = 50;
    dc_asterix_stats_t st = {0};
    collected_t out = {.n = 0};
    assert_int_equal(
        dc_asterix_decode_datagram(dg, blk.len + 10, NULL, collect, &out, &st, msg, sizeof(msg)),
        DC_ERR_INVALID);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.bad_blocks, 1);
    assert_int_equal(out.n, 5);
}

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/asterix/%s", data_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* The vectors' values as their decoders' own tests hold them (README of the data folder). */
static void test_vectors(void **state)
{
    (void)state;
    uint8_t buf[4096];
    char msg[160];
    dc_asterix_stats_t st = {0};
    collected_t out = {.n = 0};
    dc_asterix_config_t cfg = {.cat021_edition = DC_ASTERIX_CAT021_V026};
    size_t n = read_file("jasterix_vectors/cat021ed0.26.bin", buf, sizeof(buf));
    assert_int_equal(dc_asterix_decode_datagram(buf, n, &cfg, collect, &out, &st, msg, sizeof(msg)),
                     DC_OK);
    assert_int_equal(out.n, 1);
    const dc_asterix_record_t *r = &out.rec[0];
    assert_int_equal(r->sac, 0);
    assert_int_equal(r->sic, 5);
    assert_near(r->tod_s, 14418.484375, 1e-9);
    assert_near(r->lat_deg, 38.777323365211487, 1e-12);
    assert_near(r->lon_deg, -9.131237268447876, 1e-12);
    assert_int_equal(r->addr, 0x496c2e);

    out.n = 0;
    n = read_file("jasterix_vectors/cat004ed1.4.bin", buf, sizeof(buf));
    assert_int_equal(dc_asterix_decode_datagram(buf, n, NULL, collect, &out, &st, msg, sizeof(msg)),
                     DC_OK);
    assert_int_equal(out.n, 3);
    assert_int_equal(out.rec[0].msg_type, DC_ASTERIX_CAT004_ALIVE);
    assert_int_equal(out.rec[2].msg_type, DC_ASTERIX_CAT004_STCA);
    assert_int_equal(out.rec[2].track_number, 3130);
    assert_int_equal(out.rec[2].track_number_2, 2417);
}

/* Records into messages and through the SBS tracker into states; an addressless track into a
 * state of its own; simulated, test and ended targets into nothing. */
static void test_states(void **state)
{
    (void)state;
    dc_asterix_record_t r;
    memset(&r, 0, sizeof(r));
    r.cat = 62, r.sac = 6, r.sic = 128;
    r.has = DC_ASTERIX_TOD | DC_ASTERIX_ADDR | DC_ASTERIX_POS | DC_ASTERIX_FL | DC_ASTERIX_VEL |
            DC_ASTERIX_CALLSIGN | DC_ASTERIX_TRACK;
    r.addr = 0x406ec8, r.lat_deg = 49.28, r.lon_deg = 6.49, r.fl = 260, r.gs_kt = 433,
    r.trk_deg = 332;
    r.track_number = 7733;
    snprintf(r.callsign, sizeof(r.callsign), "BCS4907");
    dc_sbs_msg_t m[3];
    size_t n = dc_asterix_to_messages(&r, 1000, m);
    assert_int_equal(n, 3);
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    dc_track_state_t st;
    char cs[9];
    bool got = false;
    for (size_t i = 0; i < n; i++) got = dc_sbs_tracker_apply(tr, &m[i], &st, cs);
    assert_true(got);
    assert_string_equal(st.id, "406EC8");
    assert_string_equal(cs, "BCS4907");
    assert_near(st.alt_ft, 26000, 1e-9);
    assert_near(st.t_s, 1000, 1e-9);
    dc_sbs_tracker_free(tr);
    assert_false(dc_asterix_track_state(&r, 1000, &st, cs)); /* it has an address */
    r.has &= ~(unsigned)DC_ASTERIX_ADDR;
    assert_int_equal(dc_asterix_to_messages(&r, 1000, m), 0);
    assert_true(dc_asterix_track_state(&r, 1000, &st, cs));
    assert_string_equal(st.id, "T0680-1E35");
    r.has |= DC_ASTERIX_ADDR;
    unsigned flags[] = {DC_ASTERIX_SIMULATED, DC_ASTERIX_TEST, DC_ASTERIX_ENDED};
    for (int i = 0; i < 3; i++) {
        r.flags = flags[i];
        assert_int_equal(dc_asterix_to_messages(&r, 1000, m), 0);
    }
    /* Coasting: the callsign only, no extrapolated position; no addressless state either. */
    r.flags = DC_ASTERIX_COASTING;
    assert_int_equal(dc_asterix_to_messages(&r, 1000, m), 1);
    assert_int_equal(m[0].type, 1);
    r.has &= ~(unsigned)DC_ASTERIX_ADDR;
    assert_false(dc_asterix_track_state(&r, 1000, &st, cs));
    r.has |= DC_ASTERIX_ADDR;
    r.flags = 0;
    /* CAT021 2.x: a report the ground station calls suspect (I021/040 CL = 1) gives no position;
     * the same report with CL = 0 does. 010 040 071 131 080 145. */
    uint8_t b21[] = {21,   0,    26,   0xCB, 0x11, 0x02, 0,    1,    0x01, 0x02, 0,    0x10, 0,
                     0x10, 0x00, 0x00, 0x00, 0x05, 0x55, 0x55, 0x55, 0x40, 0x6e, 0xc8, 0x05, 0x78};
    for (int suspect = 1; suspect >= 0; suspect--) {
        b21[9] = suspect ? 0x02 : 0x00;
        collected_t out = {.n = 0};
        size_t used;
        char msg[160];
        assert_int_equal(
            dc_asterix_decode_block(b21, sizeof(b21), NULL, collect, &out, &used, msg, sizeof(msg)),
            DC_OK);
        assert_int_equal(out.n, 1);
        assert_true(out.rec[0].has & DC_ASTERIX_POS);
        assert_int_equal(!!(out.rec[0].flags & DC_ASTERIX_SUSPECT), suspect);
        size_t k = dc_asterix_to_messages(&out.rec[0], 1000, m);
        assert_int_equal(k, suspect ? 0 : 1);
    }
    /* CAT021 0.23's I021/165 is one FX-extended octet: an FX of 0 ends it (010 165). */
    uint8_t b023[] = {21, 0, 9, 0x81, 0x01, 0x20, 0, 1, 0x40}; /* FRN 1 and 17 */
    {
        collected_t out = {.n = 0};
        size_t used;
        char msg[160];
        dc_asterix_config_t c023 = {.cat021_edition = DC_ASTERIX_CAT021_V023};
        assert_int_equal(dc_asterix_decode_block(b023, sizeof(b023), &c023, collect, &out, &used,
                                                 msg, sizeof(msg)),
                         DC_OK);
        assert_int_equal(out.n, 1);
    }
    /* A time of day placed on the day nearest the reference. */
    double ref = 1533168000; /* 2018-08-02T00:00:00Z */
    assert_near(dc_asterix_tod_to_unix(86399, ref + 5), ref - 1, 1e-9);
    assert_near(dc_asterix_tod_to_unix(3, ref - 5), ref + 3, 1e-9);
    assert_near(dc_asterix_tod_to_unix(43000, ref + 100), ref + 43000, 1e-9);
}

/* Encoding refuses what its format cannot carry, naming the field. */
static void test_encode_ranges(void **state)
{
    (void)state;
    static dc_asterix_block_t blk;
    char msg[160];
    test_rng_t rng = {99};
    dc_asterix_record_t r = random_record(&rng, 21);
    dc_asterix_block_start(&blk, 21, 1400);
    r.track_number = 4096;
    assert_int_equal(dc_asterix_block_add(&blk, &r, msg, sizeof(msg)), DC_ERR_INVALID);
    assert_non_null(strstr(msg, "track_number"));
    r.track_number = 1, r.lat_deg = 91;
    assert_int_equal(dc_asterix_block_add(&blk, &r, msg, sizeof(msg)), DC_ERR_INVALID);
    assert_non_null(strstr(msg, "lat"));
    r.lat_deg = 1, r.tod_s = 86400;
    assert_int_equal(dc_asterix_block_add(&blk, &r, msg, sizeof(msg)), DC_ERR_INVALID);
    assert_non_null(strstr(msg, "tod_s"));
    r.tod_s = 1, r.has |= DC_ASTERIX_CALLSIGN;
    snprintf(r.callsign, sizeof(r.callsign), "ab-1");
    assert_int_equal(dc_asterix_block_add(&blk, &r, msg, sizeof(msg)), DC_ERR_INVALID);
    assert_non_null(strstr(msg, "callsign"));
    assert_int_equal(blk.records, 0);
    assert_int_equal(blk.len, 3);
}

int main(int argc, char **argv)
{
    if (argc > 1) data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_vectors),       cmocka_unit_test(test_states),
        cmocka_unit_test(test_encode_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
