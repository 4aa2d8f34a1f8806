/* `deconflict replay`: the tactical engine over a recorded traffic file, as the service would
 * have run it live. Rows are fed in time order; every --step-s seconds of recorded time a
 * detection pass runs at that instant, graded alerting (deconflict/alerting.h: levels,
 * filters, persistence, hysteresis) judges its candidates, and the encounter log follows the
 * alerts. --raw follows the engine's unfiltered predictions instead, as replay did before.
 *
 * Input: the normalized traffic CSV, or an SBS-1 log (dump1090's port-30003 output, recognised
 * by its first line), or a Beast capture (port 30005's frames, recognised by its first bytes;
 * replay_beast.c), merged into aircraft as the daemon's feeds do. Output: the conflict report
 * as a table, CSV or JSON, with totals; --parties gives each aircraft a side (as `deconflict
 * feed` splits them) and the report says which sides each encounter involves; --compare H,V
 * runs again with other minima and reports the difference. A running daemon is the target of
 * `deconflict feed` instead. */
#include "cli.h"
#include "deconflict/alerting.h"
#include "deconflict/conformance.h"
#include "deconflict/encounters.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deconflict/sbs.h"
#include "replay_asterix.h"
#include "replay_beast.h"
#include "deconflict/strategic.h"

typedef struct name {
    const char *id;
    const char *callsign;
} name_t;

typedef enum { OUT_TABLE, OUT_CSV, OUT_JSON } out_format_t;
typedef enum { SIDES_NONE, SIDES_ALTERNATE, SIDES_PREFIX } sides_t;

typedef struct replay_opts {
    const char *path;
    double from_s, to_s, step_s;
    out_format_t format;
    sides_t sides;
    bool compare;
    double compare_h_nm, compare_v_ft;
    const char *svg_pair, *svg_out; /* --svg ID1,ID2 --svg-out FILE */
    const char *ops_path;           /* --operations OPS.json */
    const char *daemon;             /* --daemon URL: replay into a running deconflictd */
    const char *tokens[8];          /* its parties' tokens (--token, repeatable) */
    int n_tokens;
    const char *speed; /* --speed X for --daemon */
    dc_tactical_config_t cfg;
    bool raw;                   /* --raw: the engine's predictions, no alerting layer */
    double alt_step_ft;         /* --alt-step-ft: the recording's altitude resolution (25) */
    dc_alerting_config_t acfg;  /* --warning-s, --hold-s */
    dc_asterix_config_t ax;     /* --cat021-edition, --radar: reading ASTERIX */
    double date_s;              /* --date: the day of a raw ASTERIX recording (NAN) */
    double t0_s;                /* --t0: a Beast capture's first frame (NAN: from its mtime) */
    const char *cat004_out;     /* --cat004 FILE: the alerts as CAT004 messages */
    const char *states_out;     /* --states-out FILE: the states read, as a traffic CSV */
    int cat004_sac, cat004_sic; /* --cat004-source SAC/SIC */
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
    *o = (replay_opts_t){.from_s = -INFINITY,
                         .to_s = INFINITY,
                         .step_s = 10.0,
                         .alt_step_ft = 25,
                         .date_s = NAN,
                         .t0_s = NAN};
    dc_tactical_config_default(&o->cfg);
    dc_alerting_config_default(&o->acfg);
    for (int i = 1; i < argc; i++) {
        int r = cli_parse_minima_flag(argc, argv, &i, &o->cfg);
        if (r == 0) r = cli_asterix_flag(argc, argv, &i, &o->ax);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r > 0) continue;
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--raw") == 0) {
            o->raw = true;
            continue;
        }
        if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 || strcmp(a, "--step-s") == 0 ||
            strcmp(a, "--format") == 0 || strcmp(a, "--parties") == 0 ||
            strcmp(a, "--compare") == 0 || strcmp(a, "--svg") == 0 || strcmp(a, "--svg-out") == 0 ||
            strcmp(a, "--operations") == 0 || strcmp(a, "--daemon") == 0 ||
            strcmp(a, "--token") == 0 || strcmp(a, "--speed") == 0 ||
            strcmp(a, "--alt-step-ft") == 0 || strcmp(a, "--warning-s") == 0 ||
            strcmp(a, "--hold-s") == 0 || strcmp(a, "--date") == 0 || strcmp(a, "--cat004") == 0 ||
            strcmp(a, "--cat004-source") == 0 || strcmp(a, "--t0") == 0 ||
            strcmp(a, "--states-out") == 0) {
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
            else if (strcmp(a, "--alt-step-ft") == 0)
                ok = cli_parse_number(a, v, &o->alt_step_ft);
            else if (strcmp(a, "--warning-s") == 0)
                ok = cli_parse_number(a, v, &o->acfg.warning_s);
            else if (strcmp(a, "--hold-s") == 0)
                ok = cli_parse_number(a, v, &o->acfg.hold_s);
            else if (strcmp(a, "--svg") == 0)
                o->svg_pair = v;
            else if (strcmp(a, "--t0") == 0) /* Unix seconds or a UTC time */
                ok = cli_parse_time(a, v, &o->t0_s);
            else if (strcmp(a, "--cat004") == 0)
                o->cat004_out = v;
            else if (strcmp(a, "--states-out") == 0)
                o->states_out = v;
            else if (strcmp(a, "--cat004-source") == 0) {
                char extra;
                ok = sscanf(v, "%d/%d%c", &o->cat004_sac, &o->cat004_sic, &extra) == 2 &&
                     o->cat004_sac >= 0 && o->cat004_sac <= 255 && o->cat004_sic >= 0 &&
                     o->cat004_sic <= 255;
                if (!ok)
                    fprintf(stderr, "deconflict replay: --cat004-source: SAC/SIC, each 0..255\n");
            } else if (strcmp(a, "--date") == 0) {
                /* The day of a raw ASTERIX recording: its midnight, UTC. */
                char day[40];
                ok = strlen(v) == 10 && snprintf(day, sizeof(day), "%sT00:00:00Z", v) > 0 &&
                     cli_parse_time(a, day, &o->date_s);
                if (!ok) fprintf(stderr, "deconflict replay: --date: YYYY-MM-DD\n");
            } else if (strcmp(a, "--operations") == 0)
                o->ops_path = v;
            else if (strcmp(a, "--daemon") == 0)
                o->daemon = v;
            else if (strcmp(a, "--speed") == 0)
                o->speed = v;
            else if (strcmp(a, "--token") == 0 && o->n_tokens < 8)
                o->tokens[o->n_tokens++] = v;
            else if (strcmp(a, "--token") == 0) {
                fprintf(stderr, "deconflict replay: at most 8 --token\n");
                ok = false;
            } else if (strcmp(a, "--svg-out") == 0)
                o->svg_out = v;
            else if (strcmp(a, "--parties") == 0) {
                ok = strcmp(v, "alternate") == 0 || strcmp(v, "prefix") == 0;
                o->sides = v[0] == 'a' ? SIDES_ALTERNATE : SIDES_PREFIX;
                if (!ok) fprintf(stderr, "deconflict replay: --parties: alternate or prefix\n");
            } else if (strcmp(a, "--compare") == 0) {
                char extra;
                ok = sscanf(v, "%lf,%lf%c", &o->compare_h_nm, &o->compare_v_ft, &extra) == 2 &&
                     o->compare_h_nm > 0 && o->compare_h_nm <= 50 && o->compare_v_ft > 0 &&
                     o->compare_v_ft <= 10000;
                o->compare = true;
                if (!ok) fprintf(stderr, "deconflict replay: --compare: H_NM,V_FT, e.g. 3,1000\n");
            } else if (strcmp(v, "csv") == 0 || strcmp(v, "table") == 0 || strcmp(v, "json") == 0)
                o->format = v[0] == 'c' ? OUT_CSV : v[0] == 'j' ? OUT_JSON : OUT_TABLE;
            else {
                fprintf(stderr, "deconflict replay: --format: '%s' is not table, csv or json\n", v);
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
        fprintf(stderr,
                "usage: deconflict replay TRACKS.csv|SBS.log|CAPTURE.beast|ASTERIX [--t0 T] "
                "[--from T0] [--to T1] "
                "[--step-s S] [--format table|csv|json] [--parties alternate|prefix] "
                "[--compare H_NM,V_FT] [--svg ID1,ID2 --svg-out FILE] "
                "[--operations OPS.json] [--daemon URL --token T [--token T2] "
                "[--speed X]] [--raw] [--alt-step-ft F] [--warning-s S] [--hold-s S] "
                "[--states-out FILE] [--date YYYY-MM-DD] [--cat021-edition E] "
                "[--radar SAC/SIC:LAT,LON[,ALT_FT]] [--cat004 FILE [--cat004-source S/S]] "
                "[minima]\n");
        return CLI_EXIT_USAGE;
    }
    if (!(o->alt_step_ft >= 0 && o->alt_step_ft <= 500)) {
        fprintf(stderr, "deconflict replay: --alt-step-ft must be in [0, 500]\n");
        return CLI_EXIT_USAGE;
    }
    /* The two the flags set; the rest are the library's defaults. */
    if (!(o->acfg.warning_s >= 0 && o->acfg.warning_s <= 3600)) {
        fprintf(stderr, "deconflict replay: --warning-s must be in [0, 3600]\n");
        return CLI_EXIT_USAGE;
    }
    if (!(o->acfg.hold_s >= 0 && o->acfg.hold_s <= 3600)) {
        fprintf(stderr, "deconflict replay: --hold-s must be in [0, 3600]\n");
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
    if (!o->svg_pair != !o->svg_out || (o->svg_pair && !strchr(o->svg_pair, ','))) {
        fprintf(stderr, "deconflict replay: --svg ID1,ID2 and --svg-out FILE go together\n");
        return CLI_EXIT_USAGE;
    }
    return cli_check_config(&o->cfg) ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* ---- sides ---- */

typedef struct side {
    const char *id;
    int side; /* 0 or 1 */
} side_t;

static int side_cmp(const void *a, const void *b)
{
    return strcmp(((const side_t *)a)->id, ((const side_t *)b)->id);
}

/* Each aircraft's side, as `deconflict feed` splits them between two parties: in turn as they
 * first appear from --from on (alternate), or by the first letter of the aircraft's callsign
 * (prefix: N-Z on side B, everything else on A). */
typedef struct first_seen {
    const char *id;
    size_t row;
} first_seen_t;

static int first_seen_by_id(const void *a, const void *b)
{
    const first_seen_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int first_seen_by_row(const void *a, const void *b)
{
    const first_seen_t *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

static side_t *assign_sides(const replay_opts_t *o, const cli_row_t *rows, size_t n_rows,
                            const name_t *names, size_t n_names, size_t *n_out)
{
    first_seen_t *fs = malloc((n_rows ? n_rows : 1) * sizeof(*fs));
    side_t *sides = malloc((n_rows ? n_rows : 1) * sizeof(*sides));
    if (!fs || !sides) {
        free(fs), free(sides);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].st.t_s >= o->from_s) fs[n++] = (first_seen_t){rows[i].st.id, i};
    qsort(fs, n, sizeof(*fs), first_seen_by_id); /* each id's first row comes first */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(fs[k - 1].id, fs[i].id) != 0) fs[k++] = fs[i];
    qsort(fs, k, sizeof(*fs), first_seen_by_row); /* in order of first appearance */
    for (size_t i = 0; i < k; i++) {
        const char *cs = callsign_of(names, n_names, fs[i].id);
        sides[i].id = fs[i].id;
        sides[i].side = o->sides == SIDES_PREFIX ? cs[0] >= 'N' : (int)(i % 2);
    }
    free(fs);
    qsort(sides, k, sizeof(*sides), side_cmp);
    *n_out = k;
    return sides;
}

static int side_of(const side_t *sides, size_t n, const char *id)
{
    side_t key = {.id = id};
    const side_t *hit = n ? bsearch(&key, sides, n, sizeof(*sides), side_cmp) : NULL;
    return hit ? hit->side : 0;
}

/* ---- the run ---- */

/* An aircraft inside another party's operation: from its first report inside to its last. */
/* One aircraft's episode with one operation: predicted to enter it or inside it. */
typedef struct intrusion {
    char id[DC_TRACK_ID_MAX];
    char op[DC_STRATEGIC_ID_MAX], op_party[DC_STRATEGIC_ID_MAX];
    double first_s, last_s; /* the first and last report that raised it */
    double first_warning_s; /* the first report within warning_s of entry, or inside; NAN */
    double entry_s;         /* the first report inside; NAN if it never entered */
    dc_entry_level_t level; /* the highest reached */
    size_t reports;
} intrusion_t;

typedef struct run {
    dc_encounters_t *enc;
    size_t passes, fed;
    double start;
    intrusion_t *intr;
    size_t n_intr, cap_intr;
} run_t;

/* Notes report row in or predicted (tte_s ahead) to enter operation e->ref, graded as the
 * daemon grades it; a new intrusion when the last one of this aircraft and operation ended more
 * than gap_s before. */
static bool note_intrusion(run_t *r, const cli_row_t *row, const dc_op_entry_t *e, double warning_s,
                           double gap_s)
{
    double t = row->st.t_s;
    dc_entry_level_t level = dc_entry_level(e->tte_s, warning_s);
    intrusion_t *x = NULL;
    for (size_t i = r->n_intr; i-- > 0 && !x;) {
        intrusion_t *y = &r->intr[i];
        if (strcmp(y->id, row->st.id) == 0 && strcmp(y->op, e->ref) == 0) {
            if (t - y->last_s > gap_s) break;
            x = y;
        }
    }
    if (!x) {
        if (r->n_intr == r->cap_intr) {
            size_t cap = r->cap_intr ? 2 * r->cap_intr : 16;
            intrusion_t *p = realloc(r->intr, cap * sizeof(*p));
            if (!p) return false;
            r->intr = p, r->cap_intr = cap;
        }
        x = &r->intr[r->n_intr++];
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", row->st.id);
        snprintf(x->op, sizeof(x->op), "%.*s", (int)sizeof(x->op) - 1, e->ref);
        snprintf(x->op_party, sizeof(x->op_party), "%.*s", (int)sizeof(x->op_party) - 1, e->party);
        x->first_s = t, x->first_warning_s = x->entry_s = NAN, x->level = level;
    }
    x->last_s = t, x->reports++;
    if (level > x->level) x->level = level;
    if (level >= DC_ENTRY_WARNING && isnan(x->first_warning_s)) x->first_warning_s = t;
    if (level == DC_ENTRY_INSIDE && isnan(x->entry_s)) x->entry_s = t;
    return true;
}

/* The operations report row is in or is predicted to enter within the look-ahead, as the
 * daemon's conformance check finds them (deconflict/conformance.h) at the report's time. The
 * aircraft belongs to its side's party ("A" or "B") with --parties, to none without. */
static bool probe_operations(dc_strategic_t *ops, run_t *r, const cli_row_t *row, const char *party,
                             const replay_opts_t *o)
{
    dc_op_entry_t ent[32];
    size_t n = 0;
    if (dc_conformance_entries(ops, &row->st, party[0] ? party : "-", row->st.t_s,
                               o->cfg.lookahead_s, DC_ENTRY_STEP_S, false, ent, 32, &n) != DC_OK)
        return true; /* a report the engines refuse is not probed either */
    for (size_t i = 0; i < n; i++)
        if (!note_intrusion(r, row, &ent[i], o->acfg.warning_s, 2 * o->step_s)) return false;
    return true;
}

/* Replays rows under cfg; a progress line on stderr when it is a terminal. */
typedef struct names_ref {
    const name_t *names;
    size_t n;
} names_ref_t;

static const char *callsign_by_id(const char *id, void *ctx)
{
    const names_ref_t *nr = ctx;
    const char *cs = callsign_of(nr->names, nr->n, id);
    return strcmp(cs, "-") == 0 ? "" : cs;
}

static int run_replay(const replay_opts_t *o, const dc_tactical_config_t *cfg,
                      const cli_row_t *rows, size_t n_rows, dc_strategic_t *ops,
                      const side_t *sides, size_t n_sides, run_t *r, cli_cat004_t *cat004,
                      names_ref_t *names)
{
    memset(r, 0, sizeof(*r));
    /* Graded alerting judges the candidates of an engine run with R widened by its margin;
     * --raw follows the engine's own predictions. */
    dc_alerting_t *al = o->raw ? NULL : dc_alerting_new(cfg, &o->acfg);
    dc_tactical_config_t eng_cfg = *cfg;
    if (al) dc_alerting_candidate_config(al, &eng_cfg);
    dc_tactical_t *eng = dc_tactical_new(&eng_cfg);
    /* Recorded traffic carries no selected altitudes. */
    const dc_report_source_t src = {.alt_step_ft = o->alt_step_ft, .selected_alt_ft = NAN};
    r->enc = dc_encounters_new(cfg->stale_s > o->step_s ? cfg->stale_s : o->step_s);
    if (!eng || !r->enc || (!o->raw && !al)) {
        dc_tactical_free(eng);
        dc_alerting_free(al);
        return CLI_EXIT_INTERNAL;
    }
    double t_first = INFINITY, t_last = -INFINITY;
    for (size_t i = 0; i < n_rows; i++) {
        if (rows[i].st.t_s < o->from_s || rows[i].st.t_s > o->to_s) continue;
        t_first = fmin(t_first, rows[i].st.t_s);
        t_last = fmax(t_last, rows[i].st.t_s);
    }
    size_t next = 0;
    r->start = isfinite(o->from_s) ? o->from_s : t_first;
    double end = isfinite(o->to_s) ? o->to_s : t_last;
    bool progress = isatty(STDERR_FILENO) && o->format == OUT_TABLE;
    int shown = -1;
    int rc = CLI_EXIT_OK;
    for (double now = r->start; t_first <= t_last && now <= end;
         now = r->start + o->step_s * r->passes) {
        while (next < n_rows && rows[next].st.t_s <= now) {
            const cli_row_t *row = &rows[next++];
            if (row->st.t_s < o->from_s) continue;
            if (dc_tactical_update(eng, &row->st, NULL) != DC_OK ||
                (al && dc_alerting_report(al, &row->st, &src, NULL) != DC_OK)) {
                rc = CLI_EXIT_INTERNAL;
                goto out;
            }
            r->fed++;
            const char *party = !n_sides ? "" : side_of(sides, n_sides, row->st.id) ? "B" : "A";
            if (ops && !probe_operations(ops, r, row, party, o)) {
                rc = CLI_EXIT_INTERNAL;
                goto out;
            }
        }
        const dc_tactical_snapshot_t *snap;
        if (dc_tactical_detect(eng, now, NULL, &snap) != DC_OK) {
            rc = CLI_EXIT_INTERNAL;
            goto out;
        }
        dc_err_t err = al ? dc_alerting_pass(al, snap) : DC_OK;
        if (err == DC_OK && al && cat004 &&
            !cli_cat004_pass(cat004, now, al, callsign_by_id, names))
            err = DC_ERR_IO;
        if (err == DC_OK)
            err = al ? dc_encounters_observe_alerts(r->enc, now, al)
                     : dc_encounters_observe(r->enc, snap);
        dc_tactical_snapshot_release(snap);
        if (err != DC_OK) {
            rc = CLI_EXIT_INTERNAL;
            goto out;
        }
        r->passes++;
        int pct = end > r->start ? (int)(100 * (now - r->start) / (end - r->start)) : 100;
        if (progress && pct != shown) {
            fprintf(stderr, "\rreplay %3d%% [%-40.*s]", pct, pct * 40 / 100,
                    "########################################");
            shown = pct;
        }
    }
    if (progress) fprintf(stderr, "\r%60s\r", "");
out:
    dc_tactical_free(eng);
    dc_alerting_free(al);
    return rc;
}

/* ---- the report ---- */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_encounters(const replay_opts_t *o, const dc_encounters_t *enc,
                             const name_t *names, size_t n_names, const side_t *sides,
                             size_t n_sides)
{
    char when[32], warned[32];
    bool with_sides = o->sides != SIDES_NONE, graded = !o->raw;
    if (o->format == OUT_CSV && graded)
        printf("first_alert_utc,id1,callsign1,id2,callsign2,level,first_warning_utc,warning_s,"
               "duration_s,los,min_hsep_nm,vsep_at_min_ft,min_dcpa_nm%s\n",
               with_sides ? ",side1,side2" : "");
    else if (o->format == OUT_CSV)
        printf("first_alert_utc,id1,callsign1,id2,callsign2,warning_s,los,min_hsep_nm,"
               "vsep_at_min_ft,min_dcpa_nm,duration_s%s\n",
               with_sides ? ",side1,side2" : "");
    else if (o->format == OUT_TABLE)
        printf("%-19s  %-6s %-8s  %-6s %-8s  %-8s  %9s  %12s  %9s  %8s%s\n", "first alert (UTC)",
               "id1", "callsign", "id2", "callsign", "level", "warning", "closest", "pred.CPA",
               "duration", with_sides ? "  sides" : "");
    else
        printf("{\"encounters\":[");
    for (size_t i = 0; i < dc_encounters_count(enc); i++) {
        const dc_encounter_t *e = dc_encounters_get(enc, i);
        bool los = !isnan(e->los_start_s);
        /* Graded: the warning before the loss counts from the first warning, not advisory. */
        double warn = !los                        ? NAN
                      : !graded                   ? e->los_start_s - e->first_alert_s
                      : isnan(e->first_warning_s) ? 0
                                                  : e->los_start_s - e->first_warning_s;
        const char *level = graded ? dc_alert_level_name(e->level) : los ? "loss" : "-";
        format_utc(e->first_alert_s, when, sizeof(when));
        const char *c1 = callsign_of(names, n_names, e->id1);
        const char *c2 = callsign_of(names, n_names, e->id2);
        double dur = e->last_seen_s - e->first_alert_s;
        int s1 = side_of(sides, n_sides, e->id1), s2 = side_of(sides, n_sides, e->id2);
        if (o->format == OUT_CSV && graded) {
            warned[0] = '\0';
            if (!isnan(e->first_warning_s)) format_utc(e->first_warning_s, warned, sizeof(warned));
            printf("%s,%s,%s,%s,%s,%s,%s,", when, e->id1, c1, e->id2, c2, level, warned);
            if (los) printf("%.0f", warn);
            printf(",%.0f,%d,%.3f,%.0f,%.3f", dur, los, e->min_hsep_nm, e->vsep_at_min_ft,
                   e->min_dcpa_nm);
            if (with_sides) printf(",%c,%c", 'A' + s1, 'A' + s2);
            printf("\n");
        } else if (o->format == OUT_CSV) {
            printf("%s,%s,%s,%s,%s,", when, e->id1, c1, e->id2, c2);
            if (los)
                printf("%.0f,1,", warn);
            else
                printf(",0,");
            printf("%.3f,%.0f,%.3f,%.0f", e->min_hsep_nm, e->vsep_at_min_ft, e->min_dcpa_nm, dur);
            if (with_sides) printf(",%c,%c", 'A' + s1, 'A' + s2);
            printf("\n");
        } else if (o->format == OUT_JSON) {
            printf("%s\n {\"first_alert_s\":%.3f,\"id1\":", i ? "," : "", e->first_alert_s);
            json_str(e->id1);
            printf(",\"callsign1\":");
            json_str(c1);
            printf(",\"id2\":");
            json_str(e->id2);
            printf(",\"callsign2\":");
            json_str(c2);
            if (graded) {
                printf(",\"level\":\"%s\",\"first_warning_s\":", level);
                if (isnan(e->first_warning_s))
                    printf("null");
                else
                    printf("%.3f", e->first_warning_s);
            }
            if (los)
                printf(",\"warning_s\":%.0f,\"loss\":true", warn);
            else
                printf(",\"warning_s\":null,\"loss\":false");
            printf(",\"min_hsep_nm\":%.3f,\"vsep_at_min_ft\":%.0f,\"min_dcpa_nm\":%.3f,"
                   "\"duration_s\":%.0f",
                   e->min_hsep_nm, e->vsep_at_min_ft, e->min_dcpa_nm, dur);
            if (with_sides) printf(",\"sides\":[\"%c\",\"%c\"]", 'A' + s1, 'A' + s2);
            printf("}");
        } else {
            char warn_txt[16], close_txt[32];
            if (los)
                snprintf(warn_txt, sizeof(warn_txt), "%.0f s", warn);
            else
                snprintf(warn_txt, sizeof(warn_txt), "no loss");
            snprintf(close_txt, sizeof(close_txt), "%.2fNM/%.0fft", e->min_hsep_nm,
                     e->vsep_at_min_ft);
            printf("%-19s  %-6s %-8s  %-6s %-8s  %-8s  %9s  %12s  %6.2f NM  %6.0f s", when, e->id1,
                   c1, e->id2, c2, level, warn_txt, close_txt, e->min_dcpa_nm, dur);
            if (with_sides) printf("  %c-%c", 'A' + s1, 'A' + s2);
            printf("\n");
        }
    }
    if (o->format == OUT_JSON) printf("\n]");
}

typedef struct totals {
    size_t encounters, pairs, losses, cross;
} totals_t;

/* The distinct pairs of a run, sorted, and its totals. */
static const dc_encounter_t **pairs_of(const dc_encounters_t *enc, const side_t *sides,
                                       size_t n_sides, totals_t *t)
{
    size_t n = dc_encounters_count(enc);
    const dc_encounter_t **by_pair = malloc((n ? n : 1) * sizeof(*by_pair));
    memset(t, 0, sizeof(*t));
    if (!by_pair) return NULL;
    for (size_t i = 0; i < n; i++) {
        by_pair[i] = dc_encounters_get(enc, i);
        t->losses += !isnan(by_pair[i]->los_start_s);
        t->cross +=
            side_of(sides, n_sides, by_pair[i]->id1) != side_of(sides, n_sides, by_pair[i]->id2);
    }
    if (n > 1) qsort(by_pair, n, sizeof(*by_pair), encounter_pair_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || encounter_pair_cmp(&by_pair[i - 1], &by_pair[i]) != 0)
            by_pair[k++] = by_pair[i];
    t->encounters = n, t->pairs = k;
    return by_pair;
}

/* Graded alerting's figures: encounters by the highest level reached, and the warning each loss
 * had (from the first warning to the loss). */
typedef struct levels {
    size_t by_level[4];
    size_t warned_losses, unwarned_losses; /* losses with a warning before them, or none */
    double warn_min_s, warn_median_s, warn_max_s;
} levels_t;

static int double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool level_totals(const dc_encounters_t *enc, levels_t *lv)
{
    size_t n = dc_encounters_count(enc), k = 0;
    memset(lv, 0, sizeof(*lv));
    lv->warn_min_s = lv->warn_median_s = lv->warn_max_s = NAN;
    double *w = malloc((n ? n : 1) * sizeof(double));
    if (!w) return false;
    for (size_t i = 0; i < n; i++) {
        const dc_encounter_t *e = dc_encounters_get(enc, i);
        lv->by_level[e->level]++;
        if (isnan(e->los_start_s)) continue;
        if (!isnan(e->first_warning_s) && e->first_warning_s < e->los_start_s) {
            lv->warned_losses++;
            w[k++] = e->los_start_s - e->first_warning_s;
        } else {
            lv->unwarned_losses++;
        }
    }
    if (k) {
        qsort(w, k, sizeof(double), double_cmp);
        lv->warn_min_s = w[0], lv->warn_max_s = w[k - 1];
        lv->warn_median_s = k % 2 ? w[k / 2] : (w[k / 2 - 1] + w[k / 2]) / 2;
    }
    free(w);
    return true;
}

/* Pairs alerted in one run and not the other (both lists sorted). */
static void compare_pairs(const dc_encounter_t **a, size_t na, const dc_encounter_t **b, size_t nb,
                          size_t *only_a, size_t *only_b)
{
    size_t i = 0, j = 0;
    *only_a = *only_b = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : encounter_pair_cmp(&a[i], &b[j]);
        if (c < 0)
            (*only_a)++, i++;
        else if (c > 0)
            (*only_b)++, j++;
        else
            i++, j++;
    }
}

/* ---- the picture of one encounter ---- */

typedef struct pt {
    double t, lat, lon, alt;
} pt_t;

/* Track id's reports within [t0, t1], in time order. */
static pt_t *track_points(const cli_row_t *rows, size_t n, const char *id, double t0, double t1,
                          size_t *count)
{
    pt_t *p = malloc((n ? n : 1) * sizeof(*p));
    size_t k = 0;
    for (size_t i = 0; p && i < n; i++)
        if (strcmp(rows[i].st.id, id) == 0 && rows[i].st.t_s >= t0 && rows[i].st.t_s <= t1)
            p[k++] =
                (pt_t){rows[i].st.t_s, rows[i].st.lat_deg, rows[i].st.lon_deg, rows[i].st.alt_ft};
    *count = k;
    return p;
}

/* Track b at time t, linearly between its reports (clamped at the ends). */
static pt_t at_time(const pt_t *b, size_t n, double t)
{
    size_t j = 0;
    while (j + 1 < n && b[j + 1].t < t) j++;
    if (j + 1 >= n || t <= b[j].t) return b[j];
    double u = (t - b[j].t) / (b[j + 1].t - b[j].t);
    return (pt_t){t, b[j].lat + u * (b[j + 1].lat - b[j].lat),
                  b[j].lon + u * (b[j + 1].lon - b[j].lon),
                  b[j].alt + u * (b[j + 1].alt - b[j].alt)};
}

static double dist_nm(pt_t a, pt_t b)
{
    double x = (b.lon - a.lon) * cos((a.lat + b.lat) / 2 * M_PI / 180) * 60,
           y = (b.lat - a.lat) * 60;
    return sqrt(x * x + y * y);
}

/* text with XML's special characters escaped, cut to fit len. */
static void xml_text(const char *text, char *out, size_t len)
{
    size_t n = 0;
    for (; *text && n + 7 < len; text++) {
        const char *rep = *text == '&'   ? "&amp;"
                          : *text == '<' ? "&lt;"
                          : *text == '>' ? "&gt;"
                          : *text == '"' ? "&quot;"
                                         : NULL;
        if (rep)
            n += (size_t)snprintf(out + n, len - n, "%s", rep);
        else
            out[n++] = *text;
    }
    out[n] = '\0';
}

/* An SVG of the encounter between the pair: the two tracks in plan (north up) and their
 * altitudes over time, from 5 minutes before the first alert to 5 minutes after the last, the
 * closest point of approach marked in both. */
static int write_svg(const replay_opts_t *o, const dc_encounters_t *enc, const cli_row_t *rows,
                     size_t n_rows, const name_t *names, size_t n_names)
{
    char id1[DC_TRACK_ID_MAX], id2[DC_TRACK_ID_MAX];
    const char *comma = strchr(o->svg_pair, ',');
    snprintf(id1, sizeof(id1), "%.*s", (int)(comma - o->svg_pair), o->svg_pair);
    snprintf(id2, sizeof(id2), "%s", comma + 1);
    const dc_encounter_t *e = NULL;
    for (size_t i = 0; i < dc_encounters_count(enc) && !e; i++) {
        const dc_encounter_t *c = dc_encounters_get(enc, i);
        if ((!strcmp(c->id1, id1) && !strcmp(c->id2, id2)) ||
            (!strcmp(c->id1, id2) && !strcmp(c->id2, id1)))
            e = c;
    }
    if (!e) {
        fprintf(stderr, "deconflict replay: --svg: no encounter between %s and %s\n", id1, id2);
        return CLI_EXIT_DATA;
    }
    double t0 = e->first_alert_s - 300, t1 = e->last_seen_s + 300;
    size_t na, nb;
    pt_t *a = track_points(rows, n_rows, e->id1, t0, t1, &na);
    pt_t *b = track_points(rows, n_rows, e->id2, t0, t1, &nb);
    FILE *f = a && b && na && nb ? fopen(o->svg_out, "w") : NULL;
    if (!f) {
        fprintf(stderr, "deconflict replay: --svg: cannot draw (no reports, or cannot write %s)\n",
                o->svg_out);
        free(a), free(b);
        return CLI_EXIT_DATA;
    }
    /* The closest point of approach between the reports of both. */
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t i = 0; i < na; i++) {
        double d = dist_nm(a[i], at_time(b, nb, a[i].t));
        if (d < best_d) best_d = d, best = i;
    }
    pt_t ca = a[best], cb = at_time(b, nb, a[best].t);
    /* Plan: an equirectangular view around the CPA, scaled to fit. */
    double lat0 = ca.lat, lon0 = ca.lon, k = cos(lat0 * M_PI / 180), span = 1e-9;
    const pt_t *tracks[2] = {a, b};
    size_t counts[2] = {na, nb};
    double alt_lo = INFINITY, alt_hi = -INFINITY;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < counts[s]; i++) {
            span = fmax(span, fabs((tracks[s][i].lon - lon0) * k * 60));
            span = fmax(span, fabs((tracks[s][i].lat - lat0) * 60));
            alt_lo = fmin(alt_lo, tracks[s][i].alt), alt_hi = fmax(alt_hi, tracks[s][i].alt);
        }
    alt_lo -= 500, alt_hi += 500;
    static const char *const colour[2] = {"#1f5fbf", "#c0392b"};
    /* Names from the recording go into XML: escaped. */
    char cs[2][64], ids[2][64];
    xml_text(callsign_of(names, n_names, e->id1), cs[0], sizeof(cs[0]));
    xml_text(callsign_of(names, n_names, e->id2), cs[1], sizeof(cs[1]));
    xml_text(e->id1, ids[0], sizeof(ids[0]));
    xml_text(e->id2, ids[1], sizeof(ids[1]));
    char when[32];
    format_utc(ca.t, when, sizeof(when));
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"470\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"900\" height=\"470\" fill=\"white\"/>\n");
    fprintf(f,
            "<text x=\"10\" y=\"20\" font-size=\"15\">%s %s and %s %s: CPA %.2f NM / %.0f "
            "ft at %s UTC (minima %.1f NM / %.0f ft)</text>\n",
            ids[0], cs[0], ids[1], cs[1], best_d, fabs(ca.alt - cb.alt), when, o->cfg.rpz_nm,
            o->cfg.hpz_ft);
    /* Left: plan, 420 x 420 at (10, 40). */
    double scale = 200 / span;
    fprintf(f,
            "<g><rect x=\"10\" y=\"40\" width=\"420\" height=\"420\" fill=\"none\" "
            "stroke=\"#999\"/><text x=\"16\" y=\"56\">plan, north up (%.1f NM across)</text>\n",
            2 * span);
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]);
        for (size_t i = 0; i < counts[s]; i++)
            fprintf(f, "%.1f,%.1f ", 220 + (tracks[s][i].lon - lon0) * k * 60 * scale,
                    250 - (tracks[s][i].lat - lat0) * 60 * scale);
        fprintf(f, "\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n",
                224 + (tracks[s][0].lon - lon0) * k * 60 * scale,
                246 - (tracks[s][0].lat - lat0) * 60 * scale, colour[s], cs[s]);
    }
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\" "
            "stroke-dasharray=\"4 3\"/><text x=\"226\" y=\"270\">CPA %.2f NM</text></g>\n",
            220.0, 250.0, 220 + (cb.lon - lon0) * k * 60 * scale,
            250 - (cb.lat - lat0) * 60 * scale, best_d);
    /* Right: altitude over time, 440 x 420 at (450, 40). */
    fprintf(f,
            "<g><rect x=\"450\" y=\"40\" width=\"440\" height=\"420\" fill=\"none\" "
            "stroke=\"#999\"/><text x=\"456\" y=\"56\">altitude %.0f-%.0f ft over %.0f "
            "min</text>\n",
            alt_lo, alt_hi, (t1 - t0) / 60);
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]);
        for (size_t i = 0; i < counts[s]; i++)
            fprintf(f, "%.1f,%.1f ", 460 + (tracks[s][i].t - t0) / (t1 - t0) * 420,
                    450 - (tracks[s][i].alt - alt_lo) / (alt_hi - alt_lo) * 390);
        fprintf(f, "\"/>\n");
    }
    double xa = 460 + (e->first_alert_s - t0) / (t1 - t0) * 420,
           xc = 460 + (ca.t - t0) / (t1 - t0) * 420;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"60\" x2=\"%.1f\" y2=\"455\" stroke=\"#e67e22\"/>"
            "<text x=\"%.1f\" y=\"72\" fill=\"#e67e22\">first alert</text>\n"
            "<line x1=\"%.1f\" y1=\"60\" x2=\"%.1f\" y2=\"455\" stroke=\"black\" "
            "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"86\">CPA</text></g>\n</svg>\n",
            xa, xa, xa + 3, xc, xc, xc + 3);
    int rc = fclose(f) == 0 ? CLI_EXIT_OK : CLI_EXIT_DATA;
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "deconflict replay: wrote %s (CPA %.2f NM at %s UTC)\n", o->svg_out, best_d,
                when);
    free(a), free(b);
    return rc;
}

/* Reads an SBS-1 log into rows: each state the tracker completes is a row. */
static int load_sbs(const char *path, cli_row_t **rows, size_t *n_rows, size_t *n_bad)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "deconflict replay: cannot read %s\n", path);
        return CLI_EXIT_DATA;
    }
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 1e12);
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    *rows = NULL, *n_rows = 0, *n_bad = 0;
    long lineno = 0;
    int rc = tr ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    while (rc == CLI_EXIT_OK && cli_read_line(f, &line, &line_cap)) {
        lineno++;
        dc_sbs_msg_t m;
        dc_err_t e = dc_sbs_parse_line(line, strlen(line), &m);
        if (e == DC_ERR_INVALID) (*n_bad)++;
        if (e != DC_OK) continue;
        if (*n_rows == cap) {
            cap = cap ? 2 * cap : 4096;
            cli_row_t *grown = realloc(*rows, cap * sizeof(**rows));
            if (!grown) {
                rc = CLI_EXIT_INTERNAL;
                break;
            }
            *rows = grown;
        }
        cli_row_t *r = &(*rows)[*n_rows];
        memset(r, 0, sizeof(*r));
        if (dc_sbs_tracker_apply(tr, &m, &r->st, r->callsign)) r->line = lineno, (*n_rows)++;
    }
    free(line);
    fclose(f);
    dc_sbs_tracker_free(tr);
    return rc;
}

/* --operations: files every operation of OPS.json (the `deconflict strategic` format) as
 * active into a strategic engine, counting their overlaps with each other. */
static int load_operations(const replay_opts_t *o, dc_strategic_t **eng, size_t *overlaps,
                           size_t *n_ops)
{
    *eng = NULL, *overlaps = 0, *n_ops = 0;
    if (!o->ops_path) return CLI_EXIT_OK;
    FILE *f = fopen(o->ops_path, "rb");
    if (!f) {
        fprintf(stderr, "deconflict replay: cannot read %s\n", o->ops_path);
        return CLI_EXIT_DATA;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *text = malloc(cap);
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0)
        if ((len += got) == cap && len < (64u << 20)) text = realloc(text, cap *= 2);
    fclose(f);
    if (!text) return CLI_EXIT_INTERNAL;
    dc_operation_t *list = NULL;
    dc_strategic_error_t err;
    dc_err_t rc = dc_operation_list_parse_json(text, len, 100000, &list, n_ops, &err);
    free(text);
    if (rc != DC_OK) {
        fprintf(stderr, "deconflict replay: %s: %s%s%s\n", o->ops_path, err.field,
                err.field[0] ? ": " : "", err.message);
        return CLI_EXIT_DATA;
    }
    *eng = dc_strategic_new(NULL);
    for (size_t i = 0; *eng && i < *n_ops; i++) {
        list[i].state = DC_OP_ACTIVE;
        dc_strategic_result_t res;
        if (dc_strategic_file(*eng, &list[i], &res) == DC_OK) {
            *overlaps += res.n_conflicts;
            dc_strategic_result_clear(&res);
        }
    }
    dc_operation_list_free(list, *n_ops);
    return *eng ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

/* key then t (3 decimals), or null when t is NAN. */
static void json_time_or_null(const char *key, double t)
{
    if (isnan(t))
        printf("%snull", key);
    else
        printf("%s%.3f", key, t);
}

static void print_intrusions(const replay_opts_t *o, const run_t *r, const name_t *names,
                             size_t n_names)
{
    char t0[32], t1[32];
    FILE *out = o->format == OUT_CSV ? stderr : stdout;
    if (o->format == OUT_JSON) {
        printf(",\n\"intrusions\":[");
        for (size_t i = 0; i < r->n_intr; i++) {
            const intrusion_t *x = &r->intr[i];
            printf("%s\n {\"id\":", i ? "," : "");
            json_str(x->id);
            printf(",\"callsign\":");
            json_str(callsign_of(names, n_names, x->id));
            printf(",\"operation\":");
            json_str(x->op);
            printf(",\"operation_party\":");
            json_str(x->op_party);
            printf(",\"level\":\"%s\",\"first_s\":%.3f,\"last_s\":%.3f,\"reports\":%zu",
                   dc_entry_level_name(x->level), x->first_s, x->last_s, x->reports);
            json_time_or_null(",\"first_warning_s\":", x->first_warning_s);
            json_time_or_null(",\"entry_s\":", x->entry_s);
            if (!isnan(x->entry_s))
                json_time_or_null(",\"warning_s\":", isnan(x->first_warning_s)
                                                         ? 0.0
                                                         : x->entry_s - x->first_warning_s);
            printf("}");
        }
        printf("\n]");
        return;
    }
    fprintf(out, "\naircraft in or predicted into another party's operation:\n");
    for (size_t i = 0; i < r->n_intr; i++) {
        const intrusion_t *x = &r->intr[i];
        format_utc(x->first_s, t0, sizeof(t0));
        format_utc(x->last_s, t1, sizeof(t1));
        fprintf(out, "  %s .. %s  %-6s %-8s %-8s %s (party %s), %zu reports", t0, t1 + 11, x->id,
                callsign_of(names, n_names, x->id), dc_entry_level_name(x->level), x->op,
                x->op_party, x->reports);
        if (!isnan(x->entry_s))
            fprintf(out, "; entered %.0f s after the first alert, warned %.0f s before\n",
                    x->entry_s - x->first_s,
                    isnan(x->first_warning_s) ? 0.0 : x->entry_s - x->first_warning_s);
        else
            fprintf(out, "; predicted, never entered\n");
    }
}

static bool is_sbs(const char *path)
{
    FILE *f = fopen(path, "r");
    char head[8] = "";
    bool sbs = f && fgets(head, sizeof(head), f) &&
               (strncmp(head, "MSG,", 4) == 0 || strncmp(head, "STA,", 4) == 0 ||
                strncmp(head, "SEL,", 4) == 0 || strncmp(head, "ID,", 3) == 0 ||
                strncmp(head, "AIR,", 4) == 0 || strncmp(head, "CLK,", 4) == 0);
    if (f) fclose(f);
    return sbs;
}

/* --daemon: the recording goes to a running daemon as live positions instead, as `deconflict
 * feed` sends it (which does the work): the window, the speed, the sides become the parties. */
static int replay_to_daemon(const replay_opts_t *o)
{
    if (is_sbs(o->path)) {
        fprintf(stderr, "deconflict replay: --daemon takes a traffic CSV; for an SBS-1 source "
                        "use deconflict feed sbs\n");
        return CLI_EXIT_USAGE;
    }
    if (o->n_tokens == 0) {
        fprintf(stderr, "deconflict replay: --daemon needs at least one --token\n");
        return CLI_EXIT_USAGE;
    }
    char from[32], to[32];
    const char *args[40];
    int n = 0;
    args[n++] = "feed", args[n++] = o->path, args[n++] = "--to", args[n++] = o->daemon;
    for (int i = 0; i < o->n_tokens; i++) args[n++] = "--token", args[n++] = o->tokens[i];
    if (o->speed) args[n++] = "--speed", args[n++] = o->speed;
    if (isfinite(o->from_s)) {
        snprintf(from, sizeof(from), "%.3f", o->from_s);
        args[n++] = "--from", args[n++] = from;
    }
    if (isfinite(o->to_s)) {
        snprintf(to, sizeof(to), "%.3f", o->to_s);
        args[n++] = "--to-time", args[n++] = to;
    }
    if (o->sides == SIDES_PREFIX) args[n++] = "--split", args[n++] = "prefix";
    /* An ASTERIX recording's day and CAT021 edition go along (its radar sites do not). */
    char date[16];
    if (!isnan(o->date_s)) {
        time_t day = (time_t)o->date_s;
        struct tm tm;
        gmtime_r(&day, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        args[n++] = "--date", args[n++] = date;
    }
    if (o->ax.cat021_edition != DC_ASTERIX_CAT021_V2)
        args[n++] = "--cat021-edition",
        args[n++] = o->ax.cat021_edition == DC_ASTERIX_CAT021_V026 ? "0.26" : "0.23";
    args[n] = NULL;
    return cli_feed(n, (char **)args);
}

/* --states-out: every state the recording gave, in time order, as the normalized traffic CSV
 * (../shared/data/traffic's format): a recording in any input format, merged into aircraft,
 * for other tools and for comparing decoders. */
static int write_states(const char *path, const cli_row_t *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "deconflict replay: cannot write %s\n", path);
        return CLI_EXIT_DATA;
    }
    fputs("t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n", f);
    for (size_t i = 0; i < n; i++) {
        const dc_track_state_t *s = &rows[i].st;
        char id[DC_TRACK_ID_MAX];
        size_t k = 0;
        for (; s->id[k] && k + 1 < sizeof(id); k++) id[k] = (char)tolower((unsigned char)s->id[k]);
        id[k] = 0;
        fprintf(f, "%.3f,%s,%s,%.7f,%.7f,%.0f,%.2f,%.2f,%.0f\n", s->t_s, id, rows[i].callsign,
                s->lat_deg, s->lon_deg, s->alt_ft, s->gs_kt, s->trk_deg, s->vs_fpm);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "deconflict replay: cannot write %s\n", path);
        return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

int cli_replay(int argc, char **argv)
{
    replay_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_EXIT_OK) return rc;
    if (o.daemon) return replay_to_daemon(&o);

    cli_row_t *rows = NULL;
    size_t n_rows = 0, n_skipped = 0;
    bool sbs = is_sbs(o.path), beast = !sbs && cli_is_beast(o.path),
         asterix = !sbs && !beast && dc_asterix_file_looks_like(o.path);
    rc = sbs       ? load_sbs(o.path, &rows, &n_rows, &n_skipped)
         : beast   ? cli_load_beast(o.path, o.t0_s, &rows, &n_rows, &n_skipped)
         : asterix ? cli_load_asterix(o.path, &o.ax, o.date_s, &rows, &n_rows, &n_skipped)
                   : cli_load_rows(o.path, DC_TRACKCSV_TRAFFIC, &rows, &n_rows, &n_skipped);
    if (rc != CLI_EXIT_OK) {
        free(rows);
        return rc;
    }
    if (n_rows > 1) qsort(rows, n_rows, sizeof(cli_row_t), row_time_cmp);
    if (o.states_out && (rc = write_states(o.states_out, rows, n_rows)) != CLI_EXIT_OK) {
        free(rows);
        return rc;
    }

    /* Callsign by id, for the report: the last non-empty callsign each aircraft sent. */
    name_t *names = malloc((n_rows ? n_rows : 1) * sizeof(name_t));
    size_t n_names = 0, n_sides = 0;
    side_t *sides = NULL;
    run_t run = {0}, run2 = {0};
    dc_strategic_t *ops = NULL;
    cli_cat004_t *cat004 = NULL;
    size_t op_conflicts = 0, n_ops = 0;
    const dc_encounter_t **pairs = NULL, **pairs2 = NULL;
    if (!names) {
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
    if (o.sides != SIDES_NONE &&
        !(sides = assign_sides(&o, rows, n_rows, names, n_names, &n_sides))) {
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }

    rc = load_operations(&o, &ops, &op_conflicts, &n_ops);
    if (rc != CLI_EXIT_OK) goto out;
    names_ref_t nref = {names, n_names};
    if (o.cat004_out && o.raw) {
        fprintf(stderr, "deconflict replay: --cat004 writes graded alerts: not with --raw\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (o.cat004_out &&
        !(cat004 = cli_cat004_open(o.cat004_out, o.cat004_sac, o.cat004_sic, rows, n_rows))) {
        rc = CLI_EXIT_DATA;
        goto out;
    }
    rc = run_replay(&o, &o.cfg, rows, n_rows, ops, sides, n_sides, &run, cat004, &nref);
    if (cat004) {
        int crc = cli_cat004_close(cat004, o.cat004_out);
        cat004 = NULL;
        if (rc == CLI_EXIT_OK) rc = crc;
    }
    if (rc != CLI_EXIT_OK) goto out;
    print_encounters(&o, run.enc, names, n_names, sides, n_sides);
    if (o.svg_pair && (rc = write_svg(&o, run.enc, rows, n_rows, names, n_names)) != CLI_EXIT_OK)
        goto out;
    if (ops) print_intrusions(&o, &run, names, n_names);
    totals_t t, t2 = {0};
    if (!(pairs = pairs_of(run.enc, sides, n_sides, &t))) {
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }
    size_t only_1 = 0, only_2 = 0;
    dc_tactical_config_t cfg2 = o.cfg;
    if (o.compare) {
        cfg2.rpz_nm = o.compare_h_nm, cfg2.hpz_ft = o.compare_v_ft;
        rc = run_replay(&o, &cfg2, rows, n_rows, NULL, sides, n_sides, &run2, NULL, &nref);
        if (rc != CLI_EXIT_OK || !(pairs2 = pairs_of(run2.enc, sides, n_sides, &t2))) {
            rc = CLI_EXIT_INTERNAL;
            goto out;
        }
        compare_pairs(pairs, t.pairs, pairs2, t2.pairs, &only_1, &only_2);
    }
    double hours = run.passes > 1 ? (run.passes - 1) * o.step_s / 3600.0 : 0.0;
    levels_t lv;
    if (!level_totals(run.enc, &lv)) {
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }
    double per_h = hours > 0 ? 1 / hours : 0;
    size_t ib[3] = {0}; /* intrusions by the highest level reached */
    for (size_t i = 0; i < run.n_intr; i++) ib[run.intr[i].level]++;
    char t0[32] = "-", t1[32] = "-";
    if (run.passes) {
        format_utc(run.start, t0, sizeof(t0));
        format_utc(run.start + o.step_s * (run.passes - 1), t1, sizeof(t1));
    }
    if (o.format == OUT_JSON) {
        printf(",\n\"totals\":{\"from\":\"%s\",\"to\":\"%s\",\"passes\":%zu,\"step_s\":%.1f,"
               "\"minima\":{\"h_nm\":%.2f,\"v_ft\":%.0f},\"lookahead_s\":%.0f,\"reports\":%zu,"
               "\"skipped\":%zu,\"aircraft\":%zu,\"encounters\":%zu,\"pairs\":%zu,"
               "\"alerts_per_hour\":%.1f,\"losses\":%zu",
               t0, t1, run.passes, o.step_s, o.cfg.rpz_nm, o.cfg.hpz_ft, o.cfg.lookahead_s, run.fed,
               n_skipped, n_names, t.encounters, t.pairs, hours > 0 ? t.encounters / hours : 0.0,
               t.losses);
        if (!o.raw) {
            printf(",\"alerts_per_hour_by_level\":{\"advisory\":%.2f,\"warning\":%.2f,"
                   "\"loss\":%.2f},\"warnings_per_hour\":%.2f,\"losses_warned\":%zu,"
                   "\"losses_unwarned\":%zu",
                   lv.by_level[1] * per_h, lv.by_level[2] * per_h, lv.by_level[3] * per_h,
                   (lv.by_level[2] + lv.by_level[3]) * per_h, lv.warned_losses, lv.unwarned_losses);
            if (lv.warned_losses)
                printf(",\"warning_time_s\":{\"min\":%.0f,\"median\":%.0f,\"max\":%.0f}",
                       lv.warn_min_s, lv.warn_median_s, lv.warn_max_s);
        }
        if (o.sides != SIDES_NONE) printf(",\"cross_side_encounters\":%zu", t.cross);
        if (ops)
            printf(",\"operations\":%zu,\"operation_conflicts\":%zu,\"intrusions\":%zu,"
                   "\"intrusions_by_level\":{\"advisory\":%zu,\"warning\":%zu,\"inside\":%zu}",
                   n_ops, op_conflicts, run.n_intr, ib[0], ib[1], ib[2]);
        printf("}");
        if (o.compare)
            printf(",\n\"compare\":{\"minima\":{\"h_nm\":%.2f,\"v_ft\":%.0f},\"encounters\":%zu,"
                   "\"pairs\":%zu,\"losses\":%zu,\"pairs_only_first\":%zu,"
                   "\"pairs_only_second\":%zu}",
                   cfg2.rpz_nm, cfg2.hpz_ft, t2.encounters, t2.pairs, t2.losses, only_1, only_2);
        printf("}\n");
    } else {
        FILE *out = o.format == OUT_CSV ? stderr : stdout;
        fprintf(out,
                "\nsummary: %s .. %s UTC, %zu passes every %.0f s; R %.2f NM, H %.0f ft, T %.0f s\n"
                "  reports fed %zu (skipped %zu %s); aircraft %zu\n"
                "  encounters %zu, pairs alerted %zu, alerts per hour %.1f, losses of separation "
                "%zu\n",
                t0, t1, run.passes, o.step_s, o.cfg.rpz_nm, o.cfg.hpz_ft, o.cfg.lookahead_s,
                run.fed, n_skipped,
                sbs       ? "malformed lines"
                : beast   ? "refused frames"
                : asterix ? "malformed datagrams"
                          : "incomplete rows",
                n_names, t.encounters, t.pairs, hours > 0 ? t.encounters / hours : 0.0, t.losses);
        if (!o.raw) {
            fprintf(out,
                    "  graded alerting (warning %.0f s, hold %.0f s, altitude step %.0f ft): per "
                    "hour %.1f advisory, %.1f warning, %.1f loss (%.1f reached warning or loss)\n",
                    o.acfg.warning_s, o.acfg.hold_s, o.alt_step_ft, lv.by_level[1] * per_h,
                    lv.by_level[2] * per_h, lv.by_level[3] * per_h,
                    (lv.by_level[2] + lv.by_level[3]) * per_h);
            fprintf(out, "  losses warned before they began %zu, not warned before %zu",
                    lv.warned_losses, lv.unwarned_losses);
            if (lv.warned_losses)
                fprintf(out, "; warning time min %.0f s, median %.0f s, max %.0f s", lv.warn_min_s,
                        lv.warn_median_s, lv.warn_max_s);
            fprintf(out, "\n");
        }
        if (o.sides != SIDES_NONE)
            fprintf(out, "  between sides A and B: %zu of the %zu encounters\n", t.cross,
                    t.encounters);
        if (ops)
            fprintf(out,
                    "  operations %zu, overlapping each other %zu times; intrusions into another "
                    "party's operation %zu: %zu entered, %zu predicted within the warning time, "
                    "%zu advisories\n",
                    n_ops, op_conflicts, run.n_intr, ib[2], ib[1], ib[0]);
        if (o.compare)
            fprintf(out,
                    "  with R %.2f NM, H %.0f ft instead: encounters %zu, pairs %zu, losses %zu; "
                    "%zu pairs only with the first minima, %zu only with the second\n",
                    cfg2.rpz_nm, cfg2.hpz_ft, t2.encounters, t2.pairs, t2.losses, only_1, only_2);
    }
out:
    if (rc == CLI_EXIT_INTERNAL) fprintf(stderr, "deconflict: out of memory\n");
    free(pairs), free(pairs2);
    dc_encounters_free(run.enc);
    dc_encounters_free(run2.enc);
    free(run.intr), free(run2.intr);
    dc_strategic_free(ops);
    if (cat004) cli_cat004_close(cat004, o.cat004_out);
    free(sides);
    free(names);
    free(rows);
    return rc;
}
