/* Conformance: see conformance.h. */
#include "core/conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agreements.h"
#include "deconflict/conformance.h"
#include "core/ids.h"
#include "core/operations.h"
#include "core/tracks.h"

#define HITS_MAX 32 /* operations one track is in or will enter */
#define KEYS_MAX (HITS_MAX + 2)

typedef struct hit {
    const dd_op_t *op;
    const char *ref;
} hit_t;

static dd_conf_entry_t *entry_of(dd_track_t *t, const char *key)
{
    for (size_t i = 0; i < t->n_conf; i++)
        if (strcmp(t->conf[i].key, key) == 0) return &t->conf[i];
    return NULL;
}

static bool add_entry(dd_track_t *t, const char *key, const char *cid)
{
    if (t->n_conf == t->cap_conf) {
        size_t cap = t->cap_conf ? 2 * t->cap_conf : 2;
        dd_conf_entry_t *e = realloc(t->conf, cap * sizeof(*e));
        if (!e) return false;
        t->conf = e, t->cap_conf = cap;
    }
    dd_conf_entry_t *e = &t->conf[t->n_conf++];
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->cid, sizeof(e->cid), "%s", cid);
    return true;
}

/* Opens conflict c (new, its sides filled) for track t under key. */
static void open_for(dd_service_t *svc, dd_track_t *t, const char *key, dd_conflict_t *c,
                     double now)
{
    c->side[0].party = t->party;
    snprintf(c->side[0].track, sizeof(c->side[0].track), "%s", dd_track_own_id(t));
    if (c->side[1].party) {
        c->side[1].sees_aircraft = true;
        c->side[1].aircraft = t->st;
    }
    if (dd_conflict_write(svc, c, DD_CF_NEW, 0, 0, now) != DC_OK) {
        fprintf(stderr, "deconflictd: conflict %s could not be written: %s\n", c->id,
                dc_store_last_error(svc->store));
        dd_conflict_free(c);
        return;
    }
    if (!add_entry(t, key, c->id))
        fprintf(stderr, "deconflictd: conflict %s: out of memory to follow it\n", c->id);
}

static dd_conflict_t *new_conflict(dd_cf_kind_t kind)
{
    char cid[40];
    dd_random_id("cf_", cid, sizeof(cid));
    return dd_conflict_new(kind, cid);
}

/* An intrusion's level: "inside" now, or predicted to enter within warning_s ("warning") or
 * within the look-ahead ("advisory"), as the library grades entries. */
static const char *entry_level(const dd_service_t *svc, double tte)
{
    return dc_entry_level_name(dc_entry_level(tte, svc->cfg.warning_s));
}

/* The conflict track t holds under key, its level brought to level (tte s before entry) and
 * written again when that changed; false when the track holds none under key. */
static bool hold(dd_service_t *svc, dd_track_t *t, const char *key, const char *level, double tte,
                 double now)
{
    dd_conf_entry_t *e = entry_of(t, key);
    if (!e) return false;
    dd_conflict_t *c = dd_conflict_open(svc, e->cid);
    if (!c || (c->level && strcmp(c->level, level) == 0)) return true;
    c->level = level, c->eval.tin_s = tte;
    if (c->side[1].sees_aircraft) c->side[1].aircraft = t->st;
    if (dd_conflict_write(svc, c, DD_CF_UPDATE, 0, 0, now) != DC_OK)
        fprintf(stderr, "deconflictd: conflict %s could not be written: %s\n", c->id,
                dc_store_last_error(svc->store));
    return true;
}

/* Track t's intrusion into hit's operation, tte s before it enters (0: inside). */
static void intrude(dd_service_t *svc, dd_track_t *t, const hit_t *hit, double tte, double now)
{
    const dd_op_t *op = hit->op;
    const char *level = entry_level(svc, tte);
    if (hold(svc, t, op->id, level, tte, now)) return;
    dd_conflict_t *c = new_conflict(DD_CF_INTRUSION);
    if (!c) return;
    c->level = level, c->eval.tin_s = tte;
    snprintf(c->side[0].other_ref, sizeof(c->side[0].other_ref), "%.*s",
             (int)sizeof(c->side[0].other_ref) - 1, hit->ref);
    c->side[1].party = op->party;
    snprintf(c->side[1].operation, sizeof(c->side[1].operation), "%s", op->id);
    open_for(svc, t, op->id, c, now);
}

/* What track t is in now or is predicted to enter within the look-ahead, as keys (at most
 * KEYS_MAX), opening what is new. */
static size_t check_now(dd_service_t *svc, dd_track_t *t, double now, char keys[][DD_ID_MAX + 8])
{
    /* The library's check (deconflict/conformance.h), which replay makes too; the probe's party
     * is no party's, so a track's own operations are found as well. */
    double T = svc->tactical_cfg.lookahead_s;
    dc_op_entry_t ent[HITS_MAX];
    size_t n_ent = 0, n = 0;
    dc_conformance_entries(svc->strategic, &t->st, "probe", now, T, DC_ENTRY_STEP_S,
                           t->operation[0] != 0, ent, HITS_MAX, &n_ent);
    const dd_op_t *own = t->operation[0] ? dd_operation(svc, t->operation) : NULL;
    bool inside = false;
    for (size_t i = 0; i < n_ent; i++) {
        hit_t hit = {dd_operation_by_ref(svc, ent[i].ref), ent[i].ref};
        if (!hit.op || hit.op->state == DC_OP_ENDED || hit.op->state == DC_OP_CANCELLED) continue;
        if (hit.op == own && ent[i].tte_s == 0) inside = true;
        if (hit.op->party == t->party) continue;
        snprintf(keys[n++], DD_ID_MAX + 8, "%s", hit.op->id);
        intrude(svc, t, &hit, ent[i].tte_s, now);
    }
    /* Nonconformance: a named own operation that is active and does not contain the track. */
    if (own && own->state == DC_OP_ACTIVE && !inside) {
        snprintf(keys[n], DD_ID_MAX + 8, "own:%s", own->id);
        dd_conflict_t *c = entry_of(t, keys[n]) ? NULL : new_conflict(DD_CF_NONCONFORMING);
        if (c) {
            snprintf(c->side[0].operation, sizeof(c->side[0].operation), "%s", own->id);
            open_for(svc, t, keys[n], c, now);
        }
        n++;
    }
    /* Agreements: the track on ground an active agreement gives another party, now or along its
     * path within the look-ahead, graded by time to entry as intrusions are. */
    const char *agr = NULL;
    double tte;
    int64_t q = dd_agreement_ahead(svc, t->party, &t->st, now, T, DC_ENTRY_STEP_S, &agr, &tte);
    if (q) {
        snprintf(keys[n], DD_ID_MAX + 8, "agr:%s", agr);
        const char *level = entry_level(svc, tte);
        dd_conflict_t *c =
            hold(svc, t, keys[n], level, tte, now) ? NULL : new_conflict(DD_CF_AGREEMENT);
        if (c) {
            c->level = level, c->eval.tin_s = tte;
            snprintf(c->agreement, sizeof(c->agreement), "%s", agr);
            c->side[1].party = q;
            open_for(svc, t, keys[n], c, now);
        }
        n++;
    }
    return n;
}

static void check_track(dd_service_t *svc, dd_track_t *t, double now)
{
    char keys[KEYS_MAX][DD_ID_MAX + 8];
    size_t n = check_now(svc, t, now, keys);
    /* What the track is no longer in: resolved, the aircraft shown as it is now. */
    for (size_t i = 0; i < t->n_conf;) {
        bool still = false;
        for (size_t k = 0; k < n && !still; k++) still = strcmp(keys[k], t->conf[i].key) == 0;
        if (still) {
            i++;
            continue;
        }
        dd_conflict_t *c = dd_conflict_open(svc, t->conf[i].cid);
        if (c) {
            for (int k = 0; k < 2; k++)
                if (c->side[k].sees_aircraft) c->side[k].aircraft = t->st;
            if (dd_conflict_write(svc, c, DD_CF_RESOLVED, 0, 0, now) != DC_OK) {
                i++; /* tried again next round */
                continue;
            }
        }
        t->conf[i] = t->conf[--t->n_conf];
    }
}

void dd_conformance_slice(dd_service_t *svc, double now)
{
    size_t total = svc->n_tracks;
    if (!total) return;
    size_t slice = (size_t)ceil(total * svc->cfg.period_s / svc->cfg.conformance_s);
    size_t at = svc->conformance_next < total ? svc->conformance_next : 0;
    for (size_t k = 0; k < slice && k < total; k++) {
        dd_track_t *t = svc->track_list[at];
        if (now - t->st.t_s <= svc->tactical_cfg.stale_s) check_track(svc, t, now);
        at = (at + 1) % total;
    }
    svc->conformance_next = at;
}

void dd_conformance_restore(dd_service_t *svc, const dd_conflict_t *c)
{
    char key[DD_ID_MAX + 8];
    if (c->kind == DD_CF_INTRUSION && c->side[1].operation[0])
        snprintf(key, sizeof(key), "%s", c->side[1].operation);
    else if (c->kind == DD_CF_NONCONFORMING && c->side[0].operation[0])
        snprintf(key, sizeof(key), "own:%s", c->side[0].operation);
    else if (c->kind == DD_CF_AGREEMENT && c->side[0].track[0])
        snprintf(key, sizeof(key), "agr:%s", c->agreement);
    else
        return;
    char id[DC_TRACK_ID_MAX];
    dd_track_t *t = dd_engine_id(c->side[0].party, c->side[0].track, id) ? dd_track(svc, id) : NULL;
    if (t && !entry_of(t, key)) add_entry(t, key, c->id);
}
