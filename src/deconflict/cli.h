/* Shared pieces of the deconflict command-line tool. */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "deconflict/tactical.h"
#include "deconflict/trackcsv.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_DATA = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERNAL = 3 };

int cli_detect(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_strategic(int argc, char **argv);
int cli_party(int argc, char **argv);
int cli_feed(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_key(int argc, char **argv);
int cli_asterix(int argc, char **argv);

/* --cacert FILE, taken out of the arguments by main.c: the CA certificates (PEM) an HTTPS
 * service is verified against instead of the system's (a service with its own CA). NULL when
 * not given. */
extern const char *cli_cacert;
/* A new libcurl handle for the CLI's HTTP clients, verifying HTTPS against cli_cacert when
 * given; NULL when libcurl fails. */
void *cli_curl_new(void);

/* Parses a flag value as a finite number; prints an error naming the flag and returns false if
 * it is not one. */
bool cli_parse_number(const char *flag, const char *text, double *out);

/* If argv[*i] is one of the minima flags (--rpz-nm, --hpz-ft, --lookahead-s, --stale-s,
 * --vtol-ft), consumes it and its value into cfg, advancing *i, and returns 1; returns 0 if the
 * flag is not one of them, -1 on a bad or missing value (after printing why). */
int cli_parse_minima_flag(int argc, char **argv, int *i, dc_tactical_config_t *cfg);

/* Parses a flag value as Unix seconds or a UTC time like 2018-08-01T12:00:00Z; prints an error
 * naming the flag and returns false otherwise. */
bool cli_parse_time(const char *flag, const char *text, double *out);

typedef struct dc_asterix_config dc_asterix_config_t;
/* If argv[*i] is --cat021-edition or --radar, consumes it and its value into cfg (advancing *i)
 * and returns 1; 0 for another flag; -1 on a bad or missing value, after printing why. */
int cli_asterix_flag(int argc, char **argv, int *i, dc_asterix_config_t *cfg);
typedef struct dc_asterix_block dc_asterix_block_t;
/* Creates path for ASTERIX output: a libpcap file of UDP datagrams when it ends in .pcap
 * (*pcap set), else raw data blocks back to back. NULL, after a message naming prog, on failure. */
FILE *cli_asterix_create(const char *prog, const char *path, bool *pcap);
/* Writes blk to out: raw, or as one datagram stamped t_s (Unix seconds). */
void cli_asterix_write_block(FILE *out, bool pcap, const dc_asterix_block_t *blk, double t_s);

/* Validates cfg and prints the offending flag if invalid. */
bool cli_check_config(const dc_tactical_config_t *cfg);

/* One data row of a track CSV file, with the line it came from. */
typedef struct cli_row {
    dc_track_state_t st;
    char callsign[DC_CALLSIGN_MAX]; /* "" for the states format or when unknown */
    long line;
    int track_number; /* the source's own track number (ASTERIX), 0 when it has none */
} cli_row_t;

/* Loads every data row of path, whose header must be of format fmt. Blank lines are ignored;
 * rows the reader calls incomplete (unknown fields in recorded traffic) are skipped and counted
 * in *n_skipped; the first invalid row fails with its line and field printed. Returns a CLI exit
 * code; *rows is the caller's to free, on failure too. */
int cli_load_rows(const char *path, dc_trackcsv_format_t fmt, cli_row_t **rows, size_t *n_rows,
                  size_t *n_skipped);

typedef struct dc_store dc_store_t;

/* Opens the store for command prog -- the PostgreSQL one at url when given (--store), else the
 * SQLite one in dir (--data), created there only when create is set (party add; any other
 * command refuses a directory without a store and says how to make one) -- printing what opening
 * it had to tighten (the data directory's or files' modes) and, on failure, why. NULL on
 * failure. */
dc_store_t *cli_store_open(const char *prog, const char *dir, const char *url, bool create);

/* Creates (or truncates) the file at path for writing secrets: mode 0600 whatever the umask,
 * tightened if it existed with a wider one, never through a symbolic link. NULL (and a message
 * naming prog) on failure. */
FILE *cli_create_private(const char *prog, const char *path);

/* Reads one line (any length) into *buf, growing it; returns false at end of file. Lines longer
 * than the caller's limit are the caller's to reject. */
bool cli_read_line(FILE *f, char **buf, size_t *cap);

#endif
