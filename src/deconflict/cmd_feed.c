/* deconflict feed: recorded traffic into a running deconflictd, as live positions.
 *
 *   deconflict feed TRACKS.csv --to URL[,URL...] --token T [--token T2 ...] [--speed X]
 *                   [--from T0] [--to-time T1] [--split alternate|prefix]
 *   deconflict feed sbs|beast HOST:PORT --to URL[,URL...] --token T [--seconds S]
 *
 * Several URLs are several nodes of one service (docs/deployment.md): a batch goes to the node
 * in use, and when it cannot be reached or answers 5xx, to the next one, the same batch, so a
 * node's death loses no report.
 *
 * Rows (normalized traffic CSV) are replayed in time order at X times real time: every wall
 * second the rows of the next X seconds of recording go out as one POST /v1/positions per
 * party, with their report times rewritten to the present (the daemon detects against its
 * clock). Aircraft are split between the parties given by their tokens: `alternate` deals
 * ICAO addresses out in turn as they first appear; `prefix` gives callsigns whose first letter
 * sorts in the first half of the alphabet to the first party. Speeds above 1 compress time:
 * each pass still predicts from the reported velocities, so alerts are right for the moment
 * of each report, but they come X times as often. */
#include "cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deconflict/asterix.h"
#include "deconflict/feedreader.h"
#include "deconflict/sbs.h"
#include "replay_asterix.h"
#include "replay_beast.h"

#define MAX_PARTIES 8

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* For timing a stream's frames against each other: never stepped by the wall clock. */
static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct batch {
    char *s;
    size_t len, cap, n;
} batch_t;

static bool batch_add(batch_t *b, const cli_row_t *r, double t_s)
{
    char item[512];
    int k = snprintf(item, sizeof(item),
                     "%s{\"track_id\":\"%s\",\"t\":%.3f,\"lat\":%.6f,\"lon\":%.6f,\"alt_ft\":%.0f,"
                     "\"gs_kt\":%.1f,\"trk_deg\":%.1f,\"vs_fpm\":%.0f%s%s%s}",
                     b->n ? "," : "[", r->st.id, t_s, r->st.lat_deg, r->st.lon_deg, r->st.alt_ft,
                     r->st.gs_kt, round(r->st.trk_deg * 10) / 10 >= 360 ? 0 : r->st.trk_deg,
                     r->st.vs_fpm, r->callsign[0] ? ",\"callsign\":\"" : "", r->callsign,
                     r->callsign[0] ? "\"" : "");
    if (k < 0 || (size_t)k >= sizeof(item)) return false;
    if (b->len + (size_t)k + 2 > b->cap) {
        size_t cap = (b->len + (size_t)k + 2) * 2;
        char *s = realloc(b->s, cap);
        if (!s) return false;
        b->s = s, b->cap = cap;
    }
    memcpy(b->s + b->len, item, (size_t)k + 1);
    b->len += (size_t)k;
    b->n++;
    return true;
}

/* The service's answer to a batch, kept up to a bound: enough for the counts and the first
 * refusal's words; a longer answer is cut, never grown. */
#define ANSWER_MAX 65536

typedef struct answer {
    char text[ANSWER_MAX];
    size_t len;
} answer_t;

static size_t keep_answer(char *p, size_t size, size_t n, void *ud)
{
    answer_t *a = ud;
    size_t take = size * n;
    if (take > ANSWER_MAX - 1 - a->len) take = ANSWER_MAX - 1 - a->len;
    memcpy(a->text + a->len, p, take);
    a->len += take;
    a->text[a->len] = '\0';
    return size * n;
}

/* The service's nodes: the base URL of each of --to, and the one in use. */
#define MAX_NODES 8
typedef struct endpoints {
    char url[MAX_NODES][1024];
    int n, cur;
} endpoints_t;

/* list: base URLs separated by commas. false when there are none or too many. */
static bool endpoints_parse(endpoints_t *e, const char *list)
{
    e->n = e->cur = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(e->url[0]) - 32 || e->n == MAX_NODES) return false;
        snprintf(e->url[e->n++], sizeof(e->url[0]), "%.*s", (int)len, p);
        p += len + (p[len] == ',');
    }
    return e->n > 0;
}

/* Sends body (len bytes of JSON) with method to path as token's party: to the node in use,
 * and on to the next ones while a node cannot be reached or answers 5xx (said). The last
 * node's answer is in a; returns its HTTP status (0: no node reached). */
static long send_json(CURL *curl, endpoints_t *e, const char *token, const char *method,
                      const char *path, const char *body, size_t len, answer_t *a)
{
    char auth[128], url[1100];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    long status = 0;
    for (int tried = 0; tried < e->n; tried++) {
        snprintf(url, sizeof(url), "%s%s", e->url[e->cur], path);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        a->len = 0, a->text[0] = '\0';
        status = 0;
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status && status < 500) break;
        int next = (e->cur + 1) % e->n;
        if (e->n > 1)
            fprintf(stderr, "\ndeconflict feed: %s %s; on to %s\n", url,
                    status ? "answered 5xx" : "unreachable", e->url[next]);
        e->cur = next;
    }
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL); /* the handle's next request: a POST */
    curl_slist_free_all(h);
    return status;
}

/* POSTs the batch to the service (send_json); returns the last HTTP status (0: no node
 * reached). The batch is emptied. */
static long post(CURL *curl, endpoints_t *e, const char *token, batch_t *b, answer_t *a)
{
    strcpy(b->s + b->len, "]");
    long status = send_json(curl, e, token, "POST", "/v1/positions", b->s, b->len + 1, a);
    b->len = 0, b->n = 0;
    return status;
}

/* The first refusal's words, said once at the end: why reports were refused (a time out of the
 * service's range, a wrong token...). */
static char first_refusal[300];

static void note_refusal(const char *why)
{
    if (!first_refusal[0] && why) snprintf(first_refusal, sizeof(first_refusal), "%s", why);
}

/* Posts the batch and counts its reports as sent or refused, each report the service refused
 * within an accepted batch too; returns the HTTP status. */
static long flush(CURL *curl, endpoints_t *endpoint, const char *token, batch_t *b, size_t *sent,
                  size_t *refused)
{
    static answer_t a;
    size_t n = b->n;
    long status = post(curl, endpoint, token, b, &a);
    json_t *j = json_loadb(a.text, a.len, 0, NULL);
    if (status == 200) {
        json_t *rej = json_object_get(j, "rejected");
        size_t k = json_array_size(rej);
        *sent += n - (k < n ? k : n);
        *refused += k < n ? k : n;
        if (k) note_refusal(json_string_value(json_object_get(json_array_get(rej, 0), "detail")));
    } else {
        *refused += n;
        char why[300];
        snprintf(why, sizeof(why), "HTTP %ld%s%s", status, j ? ": " : "",
                 j ? json_string_value(json_object_get(j, "detail")) : "");
        if (status) note_refusal(why);
    }
    json_decref(j);
    return status;
}

/* Whether status says the token is not taken (401) or may not do this (403): nothing more of
 * this feed will be, so it stops at once and says so. which: the token's place among the
 * --token flags (1 for the first), named instead of any of the token's characters. */
static bool token_refused(long status, int which)
{
    if (status != 401 && status != 403) return false;
    fprintf(stderr,
            "\ndeconflict feed: the service refused --token number %d (HTTP %ld): check it "
            "(deconflict party add prints a party's token once)\n",
            which, status);
    return true;
}

/* Says why reports were refused, if any were. */
static void print_refusal(void)
{
    if (first_refusal[0]) fprintf(stderr, "feed: the first refusal: %s\n", first_refusal);
}

static int row_cmp(const void *a, const void *b)
{
    double ta = ((const cli_row_t *)a)->st.t_s, tb = ((const cli_row_t *)b)->st.t_s;
    return ta < tb ? -1 : ta > tb;
}

/* ICAO address -> party, dealt out in turn on first sight: a small open-addressing table. */
typedef struct assign {
    char id[DC_TRACK_ID_MAX];
    int party;
} assign_t;

static int party_of(assign_t *tab, size_t cap, size_t *next, const cli_row_t *r, int n_parties,
                    bool by_prefix)
{
    if (by_prefix) return r->callsign[0] && r->callsign[0] >= 'N' ? 1 % n_parties : 0;
    size_t h = 5381;
    for (const char *p = r->st.id; *p; p++) h = h * 33 + (unsigned char)*p;
    for (size_t i = h % cap, probes = 0; probes < cap; i = (i + 1) % cap, probes++) {
        if (!tab[i].id[0]) {
            /* Keep one slot empty so every search ends; past that, the hash deals (still the
             * same party for the same aircraft). */
            if (*next + 1 >= cap) break;
            snprintf(tab[i].id, sizeof(tab[i].id), "%s", r->st.id);
            tab[i].party = (int)((*next)++ % (size_t)n_parties);
            return tab[i].party;
        }
        if (strcmp(tab[i].id, r->st.id) == 0) return tab[i].party;
    }
    return (int)(h % (size_t)n_parties);
}

/* ---- deconflict feed sbs|beast: a receiver's SBS-1 or Beast port forwarded to a daemon ---- */

/* A merged state, stamped with the time received (dump1090 writes local time; a Beast frame's
 * counter has no epoch), into the batch the next post sends. */
typedef struct forward {
    dc_sbs_tracker_t *tr;
    batch_t *b;
} forward_t;

static void forward_message(const dc_sbs_msg_t *m, void *ctx)
{
    forward_t *fw = ctx;
    cli_row_t row;
    memset(&row, 0, sizeof(row));
    if (dc_sbs_tracker_apply(fw->tr, m, &row.st, row.callsign)) batch_add(fw->b, &row, wall_now());
}

/* Sets (body: its JSON) or clears (body NULL) the replay clock of the party of token (which:
 * its place among the --token flags) at the service: PUT or DELETE /v1/party/replay-clock
 * (docs/service.md, "Replays"), through send_json as positions are. A feed of a recording sets it:
 * a report of the recording's time t goes out with the service's time service_start_s + (t -
 * recording_start_s) / speed, and the party's console then shows the recording's own times. A live
 * feed clears it. A service that does not take it is said, and the feed goes on: only the times
 * shown differ. */
static void replay_clock_request(CURL *curl, endpoints_t *e, const char *token, int which,
                                 const char *body)
{
    static answer_t a;
    long status = send_json(curl, e, token, body ? "PUT" : "DELETE", "/v1/party/replay-clock",
                            body ? body : "", body ? strlen(body) : 0, &a);
    if (status == 200) return;
    json_t *j = json_loadb(a.text, a.len, 0, NULL);
    const char *why = json_string_value(json_object_get(j, "detail"));
    fprintf(stderr,
            "feed: the service did not %s the replay clock of --token number %d (HTTP %ld%s%s): "
            "its console shows %s\n",
            body ? "take" : "clear", which, status, why ? ": " : "", why ? why : "",
            body ? "the service's times, not the recording's" : "the times of an earlier replay");
    json_decref(j);
}

/* deconflict feed sbs|beast HOST:PORT --to URL --token T [--seconds S]: reads the receiver's
 * SBS-1 lines or Beast frames (the library's reader of that kind, deconflict/feedreader.h),
 * merges them into aircraft (lib/feeds/sbs.c) and posts the states every second as the token's
 * party; reconnects with a backoff when the receiver drops; runs until interrupted (or for S
 * seconds). Prints counts to stderr every 10 s and at the end. */
/* ", N repaired" for a Beast source (its frames repaired of a single-bit CRC error), "" for an
 * SBS-1 one; written into buf. */
static const char *repaired_note(dc_feed_kind_t kind, const dc_feed_counts_t *c, char *buf,
                                 size_t size)
{
    buf[0] = '\0';
    if (kind == DC_FEED_BEAST)
        snprintf(buf, size, ", %llu repaired", (unsigned long long)c->corrected);
    return buf;
}

static int feed_source(dc_feed_kind_t kind, int argc, char **argv)
{
    const char *name = dc_feed_kind_name(kind), *unit = kind == DC_FEED_BEAST ? "frames" : "lines";
    const char *src = NULL, *url = NULL, *token = NULL;
    double seconds = INFINITY;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' && !src)
            src = a;
        else if (v && strcmp(a, "--to") == 0)
            url = v, i++;
        else if (v && strcmp(a, "--token") == 0)
            token = v, i++;
        else if (v && strcmp(a, "--seconds") == 0) {
            if (!cli_parse_number(a, v, &seconds) || seconds <= 0) return CLI_EXIT_USAGE;
            i++;
        } else {
            fprintf(stderr, "deconflict feed %s: unexpected argument '%s'\n", name, a);
            return CLI_EXIT_USAGE;
        }
    }
    char host[256], port[16];
    const char *colon = src ? strrchr(src, ':') : NULL;
    if (!src || !url || !token || !colon || colon == src || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= sizeof(port) || (size_t)(colon - src) >= sizeof(host)) {
        fprintf(stderr,
                "usage: deconflict feed %s HOST:PORT --to URL[,URL...] --token T [--seconds S]\n",
                name);
        return CLI_EXIT_USAGE;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - src), src);
    snprintf(port, sizeof(port), "%s", colon + 1);
    static endpoints_t endpoint;
    if (!endpoints_parse(&endpoint, url)) {
        fprintf(stderr, "deconflict feed %s: --to: 1-%d URLs separated by commas\n", name,
                MAX_NODES);
        return CLI_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = cli_curl_new();
    if (curl) curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L); /* a hung daemon does not stall us */
    /* Live: the party's console shows the service's times again, not an earlier replay's. */
    if (curl) replay_clock_request(curl, &endpoint, token, 1, NULL);
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    dc_feed_reader_t *in = dc_feed_reader_new(kind);
    batch_t b = {0};
    forward_t fw = {tr, &b};
    size_t sent = 0, refused = 0;
    bool auth_failed = false;
    double start = wall_now(), last_post = start, last_report = start, backoff = 1;
    int fd = -1;
    dc_feed_counts_t c = {0};
    char note[48];
    while (curl && tr && in && wall_now() - start < seconds) {
        if (fd < 0) {
            fd = dc_sbs_connect(host, port, 2);
            if (fd < 0) {
                fprintf(stderr, "feed %s: cannot connect to %s:%s; retrying in %.0f s\n", name,
                        host, port, backoff);
                usleep((useconds_t)(backoff * 1e6));
                backoff = fmin(30, backoff * 2);
                continue;
            }
            backoff = 1;
            dc_feed_reader_reset(in);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0 &&
            dc_feed_reader_read(in, fd, mono_now(), forward_message, &fw) != DC_OK) {
            close(fd), fd = -1;
            fprintf(stderr, "feed %s: %s:%s closed the connection; reconnecting in %.0f s\n", name,
                    host, port, backoff);
            usleep((useconds_t)(backoff * 1e6));
            backoff = fmin(30, backoff * 2);
            continue;
        }
        double now = wall_now();
        if (b.n && now - last_post >= 1) {
            long st = flush(curl, &endpoint, token, &b, &sent, &refused);
            if (token_refused(st, 1)) {
                auth_failed = true;
                break;
            }
            if (st != 200) fprintf(stderr, "feed %s: the daemon answered %ld\n", name, st);
            last_post = now;
        }
        if (now - last_report >= 10) {
            dc_feed_reader_counts(in, &c);
            dc_sbs_tracker_expire(tr, c.latest_msg_s); /* on the messages' own clock */
            fprintf(stderr,
                    "feed %s: %llu %s (%llu malformed%s), %zu states sent, %zu refused, "
                    "%zu aircraft\n",
                    name, (unsigned long long)c.units, unit, (unsigned long long)c.bad,
                    repaired_note(kind, &c, note, sizeof(note)), sent, refused,
                    dc_sbs_tracker_count(tr));
            last_report = now;
        }
    }
    if (curl && b.n && !auth_failed &&
        token_refused(flush(curl, &endpoint, token, &b, &sent, &refused), 1))
        auth_failed = true;
    if (in) {
        dc_feed_reader_counts(in, &c);
        fprintf(stderr, "feed %s: done, %llu %s (%llu malformed%s), %zu states sent, %zu refused\n",
                name, (unsigned long long)c.units, unit, (unsigned long long)c.bad,
                repaired_note(kind, &c, note, sizeof(note)), sent, refused);
    }
    print_refusal();
    if (fd >= 0) close(fd);
    free(b.s);
    dc_feed_reader_free(in);
    dc_sbs_tracker_free(tr);
    if (curl) curl_easy_cleanup(curl);
    if (!auth_failed && sent == 0)
        fprintf(stderr, "deconflict feed %s: nothing was forwarded (%s)\n", name,
                c.units ? "no state was accepted" : "nothing was received from the source");
    return refused || auth_failed || sent == 0 ? CLI_EXIT_DATA : CLI_EXIT_OK;
}

/* Where a feed of a recording is: the recording's own UTC time and how far through it, what was
 * sent, how many aircraft. Rewritten in place on a terminal; a line every 10 s of wall time
 * otherwise (a log, make demo's output piped), so a long feed is never silent. */
static void feed_progress(double at_s, double end_s, double t0_s, size_t sent, size_t refused,
                          size_t aircraft)
{
    static double last_line_wall;
    bool tty = isatty(fileno(stderr));
    double now = wall_now();
    if (!tty && now - last_line_wall < 10) return;
    last_line_wall = now;
    char when[32] = "?";
    time_t t = (time_t)at_s;
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(when, sizeof(when), "%H:%M:%SZ", &tm);
    double span = end_s > t0_s ? end_s - t0_s : 0;
    char pct[16] = "";
    if (span > 0) snprintf(pct, sizeof(pct), " (%.0f%%)", 100 * (at_s - t0_s) / span);
    fprintf(stderr, "%sfeed: recording at %s%s, %zu reports sent, %zu refused, %zu aircraft%s",
            tty ? "\r" : "", when, pct, sent, refused, aircraft, tty ? "   " : "\n");
}

int cli_feed(int argc, char **argv)
{
    dc_feed_kind_t kind;
    if (argc > 1 && dc_feed_kind_parse(argv[1], &kind))
        return feed_source(kind, argc - 1, argv + 1);
    const char *path = NULL, *url = NULL, *tokens[MAX_PARTIES];
    int n_tokens = 0;
    double speed = 1, from_s = -INFINITY, to_s = INFINITY;
    bool by_prefix = false, replay_clock = true;
    dc_asterix_config_t ax = {0};
    double date_s = NAN;
    for (int i = 1; i < argc; i++) {
        int r = cli_asterix_flag(argc, argv, &i, &ax);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r) continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (a[0] != '-' && !path) {
            path = a;
            continue;
        }
        if (strcmp(a, "--no-replay-clock") == 0) {
            replay_clock = false;
            continue;
        }
        if (!v)
            ok = false;
        else if (strcmp(a, "--to") == 0)
            url = v;
        else if (strcmp(a, "--token") == 0 && n_tokens < MAX_PARTIES)
            tokens[n_tokens++] = v;
        else if (strcmp(a, "--speed") == 0)
            ok = cli_parse_number(a, v, &speed) && speed > 0;
        else if (strcmp(a, "--from") == 0)
            ok = cli_parse_time(a, v, &from_s);
        else if (strcmp(a, "--to-time") == 0)
            ok = cli_parse_time(a, v, &to_s);
        else if (strcmp(a, "--date") == 0) { /* the day of a raw ASTERIX recording */
            char day[40];
            ok = strlen(v) == 10 && snprintf(day, sizeof(day), "%sT00:00:00Z", v) > 0 &&
                 cli_parse_time(a, day, &date_s);
        } else if (strcmp(a, "--split") == 0 && (!strcmp(v, "alternate") || !strcmp(v, "prefix")))
            by_prefix = strcmp(v, "prefix") == 0;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "deconflict feed: bad or missing value for '%s'\n", a);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    if (!path || !url || n_tokens == 0) {
        fprintf(
            stderr,
            "usage: deconflict feed TRACKS.csv|ASTERIX|CAPTURE.beast --to URL[,URL...] --token T "
            "[--token T2 "
            "...]\n"
            "       [--speed X] [--from T0] [--to-time T1] [--split alternate|prefix]\n"
            "       [--date YYYY-MM-DD] [--cat021-edition E] [--radar SAC/SIC:LAT,LON[,ALT_FT]]\n"
            "       [--no-replay-clock]\n");
        return CLI_EXIT_USAGE;
    }
    cli_row_t *rows = NULL;
    size_t n_rows = 0, n_skipped = 0;
    /* An ASTERIX recording or a Beast capture is merged into rows as replay merges it
     * (replay_asterix.c, replay_beast.c; a capture's times are moved to the present anyway). */
    int rc = cli_is_beast(path) ? cli_load_beast(path, NAN, &rows, &n_rows, &n_skipped)
             : dc_asterix_file_looks_like(path)
                 ? cli_load_asterix(path, &ax, date_s, &rows, &n_rows, &n_skipped)
                 : cli_load_rows(path, DC_TRACKCSV_TRAFFIC, &rows, &n_rows, &n_skipped);
    if (rc != CLI_EXIT_OK) {
        free(rows);
        return rc;
    }
    qsort(rows, n_rows, sizeof(*rows), row_cmp);
    size_t first = 0;
    while (first < n_rows && rows[first].st.t_s < from_s) first++;
    static endpoints_t endpoint;
    if (!endpoints_parse(&endpoint, url)) {
        fprintf(stderr, "deconflict feed: --to: 1-%d URLs separated by commas\n", MAX_NODES);
        free(rows);
        return CLI_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = cli_curl_new();
    if (curl) curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L); /* a hung node: on to the next */
    size_t cap = 65536, next = 0;
    assign_t *tab = calloc(cap, sizeof(*tab));
    batch_t batches[MAX_PARTIES] = {{0}};
    if (!curl || !tab) {
        fprintf(stderr, "deconflict feed: out of memory\n");
        rc = CLI_EXIT_INTERNAL;
        goto out;
    }
    /* The service keeps a replay clock's times to the hundredth of a second: t0_wall is one, so
     * that the clock it keeps is the mapping used below, exactly. */
    double t0_data = first < n_rows ? rows[first].st.t_s : 0;
    double t0_wall = ceil(wall_now() * 100) / 100;
    /* A report of the recording's time t goes out with the service's time
     * t0_wall - 1 + (t - t0_data) / speed (the loop below): that is the replay clock. */
    if (replay_clock && first < n_rows) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"recording_start_s\":%.3f,\"service_start_s\":%.2f,\"speed\":%.6g}", t0_data,
                 t0_wall - 1, speed);
        for (int p = 0; p < n_tokens; p++)
            replay_clock_request(curl, &endpoint, tokens[p], p + 1, body);
        char rec[32], svc[32];
        time_t tr = (time_t)t0_data, ts = (time_t)(t0_wall - 1);
        struct tm tm;
        strftime(rec, sizeof(rec), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tr, &tm));
        strftime(svc, sizeof(svc), "%H:%M:%SZ", gmtime_r(&ts, &tm));
        fprintf(stderr, "feed: replay clock: the recording's %s is the service's %s, at %gx\n", rec,
                svc, speed);
    }
    double end_s = n_rows && rows[n_rows - 1].st.t_s < to_s ? rows[n_rows - 1].st.t_s : to_s;
    size_t sent = 0, refused = 0, i = first;
    while (i < n_rows && rows[i].st.t_s <= to_s) {
        double data_until = t0_data + (wall_now() - t0_wall + 1) * speed;
        for (; i < n_rows && rows[i].st.t_s < data_until && rows[i].st.t_s <= to_s; i++) {
            int p = party_of(tab, cap, &next, &rows[i], n_tokens, by_prefix);
            /* The recording's time moved to the present by one mapping, the replay clock
             * (sent before the loop): the spacing of reports is kept exactly, however long a
             * batch takes to send. Sent once data_until passes it, a report is never ahead. */
            double t = t0_wall - 1 + (rows[i].st.t_s - t0_data) / speed;
            if (!batch_add(&batches[p], &rows[i], t)) continue;
            if (batches[p].n == 10000) {
                long st = flush(curl, &endpoint, tokens[p], &batches[p], &sent, &refused);
                if (st == 0) goto unreachable;
                if (token_refused(st, p + 1)) goto rejected;
            }
        }
        for (int p = 0; p < n_tokens; p++) {
            if (!batches[p].n) continue;
            long st = flush(curl, &endpoint, tokens[p], &batches[p], &sent, &refused);
            if (st == 0) goto unreachable;
            if (token_refused(st, p + 1)) goto rejected;
        }
        feed_progress(data_until < end_s ? data_until : end_s, end_s, t0_data, sent, refused,
                      (size_t)next);
        double wait = t0_wall + (data_until - t0_data) / speed - wall_now();
        if (wait > 0) usleep((useconds_t)(wait * 1e6));
    }
    fprintf(stderr, "%sfeed: done, %zu reports sent, %zu refused, %zu aircraft\n",
            isatty(fileno(stderr)) ? "\n" : "", sent, refused, (size_t)next);
    print_refusal();
    if (sent == 0 && refused > 0) {
        fprintf(stderr, "deconflict feed: the service refused every report\n");
        rc = CLI_EXIT_DATA;
    }
    goto out;
unreachable:
    fprintf(stderr, "\ndeconflict feed: no node of %s reachable\n", url);
    rc = CLI_EXIT_DATA;
    goto out;
rejected:
    rc = CLI_EXIT_DATA;
out:
    for (int p = 0; p < MAX_PARTIES; p++) free(batches[p].s);
    free(tab);
    if (curl) curl_easy_cleanup(curl);
    curl_global_cleanup();
    free(rows);
    return rc;
}
