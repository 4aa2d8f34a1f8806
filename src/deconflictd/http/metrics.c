/* GET /metrics: the service's figures in the Prometheus text format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), named by Prometheus's
 * conventions (https://prometheus.io/docs/practices/naming/): base units (seconds), `_total`
 * on counters only, a HELP and a TYPE line for every family. The list, with units, is in
 * docs/deployment.md ("Monitoring"); `integration_metrics` runs promtool over it.
 *
 * Everything here is service-wide: no label names a party (the endpoint is loopback-only by
 * default, and its counts already hint at the parties' activity as a whole, docs/service.md).
 * Read from the domain's state under its lock, the server's and the feeds' without. */
#include <stdarg.h>
#include <stdio.h>

#include "clock.h"
#include "core/conflicts.h"
#include "http/server.h"

/* The text being written: never past cap; ok turns false, for good, when it would have. */
typedef struct out {
    char *buf;
    size_t cap, len;
    bool ok;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    if (!o->ok) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->ok = false;
    else
        o->len += (size_t)n;
}

/* A family's HELP and TYPE lines. */
static void family(out_t *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one unlabelled sample, a whole number. */
static void one(out_t *o, const char *name, const char *type, const char *help,
                unsigned long long v)
{
    family(o, name, type, help);
    put(o, "%s %llu\n", name, v);
}

/* What is read under the service's lock, copied out so the text is written without it. */
typedef struct domain {
    dd_conflict_counts_t cf;
    size_t msg_acks_owed, operations, volumes, live_tracks;
    uint64_t events, positions, refused[3], passes, commits, history_errors;
    dd_histogram_t pass_took;
    double last_pass_took_s;
} domain_t;

static void read_domain(dd_service_t *svc, double now, domain_t *d)
{
    dc_strategic_stats_t st;
    pthread_mutex_lock(&svc->lock);
    dc_strategic_stats(svc->strategic, &st);
    dd_conflicts_count(svc, now, &d->cf);
    /* Hotline messages that ask for an acknowledgement not given yet (core/messages.c). */
    d->msg_acks_owed = svc->msg_pending.len;
    d->operations = st.operations, d->volumes = st.volumes, d->live_tracks = svc->live_tracks;
    d->events = svc->events_total, d->positions = svc->positions_total;
    for (int i = 0; i < 3; i++) d->refused[i] = svc->positions_refused[i];
    d->passes = svc->passes_total, d->commits = svc->committed;
    d->history_errors = svc->history_errors;
    d->pass_took = svc->pass_took, d->last_pass_took_s = svc->last_pass_took_s;
    pthread_mutex_unlock(&svc->lock);
}

static void conflicts_text(out_t *o, const domain_t *d)
{
    family(o, "deconflict_open_conflicts", "gauge",
           "Conflicts not resolved, by kind and level (none: a kind not graded). Service-wide, "
           "the same on every node.");
    for (int k = 0; k < DD_CF_KINDS; k++)
        for (int l = 0; l < DD_CF_LEVELS; l++)
            if (d->cf.open[k][l] || dd_cf_kind_has_level((dd_cf_kind_t)k, (dd_cf_level_t)l))
                put(o, "deconflict_open_conflicts{kind=\"%s\",level=\"%s\"} %zu\n",
                    dd_cf_kind_name((dd_cf_kind_t)k), dd_cf_level_name((dd_cf_level_t)l),
                    d->cf.open[k][l]);
    one(o, "deconflict_conflict_acks_owed", "gauge",
        "Acknowledgements owed on open conflicts: one per party that has not acknowledged a "
        "conflict past the advisory level (docs/hotline.md).",
        (unsigned long long)d->cf.acks_owed);
    one(o, "deconflict_conflict_acks_overdue", "gauge",
        "Of the acknowledgements owed, those past their deadline (escalated).",
        (unsigned long long)d->cf.acks_overdue);
    one(o, "deconflict_message_acks_owed", "gauge",
        "Hotline messages asking for an acknowledgement not given yet.",
        (unsigned long long)d->msg_acks_owed);
}

static void pass_text(out_t *o, const domain_t *d)
{
    one(o, "deconflict_detection_passes_total", "counter",
        "Periodic passes (tactical detection, conformance, escalation) run and stored.",
        (unsigned long long)d->passes);
    family(o, "deconflict_detection_pass_seconds", "histogram",
           "Duration of the periodic passes this node ran, their commit made durable.");
    for (size_t i = 0; i < DD_HISTOGRAM_BUCKETS; i++)
        put(o, "deconflict_detection_pass_seconds_bucket{le=\"%g\"} %llu\n", dd_histogram_le_s[i],
            (unsigned long long)dd_histogram_cumulative(&d->pass_took, i));
    put(o, "deconflict_detection_pass_seconds_bucket{le=\"+Inf\"} %llu\n",
        (unsigned long long)d->pass_took.count);
    put(o, "deconflict_detection_pass_seconds_sum %.9f\n", d->pass_took.sum_s);
    put(o, "deconflict_detection_pass_seconds_count %llu\n",
        (unsigned long long)d->pass_took.count);
    family(o, "deconflict_detection_pass_last_seconds", "gauge",
           "Duration of the last periodic pass this node ran (0: none yet).");
    put(o, "deconflict_detection_pass_last_seconds %.6f\n", d->last_pass_took_s);
}

/* The surveillance feeds and the CAT004 senders, one series each, when configured. */
static void feeds_text(out_t *o, const dd_server_t *srv)
{
    const dd_service_t *svc = srv->svc;
    static const char *const names[][2] = {
        {"deconflict_feed_lines_total",
         "SBS-1 lines, Beast frames or ASTERIX datagrams read from the feed."},
        {"deconflict_feed_bad_lines_total",
         "Malformed SBS-1 lines, Beast frames or ASTERIX datagrams skipped."},
        {"deconflict_feed_states_total", "Aircraft states fed in as tracks."},
        {"deconflict_feed_aircraft", "Aircraft the feed's tracker holds."},
        {"deconflict_feed_connected", "1 while connected to the source (ASTERIX: listening)."},
        {"deconflict_feed_corrected_frames_total",
         "Beast frames repaired of a single-bit CRC error, among the lines read and not the bad "
         "ones (0 for SBS-1 and ASTERIX)."},
    };
    for (size_t k = 0; svc->cfg.n_feeds && k < sizeof(names) / sizeof(names[0]); k++) {
        family(o, names[k][0], k < 3 || k == 5 ? "counter" : "gauge", names[k][1]);
        for (size_t i = 0; i < svc->cfg.n_feeds; i++) {
            const dd_feed_t *f = &srv->feeds[i];
            unsigned long long v =
                k == 0   ? __atomic_load_n(&f->lines, __ATOMIC_RELAXED)
                : k == 1 ? __atomic_load_n(&f->bad_lines, __ATOMIC_RELAXED)
                : k == 2 ? __atomic_load_n(&f->states, __ATOMIC_RELAXED)
                : k == 3 ? __atomic_load_n(&f->aircraft, __ATOMIC_RELAXED)
                : k == 4 ? (unsigned long long)__atomic_load_n(&f->connected, __ATOMIC_RELAXED)
                         : __atomic_load_n(&f->corrected, __ATOMIC_RELAXED);
            put(o, "%s{feed=\"%.100s:%d\"} %llu\n", names[k][0], f->host, f->port, v);
        }
    }
    static const char *const out_names[][2] = {
        {"deconflict_alerts_asterix_messages_total",
         "CAT004 messages sent (alive, STCA, end of conflict)."},
        {"deconflict_alerts_asterix_send_errors_total", "CAT004 datagrams that could not be sent."},
    };
    for (size_t k = 0; svc->cfg.n_alert_outs && k < 2; k++) {
        family(o, out_names[k][0], "counter", out_names[k][1]);
        for (size_t i = 0; i < svc->cfg.n_alert_outs; i++) {
            const dd_alert_out_t *a = &srv->alert_outs[i];
            unsigned long long v = k == 0 ? __atomic_load_n(&a->messages, __ATOMIC_RELAXED)
                                          : __atomic_load_n(&a->send_errors, __ATOMIC_RELAXED);
            put(o, "%s{target=\"%.100s:%d\"} %llu\n", out_names[k][0], a->host, a->port, v);
        }
    }
}

size_t dd_metrics_text(dd_server_t *srv, char *buf, size_t cap)
{
    dd_service_t *svc = srv->svc;
    double now = dd_now_s();
    pthread_mutex_lock(&svc->sync_lock);
    unsigned long long syncs = svc->syncs_total;
    pthread_mutex_unlock(&svc->sync_lock);
    dd_access_stats_t as;
    dd_access_stats(srv->access, &as);
    size_t n_streams = dd_streams_count(srv->streams);
    unsigned long long req[6];
    for (int i = 0; i < 6; i++)
        req[i] = __atomic_load_n(&srv->requests_by_class[i], __ATOMIC_RELAXED);
    domain_t d;
    read_domain(svc, now, &d);

    out_t o = {buf, cap, 0, cap > 0};
    family(&o, "deconflict_requests_total", "counter", "HTTP requests answered, by status class.");
    put(&o, "deconflict_requests_total{class=\"2xx\"} %llu\n", req[2]);
    put(&o, "deconflict_requests_total{class=\"4xx\"} %llu\n", req[4]);
    put(&o, "deconflict_requests_total{class=\"5xx\"} %llu\n", req[5]);
    one(&o, "deconflict_events_total", "counter", "Events appended to parties' streams.",
        (unsigned long long)d.events);
    one(&o, "deconflict_event_subscribers", "gauge", "Open /v1/events streams (stream clients).",
        (unsigned long long)n_streams);
    one(&o, "deconflict_http_connections", "gauge", "Connections the server holds.",
        (unsigned long long)as.connections);
    one(&o, "deconflict_http_connections_unproven", "gauge",
        "Held connections that have not yet carried an authenticated request (the ones that "
        "give way).",
        (unsigned long long)as.unproven);
    one(&o, "deconflict_http_connections_evicted_total", "counter",
        "Unproven connections shut to make room.", (unsigned long long)as.evicted);
    one(&o, "deconflict_http_connections_refused_total", "counter",
        "Connections refused: every held one was a party's.", (unsigned long long)as.refused);
    conflicts_text(&o, &d);
    one(&o, "deconflict_live_operations", "gauge", "Operations in the strategic engine.",
        (unsigned long long)d.operations);
    one(&o, "deconflict_live_volumes", "gauge", "Volumes in the strategic engine.",
        (unsigned long long)d.volumes);
    one(&o, "deconflict_positions_total", "counter",
        "Position reports accepted (the API's and the feeds').", (unsigned long long)d.positions);
    family(&o, "deconflict_positions_refused_total", "counter",
           "Position reports refused, by reason (time ahead of the service's clock, too old, "
           "invalid).");
    put(&o, "deconflict_positions_refused_total{reason=\"time_ahead\"} %llu\n",
        (unsigned long long)d.refused[DD_REFUSED_AHEAD]);
    put(&o, "deconflict_positions_refused_total{reason=\"time_old\"} %llu\n",
        (unsigned long long)d.refused[DD_REFUSED_OLD]);
    put(&o, "deconflict_positions_refused_total{reason=\"invalid\"} %llu\n",
        (unsigned long long)d.refused[DD_REFUSED_INVALID]);
    one(&o, "deconflict_live_tracks", "gauge", "Tracks evaluated in the last detection pass.",
        (unsigned long long)d.live_tracks);
    pass_text(&o, &d);
    one(&o, "deconflict_store_commits_total", "counter", "Store transactions committed.",
        (unsigned long long)d.commits);
    one(&o, "deconflict_store_syncs_total", "counter",
        "Syncs of the store to disk (one sync makes every commit before it durable).",
        (unsigned long long)syncs);
    one(&o, "deconflict_history_errors_total", "counter",
        "Track history samples that could not be stored (their reports were).",
        (unsigned long long)d.history_errors);
    one(&o, "deconflict_uptime_seconds", "gauge", "Seconds since the daemon started.",
        (unsigned long long)(now > srv->started_s ? now - srv->started_s : 0));
    feeds_text(&o, srv);
    return o.ok ? o.len : 0;
}
