/* Track history: see history.h. */
#include "core/history.h"

#include <math.h>
#include <stdio.h>

#include "core/events.h"

dc_err_t dd_history_read(dd_service_t *svc, int64_t party, double t0_s, double t1_s,
                         const dd_history_visit_t *v, bool *truncated, dd_fault_t *f)
{
    bool more_samples = false, more_events = false;
    /* Events only up to the last durable one, as the streams show them. */
    int64_t upto = dd_events_durable(svc);
    pthread_mutex_lock(&svc->history_lock);
    dc_err_t rc =
        dc_store_history_between(svc->history_store, party, t0_s, t1_s, DD_HISTORY_SAMPLES_MAX,
                                 v->sample, v->ctx, &more_samples);
    if (rc == DC_OK)
        rc = dc_store_event_between(svc->history_store, party, t0_s, t1_s, upto,
                                    DD_HISTORY_EVENTS_MAX, v->event, v->ctx, &more_events);
    pthread_mutex_unlock(&svc->history_lock);
    *truncated = more_samples || more_events;
    return rc == DC_OK ? DC_OK : dd_fail(f, DC_ERR_STORE, "", "the history could not be read");
}

void dd_history_prune(dd_service_t *svc, double now)
{
    double cutoff = now - svc->cfg.history_keep_s;
    if (svc->history_pruned_s >= cutoff) return;
    double upto = fmin(cutoff, svc->history_pruned_s + 10);
    if (dc_store_history_prune(svc->store, upto, NULL) != DC_OK)
        fprintf(stderr, "deconflictd: old track history not deleted: %s\n",
                dc_store_last_error(svc->store));
    svc->history_pruned_s = upto;
}

void dd_history_open(dd_service_t *svc, double now)
{
    if (dc_store_history_oldest(svc->store, &svc->history_pruned_s) != DC_OK)
        svc->history_pruned_s = now - svc->cfg.history_keep_s;
}
