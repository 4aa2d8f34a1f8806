/* Tactical detection: see detection.h. */
#include "core/detection.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/tracks.h"

/* Writes pair p's conflict (change: new, update or resolved) with this level and data: each
 * side its own track and the other aircraft as it is now, the minima of the airspace they are
 * in now. */
static dc_err_t write_pair(dd_service_t *svc, dd_pair_t *p, dd_cf_change_t change,
                           const char *level, const char *data, double now)
{
    const dd_track_t *ta = dd_track(svc, p->id1), *tb = dd_track(svc, p->id2);
    if (ta && tb)
        p->profile = dd_pair_profile(&svc->cfg, ta->st.lat_deg, ta->st.lon_deg, ta->st.alt_ft,
                                     tb->st.lat_deg, tb->st.lon_deg, tb->st.alt_ft);
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
        const dd_track_t *other = k ? ta : tb;
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

static bool come_down(dd_service_t *svc, dd_pair_t *p, double now, bool hysteresis_over);

/* A pair the alerting layer lists this pass (level none: it just came down). Returns whether
 * the pair is to be dropped. */
static bool follow(dd_service_t *svc, dd_pair_t *p, const dc_alert_t *a, uint64_t pass, double now)
{
    p->seen_pass = pass;
    if (a->evaluated) p->eval = a->eval;
    if (a->level == DC_ALERT_NONE) return come_down(svc, p, now, true);
    if (a->predicted || a->eval.los_now || !p->level) p->last_s = now; /* not while held */
    /* Held by the hysteresis while a side has stopped reporting: said at once, not only when
     * the level comes down. */
    double age = fmax(dd_track_age_s(svc, p->id1, now), dd_track_age_s(svc, p->id2, now));
    bool stale = age > svc->tactical_cfg.stale_s;
    const char *level = dc_alert_level_name(a->level);
    if (!p->level) {
        if (write_pair(svc, p, DD_CF_NEW, level, "live", now) == DC_OK) p->level = level;
    } else if (strcmp(p->level, level) != 0 || p->stale != stale) {
        if (write_pair(svc, p, DD_CF_UPDATE, level, stale ? "stale" : "live", now) == DC_OK)
            p->level = level, p->stale = stale;
    }
    return false;
}

/* A pair not alerted now: a raised one goes stale while a side has stopped reporting; it is
 * resolved once a side is lost, or when it came down (the alerting layer's hysteresis is over:
 * at once; else after hysteresis_s from the last alert); one never raised is forgotten. Returns
 * whether the pair is to be dropped. */
static bool come_down(dd_service_t *svc, dd_pair_t *p, double now, bool hysteresis_over)
{
    const dc_tactical_config_t *tc = &svc->tactical_cfg;
    double age = fmax(dd_track_age_s(svc, p->id1, now), dd_track_age_s(svc, p->id2, now));
    if (p->level && age > tc->stale_s && age <= tc->expire_s) {
        if (!p->stale && write_pair(svc, p, DD_CF_UPDATE, p->level, "stale", now) == DC_OK)
            p->stale = true;
        return false;
    }
    if (p->level &&
        (hysteresis_over || now - p->last_s >= svc->cfg.hysteresis_s || age > tc->expire_s))
        return write_pair(svc, p, DD_CF_RESOLVED, p->level, age > tc->expire_s ? "lost" : "live",
                          now) == DC_OK;
    return !p->level;
}

/* The pairs a pass drops, collected first: dropping one changes the table. */
typedef struct drops {
    dd_pair_t **v;
    size_t n, cap;
} drops_t;

static void drop_later(drops_t *d, dd_pair_t *p)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        dd_pair_t **v = realloc(d->v, cap * sizeof(*v));
        if (!v) {
            p->level = NULL; /* resolved already: forgotten at the next pass */
            return;
        }
        d->v = v, d->cap = cap;
    }
    d->v[d->n++] = p;
}

void dd_detection_judge(dd_service_t *svc, const dc_tactical_snapshot_t *const snaps[2], double now)
{
    uint64_t pass = svc->passes_total + 1;
    drops_t drop = {0};
    dc_alerting_t *layers[2] = {NULL, NULL};
    for (int e = 0; e < 2; e++) {
        dc_alerting_t *al = e ? svc->alerting_high : svc->alerting;
        if (snaps[e] && dc_alerting_pass(al, snaps[e]) == DC_OK) layers[e] = al;
    }
    /* The pairs alerted first, then those that came down: a pair whose airspace changed (it
     * climbed above FL410) comes down in one layer as the other raises it, and is one conflict
     * going on. */
    for (int phase = 0; phase < 2; phase++)
        for (int e = 0; e < 2; e++)
            for (size_t i = 0; layers[e] && i < dc_alerting_count(layers[e]); i++) {
                const dc_alert_t *a = dc_alerting_get(layers[e], i);
                if ((a->level != DC_ALERT_NONE) != (phase == 0)) continue;
                char key[sizeof(((dd_pair_t *)0)->key)];
                snprintf(key, sizeof(key), "%s|%s", a->id1, a->id2);
                dd_pair_t *p =
                    phase == 0 ? pair_of(svc, a->id1, a->id2) : dd_table_get(&svc->pairs, key);
                if (!p || (phase == 1 && p->seen_pass == pass)) continue;
                if (follow(svc, p, a, pass, now)) drop_later(&drop, p);
            }
    for (size_t i = 0; i < svc->pairs.cap; i++) {
        dd_pair_t *p = svc->pairs.slots[i].key ? svc->pairs.slots[i].val : NULL;
        if (p && p->seen_pass != pass && come_down(svc, p, now, false)) drop_later(&drop, p);
    }
    for (size_t i = 0; i < drop.n; i++) {
        dd_table_del(&svc->pairs, drop.v[i]->key);
        free(drop.v[i]);
    }
    free(drop.v);
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
    p->level = c->level;
    p->stale = c->data && strcmp(c->data, "stale") == 0;
    p->last_s = now;
    p->eval = c->eval;
    p->profile = strcmp(c->profile, "high") == 0       ? DD_PROFILE_HIGH
                 : strcmp(c->profile, "terminal") == 0 ? DD_PROFILE_TERMINAL
                                                       : DD_PROFILE_ENROUTE;
    /* ... and the alerting layer holds its level, as if just seen. */
    dc_alert_level_t level = strcmp(c->level, "loss") == 0       ? DC_ALERT_LOSS
                             : strcmp(c->level, "advisory") == 0 ? DC_ALERT_ADVISORY
                                                                 : DC_ALERT_WARNING;
    dc_alerting_t *al = p->profile == DD_PROFILE_HIGH ? svc->alerting_high : svc->alerting;
    if (strcmp(id1, id2) < 0)
        dc_alerting_restore(al, id1, id2, level, now, now);
    else
        dc_alerting_restore(al, id2, id1, level, now, now);
}

void dd_detection_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->pairs, free);
}
