/* Several nodes on one store: see cluster.h. */
#include "core/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/agreements.h"
#include "core/commit.h"
#include "core/conflicts.h"
#include "core/conformance.h"
#include "core/detection.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/operations.h"
#include "core/tracks.h"

#define CHANGES_BATCH 1000 /* documents read per round of a catch-up */
#define TRACKS_BATCH  5000 /* track states read per round */

typedef struct change {
    char kind[16];
    char id[96];
} change_t;

typedef struct changes {
    change_t *items;
    size_t n, cap;
    bool nomem;
} changes_t;

static void collect(int64_t seq, const char *kind, const char *id, void *ctx)
{
    (void)seq;
    changes_t *c = ctx;
    if (c->nomem || !kind || !id) return;
    for (size_t i = c->n; i-- > 0;) /* the same document twice in a round: once is enough */
        if (strcmp(c->items[i].id, id) == 0 && strcmp(c->items[i].kind, kind) == 0) return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        change_t *p = realloc(c->items, cap * sizeof(*p));
        if (!p) {
            c->nomem = true;
            return;
        }
        c->items = p, c->cap = cap;
    }
    snprintf(c->items[c->n].kind, sizeof(c->items[0].kind), "%s", kind);
    snprintf(c->items[c->n].id, sizeof(c->items[0].id), "%s", id);
    c->n++;
}

/* The document changed, read again and applied by its module. */
static void apply(dd_service_t *svc, const change_t *ch)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, ch->kind, ch->id, &doc) != DC_OK) return;
    if (strcmp(doc.kind, "operation") == 0)
        dd_operations_apply(svc, &doc);
    else if (strcmp(doc.kind, "conflict") == 0)
        dd_conflicts_apply(svc, &doc);
    else if (strcmp(doc.kind, "agreement") == 0)
        dd_agreements_apply(svc, &doc);
    else if (strcmp(doc.kind, "message") == 0 || strcmp(doc.kind, "channel") == 0)
        dd_messages_apply(svc, &doc);
    dc_doc_release(&doc);
}

static void apply_track(int64_t party, const char *id, const char *state, void *ctx)
{
    dd_tracks_apply(ctx, party, id, state);
}

static void step_down(dd_service_t *svc);

/* Whether the state in memory is to be read anew: the store's connection was made again (a
 * write of this node's may have gone with it) or a write could not be kept (commit.c). */
static bool reload_due(dd_service_t *svc)
{
    return svc->reload && (dc_store_reconnects(svc->store) != svc->reconnects_seen ||
                           __atomic_load_n(&svc->reload_wanted, __ATOMIC_ACQUIRE));
}

dc_err_t dd_cluster_reload(dd_service_t *svc)
{
    if (!reload_due(svc)) return DC_OK;
    uint64_t reconnects = dc_store_reconnects(svc->store);
    /* Nothing held in memory is trusted, and nothing read from it is answered, until the
     * store's state is read. */
    dd_commit_state_unsure(svc);
    if (svc->leader) step_down(svc); /* taken again, rebuilt, at this pass (dd_cluster_lead) */
    dc_err_t rc = svc->reload(svc);
    if (rc != DC_OK) return rc; /* wanted still: tried again at the next pass */
    svc->reconnects_seen = reconnects;
    dd_commit_state_fresh(svc);
    return DC_OK;
}

dc_err_t dd_cluster_catch_up(dd_service_t *svc)
{
    if (reload_due(svc)) {
        /* Read anew by the periodic pass, not here: its engines are in use outside the lock,
         * and a write's caller may hold pointers into what a reload frees. Until then writes
         * are refused (503) and reads answered 503 (commit.c). */
        dd_commit_state_unsure(svc);
        return DC_ERR_UNAVAILABLE;
    }
    if (!svc->shared) return DC_OK; /* nobody else writes to it */
    dc_err_t rc = DC_OK;
    for (;;) {
        changes_t c = {0};
        int64_t last = svc->changes_seen;
        rc = dc_store_changes(svc->store, svc->changes_seen, CHANGES_BATCH, collect, &c, &last);
        if (rc == DC_OK && c.nomem) rc = DC_ERR_NOMEM;
        for (size_t i = 0; rc == DC_OK && i < c.n; i++) apply(svc, &c.items[i]);
        free(c.items);
        if (rc != DC_OK || last == svc->changes_seen) break;
        svc->changes_seen = last;
    }
    while (rc == DC_OK) {
        int64_t last = svc->tracks_seen;
        rc = dc_store_tracks_since(svc->store, svc->tracks_seen, TRACKS_BATCH, apply_track, svc,
                                   &last);
        if (rc != DC_OK || last == svc->tracks_seen) break;
        svc->tracks_seen = last;
    }
    return rc;
}

/* ---- leadership ---- */

static void follow_again(dd_service_t *svc, const dd_conflict_t *c, void *ctx)
{
    double now = *(const double *)ctx;
    dd_detection_restore(svc, c, now);
    dd_conformance_restore(svc, c);
}

/* The pass's bookkeeping dropped: the pairs and each track's followed conflicts. */
static void step_down(dd_service_t *svc)
{
    dd_detection_close(svc);
    for (size_t i = 0; i < svc->n_tracks; i++) svc->track_list[i]->n_conf = 0;
    svc->leader = false;
}

/* ... and rebuilt from the open conflicts, as a restart does. */
static void take_over(dd_service_t *svc, double now)
{
    step_down(svc);
    for (size_t i = 0; i < svc->conflicts.cap; i++)
        if (svc->conflicts.slots[i].key) follow_again(svc, svc->conflicts.slots[i].val, &now);
    svc->leader = true;
    fprintf(stderr, "deconflictd: node %s leads the periodic pass\n", svc->node);
}

bool dd_cluster_lead(dd_service_t *svc, double now)
{
    if (!svc->shared) {
        /* One node always leads; after its state was read anew (dd_cluster_reload, just before
         * in the same pass) it takes the pass up again as a restart does. */
        if (!svc->leader) take_over(svc, now);
        return true;
    }
    bool lead = false;
    if (dc_store_lead(svc->store, svc->node, svc->cfg.leader_lease_s, &lead) != DC_OK) lead = false;
    if (lead && !svc->leader) {
        if (dd_cluster_catch_up(svc) != DC_OK) return false; /* not whole: try again next pass */
        take_over(svc, now);
    } else if (!lead && svc->leader) {
        fprintf(stderr, "deconflictd: node %s no longer leads\n", svc->node);
        step_down(svc);
    }
    return lead;
}

bool dd_cluster_still_leads(dd_service_t *svc)
{
    if (!svc->shared) return true;
    bool lead = false;
    if (dc_store_lead(svc->store, svc->node, svc->cfg.leader_lease_s, &lead) != DC_OK) lead = false;
    if (!lead && svc->leader) {
        fprintf(stderr, "deconflictd: node %s lost the lead\n", svc->node);
        step_down(svc);
    }
    return lead;
}

bool dd_cluster_open(dd_service_t *svc)
{
    svc->shared = svc->cfg.store_url[0] != '\0';
    if (svc->cfg.node[0]) {
        snprintf(svc->node, sizeof(svc->node), "%s", svc->cfg.node);
    } else {
        uint8_t r[6];
        randombytes_buf(r, sizeof(r));
        char hex[13];
        sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
        snprintf(svc->node, sizeof(svc->node), "node-%s", hex);
    }
    /* Before every write: on a shared store what the other nodes wrote is applied; on any
     * store, the state is read anew once it is no longer trusted (commit.c). */
    svc->catch_up = dd_cluster_catch_up;
    if (!svc->shared) {
        svc->leader = true; /* one process serves the store */
        return true;
    }
    /* Read before the modules restore: what is written meanwhile is applied again, which
     * changes nothing. */
    return dc_store_heads(svc->store, &svc->changes_seen, &svc->tracks_seen) == DC_OK;
}
