/* deconflict — EUROCONTROL ASTERIX, the surveillance data exchange format of air navigation
 * service providers and air forces (docs/feeds.md, "ASTERIX").
 *
 * Decoded: CAT021 ADS-B target reports (editions 0.23, 0.26 and 2.1-2.6), CAT048 monoradar
 * target reports (1.2x), CAT062 system tracks (1.12-1.19) and CAT004 safety-net messages
 * (1.12). Encoded: CAT021 (2.6), CAT062 (1.19) and CAT004 (1.12).
 *
 * A data block is CAT (1 octet), LEN (2 octets, the whole block), then records; a record is a
 * field specification (FSPEC) and the data items it announces, in the order of the category's
 * User Application Profile (UAP). The UAPs are tables (lib/feeds/asterix_uap.c): every item's
 * length is known from its format (fixed, extended by FX bits, repetitive, explicit, compound),
 * so items this module does not interpret are skipped, never guessed. Every length is checked
 * against the block; a block with any malformed record yields no record at all.
 *
 * Units as in the rest of the library: WGS84 degrees, feet, flight levels (hundreds of feet),
 * knots, degrees true, feet per minute, seconds. Times in ASTERIX are seconds since midnight UTC
 * (time of day), which dc_asterix_tod_to_unix() places on a date. */
#ifndef DECONFLICT_ASTERIX_H
#define DECONFLICT_ASTERIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"
#include "deconflict/sbs.h"
#include "deconflict/tactical.h"

#define DC_ASTERIX_BLOCK_MAX  65535 /* octets: LEN is 16 bits */
#define DC_ASTERIX_RADARS_MAX 64    /* CAT048 sites in one configuration */

/* CAT021 editions differ in their UAP, and a block does not say which it is: the sender's
 * edition is configuration. */
typedef enum dc_asterix_cat021_edition {
    DC_ASTERIX_CAT021_V2 = 0, /* 2.1-2.6 (the default, and tshark's) */
    DC_ASTERIX_CAT021_V026 = 1,
    DC_ASTERIX_CAT021_V023 = 2,
} dc_asterix_cat021_edition_t;

/* A radar site: CAT048 plots are polar (slant range, azimuth) from it. */
typedef struct dc_asterix_radar {
    int sac, sic;
    double lat_deg, lon_deg, alt_ft;
} dc_asterix_radar_t;

/* "2" (or "2.1" to "2.6"), "0.26" or "0.23" into *ed; DC_ERR_INVALID for anything else. The
 * CLI's --cat021-edition and the daemon's asterix_cat021_edition both read it so. */
dc_err_t dc_asterix_parse_edition(const char *text, dc_asterix_cat021_edition_t *ed);

/* "SAC/SIC:LAT,LON[,ALT_FT]" into *radar: SAC and SIC 0..255, WGS84 degrees, the antenna at
 * -1500..30000 ft (0 when left out); DC_ERR_INVALID for anything else. */
dc_err_t dc_asterix_parse_radar(const char *text, dc_asterix_radar_t *radar);

typedef struct dc_asterix_config {
    dc_asterix_cat021_edition_t cat021_edition;
    size_t n_radars;
    dc_asterix_radar_t radars[DC_ASTERIX_RADARS_MAX];
} dc_asterix_config_t;

/* Which fields a record carries (dc_asterix_record_t.has). */
enum {
    DC_ASTERIX_TOD = 1 << 0,
    DC_ASTERIX_ADDR = 1 << 1,
    DC_ASTERIX_TRACK = 1 << 2,
    DC_ASTERIX_POS = 1 << 3,
    DC_ASTERIX_FL = 1 << 4,
    DC_ASTERIX_GEO_ALT = 1 << 5,
    DC_ASTERIX_VEL = 1 << 6, /* gs_kt and trk_deg */
    DC_ASTERIX_VS = 1 << 7,
    DC_ASTERIX_CALLSIGN = 1 << 8,
    DC_ASTERIX_MODE3A = 1 << 9,
    DC_ASTERIX_POLAR = 1 << 10,   /* CAT048 rho_nm and theta_deg */
    DC_ASTERIX_QUALITY = 1 << 11, /* CAT021 nic */
    DC_ASTERIX_AGE = 1 << 12,     /* CAT062 age_s */
    DC_ASTERIX_TRACK2 = 1 << 13,  /* CAT004 track_number_2 */
    DC_ASTERIX_TIMING = 1 << 14,  /* CAT004 conflict timing and separation */
    DC_ASTERIX_ALERT = 1 << 15,   /* CAT004 alert_id and alert_status */
};

/* What a record says about its target (dc_asterix_record_t.flags). */
enum {
    DC_ASTERIX_GROUND = 1 << 0,    /* on the ground (CAT021 GBS) */
    DC_ASTERIX_SIMULATED = 1 << 1, /* a simulated target (CAT021/048/062 SIM) */
    DC_ASTERIX_TEST = 1 << 2,      /* a test target or field monitor (CAT021 TST/RAB, 048) */
    DC_ASTERIX_COASTING = 1 << 3,  /* CAT062 CST: extrapolated, no fresh detection */
    DC_ASTERIX_ENDED = 1 << 4,     /* the track's last message (CAT062 TSE, CAT048 TRE) */
    DC_ASTERIX_TENTATIVE = 1 << 5, /* not yet confirmed (CAT062/048 CNF) */
    DC_ASTERIX_SUSPECT = 1 << 6,   /* the ground station doubts the position (CAT021 2.x CL,
                                    * IPC, NOGO, CPR or RCF): no position is fed */
};

/* CAT004 message types used here (I004/000). */
enum {
    DC_ASTERIX_CAT004_ALIVE = 1,
    DC_ASTERIX_CAT004_END_OF_CONFLICT = 17,
    DC_ASTERIX_CAT004_STCA = 7,
};

/* One record, decoded or to encode. Fields not named in has are 0. */
typedef struct dc_asterix_record {
    int cat;      /* 4, 21, 48 or 62 */
    int sac, sic; /* the data source */
    unsigned has, flags;
    double tod_s;     /* time of day, s since midnight UTC: [0, 86400) */
    uint32_t addr;    /* 24-bit ICAO address */
    int track_number; /* 0..65535 (CAT021/048: 0..4095) */
    double lat_deg, lon_deg;
    double fl;         /* barometric flight level (hundreds of feet) */
    double geo_alt_ft; /* geometric height / altitude */
    double gs_kt, trk_deg, vs_fpm;
    double rho_nm, theta_deg; /* CAT048 slant range and azimuth from the radar */
    char callsign[9];         /* up to 8 characters, trailing spaces dropped */
    int mode3a;               /* 12 bits, printed as 4 octal digits */
    int nic;                  /* CAT021 NUCp or NIC, 0..15 (0: integrity unknown) */
    double age_s;             /* CAT062: seconds since the track was last updated */
    /* CAT004 */
    int msg_type;                             /* I004/000 */
    int track_number_2;                       /* the second aircraft of an alert */
    int alert_id;                             /* I004/040 */
    int alert_status;                         /* I004/045, 0..7: here the alert level */
    double time_to_conflict_s, time_to_cpa_s; /* I004/070 TC, TCA */
    double cpa_h_nm, cpa_v_ft;                /* I004/070 MHS, MVS: separation at closest
                                               * approach (cpa_v_ft NAN: unknown, not sent) */
    bool has_second;                          /* I004/171 follows for the second aircraft: */
    char callsign_2[9];
    double lat2_deg, lon2_deg, fl2;
} dc_asterix_record_t;

typedef void (*dc_asterix_record_fn)(const dc_asterix_record_t *rec, void *ctx);

/* Decodes the data block at buf, of which len octets are available. On DC_OK each record has
 * been passed to fn (may be NULL: only validate) and *used is the block's length. A block of a
 * category not decoded here is DC_ERR_NOT_FOUND, with *used set so that the caller can skip it.
 * DC_ERR_INCOMPLETE when len is shorter than the block says (*used = 0); DC_ERR_INVALID for a
 * malformed block (a LEN under 3, a record that overruns the block, an item the UAP does not
 * define, a value out of range), with msg naming the item; *used is then the block's LEN when
 * that much is available (the caller may skip it), else 0. No record of an invalid block is
 * passed to fn. Reads nothing past buf + len. */
dc_err_t dc_asterix_decode_block(const uint8_t *buf, size_t len, const dc_asterix_config_t *cfg,
                                 dc_asterix_record_fn fn, void *ctx, size_t *used, char *msg,
                                 size_t msg_len);

/* Counts kept by dc_asterix_decode_datagram(). */
typedef struct dc_asterix_stats {
    uint64_t blocks, records, bad_blocks, other_blocks; /* other: categories not decoded */
} dc_asterix_stats_t;

/* Decodes every data block in one datagram (a UDP payload, or a whole raw file). Stops at the
 * first block that is invalid or runs past len, which it counts in bad_blocks; msg then says
 * why. DC_OK when every block was decoded or skipped as another category. */
dc_err_t dc_asterix_decode_datagram(const uint8_t *buf, size_t len, const dc_asterix_config_t *cfg,
                                    dc_asterix_record_fn fn, void *ctx, dc_asterix_stats_t *stats,
                                    char *msg, size_t msg_len);

/* The Unix time of time of day tod_s on the UTC day that puts it nearest ref_s (ASTERIX times
 * wrap at midnight; a report just before midnight received just after it is of the day before). */
double dc_asterix_tod_to_unix(double tod_s, double ref_s);

/* ---- from records to aircraft ----
 * A record becomes what the SBS-1 reader yields, so one tracker (dc_sbs_tracker_t) merges every
 * feed: up to three messages — identification (type 1), velocity (4), then position (3, or 2 on
 * the ground) — at time t_s. The altitude is the flight level, or the geometric height when no
 * flight level is sent. Simulated and test targets, ended tracks, and records with no 24-bit
 * address yield nothing: a record without an address is a track the source numbers itself,
 * which dc_asterix_track_state() handles. A coasting track (CAT062 CST) yields its
 * identification only: its position is the source's extrapolation, and the service ages the
 * track from its last measured report. Returns how many messages were written to out. */
size_t dc_asterix_to_messages(const dc_asterix_record_t *rec, double t_s, dc_sbs_msg_t out[3]);

/* A complete state from one record that carries no address but a track number, a position, a
 * flight level or height and a velocity (a CAT062 track of a primary-only target): id "T",
 * SAC and SIC as two hex digits each, "-", the track number as four (T0680-17BD). False when the
 * record is not such a record. */
bool dc_asterix_track_state(const dc_asterix_record_t *rec, double t_s, dc_track_state_t *st,
                            char callsign[9]);

/* ---- encoding ----
 * A block under construction: records of one category, up to cap octets (a UDP datagram's
 * payload; at most DC_ASTERIX_BLOCK_MAX). */
typedef struct dc_asterix_block {
    uint8_t buf[DC_ASTERIX_BLOCK_MAX];
    size_t len, cap;
    int cat;
    size_t records;
} dc_asterix_block_t;

/* Starts an empty block of category cat (4, 21 or 62) holding at most cap octets (16..65535). */
void dc_asterix_block_start(dc_asterix_block_t *blk, int cat, size_t cap);

/* Appends rec, encoded in the block's category. DC_ERR_LIMIT when it does not fit (the block is
 * unchanged: send it and start another); DC_ERR_INVALID, msg naming the field, when a field is
 * out of the format's range (a latitude over 90, a track number over 4095 in CAT021, a time of
 * day outside [0, 86400), a callsign with a character ASTERIX cannot carry). */
dc_err_t dc_asterix_block_add(dc_asterix_block_t *blk, const dc_asterix_record_t *rec, char *msg,
                              size_t msg_len);

/* ---- files and captures ----
 * ASTERIX arrives as raw data blocks (a .ast recording: blocks back to back) or as UDP
 * datagrams, recorded in pcap or pcapng files. A source yields datagrams: a UDP payload of a
 * capture (IPv4 or IPv6 over Ethernet, raw IP, Linux cooked or loopback link types; fragments
 * are skipped), or one block of a raw file. */
typedef struct dc_asterix_source dc_asterix_source_t;

/* Opens path, recognised by its first octets (pcap, pcapng, else raw blocks). DC_ERR_IO or
 * DC_ERR_INVALID with msg. Caller frees with dc_asterix_source_free(). */
dc_err_t dc_asterix_source_open(const char *path, dc_asterix_source_t **src, char *msg,
                                size_t msg_len);
/* The same over len octets at data (borrowed until freed; len > 0). */
dc_err_t dc_asterix_source_open_memory(const uint8_t *data, size_t len, dc_asterix_source_t **src);
void dc_asterix_source_free(dc_asterix_source_t *src);

/* The next datagram: *data (valid until the next call) and *len, *t_s its capture time (Unix
 * seconds; NAN in a raw file) and *port its UDP destination port (0 in a raw file). DC_OK, or
 * DC_ERR_NOT_FOUND at the end, or DC_ERR_INVALID with msg for a malformed file (what came
 * before stands). */
dc_err_t dc_asterix_source_next(dc_asterix_source_t *src, const uint8_t **data, size_t *len,
                                double *t_s, int *port, char *msg, size_t msg_len);

/* Whether the file at path is a pcap, pcapng or starts like an ASTERIX data block of a category
 * decoded here (for `deconflict replay`'s format detection). */
bool dc_asterix_file_looks_like(const char *path);

#endif
