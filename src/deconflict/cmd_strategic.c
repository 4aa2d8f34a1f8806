/* deconflict strategic OPS.json — every conflicting pair of operations of different parties.
 *
 * Files the operations of a JSON array, in order, into one strategic engine and prints one CSV
 * line per conflicting pair: op1,op2,alt_overlap_m,time_overlap_s,area_m2 with op1 < op2 (byte
 * order), sorted. When two operations conflict through several pairs of volumes, each figure is
 * the largest over those pairs. alt_overlap_m is the height of the conflict's altitude band:
 * for a pair flagged by the FL/W84 assumption, of the band within which the two may overlap
 * (docs/strategic.md), never negative. Operations whose state is ended or cancelled take no part.
 * Invalid input exits 2 with the operation, volume and field named. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "deconflict/strategic.h"

#define OPS_FILE_MAX_BYTES (512u << 20)
#define OPS_MAX            2000000

typedef struct pair_row {
    char op1[DC_STRATEGIC_ID_MAX], op2[DC_STRATEGIC_ID_MAX];
    double alt_m, time_s, area_m2;
} pair_row_t;

static int cmp_row(const void *pa, const void *pb)
{
    const pair_row_t *a = pa, *b = pb;
    int c = strcmp(a->op1, b->op1);
    return c ? c : strcmp(a->op2, b->op2);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "deconflict strategic: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= OPS_FILE_MAX_BYTES) {
                fprintf(stderr, "deconflict strategic: %s: larger than %u MiB\n", path,
                        OPS_FILE_MAX_BYTES >> 20);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (buf && ferror(f)) {
        fprintf(stderr, "deconflict strategic: %s: read error\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void print_error(const char *path, const dc_strategic_error_t *err)
{
    fprintf(stderr, "deconflict strategic: %s", path);
    const char *sep = ": ";
    if (err->op_index >= 0) fprintf(stderr, "%soperation %ld", sep, err->op_index), sep = " ";
    if (err->op_id[0]) fprintf(stderr, "%s('%s')", sep, err->op_id), sep = " ";
    if (err->volume_index >= 0) fprintf(stderr, "%svolume %ld", sep, err->volume_index), sep = " ";
    if (err->field[0]) fprintf(stderr, "%sfield %s", sep, err->field);
    fprintf(stderr, ": %s\n", err->message);
}

static void usage(void)
{
    fputs("usage: deconflict strategic OPS.json [--same-party] [--fl-margin-m M]\n", stderr);
}

int cli_strategic(int argc, char **argv)
{
    const char *path = NULL;
    dc_strategic_config_t cfg;
    dc_strategic_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--same-party") == 0) {
            cfg.include_same_party = true;
        } else if (strcmp(argv[i], "--fl-margin-m") == 0) {
            if (i + 1 >= argc || !cli_parse_number(argv[i], argv[i + 1], &cfg.fl_w84_margin_m)) {
                usage();
                return CLI_EXIT_USAGE;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "deconflict strategic: unknown option '%s'\n", argv[i]);
            usage();
            return CLI_EXIT_USAGE;
        } else if (!path) {
            path = argv[i];
        } else {
            usage();
            return CLI_EXIT_USAGE;
        }
    }
    const char *bad_field;
    if (!path) {
        usage();
        return CLI_EXIT_USAGE;
    }
    if (dc_strategic_config_validate(&cfg, &bad_field) != DC_OK) {
        fprintf(stderr, "deconflict strategic: invalid %s\n", bad_field);
        return CLI_EXIT_USAGE;
    }

    size_t len;
    char *text = read_file(path, &len);
    if (!text) return CLI_EXIT_USAGE;
    dc_operation_t *ops;
    size_t n_ops;
    dc_strategic_error_t err;
    dc_err_t rc = dc_operation_list_parse_json(text, len, OPS_MAX, &ops, &n_ops, &err);
    free(text);
    if (rc == DC_ERR_NOMEM) {
        fputs("deconflict strategic: out of memory\n", stderr);
        return CLI_EXIT_INTERNAL;
    }
    if (rc != DC_OK) {
        print_error(path, &err);
        return CLI_EXIT_USAGE;
    }

    int exit_code = CLI_EXIT_OK;
    dc_strategic_t *eng = dc_strategic_new(&cfg);
    pair_row_t *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
    if (!eng) goto oom;
    for (size_t i = 0; i < n_ops; i++) {
        dc_operation_t *op = &ops[i];
        if (!dc_op_state_is_live(op->state)) continue;
        memcpy(op->ref, op->id, sizeof(op->ref)); /* conflicts name the other op by its id */
        dc_strategic_result_t res;
        rc = dc_strategic_file(eng, op, &res);
        if (rc == DC_ERR_NOMEM) goto oom;
        if (rc != DC_OK) {
            fprintf(stderr, "deconflict strategic: %s: operation %zu ('%s'): %s\n", path, i, op->id,
                    dc_strerror(rc));
            exit_code = CLI_EXIT_USAGE;
            goto out;
        }
        for (size_t k = 0; k < res.n_conflicts; k++) {
            const dc_strategic_conflict_t *c = &res.conflicts[k];
            const char *a = op->id, *b = c->other_ref;
            if (strcmp(a, b) > 0) a = c->other_ref, b = op->id;
            pair_row_t row = {.alt_m = c->alt_upper_m - c->alt_lower_m,
                              .time_s = c->t_end_s - c->t_start_s,
                              .area_m2 = c->area_m2};
            memcpy(row.op1, a, sizeof(row.op1));
            memcpy(row.op2, b, sizeof(row.op2));
            if (n_rows == cap_rows) {
                cap_rows = cap_rows ? cap_rows * 2 : 64;
                pair_row_t *nr = realloc(rows, cap_rows * sizeof(*rows));
                if (!nr) {
                    dc_strategic_result_clear(&res);
                    goto oom;
                }
                rows = nr;
            }
            rows[n_rows++] = row;
        }
        dc_strategic_result_clear(&res);
    }
    /* Merge the rows of one pair that came from different volumes (sorted, then folded). */
    if (n_rows > 1) qsort(rows, n_rows, sizeof(*rows), cmp_row);
    printf("op1,op2,alt_overlap_m,time_overlap_s,area_m2\n");
    for (size_t i = 0; i < n_rows;) {
        pair_row_t r = rows[i++];
        while (i < n_rows && cmp_row(&rows[i], &r) == 0) {
            if (rows[i].alt_m > r.alt_m) r.alt_m = rows[i].alt_m;
            if (rows[i].time_s > r.time_s) r.time_s = rows[i].time_s;
            if (rows[i].area_m2 > r.area_m2) r.area_m2 = rows[i].area_m2;
            i++;
        }
        printf("%s,%s,%.3f,%.3f,%.4f\n", r.op1, r.op2, r.alt_m, r.time_s, r.area_m2);
    }
    goto out;
oom:
    fputs("deconflict strategic: out of memory\n", stderr);
    exit_code = CLI_EXIT_INTERNAL;
out:
    free(rows);
    dc_strategic_free(eng);
    dc_operation_list_free(ops, n_ops);
    return exit_code;
}
