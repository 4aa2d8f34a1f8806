/* deconflict — reading the small files an operator hands a program: certificates, keys and
 * tokens. A secret must be its owner's alone: one in a file others may read protects nothing, so
 * such a file is refused, naming it and the fix, rather than used. */
#ifndef DECONFLICT_SECRETFILE_H
#define DECONFLICT_SECRETFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest token dc_token_file_read() takes, and its buffer with the NUL. */
#define DC_TOKEN_FILE_MAX 127

/* The text of the regular file at path (1 byte to 1 MiB, NUL-terminated), never through a
 * symbolic link; with secret, a file the group or others may read is refused. NULL with a
 * sentence naming path in err (len bytes). The caller frees (and wipes a secret). */
char *dc_file_read_small(const char *path, bool secret, char *err, size_t len);

/* The token in the first line of the secret file at path: 16 to DC_TOKEN_FILE_MAX printable
 * characters, then the end of the file or of the line. Into out (DC_TOKEN_FILE_MAX + 1 bytes);
 * false with a sentence in err. What was read is wiped. */
bool dc_token_file_read(const char *path, char out[DC_TOKEN_FILE_MAX + 1], char *err, size_t len);

/* The same for a token given as text (a line read from standard input): false when text's first
 * line is not 16 to DC_TOKEN_FILE_MAX printable characters. */
bool dc_token_take_line(const char *text, char out[DC_TOKEN_FILE_MAX + 1]);

#endif
