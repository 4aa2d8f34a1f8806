/* deconflictd: SBS-1 surveillance feeds (sbs_client.c), one client thread per --feed, feeding
 * the aircraft it hears in as a party's tracks (docs/feeds.md). */
#ifndef DD_FEEDS_SBS_CLIENT_H
#define DD_FEEDS_SBS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/state.h"

/* One SBS-1 feed's client; the counters are read by /metrics without locks. */
typedef struct dd_feed {
    dd_service_t *svc;
    char host[256], party_name[64];
    int port;
    int64_t party;
    pthread_t thread;
    bool running;
    int stop, connected;
    uint64_t lines, bad_lines, states, connects;
    size_t aircraft;
} dd_feed_t;

/* Starts one thread per feed of svc's configuration into feeds (DD_FEEDS_MAX of them); false
 * with err when a feed's party does not exist. */
bool dd_feeds_start(dd_service_t *svc, dd_feed_t *feeds, char *err, size_t len);
/* Stops and joins them. */
void dd_feeds_stop(dd_service_t *svc, dd_feed_t *feeds);

#endif
