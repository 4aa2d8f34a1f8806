/* Tactical detection: see detection.h. */
#include "core/detection.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/tracks.h"

/* Whether two parties' tracks are one aircraft: both named by the same ICAO address (6 hex
 * digits), as two receivers' feeds name what they both see. An aircraft does not conflict with
 * itself, and neither party learns from it what the other's receiver covers. */
static bool same_aircraft(const char *id1, const char *id2)
{
    const char *a = strchr(id1, '/'), *b = strchr(id2, '/');
    if (!a || !b || strlen(++a) != 6 || strcmp(a, ++b) != 0) return false;
    for (int i = 0; i < 6; i++)
        if (!isxdigit((unsigned char)a[i])) return false;
    return true;
}

/* Whether engine conflict c (found with the engine's minima, high or not) is a conflict under
 * its pair's own profile; fills the profile and the evaluation. */
static bool judge_pair(dd_service_t *svc, const dc_conflict_t *c, bool high_engine,
                       const dc_tactical_config_t *engine_cfg, double now, dd_profile_t *profile,
                       dc_pair_eval_t *ev)
{
    if (dd_party_of(c->id1) == dd_party_of(c->id2)) return false; /* cross-party only */
    if (same_aircraft(c->id1, c->id2)) return false;
    const dd_track_t *ta = dd_track(svc, c->id1), *tb = dd_track(svc, c->id2);
    if (!ta || !tb) return false;
    *profile = dd_pair_profile(&svc->cfg, ta->st.lat_deg, ta->st.lon_deg, ta->st.alt_ft,
                               tb->st.lat_deg, tb->st.lon_deg, tb->st.alt_ft);
    /* Each pair is judged by one engine: high pairs by the high one. */
    if ((*profile == DD_PROFILE_HIGH) != high_engine) return false;
    const dd_minima_t *m = dd_profile_minima(&svc->cfg, *profile);
    if (m->h_nm == engine_cfg->rpz_nm && m->v_ft == engine_cfg->hpz_ft) {
        *ev = c->eval; /* the engine already used these minima */
        return true;
    }
    dc_tactical_config_t pcfg = *engine_cfg;
    pcfg.rpz_nm = m->h_nm, pcfg.hpz_ft = m->v_ft;
    return dc_tactical_pair(&ta->st, &tb->st, now, &pcfg, ev) == DC_OK && ev->conflict;
}

/* Writes pair p's conflict (change: new, update or resolved) with this level and data: each
 * side its own track and the other aircraft as it is now. */
static dc_err_t write_pair(dd_service_t *svc, dd_pair_t *p, dd_cf_change_t change,
                           const char *level, const char *data, double now)
{
    dd_conflict_t *c = change == DD_CF_NEW ? dd_conflict_new(DD_CF_TACTICAL, p->cid)
                                           : dd_conflict_open(svc, p->cid);
    if (!c) return change == DD_CF_NEW ? DC_ERR_NOMEM : DC_ERR_NOT_FOUND;
    c->level = level, c->data = data;
    c->profile = dd_profile_name(p->profile);
    c->minima = *dd_profile_minima(&svc->cfg, p->profile);
    c->eval = p->eval;
    const char *ids[2] = {p->id1, p->id2};
    for (int k = 0; k < 2; k++) {
        dd_cf_side_t *s = &c->side[k];
        s->party = dd_party_of(ids[k]);
        snprintf(s->track, sizeof(s->track), "%s", strchr(ids[k], '/') + 1);
        const dd_track_t *other = dd_track(svc, ids[1 - k]);
        s->sees_aircraft = other != NULL;
        if (other) s->aircraft = other->st;
    }
    dc_err_t rc = dd_conflict_write(svc, c, change, 0, 0, now);
    if (rc != DC_OK) {
        if (change == DD_CF_NEW) dd_conflict_free(c);
        fprintf(stderr, "deconflictd: conflict %s could not be written: %s\n", p->cid,
                dc_store_last_error(svc->store));
    }
    return rc;
}

static int popcount4(unsigned x)
{
    return (int)((x & 1) + ((x >> 1) & 1) + ((x >> 2) & 1) + ((x >> 3) & 1));
}

/* The pair of engine conflict c, added when new; NULL without memory. */
static dd_pair_t *pair_of(dd_service_t *svc, const char *id1, const char *id2)
{
    char key[sizeof(((dd_pair_t *)0)->key)];
    snprintf(key, sizeof(key), "%s|%s", id1, id2);
    dd_pair_t *p = dd_table_get(&svc->pairs, key);
    if (p) return p;
    p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    memcpy(p->key, key, sizeof(key));
    snprintf(p->id1, sizeof(p->id1), "%s", id1);
    snprintf(p->id2, sizeof(p->id2), "%s", id2);
    dd_random_id("cf_", p->cid, sizeof(p->cid));
    if (!dd_table_put(&svc->pairs, p->key, p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* A pair the pass found in conflict. */
static void seen(dd_service_t *svc, dd_pair_t *p, const dc_pair_eval_t *ev, dd_profile_t profile,
                 uint64_t pass, double now)
{
    p->seen_pass = pass;
    p->hist = ((p->hist << 1) | 1) & 15;
    p->last_s = now;
    p->eval = *ev;
    p->profile = profile;
    const char *level = ev->los_now ? "loss" : "predicted";
    if (!p->level && popcount4(p->hist) >= svc->cfg.m_of_n) {
        if (write_pair(svc, p, DD_CF_NEW, level, "live", now) == DC_OK) p->level = level;
    } else if (p->level && (strcmp(p->level, level) != 0 || p->stale)) {
        if (write_pair(svc, p, DD_CF_UPDATE, level, "live", now) == DC_OK)
            p->level = level, p->stale = false;
    }
}

/* A pair the pass did not find: a 0 shifted in; a raised one goes stale while a side has
 * stopped reporting, is resolved after the hysteresis (or once a side is lost); one never
 * raised is forgotten once its history is empty. Returns whether the pair is to be dropped. */
static bool unseen(dd_service_t *svc, dd_pair_t *p, double now)
{
    p->hist = (p->hist << 1) & 15;
    const dc_tactical_config_t *tc = &svc->tactical_cfg;
    double age = fmax(dd_track_age_s(svc, p->id1, now), dd_track_age_s(svc, p->id2, now));
    if (p->level && age > tc->stale_s && age <= tc->expire_s) {
        if (!p->stale && write_pair(svc, p, DD_CF_UPDATE, p->level, "stale", now) == DC_OK)
            p->stale = true;
        return false;
    }
    if (p->level && (now - p->last_s >= svc->cfg.hysteresis_s || age > tc->expire_s))
        return write_pair(svc, p, DD_CF_RESOLVED, p->level, age > tc->expire_s ? "lost" : "live",
                          now) == DC_OK;
    return !p->level && p->hist == 0;
}

void dd_detection_judge(dd_service_t *svc, const dc_tactical_snapshot_t *const snaps[2], double now)
{
    uint64_t pass = svc->passes_total + 1;
    for (int e = 0; e < 2; e++)
        for (size_t i = 0; snaps[e] && i < snaps[e]->n_conflicts; i++) {
            const dc_conflict_t *c = &snaps[e]->conflicts[i];
            dd_profile_t profile;
            dc_pair_eval_t ev;
            if (!judge_pair(svc, c, e == 1, &snaps[e]->cfg, now, &profile, &ev)) continue;
            dd_pair_t *p = pair_of(svc, c->id1, c->id2);
            if (p) seen(svc, p, &ev, profile, pass, now);
        }
    /* The pairs not found, collected first: dropping one changes the table. */
    dd_pair_t **drop = malloc((svc->pairs.len + 1) * sizeof(*drop));
    size_t n_drop = 0;
    for (size_t i = 0; drop && i < svc->pairs.cap; i++) {
        dd_pair_t *p = svc->pairs.slots[i].key ? svc->pairs.slots[i].val : NULL;
        if (p && p->seen_pass != pass && unseen(svc, p, now)) drop[n_drop++] = p;
    }
    for (size_t i = 0; i < n_drop; i++) {
        dd_table_del(&svc->pairs, drop[i]->key);
        free(drop[i]);
    }
    free(drop);
}

void dd_detection_restore(dd_service_t *svc, const dd_conflict_t *c, double now)
{
    if (c->kind != DD_CF_TACTICAL || !c->side[0].party || !c->side[1].party) return;
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    if (!dd_engine_id(c->side[0].party, c->side[0].track, id1) ||
        !dd_engine_id(c->side[1].party, c->side[1].track, id2))
        return;
    dd_pair_t *p = pair_of(svc, id1, id2);
    if (!p) return;
    /* Raised (full history), last seen now: resolved after the hysteresis unless seen. */
    snprintf(p->cid, sizeof(p->cid), "%s", c->id);
    p->hist = 15;
    p->level = c->level;
    p->stale = c->data && strcmp(c->data, "stale") == 0;
    p->last_s = now;
    p->eval = c->eval;
    p->profile = strcmp(c->profile, "high") == 0       ? DD_PROFILE_HIGH
                 : strcmp(c->profile, "terminal") == 0 ? DD_PROFILE_TERMINAL
                                                       : DD_PROFILE_ENROUTE;
}

void dd_detection_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->pairs, free);
}
