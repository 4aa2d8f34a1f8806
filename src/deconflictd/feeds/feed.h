/* deconflictd: one surveillance feed, whatever it reads (SBS-1 and Beast in sbs_client.c,
 * ASTERIX in asterix_feed.c): what its thread shares with the server's /metrics. */
#ifndef DD_FEEDS_FEED_H
#define DD_FEEDS_FEED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/state.h"

/* One feed's thread; the counters are read by /metrics without locks. lines counts SBS-1 lines,
 * Beast frames or ASTERIX datagrams, bad_lines the malformed ones, corrected the Beast frames
 * repaired of a single-bit CRC error (among lines, not bad_lines); connected is 1 while
 * connected (SBS-1, Beast) or listening (ASTERIX). */
typedef struct dd_feed {
    dd_service_t *svc;
    dd_feed_kind_t kind;
    char host[256], party_name[64];
    int port;
    int64_t party;
    pthread_t thread;
    bool running;
    int stop, connected;
    uint64_t lines, bad_lines, states, connects, corrected;
    size_t aircraft;
} dd_feed_t;

#endif
