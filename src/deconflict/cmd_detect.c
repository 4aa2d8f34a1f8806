/* `deconflict detect`: conflicts among aircraft states given at one instant. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int row_id_cmp(const void *a, const void *b)
{
    const cli_row_t *x = a, *y = b;
    int c = strcmp(x->st.id, y->st.id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

int cli_detect(int argc, char **argv)
{
    dc_tactical_config_t cfg;
    dc_tactical_config_default(&cfg);
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_parse_minima_flag(argc, argv, &i, &cfg);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "deconflict detect: unknown option '%s'\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (path) {
            fprintf(stderr, "deconflict detect: one input file only\n");
            return CLI_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: deconflict detect STATES.csv [--rpz-nm R] [--hpz-ft H] "
                        "[--lookahead-s T]\n");
        return CLI_EXIT_USAGE;
    }
    if (!cli_check_config(&cfg)) return CLI_EXIT_USAGE;

    cli_row_t *rows = NULL;
    size_t n = 0, n_skipped = 0;
    int rc = cli_load_rows(path, DC_TRACKCSV_STATES, &rows, &n, &n_skipped);
    if (rc != CLI_EXIT_OK) {
        free(rows);
        return rc;
    }
    /* The same aircraft twice at one instant is contradictory input: name both lines. */
    if (n > 1) qsort(rows, n, sizeof(cli_row_t), row_id_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(rows[i].st.id, rows[i - 1].st.id) == 0) {
            fprintf(stderr, "deconflict: %s:%ld: field 'id': '%s' repeats line %ld\n", path,
                    rows[i].line, rows[i].st.id, rows[i - 1].line);
            free(rows);
            return CLI_EXIT_DATA;
        }
    }

    dc_tactical_t *eng = dc_tactical_new(&cfg);
    const dc_tactical_snapshot_t *snap = NULL;
    rc = eng ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    for (size_t i = 0; i < n && rc == CLI_EXIT_OK; i++)
        if (dc_tactical_update(eng, &rows[i].st, NULL) != DC_OK) rc = CLI_EXIT_INTERNAL;
    if (rc == CLI_EXIT_OK && dc_tactical_detect(eng, 0.0, NULL, &snap) != DC_OK)
        rc = CLI_EXIT_INTERNAL;
    if (rc == CLI_EXIT_OK) {
        printf("id1,id2,tcpa_s,dcpa_nm,tin_s,tout_s\n");
        for (size_t i = 0; i < snap->n_conflicts; i++) {
            const dc_conflict_t *c = &snap->conflicts[i];
            printf("%s,%s,%.2f,%.4f,%.2f,%.2f\n", c->id1, c->id2, c->eval.tcpa_s, c->eval.dcpa_nm,
                   c->eval.tin_s, c->eval.tout_s);
        }
    } else {
        fprintf(stderr, "deconflict: out of memory\n");
    }
    dc_tactical_snapshot_release(snap);
    dc_tactical_free(eng);
    free(rows);
    return rc;
}
