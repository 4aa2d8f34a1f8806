/* Group commit for deconflictd's store: see commit.h.
 *
 * Commits are numbered (tickets) under svc->lock. A thread that needs ticket t durable waits
 * for svc->synced >= t; if no sync is running it becomes the syncer: it takes the newest ticket
 * as its target, syncs, and publishes the target — which covers every commit made before it
 * took the target, its own and other threads'. */
#include "core/commit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The newest commit this thread must see durable before it answers (0: none). */
static __thread uint64_t pending_ticket;

static __thread struct {
    int64_t party;
    const char *body;
    size_t len;
    uint8_t sig[64];
} signed_req;

void dd_signed_request(int64_t party, const char *body, size_t len, const uint8_t sig[64])
{
    signed_req.party = party, signed_req.body = body, signed_req.len = len;
    if (body) memcpy(signed_req.sig, sig, sizeof(signed_req.sig));
}

/* What a thread reads under the lock may have been committed by another that still waits for
 * its sync: whatever it answers waits for that sync too. */
static void expect_read(dd_service_t *svc)
{
    pthread_mutex_lock(&svc->sync_lock);
    if (svc->committed > pending_ticket) pending_ticket = svc->committed;
    pthread_mutex_unlock(&svc->sync_lock);
}

/* The store sees this thread's signed request only while the thread holds the lock. */
static void lend_request(dd_service_t *svc)
{
    if (signed_req.body)
        dc_store_set_request(svc->store, signed_req.party, signed_req.body, signed_req.len,
                             signed_req.sig);
}

static void withdraw_request(dd_service_t *svc)
{
    if (signed_req.body) dc_store_set_request(svc->store, 0, NULL, 0, NULL);
}

void dd_write_lock(dd_service_t *svc)
{
    pthread_mutex_lock(&svc->lock);
    expect_read(svc);
    lend_request(svc);
}

dc_err_t dd_tx_begin(dd_service_t *svc)
{
    dc_err_t rc = dc_store_begin(svc->store);
    /* A shared store: the writers' turn is held now; what the other nodes wrote is applied
     * before this write decides anything (core/cluster.h). */
    if (rc == DC_OK && svc->catch_up && (rc = svc->catch_up(svc)) != DC_OK)
        dc_store_rollback(svc->store);
    return rc;
}

void dd_tx_abort(dd_service_t *svc)
{
    dc_store_rollback(svc->store);
}

dc_err_t dd_tx_end(dd_service_t *svc)
{
    /* A shared store: what this write leaves the heads at, the turn still held, is what this
     * node has caught up to once it commits (its own writes need no applying). */
    int64_t changes = 0, tracks = 0;
    bool heads = svc->catch_up && dc_store_heads(svc->store, &changes, &tracks) == DC_OK;
    dc_err_t rc = dc_store_commit(svc->store);
    if (rc == DC_OK && heads) {
        if (changes > svc->changes_seen) svc->changes_seen = changes;
        if (tracks > svc->tracks_seen) svc->tracks_seen = tracks;
    }
    if (rc != DC_OK) {
        dc_store_rollback(svc->store);
        return rc;
    }
    int64_t seq = dc_store_event_last_seq(svc->store);
    pthread_mutex_lock(&svc->sync_lock);
    pending_ticket = ++svc->committed;
    svc->committed_seq = seq;
    pthread_mutex_unlock(&svc->sync_lock);
    return DC_OK;
}

/* Returns once every commit up to ticket is durable. Called without svc->lock. */
static void sync_to(dd_service_t *svc, uint64_t ticket)
{
    pthread_mutex_lock(&svc->sync_lock);
    while (svc->synced < ticket) {
        if (svc->syncing) {
            pthread_cond_wait(&svc->sync_cond, &svc->sync_lock);
            continue;
        }
        svc->syncing = true;
        uint64_t target = svc->committed;
        int64_t seq = svc->committed_seq;
        pthread_mutex_unlock(&svc->sync_lock);
        char err[256];
        if (dc_store_sync(svc->store, err, sizeof(err)) != DC_OK) {
            fprintf(stderr,
                    "deconflictd: the store could not be synced (%s); exiting so that a "
                    "restart serves exactly what is durable\n",
                    err);
            fflush(stderr);
            _exit(74);
        }
        /* Streams read up to durable_seq under svc->lock and wait on events_cond: set and
         * broadcast under it too, or a stream could miss the wake-up. Never take svc->lock while
         * holding sync_lock (tx_end takes them in the other order). */
        pthread_mutex_lock(&svc->lock);
        if (seq > svc->durable_seq) __atomic_store_n(&svc->durable_seq, seq, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&svc->events_cond);
        pthread_mutex_unlock(&svc->lock);
        pthread_mutex_lock(&svc->sync_lock);
        svc->synced = target;
        svc->syncing = false;
        svc->syncs_total++;
        pthread_cond_broadcast(&svc->sync_cond);
    }
    pthread_mutex_unlock(&svc->sync_lock);
}

void dd_write_unlock(dd_service_t *svc)
{
    withdraw_request(svc);
    pthread_mutex_unlock(&svc->lock);
    uint64_t t = pending_ticket;
    pending_ticket = 0;
    if (t) sync_to(svc, t);
}

void dd_write_yield(dd_service_t *svc)
{
    withdraw_request(svc);
    pthread_mutex_unlock(&svc->lock);
    pthread_mutex_lock(&svc->lock);
    expect_read(svc);
    lend_request(svc);
}

void dd_read_lock(dd_service_t *svc)
{
    pthread_mutex_lock(&svc->lock);
    expect_read(svc);
}

void dd_read_unlock(dd_service_t *svc)
{
    dd_write_unlock(svc);
}

dc_err_t dd_store_failed(dd_service_t *svc, dd_fault_t *f)
{
    return dd_fail(f, DC_ERR_STORE, "", "the store refused the write: %s",
                   dc_store_last_error(svc->store));
}

dc_err_t dd_tx_start(dd_service_t *svc, dd_fault_t *f)
{
    return dd_tx_begin(svc) == DC_OK ? DC_OK : dd_store_failed(svc, f);
}

dc_err_t dd_tx_finish(dd_service_t *svc, dc_err_t rc, dd_fault_t *f)
{
    if (rc != DC_OK) {
        dd_tx_abort(svc);
        return rc;
    }
    return dd_tx_end(svc) == DC_OK ? DC_OK : dd_store_failed(svc, f);
}

dc_err_t dd_write_section(dd_service_t *svc,
                          dc_err_t (*fn)(dd_service_t *svc, void *job, dd_fault_t *f), void *job,
                          dd_fault_t *f)
{
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_start(svc, f);
    if (rc == DC_OK) rc = dd_tx_finish(svc, fn(svc, job, f), f);
    dd_write_unlock(svc);
    return rc;
}
