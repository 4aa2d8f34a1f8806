/* deconflict — Beast binary input: the Mode S stream dump1090 and readsb serve on TCP port 30005,
 * cut into frames and its ADS-B messages decoded into the messages the SBS-1 reader produces
 * (deconflict/sbs.h), so that one tracker (dc_sbs_tracker_*) merges aircraft from either source
 * the same way (docs/feeds.md).
 *
 * Two layers:
 *   - the Mode S decoder (lib/feeds/modes.c): the CRC-24 of ICAO Annex 10 Vol. IV, with the
 *     repair of single-bit errors in DF17/18 (as dump1090 and readsb do, behind a guard against
 *     ghost aircraft: docs/feeds.md), and the extended squitters (DF17, and DF18 with CF 0) of
 *     DO-260B / EUROCAE ED-102A --
 *     identification (TC 1-4), surface position (TC 5-8), airborne position with barometric
 *     altitude (TC 9-18) or GNSS height (TC 20-22), airborne velocity (TC 19) -- with their
 *     positions found by CPR (Compact Position Reporting, DO-260B Appendix A), as explained in
 *     Junzi Sun's "The 1090 Megahertz Riddle";
 *   - the Beast framing (lib/feeds/beast.c): 0x1a, a type byte ('1' Mode A/C, '2' Mode S short,
 *     '3' Mode S long), a 6-byte 12 MHz counter, a signal byte and the message, every 0x1a inside
 *     doubled.
 *
 * CPR needs memory: the last even and odd frame and the last position of every aircraft, and
 * for the repair, when its position last came in an intact frame. That lives in the decoder
 * object, one entry per ICAO address (made by a position frame) in an open-addressing table,
 * dropped after DC_MODES_EXPIRE_S without a message and bounded by DC_MODES_AIRCRAFT_MAX, so a
 * flood of addresses cannot grow it without limit.
 *
 * Positions are WGS84 degrees; altitudes feet, speeds knots, vertical rates feet per minute, times
 * Unix seconds. Every decoded value has the range the SBS-1 reader gives it (the tactical
 * engine's): a message with a value outside it is dropped and counted, never passed on. */
#ifndef DECONFLICT_BEAST_H
#define DECONFLICT_BEAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"
#include "deconflict/sbs.h"

#define DC_MODES_SHORT_BYTES  7    /* a 56-bit Mode S message */
#define DC_MODES_LONG_BYTES   14   /* a 112-bit one: every extended squitter */
#define DC_MODES_LONG_BITS    112  /* DC_MODES_LONG_BYTES in bits */
#define DC_MODES_AIRCRAFT_MAX 4096 /* aircraft whose CPR state a decoder holds at once */
#define DC_MODES_EXPIRE_S     60   /* an aircraft's CPR state is dropped after this quiet */
#define DC_MODES_PAIR_S                                                                            \
    10 /* an even/odd pair further apart than this is not decoded                                  \
        * globally (airborne; as dump1090 does) */
#define DC_MODES_SURFACE_PAIR_S                                                                    \
    25 /* the same for surface positions, 4 times finer zones but                                  \
        * slower movers */
#define DC_MODES_SURFACE_REF_NM                                                                    \
    45 /* surface CPR repeats every 90 NM of latitude: the reference                               \
        * that picks the zone must lie within half of that */
/* A DF17/18 frame repaired of a single-bit error is taken only from an address whose position
 * came in an intact frame this recently (docs/feeds.md, "Error correction"). */
#define DC_MODES_FIX_SEEN_S 60

/* The CRC-24 remainder of a whole Mode S message of len bytes (7 or 14): 0 for an intact
 * extended squitter (DF17/18), whose last 24 bits are its parity; for other formats the
 * remainder is the address or interrogator the parity was overlaid with. */
uint32_t dc_modes_crc(const uint8_t *msg, size_t len);

/* Repairs an extended squitter (DF17, DF18) whose CRC fails because of one flipped bit: flips it
 * back and returns its number, 5..111 (0 is the first bit sent; the standards number it 1).
 * -1, msg unchanged, when the frame is no DF17/18, its CRC holds, or no single flipped bit outside
 * the DF field (bits 0-4) explains its remainder: an error of two or more bits is never repaired
 * (2 to 4 bits are always told from 1; 5 or more can be mistaken for 1 bit elsewhere), nor a DF
 * bit, whose repair would change the frame's format. Borrows msg, 14 bytes. */
int dc_modes_crc_fix(uint8_t msg[DC_MODES_LONG_BYTES]);

/* The number of CPR longitude zones at a latitude (1..59), the NL() of DO-260B A.1.7.2, from the
 * table of its transition latitudes (not the arc-cosine formula, which rounds unreliably at the
 * boundaries). */
int dc_modes_cpr_nl(double lat_deg);

/* Global CPR: the position from an even and an odd frame (17-bit lat/lon each) of one aircraft,
 * taken at the latest of the two (latest_odd). Surface frames (zones 4 times finer) repeat every
 * 90 degrees: the candidate nearest ref_lat_deg/ref_lon_deg is taken, and it must lie within
 * DC_MODES_SURFACE_REF_NM of it (the reference is unused for airborne frames). DC_OK;
 * DC_ERR_INVALID when the two frames lie in different longitude zones (the aircraft crossed a
 * zone boundary between them: NL differs) or the latitude is outside [-90, 90]. */
dc_err_t dc_modes_cpr_global(uint32_t even_lat, uint32_t even_lon, uint32_t odd_lat,
                             uint32_t odd_lon, bool latest_odd, bool surface, double ref_lat_deg,
                             double ref_lon_deg, double *lat_deg, double *lon_deg);

/* Local CPR: the position from one frame and a reference within half a zone of it (180 NM
 * airborne, 45 NM on the surface) -- the aircraft's last position, or the receiver's. The
 * caller judges whether the reference is that close; DC_ERR_INVALID only for a latitude outside
 * [-90, 90]. */
dc_err_t dc_modes_cpr_local(uint32_t lat_cpr, uint32_t lon_cpr, bool odd, bool surface,
                            double ref_lat_deg, double ref_lon_deg, double *lat_deg,
                            double *lon_deg);

/* ---- the decoder ---- */

typedef struct dc_modes_config {
    double max_speed_kt; /* a decoded position further from the aircraft's last one than this
                          * speed allows (plus 1 s of slack) is rejected (default, 0: 2,000 kt) */
    bool has_receiver;   /* the receiver's position is known: surface positions and aircraft
                          * within receiver_range_nm decode from one frame */
    double rx_lat_deg, rx_lon_deg;
    double receiver_range_nm; /* no aircraft is heard further than this (default, 0: 180 NM;
                               * local decoding from the receiver needs <= 180) */
    bool no_crc_fix; /* true: a DF17/18 whose CRC fails is dropped, never repaired (default,
                      * false: single-bit errors are repaired, dc_modes_crc_fix(), for an
                      * address whose position came intact within DC_MODES_FIX_SEEN_S) */
} dc_modes_config_t;

/* What a decoder did, counted since it was created. */
typedef struct dc_modes_stats {
    uint64_t messages;     /* messages given to dc_modes_decode() */
    uint64_t crc_bad;      /* DF17/18 that failed the CRC and were not repaired: dropped */
    uint64_t crc_fixed;    /* DF17/18 repaired of a single-bit error, then decoded as intact */
    uint64_t fix_unknown;  /* of crc_bad: repairable, but from an address whose position did not
                            * come intact within DC_MODES_FIX_SEEN_S (perhaps no aircraft) */
    uint64_t not_adsb;     /* other formats, DF18 other than CF 0 (TIS-B, ADS-R, non-ICAO) */
    uint64_t ignored;      /* ADS-B types not decoded (status, target state, TC 0, 23-31) */
    uint64_t out_of_range; /* a value outside its range, a bad character: dropped */
    uint64_t decoded;      /* messages that became a dc_sbs_msg_t */
    uint64_t cpr_global;   /* positions from an even/odd pair */
    uint64_t cpr_local;    /* positions from one frame and a reference */
    uint64_t cpr_zone;     /* pairs straddling a longitude zone boundary: no position */
    uint64_t cpr_jump;     /* positions rejected: further from the last than max_speed_kt */
    uint64_t cpr_waiting;  /* no position yet: no pair, no reference */
    uint64_t airspeed;     /* TC 19 subtypes 3-4 (airspeed and heading): not a ground track */
    uint64_t table_full;   /* DC_MODES_AIRCRAFT_MAX held: the least recently heard gave way */
} dc_modes_stats_t;

typedef struct dc_modes_decoder dc_modes_decoder_t;

/* A decoder with cfg (NULL: the defaults). NULL when out of memory or cfg is out of range
 * (a speed outside 0..10,000 kt, a receiver position outside WGS84, a range outside 0..1,000
 * NM). Free with dc_modes_decoder_free(). */
dc_modes_decoder_t *dc_modes_decoder_new(const dc_modes_config_t *cfg);
void dc_modes_decoder_free(dc_modes_decoder_t *dec);

/* Decodes one Mode S message of len bytes received at t_s (Unix seconds), updating the
 * aircraft's CPR state. DC_OK with *out filled (type 1 identification, 2 surface position, 3
 * airborne position -- with its altitude and, once CPR gives it, its position -- or 4
 * velocity; t_s as given); DC_ERR_NOT_FOUND for a valid message that carries nothing decoded
 * here (another format or type, a position without altitude still waiting for its pair);
 * DC_ERR_INVALID for a failed CRC, a length other than 7 or 14, a value out of range. A DF17/18
 * whose CRC fails by one bit outside its DF field is repaired (a copy: msg is not changed) and
 * decoded if a position of its address came in an intact frame within DC_MODES_FIX_SEEN_S of
 * t_s, unless cfg.no_crc_fix. Counted in the stats either way. */
dc_err_t dc_modes_decode(dc_modes_decoder_t *dec, const uint8_t *msg, size_t len, double t_s,
                         dc_sbs_msg_t *out);

/* Drops the CPR state of aircraft not heard since now_s - DC_MODES_EXPIRE_S; returns how many. */
size_t dc_modes_decoder_expire(dc_modes_decoder_t *dec, double now_s);

/* The aircraft held, and the counts so far. */
size_t dc_modes_decoder_count(const dc_modes_decoder_t *dec);
void dc_modes_decoder_stats(const dc_modes_decoder_t *dec, dc_modes_stats_t *stats);

/* ---- the Beast stream ---- */

#define DC_BEAST_TICKS_HZ 12000000.0 /* the frames' counter */
/* A capture's counter going back further than DC_BEAST_CLOCK_BACK_S, or forward further than
 * DC_BEAST_CLOCK_JUMP_S, is a break (the receiver restarted, or two receivers' frames are merged
 * far apart): the clock goes on from the latest time, adding nothing. */
#define DC_BEAST_CLOCK_BACK_S 10
#define DC_BEAST_CLOCK_JUMP_S 60

typedef struct dc_beast_config {
    /* The time of a capture's first frame, Unix seconds; the others follow by the 12 MHz
     * counter, which has no epoch. NAN for a live source: each frame is then timed by now_s as
     * read (the receiver's counter drifts from the daemon's clock and restarts with it). */
    double t0_s;
    dc_modes_config_t modes;
} dc_beast_config_t;

/* A stream's counts. frames + bad is what /metrics reports for a Beast feed. */
typedef struct dc_beast_stats {
    uint64_t frames;          /* frames read, well-formed or refused by their framing */
    uint64_t bad;             /* of which refused: bad framing, a failed CRC not repaired, a value
                               * out of range (a run of bytes skipped between frames counts as
                               * one); the repaired are modes.crc_fixed */
    uint64_t modeac;          /* of the frames: Mode A/C replies (not decoded) */
    uint64_t short_frames;    /* Mode S short (DF0/4/5/11: not decoded) */
    uint64_t long_frames;     /* Mode S long */
    uint64_t framing_bad;     /* an unknown type byte, a frame cut short by another's 0x1a, a run
                               * of skipped bytes */
    uint64_t garbage_bytes;   /* bytes skipped between frames */
    uint64_t clock_resets;    /* the counter broke (a capture's receiver restarted) */
    double first_s, latest_s; /* the times given to the first and the latest frame (NAN: none) */
    dc_modes_stats_t modes;
} dc_beast_stats_t;

typedef struct dc_beast_stream dc_beast_stream_t;

/* A stream reader with cfg (NULL: live, default decoder). NULL when out of memory or cfg is
 * out of range. Free with dc_beast_stream_free(). */
dc_beast_stream_t *dc_beast_stream_new(const dc_beast_config_t *cfg);
void dc_beast_stream_free(dc_beast_stream_t *s);

/* A new connection: a partial frame left from the last one is dropped (not counted). The
 * aircraft's CPR state is kept. */
void dc_beast_stream_reset(dc_beast_stream_t *s);

/* Feeds len bytes (any cut: a frame may span calls) received at now_s (used by a live stream
 * only); fn is called for every message decoded, in order. Never fails: bad bytes are counted
 * and skipped, the stream resynchronising at the next frame. */
void dc_beast_stream_feed(dc_beast_stream_t *s, const uint8_t *buf, size_t len, double now_s,
                          void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx);

/* One read() of fd into dc_beast_stream_feed(). DC_OK, or DC_ERR_IO when the source closed the
 * connection or the read failed. */
dc_err_t dc_beast_stream_read(dc_beast_stream_t *s, int fd, double now_s,
                              void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx);

void dc_beast_stream_stats(const dc_beast_stream_t *s, dc_beast_stats_t *stats);

/* True when the bytes start like a Beast stream: 0x1a and a type '1', '2' or '3' (how
 * `deconflict replay` tells a capture from text, whatever its name). */
bool dc_beast_looks_like(const uint8_t *buf, size_t len);

#endif
