/* deconflictd: the surveillance feeds (sbs_client.c), one thread per --feed -- a TCP client of
 * an SBS-1 or Beast source, or an ASTERIX receiver (asterix_feed.c) -- feeding the aircraft it
 * hears in as a party's tracks (docs/feeds.md). */
#ifndef DD_FEEDS_SBS_CLIENT_H
#define DD_FEEDS_SBS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/state.h"
#include "feeds/feed.h"

/* Starts one thread per feed of svc's configuration into feeds (DD_FEEDS_MAX of them); false
 * with err when a feed's party does not exist. */
bool dd_feeds_start(dd_service_t *svc, dd_feed_t *feeds, char *err, size_t len);
/* Stops and joins them. */
void dd_feeds_stop(dd_service_t *svc, dd_feed_t *feeds);

#endif
