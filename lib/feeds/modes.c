/* Mode S extended squitters decoded into SBS-1 messages: see include/deconflict/beast.h.
 *
 * Written from the protocol descriptions: ICAO Annex 10 Vol. IV (the CRC), DO-260B (the message
 * layouts, CPR in its Appendix A) and Junzi Sun, "The 1090 Megahertz Riddle" (2nd ed., 2021),
 * whose worked examples the unit tests reproduce. Bit numbers in the comments are the ME field's,
 * 1 to 56 from the most significant, as those documents number them. */
#include "deconflict/beast.h"
#include "feeds/modes_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/hashmap.h"

#define JUMP_CHECK_MAX_S 120.0 /* s: a position older than this is not checked against */
#define EARTH_RADIUS_NM  3440.065
#define LOCAL_REF_MAX_S  60.0  /* an aircraft's last position serves for local decoding this long */
#define AIRBORNE_HALF_NM 180.0 /* half an airborne CPR latitude zone (6 degrees) */
#define CPR_SCALE        131072.0 /* 2^17: a CPR coordinate is a fraction of its zone */
#define SPEED_SLACK_S    1.0      /* frames are timed to the read, not the bit */

/* ---- the CRC ---- */

/* The CRC-24 of Mode S, generator 0x1FFF409, a byte at a time: CRC_TABLE[i] is the remainder of
 * i followed by 24 zero bits. */
static const uint32_t CRC_TABLE[256] = {
    0x000000, 0xfff409, 0x001c1b, 0xffe812, 0x003836, 0xffcc3f, 0x00242d, 0xffd024, 0x00706c,
    0xff8465, 0x006c77, 0xff987e, 0x00485a, 0xffbc53, 0x005441, 0xffa048, 0x00e0d8, 0xff14d1,
    0x00fcc3, 0xff08ca, 0x00d8ee, 0xff2ce7, 0x00c4f5, 0xff30fc, 0x0090b4, 0xff64bd, 0x008caf,
    0xff78a6, 0x00a882, 0xff5c8b, 0x00b499, 0xff4090, 0x01c1b0, 0xfe35b9, 0x01ddab, 0xfe29a2,
    0x01f986, 0xfe0d8f, 0x01e59d, 0xfe1194, 0x01b1dc, 0xfe45d5, 0x01adc7, 0xfe59ce, 0x0189ea,
    0xfe7de3, 0x0195f1, 0xfe61f8, 0x012168, 0xfed561, 0x013d73, 0xfec97a, 0x01195e, 0xfeed57,
    0x010545, 0xfef14c, 0x015104, 0xfea50d, 0x014d1f, 0xfeb916, 0x016932, 0xfe9d3b, 0x017529,
    0xfe8120, 0x038360, 0xfc7769, 0x039f7b, 0xfc6b72, 0x03bb56, 0xfc4f5f, 0x03a74d, 0xfc5344,
    0x03f30c, 0xfc0705, 0x03ef17, 0xfc1b1e, 0x03cb3a, 0xfc3f33, 0x03d721, 0xfc2328, 0x0363b8,
    0xfc97b1, 0x037fa3, 0xfc8baa, 0x035b8e, 0xfcaf87, 0x034795, 0xfcb39c, 0x0313d4, 0xfce7dd,
    0x030fcf, 0xfcfbc6, 0x032be2, 0xfcdfeb, 0x0337f9, 0xfcc3f0, 0x0242d0, 0xfdb6d9, 0x025ecb,
    0xfdaac2, 0x027ae6, 0xfd8eef, 0x0266fd, 0xfd92f4, 0x0232bc, 0xfdc6b5, 0x022ea7, 0xfddaae,
    0x020a8a, 0xfdfe83, 0x021691, 0xfde298, 0x02a208, 0xfd5601, 0x02be13, 0xfd4a1a, 0x029a3e,
    0xfd6e37, 0x028625, 0xfd722c, 0x02d264, 0xfd266d, 0x02ce7f, 0xfd3a76, 0x02ea52, 0xfd1e5b,
    0x02f649, 0xfd0240, 0x0706c0, 0xf8f2c9, 0x071adb, 0xf8eed2, 0x073ef6, 0xf8caff, 0x0722ed,
    0xf8d6e4, 0x0776ac, 0xf882a5, 0x076ab7, 0xf89ebe, 0x074e9a, 0xf8ba93, 0x075281, 0xf8a688,
    0x07e618, 0xf81211, 0x07fa03, 0xf80e0a, 0x07de2e, 0xf82a27, 0x07c235, 0xf8363c, 0x079674,
    0xf8627d, 0x078a6f, 0xf87e66, 0x07ae42, 0xf85a4b, 0x07b259, 0xf84650, 0x06c770, 0xf93379,
    0x06db6b, 0xf92f62, 0x06ff46, 0xf90b4f, 0x06e35d, 0xf91754, 0x06b71c, 0xf94315, 0x06ab07,
    0xf95f0e, 0x068f2a, 0xf97b23, 0x069331, 0xf96738, 0x0627a8, 0xf9d3a1, 0x063bb3, 0xf9cfba,
    0x061f9e, 0xf9eb97, 0x060385, 0xf9f78c, 0x0657c4, 0xf9a3cd, 0x064bdf, 0xf9bfd6, 0x066ff2,
    0xf99bfb, 0x0673e9, 0xf987e0, 0x0485a0, 0xfb71a9, 0x0499bb, 0xfb6db2, 0x04bd96, 0xfb499f,
    0x04a18d, 0xfb5584, 0x04f5cc, 0xfb01c5, 0x04e9d7, 0xfb1dde, 0x04cdfa, 0xfb39f3, 0x04d1e1,
    0xfb25e8, 0x046578, 0xfb9171, 0x047963, 0xfb8d6a, 0x045d4e, 0xfba947, 0x044155, 0xfbb55c,
    0x041514, 0xfbe11d, 0x04090f, 0xfbfd06, 0x042d22, 0xfbd92b, 0x043139, 0xfbc530, 0x054410,
    0xfab019, 0x05580b, 0xfaac02, 0x057c26, 0xfa882f, 0x05603d, 0xfa9434, 0x05347c, 0xfac075,
    0x052867, 0xfadc6e, 0x050c4a, 0xfaf843, 0x051051, 0xfae458, 0x05a4c8, 0xfa50c1, 0x05b8d3,
    0xfa4cda, 0x059cfe, 0xfa68f7, 0x0580e5, 0xfa74ec, 0x05d4a4, 0xfa20ad, 0x05c8bf, 0xfa3cb6,
    0x05ec92, 0xfa189b, 0x05f089, 0xfa0480,
};

uint32_t dc_modes_crc(const uint8_t *msg, size_t len)
{
    if (len < 3) return 0xFFFFFF; /* no parity field: never "intact" */
    uint32_t crc = 0;
    for (size_t i = 0; i < len - 3; i++)
        crc = (crc << 8 & 0xFFFFFF) ^ CRC_TABLE[(crc >> 16) ^ msg[i]];
    uint32_t parity = (uint32_t)msg[len - 3] << 16 | (uint32_t)msg[len - 2] << 8 | msg[len - 1];
    return crc ^ parity;
}

/* ---- single-bit error correction ----
 *
 * The CRC's remainder of a damaged message (its syndrome) is the XOR of the remainders of its
 * flipped bits alone, whatever the message: a syndrome that is the remainder of one bit names
 * that bit. The 112 single-bit remainders of a long message are distinct, and no error of 2, 3
 * or 4 bits has a single-bit one (the code's distance is 6, checked exhaustively by the unit
 * test), so a repair by this rule never turns an error of up to 4 bits into a wrong frame; one of
 * 5 or more bits can alias (1,344 of the 5-bit patterns do), which is why the decoder also wants
 * the address known.
 *
 * SYNDROMES: the remainder of a 112-bit message with only bit k set (0 the first bit sent), for
 * k = 5..111, sorted by remainder for a binary search: a constant, so there is nothing to build
 * or to share between threads. Bits 0-4, the DF field, are left out: a repaired DF would make
 * the frame another format. Generated by a bitwise CRC (Python, generator 0x1FFF409 over the
 * first 88 bits, XOR the parity field); the unit test flips each of the 107 bits of real frames
 * and finds each repaired, so every entry is checked. dump1090 and readsb build such a table at
 * start-up (and, optionally, one of 2-bit errors, which we do not: see docs/feeds.md). */
typedef struct syndrome {
    uint32_t remainder;
    uint8_t bit;
} syndrome_t;

static const syndrome_t SYNDROMES[DC_MODES_LONG_BITS - 5] = {
    {0x000001, 111}, {0x000002, 110}, {0x000004, 109}, {0x000008, 108}, {0x000010, 107},
    {0x000020, 106}, {0x000040, 105}, {0x000080, 104}, {0x000100, 103}, {0x000200, 102},
    {0x000400, 101}, {0x000800, 100}, {0x001000, 99},  {0x001c1b, 86},  {0x002000, 98},
    {0x003836, 85},  {0x004000, 97},  {0x00706c, 84},  {0x008000, 96},  {0x00e0d8, 83},
    {0x010000, 95},  {0x018567, 56},  {0x01c1b0, 82},  {0x020000, 94},  {0x030ace, 55},
    {0x038360, 81},  {0x040000, 93},  {0x049c81, 29},  {0x06159c, 54},  {0x0706c0, 80},
    {0x080000, 92},  {0x093902, 28},  {0x0b0e2f, 10},  {0x0c2b38, 53},  {0x0dd441, 71},
    {0x0e0d80, 79},  {0x100000, 91},  {0x127204, 27},  {0x15b82d, 46},  {0x161c5e, 9},
    {0x185670, 52},  {0x1ba882, 70},  {0x1c1b00, 78},  {0x200000, 90},  {0x24e408, 26},
    {0x2b705a, 45},  {0x2bfd53, 63},  {0x2c38bc, 8},   {0x30ace0, 51},  {0x341705, 17},
    {0x375104, 69},  {0x381323, 35},  {0x383600, 77},  {0x3e4409, 74},  {0x3f6d11, 32},
    {0x400000, 89},  {0x457c29, 66},  {0x4701e7, 38},  {0x49c810, 25},  {0x4e5c9b, 22},
    {0x56e0b4, 44},  {0x57faa6, 62},  {0x587178, 7},   {0x5f4c21, 14},  {0x6159c0, 50},
    {0x682e0a, 16},  {0x6ea208, 68},  {0x702646, 34},  {0x706c00, 76},  {0x72f8c3, 19},
    {0x7a9309, 48},  {0x7c8812, 73},  {0x7eda22, 31},  {0x800000, 88},  {0x80665f, 58},
    {0x82c48d, 12},  {0x8af852, 65},  {0x8e03ce, 37},  {0x91c77f, 40},  {0x939020, 24},
    {0x9cb936, 21},  {0x9e31e9, 5},   {0xa01e91, 60},  {0xa476d9, 42},  {0xadc168, 43},
    {0xaff54c, 61},  {0xb0e2f0, 6},   {0xb719bb, 41},  {0xbe9842, 13},  {0xbfc92b, 59},
    {0xc2b380, 49},  {0xc68665, 20},  {0xd05c14, 15},  {0xd8d449, 23},  {0xdc7af7, 39},
    {0xdd4410, 67},  {0xe04c8c, 33},  {0xe0d800, 75},  {0xe3f395, 36},  {0xe5f186, 18},
    {0xea04ad, 64},  {0xf52612, 47},  {0xf91024, 72},  {0xfa7d13, 11},  {0xfdb444, 30},
    {0xff38b7, 57},  {0xfff409, 87},
};

/* The bit whose single error gives remainder syn (5..111), -1 for none. */
static int error_bit(uint32_t syn)
{
    size_t lo = 0, hi = sizeof(SYNDROMES) / sizeof(SYNDROMES[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (SYNDROMES[mid].remainder < syn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sizeof(SYNDROMES) / sizeof(SYNDROMES[0]) && SYNDROMES[lo].remainder == syn
               ? SYNDROMES[lo].bit
               : -1;
}

static bool is_es(const uint8_t *msg)
{
    return (msg[0] >> 3) == 17 || (msg[0] >> 3) == 18;
}

int dc_modes_crc_fix(uint8_t msg[DC_MODES_LONG_BYTES])
{
    if (!is_es(msg)) return -1;
    uint32_t syn = dc_modes_crc(msg, DC_MODES_LONG_BYTES);
    int bit = syn ? error_bit(syn) : -1;
    if (bit >= 0) msg[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
    return bit;
}

/* ---- CPR ---- */

/* NL(lat) changes from 59 - k to 58 - k at NL_LAT[k] degrees: the latitudes
 * acos(sqrt((1 - cos(pi / 30)) / (1 - cos(2 pi / n)))) for n = 59 .. 2, to 10 decimals. */
static const double NL_LAT[58] = {
    10.4704713000, 14.8281743687, 18.1862635707, 21.0293949260, 23.5450448656, 25.8292470706,
    27.9389871012, 29.9113568573, 31.7720970768, 33.5399343630, 35.2289959780, 36.8502510759,
    38.4124189241, 39.9225668433, 41.3865183226, 42.8091401224, 44.1945495142, 45.5462672266,
    46.8673325250, 48.1603912810, 49.4277643926, 50.6715016555, 51.8934246917, 53.0951615280,
    54.2781747227, 55.4437844450, 56.5931875621, 57.7274735387, 58.8476377615, 59.9545927669,
    61.0491777425, 62.1321665921, 63.2042747938, 64.2661652257, 65.3184530968, 66.3617100838,
    67.3964677408, 68.4232202208, 69.4424263114, 70.4545107499, 71.4598647303, 72.4588454473,
    73.4517744167, 74.4389341573, 75.4205625665, 76.3968439079, 77.3678946133, 78.3337408292,
    79.2942822546, 80.2492321328, 81.1980134927, 82.1395698051, 83.0719944472, 83.9917356298,
    84.8916619070, 85.7554162094, 86.5353699751, 87.0000000000,
};

int dc_modes_cpr_nl(double lat_deg)
{
    double a = fabs(lat_deg);
    if (!(a <= 90)) return 1; /* NaN too: one zone is always safe */
    if (a > 87) return 1;
    if (a >= NL_LAT[56]) return 2; /* exactly 87 degrees is still 2 zones */
    /* Binary search for the first boundary above a. */
    int lo = 0, hi = 56;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a < NL_LAT[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return 59 - lo;
}

/* x mod y for y > 0, in [0, y). */
static double fmod_pos(double x, double y)
{
    double r = x - y * floor(x / y);
    return r >= y ? 0 : r;
}

static double wrap_lon(double lon)
{
    lon = fmod_pos(lon + 180.0, 360.0) - 180.0;
    return lon;
}

static double dist_nm(double lat1, double lon1, double lat2, double lon2)
{
    const double r = M_PI / 180;
    double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * EARTH_RADIUS_NM * asin(fmin(1.0, sqrt(h)));
}

dc_err_t dc_modes_cpr_global(uint32_t even_lat, uint32_t even_lon, uint32_t odd_lat,
                             uint32_t odd_lon, bool latest_odd, bool surface, double ref_lat_deg,
                             double ref_lon_deg, double *lat_deg, double *lon_deg)
{
    /* Surface zones are a quarter of airborne ones: the same code on 90 degrees. */
    double span = surface ? 90.0 : 360.0;
    double lat_e = (even_lat & 0x1FFFF) / CPR_SCALE, lon_e = (even_lon & 0x1FFFF) / CPR_SCALE;
    double lat_o = (odd_lat & 0x1FFFF) / CPR_SCALE, lon_o = (odd_lon & 0x1FFFF) / CPR_SCALE;
    /* The latitude zone index, from the difference of the two encodings. */
    double j = floor(59 * lat_e - 60 * lat_o + 0.5);
    double rlat_e = span / 60 * (fmod_pos(j, 60) + lat_e);
    double rlat_o = span / 59 * (fmod_pos(j, 59) + lat_o);
    if (surface) {
        /* [0, 90): the southern solution is 90 degrees below; take the one nearer the
         * reference (the receiver sees only its own hemisphere's airports). */
        if (fabs(rlat_e - 90 - ref_lat_deg) < fabs(rlat_e - ref_lat_deg)) rlat_e -= 90;
        if (fabs(rlat_o - 90 - ref_lat_deg) < fabs(rlat_o - ref_lat_deg)) rlat_o -= 90;
    } else {
        if (rlat_e >= 270) rlat_e -= 360;
        if (rlat_o >= 270) rlat_o -= 360;
    }
    if (!(fabs(rlat_e) <= 90 && fabs(rlat_o) <= 90)) return DC_ERR_INVALID;
    /* Both frames must lie in the same longitude zone count, or the pair straddles a zone
     * boundary and the longitude would be wrong by a zone. */
    int nl = dc_modes_cpr_nl(rlat_e);
    if (nl != dc_modes_cpr_nl(rlat_o)) return DC_ERR_INVALID;
    double lat = latest_odd ? rlat_o : rlat_e;
    int ni = nl - (latest_odd ? 1 : 0);
    if (ni < 1) ni = 1;
    double m = floor(lon_e * (nl - 1) - lon_o * nl + 0.5);
    double lon = span / ni * (fmod_pos(m, ni) + (latest_odd ? lon_o : lon_e));
    if (surface) {
        /* Four candidates 90 degrees apart: the one nearest the reference. */
        double best = lon, best_d = INFINITY;
        for (int k = 0; k < 4; k++) {
            double c = wrap_lon(lon + 90.0 * k);
            double d = fabs(wrap_lon(c - ref_lon_deg));
            if (d < best_d) best = c, best_d = d;
        }
        lon = best;
        if (dist_nm(lat, lon, ref_lat_deg, ref_lon_deg) > DC_MODES_SURFACE_REF_NM)
            return DC_ERR_INVALID;
    }
    *lat_deg = lat;
    *lon_deg = wrap_lon(lon);
    return DC_OK;
}

dc_err_t dc_modes_cpr_local(uint32_t lat_cpr, uint32_t lon_cpr, bool odd, bool surface,
                            double ref_lat_deg, double ref_lon_deg, double *lat_deg,
                            double *lon_deg)
{
    double span = surface ? 90.0 : 360.0;
    double yz = (lat_cpr & 0x1FFFF) / CPR_SCALE, xz = (lon_cpr & 0x1FFFF) / CPR_SCALE;
    double dlat = span / (odd ? 59 : 60);
    /* The zone index that puts the position nearest the reference. */
    double j = floor(ref_lat_deg / dlat) + floor(fmod_pos(ref_lat_deg, dlat) / dlat - yz + 0.5);
    double lat = dlat * (j + yz);
    if (!(fabs(lat) <= 90)) return DC_ERR_INVALID;
    int ni = dc_modes_cpr_nl(lat) - (odd ? 1 : 0);
    double dlon = span / (ni < 1 ? 1 : ni);
    double m = floor(ref_lon_deg / dlon) + floor(fmod_pos(ref_lon_deg, dlon) / dlon - xz + 0.5);
    *lat_deg = lat;
    *lon_deg = wrap_lon(dlon * (m + xz));
    return DC_OK;
}

/* ---- the decoder ---- */

typedef struct cpr_frame {
    uint32_t lat, lon; /* 17 bits each */
    double t_s;
    bool valid, surface;
} cpr_frame_t;

/* One aircraft's CPR state. */
typedef struct aircraft {
    uint32_t icao;
    double last_t_s;
    cpr_frame_t frame[2]; /* even, odd */
    bool has_pos;
    double lat_deg, lon_deg, pos_t_s;
    /* A global position rejected as a jump from the one held: if a later pair (within two pair
     * windows), of frames all newer, agrees with it, the held one was wrong. */
    bool has_rejected;
    double rej_lat_deg, rej_lon_deg, rej_t_s;
    /* The latest position frame whose CRC held as received: a repaired frame is taken only
     * within DC_MODES_FIX_SEEN_S of it. */
    bool heard_intact;
    double intact_t_s;
} aircraft_t;

struct dc_modes_decoder {
    dc_modes_config_t cfg;
    aircraft_t *ac;
    size_t n, cap;
    dc_u64map_t by_icao; /* icao -> index in ac */
    dc_modes_stats_t st;
};

dc_modes_decoder_t *dc_modes_decoder_new(const dc_modes_config_t *cfg)
{
    dc_modes_config_t c = cfg ? *cfg : (dc_modes_config_t){0};
    if (c.max_speed_kt == 0) c.max_speed_kt = DC_GS_KT_MAX;
    if (c.receiver_range_nm == 0) c.receiver_range_nm = AIRBORNE_HALF_NM;
    if (!(c.max_speed_kt > 0 && c.max_speed_kt <= 10000) ||
        !(c.receiver_range_nm > 0 && c.receiver_range_nm <= 1000))
        return NULL;
    if (c.has_receiver && !(fabs(c.rx_lat_deg) <= 90 && fabs(c.rx_lon_deg) <= 180)) return NULL;
    dc_modes_decoder_t *dec = calloc(1, sizeof(*dec));
    if (!dec) return NULL;
    dec->cfg = c;
    return dec;
}

void dc_modes_decoder_free(dc_modes_decoder_t *dec)
{
    if (!dec) return;
    free(dec->ac);
    dc_u64map_free(&dec->by_icao);
    free(dec);
}

size_t dc_modes_decoder_count(const dc_modes_decoder_t *dec)
{
    return dec->n;
}

void dc_modes_decoder_stats(const dc_modes_decoder_t *dec, dc_modes_stats_t *stats)
{
    *stats = dec->st;
}

static void drop_at(dc_modes_decoder_t *dec, size_t i)
{
    dc_u64map_del(&dec->by_icao, dec->ac[i].icao);
    if (i != dec->n - 1) {
        dec->ac[i] = dec->ac[dec->n - 1];
        dc_u64map_put(&dec->by_icao, dec->ac[i].icao, (uint32_t)i);
    }
    dec->n--;
}

size_t dc_modes_decoder_expire(dc_modes_decoder_t *dec, double now_s)
{
    size_t dropped = 0;
    for (size_t i = dec->n; i-- > 0;) {
        if (now_s - dec->ac[i].last_t_s <= DC_MODES_EXPIRE_S) continue;
        drop_at(dec, i);
        dropped++;
    }
    return dropped;
}

/* The aircraft's entry, created when new; NULL out of memory. A full table gives up its
 * least recently heard entry: a source that keeps DC_MODES_AIRCRAFT_MAX addresses fresh (a
 * faulty or hostile one: a valid parity is easy to make) must not keep a real aircraft that
 * arrives from being located. */
static aircraft_t *aircraft_of(dc_modes_decoder_t *dec, uint32_t icao, double t_s)
{
    uint32_t idx;
    if (dc_u64map_get(&dec->by_icao, icao, &idx)) return &dec->ac[idx];
    if (dec->n == DC_MODES_AIRCRAFT_MAX && dc_modes_decoder_expire(dec, t_s) == 0) {
        dec->st.table_full++;
        size_t oldest = 0;
        for (size_t i = 1; i < dec->n; i++)
            if (dec->ac[i].last_t_s < dec->ac[oldest].last_t_s) oldest = i;
        drop_at(dec, oldest);
    }
    if (!dc_array_grow((void **)&dec->ac, &dec->cap, dec->n + 1, sizeof(*dec->ac))) return NULL;
    if (!dc_u64map_put(&dec->by_icao, icao, (uint32_t)dec->n)) return NULL;
    aircraft_t *a = &dec->ac[dec->n++];
    memset(a, 0, sizeof(*a));
    a->icao = icao;
    return a;
}

/* The entry of an aircraft whose position was heard in an intact frame within
 * DC_MODES_FIX_SEEN_S of t_s; NULL for none. */
static aircraft_t *heard_intact(dc_modes_decoder_t *dec, uint32_t icao, double t_s)
{
    uint32_t idx;
    if (!dc_u64map_get(&dec->by_icao, icao, &idx)) return NULL;
    aircraft_t *a = &dec->ac[idx];
    return a->heard_intact && fabs(t_s - a->intact_t_s) <= DC_MODES_FIX_SEEN_S ? a : NULL;
}

/* ME bits first..first+n-1 (1-based, as the standards number them) of the 56-bit field. */
static uint32_t bits(uint64_t me, int first, int n)
{
    return (uint32_t)(me >> (56 - first - n + 1)) & ((1u << n) - 1);
}

/* The 500-ft and 100-ft Gray codes of a Mode C altitude (Gillham), for the few transponders
 * without 25-ft resolution. The 12-bit field holds C1 A1 C2 A2 C4 A4 B1 Q B2 D2 B4 D4 (Q = 0,
 * and D1, always 0, left out). false for a code no altitude has. */
static bool gillham_ft(uint32_t a12, double *alt_ft)
{
#define BIT(k) ((a12 >> (k)) & 1u)
    uint32_t c1 = BIT(11), a1 = BIT(10), c2 = BIT(9), a2 = BIT(8), c4 = BIT(7), a4 = BIT(6);
    uint32_t b1 = BIT(5), b2 = BIT(3), d2 = BIT(2), b4 = BIT(1), d4 = BIT(0);
#undef BIT
    uint32_t g500 = d2 << 7 | d4 << 6 | a1 << 5 | a2 << 4 | a4 << 3 | b1 << 2 | b2 << 1 | b4;
    uint32_t n500 = 0, n100 = 0;
    for (uint32_t g = g500; g; g >>= 1) n500 ^= g; /* Gray to binary */
    for (uint32_t g = c1 << 2 | c2 << 1 | c4; g; g >>= 1) n100 ^= g;
    /* The C pulses run 1, 2, 3, 4, 7 in binary (Gray 001 011 010 110 100): 0, 5 and 6 are no
     * code, and 7 stands for 5. */
    if (n100 == 0 || n100 == 5 || n100 == 6) return false;
    if (n100 == 7) n100 = 5;
    if (n500 & 1) n100 = 6 - n100; /* the 100-ft code runs backwards in odd 500-ft steps */
    *alt_ft = (double)n500 * 500 + (double)n100 * 100 - 1300;
    return true;
}

/* The 12-bit altitude of an airborne position: DC_OK, DC_ERR_NOT_FOUND when absent (all zero),
 * DC_ERR_INVALID for no code or a value outside the tactical engine's range. */
static dc_err_t altitude_ft(uint32_t a12, double *alt_ft)
{
    if (a12 == 0) return DC_ERR_NOT_FOUND;
    if (a12 & 0x10) {
        /* Q = 1: 25-ft steps from -1,000 ft, the Q bit taken out. */
        *alt_ft = (double)((a12 >> 5) << 4 | (a12 & 0xF)) * 25 - 1000;
    } else if (!gillham_ft(a12, alt_ft)) {
        return DC_ERR_INVALID;
    }
    return *alt_ft >= DC_ALT_FT_MIN && *alt_ft <= DC_ALT_FT_MAX ? DC_OK : DC_ERR_INVALID;
}

/* The characters of an identification (DO-260B Table A-2-8): A-Z, space, 0-9; '#' is none. */
static const char AIS_CHARS[65] =
    "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######";

static dc_err_t decode_ident(uint64_t me, dc_sbs_msg_t *out)
{
    char cs[9];
    for (int k = 0; k < 8; k++) cs[k] = AIS_CHARS[bits(me, 9 + 6 * k, 6)];
    int n = 8;
    while (n > 0 && cs[n - 1] == ' ') n--;
    /* What the SBS-1 reader accepts: letters and digits, trailing spaces dropped. */
    for (int k = 0; k < n; k++)
        if (cs[k] == '#' || cs[k] == ' ') return DC_ERR_INVALID;
    if (n == 0) return DC_ERR_NOT_FOUND;
    out->type = 1;
    memcpy(out->callsign, cs, (size_t)n);
    out->callsign[n] = '\0';
    out->has |= DC_SBS_CALLSIGN;
    return DC_OK;
}

static dc_err_t decode_velocity(dc_modes_decoder_t *dec, uint64_t me, dc_sbs_msg_t *out)
{
    uint32_t st = bits(me, 6, 3);
    if (st < 1 || st > 4) return DC_ERR_NOT_FOUND; /* reserved subtypes */
    out->type = 4;
    if (st <= 2) {
        /* Ground speed as east-west and north-south components, 1 kt steps (4 kt for the
         * supersonic subtype 2), 0 meaning unknown. */
        uint32_t vew = bits(me, 15, 10), vns = bits(me, 26, 10);
        if (vew && vns) {
            double k = st == 2 ? 4 : 1;
            double vx = (vew - 1.0) * k * (bits(me, 14, 1) ? -1 : 1);
            double vy = (vns - 1.0) * k * (bits(me, 25, 1) ? -1 : 1);
            double gs = sqrt(vx * vx + vy * vy);
            if (gs > DC_GS_KT_MAX) return DC_ERR_INVALID;
            double trk = atan2(vx, vy) * 180 / M_PI;
            if (trk < 0) trk += 360;
            out->gs_kt = gs;
            out->trk_deg = trk >= 360 ? 0 : trk;
            out->has |= DC_SBS_GS | DC_SBS_TRK;
        }
    } else {
        /* Airspeed and heading: no ground track to extrapolate with. Recognised and counted,
         * the vertical rate still taken. */
        dec->st.airspeed++;
    }
    uint32_t vr = bits(me, 38, 9);
    if (vr) {
        int vs = ((int)vr - 1) * 64; /* at most 32,640 ft/min: in range */
        out->vs_fpm = bits(me, 37, 1) ? -vs : vs;
        out->has |= DC_SBS_VS;
    }
    if (!(out->has & (DC_SBS_GS | DC_SBS_VS))) return DC_ERR_NOT_FOUND;
    out->on_ground = false, out->has |= DC_SBS_GROUND; /* sent airborne only */
    return DC_OK;
}

/* Surface movement (DO-260B Table A-2-6): a quantised ground speed, finer when slow. false for
 * no information or a reserved code. */
static bool movement_kt(uint32_t mov, double *kt)
{
    if (mov == 1)
        *kt = 0; /* stopped */
    else if (mov >= 2 && mov <= 8)
        *kt = 0.125 + (mov - 2) * 0.125;
    else if (mov >= 9 && mov <= 12)
        *kt = 1 + (mov - 9) * 0.25;
    else if (mov >= 13 && mov <= 38)
        *kt = 2 + (mov - 13) * 0.5;
    else if (mov >= 39 && mov <= 93)
        *kt = 15 + (mov - 39);
    else if (mov >= 94 && mov <= 108)
        *kt = 70 + (mov - 94) * 2;
    else if (mov >= 109 && mov <= 123)
        *kt = 100 + (mov - 109) * 5;
    else if (mov == 124)
        *kt = 175; /* 175 kt or more */
    else
        return false;
    return true;
}

/* Is a decoded position a plausible move from the aircraft's last one? */
static bool plausible(const dc_modes_decoder_t *dec, double lat0, double lon0, double t0,
                      double lat, double lon, double t)
{
    double allowed = dec->cfg.max_speed_kt * (fabs(t - t0) + SPEED_SLACK_S) / 3600.0;
    return dist_nm(lat0, lon0, lat, lon) <= allowed;
}

/* A reference for local decoding or for the surface's zone: the aircraft's own recent position,
 * else the receiver's. */
static bool reference(const dc_modes_decoder_t *dec, const aircraft_t *a, double t_s, double *lat,
                      double *lon, bool *own)
{
    *own = a->has_pos && fabs(t_s - a->pos_t_s) <= LOCAL_REF_MAX_S;
    if (*own) {
        *lat = a->lat_deg, *lon = a->lon_deg;
        return true;
    }
    if (!dec->cfg.has_receiver) return false;
    *lat = dec->cfg.rx_lat_deg, *lon = dec->cfg.rx_lon_deg;
    return true;
}

/* Finds the position of a's newest frame (index odd): globally from a recent pair, else locally
 * from a reference; checked against the last position. true with the position in *lat, *lon. */
static bool locate(dc_modes_decoder_t *dec, aircraft_t *a, bool odd, bool surface, double t_s,
                   double *lat, double *lon)
{
    const cpr_frame_t *cur = &a->frame[odd], *other = &a->frame[!odd];
    double ref_lat = 0, ref_lon = 0;
    bool own = false, has_ref = reference(dec, a, t_s, &ref_lat, &ref_lon, &own);
    double window = surface ? DC_MODES_SURFACE_PAIR_S : DC_MODES_PAIR_S;
    bool global = false, found = false;
    if (other->valid && other->surface == surface && fabs(t_s - other->t_s) <= window &&
        (!surface || has_ref)) {
        const cpr_frame_t *e = odd ? other : cur, *o = odd ? cur : other;
        dc_err_t rc = dc_modes_cpr_global(e->lat, e->lon, o->lat, o->lon, odd, surface, ref_lat,
                                          ref_lon, lat, lon);
        if (rc == DC_OK)
            global = found = true;
        else
            dec->st.cpr_zone++;
    }
    if (!found && has_ref) {
        /* From the receiver only when every aircraft it hears is within half a zone of it:
         * airborne, when its range is at most 180 NM; on the surface always, as an aircraft on
         * the ground is heard from a few tens of miles at most. */
        bool usable = own || surface || dec->cfg.receiver_range_nm <= AIRBORNE_HALF_NM;
        found = usable && dc_modes_cpr_local(cur->lat, cur->lon, odd, surface, ref_lat, ref_lon,
                                             lat, lon) == DC_OK;
        if (found && !own)
            found = dist_nm(ref_lat, ref_lon, *lat, *lon) <= dec->cfg.receiver_range_nm;
    }
    if (!found) {
        dec->st.cpr_waiting++;
        return false;
    }
    /* The speed check is against a recent position only: a wrong one held long ago would
     * otherwise keep refusing the aircraft for as long as the error takes to fly. A global fix
     * after JUMP_CHECK_MAX_S stands by itself; a local one needs a recent reference anyway. */
    if (a->has_pos && fabs(t_s - a->pos_t_s) <= JUMP_CHECK_MAX_S &&
        !plausible(dec, a->lat_deg, a->lon_deg, a->pos_t_s, *lat, *lon, t_s)) {
        /* A jump. One pair can be wrong (a corrupted frame the CRC missed) and so can the
         * position held: a second pair, of newer frames only, that agrees with the first
         * rejected one outvotes the position held. */
        bool agrees = global && a->has_rejected && t_s - a->rej_t_s <= 2 * window &&
                      plausible(dec, a->rej_lat_deg, a->rej_lon_deg, a->rej_t_s, *lat, *lon, t_s);
        if (!(agrees && fmin(cur->t_s, other->t_s) > a->rej_t_s)) {
            dec->st.cpr_jump++;
            /* The first rejected pair is kept while later ones agree with it, so that the pair
             * after it, of newer frames only, can confirm it. */
            if (global && !agrees) {
                a->has_rejected = true;
                a->rej_lat_deg = *lat, a->rej_lon_deg = *lon, a->rej_t_s = t_s;
            }
            return false;
        }
    }
    if (global)
        dec->st.cpr_global++;
    else
        dec->st.cpr_local++;
    a->has_pos = true, a->has_rejected = false;
    a->lat_deg = *lat, a->lon_deg = *lon, a->pos_t_s = t_s;
    return true;
}

/* Airborne (TC 9-18 barometric, 20-22 GNSS height) and surface (TC 5-8) positions. repaired:
 * the aircraft's entry for a repaired frame (heard_intact() found it); NULL for an intact frame,
 * whose entry is found or made here and marked heard intact. */
static dc_err_t decode_position(dc_modes_decoder_t *dec, aircraft_t *repaired, uint32_t icao,
                                uint64_t me, int tc, double t_s, dc_sbs_msg_t *out)
{
    bool surface = tc <= 8;
    if (surface) {
        out->type = 2;
        double kt;
        if (movement_kt(bits(me, 6, 7), &kt)) out->gs_kt = kt, out->has |= DC_SBS_GS;
        if (bits(me, 13, 1)) {
            out->trk_deg = bits(me, 14, 7) * 360.0 / 128;
            out->has |= DC_SBS_TRK;
        }
        out->on_ground = true, out->has |= DC_SBS_GROUND;
    } else {
        out->type = 3;
        /* The GNSS height of TC 20-22 is above the ellipsoid, not a pressure altitude: mixing
         * it with other aircraft's barometric levels would misjudge vertical separation, so
         * only the position is used. */
        if (tc <= 18) {
            dc_err_t rc = altitude_ft(bits(me, 9, 12), &out->alt_ft);
            if (rc == DC_ERR_INVALID) return DC_ERR_INVALID;
            if (rc == DC_OK) out->has |= DC_SBS_ALT;
        }
        out->on_ground = false, out->has |= DC_SBS_GROUND;
    }
    aircraft_t *a = repaired ? repaired : aircraft_of(dec, icao, t_s);
    if (a) {
        bool odd = bits(me, 22, 1);
        if (!repaired) a->heard_intact = true, a->intact_t_s = t_s;
        a->last_t_s = t_s;
        a->frame[odd] = (cpr_frame_t){.lat = bits(me, 23, 17),
                                      .lon = bits(me, 40, 17),
                                      .t_s = t_s,
                                      .valid = true,
                                      .surface = surface};
        if (locate(dec, a, odd, surface, t_s, &out->lat_deg, &out->lon_deg)) out->has |= DC_SBS_POS;
    }
    return out->has & (DC_SBS_POS | DC_SBS_ALT | DC_SBS_GS) ? DC_OK : DC_ERR_NOT_FOUND;
}

dc_err_t dc_modes_decode(dc_modes_decoder_t *dec, const uint8_t *msg, size_t len, double t_s,
                         dc_sbs_msg_t *out)
{
    return dc_modes_decode_parity(dec, msg, len, t_s, out, false);
}

dc_err_t dc_modes_decode_parity(dc_modes_decoder_t *dec, const uint8_t *msg, size_t len, double t_s,
                                dc_sbs_msg_t *out, bool parity_checked)
{
    dec->st.messages++;
    if (len != DC_MODES_SHORT_BYTES && len != DC_MODES_LONG_BYTES) {
        dec->st.out_of_range++;
        return DC_ERR_INVALID;
    }
    int df = msg[0] >> 3;
    /* DF18 with CF 0 is ADS-B from a non-transponder device under an ICAO address; its other
     * control fields (anonymous addresses, TIS-B, ADS-R) are a ground station's rebroadcasts. */
    if (len != DC_MODES_LONG_BYTES || (df != 17 && df != 18)) {
        dec->st.not_adsb++;
        return DC_ERR_NOT_FOUND;
    }
    /* A failed CRC: repaired when one flipped bit outside the DF field explains it (the DF is
     * 17 or 18 already, and the DF bits are not in SYNDROMES), in a copy. */
    uint8_t repaired[DC_MODES_LONG_BYTES];
    bool is_repaired = false;
    uint32_t syn = parity_checked ? 0 : dc_modes_crc(msg, len);
    if (syn != 0) {
        int bit = dec->cfg.no_crc_fix ? -1 : error_bit(syn);
        if (bit < 0) {
            dec->st.crc_bad++;
            return DC_ERR_INVALID;
        }
        memcpy(repaired, msg, sizeof(repaired));
        repaired[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        msg = repaired;
        is_repaired = true;
    }
    if (df == 18 && (msg[0] & 7) != 0) {
        dec->st.not_adsb++;
        return DC_ERR_NOT_FOUND;
    }
    memset(out, 0, sizeof(*out));
    out->icao = (uint32_t)msg[1] << 16 | (uint32_t)msg[2] << 8 | msg[3];
    out->t_s = t_s;
    /* Only an intact frame makes an aircraft known. A repaired one must come from an address
     * whose position was heard intact lately: a frame of 5 or more errors can pass for a
     * repairable one, and would otherwise start an aircraft that does not exist (a ghost). The
     * mark is kept with the CPR state, which only position frames look up: an intact frame
     * costs nothing more (docs/feeds.md, "Error correction"). */
    aircraft_t *known = NULL;
    if (is_repaired) {
        known = heard_intact(dec, out->icao, t_s);
        if (!known) {
            dec->st.crc_bad++;
            dec->st.fix_unknown++;
            return DC_ERR_INVALID;
        }
        dec->st.crc_fixed++;
    }
    uint64_t me = 0;
    for (int i = 4; i < 11; i++) me = me << 8 | msg[i];
    int tc = (int)bits(me, 1, 5);
    dc_err_t rc;
    if (tc >= 1 && tc <= 4)
        rc = decode_ident(me, out);
    else if ((tc >= 5 && tc <= 18) || (tc >= 20 && tc <= 22))
        rc = decode_position(dec, known, out->icao, me, tc, t_s, out);
    else if (tc == 19)
        rc = decode_velocity(dec, me, out);
    else
        rc = DC_ERR_NOT_FOUND;
    if (rc == DC_OK)
        dec->st.decoded++;
    else if (rc == DC_ERR_INVALID)
        dec->st.out_of_range++;
    else if (tc < 5 || tc == 19 || tc > 22)
        dec->st.ignored++;
    return rc;
}
