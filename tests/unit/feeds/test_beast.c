/* The Beast reader and the Mode S decoder behind it (include/deconflict/beast.h):
 *
 *   - the CRC on real frames, and every single-bit error of one found;
 *   - NL() at each of its 58 transition latitudes, and against the arc-cosine formula elsewhere;
 *   - CPR: the worked examples of Junzi Sun's "The 1090 Megahertz Riddle" (airborne global and
 *     local, surface), a zone-crossing pair refused, and randomised round trips through a slow
 *     encoder written from DO-260B A.1.7 (global, local, surface), seed printed;
 *   - the messages: the Riddle's identification and velocity examples, 22 Gillham altitudes as
 *     dump1090-mutability decodes them, values out of range dropped and counted;
 *   - the decoder's state: pairs too far apart, a jump rejected and a wrong position outvoted,
 *     expiry, the table's bound;
 *   - the framing: escapes, a stream cut at every byte, garbage, unknown types, frames cut short,
 *     the clock (t0, jitter, a restart, the 48-bit wrap);
 *   - agreement with dump1090 (Debian's dump1090-mutability 1.15) on the same recordings: every
 *     position, altitude, callsign and velocity of its SBS output for the ulss7 Beast capture and
 *     for the rs1090 Atlanta messages, and its final aircraft list through the SBS tracker; the
 *     Toulouse capture's positions near Toulouse;
 *   - single-bit error correction: every intact DF17/18 of the recordings with each of its bits
 *     flipped (repaired to the original outside the DF field, not in it); every 2-, 3- and 4-bit
 *     error pattern never taken for one bit, and 2-bit errors on real frames refused; a frame
 *     that reads DF17/18 through a flipped DF bit not repaired; the guard (a repaired frame only
 *     from an address whose position came intact within 60 s); the ulss7 capture with 10% of
 *     its extended squitters damaged decoding to the intact capture's positions with
 *     correction, fewer without, and what the guard costs; the feed's counts.
 *
 * usage: unit_feeds_beast DATA_DIR */
#include "testutil.h"

#include <jansson.h>
#include <unistd.h>

#include "deconflict/beast.h"
#include "deconflict/feedreader.h"

static const char *data_dir = "../shared/data";

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return n;
}

/* Flips bit k (0 the first sent) of a message. */
static void flip(uint8_t *msg, int bit)
{
    msg[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

/* ME bits first..first+n-1 (1-based) of a long message. */
static uint32_t me_bits(const uint8_t *msg, int first, int n)
{
    uint64_t me = 0;
    for (int i = 4; i < 11; i++) me = me << 8 | msg[i];
    return (uint32_t)(me >> (56 - first - n + 1)) & ((1u << n) - 1);
}

static dc_err_t decode_hex(dc_modes_decoder_t *dec, const char *hex, double t_s, dc_sbs_msg_t *m)
{
    uint8_t msg[14];
    size_t n = unhex(hex, msg);
    return dc_modes_decode(dec, msg, n, t_s, m);
}

/* ---- CRC ---- */

static void test_crc(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "8D40621D58C382D690C8AC2863A7", "8D40621D58C386435CC412692AD6",
        "8D485020994409940838175B284F", "8D4840D6202CC371C32CE0576098",
        "8C4841753A9A153237AEF0F275BE",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint8_t msg[14];
        unhex(ok[i], msg);
        assert_int_equal(dc_modes_crc(msg, 14), 0);
        /* A CRC-24 finds every single-bit error. */
        for (int bit = 0; bit < 112; bit++) {
            msg[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            if (dc_modes_crc(msg, 14) == 0)
                fail_msg("%s: bit %d flipped, not detected", ok[i], bit);
            msg[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        }
    }
    /* A short (56-bit) message: the remainder an independent bitwise CRC (Python, generator
     * 0x1FFF409 over the first 32 bits, XOR the parity field) gives for this DF11 reply. */
    uint8_t df11[7];
    unhex("5D4840D6E1F4D6", df11);
    assert_int_equal(dc_modes_crc(df11, 7), 0x1980D9);
}

/* ---- NL ---- */

/* The formula of DO-260B A.1.7.2, the slow reference. */
static int nl_formula(double lat)
{
    if (lat == 0) return 59;
    if (fabs(lat) == 87) return 2;
    if (fabs(lat) > 87) return 1;
    double x = 1 - (1 - cos(M_PI / 30)) / pow(cos(M_PI / 180 * fabs(lat)), 2);
    return (int)floor(2 * M_PI / acos(x));
}

static void test_nl(void **state)
{
    (void)state;
    assert_int_equal(dc_modes_cpr_nl(0), 59);
    assert_int_equal(dc_modes_cpr_nl(87), 2);
    assert_int_equal(dc_modes_cpr_nl(-87), 2);
    assert_int_equal(dc_modes_cpr_nl(87.000001), 1);
    assert_int_equal(dc_modes_cpr_nl(90), 1);
    assert_int_equal(dc_modes_cpr_nl(NAN), 1);
    assert_int_equal(dc_modes_cpr_nl(52.2572), 36);
    /* Each transition: NL drops by one at the latitude where the formula's argument of floor
     * crosses an integer, found here by bisection of the formula itself. */
    size_t transitions = 0;
    for (int n = 59; n >= 3; n--) {
        double lo = 0, hi = 87;
        for (int k = 0; k < 200; k++) {
            double mid = (lo + hi) / 2;
            if (nl_formula(mid) >= n)
                lo = mid;
            else
                hi = mid;
        }
        /* lo: still n zones; hi: n - 1. */
        if (dc_modes_cpr_nl(lo - 1e-9) != n || dc_modes_cpr_nl(hi + 1e-9) != n - 1 ||
            dc_modes_cpr_nl(-(hi + 1e-9)) != n - 1)
            fail_msg("NL boundary %d -> %d at %.10f: %d, %d", n, n - 1, hi,
                     dc_modes_cpr_nl(lo - 1e-9), dc_modes_cpr_nl(hi + 1e-9));
        transitions++;
    }
    assert_int_equal(transitions, 57);
    test_rng_t rng = {test_seed("nl", 19)};
    for (int i = 0; i < 200000; i++) {
        double lat = (test_uniform(&rng) * 2 - 1) * 90;
        int want = nl_formula(lat);
        /* Away from a boundary by more than the formula's rounding. */
        if (nl_formula(lat + 1e-7) != want || nl_formula(lat - 1e-7) != want) continue;
        if (dc_modes_cpr_nl(lat) != want)
            fail_msg("NL(%.9f) = %d, want %d", lat, dc_modes_cpr_nl(lat), want);
    }
}

/* ---- CPR ---- */

/* The encoder of DO-260B A.1.7.3, as slow and literal as can be: the frame an aircraft at lat,
 * lon sends (odd or even; span 360 airborne, 90 on the surface). */
static void cpr_encode(double lat, double lon, bool odd, bool surface, uint32_t *yz, uint32_t *xz)
{
    double span = surface ? 90 : 360;
    double dlat = span / (60 - (odd ? 1 : 0));
    double m = lat - dlat * floor(lat / dlat);
    double y = floor(131072 * m / dlat + 0.5);
    double rlat = dlat * (y / 131072 + floor(lat / dlat));
    int ni = nl_formula(rlat) - (odd ? 1 : 0);
    double dlon = span / (ni < 1 ? 1 : ni);
    double ml = lon - dlon * floor(lon / dlon);
    double x = floor(131072 * ml / dlon + 0.5);
    *yz = (uint32_t)fmod(y, 131072);
    *xz = (uint32_t)fmod(x, 131072);
}

static double lon_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 360);
    return d > 180 ? 360 - d : d;
}

static void test_cpr_examples(void **state)
{
    (void)state;
    uint8_t e[14], o[14];
    unhex("8D40621D58C382D690C8AC2863A7", e);
    unhex("8D40621D58C386435CC412692AD6", o);
    assert_int_equal(me_bits(e, 22, 1), 0);
    assert_int_equal(me_bits(o, 22, 1), 1);
    double lat, lon;
    /* The Riddle: the even frame is the newer; 52.25720, 3.91937. */
    assert_int_equal(dc_modes_cpr_global(me_bits(e, 23, 17), me_bits(e, 40, 17), me_bits(o, 23, 17),
                                         me_bits(o, 40, 17), false, false, 0, 0, &lat, &lon),
                     DC_OK);
    assert_near(lat, 52.25720, 5e-5);
    assert_near(lon, 3.91937, 5e-5);
    /* Local, from the reference 52.258, 3.918: the same. */
    assert_int_equal(dc_modes_cpr_local(me_bits(e, 23, 17), me_bits(e, 40, 17), false, false,
                                        52.258, 3.918, &lat, &lon),
                     DC_OK);
    assert_near(lat, 52.25720, 5e-5);
    assert_near(lon, 3.91937, 5e-5);
    /* Surface (the Riddle's TC 7 example, reference 51.990, 4.375 near Schiphol): 52.32056,
     * 4.73573 (the book prints 52.32061, 4.73473, within its 1e-3 rounding of the same
     * computation), 17 kt, track 92.8 deg. */
    uint8_t s[14];
    unhex("8C4841753A9A153237AEF0F275BE", s);
    assert_int_equal(dc_modes_cpr_local(me_bits(s, 23, 17), me_bits(s, 40, 17), true, true, 51.990,
                                        4.375, &lat, &lon),
                     DC_OK);
    assert_near(lat, 52.32056, 1e-5);
    assert_near(lon, 4.73573, 1e-5);
    dc_modes_config_t cfg = {.has_receiver = true, .rx_lat_deg = 51.990, .rx_lon_deg = 4.375};
    dc_modes_decoder_t *dec = dc_modes_decoder_new(&cfg);
    dc_sbs_msg_t m;
    assert_int_equal(decode_hex(dec, "8C4841753A9A153237AEF0F275BE", 100, &m), DC_OK);
    assert_int_equal(m.type, 2);
    assert_true(m.has & DC_SBS_POS && m.on_ground);
    assert_near(m.lat_deg, 52.32056, 1e-5);
    assert_near(m.gs_kt, 17, 1e-9);
    assert_near(m.trk_deg, 92.8125, 1e-9);
    dc_modes_decoder_free(dec);
    /* Global surface (pyModeS's pair near Christchurch, parity left zero so given as CPR
     * values): -43.48564, 172.53942 at the odd, the newer. */
    uint8_t se[14], so[14];
    unhex("8CC8200A3AC8F009BCDEF2000000", se);
    unhex("8FC8200A3AB8F5F893096B000000", so);
    assert_int_equal(dc_modes_cpr_global(me_bits(se, 23, 17), me_bits(se, 40, 17),
                                         me_bits(so, 23, 17), me_bits(so, 40, 17), true, true,
                                         -43.496, 172.558, &lat, &lon),
                     DC_OK);
    assert_near(lat, -43.48564, 1e-5);
    assert_near(lon, 172.53942, 1e-5);
    /* The same pair with a reference in the wrong quadrant is refused (further than 45 NM). */
    assert_int_equal(dc_modes_cpr_global(me_bits(se, 23, 17), me_bits(se, 40, 17),
                                         me_bits(so, 23, 17), me_bits(so, 40, 17), true, true,
                                         -43.5, 100, &lat, &lon),
                     DC_ERR_INVALID);
    /* A pair straddling a zone boundary (NL 36 at 53.09 N, 35 at 53.10 N): refused. */
    uint32_t ey, ex, oy, ox;
    cpr_encode(53.09, 10.0, false, false, &ey, &ex);
    cpr_encode(53.10, 10.0, true, false, &oy, &ox);
    assert_int_equal(dc_modes_cpr_global(ey, ex, oy, ox, true, false, 0, 0, &lat, &lon),
                     DC_ERR_INVALID);
    cpr_encode(53.10, 10.0, false, false, &ey, &ex);
    assert_int_equal(dc_modes_cpr_global(ey, ex, oy, ox, true, false, 0, 0, &lat, &lon), DC_OK);
    assert_near(lat, 53.10, 1e-4);
    assert_near(lon, 10.0, 1e-4);
}

/* Round trips through the slow encoder: every position decodes to itself within the format's
 * resolution, globally and locally, airborne and on the surface. */
static void test_cpr_random(void **state)
{
    (void)state;
    test_rng_t rng = {test_seed("cpr", 2024)};
    size_t zone_refusals = 0, n = 200000;
    double worst_lat = 0, worst_lon = 0;
    for (size_t i = 0; i < n; i++) {
        bool surface = i % 4 == 3;
        double lat = (test_uniform(&rng) * 2 - 1) * 89.9;
        double lon = (test_uniform(&rng) * 2 - 1) * 180;
        uint32_t ey, ex, oy, ox;
        cpr_encode(lat, lon, false, surface, &ey, &ex);
        cpr_encode(lat, lon, true, surface, &oy, &ox);
        bool odd = test_uniform(&rng) < 0.5;
        /* The resolution: a zone over 2^17, in latitude and in longitude at this latitude. */
        double span = surface ? 90 : 360;
        double tol_lat = span / 59 / 131072 * 0.51;
        int ni = dc_modes_cpr_nl(lat) - odd;
        double tol_lon = span / (ni < 1 ? 1 : ni) / 131072 * 0.51 + 1e-9;
        /* A reference within 40 NM (surface) or 150 NM (airborne), in a random direction. */
        double r_nm = test_uniform(&rng) * (surface ? 40 : 150),
               bearing = test_uniform(&rng) * 2 * M_PI;
        double ref_lat = lat + r_nm / 60 * cos(bearing);
        double ref_lon = lon + r_nm / 60 * sin(bearing) / cos(lat * M_PI / 180);
        if (fabs(ref_lat) > 89.9 || fabs(lat) > 85) ref_lat = lat, ref_lon = lon; /* near a pole */
        ref_lon = fmod(ref_lon + 540, 360) - 180;
        double glat, glon;
        dc_err_t rc =
            dc_modes_cpr_global(ey, ex, oy, ox, odd, surface, ref_lat, ref_lon, &glat, &glon);
        if (rc == DC_ERR_INVALID) {
            /* Only where the encoded pair straddles a boundary: both latitudes within a step of
             * one. */
            zone_refusals++;
            continue;
        }
        assert_int_equal(rc, DC_OK);
        if (fabs(glat - lat) > tol_lat || lon_diff(glon, lon) > tol_lon)
            fail_msg("global %s: %.7f %.7f -> %.7f %.7f", surface ? "surface" : "airborne", lat,
                     lon, glat, glon);
        worst_lat = fmax(worst_lat, fabs(glat - lat));
        worst_lon = fmax(worst_lon, lon_diff(glon, lon));
        double llat, llon;
        assert_int_equal(dc_modes_cpr_local(odd ? oy : ey, odd ? ox : ex, odd, surface, ref_lat,
                                            ref_lon, &llat, &llon),
                         DC_OK);
        if (fabs(llat - glat) > 1e-9 || lon_diff(llon, glon) > 1e-9)
            fail_msg("local %s: %.7f %.7f ref %.4f %.4f -> %.7f %.7f, global %.7f %.7f",
                     surface ? "surface" : "airborne", lat, lon, ref_lat, ref_lon, llat, llon, glat,
                     glon);
    }
    printf("[ info ] %zu round trips, worst %.2e deg lat, %.2e deg lon; %zu refused as "
           "straddling a zone boundary\n",
           n, worst_lat, worst_lon, zone_refusals);
    assert_true(zone_refusals < n / 1000);
}

/* ---- messages ---- */

static void test_messages(void **state)
{
    (void)state;
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    /* Identification (the Riddle): KLM1023. */
    assert_int_equal(decode_hex(dec, "8D4840D6202CC371C32CE0576098", 10, &m), DC_OK);
    assert_int_equal(m.type, 1);
    assert_int_equal(m.icao, 0x4840D6);
    assert_string_equal(m.callsign, "KLM1023");
    assert_near(m.t_s, 10, 0);
    /* Velocity, subtype 1 (the Riddle): 159.20 kt, 182.88 deg, -832 ft/min. */
    assert_int_equal(decode_hex(dec, "8D485020994409940838175B284F", 10, &m), DC_OK);
    assert_int_equal(m.type, 4);
    assert_near(m.gs_kt, 159.20, 0.01);
    assert_near(m.trk_deg, 182.88, 0.01);
    assert_near(m.vs_fpm, -832, 0);
    assert_false(m.on_ground);
    /* Subtype 3 (airspeed 375 kt, heading 244 deg, -2,304 ft/min): recognised, counted, no
     * ground track taken from it. */
    assert_int_equal(decode_hex(dec, "8DA05F219B06B6AF189400CBC33F", 10, &m), DC_OK);
    assert_true(m.has & DC_SBS_VS && !(m.has & (DC_SBS_GS | DC_SBS_TRK)));
    assert_near(m.vs_fpm, -2304, 0);
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.airspeed, 1);
    /* Airborne position: 38,000 ft (Q = 1); no position from one frame without a reference. */
    assert_int_equal(decode_hex(dec, "8D40621D58C382D690C8AC2863A7", 20, &m), DC_OK);
    assert_int_equal(m.type, 3);
    assert_near(m.alt_ft, 38000, 0);
    assert_false(m.has & DC_SBS_POS);
    /* The pair within 10 s: the position, at the newer (odd) frame. */
    assert_int_equal(decode_hex(dec, "8D40621D58C386435CC412692AD6", 28, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 52.26578, 5e-5);
    assert_near(m.lon_deg, 3.93891, 5e-5);
    /* Not ADS-B: DF11, DF20, DF18 with CF 5 (TIS-B). A CRC failing by two bits: counted,
     * refused. By one bit (the last): refused from 4840D6, whose position was never heard;
     * repaired from 40621D, whose position was heard intact 1 s before. */
    assert_int_equal(decode_hex(dec, "5D4840D6E1F4D6", 1, &m), DC_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(dec, "A0001838CA3E51F0A8000047A6A4", 1, &m), DC_ERR_NOT_FOUND);
    assert_int_equal(decode_hex(dec, "8D40621D58C386435CC412692AD5", 29, &m), DC_ERR_INVALID);
    assert_int_equal(decode_hex(dec, "8D4840D6202CC371C32CE0576099", 29, &m), DC_ERR_INVALID);
    assert_int_equal(decode_hex(dec, "8D40621D58C386435CC412692AD7", 29, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 52.26578, 5e-5);
    assert_near(m.lon_deg, 3.93891, 5e-5);
    assert_int_equal(decode_hex(dec, "8D4840D6202CC371C32CE05760", 1, &m), DC_ERR_INVALID);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.crc_bad, 2);
    assert_int_equal(st.fix_unknown, 1);
    assert_int_equal(st.crc_fixed, 1);
    assert_int_equal(st.not_adsb, 2);
    assert_int_equal(st.cpr_global, 2);
    dc_modes_decoder_free(dec);
}

/* Builds an extended squitter: DF17 (or 18 with cf), address, 56-bit ME, then its parity. */
static void build_es(int df, int cf, uint32_t icao, uint64_t me, uint8_t msg[14])
{
    msg[0] = (uint8_t)(df << 3 | (df == 17 ? 5 : cf));
    msg[1] = (uint8_t)(icao >> 16), msg[2] = (uint8_t)(icao >> 8), msg[3] = (uint8_t)icao;
    for (int i = 0; i < 7; i++) msg[4 + i] = (uint8_t)(me >> (48 - 8 * i));
    msg[11] = msg[12] = msg[13] = 0;
    uint32_t crc = dc_modes_crc(msg, 14); /* the remainder with a zero parity is the parity */
    msg[11] = (uint8_t)(crc >> 16), msg[12] = (uint8_t)(crc >> 8), msg[13] = (uint8_t)crc;
}

/* An airborne position ME: TC 11, altitude code, odd flag, CPR values. */
static uint64_t me_airborne(int tc, uint32_t alt12, bool odd, uint32_t yz, uint32_t xz)
{
    return (uint64_t)tc << 51 | (uint64_t)alt12 << 36 | (uint64_t)odd << 34 | (uint64_t)yz << 17 |
           xz;
}

/* The 12-bit code of a 25-ft altitude (Q = 1). */
static uint32_t alt_q(double alt_ft)
{
    uint32_t n = (uint32_t)((alt_ft + 1000) / 25);
    return (n >> 4) << 5 | 0x10 | (n & 0xF);
}

static void test_altitudes(void **state)
{
    (void)state;
    /* Gillham (Q = 0) altitudes: DF17 TC 11 frames sent twice each to dump1090-mutability's raw
     * port; its SBS output gave these altitudes, every one. 126,700 ft is over the tactical
     * engine's 100,000 and dropped here. */
    static const struct {
        const char *hex;
        double alt_ft;
    } gillham[] = {
        {"8DC0FF0058080024685678581711", -1200},  {"8DC0FF0158200024685678D45B5E", -1000},
        {"8DC0FF025828A0246856781A1F45", -100},   {"8DC0FF035820A0246856783225D3", 0},
        {"8DC0FF0458A0A02468567824104B", 100},    {"8DC0FF055880A024685678FEBCB0", 200},
        {"8DC0FF06588080246856781C8B16", 300},    {"8DC0FF0758A08024685678C627ED", 400},
        {"8DC0FF0858208024685678D92B77", 500},    {"8DC0FF0958288024685678F111E1", 600},
        {"8DC0FF0A5822802468567831271E", 1000},   {"8DC0FF0B58220024685678356E35", 2500},
        {"8DC0FF0C583E2024685678039494", 9900},   {"8DC0FF0D589280246856782EA537", 12300},
        {"8DC0FF0E58668024685678A9D27E", 25000},  {"8DC0FF0F586610246856789D37B5", 35000},
        {"8DC0FF10585EB024685678451398", 41700},  {"8DC0FF11583230246856782FA53F", 50000},
        {"8DC0FF125808502468567845CE31", 62800},  {"8DC0FF13586EE0246856783DD52F", 99900},
        {"8DC0FF145866E024685678ECC77C", 100000},
    };
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    for (size_t i = 0; i < sizeof(gillham) / sizeof(gillham[0]); i++) {
        assert_int_equal(decode_hex(dec, gillham[i].hex, 1, &m), DC_OK);
        if (!(m.has & DC_SBS_ALT) || m.alt_ft != gillham[i].alt_ft)
            fail_msg("%s: %.0f ft, dump1090 %.0f", gillham[i].hex, m.alt_ft, gillham[i].alt_ft);
    }
    assert_int_equal(decode_hex(dec, "8DC0FF1558084024685678F29036", 1, &m), DC_ERR_INVALID);
    /* Q = 1 at both ends: -1,000 and 50,175 ft. */
    uint8_t msg[14];
    build_es(17, 0, 0xABCDEF, me_airborne(11, alt_q(-1000), 0, 1, 1), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_OK);
    assert_near(m.alt_ft, -1000, 0);
    build_es(17, 0, 0xABCDEF, me_airborne(11, 0xFFF, 0, 1, 1), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_OK);
    assert_near(m.alt_ft, 50175, 0);
    /* Gillham with no C pulse (no 100-ft code): out of range, dropped. No altitude at all (0):
     * nothing to pass on while waiting for the pair. */
    build_es(17, 0, 0xABCDEF, me_airborne(11, 0x428, 0, 1, 1), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_INVALID);
    build_es(17, 0, 0xABCDEE, me_airborne(11, 0, 0, 1, 1), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_NOT_FOUND);
    /* GNSS height (TC 20): the position is used, the height not taken as an altitude. */
    build_es(17, 0, 0xABCDED, me_airborne(20, alt_q(10000), 0, 1, 1), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_NOT_FOUND);
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.out_of_range, 2);
    dc_modes_decoder_free(dec);
}

/* An identification ME (TC 4) of 8 characters of A-Z, 0-9, space, or '#' for code 0. */
static uint64_t me_ident(const char *cs)
{
    uint64_t me = (uint64_t)4 << 51;
    for (int k = 0; k < 8; k++) {
        char c = cs[k];
        uint64_t code = c >= 'A' && c <= 'Z'   ? (uint64_t)(c - 'A' + 1)
                        : c == ' '             ? 32
                        : c >= '0' && c <= '9' ? (uint64_t)c
                                               : 0;
        me |= code << (42 - 6 * k);
    }
    return me;
}

static void test_out_of_range(void **state)
{
    (void)state;
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    uint8_t msg[14];
    /* Supersonic velocity (subtype 2, 4-kt steps): 1,020 x 4 kt east is over 2,000 kt. */
    uint64_t me = (uint64_t)19 << 51 | (uint64_t)2 << 48 | (uint64_t)1021 << 32 | (uint64_t)1 << 21;
    build_es(17, 0, 0x111111, me, msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_INVALID);
    /* 400 x 4 = 1,596 kt: in range. */
    me = (uint64_t)19 << 51 | (uint64_t)2 << 48 | (uint64_t)400 << 32 | (uint64_t)1 << 21;
    build_es(17, 0, 0x111111, me, msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_OK);
    assert_near(m.gs_kt, 1596, 1e-9);
    assert_near(m.trk_deg, 90, 1e-9);
    /* A callsign with a character outside A-Z, 0-9 ('#', code 0), or an inner space. */
    build_es(17, 0, 0x111111, me_ident("KL#1023 "), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_INVALID);
    build_es(17, 0, 0x111111, me_ident("KL 1023 "), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_INVALID);
    build_es(17, 0, 0x111111, me_ident("KL1023  "), msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_OK);
    assert_string_equal(m.callsign, "KL1023");
    /* DF18: CF 0 decoded, CF 1 (non-ICAO address) and CF 2 (TIS-B) not. */
    me = (uint64_t)19 << 51 | (uint64_t)1 << 48 | (uint64_t)11 << 32 | (uint64_t)1 << 21;
    build_es(18, 0, 0x222222, me, msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_OK);
    build_es(18, 1, 0x222222, me, msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_NOT_FOUND);
    build_es(18, 2, 0x222222, me, msg);
    assert_int_equal(dc_modes_decode(dec, msg, 14, 1, &m), DC_ERR_NOT_FOUND);
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.out_of_range, 3);
    assert_int_equal(st.not_adsb, 2);
    /* Configuration out of range: refused. */
    dc_modes_config_t bad = {.max_speed_kt = -1};
    assert_null(dc_modes_decoder_new(&bad));
    bad = (dc_modes_config_t){.has_receiver = true, .rx_lat_deg = 91};
    assert_null(dc_modes_decoder_new(&bad));
    dc_modes_decoder_free(dec);
    dc_modes_decoder_free(NULL);
}

/* Sends the frame an aircraft at lat, lon sends (odd or even, 30,000 ft) at t_s. */
static dc_err_t send_frame(dc_modes_decoder_t *dec, uint32_t icao, double lat, double lon, bool odd,
                           double t_s, dc_sbs_msg_t *m)
{
    uint32_t yz, xz;
    cpr_encode(lat, lon, odd, false, &yz, &xz);
    uint8_t msg[14];
    build_es(17, 0, icao, me_airborne(11, alt_q(30000), odd, yz, xz), msg);
    return dc_modes_decode(dec, msg, 14, t_s, m);
}

static void test_decoder_state(void **state)
{
    (void)state;
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    const uint32_t icao = 0x333333;
    /* Frames 11 s apart: no global decoding (and no reference for a local one). */
    assert_int_equal(send_frame(dec, icao, 48.5, 11.0, false, 100, &m), DC_OK);
    assert_int_equal(send_frame(dec, icao, 48.5, 11.0, true, 111, &m), DC_OK);
    assert_int_equal(send_frame(dec, icao, 48.5, 11.0, false, 122, &m), DC_OK);
    assert_false(m.has & DC_SBS_POS);
    /* 10 s apart: decoded. */
    assert_int_equal(send_frame(dec, icao, 48.5, 11.0, true, 132, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 48.5, 1e-4);
    /* 18 s later one frame decodes locally from it (the pair is 28 s apart). */
    assert_int_equal(send_frame(dec, icao, 48.52, 11.02, true, 150, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 48.52, 1e-4);
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.cpr_global, 1);
    assert_int_equal(st.cpr_local, 1);
    /* Now 2 degrees north (120 NM in 20 s: 21,600 kt): rejected locally, then as a pair; the
     * next pair shares a frame with the first rejected one and cannot confirm it; the one
     * after, of newer frames only, does: the position held was the wrong one. */
    const struct {
        bool odd;
        double t_s;
        bool located;
    } jump[] = {{false, 170, false}, {true, 171, false}, {false, 172, false}, {true, 173, true}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(send_frame(dec, icao, 50.52, 11.02, jump[i].odd, jump[i].t_s, &m), DC_OK);
        if (!(m.has & DC_SBS_POS) != !jump[i].located)
            fail_msg("jump frame %zu: located %d", i, !!(m.has & DC_SBS_POS));
    }
    assert_near(m.lat_deg, 50.52, 1e-4);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.cpr_jump, 3);
    /* A held position more than 120 s old is not checked against: a pair 10 degrees away, 200 s
     * later, is taken at once (a wrong position held must not refuse the aircraft for hours). */
    assert_int_equal(send_frame(dec, icao, 40.52, 11.02, false, 373, &m), DC_OK);
    assert_int_equal(send_frame(dec, icao, 40.52, 11.02, true, 374, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 40.52, 1e-3);
    /* Expiry, and the table's bound. */
    assert_int_equal(dc_modes_decoder_count(dec), 1);
    assert_int_equal(dc_modes_decoder_expire(dec, 374 + DC_MODES_EXPIRE_S - 1), 0);
    assert_int_equal(dc_modes_decoder_expire(dec, 374 + DC_MODES_EXPIRE_S + 1), 1);
    assert_int_equal(dc_modes_decoder_count(dec), 0);
    uint8_t o[14];
    for (uint32_t i = 0; i <= DC_MODES_AIRCRAFT_MAX; i++) {
        build_es(17, 0, 0x100000 + i, me_airborne(11, alt_q(1000), false, 5, 5), o);
        assert_int_equal(dc_modes_decode(dec, o, 14, 1000, &m), DC_OK); /* the altitude */
    }
    assert_int_equal(dc_modes_decoder_count(dec), DC_MODES_AIRCRAFT_MAX);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.table_full, 1);
    /* A real aircraft arriving while the flood keeps the table full is still located: the least
     * recently heard entries give way. */
    assert_int_equal(send_frame(dec, 0xABCDEF, 50.0, 10.0, false, 1001, &m), DC_OK);
    assert_int_equal(send_frame(dec, 0xABCDEF, 50.0, 10.0, true, 1002, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 50.0, 1e-3);
    assert_int_equal(dc_modes_decoder_count(dec), DC_MODES_AIRCRAFT_MAX);
    /* Once the old ones are quiet long enough, a new one takes a place. */
    build_es(17, 0, 0xFFFFFE, me_airborne(11, alt_q(1000), false, 5, 5), o);
    dc_modes_decode(dec, o, 14, 1002 + DC_MODES_EXPIRE_S + 1, &m);
    assert_int_equal(dc_modes_decoder_count(dec), 1);
    dc_modes_decoder_free(dec);
}

/* ---- framing ---- */

/* Appends a Beast frame (type '1', '2', '3') with 0x1a doubled. */
static size_t beast_frame(uint8_t *out, char type, uint64_t ticks, const uint8_t *msg, size_t n)
{
    uint8_t body[32];
    size_t k = 0;
    for (int i = 5; i >= 0; i--) body[k++] = (uint8_t)(ticks >> (8 * i));
    body[k++] = 0x80; /* signal */
    memcpy(body + k, msg, n);
    k += n;
    size_t o = 0;
    out[o++] = 0x1a, out[o++] = (uint8_t)type;
    for (size_t i = 0; i < k; i++) {
        out[o++] = body[i];
        if (body[i] == 0x1a) out[o++] = 0x1a;
    }
    return o;
}

typedef struct got {
    dc_sbs_msg_t m[64];
    size_t n;
} got_t;

static void keep(const dc_sbs_msg_t *m, void *ctx)
{
    got_t *g = ctx;
    if (g->n < 64) g->m[g->n++] = *m;
}

static void test_framing(void **state)
{
    (void)state;
    uint8_t ident[14], buf[512];
    unhex("8D4840D6202CC371C32CE0576098", ident);
    size_t n = 0;
    static const uint8_t modeac[2] = {0x1a, 0x1a},
                         shortm[7] = {0x5D, 0x48, 0x40, 0xD6, 0xE1, 0xF4, 0xD6};
    n += beast_frame(buf + n, '1', 12000000, modeac, 2);
    n += beast_frame(buf + n, '2', 0x1a1a1a1a1a1a, shortm, 7); /* every counter byte escaped */
    n += beast_frame(buf + n, '3', 24000000, ident, 14);
    size_t clean = n;
    /* Whole, then cut at every byte: the same frames each way. */
    for (size_t cut = 0; cut <= clean; cut++) {
        dc_beast_config_t cfg = {.t0_s = 1000};
        dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
        got_t g = {.n = 0};
        dc_beast_stream_feed(s, buf, cut, 0, keep, &g);
        dc_beast_stream_feed(s, buf + cut, clean - cut, 0, keep, &g);
        dc_beast_stats_t st;
        dc_beast_stream_stats(s, &st);
        if (st.frames != 3 || st.bad != 0 || st.modeac != 1 || st.short_frames != 1 ||
            st.long_frames != 1 || g.n != 1)
            fail_msg("cut at %zu: %llu frames, %llu bad, %zu messages", cut,
                     (unsigned long long)st.frames, (unsigned long long)st.bad, g.n);
        assert_string_equal(g.m[0].callsign, "KLM1023");
        /* The short frame's counter (0x1a1a1a1a1a1a, 27 days on) moves no clock: its parity
         * cannot be checked. */
        assert_int_equal(st.clock_resets, 0);
        dc_beast_stream_free(s);
    }
    /* Garbage before, between and after; an unknown type; a frame cut short by another. */
    n = 0;
    memcpy(buf + n, "hello", 5), n += 5;
    n += beast_frame(buf + n, '3', 1, ident, 14);
    buf[n++] = 0x1a, buf[n++] = '9';
    buf[n++] = 0x00, buf[n++] = 0xff;
    size_t m = beast_frame(buf + n, '3', 2, ident, 14);
    n += m - 5;                                        /* the frame loses its last 5 bytes ... */
    n += beast_frame(buf + n, '3', 3, ident, 14);      /* ... as the next begins */
    buf[n++] = 0x1a, buf[n++] = 0x1a, buf[n++] = 0x33; /* an escaped byte, mid-frame */
    n += beast_frame(buf + n, '3', 4, ident, 14);
    dc_beast_stream_t *s = dc_beast_stream_new(NULL); /* live */
    got_t g = {.n = 0};
    for (size_t i = 0; i < n; i++) dc_beast_stream_feed(s, buf + i, 1, 5000 + i, keep, &g);
    dc_beast_stats_t st;
    dc_beast_stream_stats(s, &st);
    /* hello (1), '9' (1), 00 ff (1), the cut frame (1), 1a 1a 33 (1): 5 bad; 3 good. */
    assert_int_equal(g.n, 3);
    assert_int_equal(st.bad, 5);
    assert_int_equal(st.framing_bad, 5);
    assert_int_equal(st.frames, 8);
    /* Live: the frames are timed by now_s as read. */
    assert_true(g.m[0].t_s >= 5000 && g.m[2].t_s > g.m[0].t_s);
    dc_beast_stream_free(s);
    uint8_t head[2] = {0x1a, '3'};
    assert_true(dc_beast_looks_like(head, 2));
    head[1] = '4';
    assert_false(dc_beast_looks_like(head, 2));
    assert_false(dc_beast_looks_like(head, 1));
    dc_beast_config_t bad = {.t0_s = INFINITY};
    assert_null(dc_beast_stream_new(&bad));
    dc_beast_stream_free(NULL);
}

/* Feeds one long frame with ticks; the time its message was given, relative to base. */
static double frame_at(dc_beast_stream_t *s, uint64_t ticks, double base)
{
    uint8_t ident[14], buf[64];
    unhex("8D4840D6202CC371C32CE0576098", ident);
    size_t n = beast_frame(buf, '3', ticks, ident, 14);
    got_t g = {.n = 0};
    dc_beast_stream_feed(s, buf, n, 0, keep, &g);
    assert_int_equal(g.n, 1);
    return g.m[0].t_s - base;
}

static void test_clock(void **state)
{
    (void)state;
    dc_beast_config_t cfg = {.t0_s = 1.5e9};
    dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
    /* A receiver up for 5 days: t0 at its first frame, +2 s, then 0.3 s back (two receivers'
     * frames merged): the latest time held; +1 s; the receiver restarts (the counter back to
     * 100): the clock goes on from the latest time; +1 s; a frame without a counter. */
    const uint64_t day5 = UINT64_C(5184000000000);
    const struct {
        uint64_t ticks;
        double want_s;
    } steps[] = {
        {day5, 0},
        {day5 + 24000000, 2},
        {day5 + 20400000, 2},
        {day5 + 36000000, 3},
        {100, 3},
        {100 + 12000000, 4},
        {0, 4},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        double t = frame_at(s, steps[i].ticks, 1.5e9);
        if (fabs(t - steps[i].want_s) > 1e-6)
            fail_msg("step %zu: %.6f s, want %.6f", i, t, steps[i].want_s);
    }
    dc_beast_stats_t st;
    dc_beast_stream_stats(s, &st);
    assert_int_equal(st.clock_resets, 1);
    assert_near(st.first_s, 1.5e9, 0);
    assert_near(st.latest_s, 1.5e9 + 4, 1e-6);
    /* A jump forward of 100 s is a break: nothing added; the counter then runs on. Two
     * receivers 100 s apart, their frames alternating, never run the clock away. */
    const uint64_t base = 100 + 12000000;
    assert_near(frame_at(s, base + 1200000000, 1.5e9), 4, 1e-6);
    assert_near(frame_at(s, base + 1212000000, 1.5e9), 5, 1e-6);
    for (int k = 0; k < 20; k++) {
        assert_true(frame_at(s, base + 12000000 * (uint64_t)k, 1.5e9) <= 5 + 1e-6);
        assert_true(frame_at(s, base + 1212000000 + 12000000 * (uint64_t)k, 1.5e9) <= 5 + 1e-6);
    }
    dc_beast_stream_free(s);
    /* A long frame with a bad parity moves no clock: its counter (a day on) is not used. Nor
     * does a repaired one, decoded at the latest time: its counter was not checked either. */
    s = dc_beast_stream_new(&cfg);
    assert_near(frame_at(s, day5, 1.5e9), 0, 1e-6);
    {
        uint8_t bad[14], buf[64];
        unhex("8D4840D6202CC371C32CE057609B", bad); /* the ident, two parity bits flipped */
        size_t n = beast_frame(buf, '3', day5 + UINT64_C(1036800000000), bad, 14);
        got_t g = {.n = 0};
        dc_beast_stream_feed(s, buf, n, 0, keep, &g);
        assert_int_equal(g.n, 0);
        /* An intact position of 40621D at the same counter, then one with a bit flipped and
         * the counter a day on: repaired, at the latest time. */
        unhex("8D40621D58C382D690C8AC2863A7", bad);
        n = beast_frame(buf, '3', day5, bad, 14);
        dc_beast_stream_feed(s, buf, n, 0, keep, &g);
        flip(bad, 100);
        n = beast_frame(buf, '3', day5 + UINT64_C(1036800000000), bad, 14);
        dc_beast_stream_feed(s, buf, n, 0, keep, &g);
        assert_int_equal(g.n, 2);
        assert_near(g.m[1].t_s, 1.5e9, 1e-6);
    }
    assert_near(frame_at(s, day5 + 12000000, 1.5e9), 1, 1e-6);
    dc_beast_stream_free(s);
    /* The 48-bit counter wraps after 271 days: no reset, the time runs on. */
    s = dc_beast_stream_new(&cfg);
    const uint64_t top = (UINT64_C(1) << 48) - 6000000;
    assert_near(frame_at(s, top, 1.5e9), 0, 1e-6);
    assert_near(frame_at(s, 6000000, 1.5e9), 1, 1e-6);
    dc_beast_stream_stats(s, &st);
    assert_int_equal(st.clock_resets, 0);
    dc_beast_stream_free(s);
}

/* ---- agreement with dump1090 ---- */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s", path);
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    *len = 0;
    size_t got;
    while ((got = fread(buf + *len, 1, cap - *len, f)) > 0)
        if ((*len += got) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    return buf;
}

/* One decoded message, as the comparison needs it. */
typedef struct rec {
    int type;
    uint32_t icao;
    bool has_pos, has_alt, has_vel;
    double lat, lon, alt_ft, gs_kt, trk_deg, vs_fpm;
    char callsign[9];
} rec_t;

typedef struct recs {
    rec_t *r;
    size_t n, cap;
    dc_sbs_tracker_t *tr;
    size_t states;
} recs_t;

static void add_msg(const dc_sbs_msg_t *m, void *ctx)
{
    recs_t *rs = ctx;
    if (rs->n == rs->cap)
        rs->r = realloc(rs->r, (rs->cap = rs->cap ? rs->cap * 2 : 1024) * sizeof(rec_t));
    rec_t *r = &rs->r[rs->n++];
    memset(r, 0, sizeof(*r));
    r->type = m->type, r->icao = m->icao;
    r->has_pos = m->has & DC_SBS_POS, r->has_alt = m->has & DC_SBS_ALT;
    r->has_vel = (m->has & (DC_SBS_GS | DC_SBS_TRK)) == (DC_SBS_GS | DC_SBS_TRK);
    r->lat = m->lat_deg, r->lon = m->lon_deg, r->alt_ft = m->alt_ft;
    r->gs_kt = m->gs_kt, r->trk_deg = m->trk_deg, r->vs_fpm = m->vs_fpm;
    memcpy(r->callsign, m->callsign, 9);
    if (rs->tr) {
        dc_track_state_t st;
        char cs[9];
        if (dc_sbs_tracker_apply(rs->tr, m, &st, cs)) {
            assert_int_equal(dc_track_state_validate(&st, NULL), DC_OK);
            rs->states++;
        }
    }
}

/* dump1090's SBS lines of one type, in order, by address. */
static recs_t load_sbs(const char *path)
{
    recs_t rs = {0};
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        dc_sbs_msg_t m;
        if (dc_sbs_parse_line(line, strlen(line), &m) == DC_OK) add_msg(&m, &rs);
    }
    fclose(f);
    return rs;
}

typedef struct agreement {
    size_t positions, velocities, callsigns, altitudes, extra_positions;
    double worst_pos_deg, worst_gs_kt, worst_trk_deg;
} agreement_t;

/* Walks both lists address by address and type by type, in order: every position dump1090 sent
 * must be ours at the same index with the same altitude; velocities within dump1090's integer
 * rounding; callsigns equal. Ours may have positions past dump1090's (counted as extra). */
static agreement_t compare(const recs_t *ours, const recs_t *theirs, bool strict_counts)
{
    agreement_t a = {0};
    for (size_t i = 0; i < theirs->n; i++) {
        const rec_t *t = &theirs->r[i];
        /* Only the first message of each address and type starts a walk. */
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = !(theirs->r[k].icao == t->icao && theirs->r[k].type == t->type);
        if (!first || t->type == 5 || t->type == 6 || t->type == 7 || t->type == 8) continue;
        size_t ti = i, oi = 0;
        size_t n_t = 0, n_o = 0;
        for (;;) {
            while (ti < theirs->n &&
                   !(theirs->r[ti].icao == t->icao && theirs->r[ti].type == t->type))
                ti++;
            while (oi < ours->n && !(ours->r[oi].icao == t->icao && ours->r[oi].type == t->type))
                oi++;
            if (ti >= theirs->n) break;
            if (oi >= ours->n) fail_msg("%06X type %d: dump1090 has more", t->icao, t->type);
            const rec_t *x = &theirs->r[ti], *y = &ours->r[oi];
            n_t++, n_o++;
            if (x->has_pos != y->has_pos) {
                /* dump1090 rejected a position we accepted (its clock ran 20x: see below). */
                if (!strict_counts && y->has_pos && !x->has_pos) {
                    a.extra_positions++;
                    ti++, oi++;
                    continue;
                }
                fail_msg("%06X message %zu: position %d, dump1090 %d", t->icao, n_t, y->has_pos,
                         x->has_pos);
            }
            if (x->has_pos) {
                double d = fmax(fabs(x->lat - y->lat), lon_diff(x->lon, y->lon));
                if (d > 1e-4)
                    fail_msg("%06X: %.5f %.5f, dump1090 %.5f %.5f", t->icao, y->lat, y->lon, x->lat,
                             x->lon);
                a.worst_pos_deg = fmax(a.worst_pos_deg, d);
                a.positions++;
            }
            if (x->has_alt != y->has_alt || (x->has_alt && x->alt_ft != y->alt_ft))
                fail_msg("%06X: altitude %.0f, dump1090 %.0f", t->icao, y->alt_ft, x->alt_ft);
            a.altitudes += x->has_alt;
            if (x->has_vel) {
                if (!y->has_vel) fail_msg("%06X: no velocity", t->icao);
                double dg = fabs(x->gs_kt - y->gs_kt), dt = lon_diff(x->trk_deg, y->trk_deg);
                /* dump1090-mutability writes whole knots, truncated, and whole degrees: rounded
                 * east of north, rounded and one more west of it (313.41 becomes 314). */
                if (dg > 1 || dt > 1.5 || x->vs_fpm != y->vs_fpm)
                    fail_msg("%06X: %.2f kt %.2f deg %.0f, dump1090 %.0f %.0f %.0f", t->icao,
                             y->gs_kt, y->trk_deg, y->vs_fpm, x->gs_kt, x->trk_deg, x->vs_fpm);
                a.worst_gs_kt = fmax(a.worst_gs_kt, dg);
                a.worst_trk_deg = fmax(a.worst_trk_deg, dt);
                a.velocities++;
            }
            if (x->type == 1) {
                assert_string_equal(x->callsign, y->callsign);
                a.callsigns++;
            }
            ti++, oi++;
        }
        /* None of ours left over for this address and type. */
        size_t rest = 0;
        for (; oi < ours->n; oi++)
            rest += ours->r[oi].icao == t->icao && ours->r[oi].type == t->type;
        if (rest) fail_msg("%06X type %d: %zu messages more than dump1090", t->icao, t->type, rest);
    }
    return a;
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

static void test_dump1090_ulss7(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/captures/ulss7_2018-04-03.beast", data_dir);
    size_t len;
    uint8_t *raw = read_all(path, &len);
    dc_beast_config_t cfg = {.t0_s = 1522782148};
    dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
    recs_t ours = {.tr = dc_sbs_tracker_new(10, 1e9)};
    dc_beast_stream_feed(s, raw, len, 0, add_msg, &ours);
    dc_beast_stats_t st;
    dc_beast_stream_stats(s, &st);
    printf("[ info ] ulss7: %llu frames (%llu Mode A/C, %llu short, %llu long), %llu bad; %llu "
           "messages decoded, %llu positions (%llu global, %llu local), %zu states\n",
           (unsigned long long)st.frames, (unsigned long long)st.modeac,
           (unsigned long long)st.short_frames, (unsigned long long)st.long_frames,
           (unsigned long long)st.bad, (unsigned long long)st.modes.decoded,
           (unsigned long long)(st.modes.cpr_global + st.modes.cpr_local),
           (unsigned long long)st.modes.cpr_global, (unsigned long long)st.modes.cpr_local,
           ours.states);
    assert_int_equal(st.frames, 13954);
    assert_int_equal(st.bad, 0);
    assert_int_equal(st.clock_resets, 0);
    assert_near(st.latest_s - st.first_s, 60.87, 0.05);
    snprintf(path, sizeof(path), "%s/dump1090/ulss7_sbs_output.txt", data_dir);
    recs_t theirs = load_sbs(path);
    agreement_t a = compare(&ours, &theirs, true);
    printf("[ info ] ulss7 against dump1090's SBS output: %zu positions (worst %.1e deg), %zu "
           "altitudes, %zu velocities (worst %.2f kt, %.2f deg), %zu callsigns: all equal\n",
           a.positions, a.worst_pos_deg, a.altitudes, a.velocities, a.worst_gs_kt, a.worst_trk_deg,
           a.callsigns);
    assert_int_equal(a.positions, 1456);
    assert_true(a.worst_pos_deg <= 5.1e-6); /* dump1090 writes 5 decimals */
    assert_true(a.velocities > 1400 && a.callsigns > 100);
    /* The tracker over our messages ends where dump1090's aircraft list does. */
    snprintf(path, sizeof(path), "%s/dump1090/ulss7_aircraft.json", data_dir);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    held_t h = {.n = 0};
    dc_sbs_tracker_each(ours.tr, collect, &h);
    size_t i, checked = 0;
    double worst = 0;
    json_t *ac;
    json_array_foreach(json_object_get(root, "aircraft"), i, ac)
    {
        uint32_t icao = (uint32_t)strtoul(json_string_value(json_object_get(ac, "hex")), NULL, 16);
        const dc_sbs_aircraft_t *o = NULL;
        for (size_t k = 0; k < h.n; k++)
            if (h.list[k]->icao == icao) o = h.list[k];
        if (!o || !o->has_pos) fail_msg("%06X: dump1090 has a position, we do not", icao);
        double d = fmax(fabs(o->lat_deg - json_number_value(json_object_get(ac, "lat"))),
                        lon_diff(o->lon_deg, json_number_value(json_object_get(ac, "lon"))));
        if (d > 1e-5) fail_msg("%06X: position differs by %.6f deg", icao, d);
        worst = fmax(worst, d);
        assert_near(o->alt_ft, json_number_value(json_object_get(ac, "altitude")), 0);
        assert_near(o->gs_kt, json_number_value(json_object_get(ac, "speed")), 1);
        assert_true(lon_diff(o->trk_deg, json_number_value(json_object_get(ac, "track"))) <= 1.5);
        assert_near(o->vs_fpm, json_number_value(json_object_get(ac, "vert_rate")), 0);
        char flight[16];
        snprintf(flight, sizeof(flight), "%s", json_string_value(json_object_get(ac, "flight")));
        for (size_t k = strlen(flight); k > 0 && flight[k - 1] == ' '; k--) flight[k - 1] = '\0';
        assert_string_equal(o->callsign, flight);
        checked++;
    }
    printf("[ info ] ulss7: all %zu aircraft of dump1090's list held, positions within %.1e deg, "
           "same altitudes, callsigns, vertical rates; speeds within 1 kt, tracks within 1.5 deg\n",
           checked, worst);
    assert_int_equal(checked, 11);
    json_decref(root);
    dc_sbs_tracker_free(ours.tr);
    free(ours.r), free(theirs.r), free(raw);
    dc_beast_stream_free(s);
}

static void test_dump1090_atlanta(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/captures/rs1090_short_flights_atlanta.csv", data_dir);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    recs_t ours = {.tr = dc_sbs_tracker_new(10, 1e9)};
    char line[256];
    size_t lines = 0;
    while (fgets(line, sizeof(line), f)) {
        double t;
        char hex[64];
        uint8_t msg[14];
        if (sscanf(line, "%lf,%60s", &t, hex) != 2 || strlen(hex) != 28) continue;
        unhex(hex, msg);
        dc_sbs_msg_t m;
        lines++;
        if (dc_modes_decode(dec, msg, 14, t, &m) == DC_OK) add_msg(&m, &ours);
    }
    fclose(f);
    assert_int_equal(lines, 486);
    snprintf(path, sizeof(path), "%s/dump1090/rs1090_sbs_output.txt", data_dir);
    recs_t theirs = load_sbs(path);
    /* dump1090 was fed these at 20x: two gaps of 12.8 and 15.1 s between positions of
     * AC5920 became 0.6 and 0.8 s on its clock, and its speed check refused the move. On the
     * recording's own times both are plausible (450 kt), and we keep them; fed at real time
     * (tools/dump1090_replay.py --speed 1, by hand, 2026-12-03), dump1090 gives them too, and
     * all 163 agree. */
    agreement_t a = compare(&ours, &theirs, false);
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    printf("[ info ] atlanta against dump1090's SBS output: %zu positions (worst %.1e deg), %zu "
           "altitudes, %zu velocities (worst %.2f kt, %.2f deg), %zu callsigns equal; %zu "
           "positions more than dump1090\n",
           a.positions, a.worst_pos_deg, a.altitudes, a.velocities, a.worst_gs_kt, a.worst_trk_deg,
           a.callsigns, a.extra_positions);
    assert_int_equal(a.positions, 161);
    assert_int_equal(a.extra_positions, 2);
    assert_true(a.worst_pos_deg <= 5.1e-6);
    assert_int_equal(st.crc_bad, 0);
    dc_sbs_tracker_free(ours.tr);
    free(ours.r), free(theirs.r);
    dc_modes_decoder_free(dec);
}

static void test_toulouse(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/captures/traffic_sample_toulouse.beast", data_dir);
    size_t len;
    uint8_t *raw = read_all(path, &len);
    dc_beast_config_t cfg = {.t0_s = 1e9};
    dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
    recs_t ours = {0};
    dc_beast_stream_feed(s, raw, len, 0, add_msg, &ours);
    size_t positions = 0;
    for (size_t i = 0; i < ours.n; i++) {
        if (!ours.r[i].has_pos) continue;
        positions++;
        /* Toulouse-Blagnac, 43.63 N 1.37 E: the receiver's neighbourhood. */
        double d_nm =
            60 * hypot(ours.r[i].lat - 43.63, (ours.r[i].lon - 1.37) * cos(43.63 * M_PI / 180));
        if (d_nm > 50)
            fail_msg("%.5f %.5f: %.0f NM from Toulouse", ours.r[i].lat, ours.r[i].lon, d_nm);
        assert_int_equal(ours.r[i].icao, 0x48520A);
        assert_near(ours.r[i].alt_ft, 38000, 0);
    }
    dc_beast_stats_t st;
    dc_beast_stream_stats(s, &st);
    printf("[ info ] toulouse: %llu frames, %llu bad, %zu positions of 48520A near Toulouse at "
           "38,000 ft\n",
           (unsigned long long)st.frames, (unsigned long long)st.bad, positions);
    assert_int_equal(st.frames, 239);
    assert_int_equal(st.bad, 0);
    assert_int_equal(positions, 3);
    free(ours.r), free(raw);
    dc_beast_stream_free(s);
}

/* ---- single-bit error correction ---- */

/* One Beast frame of a capture: its type, counter and message. */
typedef struct bframe {
    char type;
    uint64_t ticks;
    uint8_t msg[14];
    size_t n;
} bframe_t;

/* The frames of a capture without framing errors (the ulss7 and Toulouse ones). */
static size_t beast_frames(const uint8_t *raw, size_t len, bframe_t **out)
{
    size_t cap = 1024, n = 0, i = 0;
    bframe_t *f = malloc(cap * sizeof(*f));
    while (i + 1 < len) {
        if (raw[i] != 0x1a || raw[i + 1] < '1' || raw[i + 1] > '3')
            fail_msg("byte %zu: no frame starts", i);
        char type = (char)raw[i + 1];
        size_t need = 7 + (type == '1' ? 2 : type == '2' ? 7 : 14), k = 0;
        uint8_t body[21];
        for (i += 2; k < need && i < len; i++) {
            if (raw[i] == 0x1a) i++; /* a doubled 0x1a */
            if (i < len) body[k++] = raw[i];
        }
        if (k < need) break;
        if (n == cap) f = realloc(f, (cap *= 2) * sizeof(*f));
        bframe_t *b = &f[n++];
        b->type = type, b->ticks = 0, b->n = need - 7;
        for (int j = 0; j < 6; j++) b->ticks = b->ticks << 8 | body[j];
        memcpy(b->msg, body + 7, b->n);
    }
    *out = f;
    return n;
}

/* The frames back into a Beast stream; the caller frees it. */
static uint8_t *beast_encode(const bframe_t *f, size_t n, size_t *len)
{
    uint8_t *out = malloc(n * 44 + 1);
    *len = 0;
    for (size_t i = 0; i < n; i++)
        *len += beast_frame(out + *len, f[i].type, f[i].ticks, f[i].msg, f[i].n);
    return out;
}

static bool intact_es(const uint8_t *msg, size_t n)
{
    int df = msg[0] >> 3;
    return n == 14 && (df == 17 || df == 18) && dc_modes_crc(msg, 14) == 0;
}

/* Every intact DF17/18 of the recordings: the ulss7 and Toulouse captures, the Atlanta
 * messages. counts[3] says how many came from each. */
static size_t recorded_es(uint8_t (**out)[14], size_t counts[3])
{
    size_t n = 0, cap = 8192;
    uint8_t(*es)[14] = malloc(cap * 14);
    static const char *const beast[] = {"captures/ulss7_2018-04-03.beast",
                                        "captures/traffic_sample_toulouse.beast"};
    char path[1024];
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof(path), "%s/%s", data_dir, beast[c]);
        size_t len;
        uint8_t *raw = read_all(path, &len);
        bframe_t *f;
        size_t nf = beast_frames(raw, len, &f);
        counts[c] = 0;
        for (size_t i = 0; i < nf; i++) {
            if (f[i].type != '3' || !intact_es(f[i].msg, 14)) continue;
            if (n == cap) es = realloc(es, (cap *= 2) * 14);
            memcpy(es[n++], f[i].msg, 14);
            counts[c]++;
        }
        free(f), free(raw);
    }
    snprintf(path, sizeof(path), "%s/captures/rs1090_short_flights_atlanta.csv", data_dir);
    FILE *fp = fopen(path, "r");
    if (!fp) fail_msg("cannot read %s", path);
    char line[256];
    counts[2] = 0;
    while (fgets(line, sizeof(line), fp)) {
        double t;
        char hex[64];
        uint8_t msg[14];
        if (sscanf(line, "%lf,%60s", &t, hex) != 2 || strlen(hex) != 28) continue;
        unhex(hex, msg);
        if (!intact_es(msg, 14)) continue;
        if (n == cap) es = realloc(es, (cap *= 2) * 14);
        memcpy(es[n++], msg, 14);
        counts[2]++;
    }
    fclose(fp);
    *out = es;
    return n;
}

/* Every intact extended squitter of the recordings with each of its 112 bits flipped in turn:
 * a flipped bit outside the DF field is found and the frame repaired to the original; one in
 * the DF field (the frame then reads as another format) is not repaired. */
static void test_fix_every_bit(void **state)
{
    (void)state;
    uint8_t(*es)[14];
    size_t counts[3];
    size_t n = recorded_es(&es, counts), repaired = 0, df_kept = 0, df18 = 0;
    for (size_t i = 0; i < n; i++) {
        df18 += (es[i][0] >> 3) == 18;
        for (int bit = 0; bit < DC_MODES_LONG_BITS; bit++) {
            uint8_t m[14], damaged[14];
            memcpy(m, es[i], 14);
            flip(m, bit);
            memcpy(damaged, m, 14);
            int got = dc_modes_crc_fix(m);
            if (bit < 5) {
                if (got != -1 || memcmp(m, damaged, 14) != 0)
                    fail_msg("frame %zu: DF bit %d repaired (%d)", i, bit, got);
                df_kept++;
            } else {
                if (got != bit || memcmp(m, es[i], 14) != 0)
                    fail_msg("frame %zu: bit %d flipped, repair says %d", i, bit, got);
                repaired++;
            }
        }
        /* An intact frame is left alone. */
        uint8_t m[14];
        memcpy(m, es[i], 14);
        assert_int_equal(dc_modes_crc_fix(m), -1);
        assert_memory_equal(m, es[i], 14);
    }
    printf("[ info ] %zu intact DF17/18 (%zu DF18) of the recordings (ulss7 %zu, toulouse %zu, "
           "atlanta %zu) x 107 bits outside the DF field: %zu single-bit errors, every one "
           "repaired to the original; x 5 DF bits: %zu, none repaired\n",
           n, df18, counts[0], counts[1], counts[2], repaired, df_kept);
    assert_true(counts[0] > 3000 && counts[1] > 20 && counts[2] == 486);
    assert_int_equal(repaired, n * 107);
    free(es);
}

/* Errors of 2, 3 and 4 bits are never taken for one: exhaustively, no such pattern anywhere in
 * the 112 bits has the remainder of a single bit; 1,344 of the 134 million 5-bit ones do (the
 * code's distance is 6: the reason for the guard). Then, on real frames from a known address,
 * random 2-bit errors stay refused by the decoder. */
static void test_fix_multi_bit(void **state)
{
    (void)state;
    uint32_t syn[DC_MODES_LONG_BITS];
    uint8_t *single = calloc(1 << 21, 1); /* a bit per 24-bit remainder */
    for (int k = 0; k < DC_MODES_LONG_BITS; k++) {
        uint8_t m[14] = {0};
        flip(m, k);
        syn[k] = dc_modes_crc(m, 14);
        if (single[syn[k] >> 3] & (1 << (syn[k] & 7))) fail_msg("bit %d: remainder repeated", k);
        single[syn[k] >> 3] |= (uint8_t)(1 << (syn[k] & 7));
    }
#define IS_SINGLE(s) (single[(s) >> 3] & (1 << ((s)&7)))
    size_t patterns[6] = {0}, aliases = 0, aliases5 = 0, undetected5 = 0;
    for (int a = 0; a < DC_MODES_LONG_BITS; a++)
        for (int b = a + 1; b < DC_MODES_LONG_BITS; b++) {
            uint32_t sab = syn[a] ^ syn[b];
            patterns[2]++, aliases += sab == 0 || IS_SINGLE(sab);
            for (int c = b + 1; c < DC_MODES_LONG_BITS; c++) {
                uint32_t sabc = sab ^ syn[c];
                patterns[3]++, aliases += sabc == 0 || IS_SINGLE(sabc);
                for (int d = c + 1; d < DC_MODES_LONG_BITS; d++) {
                    uint32_t s4 = sabc ^ syn[d];
                    patterns[4]++, aliases += s4 == 0 || IS_SINGLE(s4);
                    for (int e = d + 1; e < DC_MODES_LONG_BITS; e++) {
                        uint32_t s5 = s4 ^ syn[e];
                        patterns[5]++, undetected5 += s5 == 0;
                        aliases5 += s5 != 0 && IS_SINGLE(s5);
                    }
                }
            }
        }
#undef IS_SINGLE
    printf("[ info ] every error of 2, 3, 4 bits (%zu, %zu, %zu patterns): %zu with no remainder "
           "or a single bit's; of 5 bits (%zu): %zu with none, %zu with a single bit's (the "
           "distance is 6)\n",
           patterns[2], patterns[3], patterns[4], aliases, patterns[5], undetected5, aliases5);
    assert_int_equal(patterns[4], 6210820);
    assert_int_equal(aliases, 0);
    assert_int_equal(patterns[5], 134153712);
    assert_int_equal(undetected5, 0);
    assert_int_equal(aliases5, 1344);
    free(single);
    /* Real frames, each first decoded intact (its address known), then with two bits flipped
     * outside the DF field: never repaired, always refused. */
    uint8_t(*es)[14];
    size_t counts[3];
    size_t n = recorded_es(&es, counts), tried = 0;
    test_rng_t rng = {test_seed("fix 2-bit", 1090)};
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    for (size_t k = 0; k < 20000; k++) {
        size_t i = (size_t)(test_uniform(&rng) * (double)n);
        int a = 5 + (int)(test_uniform(&rng) * 107), b = 5 + (int)(test_uniform(&rng) * 106);
        if (b >= a) b++;
        dc_modes_decode(dec, es[i], 14, 1000 + (double)k * 0.01, &m);
        uint8_t bad[14];
        memcpy(bad, es[i], 14);
        flip(bad, a), flip(bad, b);
        uint8_t kept[14];
        memcpy(kept, bad, 14);
        assert_int_equal(dc_modes_crc_fix(bad), -1);
        assert_memory_equal(bad, kept, 14);
        if (dc_modes_decode(dec, bad, 14, 1000 + (double)k * 0.01, &m) != DC_ERR_INVALID)
            fail_msg("frame %zu, bits %d and %d flipped: not refused", i, a, b);
        tried++;
    }
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    printf("[ info ] %zu real frames from known addresses with 2 bits flipped: %llu refused, %llu "
           "repaired\n",
           tried, (unsigned long long)st.crc_bad, (unsigned long long)st.crc_fixed);
    assert_int_equal(st.crc_bad, tried);
    assert_int_equal(st.crc_fixed, 0);
    dc_modes_decoder_free(dec);
    free(es);
}

/* A frame that reads DF17 or DF18 because one of its DF bits was flipped (a DF16, 19, 21, ...
 * with the parity of an extended squitter): the remainder is that DF bit's, and it is not
 * repaired, even from a known address. */
static void test_fix_df_field(void **state)
{
    (void)state;
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    assert_int_equal(decode_hex(dec, "8D4840D6202CC371C32CE0576098", 10, &m), DC_OK);
    size_t tried = 0;
    for (int df = 17; df <= 18; df++) {
        for (int k = 0; k < 5; k++) {
            int other = df ^ (1 << (4 - k)); /* the format one flip of DF bit k away */
            uint8_t msg[14];
            unhex("8D4840D6202CC371C32CE0576098", msg);
            msg[0] = (uint8_t)(other << 3 | (msg[0] & 7));
            msg[11] = msg[12] = msg[13] = 0;
            uint32_t p = dc_modes_crc(msg, 14);
            msg[11] = (uint8_t)(p >> 16), msg[12] = (uint8_t)(p >> 8), msg[13] = (uint8_t)p;
            flip(msg, k);
            assert_int_equal(msg[0] >> 3, df);
            uint8_t kept[14];
            memcpy(kept, msg, 14);
            assert_int_equal(dc_modes_crc_fix(msg), -1);
            assert_memory_equal(msg, kept, 14);
            assert_int_equal(dc_modes_decode(dec, msg, 14, 11, &m), DC_ERR_INVALID);
            tried++;
        }
    }
    dc_modes_stats_t st;
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(tried, 10);
    assert_int_equal(st.crc_bad, 10);
    assert_int_equal(st.crc_fixed, 0);
    dc_modes_decoder_free(dec);
}

/* The guard: a repaired frame is taken only from an address whose position came intact within
 * DC_MODES_FIX_SEEN_S, by its repaired address; it makes no aircraft, and does not keep one
 * known. */
static void test_fix_unknown_address(void **state)
{
    (void)state;
    const uint32_t icao = 0xABC123;
    uint8_t even[14], odd[14], bad[14];
    uint32_t yz, xz;
    cpr_encode(46.5, 7.5, false, false, &yz, &xz);
    build_es(17, 0, icao, me_airborne(11, alt_q(31000), false, yz, xz), even);
    cpr_encode(46.5, 7.5, true, false, &yz, &xz);
    build_es(17, 0, icao, me_airborne(11, alt_q(31000), true, yz, xz), odd);
    dc_modes_decoder_t *dec = dc_modes_decoder_new(NULL);
    dc_sbs_msg_t m;
    dc_modes_stats_t st;
    /* Never heard: dropped, counted, no aircraft made. */
    memcpy(bad, even, 14), flip(bad, 60);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 100, &m), DC_ERR_INVALID);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.crc_bad, 1);
    assert_int_equal(st.fix_unknown, 1);
    assert_int_equal(st.crc_fixed, 0);
    assert_int_equal(dc_modes_decoder_count(dec), 0);
    /* Heard intact: a repaired odd frame is taken and completes the pair. */
    assert_int_equal(dc_modes_decode(dec, even, 14, 101, &m), DC_OK);
    assert_false(m.has & DC_SBS_POS);
    memcpy(bad, odd, 14), flip(bad, 90);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 102, &m), DC_OK);
    assert_true(m.has & DC_SBS_POS);
    assert_near(m.lat_deg, 46.5, 1e-4);
    assert_near(m.lon_deg, 7.5, 1e-4);
    assert_near(m.alt_ft, 31000, 0);
    /* A flipped address bit: the address received (ABC123 ^ 0x800) was never heard, the
     * repaired one was: taken, as ABC123. The reverse (a frame of ABC923 whose damaged address
     * reads ABC123, known) is dropped: the repaired address is the one judged. */
    memcpy(bad, even, 14), flip(bad, 20);
    assert_int_equal(bad[2], 0xC1 ^ 0x08);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 103, &m), DC_OK);
    assert_int_equal(m.icao, icao);
    build_es(17, 0, icao ^ 0x800, me_airborne(11, alt_q(31000), false, 1000, 1000), bad);
    flip(bad, 20);
    assert_int_equal(bad[2], 0xC1);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 103, &m), DC_ERR_INVALID);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.crc_fixed, 2);
    assert_int_equal(st.fix_unknown, 2);
    /* Repaired frames do not keep the address known: 61 s after the last intact frame (t 101),
     * dropped; an intact frame, and it is taken again. */
    memcpy(bad, odd, 14), flip(bad, 100);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 160, &m), DC_OK);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 162, &m), DC_ERR_INVALID);
    assert_int_equal(dc_modes_decode(dec, even, 14, 163, &m), DC_OK);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 164, &m), DC_OK);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.crc_fixed, 4);
    assert_int_equal(st.fix_unknown, 3);
    assert_int_equal(st.crc_bad, 3);
    assert_int_equal(dc_modes_decoder_count(dec), 1);
    dc_modes_decoder_free(dec);
    /* With correction off, the same repairable frame from a known address is dropped. */
    dec = dc_modes_decoder_new(&(dc_modes_config_t){.no_crc_fix = true});
    assert_int_equal(dc_modes_decode(dec, even, 14, 101, &m), DC_OK);
    assert_int_equal(dc_modes_decode(dec, bad, 14, 102, &m), DC_ERR_INVALID);
    dc_modes_decoder_stats(dec, &st);
    assert_int_equal(st.crc_fixed, 0);
    assert_int_equal(st.fix_unknown, 0);
    assert_int_equal(st.crc_bad, 1);
    dc_modes_decoder_free(dec);
}

/* Positions of a decoded stream, in order. */
static size_t positions_of(const recs_t *rs, rec_t **out)
{
    size_t n = 0;
    *out = malloc((rs->n + 1) * sizeof(rec_t));
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].has_pos) (*out)[n++] = rs->r[i];
    return n;
}

static recs_t decode_capture(const uint8_t *buf, size_t len, bool no_fix, dc_beast_stats_t *st)
{
    dc_beast_config_t cfg = {.t0_s = 1522782148, .modes = {.no_crc_fix = no_fix}};
    dc_beast_stream_t *s = dc_beast_stream_new(&cfg);
    recs_t rs = {0};
    dc_beast_stream_feed(s, buf, len, 0, add_msg, &rs);
    dc_beast_stream_stats(s, st);
    dc_beast_stream_free(s);
    return rs;
}

/* Is the message an airborne or surface position (TC 5-18, 20-22)? */
static bool is_position(const uint8_t *msg)
{
    int tc = msg[4] >> 3;
    return (tc >= 5 && tc <= 18) || (tc >= 20 && tc <= 22);
}

/* The capture's frames with one random bit (outside the DF field) flipped in share of its
 * intact extended squitters; when only_known, only in those whose address sent an intact
 * position frame, left intact, less than 50 s before (the guard's condition: DC_MODES_FIX_SEEN_S
 * with a margin). Returns how many were damaged. */
static size_t damage_frames(bframe_t *f, size_t nf, test_rng_t *rng, double share, bool only_known)
{
    struct {
        uint32_t icao;
        uint64_t ticks;
    } heard[256];
    size_t n_heard = 0, damaged = 0;
    for (size_t i = 0; i < nf; i++) {
        if (f[i].type != '3' || !intact_es(f[i].msg, 14)) continue;
        uint32_t icao = (uint32_t)f[i].msg[1] << 16 | (uint32_t)f[i].msg[2] << 8 | f[i].msg[3];
        size_t h = 0;
        while (h < n_heard && heard[h].icao != icao) h++;
        bool known = h < n_heard && f[i].ticks - heard[h].ticks < UINT64_C(50) * 12000000;
        if (test_uniform(rng) < share && (known || !only_known)) {
            flip(f[i].msg, 5 + (int)(test_uniform(rng) * 107));
            damaged++;
        } else if (is_position(f[i].msg) && h < 256) {
            heard[h].icao = icao, heard[h].ticks = f[i].ticks;
            if (h == n_heard) n_heard++;
        }
    }
    return damaged;
}

/* The positions of the intact and the damaged capture, decoded with and without correction. */
typedef struct fix_run {
    size_t damaged, n_clean, n_fixed, n_nofix;
    rec_t *clean, *fixed, *nofix;
    dc_beast_stats_t fix_st, nofix_st;
} fix_run_t;

static fix_run_t run_damaged(const uint8_t *raw, size_t len, double share, bool only_known,
                             test_rng_t *rng)
{
    fix_run_t r = {0};
    bframe_t *f;
    size_t nf = beast_frames(raw, len, &f), dlen;
    assert_int_equal(nf, 13954);
    r.damaged = damage_frames(f, nf, rng, share, only_known);
    uint8_t *dmg = beast_encode(f, nf, &dlen);
    dc_beast_stats_t clean_st;
    recs_t clean = decode_capture(raw, len, false, &clean_st);
    recs_t fixed = decode_capture(dmg, dlen, false, &r.fix_st);
    recs_t nofix = decode_capture(dmg, dlen, true, &r.nofix_st);
    r.n_clean = positions_of(&clean, &r.clean);
    r.n_fixed = positions_of(&fixed, &r.fixed);
    r.n_nofix = positions_of(&nofix, &r.nofix);
    free(clean.r), free(fixed.r), free(nofix.r), free(dmg), free(f);
    return r;
}

static bool same_position(const rec_t *a, const rec_t *b)
{
    return a->icao == b->icao && a->lat == b->lat && a->lon == b->lon && a->alt_ft == b->alt_ft;
}

/* The ulss7 capture with one random bit (outside the DF field) flipped in 10% of its extended
 * squitters. Damaged among the frames the repair may take (their address's position heard
 * intact before): with correction, the intact capture's positions, in the same order, to the
 * bit; without, fewer. Damaged among all: with correction, positions of the intact capture only
 * (in order: nothing wrong added), fewer than it by what the guard refused, more than without. */
static void test_fix_capture(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof(path), "%s/captures/ulss7_2018-04-03.beast", data_dir);
    size_t len;
    uint8_t *raw = read_all(path, &len);
    test_rng_t rng = {test_seed("fix capture", 12)};
    fix_run_t r = run_damaged(raw, len, 0.10, true, &rng);
    printf("[ info ] ulss7, 10%% of the squitters from an address heard: %zu damaged, %llu "
           "repaired; positions: intact capture %zu, damaged with correction %zu, without %zu\n",
           r.damaged, (unsigned long long)r.fix_st.modes.crc_fixed, r.n_clean, r.n_fixed,
           r.n_nofix);
    for (size_t i = 0; i < r.n_clean && i < r.n_fixed; i++)
        if (!same_position(&r.clean[i], &r.fixed[i]))
            fail_msg("position %zu: %06X %.6f %.6f %.0f, intact %06X %.6f %.6f %.0f", i,
                     r.fixed[i].icao, r.fixed[i].lat, r.fixed[i].lon, r.fixed[i].alt_ft,
                     r.clean[i].icao, r.clean[i].lat, r.clean[i].lon, r.clean[i].alt_ft);
    assert_true(r.damaged > 250);
    assert_int_equal(r.n_fixed, r.n_clean);
    assert_int_equal(r.fix_st.modes.crc_fixed, r.damaged);
    assert_int_equal(r.fix_st.bad, 0);
    assert_int_equal(r.nofix_st.modes.crc_bad, r.damaged);
    assert_true(r.n_nofix < r.n_clean - 100);
    free(r.clean), free(r.fixed), free(r.nofix);
    /* Damaged among all, over 20 seeds from the one printed. */
    size_t runs = 20, lost = 0, refused = 0, lossy = 0, all_damaged = 0;
    for (size_t k = 0; k < runs; k++) {
        r = run_damaged(raw, len, 0.10, false, &rng);
        size_t j = 0; /* r.fixed must be a subsequence of r.clean */
        for (size_t i = 0; i < r.n_fixed; i++, j++) {
            while (j < r.n_clean && !same_position(&r.fixed[i], &r.clean[j])) j++;
            if (j == r.n_clean)
                fail_msg("run %zu: position %zu (%06X %.6f %.6f) is none of the intact capture's",
                         k, i, r.fixed[i].icao, r.fixed[i].lat, r.fixed[i].lon);
        }
        assert_int_equal(r.fix_st.modes.crc_fixed + r.fix_st.modes.fix_unknown, r.damaged);
        assert_true(r.n_fixed > r.n_nofix);
        assert_true(r.n_fixed == r.n_clean || r.fix_st.modes.fix_unknown > 0);
        lost += r.n_clean - r.n_fixed, refused += r.fix_st.modes.fix_unknown;
        lossy += r.n_fixed < r.n_clean, all_damaged += r.damaged;
        free(r.clean), free(r.fixed), free(r.nofix);
    }
    printf("[ info ] ulss7, 10%% of all the squitters, %zu runs: %zu damaged, %zu refused by the "
           "guard (from an address whose position was not heard intact in the last 60 s); "
           "positions all the intact capture's, %zu lost in %zu runs\n",
           runs, all_damaged, refused, lost, lossy);
    free(raw);
}

/* A feed's counts (deconflict/feedreader.h, what /metrics and `deconflict feed` show): a repaired
 * frame is among the frames read and the corrected, not the bad. */
static void test_fix_feed_counts(void **state)
{
    (void)state;
    uint8_t even[14], odd[14], buf[256];
    unhex("8D40621D58C382D690C8AC2863A7", even);
    unhex("8D40621D58C386435CC412692AD6", odd);
    size_t n = beast_frame(buf, '3', 12000000, even, 14);
    flip(odd, 40);
    n += beast_frame(buf + n, '3', 12100000, odd, 14); /* one bit: repaired */
    flip(odd, 50);
    n += beast_frame(buf + n, '3', 12200000, odd, 14); /* two: refused */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], buf, n), (ssize_t)n);
    close(fds[1]);
    dc_feed_reader_t *r = dc_feed_reader_new(DC_FEED_BEAST);
    got_t g = {.n = 0};
    while (dc_feed_reader_read(r, fds[0], 1000, keep, &g) == DC_OK) {
    }
    close(fds[0]);
    dc_feed_counts_t c;
    dc_feed_reader_counts(r, &c);
    assert_int_equal(g.n, 2);
    assert_true(g.m[1].has & DC_SBS_POS);
    assert_near(g.m[1].lat_deg, 52.26578, 5e-5);
    assert_int_equal(c.units, 3);
    assert_int_equal(c.bad, 1);
    assert_int_equal(c.corrected, 1);
    dc_feed_reader_free(r);
}

int main(int argc, char **argv)
{
    if (argc > 1) data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_nl),
        cmocka_unit_test(test_cpr_examples),
        cmocka_unit_test(test_cpr_random),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_altitudes),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_decoder_state),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_dump1090_ulss7),
        cmocka_unit_test(test_dump1090_atlanta),
        cmocka_unit_test(test_toulouse),
        cmocka_unit_test(test_fix_every_bit),
        cmocka_unit_test(test_fix_multi_bit),
        cmocka_unit_test(test_fix_df_field),
        cmocka_unit_test(test_fix_unknown_address),
        cmocka_unit_test(test_fix_capture),
        cmocka_unit_test(test_fix_feed_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
