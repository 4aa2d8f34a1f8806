/* deconflictd: ASTERIX feeds (asterix_feed.c), one thread per --feed asterix:udp:HOST:PORT:PARTY
 * receiving CAT021/CAT048/CAT062 datagrams (docs/feeds.md, "ASTERIX"). */
#ifndef DD_FEEDS_ASTERIX_FEED_H
#define DD_FEEDS_ASTERIX_FEED_H

#include <stdint.h>

/* The thread of one feed (a dd_feed_t of kind DD_FEED_ASTERIX, feeds/sbs_client.h). */
void *dd_asterix_feed_loop(void *feed);

/* The track number an ASTERIX source of party last gave the aircraft of track id (an ICAO
 * address, as the feeds name tracks), or 0 when none did: CAT004 alerts name tracks by it. */
int dd_asterix_track_number(int64_t party, const char *track_id);

#endif
