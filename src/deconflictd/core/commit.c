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
/* Something this thread waited for may not have been kept (dd_answer_unsure). */
static __thread bool answer_unsure;

void dd_answer_begin(void)
{
    answer_unsure = false;
}

bool dd_answer_unsure(void)
{
    return answer_unsure;
}

/* Under sync_lock: the tickets up to ticket may not have been kept, so the state in memory is
 * not trusted until it is read anew (cluster.c). */
static void unsure_upto(dd_service_t *svc, uint64_t ticket)
{
    if (ticket > svc->unsure_hi) svc->unsure_hi = ticket;
    __atomic_store_n(&svc->reload_wanted, true, __ATOMIC_RELEASE);
}

void dd_commit_state_unsure(dd_service_t *svc)
{
    pthread_mutex_lock(&svc->sync_lock);
    unsure_upto(svc, svc->committed);
    pthread_mutex_unlock(&svc->sync_lock);
}

void dd_commit_state_fresh(dd_service_t *svc)
{
    pthread_mutex_lock(&svc->sync_lock);
    /* What is read from now on is the store's, as of a ticket of its own: a reader waits for
     * a sync after the reload, not for the unsure ones before it. */
    svc->committed++;
    svc->commit_epoch = dc_store_reconnects(svc->store);
    __atomic_store_n(&svc->reload_wanted, false, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&svc->sync_lock);
}

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
    uint64_t epoch = dc_store_reconnects(svc->store);
    pthread_mutex_lock(&svc->sync_lock);
    if (epoch != svc->commit_epoch) {
        /* A connection made again since the last commit: those before it went through the
         * one that was lost (the catch-up normally sees to this before the write). */
        if (svc->committed > svc->synced) unsure_upto(svc, svc->committed);
        svc->commit_epoch = epoch;
    }
    pending_ticket = ++svc->committed;
    svc->committed_seq = seq;
    pthread_mutex_unlock(&svc->sync_lock);
    return DC_OK;
}

/* A sync that failed. Alone on its store (SQLite), fatal: after a failed fsync the kernel may
 * have dropped the dirty pages, so retrying proves nothing; a restart serves what is durable.
 * On a shared store (PostgreSQL) the server was lost or changed (a failover): the commits up to
 * target are unsure -- those who wait for them are answered 503 -- and the node reads its state
 * anew from the store before it writes again (cluster.c). Under sync_lock. */
static void sync_failed(dd_service_t *svc, uint64_t target, const char *err)
{
    if (!svc->shared) {
        fprintf(stderr,
                "deconflictd: the store could not be synced (%s); exiting so that a restart "
                "serves exactly what is durable\n",
                err);
        fflush(stderr);
        _exit(74);
    }
    fprintf(stderr,
            "deconflictd: the store could not be synced (%s): the writes waiting for it are "
            "answered 503 and the state is read anew from the store\n",
            err);
    unsure_upto(svc, target);
}

/* Returns once every commit up to ticket is durable, or known to be unsure (answer_unsure).
 * Called without svc->lock. */
static void sync_to(dd_service_t *svc, uint64_t ticket)
{
    pthread_mutex_lock(&svc->sync_lock);
    while (svc->synced < ticket) {
        if (svc->syncing) {
            pthread_cond_wait(&svc->sync_cond, &svc->sync_lock);
            continue;
        }
        svc->syncing = true;
        uint64_t target = svc->committed, epoch = svc->commit_epoch;
        int64_t seq = svc->committed_seq;
        pthread_mutex_unlock(&svc->sync_lock);
        char err[256] = "";
        bool ok = dc_store_sync(svc->store, err, sizeof(err)) == DC_OK;
        /* ... and through the connection the commits went through: one made again meanwhile
         * may have lost them. */
        if (ok && dc_store_reconnects(svc->store) != epoch) {
            ok = false;
            snprintf(err, sizeof(err), "the store's connection was made again meanwhile");
        }
        if (ok) {
            /* Streams read up to durable_seq under svc->lock and wait on events_cond: set and
             * broadcast under it too, or a stream could miss the wake-up. Never take svc->lock
             * while holding sync_lock (tx_end takes them in the other order). */
            pthread_mutex_lock(&svc->lock);
            if (seq > svc->durable_seq) __atomic_store_n(&svc->durable_seq, seq, __ATOMIC_RELEASE);
            pthread_cond_broadcast(&svc->events_cond);
            pthread_mutex_unlock(&svc->lock);
        }
        pthread_mutex_lock(&svc->sync_lock);
        if (!ok) sync_failed(svc, target, err);
        svc->synced = target;
        svc->syncing = false;
        svc->syncs_total++;
        pthread_cond_broadcast(&svc->sync_cond);
    }
    /* Conservative: a ticket synced before a later failure, whose thread looks only now, is
     * counted unsure too (a 503 for a write that was kept; its retry finds it). */
    if (ticket <= svc->unsure_hi) answer_unsure = true;
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

/* A store whose connection was lost did not refuse anything: the request may succeed once the
 * connection is made again (a failover), so it is 503, not 500. */
static dc_err_t store_lost(dd_fault_t *f)
{
    return dd_fail(f, DC_ERR_UNAVAILABLE, "",
                   "the store's connection was lost (a failover?): nothing was written; retry");
}

dc_err_t dd_store_failed(dd_service_t *svc, dd_fault_t *f)
{
    if (dc_store_disconnected(svc->store)) return store_lost(f);
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
        if (rc == DC_ERR_STORE && dc_store_disconnected(svc->store)) {
            dd_fault_clear(f);
            return store_lost(f);
        }
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
