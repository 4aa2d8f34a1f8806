/* Live positions and tactical detection in deconflictd.
 *
 * POST /v1/positions takes a batch of reports; valid ones go to the tactical engine (queued,
 * never waiting for a pass) and to the store's latest-state-per-track table in one
 * transaction; invalid ones are listed with their index and field. A detection thread runs the
 * tactical pass every period and turns cross-party pairs into conflicts with nuisance control:
 * raised when the pair was in conflict in at least M of the last N passes (default 2 of 4),
 * resolved after it has been clear for the hysteresis (default 5 s). A conflict's level is
 * `predicted` (loss of separation within the look-ahead) or `loss` (lost now).
 *
 * Disclosure: a party's view of a tactical conflict names its own track, the other party, and
 * the other aircraft's kinematic state at the time of the alert (position, altitude, ground
 * velocity, vertical rate) -- not its track id, callsign or operation. While the conflict is
 * open, GET /v1/tracks gives the same fields, current, under the conflict's id (the console
 * draws it). Reports also leave a sampled history of the reporter's own tracks (GET
 * /v1/history, the console's time slider). */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acks.h"
#include "agreements.h"
#include "commit.h"
#include "deconflict/tactical.h"
#include "deconflict/timefmt.h"
#include "live.h"
#include "messages.h"
#include "service.h"

#define TRACK_ID_MAX 24 /* bytes of a party's track id: the engine id is "<party>/<track>" */

static bool track_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TRACK_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127 || s[i] == '/' || s[i] == '|')
            return false; /* '/' parts the engine id, '|' parts a pair's key */
    return true;
}

static bool callsign_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 8) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

static bool get_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

const char *dd_position_parse(json_t *o, int64_t party, dc_track_state_t *st, const char **callsign)
{
    if (!json_is_object(o)) return "";
    json_t *id = json_object_get(o, "track_id");
    if (!json_is_string(id) || !track_id_ok(json_string_value(id))) return "track_id";
    memset(st, 0, sizeof(*st));
    snprintf(st->id, sizeof(st->id), "%lld/%s", (long long)party, json_string_value(id));
    json_t *t = json_object_get(o, "t");
    if (json_is_string(t)) {
        if (dc_time_parse_rfc3339(json_string_value(t), &st->t_s) != DC_OK) return "t";
    } else if (!get_num(o, "t", &st->t_s)) {
        return "t";
    }
    if (!get_num(o, "lat", &st->lat_deg)) return "lat";
    if (!get_num(o, "lon", &st->lon_deg)) return "lon";
    if (!get_num(o, "alt_ft", &st->alt_ft)) return "alt_ft";
    if (!get_num(o, "gs_kt", &st->gs_kt)) return "gs_kt";
    if (!get_num(o, "trk_deg", &st->trk_deg)) return "trk_deg";
    if (!get_num(o, "vs_fpm", &st->vs_fpm)) return "vs_fpm";
    json_t *cs = json_object_get(o, "callsign");
    *callsign = NULL;
    if (cs && !json_is_null(cs)) {
        if (!json_is_string(cs) || !callsign_ok(json_string_value(cs))) return "callsign";
        *callsign = json_string_value(cs);
    }
    const char *field = NULL;
    if (dc_track_state_validate(st, &field) != DC_OK) return field ? field : "";
    return NULL;
}

/* A report time outside [now - report_age_max_s, now + report_ahead_max_s] is refused: one
 * stamped in milliseconds, or by a clock an hour fast, would otherwise be stored as the track's
 * latest and every later, correct report would look older than it. Returns NULL when t_s is in
 * range, else the reason ("ahead", "old") with a sentence naming the field and the limit in
 * detail. */
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

/* Whether report st replaces the held one, rec_prev (NULL: none): it is news when it is not
 * older, or when the held time is ahead of the clock (then nothing may keep the track frozen at
 * it; the engine replaces it too, see dc_tactical_update). */
static bool is_news(json_t *prev, const dc_track_state_t *st, double now)
{
    if (!prev) return true;
    double held = json_real_value(json_object_get(prev, "t"));
    return st->t_s >= held || held > now;
}

/* Queues a report to the main engine, and to the high one while the aircraft is within the
 * high vertical minimum of the high boundary (leaving it when it descends). */
static dc_err_t feed_engines(dd_service_t *svc, const dc_track_state_t *st)
{
    dc_err_t rc = dc_tactical_update(svc->tactical, st, NULL);
    if (rc != DC_OK) return rc;
    if (st->alt_ft >= svc->cfg.high_above_ft - svc->cfg.high.v_ft)
        return dc_tactical_update(svc->tactical_high, st, NULL);
    return dc_tactical_remove(svc->tactical_high, st->id);
}

/* Stores report st (the owner's view rec, taken over), feeds it to the engines and keeps it
 * as the track's latest; inside a write section. */
static dc_err_t keep_report(dd_service_t *svc, int64_t party, const dc_track_state_t *st,
                            json_t *rec, const char *callsign)
{
    char text[512];
    size_t n = dc_track_report_json(st, strchr(st->id, '/') + 1, callsign,
                                    json_string_value(json_object_get(rec, "operation_id")), text,
                                    sizeof(text));
    dc_err_t rc = n ? dc_store_track_put(svc->store, party, st->id, text, st->t_s) : DC_ERR_LIMIT;
    /* Replacing a report stamped later than this one (it was ahead of the clock, is_news): the
     * engines drop it first, so they take this one whatever their pass's clock says. */
    json_t *prev = json_object_get(svc->tracks, st->id);
    if (rc == DC_OK && prev && json_real_value(json_object_get(prev, "t")) > st->t_s) {
        rc = dc_tactical_remove(svc->tactical, st->id);
        if (rc == DC_OK) rc = dc_tactical_remove(svc->tactical_high, st->id);
    }
    if (rc == DC_OK) rc = feed_engines(svc, st);
    if (rc == DC_OK && svc->cfg.history_s > 0) {
        /* A history sample at most every history_s of the report's own time. */
        json_t *last = json_object_get(svc->history_last, st->id);
        if (!last || st->t_s >= json_real_value(last) + svc->cfg.history_s) {
            /* History is a convenience: failing to keep a sample never refuses the report. */
            if (dc_store_history_put(svc->store, party, st) != DC_OK)
                svc->history_errors++;
            else if (last)
                json_real_set(last, st->t_s);
            else
                json_object_set_new(svc->history_last, st->id, json_real(st->t_s));
        }
    }
    if (rc == DC_OK)
        json_object_set_new(svc->tracks, st->id, rec);
    else
        json_decref(rec);
    return rc;
}

json_t *dd_positions(dd_service_t *svc, int64_t party, json_t *batch, dd_problem_t *pb)
{
    if (!json_is_array(batch)) {
        dd_problem(pb, 400, "invalid_json", "", "request body: expected a JSON array of reports");
        return NULL;
    }
    size_t n = json_array_size(batch);
    if (n > DD_POSITIONS_MAX) {
        dd_problem(pb, 413, "limit_exceeded", "", "a batch holds at most %d reports (got %zu)",
                   DD_POSITIONS_MAX, n);
        return NULL;
    }
    json_t *rejected = json_array();
    size_t accepted = 0;
    double now = dd_now_s();
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
        json_t *o = json_array_get(batch, i);
        dc_track_state_t st;
        const char *callsign;
        const char *bad = dd_position_parse(o, party, &st, &callsign);
        char detail[200];
        const char *late =
            bad ? NULL : time_refusal(&svc->cfg, st.t_s, now, detail, sizeof(detail));
        if (bad || late) {
            if (bad) snprintf(detail, sizeof(detail), "%s: missing or out of range", bad);
            json_array_append_new(rejected, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
                                                      "field", bad ? bad : "t", "detail", detail));
            count_refusal(svc, late ? late : "invalid");
            continue;
        }
        json_t *rec = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "track_id",
                                strchr(st.id, '/') + 1, "t", st.t_s, "lat", st.lat_deg, "lon",
                                st.lon_deg, "alt_ft", st.alt_ft, "gs_kt", st.gs_kt, "trk_deg",
                                st.trk_deg, "vs_fpm", st.vs_fpm);
        if (callsign) json_object_set_new(rec, "callsign", json_string(callsign));
        json_t *opid = json_object_get(o, "operation_id");
        if (opid && !json_is_null(opid)) {
            /* Only the party's own operation: conformance is checked against it. */
            int64_t owner = 0;
            if (!json_is_string(opid) ||
                !dd_operation_state(svc, json_string_value(opid), &owner) || owner != party) {
                json_decref(rec);
                json_array_append_new(rejected, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
                                                          "field", "operation_id", "detail",
                                                          "not one of your operations"));
                continue;
            }
            json_object_set(rec, "operation_id", opid);
        }
        /* An older report than the one held is not news (the engine ignores it too). */
        if (!is_news(json_object_get(svc->tracks, st.id), &st, now)) {
            json_decref(rec);
            accepted++;
            continue;
        }
        rc = keep_report(svc, party, &st, rec, callsign);
        accepted += rc == DC_OK;
    }
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    svc->positions_total += rc == DC_OK ? accepted : 0;
    dd_write_unlock(svc);
    if (rc != DC_OK) {
        json_decref(rejected);
        dd_problem(pb, 500, "store_failed", "", "the store refused the batch");
        return NULL;
    }
    return json_pack("{s:I, s:o}", "accepted", (json_int_t)accepted, "rejected", rejected);
}

dc_err_t dd_feed_states(dd_service_t *svc, int64_t party, const dc_track_state_t *states,
                        char (*callsigns)[9], size_t n, size_t *stored)
{
    *stored = 0;
    double now = dd_now_s();
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_begin(svc);
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        dc_track_state_t st = states[i];
        /* The feed's aircraft, as the party's tracks: "<party>/<ICAO>". */
        char id[DC_TRACK_ID_MAX];
        snprintf(id, sizeof(id), "%lld/%.12s", (long long)party, states[i].id);
        snprintf(st.id, sizeof(st.id), "%s", id);
        /* The same range as for reports posted: a feed stamps its own times. */
        char detail[200];
        const char *late = time_refusal(&svc->cfg, st.t_s, now, detail, sizeof(detail));
        if (late) {
            count_refusal(svc, late);
            continue;
        }
        if (!is_news(json_object_get(svc->tracks, st.id), &st, now)) continue;
        const char *cs = callsigns[i][0] ? callsigns[i] : NULL;
        json_t *rec =
            json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "track_id", states[i].id, "t",
                      st.t_s, "lat", st.lat_deg, "lon", st.lon_deg, "alt_ft", st.alt_ft, "gs_kt",
                      st.gs_kt, "trk_deg", st.trk_deg, "vs_fpm", st.vs_fpm);
        if (cs) json_object_set_new(rec, "callsign", json_string(cs));
        rc = keep_report(svc, party, &st, rec, cs);
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

static json_t *disclosed(json_t *rec);

json_t *dd_tracks(dd_service_t *svc, int64_t party)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "%lld/", (long long)party);
    json_t *out = json_array();
    pthread_mutex_lock(&svc->lock);
    const char *key;
    json_t *rec;
    double now = dd_now_s();
    json_object_foreach(svc->tracks, key, rec)
    {
        if (strncmp(key, prefix, (size_t)plen) != 0) continue;
        /* A report stamped up to report_ahead_max_s ahead is accepted; its age reads 0. */
        double age = fmax(0, now - json_real_value(json_object_get(rec, "t")));
        json_t *r = json_copy(rec);
        json_object_set_new(r, "age_s", json_real(age));
        json_object_set_new(r, "status",
                            json_string(age <= DD_TRACK_COAST_S            ? "live"
                                        : age <= svc->tactical_cfg.stale_s ? "coasting"
                                                                           : "lost"));
        json_array_append_new(out, r);
    }
    /* The other aircraft of each open tactical conflict of the caller's, as the conflict
     * discloses it (no track id, no callsign), kept current while the conflict is open. */
    json_t *disclosed_now = json_array();
    json_t *p;
    json_object_foreach(svc->pairs, key, p)
    {
        const char *level = json_string_value(json_object_get(p, "level"));
        const char *bar = strchr(key, '|');
        if (!level || !*level || !bar) continue;
        bool first = strncmp(key, prefix, (size_t)plen) == 0;
        bool second = strncmp(bar + 1, prefix, (size_t)plen) == 0;
        if (first == second) continue; /* not the caller's, or (never) both its own */
        char other[DC_TRACK_ID_MAX];
        if (first)
            snprintf(other, sizeof(other), "%s", bar + 1);
        else
            snprintf(other, sizeof(other), "%.*s", (int)(bar - key), key);
        json_t *rec_other = json_object_get(svc->tracks, other);
        if (!rec_other) continue;
        json_t *d = disclosed(rec_other);
        json_object_set(d, "conflict_id", json_object_get(p, "id"));
        json_array_append_new(disclosed_now, d);
    }
    pthread_mutex_unlock(&svc->lock);
    return json_pack("{s:o, s:o, s:f}", "tracks", out, "disclosed", disclosed_now, "now", now);
}

/* ---- GET /v1/history ---- */

/* A growing text answer, written by hand: an hour of samples is too many numbers to build as
 * jansson values first. */
typedef struct hist_out {
    char *text;
    size_t len, cap;
    bool failed;
    double step_s;
    json_t *kept; /* track id -> time of its last sample written (thinning to step_s) */
    size_t samples, events;
} hist_out_t;

static void put(hist_out_t *h, const char *s, size_t n)
{
    if (h->failed) return;
    if (h->len + n + 1 > h->cap) {
        size_t cap = (h->len + n + 1) * 2;
        char *t = realloc(h->text, cap);
        if (!t) {
            h->failed = true;
            return;
        }
        h->text = t, h->cap = cap;
    }
    memcpy(h->text + h->len, s, n);
    h->len += n;
    h->text[h->len] = '\0';
}

static void put_str(hist_out_t *h, const char *s)
{
    put(h, s, strlen(s));
}

static void put_num(hist_out_t *h, double v, int decimals)
{
    char num[48];
    int n = snprintf(num, sizeof(num), "%.*f", decimals, v);
    put(h, num, n > 0 && (size_t)n < sizeof(num) ? (size_t)n : 0);
}

static void put_json_string(hist_out_t *h, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (t)
        put_str(h, t);
    else
        h->failed = true;
    free(t);
    json_decref(j);
}

static void history_sample(const char *id, double t_s, double lat, double lon, double alt_ft,
                           double trk_deg, double gs_kt, void *ctx)
{
    hist_out_t *h = ctx;
    json_t *last = json_object_get(h->kept, id);
    if (last && t_s < json_real_value(last) + h->step_s) return;
    if (last)
        json_real_set(last, t_s);
    else
        json_object_set_new(h->kept, id, json_real(t_s));
    put_str(h, h->samples++ ? ",[" : "[");
    put_json_string(h, id);
    const double v[] = {t_s, lat, lon, alt_ft, trk_deg, gs_kt};
    static const int decimals[] = {3, 6, 6, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        put_str(h, ",");
        put_num(h, v[i], decimals[i]);
    }
    put_str(h, "]");
}

static void history_event(int64_t seq, const char *type, const char *data, double t_s, void *ctx)
{
    hist_out_t *h = ctx;
    char head[96];
    snprintf(head, sizeof(head), "%s{\"id\":%lld,\"t\":", h->events++ ? "," : "", (long long)seq);
    put_str(h, head);
    put_num(h, t_s, 3);
    put_str(h, ",\"type\":");
    put_json_string(h, type);
    put_str(h, ",\"data\":");
    put_str(h, data);
    put_str(h, "}");
}

/* A time given as RFC 3339 or as Unix seconds. */
static bool parse_time_arg(const char *text, double *t_s)
{
    if (dc_time_parse_rfc3339(text, t_s) == DC_OK) return true;
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !(v >= 0 && v < 1e11)) return false;
    *t_s = v;
    return true;
}

dc_err_t dd_history_query_parse(const dd_config_t *cfg, double now, const char *from,
                                const char *to, const char *step, dd_history_query_t *q,
                                dd_problem_t *pb)
{
    q->t1 = now;
    if (to && !parse_time_arg(to, &q->t1))
        return dd_problem(pb, 400, "invalid_argument", "to",
                          "to: expected an RFC 3339 time or Unix seconds");
    q->t0 = q->t1 - cfg->history_keep_s;
    if (from && !parse_time_arg(from, &q->t0))
        return dd_problem(pb, 400, "invalid_argument", "from",
                          "from: expected an RFC 3339 time or Unix seconds");
    if (!(q->t0 <= q->t1) || q->t1 - q->t0 > 86400)
        return dd_problem(pb, 400, "invalid_argument", "from",
                          "from: must be before to, and at most 24 h before it");
    q->step_s = cfg->history_s;
    if (step) {
        char *end;
        double v = strtod(step, &end);
        if (end == step || *end || !(v >= 0 && v <= 3600))
            return dd_problem(pb, 400, "invalid_argument", "step_s",
                              "step_s: seconds between a track's samples, 0-3600");
        q->step_s = fmax(v, 0);
    }
    return DC_OK;
}

dc_err_t dd_history(dd_service_t *svc, int64_t party, const char *from, const char *to,
                    const char *step, char **out, dd_problem_t *pb)
{
    dd_history_query_t q;
    dc_err_t rc = dd_history_query_parse(&svc->cfg, dd_now_s(), from, to, step, &q, pb);
    if (rc != DC_OK) return rc;
    double t0 = q.t0, t1 = q.t1;
    hist_out_t h = {.step_s = q.step_s};
    h.kept = json_object();
    char head[160], a[40], b[40];
    dc_time_format_rfc3339(t0, a, sizeof(a));
    dc_time_format_rfc3339(t1, b, sizeof(b));
    snprintf(head, sizeof(head), "{\"from\":\"%s\",\"to\":\"%s\",\"history_s\":%g,\"samples\":[", a,
             b, svc->cfg.history_s);
    put_str(&h, head);
    bool more_samples = false, more_events = false;
    /* Events only up to the last synced one, as the streams show them. */
    pthread_mutex_lock(&svc->lock);
    int64_t upto = svc->durable_seq;
    pthread_mutex_unlock(&svc->lock);
    pthread_mutex_lock(&svc->history_lock);
    rc = dc_store_history_between(svc->history_store, party, t0, t1, DD_HISTORY_SAMPLES_MAX,
                                  history_sample, &h, &more_samples);
    put_str(&h, "],\"events\":[");
    if (rc == DC_OK)
        rc = dc_store_event_between(svc->history_store, party, t0, t1, upto, DD_HISTORY_EVENTS_MAX,
                                    history_event, &h, &more_events);
    pthread_mutex_unlock(&svc->history_lock);
    put_str(&h, more_samples || more_events ? "],\"truncated\":true}" : "],\"truncated\":false}");
    json_decref(h.kept);
    if (rc != DC_OK || h.failed) {
        free(h.text);
        return dd_problem(pb, 500, "store_failed", "", "the history could not be read");
    }
    *out = h.text;
    return DC_OK;
}

static void restore_track(int64_t party, const char *id, const char *state, void *ctx)
{
    (void)party;
    dd_service_t *svc = ctx;
    json_t *rec = json_loads(state, 0, NULL);
    if (!rec) return;
    dc_track_state_t st;
    const char *cs;
    /* One stored ahead of the clock (by a build before reports had a time range, or a clock
     * stepped back since) is not restored: the track starts again with its next report. */
    if (!dd_position_parse(rec, party, &st, &cs) && strcmp(st.id, id) == 0 &&
        st.t_s <= dd_now_s() + svc->cfg.report_ahead_max_s) {
        feed_engines(svc, &st);
        json_object_set_new(svc->tracks, id, rec);
    } else {
        json_decref(rec);
    }
}

static json_t *eval_json(const dc_pair_eval_t *e);

/* Notes that track is in conformance conflict cid under key (an operation id, "own:<op id>" or
 * "agr:<agreement id>"), with the other party and the operation's ref: what the next check
 * compares against. */
static void note_conformance(dd_service_t *svc, const char *track, const char *key, const char *cid,
                             int64_t party, const char *ref)
{
    json_t *mine = json_object_get(svc->conformance, track);
    if (!mine) {
        mine = json_object();
        json_object_set_new(svc->conformance, track, mine);
    }
    json_object_set_new(
        mine, key,
        json_pack("{s:s, s:I, s:s}", "cid", cid, "party", (json_int_t)party, "ref", ref));
}

/* An open conflict of the detection loop, restored into its bookkeeping so a restart
 * continues it (updates, resolves) instead of raising it again under a new id. */
static void restore_live_conflict(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "open") != 0) return;
    json_t *va = json_loads(doc->view_a, 0, NULL);
    json_t *vb = doc->view_b ? json_loads(doc->view_b, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(va, "kind"));
    const char *track_a = json_string_value(json_object_get(va, "own_track"));
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    snprintf(id1, sizeof(id1), "%lld/%s", (long long)doc->party_a, track_a ? track_a : "");
    if (kind && track_a && strcmp(kind, "tactical") == 0 && vb) {
        /* Raised (full history), last seen now: resolved after the hysteresis unless seen. */
        const char *track_b = json_string_value(json_object_get(vb, "own_track"));
        snprintf(id2, sizeof(id2), "%lld/%s", (long long)doc->party_b, track_b ? track_b : "");
        char key[2 * DC_TRACK_ID_MAX + 2];
        snprintf(key, sizeof(key), "%s|%s", id1, id2);
        dc_pair_eval_t e = {0};
        e.tcpa_s = json_real_value(json_object_get(va, "tcpa_s"));
        e.dcpa_nm = json_real_value(json_object_get(va, "dcpa_nm"));
        e.hsep_nm = json_real_value(json_object_get(va, "hsep_nm"));
        e.vsep_ft = json_real_value(json_object_get(va, "vsep_ft"));
        e.tin_s = json_real_value(json_object_get(va, "time_to_loss_s"));
        const char *level = json_string_value(json_object_get(va, "level"));
        e.los_now = level && strcmp(level, "loss") == 0;
        const char *profile =
            json_string_value(json_object_get(json_object_get(va, "minima"), "profile"));
        const char *data = json_string_value(json_object_get(va, "data"));
        json_object_set_new(svc->pairs, key,
                            json_pack("{s:s, s:i, s:s, s:f, s:o, s:s, s:b}", "id", doc->id, "hist",
                                      15, "level", level ? level : "predicted", "last_s",
                                      dd_now_s(), "eval", eval_json(&e), "profile",
                                      profile ? profile : "enroute", "stale",
                                      data && strcmp(data, "stale") == 0));
    } else if (kind && track_a && strcmp(kind, "agreement") == 0) {
        const char *agr = json_string_value(json_object_get(va, "agreement"));
        char key[64];
        snprintf(key, sizeof(key), "agr:%s", agr ? agr : "");
        note_conformance(svc, id1, key, doc->id, doc->party_b, "");
    } else if (kind && track_a &&
               (strcmp(kind, "intrusion") == 0 || strcmp(kind, "nonconforming") == 0)) {
        bool intrusion = strcmp(kind, "intrusion") == 0;
        const char *op = json_string_value(json_object_get(intrusion ? vb : va, "own_operation"));
        const char *ref =
            intrusion ? json_string_value(json_object_get(va, "other_operation_ref")) : "";
        if (op && ref) {
            char key[DC_STRATEGIC_ID_MAX + 8];
            snprintf(key, sizeof(key), "%s%s", intrusion ? "" : "own:", op);
            note_conformance(svc, id1, key, doc->id, intrusion ? doc->party_b : doc->party_a, ref);
        }
    }
    json_decref(va), json_decref(vb);
}

bool dd_live_open(dd_service_t *svc)
{
    /* Two engines: the main one holds every track with the larger of the en-route and
     * terminal minima; the high one holds the tracks near or above FL410 with the high minima.
     * Running everything at 2000 ft would double the main engine's candidates for pairs that
     * rarely need it (100k tracks: pass 48 -> 87 ms). */
    dc_tactical_config_t tcfg;
    dc_tactical_config_default(&tcfg);
    svc->tactical_cfg = tcfg;
    tcfg.rpz_nm = fmax(svc->cfg.enroute.h_nm, svc->cfg.terminal.h_nm);
    tcfg.hpz_ft = fmax(svc->cfg.enroute.v_ft, svc->cfg.terminal.v_ft);
    svc->tactical = dc_tactical_new(&tcfg);
    tcfg.rpz_nm = svc->cfg.high.h_nm, tcfg.hpz_ft = svc->cfg.high.v_ft;
    svc->tactical_high = dc_tactical_new(&tcfg);
    if (!svc->tactical_high) return false;
    svc->tracks = json_object();
    svc->pairs = json_object();
    svc->conformance = json_object();
    svc->history_last = json_object();
    /* Pruning goes on from the oldest sample kept (none: nothing to catch up). */
    if (dc_store_history_oldest(svc->store, &svc->history_pruned_s) != DC_OK)
        svc->history_pruned_s = dd_now_s() - svc->cfg.history_keep_s;
    if (!svc->tactical || !svc->tracks || !svc->pairs || !svc->conformance || !svc->history_last)
        return false;
    return dc_store_track_each(svc->store, restore_track, svc) == DC_OK &&
           dc_store_doc_each(svc->store, "conflict", restore_live_conflict, svc) == DC_OK;
}

/* ---- detection ---- */

static int64_t party_of(const char *engine_id)
{
    return strtoll(engine_id, NULL, 10);
}

/* The other aircraft as a party may see it at the time of the alert. */
static json_t *disclosed(json_t *rec)
{
    return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "t", json_object_get(rec, "t"), "lat",
                     json_object_get(rec, "lat"), "lon", json_object_get(rec, "lon"), "alt_ft",
                     json_object_get(rec, "alt_ft"), "gs_kt", json_object_get(rec, "gs_kt"),
                     "trk_deg", json_object_get(rec, "trk_deg"), "vs_fpm",
                     json_object_get(rec, "vs_fpm"));
}

/* ---- separation minima by airspace ---- */

static const dd_minima_t *minima_of(dd_service_t *svc, const char *profile)
{
    return strcmp(profile, "high") == 0       ? &svc->cfg.high
           : strcmp(profile, "terminal") == 0 ? &svc->cfg.terminal
                                              : &svc->cfg.enroute;
}

static bool in_terminal_area(const dd_config_t *cfg, double lat, double lon)
{
    for (size_t i = 0; i < cfg->n_terminal_areas; i++) {
        /* Haversine on the mean sphere: areas are tens of NM, 0.5% is plenty. */
        double p1 = lat * M_PI / 180, p2 = cfg->terminal_areas[i].lat_deg * M_PI / 180;
        double dl = (cfg->terminal_areas[i].lon_deg - lon) * M_PI / 180;
        double h =
            sin((p2 - p1) / 2) * sin((p2 - p1) / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
        double d_nm = 2 * asin(fmin(1, sqrt(h))) * 6371.0088 / 1.852;
        if (d_nm <= cfg->terminal_areas[i].radius_nm) return true;
    }
    return false;
}

static json_t *view_of(dd_service_t *svc, const char *cid, const char *state, const char *level,
                       const char *data, const char *profile, const char *own, const char *other,
                       const dc_pair_eval_t *e, double now)
{
    char other_name[DC_PARTY_NAME_MAX], t[40];
    dd_party_name(svc, party_of(other), other_name);
    json_t *rec = json_object_get(svc->tracks, other);
    dc_time_format_rfc3339(now, t, sizeof(t));
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:s}", "id",
                          cid, "kind", "tactical", "state", state, "level", level, "data", data,
                          "own_track", strchr(own, '/') + 1, "other_party", other_name, "tcpa_s",
                          e->tcpa_s, "dcpa_nm", e->dcpa_nm, "hsep_nm", e->hsep_nm, "vsep_ft",
                          e->vsep_ft, "time_to_loss_s", e->los_now ? 0.0 : e->tin_s, "updated", t);
    if (v && rec) json_object_set_new(v, "other_aircraft", disclosed(rec));
    const dd_minima_t *m = minima_of(svc, profile);
    if (v)
        json_object_set_new(
            v, "minima",
            json_pack("{s:s, s:f, s:f}", "profile", profile, "h_nm", m->h_nm, "v_ft", m->v_ft));
    return v;
}

/* A conflict's acknowledgement state lives in each party's view (dd_conflict_ack, acks.c). When
 * the detection loop rewrites the views (update, stale, resolved) it carries that state over,
 * or an update would undo an acknowledgement. va is party pa's new view, vb the other's. */
static void keep_acks(dd_service_t *svc, const char *cid, int64_t pa, json_t *va, json_t *vb)
{
    dc_doc_t old;
    if (dc_store_doc_fetch(svc->store, "conflict", cid, &old) != DC_OK) return;
    static const char *const keys[] = {"acknowledged", "acknowledged_at", "escalations", "ack_due"};
    json_t *was[2] = {json_loads(old.view_a, 0, NULL),
                      old.view_b ? json_loads(old.view_b, 0, NULL) : NULL};
    json_t *now[2] = {old.party_a == pa ? va : vb, old.party_a == pa ? vb : va};
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; was[i] && now[i] && k < sizeof(keys) / sizeof(keys[0]); k++) {
            json_t *v = json_object_get(was[i], keys[k]);
            if (v) json_object_set(now[i], keys[k], v);
        }
    json_decref(was[0]), json_decref(was[1]);
    dc_doc_release(&old);
}

static void write_conflict(dd_service_t *svc, const char *cid, const char *id1, const char *id2,
                           const char *state, const char *level, const char *data,
                           const char *profile, const dc_pair_eval_t *e, const char *type,
                           double now)
{
    json_t *va = view_of(svc, cid, state, level, data, profile, id1, id2, e, now);
    json_t *vb = view_of(svc, cid, state, level, data, profile, id2, id1, e, now);
    if (strcmp(type, "conflict.new") != 0) keep_acks(svc, cid, party_of(id1), va, vb);
    char *ta = json_dumps(va, JSON_COMPACT | JSON_REAL_PRECISION(12));
    char *tb = json_dumps(vb, JSON_COMPACT | JSON_REAL_PRECISION(12));
    int64_t pa = party_of(id1), pb = party_of(id2);
    dc_doc_t doc = {"conflict", cid, pa, pb, ta, tb, state, now, 0};
    if (ta && tb && dc_store_doc_put(svc->store, &doc) == DC_OK) {
        dd_event(svc, pa, type, va);
        dd_event(svc, pb, type, vb);
        if (strcmp(type, "conflict.new") == 0) dd_acks_expect(svc, cid, pa, pb, now);
    }
    free(ta), free(tb);
    json_decref(va), json_decref(vb);
}

/* The last prediction of a pair, kept so a conflict whose data went stale still says what was
 * last predicted. */
static json_t *eval_json(const dc_pair_eval_t *e)
{
    return json_pack("[f, f, f, f, f, b]", e->tcpa_s, e->dcpa_nm, e->hsep_nm, e->vsep_ft, e->tin_s,
                     e->los_now);
}

static dc_pair_eval_t eval_of(json_t *a)
{
    dc_pair_eval_t e = {0};
    e.tcpa_s = json_real_value(json_array_get(a, 0));
    e.dcpa_nm = json_real_value(json_array_get(a, 1));
    e.hsep_nm = json_real_value(json_array_get(a, 2));
    e.vsep_ft = json_real_value(json_array_get(a, 3));
    e.tin_s = json_real_value(json_array_get(a, 4));
    e.los_now = json_is_true(json_array_get(a, 5));
    e.conflict = true;
    return e;
}

/* Seconds since the last report of engine track id (infinite when unknown). */
static double report_age_s(dd_service_t *svc, const char *id, double now)
{
    json_t *rec = json_object_get(svc->tracks, id);
    return rec ? now - json_real_value(json_object_get(rec, "t")) : INFINITY;
}

static int popcount4(int x)
{
    return (x & 1) + ((x >> 1) & 1) + ((x >> 2) & 1) + ((x >> 3) & 1);
}

/* ---- conformance: tracks against operations ----
 * Each live track is checked against the live operations at its position, altitude and time:
 * inside another party's *active* operation is an intrusion (a conflict for both parties);
 * outside its own active operation, when the report names one (operation_id), is
 * nonconformance (a conflict for the owner). The check is a strategic query with a probe
 * volume: a 1 m circle x 1 m band (barometric altitude taken as W84 height, the assumption
 * docs/strategic.md states; pairs within its margin count) x 1 s, so
 * "inside" means within about 1 m. Tracks are checked round-robin, each once per
 * conformance_s (default 5 s), so a pass does a slice and never the whole table: at 100k
 * tracks and 50 ms passes a 2 s round costs ~11 ms per pass. */

/* Writes conformance conflict cid: for the track's party, and for the operation's party when
 * another one (intrusion). */
static void write_conformance(dd_service_t *svc, const char *cid, const char *kind,
                              const char *track, json_t *rec, const char *op_id, int64_t op_party,
                              const char *op_ref, const char *state, const char *type, double now)
{
    char t[40], track_party[DC_PARTY_NAME_MAX], op_party_name[DC_PARTY_NAME_MAX];
    dc_time_format_rfc3339(now, t, sizeof(t));
    int64_t tp = party_of(track);
    dd_party_name(svc, tp, track_party);
    dd_party_name(svc, op_party, op_party_name);
    bool intrusion = op_party != tp;
    json_t *va = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cid, "kind", kind, "state", state,
                           "own_track", strchr(track, '/') + 1, "updated", t);
    if (intrusion) {
        json_object_set_new(va, "other_party", json_string(op_party_name));
        json_object_set_new(va, "other_operation_ref", json_string(op_ref));
    } else {
        json_object_set_new(va, "own_operation", json_string(op_id));
    }
    json_t *vb = intrusion ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", cid, "kind",
                                       kind, "state", state, "own_operation", op_id, "other_party",
                                       track_party, "other_aircraft", disclosed(rec), "updated", t)
                           : NULL;
    if (strcmp(type, "conflict.new") != 0) keep_acks(svc, cid, tp, va, vb);
    char *ta = json_dumps(va, JSON_COMPACT | JSON_REAL_PRECISION(12));
    char *tb = vb ? json_dumps(vb, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    dc_doc_t doc = {"conflict", cid, tp, intrusion ? op_party : 0, ta, tb, state, now, 0};
    if (ta && (!vb || tb) && dc_store_doc_put(svc->store, &doc) == DC_OK) {
        dd_event(svc, tp, type, va);
        if (vb) dd_event(svc, op_party, type, vb);
        if (strcmp(type, "conflict.new") == 0) {
            svc->open_conflicts++;
            dd_acks_expect(svc, cid, tp, intrusion ? op_party : 0, now);
        }
        if (strcmp(type, "conflict.resolved") == 0 && svc->open_conflicts) svc->open_conflicts--;
    }
    free(ta), free(tb);
    json_decref(va), json_decref(vb);
}

typedef struct hit {
    char op_id[DC_STRATEGIC_ID_MAX], ref[DC_STRATEGIC_ID_MAX];
    int64_t party;
    bool active;
} hit_t;

/* The live operations whose volumes contain the track's report now (at most max). */
static size_t probe(dd_service_t *svc, json_t *rec, double now, hit_t *hits, size_t max)
{
    dc_volume4d_t v = {0};
    v.kind = DC_FOOTPRINT_CIRCLE;
    v.center.lat_deg = json_real_value(json_object_get(rec, "lat"));
    v.center.lon_deg = json_real_value(json_object_get(rec, "lon"));
    v.radius_m = 1;
    double alt_m = json_real_value(json_object_get(rec, "alt_ft")) * 0.3048;
    v.alt_lower_m = alt_m - 0.5, v.alt_upper_m = alt_m + 0.5;
    v.alt_lower_ref = v.alt_upper_ref =
        DC_ALT_REF_W84; /* barometric taken as W84 height: the engine's stated assumption */
    v.t_start_s = now, v.t_end_s = now + 1;
    dc_operation_t op = {
        .id = "probe", .party = "probe", .state = DC_OP_ACTIVE, .volumes = &v, .n_volumes = 1};
    dc_strategic_result_t res;
    if (dc_strategic_check(svc->strategic, &op, &res) != DC_OK) return 0;
    size_t n = 0;
    for (size_t i = 0; i < res.n_conflicts && n < max; i++) {
        json_t *owner = json_object_get(svc->refs, res.conflicts[i].other_ref);
        if (!owner) continue;
        hit_t *h = &hits[n++];
        snprintf(h->op_id, sizeof(h->op_id), "%s", json_string_value(json_object_get(owner, "id")));
        snprintf(h->ref, sizeof(h->ref), "%s", res.conflicts[i].other_ref);
        h->party = json_integer_value(json_object_get(owner, "party"));
        int64_t party;
        const char *state = dd_operation_state(svc, h->op_id, &party);
        h->active = state && strcmp(state, "active") == 0;
    }
    dc_strategic_result_clear(&res);
    return n;
}

/* Writes agreement conflict cid: the track's party flew on ground agreement agr gives party q;
 * both are told (q with the aircraft's position at the time). */
static void write_agreement_conflict(dd_service_t *svc, const char *cid, const char *track,
                                     json_t *rec, const char *agr, int64_t q, const char *state,
                                     const char *type, double now)
{
    char t[40], tname[DC_PARTY_NAME_MAX], qname[DC_PARTY_NAME_MAX];
    dc_time_format_rfc3339(now, t, sizeof(t));
    int64_t tp = party_of(track);
    dd_party_name(svc, tp, tname);
    dd_party_name(svc, q, qname);
    json_t *va = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", cid, "kind", "agreement",
                           "state", state, "agreement", agr, "own_track", strchr(track, '/') + 1,
                           "other_party", qname, "updated", t);
    json_t *vb = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", cid, "kind", "agreement",
                           "state", state, "agreement", agr, "other_party", tname, "other_aircraft",
                           disclosed(rec), "updated", t);
    if (strcmp(type, "conflict.new") != 0) keep_acks(svc, cid, tp, va, vb);
    char *ta = json_dumps(va, JSON_COMPACT | JSON_REAL_PRECISION(12));
    char *tb = json_dumps(vb, JSON_COMPACT | JSON_REAL_PRECISION(12));
    dc_doc_t doc = {"conflict", cid, tp, q, ta, tb, state, now, 0};
    if (ta && tb && dc_store_doc_put(svc->store, &doc) == DC_OK) {
        dd_event(svc, tp, type, va);
        dd_event(svc, q, type, vb);
        if (strcmp(type, "conflict.new") == 0) {
            svc->open_conflicts++;
            dd_acks_expect(svc, cid, tp, q, now);
        }
        if (strcmp(type, "conflict.resolved") == 0 && svc->open_conflicts) svc->open_conflicts--;
    }
    free(ta), free(tb);
    json_decref(va), json_decref(vb);
}

static void check_track(dd_service_t *svc, const char *track, json_t *rec, double now)
{
    hit_t hits[32];
    size_t n = probe(svc, rec, now, hits, 32);
    int64_t tp = party_of(track);
    json_t *mine = json_object_get(svc->conformance, track); /* key -> conflict id */
    if (!mine) {
        mine = json_object();
        json_object_set_new(svc->conformance, track, mine);
    }
    json_t *now_keys = json_object();
    for (size_t i = 0; i < n; i++) {
        if (hits[i].party == tp || !hits[i].active) continue;
        json_object_set_new(now_keys, hits[i].op_id, json_true());
        if (json_object_get(mine, hits[i].op_id)) continue;
        char cid[40];
        dd_random_id("cf_", cid, sizeof(cid));
        write_conformance(svc, cid, "intrusion", track, rec, hits[i].op_id, hits[i].party,
                          hits[i].ref, "open", "conflict.new", now);
        note_conformance(svc, track, hits[i].op_id, cid, hits[i].party, hits[i].ref);
    }
    /* Nonconformance: a named own operation that is active and does not contain the track. */
    const char *own = json_string_value(json_object_get(rec, "operation_id"));
    if (own) {
        bool inside = false;
        for (size_t i = 0; i < n; i++) inside |= strcmp(hits[i].op_id, own) == 0;
        int64_t owner;
        const char *state = dd_operation_state(svc, own, &owner);
        bool active = state && strcmp(state, "active") == 0;
        char key[DC_STRATEGIC_ID_MAX + 8];
        snprintf(key, sizeof(key), "own:%s", own);
        if (active && !inside) {
            json_object_set_new(now_keys, key, json_true());
            if (!json_object_get(mine, key)) {
                char cid[40];
                dd_random_id("cf_", cid, sizeof(cid));
                write_conformance(svc, cid, "nonconforming", track, rec, own, tp, "", "open",
                                  "conflict.new", now);
                note_conformance(svc, track, key, cid, tp, "");
            }
        }
    }
    /* Agreements: the track on ground an active agreement gives another party. */
    const char *agr = NULL;
    int64_t q = dd_agreement_violated(svc, tp, json_real_value(json_object_get(rec, "lat")),
                                      json_real_value(json_object_get(rec, "lon")),
                                      json_real_value(json_object_get(rec, "alt_ft")), now, &agr);
    if (q) {
        char key[64];
        snprintf(key, sizeof(key), "agr:%s", agr);
        json_object_set_new(now_keys, key, json_true());
        if (!json_object_get(mine, key)) {
            char cid[40];
            dd_random_id("cf_", cid, sizeof(cid));
            write_agreement_conflict(svc, cid, track, rec, agr, q, "open", "conflict.new", now);
            note_conformance(svc, track, key, cid, q, "");
        }
    }
    /* What the track is no longer in: resolved. */
    const char *key;
    json_t *c;
    void *tmp;
    json_object_foreach_safe(mine, tmp, key, c)
    {
        if (json_object_get(now_keys, key)) continue;
        if (strncmp(key, "agr:", 4) == 0) {
            write_agreement_conflict(svc, json_string_value(json_object_get(c, "cid")), track, rec,
                                     key + 4, json_integer_value(json_object_get(c, "party")),
                                     "resolved", "conflict.resolved", now);
            json_object_del(mine, key);
            continue;
        }
        const char *op = strncmp(key, "own:", 4) == 0 ? key + 4 : key;
        write_conformance(svc, json_string_value(json_object_get(c, "cid")),
                          strncmp(key, "own:", 4) == 0 ? "nonconforming" : "intrusion", track, rec,
                          op, json_integer_value(json_object_get(c, "party")),
                          json_string_value(json_object_get(c, "ref")), "resolved",
                          "conflict.resolved", now);
        json_object_del(mine, key);
    }
    json_decref(now_keys);
}

/* Checks the next slice of tracks, round-robin. */
static void conformance_slice(dd_service_t *svc, double now)
{
    size_t total = json_object_size(svc->tracks);
    if (!total) return;
    size_t slice = (size_t)ceil(total * svc->period_s / svc->cfg.conformance_s);
    void *it =
        svc->conformance_next[0] ? json_object_iter_at(svc->tracks, svc->conformance_next) : NULL;
    if (!it) it = json_object_iter(svc->tracks);
    for (size_t k = 0; k < slice && k < total; k++) {
        if (!it) it = json_object_iter(svc->tracks);
        const char *track = json_object_iter_key(it);
        json_t *rec = json_object_iter_value(it);
        if (now - json_real_value(json_object_get(rec, "t")) <= svc->tactical_cfg.stale_s)
            check_track(svc, track, rec, now);
        it = json_object_iter_next(svc->tracks, it);
    }
    snprintf(svc->conformance_next, sizeof(svc->conformance_next), "%s",
             it ? json_object_iter_key(it) : "");
}

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
                       const dc_tactical_config_t *engine_cfg, double now, const char **profile,
                       dc_pair_eval_t *ev)
{
    if (party_of(c->id1) == party_of(c->id2)) return false; /* cross-party only */
    if (same_aircraft(c->id1, c->id2)) return false;
    json_t *ra = json_object_get(svc->tracks, c->id1), *rb = json_object_get(svc->tracks, c->id2);
    if (!ra || !rb) return false;
    /* The profile from a few fields: this runs for every engine conflict, under the lock. */
    double alt_a = json_real_value(json_object_get(ra, "alt_ft")),
           alt_b = json_real_value(json_object_get(rb, "alt_ft"));
    if (alt_a > svc->cfg.high_above_ft || alt_b > svc->cfg.high_above_ft)
        *profile = "high";
    else if (svc->cfg.n_terminal_areas &&
             in_terminal_area(&svc->cfg, json_real_value(json_object_get(ra, "lat")),
                              json_real_value(json_object_get(ra, "lon"))) &&
             in_terminal_area(&svc->cfg, json_real_value(json_object_get(rb, "lat")),
                              json_real_value(json_object_get(rb, "lon"))))
        *profile = "terminal";
    else
        *profile = "enroute";
    /* Each pair is judged by one engine: high pairs by the high one. */
    if ((strcmp(*profile, "high") == 0) != high_engine) return false;
    const dd_minima_t *m = minima_of(svc, *profile);
    if (m->h_nm == engine_cfg->rpz_nm && m->v_ft == engine_cfg->hpz_ft) {
        *ev = c->eval; /* the engine already used these minima */
        return true;
    }
    dc_track_state_t sa, sb;
    const char *cs;
    if (dd_position_parse(ra, party_of(c->id1), &sa, &cs) ||
        dd_position_parse(rb, party_of(c->id2), &sb, &cs))
        return false;
    dc_tactical_config_t pcfg = *engine_cfg;
    pcfg.rpz_nm = m->h_nm, pcfg.hpz_ft = m->v_ft;
    return dc_tactical_pair(&sa, &sb, now, &pcfg, ev) == DC_OK && ev->conflict;
}

/* One detection pass: the engines, then every pair's nuisance filter. */
static void detect_once(dd_service_t *svc, double now)
{
    const dc_tactical_snapshot_t *snaps[2] = {NULL, NULL};
    double t0 = dd_now_s();
    if (dc_tactical_detect(svc->tactical, now, NULL, &snaps[0]) != DC_OK || !snaps[0]) return;
    if (dc_tactical_detect(svc->tactical_high, now, NULL, &snaps[1]) != DC_OK) snaps[1] = NULL;
    const dc_tactical_snapshot_t *snap = snaps[0];
    dd_write_lock(svc);
    /* One section per pass: its conflicts and events land together, with one sync (shared
     * with the requests of its group) instead of three per conflict. */
    if (dd_tx_begin(svc) != DC_OK) {
        /* Nothing of this pass can be stored: leave the bookkeeping as it is for the next. */
        fprintf(stderr, "deconflictd: detection pass skipped: %s\n",
                dc_store_last_error(svc->store));
        dd_write_unlock(svc);
        dc_tactical_snapshot_release(snaps[0]);
        dc_tactical_snapshot_release(snaps[1]);
        return;
    }
    json_t *seen = json_object();
    for (int e = 0; e < 2; e++)
        for (size_t i = 0; snaps[e] && i < snaps[e]->n_conflicts; i++) {
            const dc_conflict_t *c = &snaps[e]->conflicts[i];
            const char *profile;
            dc_pair_eval_t ev;
            if (!judge_pair(svc, c, e == 1, &snaps[e]->cfg, now, &profile, &ev)) continue;
            char key[2 * DC_TRACK_ID_MAX + 2];
            snprintf(key, sizeof(key), "%s|%s", c->id1, c->id2);
            json_object_set_new(seen, key, json_true());
            json_t *p = json_object_get(svc->pairs, key);
            if (!p) {
                char cid[40];
                dd_random_id("cf_", cid, sizeof(cid));
                p = json_pack("{s:s, s:i, s:s, s:f}", "id", cid, "hist", 0, "level", "", "last_s",
                              now);
                json_object_set_new(svc->pairs, key, p);
            }
            int hist = ((int)json_integer_value(json_object_get(p, "hist")) << 1 | 1) & 15;
            json_object_set_new(p, "hist", json_integer(hist));
            json_object_set_new(p, "last_s", json_real(now));
            json_object_set_new(p, "eval", eval_json(&ev));
            json_object_set_new(p, "profile", json_string(profile));
            const char *level = ev.los_now ? "loss" : "predicted";
            const char *was = json_string_value(json_object_get(p, "level"));
            const char *cid = json_string_value(json_object_get(p, "id"));
            bool was_stale = json_is_true(json_object_get(p, "stale"));
            if (!*was && popcount4(hist) >= svc->m_of_n) {
                write_conflict(svc, cid, c->id1, c->id2, "open", level, "live", profile, &ev,
                               "conflict.new", now);
                svc->open_conflicts++;
                json_object_set_new(p, "level", json_string(level));
            } else if (*was && (strcmp(was, level) != 0 || was_stale)) {
                write_conflict(svc, cid, c->id1, c->id2, "open", level, "live", profile, &ev,
                               "conflict.update", now);
                json_object_set_new(p, "level", json_string(level));
                json_object_set_new(p, "stale", json_false());
            }
        }
    /* Pairs not in conflict this pass: shift a 0 in; resolve raised ones after the
     * hysteresis; forget the rest once their history is empty. */
    const char *key;
    json_t *p;
    void *tmp;
    json_object_foreach_safe(svc->pairs, tmp, key, p)
    {
        if (json_object_get(seen, key)) continue;
        int hist = ((int)json_integer_value(json_object_get(p, "hist")) << 1) & 15;
        json_object_set_new(p, "hist", json_integer(hist));
        const char *was = json_string_value(json_object_get(p, "level"));
        double last = json_real_value(json_object_get(p, "last_s"));
        char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
        const char *bar = strchr(key, '|');
        snprintf(id1, sizeof(id1), "%.*s", (int)(bar - key), key);
        snprintf(id2, sizeof(id2), "%s", bar + 1);
        const char *cid = json_string_value(json_object_get(p, "id"));
        dc_pair_eval_t last_eval = eval_of(json_object_get(p, "eval"));
        const char *profile = json_string_value(json_object_get(p, "profile"));
        if (!profile) profile = "enroute";
        /* A pair that left the prediction because one side stopped reporting is not a
         * resolved conflict: it stays open, marked stale, until the track reports again or
         * is dropped as lost. */
        double age = fmax(report_age_s(svc, id1, now), report_age_s(svc, id2, now));
        if (*was && age > svc->tactical_cfg.stale_s && age <= svc->tactical_cfg.expire_s) {
            if (!json_is_true(json_object_get(p, "stale"))) {
                write_conflict(svc, cid, id1, id2, "open", was, "stale", profile, &last_eval,
                               "conflict.update", now);
                json_object_set_new(p, "stale", json_true());
            }
        } else if (*was && (now - last >= svc->hysteresis_s || age > svc->tactical_cfg.expire_s)) {
            write_conflict(svc, cid, id1, id2, "resolved", was,
                           age > svc->tactical_cfg.expire_s ? "lost" : "live", profile, &last_eval,
                           "conflict.resolved", now);
            if (svc->open_conflicts) svc->open_conflicts--;
            json_object_del(svc->pairs, key);
        } else if (!*was && hist == 0) {
            json_object_del(svc->pairs, key);
        }
    }
    json_decref(seen);
    conformance_slice(svc, now);
    /* Old history goes at most 10 s of it per pass (a second's worth in the steady state), so
     * no pass pays for a backlog: after downtime it is caught up at ten times real time. */
    double cutoff = now - svc->cfg.history_keep_s;
    if (svc->history_pruned_s < cutoff) {
        double upto = fmin(cutoff, svc->history_pruned_s + 10);
        if (dc_store_history_prune(svc->store, upto, NULL) != DC_OK)
            fprintf(stderr, "deconflictd: old track history not deleted: %s\n",
                    dc_store_last_error(svc->store));
        svc->history_pruned_s = upto;
    }
    dd_message_escalate(svc, now);
    dd_acks_escalate(svc, now);
    svc->live_tracks = snap->stats.live;
    svc->passes_total++;
    svc->last_pass_ms = (dd_now_s() - t0) * 1e3;
    if (dd_tx_end(svc) != DC_OK)
        fprintf(stderr, "deconflictd: a detection pass could not be stored: %s\n",
                dc_store_last_error(svc->store));
    dd_write_unlock(svc);
    dc_tactical_snapshot_release(snaps[0]);
    dc_tactical_snapshot_release(snaps[1]);
}

static void *detect_loop(void *arg)
{
    dd_service_t *svc = arg;
    for (;;) {
        pthread_mutex_lock(&svc->lock);
        bool stop = svc->stopping;
        pthread_mutex_unlock(&svc->lock);
        if (stop) return NULL;
        /* A pass starts every period (not a period after the last one ended), so a report waits
         * at most one period plus one pass for its alert. */
        double start = dd_now_s();
        detect_once(svc, start);
        double left = svc->period_s - (dd_now_s() - start);
        if (left > 0) usleep((useconds_t)(left * 1e6));
    }
}

bool dd_live_start(dd_service_t *svc)
{
    return pthread_create(&svc->detect_thread, NULL, detect_loop, svc) == 0;
}

void dd_live_stop(dd_service_t *svc)
{
    pthread_join(svc->detect_thread, NULL);
    dc_tactical_free(svc->tactical);
    dc_tactical_free(svc->tactical_high);
    json_decref(svc->tracks);
    json_decref(svc->pairs);
    json_decref(svc->conformance);
    json_decref(svc->history_last);
}
