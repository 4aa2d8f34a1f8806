/* deconflictd's group commit. Writes commit under svc->lock without syncing (the store's
 * deferred-sync mode: with SQLite, into one transaction kept open for the group); durability
 * comes after the lock is released, from one flush of the group (its transaction committed to
 * the WAL, under the lock) and one fdatasync of the WAL that covers every commit made before it
 * started. Requests that commit while a sync runs share the next one. So the lock is never held
 * across a disk flush, and one flush serves many requests. Nobody is answered before its commit
 * is synced: every 2xx still means durable.
 *
 *     dd_write_lock(svc);             instead of locking svc->lock
 *     dd_tx_begin(svc);
 *     ... store writes; in-memory state ...
 *     dd_tx_end(svc) or, on failure, dd_tx_abort(svc)
 *     dd_write_unlock(svc);           returns once this thread's commits are durable
 *
 * Everything a thread reads under the lock (store or memory) may come from a commit still
 * waiting for its sync, so dd_write_lock and dd_read_lock both note the newest commit, and the
 * unlock waits until it is durable: an answer never shows what a crash could lose. Event streams
 * deliver events only up to svc->durable_seq.
 *
 * A group that cannot be committed (a full disk) keeps nothing of it: the requests waiting for
 * it are answered 503, and the state in memory is read anew from the store before the next
 * write or pass; the service goes on. A failed sync on the embedded store is fatal: the daemon logs
 * it and exits (after a failed fsync the kernel may have dropped the dirty pages, so retrying
 * proves nothing); a restart serves what is durable. On a shared store (PostgreSQL) it means the
 * server was lost or replaced (a failover): the commits it should have covered are unsure, the
 * requests waiting for them are answered 503 (dd_answer_unsure), and the node reads its state anew
 * from the store before it writes again. */
#ifndef DD_CORE_COMMIT_H
#define DD_CORE_COMMIT_H

#include "core/state.h"

/* The signed request this thread serves (http/server.c, once its signature checks): every audit
 * entry its writes cause carries the request's hash and signature (dc_store_set_request),
 * applied by dd_write_lock and withdrawn by dd_write_unlock. body NULL: none. */
void dd_signed_request(int64_t party, const char *body, size_t len, const uint8_t sig[64]);

/* Around one request (http/server.c): dd_answer_begin before it is served; afterwards
 * dd_answer_unsure tells whether anything it wrote or read waited for a sync that failed --
 * then its answer is 503 whatever the handler made, as the outcome is not known. */
void dd_answer_begin(void);
bool dd_answer_unsure(void);

/* Deferred answers (http/server.c): between dd_answer_defer(true) and (false), dd_write_unlock
 * and dd_read_unlock do not wait for the sync; dd_answer_ticket() is then the newest commit the
 * thread's answer must wait for (0: none), until the next dd_answer_defer(true). The server holds
 * the answer back until dd_commit_durable says that commit is synced (unsure: it may not have been
 * kept: answer 503)
 * -- asked again from the hook the syncer calls after each sync -- so that its thread serves
 * other connections meanwhile and more requests share each sync. dd_commit_wait waits. */
void dd_answer_defer(bool on);
uint64_t dd_answer_ticket(void);
bool dd_commit_durable(dd_service_t *svc, uint64_t ticket, bool *unsure);
void dd_commit_wait(dd_service_t *svc, uint64_t ticket, bool *unsure);
/* hook(ctx) after every sync, from the syncer thread; NULL: none. Once this returns with NULL,
 * the previous hook is not running and will not run again. */
void dd_commit_synced_hook(dd_service_t *svc, void (*hook)(void *ctx), void *ctx);

/* The syncer thread: started once the store defers its syncs (service.c), stopped after its
 * last sync once nothing is committed any more. */
bool dd_commit_start(dd_service_t *svc);
void dd_commit_stop(dd_service_t *svc);

/* A shared store's connection was lost (cluster.c): every commit not yet synced is unsure, and
 * the state must be read anew; once it has been, dd_commit_state_fresh. Under svc->lock. */
void dd_commit_state_unsure(dd_service_t *svc);
void dd_commit_state_fresh(dd_service_t *svc);

void dd_write_lock(dd_service_t *svc);
void dd_write_unlock(dd_service_t *svc);
/* Lets others take the lock between two transactions of a long write, without waiting for a
 * sync (dd_write_unlock at the end waits for all of them). */
void dd_write_yield(dd_service_t *svc);
void dd_read_lock(dd_service_t *svc);
void dd_read_unlock(dd_service_t *svc);

dc_err_t dd_tx_begin(dd_service_t *svc);
/* Commits (not yet synced); on failure the transaction is rolled back and the error returned. */
dc_err_t dd_tx_end(dd_service_t *svc);
void dd_tx_abort(dd_service_t *svc);

/* The same as faults, for the domain's entry points:
 *     dd_write_lock(svc);
 *     dc_err_t rc = dd_tx_start(svc, f);
 *     if (rc == DC_OK) rc = ... the work, filling f on failure ...;
 *     rc = dd_tx_finish(svc, rc, f);   commits on DC_OK, else rolls back
 *     dd_write_unlock(svc);
 * A store that refuses the begin or the commit is DC_ERR_STORE in f. */
dc_err_t dd_tx_start(dd_service_t *svc, dd_fault_t *f);
/* The fault for a write dd_tx_begin or dd_tx_end refused with rc: 503 while the state is being
 * read anew (DC_ERR_UNAVAILABLE) or the store's connection is lost, else the store's refusal. */
dc_err_t dd_tx_refused(dd_service_t *svc, dc_err_t rc, dd_fault_t *f);
dc_err_t dd_tx_finish(dd_service_t *svc, dc_err_t rc, dd_fault_t *f);

/* The whole of it for one entry point: fn(svc, job, f) runs in a write section of its own
 * (locked, in a transaction committed when it returns DC_OK, rolled back otherwise), and this
 * returns once its commit is durable. */
dc_err_t dd_write_section(dd_service_t *svc,
                          dc_err_t (*fn)(dd_service_t *svc, void *job, dd_fault_t *f), void *job,
                          dd_fault_t *f);

/* The store's refusal of a write as a fault (DC_ERR_STORE, with the store's last error). */
dc_err_t dd_store_failed(dd_service_t *svc, dd_fault_t *f);

#endif
