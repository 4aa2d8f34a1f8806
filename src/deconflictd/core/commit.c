/* Group commit for deconflictd's store: see commit.h.
 *
 * Commits are numbered (tickets) under svc->lock. The syncer thread wakes at each commit; it
 * flushes the group under the lock, takes the newest ticket as its target, syncs without the
 * lock, and publishes the target -- which covers every commit made before the flush. A thread
 * that needs ticket t durable waits for svc->synced >= t; an HTTP request instead leaves its
 * answer with t and is answered when the syncer's hook finds t synced (http/server.c). */
#include "core/commit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The newest commit this thread must see durable before it answers (0: none). */
static __thread uint64_t pending_ticket;
/* Something this thread waited for may not have been kept (dd_answer_unsure). */
static __thread bool answer_unsure;
/* Deferred answers (dd_answer_defer): the newest commit the answer waits for, instead of the
 * thread waiting itself. */
static __thread bool defer_wait;
static __thread uint64_t answer_ticket;

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
    if (ticket > svc->unsure_hi) __atomic_store_n(&svc->unsure_hi, ticket, __ATOMIC_SEQ_CST);
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
    pthread_cond_signal(&svc->sync_kick);
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
    /* A deferred answer of several sections: an earlier one's commit found unsure since stays
     * unsure, whatever the last one's sync says. */
    if (defer_wait && answer_ticket && answer_ticket <= svc->unsure_hi) answer_unsure = true;
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
    pthread_cond_signal(&svc->sync_kick);
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

/* What a sync covers: the commits up to ticket, the events up to seq, made through the
 * store's connection number epoch. */
typedef struct sync_target {
    uint64_t ticket, epoch;
    int64_t seq;
} sync_target_t;

/* The commits made since the last flush committed to the store together (store.h: SQLite
 * groups them into one transaction, which writes each page they changed once), and what the
 * sync that follows covers: every commit made until now, those that came while this thread
 * waited for the lock among them. When the flush fails none of them was kept: their tickets
 * are unsure, as after a lost connection -- whoever waits for one is answered 503 -- and the
 * state in memory, which holds them, is not trusted: writes are refused (503) until the
 * periodic pass has read it anew from the store (cluster.c; not here: the pass's engines are
 * in use outside the lock). Takes svc->lock. */
static bool flush(dd_service_t *svc, sync_target_t *to, char *err, size_t len)
{
    pthread_mutex_lock(&svc->lock);
    bool ok = dc_store_flush(svc->store, err, len) == DC_OK;
    /* No commit is made under the lock: this is all there is to sync. */
    pthread_mutex_lock(&svc->sync_lock);
    *to = (sync_target_t){svc->committed, svc->commit_epoch, svc->committed_seq};
    pthread_mutex_unlock(&svc->sync_lock);
    if (!ok) {
        fprintf(stderr,
                "deconflictd: the writes since the last sync could not be committed (%s): they "
                "are answered 503, and the state is read anew from the store at the next pass\n",
                err);
        int64_t seq = dc_store_event_last_seq(svc->store);
        pthread_mutex_lock(&svc->sync_lock);
        unsure_upto(svc, to->ticket);
        /* The group's events are gone, and their numbers will be given again: the next sync
         * must not declare them durable. */
        svc->committed_seq = to->seq = seq;
        pthread_mutex_unlock(&svc->sync_lock);
    }
    pthread_mutex_unlock(&svc->lock);
    return ok;
}

/* One sync: the group flushed, then made durable; the streams and those who wait are told.
 * Called by the syncer with sync_lock held, which it releases meanwhile. */
static void sync_once(dd_service_t *svc)
{
    pthread_mutex_unlock(&svc->sync_lock);
    char err[256] = "";
    sync_target_t to;
    bool ok = flush(svc, &to, err, sizeof(err));
    if (ok) {
        ok = dc_store_sync(svc->store, err, sizeof(err)) == DC_OK;
        /* ... and through the connection the commits went through: one made again meanwhile
         * may have lost them. */
        if (ok && dc_store_reconnects(svc->store) != to.epoch) {
            ok = false;
            snprintf(err, sizeof(err), "the store's connection was made again meanwhile");
        }
        if (ok) {
            /* Streams read up to durable_seq under svc->lock and wait on events_cond: set and
             * broadcast under it too, or a stream could miss the wake-up. Never take svc->lock
             * while holding sync_lock (tx_end takes them in the other order). */
            pthread_mutex_lock(&svc->lock);
            if (to.seq > svc->durable_seq)
                __atomic_store_n(&svc->durable_seq, to.seq, __ATOMIC_RELEASE);
            pthread_cond_broadcast(&svc->events_cond);
            pthread_mutex_unlock(&svc->lock);
        }
        pthread_mutex_lock(&svc->sync_lock);
        if (!ok) sync_failed(svc, to.ticket, err);
        svc->syncs_total++;
    } else {
        pthread_mutex_lock(&svc->sync_lock); /* nothing reached the store; unsure (flush) */
    }
    /* unsure_hi before synced: whoever reads synced without the lock reads it first
     * (dd_commit_durable). */
    __atomic_store_n(&svc->synced, to.ticket, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&svc->sync_cond);
}

/* The syncer thread: syncs whenever something was committed since the last sync. Commits that
 * come while it syncs wait for the next one, and share it. */
static void *syncer(void *arg)
{
    dd_service_t *svc = arg;
    pthread_mutex_lock(&svc->sync_lock);
    for (;;) {
        while (!svc->sync_stop && svc->synced >= svc->committed)
            pthread_cond_wait(&svc->sync_kick, &svc->sync_lock);
        if (svc->synced >= svc->committed) break; /* stopping, and nothing left to sync */
        sync_once(svc);
        pthread_mutex_unlock(&svc->sync_lock);
        pthread_mutex_lock(&svc->synced_hook_lock);
        if (svc->synced_hook) svc->synced_hook(svc->synced_hook_ctx);
        pthread_mutex_unlock(&svc->synced_hook_lock);
        pthread_mutex_lock(&svc->sync_lock);
    }
    pthread_mutex_unlock(&svc->sync_lock);
    return NULL;
}

bool dd_commit_start(dd_service_t *svc)
{
    pthread_cond_init(&svc->sync_kick, NULL);
    pthread_mutex_init(&svc->synced_hook_lock, NULL);
    svc->sync_stop = false;
    svc->syncer_running = pthread_create(&svc->syncer, NULL, syncer, svc) == 0;
    return svc->syncer_running;
}

void dd_commit_stop(dd_service_t *svc)
{
    if (!svc->syncer_running) return;
    pthread_mutex_lock(&svc->sync_lock);
    svc->sync_stop = true;
    pthread_cond_signal(&svc->sync_kick);
    pthread_mutex_unlock(&svc->sync_lock);
    pthread_join(svc->syncer, NULL);
    svc->syncer_running = false;
    pthread_cond_destroy(&svc->sync_kick);
    pthread_mutex_destroy(&svc->synced_hook_lock);
}

void dd_commit_synced_hook(dd_service_t *svc, void (*hook)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&svc->synced_hook_lock);
    svc->synced_hook = hook, svc->synced_hook_ctx = ctx;
    pthread_mutex_unlock(&svc->synced_hook_lock);
}

bool dd_commit_durable(dd_service_t *svc, uint64_t ticket, bool *unsure)
{
    if (__atomic_load_n(&svc->synced, __ATOMIC_SEQ_CST) < ticket) return false;
    *unsure = ticket <= __atomic_load_n(&svc->unsure_hi, __ATOMIC_SEQ_CST);
    return true;
}

/* Returns once every commit up to ticket is durable, or known to be unsure (answer_unsure).
 * Called without svc->lock. */
static void sync_to(dd_service_t *svc, uint64_t ticket)
{
    pthread_mutex_lock(&svc->sync_lock);
    while (svc->synced < ticket) pthread_cond_wait(&svc->sync_cond, &svc->sync_lock);
    /* Conservative: a ticket synced before a later failure, whose thread looks only now, is
     * counted unsure too (a 503 for a write that was kept; its retry finds it). */
    if (ticket <= svc->unsure_hi) answer_unsure = true;
    pthread_mutex_unlock(&svc->sync_lock);
}

void dd_commit_wait(dd_service_t *svc, uint64_t ticket, bool *unsure)
{
    answer_unsure = false;
    sync_to(svc, ticket);
    *unsure = answer_unsure;
}

void dd_answer_defer(bool on)
{
    defer_wait = on;
    if (on) answer_ticket = 0;
}

uint64_t dd_answer_ticket(void)
{
    return answer_ticket;
}

void dd_write_unlock(dd_service_t *svc)
{
    withdraw_request(svc);
    pthread_mutex_unlock(&svc->lock);
    uint64_t t = pending_ticket;
    pending_ticket = 0;
    if (!t) return;
    if (defer_wait) {
        if (t > answer_ticket) answer_ticket = t;
        return;
    }
    sync_to(svc, t);
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

/* The state in memory is not trusted until the pass has read it anew (cluster.c). */
static dc_err_t state_unsure(dd_fault_t *f)
{
    return dd_fail(f, DC_ERR_UNAVAILABLE, "",
                   "the service is reading its state anew from the store after a write it could "
                   "not keep (a full disk?) or a failover: nothing was written; retry");
}

dc_err_t dd_tx_refused(dd_service_t *svc, dc_err_t rc, dd_fault_t *f)
{
    return rc == DC_ERR_UNAVAILABLE ? state_unsure(f) : dd_store_failed(svc, f);
}

dc_err_t dd_tx_start(dd_service_t *svc, dd_fault_t *f)
{
    dc_err_t rc = dd_tx_begin(svc);
    return rc == DC_OK ? DC_OK : dd_tx_refused(svc, rc, f);
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
