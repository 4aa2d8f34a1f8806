/* deconflictd's HTTP server on libmicrohttpd (docs/service.md): request bodies with a size
 * limit, bearer authentication, request signatures and the signature policy, per-party rate
 * limits, dispatch through the API's route table (api/api.h), RFC 9457 problems, one JSON log
 * line per request, and what is not the API: /healthz, /metrics, the event streams and the
 * web console's files.
 *
 * Thread model: a pool of http_threads threads, each with its own epoll loop over many
 * connections (MHD_USE_EPOLL_INTERNAL_THREAD + MHD_OPTION_THREAD_POOL_SIZE), so idle or slow
 * clients cost a socket each and never a thread: thousands of them cannot take the line down
 * (bench: deconflict-bench idle). Who may hold a connection is access.c's rule: strangers'
 * connections give way to parties'. A client that has not sent its headers within
 * header_timeout_s is closed; a party's idle keep-alive connection lives idle_timeout_s. A
 * request whose answer rests on a commit not yet durable is suspended, not waited for: its
 * thread serves other connections, and the syncer's hook resumes it once the commit is synced
 * (core/commit.h). */
#ifndef DD_HTTP_SERVER_H
#define DD_HTTP_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/state.h"
#include "feeds/alerts_out.h"
#include "feeds/sbs_client.h"
#include "http/access.h"
#include "http/console.h"
#include "http/streams.h"

typedef struct dd_server {
    dd_service_t *svc;
    struct MHD_Daemon *mhd;
    dd_access_t *access;
    dd_streams_t *streams;
    const dd_console_t *console;      /* NULL when not installed */
    const dd_feed_t *feeds;           /* svc->cfg.n_feeds of them, for /metrics */
    const dd_alert_out_t *alert_outs; /* svc->cfg.n_alert_outs of them, for /metrics */
    double started_s;
    uint64_t requests_by_class[6]; /* answered, by the status's first digit */
    /* Answers held until the commits they rest on are durable (server.c), under held_mu: their
     * connections are suspended meanwhile, so a pool thread never waits for a sync. */
    pthread_mutex_t held_mu;
    struct request *held;
    bool held_closing; /* stopping: none is held any more, each waits in its thread */
} dd_server_t;

/* Starts serving svc on its configured address. false with err on failure (then
 * dd_server_stop frees what was made). */
bool dd_server_start(dd_server_t *srv, dd_service_t *svc, const dd_console_t *console,
                     const dd_feed_t *feeds, const dd_alert_out_t *alert_outs, char *err,
                     size_t len);

/* The port it listens on (the one picked when configured as 0). */
unsigned dd_server_port(const dd_server_t *srv);

/* Ends every event stream, stops the server, frees what dd_server_start made. Call with
 * svc->stopping set. */
void dd_server_stop(dd_server_t *srv);

/* Prints "METHOD /path" per line: every route the server answers. */
void dd_server_print_routes(FILE *out);

/* /metrics: the Prometheus text (metrics.c) into buf (cap bytes); returns its length, or 0
 * when it would not fit (nothing usable in buf then). */
size_t dd_metrics_text(dd_server_t *srv, char *buf, size_t cap);

#endif
