/* GET /metrics: the service's counters in the Prometheus text format (docs/service.md,
 * "Metrics"). Read from the domain's counters under its lock, the server's and the feeds'
 * without. */
#include <stdio.h>

#include "clock.h"
#include "http/server.h"

size_t dd_metrics_text(dd_server_t *srv, char *buf, size_t cap)
{
    dd_service_t *svc = srv->svc;
    dc_strategic_stats_t st;
    pthread_mutex_lock(&svc->sync_lock);
    unsigned long long syncs = svc->syncs_total;
    pthread_mutex_unlock(&svc->sync_lock);
    dd_access_stats_t as;
    dd_access_stats(srv->access, &as);
    size_t n_streams = dd_streams_count(srv->streams);
    unsigned long long req[6];
    for (int i = 0; i < 6; i++)
        req[i] = __atomic_load_n(&srv->requests_by_class[i], __ATOMIC_RELAXED);
    pthread_mutex_lock(&svc->lock);
    dc_strategic_stats(svc->strategic, &st);
    int n = snprintf(
        buf, cap,
        "# HELP deconflict_requests_total HTTP requests answered, by status class.\n"
        "# TYPE deconflict_requests_total counter\n"
        "deconflict_requests_total{class=\"2xx\"} %llu\n"
        "deconflict_requests_total{class=\"4xx\"} %llu\n"
        "deconflict_requests_total{class=\"5xx\"} %llu\n"
        "# HELP deconflict_events_total Events appended to parties' streams.\n"
        "# TYPE deconflict_events_total counter\n"
        "deconflict_events_total %llu\n"
        "# HELP deconflict_event_subscribers Open /v1/events streams.\n"
        "# TYPE deconflict_event_subscribers gauge\n"
        "deconflict_event_subscribers %zu\n"
        "# HELP deconflict_http_connections Connections the server holds.\n"
        "# TYPE deconflict_http_connections gauge\n"
        "deconflict_http_connections %zu\n"
        "# HELP deconflict_http_connections_unproven Held connections that have not yet carried "
        "an authenticated request (the ones that give way).\n"
        "# TYPE deconflict_http_connections_unproven gauge\n"
        "deconflict_http_connections_unproven %zu\n"
        "# HELP deconflict_http_connections_evicted_total Unproven connections shut to make room.\n"
        "# TYPE deconflict_http_connections_evicted_total counter\n"
        "deconflict_http_connections_evicted_total %llu\n"
        "# HELP deconflict_http_connections_refused_total Connections refused: every held one was "
        "a party's.\n"
        "# TYPE deconflict_http_connections_refused_total counter\n"
        "deconflict_http_connections_refused_total %llu\n"
        "# HELP deconflict_open_conflicts Conflicts not resolved.\n"
        "# TYPE deconflict_open_conflicts gauge\n"
        "deconflict_open_conflicts %zu\n"
        "# HELP deconflict_live_operations Operations in the strategic engine.\n"
        "# TYPE deconflict_live_operations gauge\n"
        "deconflict_live_operations %zu\n"
        "# HELP deconflict_live_volumes Volumes in the strategic engine.\n"
        "# TYPE deconflict_live_volumes gauge\n"
        "deconflict_live_volumes %zu\n"
        "# HELP deconflict_positions_total Position reports accepted.\n"
        "# TYPE deconflict_positions_total counter\n"
        "deconflict_positions_total %llu\n"
        "# HELP deconflict_positions_refused_total Position reports refused, by reason (time "
        "ahead of the service's clock, too old, invalid).\n"
        "# TYPE deconflict_positions_refused_total counter\n"
        "deconflict_positions_refused_total{reason=\"time_ahead\"} %llu\n"
        "deconflict_positions_refused_total{reason=\"time_old\"} %llu\n"
        "deconflict_positions_refused_total{reason=\"invalid\"} %llu\n"
        "# HELP deconflict_live_tracks Tracks evaluated in the last detection pass.\n"
        "# TYPE deconflict_live_tracks gauge\n"
        "deconflict_live_tracks %zu\n"
        "# HELP deconflict_detection_passes_total Tactical detection passes run.\n"
        "# TYPE deconflict_detection_passes_total counter\n"
        "deconflict_detection_passes_total %llu\n"
        "# HELP deconflict_detection_pass_ms Duration of the last periodic pass (detection, "
        "conformance, escalation), its commit made durable.\n"
        "# TYPE deconflict_detection_pass_ms gauge\n"
        "deconflict_detection_pass_ms %.3f\n"
        "# HELP deconflict_store_commits_total Store transactions committed.\n"
        "# TYPE deconflict_store_commits_total counter\n"
        "deconflict_store_commits_total %llu\n"
        "# HELP deconflict_store_syncs_total Syncs of the store to disk (one sync makes "
        "every commit before it durable).\n"
        "# TYPE deconflict_store_syncs_total counter\n"
        "deconflict_store_syncs_total %llu\n"
        "# HELP deconflict_history_errors_total Track history samples that could not be stored "
        "(their reports were).\n"
        "# TYPE deconflict_history_errors_total counter\n"
        "deconflict_history_errors_total %llu\n"
        "# HELP deconflict_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE deconflict_uptime_seconds gauge\n"
        "deconflict_uptime_seconds %.0f\n",
        req[2], req[4], req[5], (unsigned long long)svc->events_total, n_streams, as.connections,
        as.unproven, (unsigned long long)as.evicted, (unsigned long long)as.refused,
        svc->open_conflicts, st.operations, st.volumes, (unsigned long long)svc->positions_total,
        (unsigned long long)svc->positions_refused[DD_REFUSED_AHEAD],
        (unsigned long long)svc->positions_refused[DD_REFUSED_OLD],
        (unsigned long long)svc->positions_refused[DD_REFUSED_INVALID], svc->live_tracks,
        (unsigned long long)svc->passes_total, svc->last_pass_ms,
        (unsigned long long)svc->committed, syncs, (unsigned long long)svc->history_errors,
        dd_now_s() - srv->started_s);
    pthread_mutex_unlock(&svc->lock);
    if (n < 0 || (size_t)n >= cap) return 0;
    /* The surveillance feeds, one series per feed, whatever their kind. */
    static const char *const names[][2] = {
        {"deconflict_feed_lines_total",
         "SBS-1 lines, Beast frames or ASTERIX datagrams read from the feed."},
        {"deconflict_feed_bad_lines_total",
         "Malformed SBS-1 lines, Beast frames or ASTERIX datagrams skipped."},
        {"deconflict_feed_states_total", "Aircraft states fed in as tracks."},
        {"deconflict_feed_aircraft", "Aircraft the feed's tracker holds."},
        {"deconflict_feed_connected", "1 while connected to the source (ASTERIX: listening)."},
    };
    for (size_t k = 0; svc->cfg.n_feeds && k < sizeof(names) / sizeof(names[0]); k++) {
        if ((size_t)n + 400 > cap) break; /* room for the longest HELP and TYPE lines */
        n += snprintf(buf + n, cap - (size_t)n, "# HELP %s %s\n# TYPE %s %s\n", names[k][0],
                      names[k][1], names[k][0], k < 3 ? "counter" : "gauge");
        for (size_t i = 0; i < svc->cfg.n_feeds && (size_t)n + 200 < cap; i++) {
            const dd_feed_t *f = &srv->feeds[i];
            unsigned long long v =
                k == 0   ? __atomic_load_n(&f->lines, __ATOMIC_RELAXED)
                : k == 1 ? __atomic_load_n(&f->bad_lines, __ATOMIC_RELAXED)
                : k == 2 ? __atomic_load_n(&f->states, __ATOMIC_RELAXED)
                : k == 3 ? __atomic_load_n(&f->aircraft, __ATOMIC_RELAXED)
                         : (unsigned long long)__atomic_load_n(&f->connected, __ATOMIC_RELAXED);
            n += snprintf(buf + n, cap - (size_t)n, "%s{feed=\"%.100s:%d\"} %llu\n", names[k][0],
                          f->host, f->port, v);
        }
    }
    /* The CAT004 senders (--alerts-asterix), one series each. */
    static const char *const out_names[][2] = {
        {"deconflict_alerts_asterix_messages_total",
         "CAT004 messages sent (alive, STCA, end of conflict)."},
        {"deconflict_alerts_asterix_send_errors_total", "CAT004 datagrams that could not be sent."},
    };
    for (size_t k = 0; svc->cfg.n_alert_outs && k < 2; k++) {
        if ((size_t)n + 400 > cap) break;
        n += snprintf(buf + n, cap - (size_t)n, "# HELP %s %s\n# TYPE %s counter\n",
                      out_names[k][0], out_names[k][1], out_names[k][0]);
        for (size_t i = 0; i < svc->cfg.n_alert_outs && (size_t)n + 200 < cap; i++) {
            const dd_alert_out_t *o = &srv->alert_outs[i];
            unsigned long long v = k == 0 ? __atomic_load_n(&o->messages, __ATOMIC_RELAXED)
                                          : __atomic_load_n(&o->send_errors, __ATOMIC_RELAXED);
            n += snprintf(buf + n, cap - (size_t)n, "%s{target=\"%.100s:%d\"} %llu\n",
                          out_names[k][0], o->host, o->port, v);
        }
    }
    return (size_t)n;
}
