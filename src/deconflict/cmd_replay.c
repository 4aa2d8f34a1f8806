/* `deconflict replay`: the tactical engine over a recorded traffic file, as the service would
 * have run it live. Rows are fed in time order; every --step-s seconds of recorded time a
 * detection pass runs at that instant, and the encounter log follows the predicted conflicts. */
#include "cli.h"
#include "deconflict/encounters.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct name {
    const char *id;
    const char *callsign;
} name_t;

typedef struct replay_opts {
    const char *path;
    double from_s, to_s, step_s;
    bool csv;
    dc_tactical_config_t cfg;
} replay_opts_t;

/* Parses Unix seconds or a UTC time "YYYY-MM-DDTHH:MM[:SS][Z]" (a space may replace the T). */

static void format_utc(double t_s, char *buf, size_t len)
{
    time_t t = (time_t)floor(t_s);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int row_time_cmp(const void *a, const void *b)
{
    const cli_row_t *x = a, *y = b;
    if (x->st.t_s != y->st.t_s) return x->st.t_s < y->st.t_s ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const name_t *)a)->id, ((const name_t *)b)->id);
}

static int encounter_pair_cmp(const void *a, const void *b)
{
    const dc_encounter_t *x = *(const dc_encounter_t *const *)a;
    const dc_encounter_t *y = *(const dc_encounter_t *const *)b;
    int c = strcmp(x->id1, y->id1);
    return c ? c : strcmp(x->id2, y->id2);
}

static const char *callsign_of(const name_t *names, size_t n, const char *id)
{
    name_t key = {.id = id};
    const name_t *hit = n ? bsearch(&key, names, n, sizeof(name_t), name_cmp) : NULL;
    return hit && hit->callsign[0] ? hit->callsign : "-";
}

static int parse_opts(int argc, char **argv, replay_opts_t *o)
{
    *o = (replay_opts_t){.from_s = -INFINITY, .to_s = INFINITY, .step_s = 10.0};
    dc_tactical_config_default(&o->cfg);
    for (int i = 1; i < argc; i++) {
        int r = cli_parse_minima_flag(argc, argv, &i, &o->cfg);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 || strcmp(a, "--step-s") == 0 ||
            strcmp(a, "--format") == 0) {
            if (!has_val) {
                fprintf(stderr, "deconflict replay: %s needs a value\n", a);
                return CLI_EXIT_USAGE;
            }
            const char *v = argv[++i];
            bool ok = true;
            if (strcmp(a, "--from") == 0)
                ok = cli_parse_time(a, v, &o->from_s);
            else if (strcmp(a, "--to") == 0)
                ok = cli_parse_time(a, v, &o->to_s);
            else if (strcmp(a, "--step-s") == 0)
                ok = cli_parse_number(a, v, &o->step_s);
            else if (strcmp(v, "csv") == 0 || strcmp(v, "table") == 0)
                o->csv = v[0] == 'c';
            else {
                fprintf(stderr, "deconflict replay: --format: '%s' is not table or csv\n", v);
                ok = false;
            }
            if (!ok) return CLI_EXIT_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "deconflict replay: unknown option '%s'\n", a);
            return CLI_EXIT_USAGE;
        } else if (o->path) {
            fprintf(stderr, "deconflict replay: one input file only\n");
            return CLI_EXIT_USAGE;
        } else {
            o->path = a;
        }
    }
    if (!o->path) {
        fprintf(stderr, "usage: deconflict replay TRACKS.csv [--from T0] [--to T1] "
                        "[--step-s S] [--format table|csv] [minima]\n");
        return CLI_EXIT_USAGE;
    }
    if (!(o->step_s >= 0.1 && o->step_s <= 3600)) {
        fprintf(stderr, "deconflict replay: --step-s must be in [0.1, 3600]\n");
        return CLI_EXIT_USAGE;
    }
    if (!(o->from_s < o->to_s)) {
        fprintf(stderr, "deconflict replay: --from must be before --to\n");
        return CLI_EXIT_USAGE;
    }
    return cli_check_config(&o->cfg) ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static void print_encounters(const replay_opts_t *o, const dc_encounters_t *enc,
                             const name_t *names, size_t n_names)
{
    char when[32];
    if (o->csv)
        printf("first_alert_utc,id1,callsign1,id2,callsign2,warning_s,los,min_hsep_nm,"
               "vsep_at_min_ft,min_dcpa_nm,duration_s\n");
    else
        printf("%-19s  %-6s %-8s  %-6s %-8s  %9s  %12s  %9s  %8s\n", "first alert (UTC)", "id1",
               "callsign", "id2", "callsign", "warning", "closest", "pred.CPA", "duration");
    for (size_t i = 0; i < dc_encounters_count(enc); i++) {
        const dc_encounter_t *e = dc_encounters_get(enc, i);
        bool los = !isnan(e->los_start_s);
        double warn = los ? e->los_start_s - e->first_alert_s : NAN;
        format_utc(e->first_alert_s, when, sizeof(when));
        const char *c1 = callsign_of(names, n_names, e->id1);
        const char *c2 = callsign_of(names, n_names, e->id2);
        double dur = e->last_seen_s - e->first_alert_s;
        if (o->csv) {
            printf("%s,%s,%s,%s,%s,", when, e->id1, c1, e->id2, c2);
            if (los)
                printf("%.0f,1,", warn);
            else
                printf(",0,");
            printf("%.3f,%.0f,%.3f,%.0f\n", e->min_hsep_nm, e->vsep_at_min_ft, e->min_dcpa_nm, dur);
        } else {
            char warn_txt[16], close_txt[32];
            if (los)
                snprintf(warn_txt, sizeof(warn_txt), "%.0f s", warn);
            else
                snprintf(warn_txt, sizeof(warn_txt), "no loss");
            snprintf(close_txt, sizeof(close_txt), "%.2fNM/%.0fft", e->min_hsep_nm,
                     e->vsep_at_min_ft);
            printf("%-19s  %-6s %-8s  %-6s %-8s  %9s  %12s  %6.2f NM  %6.0f s\n", when, e->id1, c1,
                   e->id2, c2, warn_txt, close_txt, e->min_dcpa_nm, dur);
        }
    }
}

int cli_replay(int argc, char **argv)
{
    replay_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_EXIT_OK) return rc;

    cli_row_t *rows = NULL;
    size_t n_rows, n_skipped;
    rc = cli_load_rows(o.path, DC_TRACKCSV_TRAFFIC, &rows, &n_rows, &n_skipped);
    if (rc != CLI_EXIT_OK) {
        free(rows);
        return rc;
    }
    if (n_rows > 1) qsort(rows, n_rows, sizeof(cli_row_t), row_time_cmp);

    /* Callsign by id, for the report: the last non-empty callsign each aircraft sent. */
    name_t *names = malloc((n_rows ? n_rows : 1) * sizeof(name_t));
    size_t n_names = 0;
    dc_tactical_t *eng = dc_tactical_new(&o.cfg);
    dc_encounters_t *enc = dc_encounters_new(o.cfg.stale_s > o.step_s ? o.cfg.stale_s : o.step_s);
    if (!names || !eng || !enc) {
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = n_rows; i-- > 0;) /* aircraft within the replayed window only */
        if (rows[i].st.t_s >= o.from_s && rows[i].st.t_s <= o.to_s)
            names[n_names++] = (name_t){rows[i].st.id, rows[i].callsign};
    /* qsort is not stable, so pick the non-empty callsign explicitly after sorting by id. */
    if (n_names > 1) qsort(names, n_names, sizeof(name_t), name_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n_names; i++) {
        if (k && strcmp(names[k - 1].id, names[i].id) == 0) {
            if (!names[k - 1].callsign[0]) names[k - 1].callsign = names[i].callsign;
            continue;
        }
        names[k++] = names[i];
    }
    n_names = k;

    double t_first = INFINITY, t_last = -INFINITY;
    for (size_t i = 0; i < n_rows; i++) {
        if (rows[i].st.t_s < o.from_s || rows[i].st.t_s > o.to_s) continue;
        t_first = fmin(t_first, rows[i].st.t_s);
        t_last = fmax(t_last, rows[i].st.t_s);
    }
    size_t passes = 0, fed = 0, next = 0;
    double start = isfinite(o.from_s) ? o.from_s : t_first;
    double end = isfinite(o.to_s) ? o.to_s : t_last;
    for (double now = start; t_first <= t_last && now <= end; now = start + o.step_s * passes) {
        while (next < n_rows && rows[next].st.t_s <= now) {
            const cli_row_t *r = &rows[next++];
            if (r->st.t_s < o.from_s) continue;
            if (dc_tactical_update(eng, &r->st, NULL) != DC_OK) {
                rc = CLI_EXIT_INTERNAL;
                goto out;
            }
            fed++;
        }
        const dc_tactical_snapshot_t *snap;
        if (dc_tactical_detect(eng, now, NULL, &snap) != DC_OK) {
            rc = CLI_EXIT_INTERNAL;
            goto out;
        }
        dc_err_t err = dc_encounters_observe(enc, snap);
        dc_tactical_snapshot_release(snap);
        if (err != DC_OK) {
            rc = CLI_EXIT_INTERNAL;
            goto out;
        }
        passes++;
    }

    print_encounters(&o, enc, names, n_names);

    /* Pairs alerted: distinct (id1, id2) among the encounters, counted after sorting them. */
    size_t n_enc = dc_encounters_count(enc), losses = 0, pairs = 0;
    const dc_encounter_t **by_pair = malloc((n_enc ? n_enc : 1) * sizeof(*by_pair));
    if (!by_pair) {
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < n_enc; i++) {
        by_pair[i] = dc_encounters_get(enc, i);
        losses += !isnan(by_pair[i]->los_start_s);
    }
    if (n_enc > 1) qsort(by_pair, n_enc, sizeof(*by_pair), encounter_pair_cmp);
    for (size_t i = 0; i < n_enc; i++)
        pairs += i == 0 || encounter_pair_cmp(&by_pair[i - 1], &by_pair[i]) != 0;
    free(by_pair);
    double hours = passes > 1 ? (passes - 1) * o.step_s / 3600.0 : 0.0;
    char t0[32] = "-", t1[32] = "-";
    if (passes) {
        format_utc(start, t0, sizeof(t0));
        format_utc(start + o.step_s * (passes - 1), t1, sizeof(t1));
    }
    FILE *out = o.csv ? stderr : stdout;
    fprintf(out,
            "\nsummary: %s .. %s UTC, %zu passes every %.0f s; R %.2f NM, H %.0f ft, T %.0f s\n"
            "  reports fed %zu (skipped %zu incomplete rows); aircraft %zu\n"
            "  encounters %zu, pairs alerted %zu, alerts per hour %.1f, losses of separation %zu\n",
            t0, t1, passes, o.step_s, o.cfg.rpz_nm, o.cfg.hpz_ft, o.cfg.lookahead_s, fed, n_skipped,
            n_names, n_enc, pairs, hours > 0 ? n_enc / hours : 0.0, losses);
out:
    if (rc == CLI_EXIT_INTERNAL) fprintf(stderr, "deconflict: out of memory\n");
    dc_encounters_free(enc);
    dc_tactical_free(eng);
    free(names);
    free(rows);
    return rc;
}
