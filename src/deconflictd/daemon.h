/* deconflictd internals: the configuration, the service state shared by the HTTP handlers,
 * and the entry points main.c calls. */
#ifndef DC_DAEMON_H
#define DC_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "deconflict/store.h"
#include "deconflict/strategic.h"
#include "deconflict/tactical.h"

typedef struct json_t json_t;
typedef struct dd_party_mark dd_party_mark_t;

/* Separation minima by airspace: the profile of a pair is `high` when either aircraft is above
 * high_above_ft, else `terminal` when both are inside one terminal area, else `enroute`. */
typedef struct dd_minima {
    double h_nm, v_ft;
} dd_minima_t;

#define DD_TERMINAL_AREAS_MAX 32
#define DD_FEEDS_MAX          8

typedef struct dd_config {
    char data_dir[1024];
    char listen_host[256];
    int listen_port;
    size_t max_body_bytes;    /* request bodies above this get 413 */
    size_t max_streams_party; /* open /v1/events streams per party; more get 429 */
    double keepalive_s;       /* SSE comment line when no event for this long */
    bool quiet;               /* no per-request log lines */
    double period_s;          /* tactical detection period (default 1) */
    int m_of_n;               /* raise after this many of the last 4 passes in conflict (2) */
    double hysteresis_s;      /* resolve after clear for this long (default 5) */
    double conformance_s;     /* each track checked against operations once per this (5) */
    double conflict_ack_s;    /* each party acknowledges a conflict within this (120) */
    dd_minima_t enroute, terminal, high; /* 5/1000, 3/1000, 5/2000 */
    double high_above_ft;                /* FL410: 41000 */
    struct {
        double lat_deg, lon_deg, radius_nm;
    } terminal_areas[DD_TERMINAL_AREAS_MAX];
    size_t n_terminal_areas;
    struct {
        char host[256], party[64];
        int port;
    } feeds[DD_FEEDS_MAX]; /* SBS-1 sources: deconflictd connects and feeds as party */
    size_t n_feeds;
    double rate_rps;         /* per-party request rate (token bucket; 0: unlimited) */
    double rate_burst;       /* and its burst */
    double history_s;        /* a track's history gets a sample at most this often (0: none) */
    double history_keep_s;   /* and keeps samples this long (the console's time slider) */
    char console_dir[1024];  /* the web console's built files ("": from beside the binary) */
    bool require_signatures; /* every party's writes must be signed (signatures = required) */
    size_t http_threads;     /* the server's threads, each an epoll loop over many connections */
    size_t max_connections;  /* held at once; unproven ones give way beyond (access.h) */
    size_t max_unproven_per_address; /* unauthenticated connections one address may hold */
    double header_timeout_s;   /* a connection that has not sent its request by then is closed */
    double idle_timeout_s;     /* a party's idle keep-alive connection, then closed */
    double report_ahead_max_s; /* a report time may be at most this far ahead of the clock */
    double report_age_max_s;   /* ... and at most this old */
} dd_config_t;

void dd_config_default(dd_config_t *cfg);

#define DD_CONFIG_FILE_MAX 1048576 /* bytes of a config file */
#define DD_CONFIG_LINE_MAX 2048    /* bytes of one of its lines, with the NUL */

/* Reads "key = value" lines (# comments) from path into cfg. Returns false with a sentence in
 * err naming the line and key (or the limit a file or line is over). */
bool dd_config_load(dd_config_t *cfg, const char *path, char *err, size_t len);

/* The same from text (text_len bytes, not NUL-terminated), name standing for the file in
 * messages. */
bool dd_config_parse(dd_config_t *cfg, const char *text, size_t text_len, const char *name,
                     char *err, size_t len);

/* Sets one key (as in the file) from text. */
bool dd_config_set(dd_config_t *cfg, const char *key, const char *value, char *err, size_t len);

struct dd_service;

/* One SBS-1 feed's client (feeds.c); counters read by /metrics without locks. */
typedef struct dd_feed {
    struct dd_service *svc;
    char host[256], party_name[64];
    int port;
    int64_t party;
    pthread_t thread;
    bool running;
    int stop, connected;
    uint64_t lines, bad_lines, states, connects;
    size_t aircraft;
} dd_feed_t;

/* Why position reports were refused, for /metrics. */
enum { DD_REFUSED_AHEAD, DD_REFUSED_OLD, DD_REFUSED_INVALID };

/* The whole service: one lock around the store and the engines (handlers are short; the
 * event streams wait on the condition variable without holding it). */
typedef struct dd_service {
    dd_config_t cfg;
    dc_store_claim_t *claim; /* this process serves the store (dc_store_claim) */
    pthread_mutex_t lock;
    pthread_cond_t events_cond; /* broadcast on every appended event and on shutdown */
    dc_store_t *store;
    /* Tokens are checked on a connection of their own, so authenticating a request never
     * waits for the service lock (parties change only through the CLI, another connection). */
    dc_store_t *auth_store;
    pthread_mutex_t auth_lock;
    /* GET /v1/history reads on a connection of its own too (WAL: readers never block the
     * writer), so a long read never holds the service lock. */
    dc_store_t *history_store;
    pthread_mutex_t history_lock;
    dc_strategic_t *strategic;
    dc_tactical_t *tactical;           /* every track, en-route/terminal minima */
    dc_tactical_t *tactical_high;      /* tracks near or above FL410, high minima */
    dc_tactical_config_t tactical_cfg; /* both engines' stale_s and expire_s */
    json_t *tracks;       /* "<party>/<track_id>" -> latest report (the owner's view) */
    json_t *pairs;        /* "<id1>|<id2>" -> nuisance-filter state of a tactical pair */
    json_t *refs;         /* operation ref -> {"id", "party"}: who owns what the engine reports */
    json_t *op_conflicts; /* operation id -> [conflict id]: what ends when it ends */
    json_t *op_states;    /* operation id -> {"party", "state"}, as committed */
    json_t *party_names;  /* "<party id>" -> name, filled on first need */
    json_t *conformance;  /* track -> {op id or "own:<op id>" -> {cid, party, ref}} */
    uint8_t audit_pk[32], audit_sk[64]; /* the service's Ed25519 key: signs the audit head */
    dd_feed_t feeds[DD_FEEDS_MAX];
    json_t *agreements;            /* agreement id -> {view, ids (name -> party), t0, t1, ...} */
    struct dd_agr_geom *agr_geoms; /* each agreement's ground as regions (agreements.c) */
    size_t n_agr_geoms, cap_agr_geoms;
    /* Per-party marks for the event streams (service.c dd_events_mark), under marks_mu. */
    pthread_mutex_t marks_mu;
    struct dd_party_mark {
        int64_t party;
        int64_t last_seq; /* its last event appended */
        bool suspended;   /* its side of the channel is suspended */
    } * marks;
    size_t n_marks, cap_marks;
    int64_t marks_floor; /* a party first seen has had no event after this seq */
    /* The event streams read the event log on a connection of their own. */
    dc_store_t *events_store;
    pthread_mutex_t events_lock;
    struct dd_streams *streams; /* the open event streams (http.c) */
    struct dd_access *access;   /* connections, rates, stream counts (access.c) */
    json_t *msg_pending;        /* message id -> ack deadline (s): unacknowledged, ack required */
    json_t *ack_pending;  /* conflict id -> {"<party>": ack deadline (s)}: alerts not yet acked */
    json_t *history_last; /* engine track id -> time (s) of its last history sample */
    double history_pruned_s;    /* samples before this time have been deleted */
    uint64_t history_errors;    /* samples that could not be stored (the reports were) */
    struct dd_console *console; /* the web console's files, or NULL when not installed */
    char conformance_next[64];  /* the track the next conformance slice starts at */
    /* group commit (commit.c): commits are numbered under lock, synced under sync_lock */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;   /* broadcast when a sync ends */
    uint64_t committed, synced; /* the last commit ticket made, and made durable */
    bool syncing;               /* a thread is in fdatasync */
    int64_t committed_seq;      /* the last event seq as of the last commit */
    int64_t durable_seq;        /* ... and as of the last sync: event streams read up to it */
    uint64_t syncs_total;
    pthread_t detect_thread;
    double period_s, hysteresis_s;
    int m_of_n;
    bool stopping;
    double started_s;
    /* metrics */
    uint64_t requests_by_class[6]; /* 1xx..5xx by first digit */
    uint64_t events_total;
    uint64_t positions_total, passes_total;
    uint64_t positions_refused[3]; /* by reason: DD_REFUSED_* */
    size_t live_tracks;
    double last_pass_ms;
    size_t open_conflicts;
} dd_service_t;

/* Opens the store, restores operations into the engine. false with a sentence in err. */
bool dd_service_open(dd_service_t *svc, const dd_config_t *cfg, char *err, size_t len);
void dd_service_close(dd_service_t *svc);

/* Starts the HTTP server on cfg's address; NULL with err on failure. */
struct MHD_Daemon *dd_http_start(dd_service_t *svc, char *err, size_t len);

/* Ends every event stream, stops the server, frees what dd_http_start made (d NULL: the server
 * never started). Call with svc->stopping set. */
void dd_http_stop(dd_service_t *svc, struct MHD_Daemon *d);

/* Prints "METHOD /path/{param}" per line: every route the server answers. */
void dd_http_print_routes(FILE *out);

double dd_now_s(void);

#endif
