/* deconflictd: tactical detection -- what the engines predict, graded by the alerting layer
 * (deconflict/alerting.h) and turned into conflicts (docs/service.md, "Tactical detection"):
 *   - only pairs of two parties' aircraft, never one aircraft seen by two parties' receivers;
 *   - each pair under its own airspace's minima (core/airspace.h);
 *   - levels advisory (a loss predicted within the look-ahead: shown, no acknowledgement),
 *     warning (within warning_s, confirmed in m_of_n of the pair's last 3 updates: both parties
 *     acknowledge) and loss; a level comes down after hysteresis_s, and the conflict is resolved
 *     when none is left;
 *   - a pair that left the prediction because a side stopped reporting is not resolved: it
 *     stays open marked "stale" until the track reports again or is dropped as lost.
 * Its views disclose to each side its own track, the other party and the other aircraft's state
 * at the time of the alert -- never the other's track id, callsign or operation. */
#ifndef DD_CORE_DETECTION_H
#define DD_CORE_DETECTION_H

#include "core/airspace.h"
#include "core/conflicts.h"
#include "core/state.h"

/* A pair of tracks the pass is following. */
typedef struct dd_pair {
    char key[2 * DC_TRACK_ID_MAX + 2]; /* "<id1>|<id2>" */
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    char cid[40];        /* its conflict's id (given at first sight, used once raised) */
    const char *level;   /* NULL: not raised; else the level its conflict shows */
    bool stale;          /* raised, and a side stopped reporting */
    double last_s;       /* the last pass that found it in conflict */
    uint64_t seen_pass;  /* ... by its number */
    dc_pair_eval_t eval; /* its last evaluation */
    dd_profile_t profile;
} dd_pair_t;

/* Judges one pass's snapshots (snaps[0] the main engine's, snaps[1] the high one's, may be
 * NULL) at now, inside the pass's write section: raises, updates and resolves conflicts. */
void dd_detection_judge(dd_service_t *svc, const dc_tactical_snapshot_t *const snaps[2],
                        double now);

/* At open: an open tactical conflict becomes a pair again (raised, last seen now), so that a
 * restart continues it instead of raising it anew under another id. */
void dd_detection_restore(dd_service_t *svc, const dd_conflict_t *c, double now);
void dd_detection_close(dd_service_t *svc);

#endif
