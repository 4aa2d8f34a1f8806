/* `deconflict replay` and ASTERIX (replay_asterix.c): recordings in, CAT004 alerts out. */
#ifndef DC_CLI_REPLAY_ASTERIX_H
#define DC_CLI_REPLAY_ASTERIX_H

#include <stdbool.h>

#include "cli.h"
#include "deconflict/alerting.h"
#include "deconflict/asterix.h"

/* Reads an ASTERIX recording into rows: the records merged into aircraft as the feeds merge
 * them (dc_asterix_to_messages, the SBS tracker), each completed state a row carrying its
 * source's track number. A raw recording's times of day are placed on the UTC day date_s (NAN:
 * the day the file was last modified); a capture's, on its packets' own time. Malformed
 * datagrams are skipped and counted in *n_bad (the first five are printed). A CLI exit code;
 * *rows is the caller's to free. */
int cli_load_asterix(const char *path, const dc_asterix_config_t *cfg, double date_s,
                     cli_row_t **rows, size_t *n_rows, size_t *n_bad);

/* --cat004 FILE: the replay's alerts as CAT004 (1.12) messages from SAC/SIC sac/sic. */
typedef struct cli_cat004 cli_cat004_t;

/* Creates path (pcap when it ends in .pcap) for the aircraft of rows (sorted by time: their
 * track numbers are the source's, else numbered in order of appearance). NULL on failure. */
cli_cat004_t *cli_cat004_open(const char *path, int sac, int sic, const cli_row_t *rows,
                              size_t n_rows);

/* One pass: an alive message, then an STCA message (type 7) for every pair alerted at a level
 * above none -- its alert number held for the pair's episode, the level as the alert status and
 * conflict class, the two track numbers and callsigns, the predicted time to conflict, time and
 * separation at closest approach -- and an end-of-conflict message (type 2) for every pair whose
 * episode ended. One data block per pass (more when it exceeds a datagram). */
bool cli_cat004_pass(cli_cat004_t *w, double now_s, const dc_alerting_t *al,
                     const char *(*callsign_of)(const char *id, void *ctx), void *ctx);

/* Closes the file (NULL: nothing to do), printing what was written. A CLI exit code. */
int cli_cat004_close(cli_cat004_t *w, const char *path);

#endif
