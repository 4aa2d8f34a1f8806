/* deconflict — SBS-1 (BaseStation) input: the CSV lines dump1090 and readsb serve on TCP port
 * 30003, parsed and merged into aircraft tracks (docs/feeds.md).
 *
 *   MSG,type,session,aircraft,HEXIDENT,flight,date_gen,time_gen,date_log,time_log,
 *       callsign,altitude,ground_speed,track,lat,lon,vertical_rate,squawk,alert,emergency,
 *       spi,is_on_ground
 *
 * Types: 1 identification (callsign), 2 surface position, 3 airborne position (altitude,
 * position), 4 airborne velocity (ground speed, track, vertical rate), 5 surveillance altitude,
 * 6 surveillance ID (altitude, squawk), 7 air-to-air (altitude), 8 all-call (ground flag).
 * Times are the generated date and time, taken as UTC. Units as the protocol has them: feet,
 * knots, degrees, feet per minute. */
#ifndef DECONFLICT_SBS_H
#define DECONFLICT_SBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"
#include "deconflict/tactical.h"

#define DC_SBS_LINE_MAX    512   /* bytes; longer lines are malformed */
#define DC_SBS_TRACKER_MAX 65536 /* aircraft a tracker holds (a full one gives one up, below) */

/* Which fields a message carries. */
enum {
    DC_SBS_CALLSIGN = 1 << 0,
    DC_SBS_ALT = 1 << 1,
    DC_SBS_GS = 1 << 2,
    DC_SBS_TRK = 1 << 3,
    DC_SBS_POS = 1 << 4,
    DC_SBS_VS = 1 << 5,
    DC_SBS_SQUAWK = 1 << 6,
    DC_SBS_GROUND = 1 << 7,
};

typedef struct dc_sbs_msg {
    int type;      /* 1..8 */
    uint32_t icao; /* 24-bit address */
    double t_s;    /* generated time, Unix seconds */
    unsigned has;  /* DC_SBS_* bits */
    char callsign[9];
    double alt_ft, gs_kt, trk_deg, lat_deg, lon_deg, vs_fpm;
    int squawk;
    bool on_ground;
} dc_sbs_msg_t;

/* Parses one line (without or with its line end). DC_OK for a valid MSG line;
 * DC_ERR_NOT_FOUND for a valid line of another record kind (SEL, ID, AIR, STA, CLK), which
 * carries no state; DC_ERR_INVALID for anything malformed (a field out of range, a bad number,
 * too few fields, a bad date). Never reads past len. */
dc_err_t dc_sbs_parse_line(const char *line, size_t len, dc_sbs_msg_t *out);

/* ---- tracks ----
 * Messages for one ICAO address merge into one aircraft. A state is produced from a position
 * message once altitude and velocity are known, both no older than vel_fresh_s, while the
 * aircraft is airborne (not after a surface position or a ground flag); a
 * position older than the aircraft's last one is ignored; an aircraft not heard for timeout_s is
 * dropped. The altitude sent with ADS-B positions is preferred over that of surveillance replies
 * while it is no older than vel_fresh_s, as dump1090 does. */

typedef struct dc_sbs_tracker dc_sbs_tracker_t;

typedef struct dc_sbs_aircraft {
    uint32_t icao;
    char callsign[9];
    bool has_pos, has_alt, has_vel;
    bool adsb_alt;  /* the altitude held came with an ADS-B position */
    bool on_ground; /* last said on the ground (a surface position, or the ground flag) */
    double pos_t_s, alt_t_s, vel_t_s, last_t_s;
    double lat_deg, lon_deg, alt_ft, gs_kt, trk_deg, vs_fpm;
    int squawk;
    uint64_t messages;
} dc_sbs_aircraft_t;

dc_sbs_tracker_t *dc_sbs_tracker_new(double vel_fresh_s, double timeout_s);
void dc_sbs_tracker_free(dc_sbs_tracker_t *tr);

/* Merges m. Returns true when m completes a fresh state of its aircraft: *st (id the ICAO
 * address as 6 uppercase hex digits) and callsign ("" when unknown) are filled. A new aircraft
 * when DC_SBS_TRACKER_MAX are held takes the place of one held, taken in turn (a source sending
 * more addresses than there are aircraft is faulty or hostile: it must not grow the tracker
 * without bound, nor cost a scan per message; an aircraft given up is merged anew from its next
 * messages). */
bool dc_sbs_tracker_apply(dc_sbs_tracker_t *tr, const dc_sbs_msg_t *m, dc_track_state_t *st,
                          char callsign[9]);

/* Drops aircraft not heard since now_s - timeout_s (now_s on the messages' own clock: the
 * latest generated time seen, not the reader's); returns how many. */
size_t dc_sbs_tracker_expire(dc_sbs_tracker_t *tr, double now_s);

size_t dc_sbs_tracker_count(const dc_sbs_tracker_t *tr);

/* ---- a live source ----
 * What the daemon's feeds and the forwarder share: connecting to a dump1090-style server and
 * cutting what it sends into lines. */

/* Connects to HOST:PORT over TCP, a hanging connect given up after timeout_s. The socket, or
 * -1 with errno set. */
int dc_sbs_connect(const char *host, const char *port, double timeout_s);

/* The bytes of one connection cut into lines. A line over DC_SBS_LINE_MAX is counted once as
 * malformed and dropped to its end. Start each connection with dc_sbs_stream_reset(). */
typedef struct dc_sbs_stream {
    char buf[DC_SBS_LINE_MAX * 8];
    size_t have;
    bool skipping;       /* inside an overlong line */
    uint64_t lines, bad; /* lines read, of which malformed */
    double latest_msg_s; /* the latest generated time seen: the messages' own clock */
} dc_sbs_stream_t;

void dc_sbs_stream_reset(dc_sbs_stream_t *s);

/* One read() of fd; fn is called for every valid MSG line it completes. DC_OK, or DC_ERR_IO when
 * the source closed the connection or the read failed. */
dc_err_t dc_sbs_stream_read(dc_sbs_stream_t *s, int fd,
                            void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx);
/* Calls fn for every aircraft held. */
void dc_sbs_tracker_each(const dc_sbs_tracker_t *tr,
                         void (*fn)(const dc_sbs_aircraft_t *a, void *ctx), void *ctx);

#endif
