/* Opening and closing the domain: see service.h. */
#include "core/service.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/agreements.h"
#include "core/cluster.h"
#include "core/commit.h"
#include "core/conflicts.h"
#include "core/conformance.h"
#include "core/detection.h"
#include "core/events.h"
#include "core/history.h"
#include "core/messages.h"
#include "core/operations.h"
#include "core/parties.h"
#include "core/tracks.h"

/* An open conflict restored: the modules that follow one take it up again. */
static void follow(dd_service_t *svc, const dd_conflict_t *c, void *ctx)
{
    double now = *(const double *)ctx;
    dd_detection_restore(svc, c, now);
    dd_conformance_restore(svc, c);
}

/* Opens the store's connections: the service's, and one each for authentication, history
 * reads and event streams, so none of them waits for the service lock (SQLite WAL: readers
 * never block the writer). */
static bool open_store(dd_service_t *svc, char *err, size_t len)
{
    const char *url = svc->cfg.store_url;
    if (url[0]) {
        /* PostgreSQL: several nodes may serve one store; no claim (docs/deployment.md). */
        return (svc->store = dc_store_open_url(url, err, len)) &&
               (svc->auth_store = dc_store_open_url(url, err, len)) &&
               (svc->history_store = dc_store_open_url(url, err, len)) &&
               (svc->events_store = dc_store_open_url(url, err, len));
    }
    const char *dir = svc->cfg.data_dir;
    /* Checks the directory first. Created only when asked (--init): a mistyped --data must be
     * said, not served as an empty store while the real one waits elsewhere. */
    svc->store =
        svc->cfg.init_store ? dc_store_open(dir, err, len) : dc_store_open_existing(dir, err, len);
    if (!svc->store) return false;
    /* One process serves a store: a second daemon on the same directory would keep half the
     * live picture and miss the other half's conflicts. */
    svc->claim = dc_store_claim(dir, err, len);
    return svc->claim && (svc->auth_store = dc_store_open(dir, err, len)) &&
           (svc->history_store = dc_store_open(dir, err, len)) &&
           (svc->events_store = dc_store_open(dir, err, len));
}

/* Every module's state read from the store anew, after its connection was lost (cluster.c):
 * as a restart reads it, the pass's bookkeeping left for the next leader to rebuild. */
static dc_err_t reload(dd_service_t *svc)
{
    fprintf(stderr, "deconflictd: reading the store's state anew\n");
    dd_detection_close(svc);
    dd_tracks_close(svc);
    dd_conflicts_close(svc);
    dd_operations_close(svc);
    dd_agreements_close(svc);
    dd_messages_close(svc);
    dc_strategic_free(svc->strategic);
    svc->open_conflicts = 0;
    svc->leader = false;
    if (!(svc->strategic = dc_strategic_new(NULL))) return DC_ERR_NOMEM;
    /* The heads first: what is written meanwhile is applied again, which changes nothing. */
    if (dc_store_heads(svc->store, &svc->changes_seen, &svc->tracks_seen) != DC_OK ||
        !dd_operations_open(svc) || !dd_agreements_open(svc) || !dd_tracks_open(svc, INFINITY) ||
        !dd_conflicts_open(svc, NULL, NULL) || !dd_messages_open(svc))
        return DC_ERR_STORE;
    return DC_OK;
}

static bool restore(dd_service_t *svc, double now, char *err, size_t len)
{
    if (dc_store_audit_key(svc->store, svc->audit_pk, svc->audit_sk) != DC_OK) {
        snprintf(err, len, "the audit key: %s", dc_store_last_error(svc->store));
        return false;
    }
    if (!(svc->strategic = dc_strategic_new(NULL))) {
        snprintf(err, len, "out of memory");
        return false;
    }
    svc->reload = reload;
    if (!dd_cluster_open(svc)) {
        snprintf(err, len, "reading the store's heads: %s", dc_store_last_error(svc->store));
        return false;
    }
    /* Operations and agreements first (the checks read them), then tracks, then the open
     * conflicts, which the detection pass and the conformance check follow again. */
    if (!dd_operations_open(svc) || !dd_agreements_open(svc) || !dd_tracks_open(svc, now) ||
        !dd_conflicts_open(svc, follow, &now) || !dd_messages_open(svc)) {
        snprintf(err, len, "restoring from the store: %s", dc_store_last_error(svc->store));
        return false;
    }
    dd_history_open(svc, now);
    return true;
}

bool dd_service_open(dd_service_t *svc, const dd_config_t *cfg, double now, char *err, size_t len)
{
    memset(svc, 0, sizeof(*svc));
    svc->cfg = *cfg;
    pthread_mutex_init(&svc->lock, NULL);
    pthread_cond_init(&svc->events_cond, NULL);
    pthread_mutex_init(&svc->sync_lock, NULL);
    pthread_cond_init(&svc->sync_cond, NULL);
    pthread_mutex_init(&svc->auth_lock, NULL);
    pthread_mutex_init(&svc->history_lock, NULL);
    pthread_mutex_init(&svc->events_lock, NULL);
    pthread_mutex_init(&svc->marks_mu, NULL);
    if (!open_store(svc, err, len) || !restore(svc, now, err, len)) return false;
    /* Commits do not sync; commit.c syncs outside the lock, one sync for many commits. What
     * a previous run committed but never synced is synced now, before anything is served. */
    if (dc_store_defer_sync(svc->store) != DC_OK || dc_store_sync(svc->store, err, len) != DC_OK) {
        if (!*err) snprintf(err, len, "store: %s", dc_store_last_error(svc->store));
        return false;
    }
    if (!dd_commit_start(svc)) {
        snprintf(err, len, "cannot start the store's syncer thread");
        return false;
    }
    dd_events_open(svc, dc_store_event_last_seq(svc->store));
    return true;
}

void dd_service_close(dd_service_t *svc)
{
    dd_commit_stop(svc); /* after its last sync: whatever was committed is durable */
    dd_detection_close(svc);
    dd_tracks_close(svc);
    dd_conflicts_close(svc);
    dd_operations_close(svc);
    dd_agreements_close(svc);
    dd_messages_close(svc);
    dd_parties_close(svc);
    dd_events_close(svc);
    dc_strategic_free(svc->strategic);
    sodium_memzero(svc->audit_sk, sizeof(svc->audit_sk));
    char err[256];
    if (svc->store && (dc_store_flush(svc->store, err, sizeof(err)) != DC_OK ||
                       dc_store_sync(svc->store, err, sizeof(err)) != DC_OK))
        fprintf(stderr, "deconflictd: %s\n", err);
    dc_store_close(svc->store);
    dc_store_close(svc->auth_store);
    dc_store_close(svc->history_store);
    dc_store_close(svc->events_store);
    dc_store_release(svc->claim);
    pthread_mutex_destroy(&svc->marks_mu);
    pthread_mutex_destroy(&svc->events_lock);
    pthread_mutex_destroy(&svc->history_lock);
    pthread_mutex_destroy(&svc->auth_lock);
    pthread_cond_destroy(&svc->sync_cond);
    pthread_mutex_destroy(&svc->sync_lock);
    pthread_cond_destroy(&svc->events_cond);
    pthread_mutex_destroy(&svc->lock);
}
