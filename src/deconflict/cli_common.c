/* Flag parsing and line reading shared by the subcommands. */
#include "cli.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deconflict/store.h"

bool cli_parse_number(const char *flag, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        fprintf(stderr, "deconflict: %s: '%s' is not a number\n", flag, text);
        return false;
    }
    *out = v;
    return true;
}

int cli_parse_minima_flag(int argc, char **argv, int *i, dc_tactical_config_t *cfg)
{
    static const struct {
        const char *flag;
        size_t offset;
    } flags[] = {
        {"--rpz-nm", offsetof(dc_tactical_config_t, rpz_nm)},
        {"--hpz-ft", offsetof(dc_tactical_config_t, hpz_ft)},
        {"--lookahead-s", offsetof(dc_tactical_config_t, lookahead_s)},
        {"--stale-s", offsetof(dc_tactical_config_t, stale_s)},
        {"--vtol-ft", offsetof(dc_tactical_config_t, vtol_ft)},
    };
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(argv[*i], flags[k].flag) != 0) continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "deconflict: %s needs a value\n", flags[k].flag);
            return -1;
        }
        double *dst = (double *)((char *)cfg + flags[k].offset);
        if (!cli_parse_number(flags[k].flag, argv[*i + 1], dst)) return -1;
        *i += 1;
        return 1;
    }
    return 0;
}

bool cli_check_config(const dc_tactical_config_t *cfg)
{
    const char *field = NULL;
    if (dc_tactical_config_validate(cfg, &field) == DC_OK) return true;
    fprintf(stderr, "deconflict: invalid setting %s (see docs/tactical.md for the ranges)\n",
            field);
    return false;
}

bool cli_read_line(FILE *f, char **buf, size_t *cap)
{
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *p = realloc(*buf, nc);
            if (!p) return false;
            *buf = p;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n == 0) return false;
    (*buf)[n] = '\0';
    return true;
}

int cli_load_rows(const char *path, dc_trackcsv_format_t fmt, cli_row_t **rows, size_t *n_rows,
                  size_t *n_skipped)
{
    const char *header = fmt == DC_TRACKCSV_STATES
                             ? "id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm"
                             : "t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm";
    *rows = NULL;
    *n_rows = *n_skipped = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "deconflict: %s: cannot open: %s\n", path, strerror(errno));
        return CLI_EXIT_DATA;
    }
    char *line = NULL, msg[256];
    size_t cap = 0, cap_rows = 0;
    long lineno = 1;
    int rc = CLI_EXIT_OK;
    dc_trackcsv_format_t got;
    if (!cli_read_line(f, &line, &cap)) {
        fprintf(stderr, "deconflict: %s: empty file (want the header '%s')\n", path, header);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    if (dc_trackcsv_header(line, &got, msg, sizeof(msg)) != DC_OK || got != fmt) {
        fprintf(stderr, "deconflict: %s:1: header must be '%s'\n", path, header);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    while (cli_read_line(f, &line, &cap)) {
        lineno++;
        if (line[strspn(line, "\r\n")] == '\0') continue; /* blank line */
        if (*n_rows == cap_rows) {
            cap_rows = cap_rows ? cap_rows * 2 : 256;
            cli_row_t *p = realloc(*rows, cap_rows * sizeof(cli_row_t));
            if (!p) {
                fprintf(stderr, "deconflict: out of memory reading %s\n", path);
                rc = CLI_EXIT_INTERNAL;
                goto out;
            }
            *rows = p;
        }
        cli_row_t *r = &(*rows)[*n_rows];
        dc_err_t err = dc_trackcsv_row(fmt, line, &r->st, r->callsign, msg, sizeof(msg));
        if (err == DC_ERR_INCOMPLETE) {
            (*n_skipped)++;
            continue;
        }
        if (err != DC_OK) {
            fprintf(stderr, "deconflict: %s:%ld: %s\n", path, lineno, msg);
            rc = CLI_EXIT_DATA;
            goto out;
        }
        r->line = lineno, r->track_number = 0;
        (*n_rows)++;
    }
    if (ferror(f)) {
        fprintf(stderr, "deconflict: %s: read error\n", path);
        rc = CLI_EXIT_DATA;
    }
out:
    free(line);
    fclose(f);
    return rc;
}

bool cli_parse_time(const char *flag, const char *text, double *out)
{
    int y, mo, d, h, mi, s = 0, used = 0;
    if (strchr(text, '-') &&
        sscanf(text, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &used) == 5) {
        const char *rest = text + used;
        int more = 0;
        if (*rest == ':' && sscanf(rest, ":%2d%n", &s, &more) == 1) rest += more;
        if (*rest == 'Z') rest++;
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = s};
        if (*rest == '\0' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 &&
            s <= 60) {
            *out = (double)timegm(&tm);
            return true;
        }
        fprintf(stderr, "deconflict: %s: '%s' is not a UTC time like 2018-08-01T12:00:00Z\n", flag,
                text);
        return false;
    }
    char *end;
    double v = strtod(text, &end);
    if (end != text && !*end && isfinite(v)) return cli_parse_number(flag, text, out);
    fprintf(stderr,
            "deconflict: %s: '%s' is not a time: Unix seconds, or a UTC time like "
            "2018-08-01T12:00:00Z\n",
            flag, text);
    return false;
}

dc_store_t *cli_store_open(const char *prog, const char *dir, const char *url, bool create)
{
    char err[600];
    dc_store_t *st = url      ? dc_store_open_url(url, err, sizeof(err))
                     : create ? dc_store_open(dir, err, sizeof(err))
                              : dc_store_open_existing(dir, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "%s: %s\n", prog, err);
        if (!url && !create && strncmp(err, "no store ", 9) == 0)
            fprintf(stderr,
                    "%s: a mistyped --data? 'deconflict party add NAME --data %s' creates "
                    "a store there\n",
                    prog, dir);
        return NULL;
    }
    if (dc_store_notice(st)[0]) fprintf(stderr, "%s: %s\n", prog, dc_store_notice(st));
    return st;
}

FILE *cli_create_private(const char *prog, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, path,
                errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        if (fd >= 0) close(fd);
    }
    return f;
}

const char *cli_cacert = NULL;

void *cli_curl_new(void)
{
    CURL *c = curl_easy_init();
    if (c && cli_cacert) curl_easy_setopt(c, CURLOPT_CAINFO, cli_cacert);
    return c;
}
