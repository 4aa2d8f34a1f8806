/* deconflictd: conformance -- live tracks against operations and agreements
 * (docs/service.md, "Conformance"). Each live track is checked against the live operations at
 * its position, altitude and time:
 *   - inside another party's operation in force (not ended or cancelled, its window current) is
 *     an intrusion at level "inside" (a conflict for both parties; the operation's owner is
 *     shown the aircraft, the track's owner the operation's ref); predicted to enter one within
 *     the look-ahead, an intrusion at level "advisory" or, within warning_s, "warning";
 *   - outside its own active operation, when its report names one, is nonconformance (a
 *     conflict for its owner alone);
 *   - on ground an active agreement gives another party is an agreement conflict, graded as
 *     intrusions are (inside now, or advisory / warning along its path).
 * The check is the library's (deconflict/conformance.h, which replay makes too): a strategic
 * query with a probe volume, a 1 m circle x 1 m band (barometric altitude taken as W84 height,
 * the assumption docs/strategic.md states) x 1 s, so "inside" means within about 1 m. Tracks are
 * checked round-robin, each once per conformance_s, so a pass does a slice and never the whole
 * table: at 100k tracks and 50 ms passes a 2 s round costs ~11 ms per pass. A conflict ends when
 * the check finds the track out of it. */
#ifndef DD_CORE_CONFORMANCE_H
#define DD_CORE_CONFORMANCE_H

#include "core/conflicts.h"
#include "core/state.h"

/* A conflict the check holds open for a track, under what it is about: an operation id
 * (intrusion), "own:<operation id>" (nonconformance) or "agr:<agreement id>". */
typedef struct dd_conf_entry {
    char key[DD_ID_MAX + 8];
    char cid[40];
} dd_conf_entry_t;

/* Checks the pass's slice of the tracks at now, inside the pass's write section. */
void dd_conformance_slice(dd_service_t *svc, double now);

/* At open: an open conformance conflict is held for its track again. */
void dd_conformance_restore(dd_service_t *svc, const dd_conflict_t *c);

#endif
