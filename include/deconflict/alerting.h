/* deconflict — graded alerting on top of tactical detection (EUROCONTROL STCA's shape).
 *
 * The tactical engine answers a geometric question: which pairs does a straight-line
 * extrapolation bring within the minima inside the look-ahead. A duty officer needs fewer, surer
 * answers. This layer takes each pass's candidate pairs (an engine pass run with the horizontal
 * minimum widened by candidate_margin_nm, dc_alerting_candidate_config) and judges each pair
 * again, with what it knows of the two aircraft's recent reports:
 *
 *   - a vertical tolerance for quantised altitudes: ADS-B and Mode S report in 25 ft steps, Mode
 *     C in 100 ft: two aircraft holding adjacent levels read 975 or 950 ft apart when each reading
 *     is a step off the level. A pair's vertical minimum is lowered by the sum of its two
 *     reports' steps (exact for finer sources: step 0);
 *   - a level-flight filter: both aircraft level (|vs| < level_vs_fpm) and at least the vertical
 *     minimum less the tolerance apart are not in conflict, however close horizontally;
 *   - a fine prediction for turning aircraft: when an aircraft's track changes between its last
 *     two reports at turn_min_dps or more, it is predicted along the arc at the observed rate (for
 *     at most turn_max_deg) instead of along the straight line;
 *   - the selected altitude, when the source downlinks it (use_selected_alt): an aircraft
 *     climbing or descending toward it is predicted to level off there;
 *   - persistence counted in reports and seconds: a warning needs the prediction in confirm_m of
 *     the last confirm_n updates of the pair (a new report of either aircraft), the first and last
 *     of those at least confirm_min_s apart;
 *   - hysteresis: a level goes up at once and comes down only when its condition has been false
 *     for hold_s.
 *
 * Levels: advisory (a predicted loss within the look-ahead: shown, no acknowledgement), warning
 * (a predicted loss within warning_s, confirmed: needs both parties' acknowledgement), loss
 * (separation lost now). Times are Unix seconds (UTC), altitudes feet, distances NM; nothing here
 * reads a clock. Not thread-safe: one caller at a time. */
#ifndef DECONFLICT_ALERTING_H
#define DECONFLICT_ALERTING_H

#include <stdbool.h>
#include <stddef.h>

#include "deconflict/error.h"
#include "deconflict/tactical.h"

typedef enum dc_alert_level {
    DC_ALERT_NONE = 0,
    DC_ALERT_ADVISORY = 1,
    DC_ALERT_WARNING = 2,
    DC_ALERT_LOSS = 3,
} dc_alert_level_t;

/* "none", "advisory", "warning", "loss". */
const char *dc_alert_level_name(dc_alert_level_t level);

typedef struct dc_alerting_config {
    double warning_s;           /* predicted loss within this: warning, once confirmed (90) */
    bool quantisation;          /* apply the reports' altitude steps as a tolerance (true) */
    bool level_filter;          /* the level-flight filter (true) */
    double level_vs_fpm;        /* |vs| below this is level flight (250) */
    bool turn_prediction;       /* arcs for turning aircraft (true) */
    double turn_min_dps;        /* a track changing this fast is turning, deg/s (0.5) */
    double turn_max_deg;        /* the arc is followed for at most this turn, then straight (30) */
    unsigned confirm_m;         /* persistence: predicted in m ... (2) */
    unsigned confirm_n;         /* ... of the last n updates of the pair, 1 <= m <= n <= 8 (3) */
    double confirm_min_s;       /* ... the first and last of them this far apart (2) */
    double hold_s;              /* hysteresis: a level comes down after this without it (20) */
    double candidate_margin_nm; /* the engine's pass runs with R + this (2) */
    bool use_selected_alt;      /* level-offs at the selected altitude (true) */
} dc_alerting_config_t;

/* Fills cfg with the defaults listed above. */
void dc_alerting_config_default(dc_alerting_config_t *cfg);

/* DC_OK, or DC_ERR_INVALID with *field (if not NULL) naming the first field out of range. */
dc_err_t dc_alerting_config_validate(const dc_alerting_config_t *cfg, const char **field);

/* One pair's standing after a pass. */
typedef struct dc_alert {
    char id1[DC_TRACK_ID_MAX]; /* id1 < id2 in byte order */
    char id2[DC_TRACK_ID_MAX];
    dc_alert_level_t level;    /* after this pass */
    dc_alert_level_t previous; /* before it: level != previous is a change to announce */
    double since_s;            /* when the pair's current episode began (level > none) */
    bool predicted;            /* this pass predicted a loss within the look-ahead (filtered) */
    bool confirmed;            /* ... and persistence holds */
    bool turning;              /* this pass used the arc of a turning aircraft */
    bool evaluated;            /* the pair was a candidate of this pass: eval holds */
    dc_pair_eval_t eval;       /* this pass's prediction, filtered (tin_s/tout_s relative to
                                * the pass) */
} dc_alert_t;

typedef struct dc_alerting dc_alerting_t;

/* Creates the layer for the minima in minima (R, H, the look-ahead, the tolerances; copied) and
 * cfg (NULL: defaults). NULL on out-of-memory or an invalid config. */
dc_alerting_t *dc_alerting_new(const dc_tactical_config_t *minima, const dc_alerting_config_t *cfg);
void dc_alerting_free(dc_alerting_t *al);

/* The engine config whose passes give this layer its candidates: the minima with R widened by
 * candidate_margin_nm (a turn may bring a pair the straight line misses). */
void dc_alerting_candidate_config(const dc_alerting_t *al, dc_tactical_config_t *out);

/* What a report's source says beyond the state. */
typedef struct dc_report_source {
    double alt_step_ft;     /* its altitude resolution: 25 for ADS-B/Mode S, 100 for Mode C, 0 for
                             * finer sources; [0, 500] */
    double selected_alt_ft; /* the altitude selected on the autopilot (Mode S EHS BDS 4,0, ADS-B
                             * target state, ASTERIX I021/146); NAN when the source has none */
} dc_report_source_t;

/* Notes a report of one aircraft (the same reports the engine gets), from a source described by
 * src (NULL: exact altitudes, no selected altitude). A climb or descent toward a selected
 * altitude is predicted to level off there. Older reports than the one held are ignored.
 * DC_ERR_INVALID for an invalid state or source (*field names it: "alt_step_ft",
 * "selected_alt_ft"), DC_ERR_NOMEM. */
dc_err_t dc_alerting_report(dc_alerting_t *al, const dc_track_state_t *st,
                            const dc_report_source_t *src, const char **field);

/* A rule for the pairs of a service (optional): called before a candidate pair is judged, with
 * the two aircraft's latest reports and the layer's minima in *minima; returns false when the
 * pair is never to be alerted (one aircraft seen twice, two aircraft of one party), and may
 * change *minima (the pair's airspace: terminal, en-route, high). */
typedef bool (*dc_alerting_rule_fn)(void *ctx, const dc_track_state_t *a, const dc_track_state_t *b,
                                    dc_tactical_config_t *minima);
void dc_alerting_set_rule(dc_alerting_t *al, dc_alerting_rule_fn rule, void *ctx);

/* Takes up a pair at level as of now_s (a restart, a new leader): the level holds for hold_s
 * unless the pair is judged higher meanwhile, as if it had been seen at now_s. */
dc_err_t dc_alerting_restore(dc_alerting_t *al, const char *id1, const char *id2,
                             dc_alert_level_t level, double since_s, double now_s);

/* Forgets an aircraft (its track ended); its pairs come down through hysteresis. */
void dc_alerting_forget(dc_alerting_t *al, const char *id);

/* Judges one pass: snap is an engine pass under dc_alerting_candidate_config, in increasing time
 * order. Afterwards dc_alerting_count/get list every pair whose level is above none, or was
 * before this pass (level none: its episode ended), sorted by (id1, id2). DC_ERR_INVALID for a
 * pass older than the last, DC_ERR_NOMEM (the state is then as before the pass). */
dc_err_t dc_alerting_pass(dc_alerting_t *al, const dc_tactical_snapshot_t *snap);

size_t dc_alerting_count(const dc_alerting_t *al);
/* Pair i (< count), valid until the next pass or free. */
const dc_alert_t *dc_alerting_get(const dc_alerting_t *al, size_t i);

#endif
