/* deconflictd: live tracks -- the latest report of every party's aircraft, fed to the tactical
 * engines, kept in the store (latest state per track, and a sampled history), and what the
 * detection pass and the conformance check read.
 *
 * A report's time must lie in [now - report_age_max_s, now + report_ahead_max_s]: one stamped
 * in milliseconds, or by a clock an hour fast, would otherwise be held as the track's latest
 * and every later, correct report would look older than it (docs/service.md, "Limits and
 * refusals"). A report older than the one held is accepted but is not news; one held ahead of
 * the clock never freezes later ones out.
 *
 * Track status by the age of its last report: live up to DD_TRACK_COAST_S, then coasting (still
 * predicted from its last report) up to the tactical engine's stale_s, after which it is no
 * longer predicted and is lost. Its conflicts stay open marked "stale" until the engine drops
 * the track (expire_s), then are resolved with data "lost". */
#ifndef DD_CORE_TRACKS_H
#define DD_CORE_TRACKS_H

#include "core/ids.h"
#include "core/state.h"

#define DD_POSITIONS_MAX   10000 /* reports per POST /v1/positions */
#define DD_POSITIONS_CHUNK 500   /* reports stored per hold of the service lock */
#define DD_TRACK_COAST_S   10.0
#define DD_TRACK_ID_MAX    24 /* bytes of a party's own track id */

struct dd_conf_entry;

/* A track: its latest report (st.id is the engine id "<party>/<track id>"). */
typedef struct dd_track {
    dc_track_state_t st;
    int64_t party;
    char callsign[9];           /* "" when none */
    char operation[DD_ID_MAX];  /* the reporter's own operation it flies, "" when none */
    int source_number;          /* the number its ASTERIX source gave it (1-65535), 0: none */
    double history_last_s;      /* its last history sample (report time), or -1 */
    struct dd_conf_entry *conf; /* conformance.c: the conflicts the check holds open */
    size_t n_conf, cap_conf;
} dd_track_t;

/* The track id a party gave ("<party>/" stripped from the engine id). */
const char *dd_track_own_id(const dd_track_t *t);

/* One report as the API read it. bad_field set: refused by the parser, naming the field. */
typedef struct dd_report {
    dc_track_state_t st;       /* st.id the engine id "<party>/<track id>" */
    char callsign[9];          /* "" when none */
    char operation[DD_ID_MAX]; /* "" when none */
    double alt_step_ft;        /* its source's altitude resolution; NAN: the service's */
    double selected_alt_ft;    /* the autopilot's selected altitude; NAN: none */
    const char *bad_field;
} dd_report_t;

/* A refused report: its index in the batch, the field and why. */
typedef struct dd_refusal {
    size_t index;
    const char *field;
    char detail[200];
} dd_refusal_t;

typedef struct dd_positions_result {
    size_t accepted;
    dd_refusal_t *refused; /* in index order; the caller frees it */
    size_t n_refused;
} dd_positions_result_t;

/* POST /v1/positions: the n reports (at most DD_POSITIONS_MAX) of party, stored and fed to the
 * engines a chunk at a time, answered once durable. DC_OK with *res, or DC_ERR_STORE. */
dc_err_t dd_positions_put(dd_service_t *svc, int64_t party, const dd_report_t *reports, size_t n,
                          double now, dd_positions_result_t *res, dd_fault_t *f);

/* States from a surveillance feed as party's tracks: each state's id is the aircraft's (its
 * ICAO address), kept as "<party>/<id>"; callsigns[i] "" when unknown; numbers[i] the track
 * number its ASTERIX source gave it, 0 when none (numbers NULL: none at all). A track keeps the
 * last number it was given, in the store too, so that a CAT004 alert names it by that number
 * after a restart and on every node. Out-of-range times are refused and counted; older states
 * than the ones held are skipped. *stored: how many were taken. */
dc_err_t dd_feed_states(dd_service_t *svc, int64_t party, const dc_track_state_t *states,
                        char (*callsigns)[9], const int *numbers, size_t n, double now,
                        size_t *stored);

/* The number party's ASTERIX source last gave its track own_id (its own id, not the engine's),
 * as the store holds it; 0 when none. Takes the service lock. */
int dd_track_source_number(dd_service_t *svc, int64_t party, const char *own_id);

/* The track with engine id id, or NULL. */
dd_track_t *dd_track(dd_service_t *svc, const char *id);

/* Seconds since the report of track id (infinite when there is none). */
double dd_track_age_s(dd_service_t *svc, const char *id, double now);

/* "live", "coasting" or "lost" for a report this old. */
const char *dd_track_status(const dd_service_t *svc, double age_s);

/* GET /v1/tracks, under the lock: calls own() for each of party's tracks, then disclosed() with
 * the other aircraft of each of its open tactical conflicts as the conflict discloses it (its
 * state only), current, under the conflict's id. */
typedef struct dd_tracks_visit {
    void (*own)(const dd_track_t *t, double age_s, const char *status, void *ctx);
    void (*disclosed)(const char *conflict_id, const dc_track_state_t *st, void *ctx);
    void *ctx;
} dd_tracks_visit_t;
void dd_tracks_visit(dd_service_t *svc, int64_t party, double now, const dd_tracks_visit_t *v);

/* Feeds a state to the engines: the main one, and the high one while the aircraft is within
 * the high vertical minimum of the high boundary; and to their alerting layers with its source
 * (NULL: the service's alt_step_ft, no selected altitude). */
dc_err_t dd_tracks_feed_engines(dd_service_t *svc, const dc_track_state_t *st,
                                const dc_report_source_t *src);

/* A track's latest state another node stored (a shared store; dc_store_tracks_since): taken
 * when newer than the one held, into the engines too. Under the service lock. */
void dd_tracks_apply(dd_service_t *svc, int64_t party, const char *id, const char *state);

/* Restores every track's latest state (none stamped ahead of now) into the engines. */
bool dd_tracks_open(dd_service_t *svc, double now);
void dd_tracks_close(dd_service_t *svc);

#endif
