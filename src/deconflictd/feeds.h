/* deconflictd: SBS-1 surveillance feeds (feeds.c), one client thread per --feed. */
#ifndef DC_DAEMON_FEEDS_H
#define DC_DAEMON_FEEDS_H

#include "daemon.h"

/* Starts one thread per configured feed; false with err when a feed's party does not exist. */
bool dd_feeds_start(dd_service_t *svc, dd_feed_t *feeds, char *err, size_t len);
/* Stops and joins them. */
void dd_feeds_stop(dd_service_t *svc, dd_feed_t *feeds);

#endif
