/* deconflict — tactical conflict detection.
 *
 * Given the live states of many aircraft, find every pair predicted to lose separation within a
 * look-ahead. Definition (docs/tactical.md): under constant-velocity extrapolation from each
 * report, a pair is in conflict when there is a time t in [0, T] at which the horizontal
 * separation is < R and the vertical separation is < H simultaneously. Separation exactly equal
 * to a minimum is not a loss; the comparison is made against R - htol_m and H - vtol_ft so that
 * unit-conversion rounding cannot turn "exactly 1000 ft" into a loss.
 *
 * Positions are WGS84 degrees at this boundary, altitudes barometric feet, times Unix seconds
 * (UTC). Every function takes the evaluation time `now_s` as a parameter: nothing here reads a
 * clock.
 *
 * Threads: dc_tactical_update/remove may be called from any thread at any time; they queue the
 * change. dc_tactical_detect applies queued changes and runs a pass; call it from one thread at
 * a time. Results are published as immutable, reference-counted snapshots that any thread may
 * hold while updates and later passes continue. */
#ifndef DECONFLICT_TACTICAL_H
#define DECONFLICT_TACTICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"

#define DC_TRACK_ID_MAX 32 /* bytes of a track id including the terminating NUL */

/* Validation bounds for reported states (inclusive). */
#define DC_ALT_FT_MIN -2000.0
#define DC_ALT_FT_MAX 100000.0
#define DC_GS_KT_MAX  2000.0
#define DC_VS_FPM_MAX 60000.0 /* absolute value */

/* One surveillance report of one aircraft. */
typedef struct dc_track_state {
    char id[DC_TRACK_ID_MAX]; /* NUL-terminated, 1..31 bytes, no control characters */
    double t_s;               /* time of the report, Unix seconds UTC */
    double lat_deg;           /* WGS84 latitude, [-90, 90] */
    double lon_deg;           /* WGS84 longitude, [-180, 180] */
    double alt_ft;            /* barometric altitude */
    double gs_kt;             /* ground speed, >= 0 */
    double trk_deg;           /* true track over ground, [0, 360) */
    double vs_fpm;            /* vertical rate, positive up */
} dc_track_state_t;

/* Detection parameters. Obtain defaults from dc_tactical_config_default(), then change fields. */
typedef struct dc_tactical_config {
    double rpz_nm;      /* horizontal minimum R (default 5) */
    double hpz_ft;      /* vertical minimum H (default 1000) */
    double lookahead_s; /* look-ahead T (default 120) */
    double stale_s;     /* reports older than this at evaluation time are excluded (default 30) */
    double expire_s;    /* tracks older than this are dropped from the engine (default 300) */
    double htol_m;      /* horizontal tolerance: loss needs d < R - htol_m (default 1 m) */
    double vtol_ft;     /* vertical tolerance: loss needs dz < H - vtol_ft (default 1 ft) */
} dc_tactical_config_t;

/* Fills cfg with the defaults listed above. */
void dc_tactical_config_default(dc_tactical_config_t *cfg);

/* Returns DC_OK if cfg is usable, else DC_ERR_INVALID and, if field is not NULL, the name of the
 * first offending field in *field (a static string). */
dc_err_t dc_tactical_config_validate(const dc_tactical_config_t *cfg, const char **field);

/* Returns DC_OK if st is a valid report, else DC_ERR_INVALID and, if field is not NULL, the name
 * of the first offending field in *field ("id", "t", "lat", "lon", "alt_ft", "gs_kt", "trk_deg"
 * or "vs_fpm"). NaN and infinities are invalid everywhere. */
dc_err_t dc_track_state_validate(const dc_track_state_t *st, const char **field);

/* The prediction for one pair, times relative to the evaluation time. */
typedef struct dc_pair_eval {
    bool conflict;  /* simultaneous loss predicted within [0, T] */
    bool los_now;   /* separation already lost at the evaluation time */
    double tin_s;   /* start of the predicted loss interval, clipped to [0, T] (if conflict) */
    double tout_s;  /* end of the predicted loss interval, clipped to [0, T] (if conflict) */
    double tcpa_s;  /* time of horizontal closest approach within [0, T] (0 if diverging) */
    double dcpa_nm; /* horizontal separation at tcpa */
    double hsep_nm; /* horizontal separation now */
    double vsep_ft; /* vertical separation now */
    double vcpa_ft; /* vertical separation at tcpa */
} dc_pair_eval_t;

/* A predicted conflict between two tracks: id1 < id2 in byte order. */
typedef struct dc_conflict {
    char id1[DC_TRACK_ID_MAX];
    char id2[DC_TRACK_ID_MAX];
    dc_pair_eval_t eval;
} dc_conflict_t;

/* Evaluates one pair at now_s (both states extrapolated from their own report times).
 * Returns DC_ERR_INVALID if a state or cfg is invalid; borrows everything. */
dc_err_t dc_tactical_pair(const dc_track_state_t *a, const dc_track_state_t *b, double now_s,
                          const dc_tactical_config_t *cfg, dc_pair_eval_t *out);

/* Returns the horizontal (NM) and vertical (ft) separation of a and b at time now_s + t_s under
 * the engine's extrapolation; for tests and pictures. Inputs must be valid. */
void dc_tactical_separation_at(const dc_track_state_t *a, const dc_track_state_t *b, double now_s,
                               double t_s, double *h_nm, double *v_ft);

/* Where report s is at time t_s under the engine's extrapolation (straight along the
 * ellipsoid's tangent from its report, constant vertical rate): WGS84 degrees and feet, the
 * point as the engine predicts it. s must be valid. */
void dc_track_state_at(const dc_track_state_t *s, double t_s, double *lat_deg, double *lon_deg,
                       double *alt_ft);

/* Writes report s as its owner's JSON view into out (cap bytes, NUL-terminated):
 * {"track_id", "t", "lat", "lon", "alt_ft", "gs_kt", "trk_deg", "vs_fpm"[, "callsign"]
 * [, "operation_id"]}, with t to the millisecond, lat/lon to 1e-7 degree (about 1 cm) and the
 * rest to 1/100 of their unit (a fast fixed-point formatter: the service writes one per
 * report). callsign and operation_id may be NULL. Returns the length, or 0 when it does not fit
 * (512 bytes always do). */
size_t dc_track_report_json(const dc_track_state_t *s, const char *track_id, const char *callsign,
                            const char *operation_id, char *out, size_t cap);

/* Counters of one detection pass. */
typedef struct dc_tactical_stats {
    size_t tracks;          /* tracks held after applying queued changes and expiry */
    size_t live;            /* tracks evaluated (not stale) */
    size_t stale;           /* tracks excluded as older than stale_s */
    size_t expired;         /* tracks dropped in this pass as older than expire_s */
    size_t out_of_order;    /* queued reports ignored because older than the stored one */
    uint64_t index_entries; /* (cell, track) entries in the index: cells touched per track */
    uint64_t cell_pairs;    /* pairs that shared an index cell (before box tests) */
    uint64_t candidates;    /* pairs whose swept boxes overlapped: evaluated exactly */
    size_t slices;          /* slices the look-ahead was cut into for the index */
    size_t conflicts;       /* pairs in conflict */
    size_t memory_bytes;    /* bytes held by the engine's tables after the pass */
} dc_tactical_stats_t;

/* The immutable result of one pass. conflicts are sorted by (id1, id2). */
typedef struct dc_tactical_snapshot {
    double now_s;
    dc_tactical_config_t cfg;
    const dc_conflict_t *conflicts;
    size_t n_conflicts;
    dc_tactical_stats_t stats;
} dc_tactical_snapshot_t;

typedef struct dc_tactical dc_tactical_t;

/* Creates an engine with default config cfg (copied; NULL = dc_tactical_config_default).
 * Returns NULL on out-of-memory or invalid cfg. Free with dc_tactical_free(). */
dc_tactical_t *dc_tactical_new(const dc_tactical_config_t *cfg);

/* Frees the engine. Snapshots still held stay valid until released. NULL is a no-op. */
void dc_tactical_free(dc_tactical_t *eng);

/* Queues a report (copied). A report older than the stored state of the same id is ignored when
 * applied (counted in stats.out_of_order) -- unless the stored state's time is ahead of the
 * pass's now_s, which no report may keep the track frozen at; at equal times the later call
 * wins.
 * Errors: DC_ERR_INVALID (state invalid, *field names why if field is non-NULL), DC_ERR_NOMEM. */
dc_err_t dc_tactical_update(dc_tactical_t *eng, const dc_track_state_t *st, const char **field);

/* Queues removal of track id; removing an unknown id is not an error. DC_ERR_NOMEM on OOM. */
dc_err_t dc_tactical_remove(dc_tactical_t *eng, const char *id);

/* Applies queued changes, extrapolates every live track to now_s and finds all conflicts using
 * cfg (NULL = the engine's config). Publishes the result as the current snapshot; if snap is not
 * NULL, also returns it acquired (release with dc_tactical_snapshot_release()).
 * Errors: DC_ERR_INVALID (cfg or now_s), DC_ERR_NOMEM (the previous snapshot stays current). */
dc_err_t dc_tactical_detect(dc_tactical_t *eng, double now_s, const dc_tactical_config_t *cfg,
                            const dc_tactical_snapshot_t **snap);

/* Returns the most recent snapshot with a reference taken, or NULL before the first pass.
 * Safe from any thread; never waits for a pass. */
const dc_tactical_snapshot_t *dc_tactical_snapshot_acquire(dc_tactical_t *eng);

/* Drops a reference taken by acquire or detect. NULL is a no-op. */
void dc_tactical_snapshot_release(const dc_tactical_snapshot_t *snap);

#endif
