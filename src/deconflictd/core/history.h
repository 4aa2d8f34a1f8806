/* deconflictd: each party's track history -- samples of its own tracks (tracks.c keeps one at
 * most every history_s of a report's time) and its own events, read back for the console's time
 * slider (GET /v1/history), and pruned past history_keep_s by the periodic pass. */
#ifndef DD_CORE_HISTORY_H
#define DD_CORE_HISTORY_H

#include "core/state.h"

#define DD_HISTORY_SAMPLES_MAX 200000 /* track samples in one read (the newest) */
#define DD_HISTORY_EVENTS_MAX  20000  /* events in one read (the newest) */
#define DD_HISTORY_SPAN_MAX_S  86400  /* a read covers at most a day */

typedef struct dd_history_visit {
    void (*sample)(const char *track_id, double t_s, double lat_deg, double lon_deg, double alt_ft,
                   double trk_deg, double gs_kt, void *ctx);
    void (*event)(int64_t seq, const char *type, const char *data, double t_s, void *ctx);
    void *ctx;
} dd_history_visit_t;

/* Calls v->sample for party's samples between t0_s and t1_s (in time order, the newest
 * DD_HISTORY_SAMPLES_MAX), then v->event for its events in that window that are durable (the
 * newest DD_HISTORY_EVENTS_MAX); *truncated when a limit cut either short. On a store
 * connection of its own: never waits for the service lock. DC_ERR_STORE on failure. */
dc_err_t dd_history_read(dd_service_t *svc, int64_t party, double t0_s, double t1_s,
                         const dd_history_visit_t *v, bool *truncated, dd_fault_t *f);

/* The pass: deletes samples older than history_keep_s, at most 10 s of them per pass (a
 * second's worth in the steady state), so no pass pays for a backlog: after downtime it is
 * caught up at ten times real time. */
void dd_history_prune(dd_service_t *svc, double now);

/* Pruning goes on from the oldest sample kept (none: nothing to catch up). */
void dd_history_open(dd_service_t *svc, double now);

#endif
