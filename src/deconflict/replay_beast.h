/* `deconflict replay` and `deconflict feed` reading Beast captures (replay_beast.c). */
#ifndef DC_CLI_REPLAY_BEAST_H
#define DC_CLI_REPLAY_BEAST_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* True when path starts like a Beast capture (0x1a, then '1', '2' or '3'), whatever its name. */
bool cli_is_beast(const char *path);

/* Reads a Beast capture into rows: its frames decoded (deconflict/beast.h) and merged into
 * aircraft as the feeds merge them (the SBS tracker), each completed state a row. A frame's
 * time is t0_s plus the 12 MHz counter's advance since the first frame; t0_s NAN puts the last
 * frame at the file's modification time, as a recorder last writes when the capture ends.
 * Refused frames (bad framing, CRC, values out of range) are counted in *n_bad. A CLI exit code;
 * *rows is the caller's to free. */
int cli_load_beast(const char *path, double t0_s, cli_row_t **rows, size_t *n_rows, size_t *n_bad);

#endif
