/* The periodic pass: see tick.h. */
#include "core/tick.h"

#include <stdio.h>

#include "core/cluster.h"
#include "core/commit.h"
#include "core/conflicts.h"
#include "core/conformance.h"
#include "core/detection.h"
#include "core/history.h"
#include "core/messages.h"

bool dd_tick(dd_service_t *svc, double now)
{
    /* The state read anew first if it is not trusted (before the engines are used: a reload
     * replaces them). Several nodes: every one catches up (what the others wrote, positions among
     * it); the leader alone goes on. */
    pthread_mutex_lock(&svc->lock);
    if (dd_cluster_reload(svc) != DC_OK) {
        fprintf(stderr, "deconflictd: reading the store's state anew: %s; tried again next pass\n",
                dc_store_last_error(svc->store));
        pthread_mutex_unlock(&svc->lock);
        return false;
    }
    if (dd_cluster_catch_up(svc) != DC_OK)
        fprintf(stderr, "deconflictd: catching up with the store: %s\n",
                dc_store_last_error(svc->store));
    bool lead = dd_cluster_lead(svc, now);
    pthread_mutex_unlock(&svc->lock);
    if (!lead) return false;
    const dc_tactical_snapshot_t *snaps[2] = {NULL, NULL};
    if (dc_tactical_detect(svc->tactical, now, NULL, &snaps[0]) != DC_OK || !snaps[0]) return false;
    if (dc_tactical_detect(svc->tactical_high, now, NULL, &snaps[1]) != DC_OK) snaps[1] = NULL;
    dd_write_lock(svc);
    if (dd_tx_begin(svc) != DC_OK) {
        /* Nothing of this pass can be stored: leave the bookkeeping as it is for the next. */
        fprintf(stderr, "deconflictd: detection pass skipped: %s\n",
                dc_store_last_error(svc->store));
    } else if (!dd_cluster_still_leads(svc)) {
        dd_tx_abort(svc); /* another node took the lead meanwhile: this pass writes nothing */
    } else {
        dd_detection_judge(svc, snaps, now);
        dd_conformance_slice(svc, now);
        dd_history_prune(svc, now);
        dd_messages_escalate(svc, now);
        dd_conflicts_escalate(svc, now);
        svc->live_tracks = snaps[0]->stats.live;
        svc->passes_total++;
        svc->last_pass_s = now;
        if (dd_tx_end(svc) != DC_OK)
            fprintf(stderr, "deconflictd: a detection pass could not be stored: %s\n",
                    dc_store_last_error(svc->store));
    }
    dd_write_unlock(svc);
    dc_tactical_snapshot_release(snaps[0]);
    dc_tactical_snapshot_release(snaps[1]);
    return true;
}
