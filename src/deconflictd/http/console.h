/* The duty officer's web console (docs/console.md): its built files, read into memory once at
 * start and served at / with their caching headers. Only the files found at start are ever
 * served, so no request path reaches the file system. */
#ifndef DD_CONSOLE_H
#define DD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dd_console dd_console_t;

typedef struct dd_console_file {
    char path[256];   /* as requested: "/index.html", "/assets/app-3F2A1B9C.js" */
    const char *type; /* Content-Type */
    bool immutable;   /* under /assets/: content-hashed names, cached for a year */
    char etag[36];    /* "\"<32 hex digits>\"": BLAKE2b-128 of the content */
    unsigned char *data;
    size_t len;
} dd_console_file_t;

/* Reads every regular file under dir (at most DD_CONSOLE_FILES_MAX files and
 * DD_CONSOLE_BYTES_MAX bytes, 4 levels deep). NULL with a sentence in err when dir has no
 * index.html or a limit is passed. */
#define DD_CONSOLE_FILES_MAX 512
#define DD_CONSOLE_BYTES_MAX (64u << 20)
dd_console_t *dd_console_load(const char *dir, char *err, size_t len);

/* The file for a request path ("/" is "/index.html"), or NULL. */
const dd_console_file_t *dd_console_find(const dd_console_t *c, const char *path);

size_t dd_console_count(const dd_console_t *c);
size_t dd_console_bytes(const dd_console_t *c);
void dd_console_free(dd_console_t *c);

#endif
