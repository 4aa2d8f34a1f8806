/* deconflictd's settings, one struct read by every layer (the domain reads its own, the server
 * its own); filled by config.c from defaults, a "key = value" file and flags. */
#ifndef DD_CORE_CONFIG_H
#define DD_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "deconflict/asterix.h"

/* Separation minima by airspace: the profile of a pair is `high` when either aircraft is above
 * high_above_ft, else `terminal` when both are inside one terminal area, else `enroute`. */
typedef struct dd_minima {
    double h_nm, v_ft;
} dd_minima_t;

#define DD_TERMINAL_AREAS_MAX 32
#define DD_FEEDS_MAX          8

/* What a --feed reads (feeds/). */
typedef enum dd_feed_kind {
    DD_FEED_SBS = 0,     /* sbs:HOST:PORT:PARTY, a TCP client of an SBS-1 server */
    DD_FEED_ASTERIX = 1, /* asterix:udp:HOST:PORT:PARTY, ASTERIX datagrams received */
    DD_FEED_BEAST = 2,   /* beast:HOST:PORT:PARTY, a TCP client of a Beast server (port 30005) */
} dd_feed_kind_t;

typedef struct dd_config {
    char data_dir[1024];  /* the SQLite store's directory ... */
    char store_url[1024]; /* ... unless a PostgreSQL store is named here (nodes share it) */
    char listen_host[256];
    int listen_port;
    size_t max_body_bytes;    /* request bodies above this get 413 */
    size_t max_streams_party; /* open /v1/events streams per party; more get 429 */
    double keepalive_s;       /* SSE comment line when no event for this long */
    bool quiet;               /* no per-request log lines */
    bool init_store;          /* --init: create the SQLite store when data_dir holds none */
    /* /metrics: to loopback clients only (the default), or to any; and, with a token file, to
     * the bearer of the token it holds only (read at start: main.c). */
    bool metrics_any;
    /* TLS: the certificate chain and private key files (PEM), both or neither; their text, read
     * at start (main.c), is what the server is given. */
    char tls_cert_file[1024], tls_key_file[1024];
    char *tls_cert_pem, *tls_key_pem;
    char metrics_token_file[1024];
    char metrics_token[128];
    double period_s;       /* tactical detection period (default 1) */
    int m_of_n;            /* a warning is confirmed in this many of the last 3 updates (2) */
    double hysteresis_s;   /* a level comes down after clear for this long (default 20) */
    double warning_s;      /* a predicted loss within this is a warning (default 90) */
    double alt_step_ft;    /* the altitude resolution of the surveillance fed (25) */
    double conformance_s;  /* each track checked against operations once per this (5) */
    double conflict_ack_s; /* each party acknowledges a conflict within this (120) */
    dd_minima_t enroute, terminal, high; /* 5/1000, 3/1000, 5/2000 */
    double high_above_ft;                /* FL410: 41000 */
    struct {
        double lat_deg, lon_deg, radius_nm;
    } terminal_areas[DD_TERMINAL_AREAS_MAX];
    size_t n_terminal_areas;
    struct {
        dd_feed_kind_t kind;
        char host[256], party[64];
        int port;
    } feeds[DD_FEEDS_MAX]; /* surveillance sources, each fed in as party's tracks */
    size_t n_feeds;
    struct {
        char host[256], party[64]; /* party "": every party's alerts */
        int port;
    } alert_outs[DD_FEEDS_MAX]; /* --alerts-asterix: CAT004 safety-net messages to UDP */
    size_t n_alert_outs;
    int cat004_sac, cat004_sic;  /* the service's own ASTERIX data source identifier (0/0) */
    dc_asterix_config_t asterix; /* CAT021 edition and radar sites of ASTERIX feeds */
    double rate_rps;             /* per-party request rate (token bucket; 0: unlimited) */
    double rate_burst;           /* and its burst */
    double history_s;            /* a track's history gets a sample at most this often (0: none) */
    double history_keep_s;       /* and keeps samples this long (the console's time slider) */
    char console_dir[1024];      /* the web console's built files ("": from beside the binary) */
    bool require_signatures;     /* every party's writes must be signed (signatures = required) */
    size_t http_threads;    /* the server's threads, each an epoll loop over many connections */
    size_t max_connections; /* held at once; unproven ones give way beyond (access.h) */
    size_t max_unproven_per_address; /* unauthenticated connections one address may hold */
    double header_timeout_s;   /* a connection that has not sent its request by then is closed */
    double idle_timeout_s;     /* a party's idle keep-alive connection, then closed */
    double report_ahead_max_s; /* a report time may be at most this far ahead of the clock */
    double report_age_max_s;   /* ... and at most this old */
    char node[64];             /* this node's name among several on one store ("": made up) */
    double leader_lease_s;     /* a leader that has not renewed for this long is replaced */
} dd_config_t;

#endif
