/* deconflictd's configuration: defaults, the "key = value" file, the same keys from flags
 * (config.c). The struct is the domain's (core/config.h). */
#ifndef DD_CONFIG_H
#define DD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

void dd_config_default(dd_config_t *cfg);

#define DD_CONFIG_FILE_MAX 1048576 /* bytes of a config file */
#define DD_CONFIG_LINE_MAX 2048    /* bytes of one of its lines, with the NUL */

/* Reads "key = value" lines (# comments) from path into cfg. Returns false with a sentence in
 * err naming the line and key (or the limit a file or line is over). */
bool dd_config_load(dd_config_t *cfg, const char *path, char *err, size_t len);

/* The same from text (text_len bytes, not NUL-terminated), name standing for the file in
 * messages. */
bool dd_config_parse(dd_config_t *cfg, const char *text, size_t text_len, const char *name,
                     char *err, size_t len);

/* Sets one key (as in the file) from text; false with a sentence naming the key and what it
 * accepts. */
bool dd_config_set(dd_config_t *cfg, const char *key, const char *value, char *err, size_t len);

#endif
