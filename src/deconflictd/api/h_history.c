/* GET /v1/history?from=&to=&step_s=: the caller's track samples (each track thinned to one per
 * step_s, default history_s) and its own events between from and to (default: the last
 * history_keep_s), for the console's time slider (docs/console.md). The answer is written by
 * hand into one growing buffer: an hour of samples is too many numbers to build as jansson
 * values first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "core/history.h"
#include "deconflict/timefmt.h"

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
                                dd_fault_t *f)
{
    q->t1 = now;
    if (to && !parse_time_arg(to, &q->t1))
        return dd_fail(f, DC_ERR_INVALID, "to", "to: expected an RFC 3339 time or Unix seconds");
    q->t0 = q->t1 - cfg->history_keep_s;
    if (from && !parse_time_arg(from, &q->t0))
        return dd_fail(f, DC_ERR_INVALID, "from",
                       "from: expected an RFC 3339 time or Unix seconds");
    if (!(q->t0 <= q->t1) || q->t1 - q->t0 > DD_HISTORY_SPAN_MAX_S)
        return dd_fail(f, DC_ERR_INVALID, "from",
                       "from: must be before to, and at most 24 h before it");
    q->step_s = cfg->history_s;
    if (step) {
        char *end;
        double v = strtod(step, &end);
        if (end == step || *end || !(v >= 0 && v <= 3600))
            return dd_fail(f, DC_ERR_INVALID, "step_s",
                           "step_s: seconds between a track's samples, 0-3600");
        q->step_s = fmax(v, 0);
    }
    return DC_OK;
}

/* ---- the answer ---- */

/* Text growing as needed; `failed` once memory ran out (the rest is dropped). */
typedef struct grow {
    char *text;
    size_t len, cap;
    bool failed;
} grow_t;

static void put(grow_t *g, const char *s, size_t n)
{
    if (g->failed) return;
    if (g->len + n + 1 > g->cap) {
        size_t cap = (g->len + n + 1) * 2;
        char *t = realloc(g->text, cap);
        if (!t) {
            g->failed = true;
            return;
        }
        g->text = t, g->cap = cap;
    }
    memcpy(g->text + g->len, s, n);
    g->len += n;
    g->text[g->len] = '\0';
}

static void put_str(grow_t *g, const char *s)
{
    put(g, s, strlen(s));
}

static void put_num(grow_t *g, double v, int decimals)
{
    char num[48];
    int n = snprintf(num, sizeof(num), "%.*f", decimals, v);
    put(g, num, n > 0 && (size_t)n < sizeof(num) ? (size_t)n : 0);
}

static void put_json_string(grow_t *g, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (t)
        put_str(g, t);
    else
        g->failed = true;
    free(t);
    json_decref(j);
}

typedef struct hist_out {
    grow_t samples, events;
    double step_s;
    json_t *kept; /* track id -> time of its last sample written (thinning to step_s) */
    size_t n_samples, n_events;
} hist_out_t;

static void on_sample(const char *id, double t_s, double lat, double lon, double alt_ft,
                      double trk_deg, double gs_kt, void *ctx)
{
    hist_out_t *h = ctx;
    json_t *last = json_object_get(h->kept, id);
    if (last && t_s < json_real_value(last) + h->step_s) return;
    if (last)
        json_real_set(last, t_s);
    else
        json_object_set_new(h->kept, id, json_real(t_s));
    grow_t *g = &h->samples;
    put_str(g, h->n_samples++ ? ",[" : "[");
    put_json_string(g, id);
    const double v[] = {t_s, lat, lon, alt_ft, trk_deg, gs_kt};
    static const int decimals[] = {3, 6, 6, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        put_str(g, ",");
        put_num(g, v[i], decimals[i]);
    }
    put_str(g, "]");
}

static void on_event(int64_t seq, const char *type, const char *data, double t_s, void *ctx)
{
    hist_out_t *h = ctx;
    grow_t *g = &h->events;
    char head[96];
    snprintf(head, sizeof(head), "%s{\"id\":%lld,\"t\":", h->n_events++ ? "," : "", (long long)seq);
    put_str(g, head);
    put_num(g, t_s, 3);
    put_str(g, ",\"type\":");
    put_json_string(g, type);
    put_str(g, ",\"data\":");
    put_str(g, data);
    put_str(g, "}");
}

void dd_h_history_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_service_t *svc = rq->svc;
    dd_history_query_t q;
    dd_fault_t f;
    if (dd_history_query_parse(&svc->cfg, rq->now, rq->arg(rq->conn, "from"),
                               rq->arg(rq->conn, "to"), rq->arg(rq->conn, "step_s"), &q,
                               &f) != DC_OK) {
        dd_respond_fault(rs, &f);
        return;
    }
    hist_out_t h = {.step_s = q.step_s, .kept = json_object()};
    dd_history_visit_t v = {on_sample, on_event, &h};
    bool truncated = false;
    dc_err_t rc = dd_history_read(svc, rq->party, q.t0, q.t1, &v, &truncated, &f);
    json_decref(h.kept);
    grow_t out = {0};
    char head[160], a[40], b[40];
    dc_time_format_rfc3339(q.t0, a, sizeof(a));
    dc_time_format_rfc3339(q.t1, b, sizeof(b));
    snprintf(head, sizeof(head), "{\"from\":\"%s\",\"to\":\"%s\",\"history_s\":%g,\"samples\":[", a,
             b, svc->cfg.history_s);
    put_str(&out, head);
    put(&out, h.samples.text ? h.samples.text : "", h.samples.len);
    put_str(&out, "],\"events\":[");
    put(&out, h.events.text ? h.events.text : "", h.events.len);
    put_str(&out, truncated ? "],\"truncated\":true}" : "],\"truncated\":false}");
    bool failed = h.samples.failed || h.events.failed || out.failed;
    free(h.samples.text), free(h.events.text);
    if (rc != DC_OK) {
        free(out.text);
        dd_respond_fault(rs, &f);
    } else if (failed) {
        free(out.text);
        dd_respond_problem(rs, DC_ERR_NOMEM, "", "out of memory for the history");
    } else {
        dd_respond_text(rs, 200, out.text);
    }
}
