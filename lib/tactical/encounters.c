/* Encounter bookkeeping: a merge join of each pass's sorted conflicts against the sorted list of
 * open encounters, so a pass costs O(conflicts + open encounters). */
#include "deconflict/encounters.h"
#include "common/array.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dc_encounters {
    double gap_s;
    double last_now_s;
    dc_encounter_t *all;
    size_t n_all, cap_all;
    size_t *open; /* indices into all, sorted by (id1, id2) */
    size_t n_open, cap_open;
    size_t *next_open;
    size_t cap_next;
};

dc_encounters_t *dc_encounters_new(double gap_s)
{
    if (!(gap_s >= 0 && isfinite(gap_s))) return NULL;
    dc_encounters_t *enc = calloc(1, sizeof(*enc));
    if (!enc) return NULL;
    enc->gap_s = gap_s;
    enc->last_now_s = -INFINITY;
    return enc;
}

void dc_encounters_free(dc_encounters_t *enc)
{
    if (!enc) return;
    free(enc->all);
    free(enc->open);
    free(enc->next_open);
    free(enc);
}

/* Room for n more encounters and open ones, reserved first so that an allocation failure leaves
 * the log unchanged. */
static bool reserve(dc_encounters_t *enc, size_t n)
{
    return dc_array_grow((void **)&enc->all, &enc->cap_all, enc->n_all + n,
                         sizeof(dc_encounter_t)) &&
           dc_array_grow((void **)&enc->next_open, &enc->cap_next, enc->n_open + n,
                         sizeof(size_t)) &&
           dc_array_grow((void **)&enc->open, &enc->cap_open, enc->n_open + n, sizeof(size_t));
}

/* The k open encounters a pass kept become the open list. */
static void take_next_open(dc_encounters_t *enc, size_t k)
{
    size_t *t = enc->open;
    size_t tc = enc->cap_open;
    enc->open = enc->next_open;
    enc->cap_open = enc->cap_next;
    enc->next_open = t;
    enc->cap_next = tc;
    enc->n_open = k;
}

static int pair_cmp(const dc_encounter_t *e, const dc_conflict_t *c)
{
    int r = strcmp(e->id1, c->id1);
    return r ? r : strcmp(e->id2, c->id2);
}

static void fold(dc_encounter_t *e, const dc_conflict_t *c, double now_s)
{
    e->last_seen_s = now_s;
    e->passes++;
    if (c->eval.los_now && isnan(e->los_start_s)) e->los_start_s = now_s;
    if (c->eval.hsep_nm < e->min_hsep_nm) {
        e->min_hsep_nm = c->eval.hsep_nm;
        e->vsep_at_min_ft = c->eval.vsep_ft;
    }
    if (c->eval.dcpa_nm < e->min_dcpa_nm) e->min_dcpa_nm = c->eval.dcpa_nm;
}

dc_err_t dc_encounters_observe(dc_encounters_t *enc, const dc_tactical_snapshot_t *snap)
{
    double now = snap->now_s;
    if (now < enc->last_now_s) return DC_ERR_INVALID;
    size_t nc = snap->n_conflicts;
    if (!reserve(enc, nc)) return DC_ERR_NOMEM;
    enc->last_now_s = now;

    size_t i = 0, j = 0, k = 0;
    while (i < enc->n_open || j < nc) {
        dc_encounter_t *e = i < enc->n_open ? &enc->all[enc->open[i]] : NULL;
        const dc_conflict_t *c = j < nc ? &snap->conflicts[j] : NULL;
        int cmp = !e ? 1 : !c ? -1 : pair_cmp(e, c);
        if (cmp == 0) { /* still predicted */
            fold(e, c, now);
            enc->next_open[k++] = enc->open[i];
            i++, j++;
        } else if (cmp < 0) { /* not predicted in this pass */
            if (now - e->last_seen_s > enc->gap_s)
                e->open = false;
            else
                enc->next_open[k++] = enc->open[i];
            i++;
        } else { /* a new encounter */
            dc_encounter_t n = {.first_alert_s = now,
                                .first_tin_s = now + c->eval.tin_s,
                                .los_start_s = NAN,
                                .first_warning_s = NAN,
                                .min_hsep_nm = INFINITY,
                                .min_dcpa_nm = INFINITY,
                                .open = true};
            memcpy(n.id1, c->id1, DC_TRACK_ID_MAX);
            memcpy(n.id2, c->id2, DC_TRACK_ID_MAX);
            fold(&n, c, now);
            enc->all[enc->n_all] = n;
            enc->next_open[k++] = enc->n_all++;
            j++;
        }
    }
    take_next_open(enc, k);
    return DC_OK;
}

/* One pass's standing of a followed pair, folded into its encounter. */
static void fold_alert(dc_encounter_t *e, const dc_alert_t *a, double now)
{
    if (a->level > e->level) e->level = a->level;
    if (a->level >= DC_ALERT_WARNING && isnan(e->first_warning_s)) e->first_warning_s = now;
    if (a->level == DC_ALERT_LOSS && isnan(e->los_start_s)) e->los_start_s = now;
    if (a->predicted || a->eval.los_now) {
        e->last_seen_s = now;
        e->passes++;
    }
    if (!a->evaluated) return;
    if (a->eval.hsep_nm < e->min_hsep_nm) {
        e->min_hsep_nm = a->eval.hsep_nm;
        e->vsep_at_min_ft = a->eval.vsep_ft;
    }
    if (a->predicted && a->eval.dcpa_nm < e->min_dcpa_nm) e->min_dcpa_nm = a->eval.dcpa_nm;
}

dc_err_t dc_encounters_observe_alerts(dc_encounters_t *enc, double now, const dc_alerting_t *al)
{
    if (now < enc->last_now_s) return DC_ERR_INVALID;
    size_t na = dc_alerting_count(al);
    if (!reserve(enc, na)) return DC_ERR_NOMEM;
    enc->last_now_s = now;
    size_t i = 0, j = 0, k = 0;
    while (i < enc->n_open || j < na) {
        dc_encounter_t *e = i < enc->n_open ? &enc->all[enc->open[i]] : NULL;
        const dc_alert_t *a = j < na ? dc_alerting_get(al, j) : NULL;
        int cmp = !e                       ? 1
                  : !a                     ? -1
                  : strcmp(e->id1, a->id1) ? strcmp(e->id1, a->id1)
                                           : strcmp(e->id2, a->id2);
        if (cmp < 0) { /* no longer listed: it came down before */
            e->open = false;
            i++;
            continue;
        }
        if (cmp == 0) {
            fold_alert(e, a, now);
            if (a->level == DC_ALERT_NONE)
                e->open = false;
            else
                enc->next_open[k++] = enc->open[i];
            i++, j++;
            continue;
        }
        if (a->level != DC_ALERT_NONE) { /* a new episode */
            dc_encounter_t n = {.first_alert_s = now,
                                .first_tin_s = now + a->eval.tin_s,
                                .los_start_s = NAN,
                                .first_warning_s = NAN,
                                .last_seen_s = now,
                                .min_hsep_nm = INFINITY,
                                .min_dcpa_nm = INFINITY,
                                .open = true};
            memcpy(n.id1, a->id1, DC_TRACK_ID_MAX);
            memcpy(n.id2, a->id2, DC_TRACK_ID_MAX);
            fold_alert(&n, a, now);
            enc->all[enc->n_all] = n;
            enc->next_open[k++] = enc->n_all++;
        }
        j++;
    }
    take_next_open(enc, k);
    return DC_OK;
}

size_t dc_encounters_count(const dc_encounters_t *enc)
{
    return enc->n_all;
}

const dc_encounter_t *dc_encounters_get(const dc_encounters_t *enc, size_t i)
{
    return i < enc->n_all ? &enc->all[i] : NULL;
}
