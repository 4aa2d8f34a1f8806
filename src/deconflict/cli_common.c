/* Flag parsing and line reading shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
