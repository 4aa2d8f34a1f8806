/* deconflictd's domain: the service's state, one structure every module of core/ reads its
 * part of (core/service.h opens and closes it).
 *
 * One lock (svc->lock) guards the store connection `store`, the engines and every table of
 * the domain; writes go through group commit (core/commit.h). Nothing here knows HTTP, and
 * nothing reads the clock: every entry point takes `now` (Unix seconds) from its caller. The
 * state the periodic pass reads is C structures in tables (operations, open conflicts, tracks,
 * pairs, agreements), restored from the store at open as a restart restores them. */
#ifndef DD_CORE_STATE_H
#define DD_CORE_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/fault.h"
#include "core/histogram.h"
#include "core/table.h"
#include "deconflict/alerting.h"
#include "deconflict/store.h"
#include "deconflict/strategic.h"
#include "deconflict/tactical.h"

/* Why position reports were refused, for /metrics. */
enum { DD_REFUSED_AHEAD, DD_REFUSED_OLD, DD_REFUSED_INVALID };

typedef struct dd_party_mark {
    int64_t party;
    int64_t last_seq; /* its last event appended */
    bool suspended;   /* its side of the channel is suspended */
} dd_party_mark_t;

typedef struct dd_service {
    dd_config_t cfg;
    /* The store: the service's connection (under lock), and connections of their own for
     * authentication, history reads and event streams, each under its own mutex, so none of
     * them waits for the service lock (SQLite WAL: readers never block the writer). */
    dc_store_t *store;
    dc_store_claim_t *claim;
    dc_store_t *auth_store, *history_store, *events_store;
    pthread_mutex_t auth_lock, history_lock, events_lock;
    uint8_t audit_pk[32], audit_sk[64]; /* the service's Ed25519 key: signs the audit head */

    /* The lock, and group commit (core/commit.c). */
    pthread_mutex_t lock;
    pthread_cond_t events_cond; /* broadcast when events become durable, and on stopping */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    uint64_t committed, synced; /* the last commit ticket made, and whose sync was tried */
    /* A shared store (commit.c): the tickets up to unsure_hi may not have been kept (a sync
     * that failed, a connection lost): whoever waited for one is answered 503. commit_epoch:
     * the store's connection (dc_store_reconnects) the last commit went through. */
    uint64_t unsure_hi, commit_epoch;
    bool reload_wanted; /* the state in memory is not trusted: read it anew (cluster.c) */
    int64_t committed_seq, durable_seq; /* the last event seq as of the last commit / sync */
    uint64_t syncs_total;
    /* The syncer thread (commit.c), kicked at each commit; after each sync it calls the hook
     * (the HTTP server's: it answers the requests whose commits are now durable). */
    pthread_t syncer;
    bool syncer_running, sync_stop;
    pthread_cond_t sync_kick;
    pthread_mutex_t synced_hook_lock;
    void (*synced_hook)(void *ctx);
    void *synced_hook_ctx;

    /* What the event streams read without the lock (core/events.c), under marks_mu. */
    pthread_mutex_t marks_mu;
    dd_party_mark_t *marks;
    size_t n_marks, cap_marks;
    int64_t marks_floor;

    dd_table_t party_names; /* "<party id>" -> name (char *), filled on first need */

    dc_strategic_t *strategic;
    dc_tactical_t *tactical;           /* every track, en-route/terminal minima */
    dc_tactical_t *tactical_high;      /* tracks near or above FL410, high minima */
    dc_tactical_config_t tactical_cfg; /* both engines' stale_s and expire_s */
    /* Graded alerting over each engine's candidates (detection.c), fed every report. */
    dc_alerting_t *alerting, *alerting_high;
    struct dd_engine_ref {
        struct dd_service *svc;
        bool high;
    } engine_ref[2]; /* the alerting's pair rule's context */

    /* The domain's state, one module each. */
    dd_table_t ops, refs;         /* operations.c: id -> dd_op_t, ref -> the same dd_op_t */
    dd_table_t conflicts;         /* conflicts.c: open conflict id -> dd_conflict_t */
    dd_table_t tracks;            /* tracks.c: engine id "<party>/<track>" -> dd_track_t */
    struct dd_track **track_list; /* ... in arrival order: the conformance round's order */
    size_t n_tracks, cap_tracks, conformance_next;
    dd_table_t pairs;        /* detection.c: "<id1>|<id2>" -> dd_pair_t */
    dd_table_t agreements;   /* agreements.c: id -> dd_agreement_t */
    dd_table_t msg_pending;  /* messages.c: message id -> its ack deadline (double *) */
    double history_pruned_s; /* history.c: samples before this time are deleted */

    /* Several nodes on one store (cluster.c); with SQLite, only leader, catch_up and reload. */
    bool shared;                       /* the store is shared (PostgreSQL): other nodes write too */
    char node[64];                     /* this node's name in the leadership lease */
    bool leader;                       /* this node runs the periodic pass */
    int64_t changes_seen, tracks_seen; /* caught up to this audit seq and track revision */
    double last_pass_s;                /* when this node last completed a pass (0: never) */
    /* Called by dd_tx_begin once a write holds the writers' turn: catches up with the others,
     * and on any store reads the state anew once it is not trusted (reload_wanted). */
    dc_err_t (*catch_up)(struct dd_service *svc);
    /* Reads every module's state anew (service.c), when the store's connection was lost or a
     * group of commits could not be committed (commit.c): writes held in memory may not be in
     * the store, so nothing held in memory is trusted. */
    dc_err_t (*reload)(struct dd_service *svc);
    uint64_t reconnects_seen;

    /* Counters for /metrics. */
    uint64_t events_total, positions_total, positions_refused[3], passes_total, history_errors;
    size_t live_tracks, open_conflicts;
    /* The durations of the passes this node ran (led), seconds, and the last one's: set by
     * whoever runs the pass (it has the clock). */
    dd_histogram_t pass_took;
    double last_pass_took_s;
    bool stopping;
} dd_service_t;

#endif
