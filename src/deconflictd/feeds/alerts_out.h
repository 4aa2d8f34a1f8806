/* deconflictd: alerts out as ASTERIX CAT004 safety-net messages over UDP (alerts_out.c), one
 * sender thread per --alerts-asterix udp:HOST:PORT[:PARTY] (docs/feeds.md, "ASTERIX"). */
#ifndef DD_FEEDS_ALERTS_OUT_H
#define DD_FEEDS_ALERTS_OUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/state.h"

/* One sender; the counters are read by /metrics without locks: CAT004 messages and datagrams
 * sent, and sends that failed. */
typedef struct dd_alert_out {
    dd_service_t *svc;
    char host[256], party_name[64];
    int port;
    int64_t party;                      /* 0: every party's alerts (PARTY '*') */
    struct sockaddr_storage to_storage; /* HOST:PORT, resolved at start */
    struct sockaddr *to;
    socklen_t to_len;
    pthread_t thread;
    bool running;
    int stop;
    uint64_t messages, datagrams, send_errors;
} dd_alert_out_t;

/* Starts one thread per --alerts-asterix of svc's configuration (DD_FEEDS_MAX of them); false
 * with err when a named party does not exist or HOST:PORT does not resolve. */
bool dd_alert_outs_start(dd_service_t *svc, dd_alert_out_t *outs, char *err, size_t len);
/* Stops and joins them. */
void dd_alert_outs_stop(dd_service_t *svc, dd_alert_out_t *outs);

#endif
