/* deconflict — a live track against filed operations: which it is inside now, and which its
 * predicted path enters within the look-ahead, and when.
 *
 * The check deconflictd's conformance makes for every live track, and `deconflict replay
 * --operations` for every report of a recording, so both tell the same story
 * (docs/service.md, "Conformance"). "Inside" is a strategic query with a probe volume: a 1 m
 * circle x 1 m band (barometric altitude taken as W84 height, the assumption docs/strategic.md
 * states) x 1 s. The prediction is the tactical engine's extrapolation (dc_track_state_at): a
 * 2 m wide corridor from the report to where the track will be at the end of the look-ahead,
 * its altitudes and times between, is one query that most tracks answer with nothing; an
 * operation the corridor meets is then timed by point probes every step_s. Nothing here reads a
 * clock: now_s is a parameter. */
#ifndef DECONFLICT_CONFORMANCE_H
#define DECONFLICT_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "deconflict/error.h"
#include "deconflict/strategic.h"
#include "deconflict/tactical.h"

#define DC_ENTRY_STEP_S 5.0 /* the default step a predicted entry is timed to */

/* How urgent an entry is: predicted within the look-ahead, predicted within the warning time,
 * or inside now -- the levels deconflictd's intrusion and agreement conflicts carry, and replay's
 * intrusions (docs/service.md, "Conformance"). Ordered: a higher level is more urgent. */
typedef enum dc_entry_level {
    DC_ENTRY_ADVISORY = 0,
    DC_ENTRY_WARNING = 1,
    DC_ENTRY_INSIDE = 2,
} dc_entry_level_t;

/* The level of an entry tte_s ahead (0: inside) with warning time warning_s. */
dc_entry_level_t dc_entry_level(double tte_s, double warning_s);

/* "advisory", "warning" or "inside". */
const char *dc_entry_level_name(dc_entry_level_t level);

/* One operation a track is in or will enter. */
typedef struct dc_op_entry {
    char ref[DC_STRATEGIC_ID_MAX];   /* the operation's reference, as the engine shows it */
    char party[DC_STRATEGIC_ID_MAX]; /* its party */
    double tte_s;                    /* 0: inside now; > 0: first predicted inside then (s) */
} dc_op_entry_t;

/* The operations filed in eng (not those of party, unless the engine includes the same party's)
 * that report st is inside at now_s, then those its path enters within lookahead_s, first
 * timed to step_s (an operation the corridor meets but no point probe finds is left out; a
 * track that does not move, under 1 kt and 100 fpm, has its point over the look-ahead for
 * corridor). The report itself is probed when the corridor meets anything or when probe_now is
 * set (a track that names its own operation: its absence from it matters). At most max entries into
 * out, their number into *n: DC_OK, or DC_ERR_INVALID for an invalid st, a step_s not in (0,
 * lookahead_s] or a lookahead_s not in (0, 3600]. */
dc_err_t dc_conformance_entries(dc_strategic_t *eng, const dc_track_state_t *st, const char *party,
                                double now_s, double lookahead_s, double step_s, bool probe_now,
                                dc_op_entry_t *out, size_t max, size_t *n);

#endif
