/* deconflictd: who may hold what of the server -- connections, request rate, event streams.
 *
 * Connections: the server holds at most max_connections. One that has not yet carried an
 * authenticated request is "unproven": it costs the service a socket and nothing else, so it
 * is what gives way. A client address holds at most max_unproven_per_address unproven
 * connections; a new one past that, or past the total, evicts the oldest unproven one (of that
 * address first), shutting its socket down. Proven connections (a party's) are never evicted,
 * so parties keep being served while strangers hold thousands of idle sockets; only when every
 * held connection is proven is a new one refused.
 *
 * Parties: a token bucket per party (rate_rps, burst) and a count of open event streams, in a
 * table that grows with the parties (no fixed number of them).
 *
 * Thread-safe: every call takes the module's own mutex, never the service's lock. */
#ifndef DC_DAEMON_ACCESS_H
#define DC_DAEMON_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct dd_access_config {
    size_t max_connections;          /* held at once; beyond, unproven ones give way */
    size_t max_unproven_per_address; /* unproven connections one address may hold */
    double rate_rps, rate_burst;     /* per party; rate_rps 0: unlimited */
    size_t max_streams_party;        /* open event streams per party */
} dd_access_config_t;

typedef struct dd_access dd_access_t;
typedef struct dd_conn dd_conn_t;

typedef struct dd_access_stats {
    size_t connections, unproven;
    uint64_t evicted, refused; /* totals since start */
} dd_access_stats_t;

/* NULL on out of memory. Free with dd_access_free (NULL: no-op). */
dd_access_t *dd_access_new(const dd_access_config_t *cfg);
void dd_access_free(dd_access_t *a);

/* The accept policy: whether a new connection from addr may be held, evicting an unproven one
 * to make room when needed. */
bool dd_access_admit(dd_access_t *a, const struct sockaddr *addr, socklen_t len);

/* A connection the server now holds (socket fd, client addr), and its end. The record is the
 * caller's handle until dd_access_closed(), which must come before the socket is closed. */
dd_conn_t *dd_access_opened(dd_access_t *a, int fd, const struct sockaddr *addr, double now_s);
void dd_access_closed(dd_access_t *a, dd_conn_t *c);

/* The connection carried an authenticated request: it is never evicted from now on. */
void dd_access_proven(dd_access_t *a, dd_conn_t *c);

/* Takes one request from party's bucket at now_s; false (and the wait in *retry_s) when the
 * party is over its rate. */
bool dd_access_rate(dd_access_t *a, int64_t party, double now_s, double *retry_s);

/* An event stream of party opens (false: it has max_streams_party already) or closes. */
bool dd_access_stream_open(dd_access_t *a, int64_t party);
void dd_access_stream_close(dd_access_t *a, int64_t party);

void dd_access_stats(dd_access_t *a, dd_access_stats_t *out);

#endif
