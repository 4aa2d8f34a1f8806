/* deconflictd: live positions and the tactical detection loop (live.c). */
#ifndef DC_DAEMON_LIVE_H
#define DC_DAEMON_LIVE_H

#include <jansson.h>

#include "daemon.h"
#include "service.h"

#define DD_POSITIONS_MAX   10000 /* reports per POST /v1/positions */
#define DD_POSITIONS_CHUNK 500   /* reports stored per hold of the service lock */

/* Track status by the age of its last report: live up to DD_TRACK_COAST_S, then coasting (still
 * predicted from its last report) up to the tactical engine's stale_s, after which it is no
 * longer predicted and is lost. Its conflicts stay open marked "stale" until the engine drops
 * the track (expire_s), then are resolved with data "lost". The two engine limits are read from
 * the engine's configuration, not repeated here. */
#define DD_TRACK_COAST_S 10.0

/* Restores the latest state of every track from the store into the engine. */
bool dd_live_open(dd_service_t *svc);
bool dd_live_start(dd_service_t *svc);
/* Joins the detection thread (after svc->stopping is set) and frees the live state. */
void dd_live_stop(dd_service_t *svc);

/* One report of a POST /v1/positions body into st (engine id "<party>/<track_id>"; callsign
 * borrowed from o, NULL when absent): NULL when it is valid, else the offending field. The time
 * range against the clock is checked apart, when it is stored. */
const char *dd_position_parse(json_t *o, int64_t party, dc_track_state_t *st,
                              const char **callsign);

/* POST /v1/positions: {"accepted": n, "rejected": [{index, field, detail}]} or NULL with pb. */
json_t *dd_positions(dd_service_t *svc, int64_t party, json_t *batch, dd_problem_t *pb);

/* States from a surveillance feed (feeds.c), as party's tracks: each state's id is the
 * aircraft's (its ICAO address), stored as "<party>/<id>"; callsigns[i] "" when unknown. Older
 * states than the ones held are skipped. *stored: how many were taken. */
dc_err_t dd_feed_states(dd_service_t *svc, int64_t party, const dc_track_state_t *states,
                        char (*callsigns)[9], size_t n, size_t *stored);

/* GET /v1/tracks: the caller's tracks, latest report each; "disclosed": the other aircraft of
 * each of the caller's open tactical conflicts, current, under the conflict's id; "now": the
 * service's clock (s). */
json_t *dd_tracks(dd_service_t *svc, int64_t party);

#define DD_HISTORY_SAMPLES_MAX 200000 /* track samples in one GET /v1/history (the newest) */
#define DD_HISTORY_EVENTS_MAX  20000  /* events in one GET /v1/history (the newest) */

/* GET /v1/history's query: from and to (RFC 3339 or Unix seconds; default the last
 * history_keep_s before now), at most 24 h apart; step_s 0-3600 (default history_s). */
typedef struct dd_history_query {
    double t0, t1, step_s;
} dd_history_query_t;
dc_err_t dd_history_query_parse(const dd_config_t *cfg, double now, const char *from,
                                const char *to, const char *step, dd_history_query_t *q,
                                dd_problem_t *pb);

/* GET /v1/history?from=&to=&step_s=: the caller's track samples (each track thinned to one per
 * step_s, default history_s) and its own events between from and to (default: the last
 * history_keep_s), as JSON text in *out (free it); "truncated" when a limit cut it short. */
dc_err_t dd_history(dd_service_t *svc, int64_t party, const char *from, const char *to,
                    const char *step, char **out, dd_problem_t *pb);

#endif
