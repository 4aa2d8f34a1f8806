/* deconflict — following predicted conflicts across detection passes as encounters.
 *
 * A detection pass says which pairs are in conflict now. An encounter is one episode of one pair:
 * it opens at the first pass that predicts the pair, collects what later passes observe (loss of
 * separation, the closest separations), and closes once the pair has not been predicted for
 * gap_s. From it come the figures a duty officer and a safety analyst ask for: when the alert was
 * first raised, how much warning it gave before separation was lost (or that it never was), and
 * how close the aircraft came. Times are Unix seconds (UTC). */
#ifndef DECONFLICT_ENCOUNTERS_H
#define DECONFLICT_ENCOUNTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "deconflict/alerting.h"
#include "deconflict/error.h"
#include "deconflict/tactical.h"

typedef struct dc_encounter {
    char id1[DC_TRACK_ID_MAX]; /* id1 < id2 in byte order */
    char id2[DC_TRACK_ID_MAX];
    double first_alert_s;  /* time of the first pass that predicted the conflict */
    double first_tin_s;    /* predicted loss time (absolute) at the first alert */
    double los_start_s;    /* first pass time with separation lost; NAN if never */
    double last_seen_s;    /* last pass that predicted the conflict */
    double min_hsep_nm;    /* smallest horizontal separation observed at a pass */
    double vsep_at_min_ft; /* vertical separation at that pass */
    double min_dcpa_nm;    /* smallest predicted horizontal miss distance */
    size_t passes;         /* passes that predicted it */
    bool open;             /* still being predicted (or within gap_s of the last prediction) */
    /* Graded alerting (dc_encounters_observe_alerts); left none/NAN by dc_encounters_observe. */
    dc_alert_level_t level; /* the highest level reached */
    double first_warning_s; /* the first pass at warning or above; NAN if never */
} dc_encounter_t;

typedef struct dc_encounters dc_encounters_t;

/* Creates an empty log; encounters close after gap_s without a prediction. NULL on OOM or if
 * gap_s is negative or not finite. Free with dc_encounters_free(). */
dc_encounters_t *dc_encounters_new(double gap_s);

/* Frees the log. NULL is a no-op. */
void dc_encounters_free(dc_encounters_t *enc);

/* Folds in the conflicts of one pass (borrowed), which must come in increasing time order.
 * Returns DC_OK, DC_ERR_INVALID if snap is older than the previous one, DC_ERR_NOMEM (the log
 * is then unchanged). */
dc_err_t dc_encounters_observe(dc_encounters_t *enc, const dc_tactical_snapshot_t *snap);

/* Folds in one pass of graded alerting instead (dc_alerting_pass's list for the pass at now_s):
 * an encounter opens when a pair's level leaves none and closes when it comes back to none
 * (the alerting's hysteresis takes the place of gap_s); first_alert_s is its first advisory,
 * first_warning_s its first warning, los_start_s its first loss, last_seen_s the last pass that
 * predicted it or saw it lost. Same errors as dc_encounters_observe. */
dc_err_t dc_encounters_observe_alerts(dc_encounters_t *enc, double now_s, const dc_alerting_t *al);

/* Number of encounters recorded so far (open and closed), in order of first alert. */
size_t dc_encounters_count(const dc_encounters_t *enc);

/* Returns encounter i (< count); the pointer is valid until the next observe or free. */
const dc_encounter_t *dc_encounters_get(const dc_encounters_t *enc, size_t i);

#endif
