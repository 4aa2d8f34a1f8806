/* deconflict — one interface over the stream readers of the TCP sources a dump1090/readsb-style
 * receiver serves: SBS-1 lines (port 30003, deconflict/sbs.h) and Beast frames (port 30005,
 * deconflict/beast.h). Both turn a connection's bytes into SBS messages for the same tracker,
 * so the daemon's feed threads and `deconflict feed` run one loop whatever the kind, each kind
 * behind a table of functions (lib/feeds/feedreader.c) instead of a test of the kind at every
 * call (docs/feeds.md). */
#ifndef DECONFLICT_FEEDREADER_H
#define DECONFLICT_FEEDREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"
#include "deconflict/sbs.h"

typedef enum dc_feed_kind {
    DC_FEED_SBS = 0,   /* SBS-1 BaseStation lines */
    DC_FEED_BEAST = 1, /* Beast binary frames */
} dc_feed_kind_t;

/* "sbs" or "beast"; NULL for a value that is no kind. */
const char *dc_feed_kind_name(dc_feed_kind_t kind);

/* The kind named by name ("sbs", "beast"); false when none is. */
bool dc_feed_kind_parse(const char *name, dc_feed_kind_t *kind);

/* A live connection's reader of one kind; its Beast frames are timed by the now_s given with
 * each read (the receiver's counter has no epoch). */
typedef struct dc_feed_reader dc_feed_reader_t;

/* NULL when out of memory or kind is no kind. Free with dc_feed_reader_free(). */
dc_feed_reader_t *dc_feed_reader_new(dc_feed_kind_t kind);
void dc_feed_reader_free(dc_feed_reader_t *r);

/* A new connection: what was left of the last one is dropped. */
void dc_feed_reader_reset(dc_feed_reader_t *r);

/* One read() of fd, now_s the time it was made (Unix seconds); fn is called for every message it
 * completes. DC_OK, or DC_ERR_IO when the source closed the connection or the read failed. */
dc_err_t dc_feed_reader_read(dc_feed_reader_t *r, int fd, double now_s,
                             void (*fn)(const dc_sbs_msg_t *m, void *ctx), void *ctx);

/* What a reader has read, in the units of its kind (lines, or frames). */
typedef struct dc_feed_counts {
    uint64_t units, bad; /* read, of which malformed (counted and skipped) */
    uint64_t corrected;  /* of the units, damaged but repaired, not among bad (Beast: DF17/18
                          * frames with a single-bit CRC error; SBS-1: none) */
    double latest_msg_s; /* the latest message time: the clock to expire a tracker on */
} dc_feed_counts_t;

void dc_feed_reader_counts(const dc_feed_reader_t *r, dc_feed_counts_t *counts);

#endif
