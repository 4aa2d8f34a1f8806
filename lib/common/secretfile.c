/* Small files holding secrets: see include/deconflict/secretfile.h. */
#include "deconflict/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *dc_file_read_small(const char *path, bool secret, char *err, size_t len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, len, "%.300s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1 << 20) ||
        (secret && (st.st_mode & 077))) {
        snprintf(err, len, "%.300s: %s", path,
                 secret && (st.st_mode & 077) ? "a secret others may read (chmod 600)"
                                              : "not a regular file of 1 byte to 1 MiB");
        close(fd);
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t n = text ? read(fd, text, (size_t)st.st_size) : -1;
    close(fd);
    if (n != st.st_size) {
        snprintf(err, len, "%.300s: cannot be read", path);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

bool dc_token_take_line(const char *text, char out[DC_TOKEN_FILE_MAX + 1])
{
    size_t k = 0;
    while (k <= DC_TOKEN_FILE_MAX && text[k] > ' ' && text[k] < 127) k++;
    if (k < 16 || k > DC_TOKEN_FILE_MAX ||
        (text[k] && text[k] != '\n' && !(text[k] == '\r' && (!text[k + 1] || text[k + 1] == '\n'))))
        return false;
    memcpy(out, text, k);
    out[k] = '\0';
    return true;
}

bool dc_token_file_read(const char *path, char out[DC_TOKEN_FILE_MAX + 1], char *err, size_t len)
{
    char *text = dc_file_read_small(path, true, err, len);
    if (!text) return false;
    bool ok = dc_token_take_line(text, out);
    if (!ok)
        snprintf(err, len, "%.300s: its first line must be a token of 16-%d printable characters",
                 path, DC_TOKEN_FILE_MAX);
    sodium_memzero(text, strlen(text));
    free(text);
    return ok;
}
