/* The web console's files in memory (console.h). */
#include "http/console.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dd_console {
    dd_console_file_t files[DD_CONSOLE_FILES_MAX];
    size_t n, bytes;
};

static const char *type_of(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".woff2", "font/woff2"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

static bool add_file(dd_console_t *c, const char *fs_path, const char *url, char *err, size_t len)
{
    if (c->n == DD_CONSOLE_FILES_MAX) {
        snprintf(err, len, "more than %d files", DD_CONSOLE_FILES_MAX);
        return false;
    }
    FILE *f = fopen(fs_path, "rb");
    if (!f) {
        snprintf(err, len, "cannot read %.300s: %s", fs_path, strerror(errno));
        return false;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0 ||
        c->bytes + (size_t)sb.st_size > DD_CONSOLE_BYTES_MAX) {
        fclose(f);
        snprintf(err, len, "%.300s: over the %u bytes all files may hold", fs_path,
                 DD_CONSOLE_BYTES_MAX);
        return false;
    }
    dd_console_file_t *file = &c->files[c->n];
    file->len = (size_t)sb.st_size;
    file->data = malloc(file->len ? file->len : 1);
    bool ok = file->data && fread(file->data, 1, file->len, f) == file->len;
    fclose(f);
    if (!ok) {
        free(file->data);
        snprintf(err, len, "cannot read %.300s", fs_path);
        return false;
    }
    snprintf(file->path, sizeof(file->path), "%s", url);
    file->type = type_of(url);
    file->immutable = strncmp(url, "/assets/", 8) == 0;
    unsigned char h[16];
    crypto_generichash(h, sizeof(h), file->data, file->len, NULL, 0);
    file->etag[0] = '"';
    sodium_bin2hex(file->etag + 1, 33, h, sizeof(h));
    file->etag[33] = '"';
    file->etag[34] = '\0';
    c->bytes += file->len;
    c->n++;
    return true;
}

static bool walk(dd_console_t *c, const char *dir, const char *url, int depth, char *err,
                 size_t len)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, len, "cannot open %.300s: %s", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", and hidden files are never served */
        char fs_path[2048], sub[256];
        struct stat sb;
        int n1 = snprintf(fs_path, sizeof(fs_path), "%s/%s", dir, e->d_name);
        int n2 = snprintf(sub, sizeof(sub), "%s/%s", url, e->d_name);
        if (n1 < 0 || (size_t)n1 >= sizeof(fs_path) || n2 < 0 || (size_t)n2 >= sizeof(sub)) {
            snprintf(err, len, "%.200s/%.200s: path too long", dir, e->d_name);
            ok = false;
        } else if (stat(fs_path, &sb) != 0) {
            continue;
        } else if (S_ISDIR(sb.st_mode) && depth < 4) {
            ok = walk(c, fs_path, sub, depth + 1, err, len);
        } else if (S_ISREG(sb.st_mode)) {
            ok = add_file(c, fs_path, sub, err, len);
        }
    }
    closedir(d);
    return ok;
}

dd_console_t *dd_console_load(const char *dir, char *err, size_t len)
{
    dd_console_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    char msg[512];
    if (!walk(c, dir, "", 0, msg, sizeof(msg))) {
        snprintf(err, len, "web console in %.300s: %.400s", dir, msg);
        dd_console_free(c);
        return NULL;
    }
    if (!dd_console_find(c, "/")) {
        snprintf(err, len, "web console in %.300s: no index.html", dir);
        dd_console_free(c);
        return NULL;
    }
    return c;
}

const dd_console_file_t *dd_console_find(const dd_console_t *c, const char *path)
{
    if (!c) return NULL;
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->files[i].path, path) == 0) return &c->files[i];
    return NULL;
}

size_t dd_console_count(const dd_console_t *c)
{
    return c ? c->n : 0;
}

size_t dd_console_bytes(const dd_console_t *c)
{
    return c ? c->bytes : 0;
}

void dd_console_free(dd_console_t *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->files[i].data);
    free(c);
}
