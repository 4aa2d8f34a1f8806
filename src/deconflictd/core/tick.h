/* deconflictd: the periodic pass -- the one place time-driven work happens, as Redis's
 * serverCron: tactical detection and its nuisance control, the conformance slice, history
 * pruning, and the escalation of messages and conflicts past their acknowledgement deadlines.
 * Whoever runs it (main.c, every period_s) reads the clock and passes now; tests pass their
 * own. */
#ifndef DD_CORE_TICK_H
#define DD_CORE_TICK_H

#include "core/state.h"

/* Runs one pass at now: the engines' predictions first (without the service lock), then
 * everything that writes in one write section, so a pass's conflicts and events land together
 * with one sync. Returns once what it wrote is durable: true when this node ran the pass (it
 * leads), false when it only caught up with the store (another node leads), could not read
 * its state anew, or its engines could not predict. */
bool dd_tick(dd_service_t *svc, double now);

#endif
