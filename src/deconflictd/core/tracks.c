/* Live tracks: see tracks.h. */
#include "core/tracks.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/commit.h"
#include "core/conflicts.h"
#include "core/alerting.h"
#include "core/ids.h"
#include "core/operations.h"

const char *dd_track_own_id(const dd_track_t *t)
{
    const char *slash = strchr(t->st.id, '/');
    return slash ? slash + 1 : t->st.id;
}

dd_track_t *dd_track(dd_service_t *svc, const char *id)
{
    return dd_table_get(&svc->tracks, id);
}

double dd_track_age_s(dd_service_t *svc, const char *id, double now)
{
    const dd_track_t *t = dd_track(svc, id);
    return t ? now - t->st.t_s : INFINITY;
}

const char *dd_track_status(const dd_service_t *svc, double age_s)
{
    return age_s <= DD_TRACK_COAST_S            ? "live"
           : age_s <= svc->tactical_cfg.stale_s ? "coasting"
                                                : "lost";
}

/* ---- the range of a report's time ---- */

/* NULL when t_s is in range, else the reason ("ahead", "old") with a sentence naming the field
 * and the limit in detail. */
static const char *time_refusal(const dd_config_t *cfg, double t_s, double now, char *detail,
                                size_t len)
{
    if (t_s > now + cfg->report_ahead_max_s) {
        bool ms = t_s / 1000 <= now + cfg->report_ahead_max_s &&
                  t_s / 1000 >= now - cfg->report_age_max_s;
        snprintf(detail, len,
                 "t: %.0f s ahead of the service's clock; at most %.0f s ahead is accepted%s",
                 t_s - now, cfg->report_ahead_max_s,
                 ms ? " (t is in Unix seconds: this looks like milliseconds)" : "");
        return "ahead";
    }
    if (t_s < now - cfg->report_age_max_s) {
        snprintf(detail, len, "t: %.0f s old; at most %.0f s old is accepted", now - t_s,
                 cfg->report_age_max_s);
        return "old";
    }
    return NULL;
}

/* Counts a refused report in /metrics by its reason. */
static void count_refusal(dd_service_t *svc, const char *reason)
{
    int k = strcmp(reason, "ahead") == 0 ? DD_REFUSED_AHEAD
            : strcmp(reason, "old") == 0 ? DD_REFUSED_OLD
                                         : DD_REFUSED_INVALID;
    svc->positions_refused[k]++;
}

/* Whether report st replaces the one held (NULL: none): it is news when it is not older, or
 * when the held time is ahead of the clock (then nothing may keep the track frozen at it; the
 * engine replaces it too, see dc_tactical_update). */
static bool is_news(const dd_track_t *held, const dc_track_state_t *st, double now)
{
    return !held || st->t_s >= held->st.t_s || held->st.t_s > now;
}

/* ---- keeping a report ---- */

dc_err_t dd_tracks_feed_engines(dd_service_t *svc, const dc_track_state_t *st,
                                const dc_report_source_t *src)
{
    /* A source read back from the store is not trusted more than one posted: out of range is
     * not said at all, so that no stored value can keep an aircraft from the engines. */
    dc_report_source_t s = {.alt_step_ft = svc->cfg.alt_step_ft, .selected_alt_ft = NAN};
    if (src && src->alt_step_ft >= 0 && src->alt_step_ft <= 500) s.alt_step_ft = src->alt_step_ft;
    if (src && src->selected_alt_ft >= DC_ALT_FT_MIN && src->selected_alt_ft <= DC_ALT_FT_MAX)
        s.selected_alt_ft = src->selected_alt_ft;
    dc_err_t rc = dc_tactical_update(svc->tactical, st, NULL);
    if (rc == DC_OK) rc = dc_alerting_report(svc->alerting, st, &s, NULL);
    if (rc != DC_OK) return rc;
    if (st->alt_ft >= svc->cfg.high_above_ft - svc->cfg.high.v_ft) {
        rc = dc_tactical_update(svc->tactical_high, st, NULL);
        return rc == DC_OK ? dc_alerting_report(svc->alerting_high, st, &s, NULL) : rc;
    }
    return dc_tactical_remove(svc->tactical_high, st->id);
}

/* A new track for engine id id of party, in the table and at the end of the arrival order
 * (the conformance round's); NULL without memory. */
static dd_track_t *add_track(dd_service_t *svc, const char *id, int64_t party)
{
    if (svc->n_tracks == svc->cap_tracks) {
        size_t cap = svc->cap_tracks ? 2 * svc->cap_tracks : 64;
        dd_track_t **list = realloc(svc->track_list, cap * sizeof(*list));
        if (!list) return NULL;
        svc->track_list = list, svc->cap_tracks = cap;
    }
    dd_track_t *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    snprintf(t->st.id, sizeof(t->st.id), "%s", id);
    t->party = party;
    t->history_last_s = -1;
    if (!dd_table_put(&svc->tracks, t->st.id, t)) {
        free(t);
        return NULL;
    }
    svc->track_list[svc->n_tracks++] = t;
    return t;
}

/* Keeps report st (callsign and operation "" when none; number: its ASTERIX source's track
 * number, 0: none, the track keeps the one it had) as its track's latest: in the store, in the
 * engines, and as a history sample when one is due; inside a write section. */
static dc_err_t keep_report(dd_service_t *svc, int64_t party, const dc_track_state_t *st,
                            const char *callsign, const char *operation,
                            const dc_report_source_t *src, int number)
{
    dd_track_t *t = dd_track(svc, st->id);
    if (number <= 0 || number > 65535) number = t ? t->source_number : 0;
    char text[600];
    const char *own = strchr(st->id, '/') + 1;
    size_t n = dc_track_report_json(st, own, callsign[0] ? callsign : NULL,
                                    operation[0] ? operation : NULL, text, 512);
    /* What the source said beyond the state goes with it, so that a restart or another node
     * alerts on it as this one does. */
    if (n && !isnan(src->alt_step_ft))
        n += (size_t)snprintf(text + n - 1, sizeof(text) - n + 1, ",\"alt_step_ft\":%.0f}",
                              src->alt_step_ft) -
             1;
    if (n && !isnan(src->selected_alt_ft))
        n += (size_t)snprintf(text + n - 1, sizeof(text) - n + 1, ",\"selected_alt_ft\":%.0f}",
                              src->selected_alt_ft) -
             1;
    if (n && number)
        n += (size_t)snprintf(text + n - 1, sizeof(text) - n + 1, ",\"source_track_number\":%d}",
                              number) -
             1;
    dc_err_t rc = n ? dc_store_track_put(svc->store, party, st->id, text, st->t_s) : DC_ERR_LIMIT;
    /* Replacing a report stamped later than this one (it was ahead of the clock, is_news): the
     * engines drop it first, so they take this one whatever their pass's clock says. */
    if (rc == DC_OK && t && t->st.t_s > st->t_s) {
        rc = dc_tactical_remove(svc->tactical, st->id);
        if (rc == DC_OK) rc = dc_tactical_remove(svc->tactical_high, st->id);
        dc_alerting_forget(svc->alerting, st->id); /* nor may the alerting layer keep it */
        dc_alerting_forget(svc->alerting_high, st->id);
    }
    if (rc == DC_OK) rc = dd_tracks_feed_engines(svc, st, src);
    if (rc == DC_OK && !t && !(t = add_track(svc, st->id, party))) rc = DC_ERR_NOMEM;
    if (rc != DC_OK) return rc;
    /* A history sample at most every history_s of the report's own time. History is a
     * convenience: failing to keep a sample never refuses the report. */
    if (svc->cfg.history_s > 0 &&
        (t->history_last_s < 0 || st->t_s >= t->history_last_s + svc->cfg.history_s)) {
        if (dc_store_history_put(svc->store, party, st) != DC_OK)
            svc->history_errors++;
        else
            t->history_last_s = st->t_s;
    }
    t->st = *st;
    snprintf(t->callsign, sizeof(t->callsign), "%s", callsign);
    snprintf(t->operation, sizeof(t->operation), "%s", operation);
    t->source_number = number;
    return DC_OK;
}

/* ---- POST /v1/positions ---- */

static bool refuse(dd_positions_result_t *res, size_t *cap, size_t index, const char *field,
                   const char *detail)
{
    if (res->n_refused == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        dd_refusal_t *r = realloc(res->refused, c * sizeof(*r));
        if (!r) return false;
        res->refused = r, *cap = c;
    }
    dd_refusal_t *r = &res->refused[res->n_refused++];
    r->index = index, r->field = field;
    snprintf(r->detail, sizeof(r->detail), "%s", detail);
    return true;
}

/* Report r (index i of the batch) of party: refused, or kept when it is news. */
static dc_err_t put_one(dd_service_t *svc, int64_t party, const dd_report_t *r, size_t i,
                        double now, dd_positions_result_t *res, size_t *cap)
{
    char detail[200];
    if (r->bad_field) {
        snprintf(detail, sizeof(detail), "%s: missing or out of range", r->bad_field);
        count_refusal(svc, "invalid");
        return refuse(res, cap, i, r->bad_field, detail) ? DC_OK : DC_ERR_NOMEM;
    }
    const char *late = time_refusal(&svc->cfg, r->st.t_s, now, detail, sizeof(detail));
    if (late) {
        count_refusal(svc, late);
        return refuse(res, cap, i, "t", detail) ? DC_OK : DC_ERR_NOMEM;
    }
    if (r->operation[0]) {
        /* Only the party's own operation: conformance is checked against it. */
        const dd_op_t *op = dd_operation(svc, r->operation);
        if (!op || op->party != party)
            return refuse(res, cap, i, "operation_id", "not one of your operations") ? DC_OK
                                                                                     : DC_ERR_NOMEM;
    }
    res->accepted++;
    /* An older report than the one held is not news (the engine ignores it too). */
    if (!is_news(dd_track(svc, r->st.id), &r->st, now)) return DC_OK;
    const dc_report_source_t src = {r->alt_step_ft, r->selected_alt_ft};
    dc_err_t rc = keep_report(svc, party, &r->st, r->callsign, r->operation, &src, 0);
    if (rc != DC_OK) res->accepted--;
    return rc;
}

dc_err_t dd_positions_put(dd_service_t *svc, int64_t party, const dd_report_t *reports, size_t n,
                          double now, dd_positions_result_t *res, dd_fault_t *f)
{
    memset(res, 0, sizeof(*res));
    size_t cap = 0;
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_begin(svc);
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        if (i && i % DD_POSITIONS_CHUNK == 0) {
            /* A chunk at a time: the detection pass and other requests get the lock between
             * chunks instead of waiting for the whole batch. Each chunk commits; the sync at
             * the end covers them all before the answer. */
            rc = dd_tx_end(svc);
            dd_write_yield(svc);
            if (rc == DC_OK) rc = dd_tx_begin(svc);
            if (rc != DC_OK) break;
        }
        rc = put_one(svc, party, &reports[i], i, now, res, &cap);
    }
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    if (rc == DC_OK) svc->positions_total += res->accepted;
    dd_write_unlock(svc);
    if (rc == DC_OK) return DC_OK;
    free(res->refused);
    memset(res, 0, sizeof(*res));
    if (rc == DC_ERR_NOMEM) return dd_fail(f, rc, "", "out of memory");
    return dd_tx_refused(svc, rc, f);
}

/* ---- feeds ---- */

dc_err_t dd_feed_states(dd_service_t *svc, int64_t party, const dc_track_state_t *states,
                        char (*callsigns)[9], const int *numbers, size_t n, double now,
                        size_t *stored)
{
    *stored = 0;
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_begin(svc);
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        dc_track_state_t st = states[i];
        /* The feed's aircraft, as the party's tracks: "<party>/<ICAO>". */
        snprintf(st.id, sizeof(st.id), "%lld/%.12s", (long long)party, states[i].id);
        /* The same range as for reports posted: a feed stamps its own times. */
        char detail[200];
        const char *late = time_refusal(&svc->cfg, st.t_s, now, detail, sizeof(detail));
        if (late) {
            count_refusal(svc, late);
            continue;
        }
        if (!is_news(dd_track(svc, st.id), &st, now)) continue;
        /* SBS-1 altitudes are Mode S / ADS-B's: 25 ft steps; no selected altitude. */
        const dc_report_source_t src = {25, NAN};
        rc = keep_report(svc, party, &st, callsigns[i], "", &src, numbers ? numbers[i] : 0);
        *stored += rc == DC_OK;
    }
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    svc->positions_total += rc == DC_OK ? *stored : 0;
    dd_write_unlock(svc);
    return rc;
}

int dd_track_source_number(dd_service_t *svc, int64_t party, const char *own_id)
{
    char id[DC_TRACK_ID_MAX];
    if (!dd_engine_id(party, own_id, id)) return 0;
    pthread_mutex_lock(&svc->lock);
    const dd_track_t *t = dd_track(svc, id);
    int number = t ? t->source_number : 0;
    pthread_mutex_unlock(&svc->lock);
    return number;
}

/* ---- GET /v1/tracks ---- */

void dd_tracks_visit(dd_service_t *svc, int64_t party, double now, const dd_tracks_visit_t *v)
{
    /* The plain lock, not a read section: a picture, not an answer about durable state. */
    pthread_mutex_lock(&svc->lock);
    for (size_t i = 0; i < svc->n_tracks; i++) {
        const dd_track_t *t = svc->track_list[i];
        if (t->party != party) continue;
        /* A report stamped up to report_ahead_max_s ahead is accepted; its age reads 0. */
        double age = fmax(0, now - t->st.t_s);
        v->own(t, age, dd_track_status(svc, age), v->ctx);
    }
    /* The other aircraft of each open tactical conflict of the caller's, as the conflict
     * discloses it (no track id, no callsign), kept current while the conflict is open. */
    for (size_t i = 0; i < svc->conflicts.cap; i++) {
        const dd_conflict_t *c = svc->conflicts.slots[i].key ? svc->conflicts.slots[i].val : NULL;
        if (!c || c->kind != DD_CF_TACTICAL) continue;
        for (int k = 0; k < 2; k++) {
            const dd_cf_side_t *me = &c->side[k], *other = &c->side[1 - k];
            if (me->party != party || other->party == party) continue;
            char id[DC_TRACK_ID_MAX];
            const dd_track_t *t =
                dd_engine_id(other->party, other->track, id) ? dd_track(svc, id) : NULL;
            if (t) v->disclosed(c->id, &t->st, v->ctx);
        }
    }
    pthread_mutex_unlock(&svc->lock);
}

/* ---- restore ---- */

typedef struct restore_ctx {
    dd_service_t *svc;
    double now;
} restore_ctx_t;

static bool num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    *out = json_number_value(v);
    return json_is_number(v);
}

/* A stored report (dc_track_report_json's form) back as a state; false when unreadable. */
static bool report_of(json_t *r, dc_track_state_t *st)
{
    return num(r, "t", &st->t_s) && num(r, "lat", &st->lat_deg) && num(r, "lon", &st->lon_deg) &&
           num(r, "alt_ft", &st->alt_ft) && num(r, "gs_kt", &st->gs_kt) &&
           num(r, "trk_deg", &st->trk_deg) && num(r, "vs_fpm", &st->vs_fpm) &&
           dc_track_state_validate(st, NULL) == DC_OK;
}

/* Stored state text of track id of party as a state, with its callsign and operation; false
 * when it is not a readable report of that track. */
static bool read_state(int64_t party, const char *id, json_t *rec, dc_track_state_t *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%s", id);
    const char *own = json_string_value(json_object_get(rec, "track_id"));
    char expect[DC_TRACK_ID_MAX];
    return rec && own && dd_engine_id(party, own, expect) && strcmp(expect, id) == 0 &&
           report_of(rec, st);
}

/* Takes st (read from rec) as track id's latest, into the engines. */
static void take(dd_service_t *svc, int64_t party, const dc_track_state_t *st, json_t *rec)
{
    dd_track_t *t = dd_track(svc, st->id);
    json_t *step = json_object_get(rec, "alt_step_ft"),
           *sel = json_object_get(rec, "selected_alt_ft");
    const dc_report_source_t src = {json_is_number(step) ? json_number_value(step) : NAN,
                                    json_is_number(sel) ? json_number_value(sel) : NAN};
    if (dd_tracks_feed_engines(svc, st, &src) != DC_OK ||
        (!t && !(t = add_track(svc, st->id, party))))
        return;
    t->st = *st;
    const char *cs = json_string_value(json_object_get(rec, "callsign"));
    const char *op = json_string_value(json_object_get(rec, "operation_id"));
    snprintf(t->callsign, sizeof(t->callsign), "%s", cs ? cs : "");
    snprintf(t->operation, sizeof(t->operation), "%s", op ? op : "");
    json_t *number = json_object_get(rec, "source_track_number");
    json_int_t k = json_is_integer(number) ? json_integer_value(number) : 0;
    t->source_number = k >= 1 && k <= 65535 ? (int)k : 0;
}

void dd_tracks_apply(dd_service_t *svc, int64_t party, const char *id, const char *state)
{
    json_t *rec = json_loads(state, 0, NULL);
    dc_track_state_t st;
    const dd_track_t *held = dd_track(svc, id);
    if (read_state(party, id, rec, &st) && (!held || st.t_s > held->st.t_s))
        take(svc, party, &st, rec);
    json_decref(rec);
}

static void restore_one(int64_t party, const char *id, const char *state, void *ctx)
{
    restore_ctx_t *r = ctx;
    dd_service_t *svc = r->svc;
    json_t *rec = json_loads(state, 0, NULL);
    dc_track_state_t st;
    /* One stored ahead of the clock (by a build before reports had a time range, or a clock
     * stepped back since) is not restored: the track starts again with its next report. */
    if (read_state(party, id, rec, &st) && st.t_s <= r->now + svc->cfg.report_ahead_max_s &&
        !dd_track(svc, id))
        take(svc, party, &st, rec);
    json_decref(rec);
}

bool dd_tracks_open(dd_service_t *svc, double now)
{
    /* Two engines: the main one holds every track with the larger of the en-route and
     * terminal minima; the high one holds the tracks near or above FL410 with the high minima.
     * Running everything at 2000 ft would double the main engine's candidates for pairs that
     * rarely need it (100k tracks: pass 48 -> 87 ms). */
    dc_tactical_config_t tcfg, cand;
    dc_tactical_config_default(&tcfg);
    svc->tactical_cfg = tcfg;
    tcfg.rpz_nm = fmax(svc->cfg.enroute.h_nm, svc->cfg.terminal.h_nm);
    tcfg.hpz_ft = fmax(svc->cfg.enroute.v_ft, svc->cfg.terminal.v_ft);
    /* Each engine gives its alerting layer candidates: its minima widened by the margin. */
    svc->alerting = dd_alerting_for_engine(svc, &tcfg, false);
    if (!svc->alerting) return false;
    dc_alerting_candidate_config(svc->alerting, &cand);
    svc->tactical = dc_tactical_new(&cand);
    tcfg.rpz_nm = svc->cfg.high.h_nm, tcfg.hpz_ft = svc->cfg.high.v_ft;
    svc->alerting_high = dd_alerting_for_engine(svc, &tcfg, true);
    if (!svc->alerting_high) return false;
    dc_alerting_candidate_config(svc->alerting_high, &cand);
    svc->tactical_high = dc_tactical_new(&cand);
    if (!svc->tactical || !svc->tactical_high) return false;
    restore_ctx_t r = {svc, now};
    return dc_store_track_each(svc->store, restore_one, &r) == DC_OK;
}

void dd_tracks_close(dd_service_t *svc)
{
    for (size_t i = 0; i < svc->n_tracks; i++) {
        free(svc->track_list[i]->conf);
        free(svc->track_list[i]);
    }
    free(svc->track_list);
    svc->track_list = NULL;
    svc->n_tracks = svc->cap_tracks = 0;
    dd_table_free(&svc->tracks);
    dc_tactical_free(svc->tactical);
    dc_tactical_free(svc->tactical_high);
    svc->tactical = svc->tactical_high = NULL;
    dc_alerting_free(svc->alerting);
    dc_alerting_free(svc->alerting_high);
    svc->alerting = svc->alerting_high = NULL;
}
