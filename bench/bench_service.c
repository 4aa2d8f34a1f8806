/* deconflict-bench service: drives a running deconflictd over loopback and prints
 *   - sustained position ingest: reports/s at a stated batch size (each 200 is durable),
 *   - operation filings/s with the conflict check (one circle volume each),
 *   - alert latency: a fresh head-on pair posted by two parties -> conflict.new received on
 *     both parties' event streams, p50/p99, with N live background tracks.
 *
 *   deconflict-bench service --url URL [--url URL2 ...] --token A --token B [--tracks N] [--batch
 * B]
 *                            [--seconds S] [--reports R] [--filings K] [--alerts K]
 *                            [--threads T] [--filing-conns C]
 * Several --url are nodes of one service (docs/deployment.md): each ingest and filing thread
 * talks to one node in turn, an alert's two aircraft go to the first and the second node, and
 * both parties' streams are held on the last.
 * --filing-conns C times filings on C connections only, instead of on 1, 4 and 16.
 * --reports R ends the ingest after R reports (at most --seconds): the same work for builds
 * that ingest at different rates, so what follows is compared on equal stores.
 *
 * scripts/bench-service.sh starts the daemon (period and M-of-N stated there) and runs this at
 * 1k, 10k and 100k tracks. Figures only; nothing is asserted. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

typedef struct opts {
    const char *url[8], *token[2];
    int n_urls;
    size_t tracks, batch, filings, alerts;
    double seconds;
    size_t reports; /* ingest stops after this many reports too (0: none) */
    int threads;
    int filing_conns; /* filings on this many connections only (0: on 1, 4 and 16) */
} opts_t;

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct buf {
    char *s;
    size_t len, cap;
} buf_t;

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) abort();
        if (b->s && b->len + (size_t)k < b->cap) {
            b->len += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    if (b) buf_printf(b, "%.*s", (int)(size * n), p);
    return size * n;
}

/* The node this thread talks to (its index among the --url given): the load is spread over
 * the nodes of one service, each thread on one node. */
static __thread int node_ix;

static const char *node_url(const opts_t *o, int i)
{
    return o->url[i % o->n_urls];
}

/* POSTs body to url+path with a bearer token; returns the status (0: transport error). */
static long post(CURL *c, const opts_t *o, int party, const char *path, const char *body,
                 size_t len, buf_t *reply)
{
    char url[512], auth[128];
    snprintf(url, sizeof(url), "%s%s", node_url(o, node_ix), path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token[party]);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

/* Background track k of n: at 2.0e-3 aircraft/km^2, the tactical benchmark's density (about
 * three times the peak of the recorded Swiss day), in a band 40..60 N whose width in longitude
 * grows with n (1k: 3 deg, 10k: 31 deg, 100k: 314 deg); FL100..FL400, any heading, 420 kt. */
static void track_report(buf_t *b, size_t k, size_t n, double t, bool first)
{
    bench_rng_t r;
    bench_rng_seed(&r, 1000003 * (k + 1));
    double band_km = 20 * 111.2, km_per_deg_lon = 111.32 * cos(50 * M_PI / 180);
    double width_deg = fmin(360, (double)n / 2.0e-3 / band_km / km_per_deg_lon);
    double lat = 40 + 20 * bench_rng_uniform(&r), lon = -180 + width_deg * bench_rng_uniform(&r);
    double alt = 10000 + 30000 * bench_rng_uniform(&r), trk = 360 * bench_rng_uniform(&r);
    buf_printf(b,
               "%s{\"track_id\":\"bg%zu\",\"t\":%.3f,\"lat\":%.6f,\"lon\":%.6f,\"alt_ft\":%.0f,"
               "\"gs_kt\":420,\"trk_deg\":%.1f,\"vs_fpm\":0}",
               first ? "[" : ",", k, t, lat, lon, alt, trk);
}

/* ---- 1. ingest ---- */

typedef struct ingest_arg {
    const opts_t *o;
    int id;
    double until_s;
    size_t sent, refused;
} ingest_arg_t;

static void *ingest_thread(void *p)
{
    ingest_arg_t *a = p;
    const opts_t *o = a->o;
    node_ix = a->id;
    CURL *c = curl_easy_init();
    buf_t b = {0};
    size_t k = (size_t)a->id * o->batch;
    while (wall_s() < a->until_s &&
           (!o->reports || a->sent + a->refused < o->reports / (size_t)o->threads)) {
        b.len = 0;
        double t = wall_s();
        for (size_t i = 0; i < o->batch; i++)
            track_report(&b, (k + i) % o->tracks, o->tracks, t, i == 0);
        buf_printf(&b, "]");
        long st = post(c, o, (int)((k / o->batch) % 2), "/v1/positions", b.s, b.len, NULL);
        if (st == 200)
            a->sent += o->batch;
        else
            a->refused += o->batch;
        k += (size_t)o->threads * o->batch;
    }
    free(b.s);
    curl_easy_cleanup(c);
    return NULL;
}

static void run_ingest(const opts_t *o)
{
    ingest_arg_t args[16];
    pthread_t th[16];
    double t0 = wall_s();
    for (int i = 0; i < o->threads; i++) {
        args[i] = (ingest_arg_t){o, i, t0 + o->seconds, 0, 0};
        pthread_create(&th[i], NULL, ingest_thread, &args[i]);
    }
    size_t sent = 0, refused = 0;
    for (int i = 0; i < o->threads; i++) {
        pthread_join(th[i], NULL);
        sent += args[i].sent, refused += args[i].refused;
    }
    double dt = wall_s() - t0;
    printf("ingest   %zu tracks, batches of %zu, %d connections: %.0f positions/s durable "
           "(%zu in %.1f s, %zu refused)\n",
           o->tracks, o->batch, o->threads, sent / dt, sent, dt, refused);
}

/* ---- 2. filings ---- */

typedef struct filing_arg {
    const opts_t *o;
    int id;
    size_t n, ok, conflicts;
    double *ms;
} filing_arg_t;

static void *filing_thread(void *p)
{
    filing_arg_t *a = p;
    node_ix = a->id;
    CURL *c = curl_easy_init();
    buf_t b = {0};
    bench_rng_t r;
    bench_rng_seed(&r, 20261122 + (uint64_t)a->id);
    for (size_t i = 0; i < a->n; i++) {
        b.len = 0;
        double lat = 30 + 30 * bench_rng_uniform(&r), lon = -20 + 60 * bench_rng_uniform(&r);
        int h0 = (int)(bench_rng_uniform(&r) * 600);
        buf_printf(
            &b,
            "{\"priority\":1,\"volumes\":[{\"volume\":{\"outline_circle\":{\"center\":"
            "{\"lat\":%.5f,\"lng\":%.5f},\"radius\":{\"value\":%.0f,\"units\":\"M\"}},"
            "\"altitude_lower\":{\"value\":0,\"reference\":\"W84\",\"units\":\"M\"},"
            "\"altitude_upper\":{\"value\":1500,\"reference\":\"W84\",\"units\":\"M\"}},"
            "\"time_start\":{\"value\":\"2031-01-%02dT%02d:00:00Z\",\"format\":\"RFC3339\"},"
            "\"time_end\":{\"value\":\"2031-01-%02dT%02d:00:00Z\",\"format\":\"RFC3339\"}}]}",
            lat, lon, 1000 + 20000 * bench_rng_uniform(&r), 1 + h0 / 24, h0 % 24, 1 + (h0 + 2) / 24,
            (h0 + 2) % 24);
        buf_t reply = {0};
        double t = bench_now_ms();
        long st =
            post(c, a->o, (int)((i + (size_t)a->id) % 2), "/v1/operations", b.s, b.len, &reply);
        if (st == 201) {
            a->ms[a->ok++] = bench_now_ms() - t;
            for (char *q = reply.s; q && (q = strstr(q, "\"other_party\"")); q++) a->conflicts++;
        }
        free(reply.s);
    }
    free(b.s);
    curl_easy_cleanup(c);
    return NULL;
}

/* Filings on `conns` connections at once, o->filings in all. */
static void run_filings(const opts_t *o, int conns)
{
    filing_arg_t args[16];
    pthread_t th[16];
    double *ms = malloc(o->filings * sizeof(double));
    double t0 = wall_s();
    size_t start = 0;
    for (int i = 0; i < conns; i++) {
        size_t n = o->filings / (size_t)conns + ((size_t)i < o->filings % (size_t)conns);
        args[i] = (filing_arg_t){o, i, n, 0, 0, ms + start};
        start += n;
        pthread_create(&th[i], NULL, filing_thread, &args[i]);
    }
    size_t ok = 0, conflicts = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        memmove(ms + ok, args[i].ms, args[i].ok * sizeof(double));
        ok += args[i].ok, conflicts += args[i].conflicts;
    }
    double dt = wall_s() - t0;
    double p50 = ok ? bench_median(ms, ok) : 0, p99 = ok ? ms[(size_t)(0.99 * (ok - 1))] : 0;
    printf("filings  %zu on %d connection%s (1 volume, 1-21 km circles over 30x60 deg, 2 h windows "
           "in 25 days): %.0f filings/s, latency p50 %.2f ms p99 %.2f ms, %zu conflicts\n",
           ok, conns, conns > 1 ? "s" : "", ok / dt, p50, p99, conflicts);
    free(ms);
}

/* ---- 3. alert latency ---- */

typedef struct stream {
    const opts_t *o;
    int party;
    pthread_mutex_t *lock;
    double *arrival; /* per alert index: when conflict.new for it arrived on this stream */
    size_t n;
    buf_t line;
    volatile bool stop;
} stream_t;

static size_t on_stream(char *p, size_t size, size_t n, void *ud)
{
    stream_t *s = ud;
    size_t len = size * n;
    double now = wall_s();
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n') {
            buf_printf(&s->line, "%c", p[i]);
            continue;
        }
        /* data lines of conflict.new carry "own_track":"LA<k>" or "LB<k>" */
        char *q = s->line.s ? strstr(s->line.s, "\"own_track\":\"L") : NULL;
        if (q && strstr(s->line.s, "\"kind\":\"tactical\"")) {
            size_t k = (size_t)strtoul(q + 15, NULL, 10);
            pthread_mutex_lock(s->lock);
            if (k < s->n && s->arrival[k] == 0) s->arrival[k] = now;
            pthread_mutex_unlock(s->lock);
        }
        s->line.len = 0;
        if (s->line.s) s->line.s[0] = '\0';
    }
    return s->stop ? 0 : len;
}

static void *stream_thread(void *p)
{
    stream_t *s = p;
    CURL *c = curl_easy_init();
    char url[512], auth[128];
    /* Both parties' streams on the last node: with several, not where their positions go. */
    snprintf(url, sizeof(url), "%s/v1/events", node_url(s->o, s->o->n_urls - 1));
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->o->token[s->party]);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_perform(c); /* until on_stream returns 0 after stop */
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(s->line.s);
    return NULL;
}

/* Keeps the background tracks fresh while the alerts are measured: every track re-reported
 * every 10 s, the batches spread evenly over the 10 s as a live feed sends them (not all at
 * once and then nothing). */
typedef struct refresh {
    const opts_t *o;
    volatile bool stop;
} refresh_t;

static void *refresh_thread(void *p)
{
    refresh_t *r = p;
    const opts_t *o = r->o;
    CURL *c = curl_easy_init();
    buf_t b = {0};
    size_t k = 0;
    while (!r->stop) {
        double t0 = wall_s();
        for (size_t done = 0; done < o->tracks && !r->stop; done += o->batch) {
            double due = t0 + 10.0 * (double)done / (double)o->tracks;
            if (due > wall_s()) usleep((useconds_t)((due - wall_s()) * 1e6));
            b.len = 0;
            size_t n = o->tracks - done < o->batch ? o->tracks - done : o->batch;
            for (size_t i = 0; i < n; i++)
                track_report(&b, (k + i) % o->tracks, o->tracks, wall_s(), i == 0);
            buf_printf(&b, "]");
            post(c, o, (int)((k / o->batch) % 2), "/v1/positions", b.s, b.len, NULL);
            k += n;
        }
        double left = 10 - (wall_s() - t0); /* every track every 10 s */
        if (left > 0 && !r->stop) usleep((useconds_t)(left * 1e6));
    }
    free(b.s);
    curl_easy_cleanup(c);
    return NULL;
}

static void run_alerts(const opts_t *o)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    double *arr[2], *sent = calloc(o->alerts, sizeof(double)), *lat = calloc(o->alerts, 8);
    stream_t st[2];
    pthread_t th[2], rth;
    refresh_t rf = {o, false};
    pthread_create(&rth, NULL, refresh_thread, &rf);
    for (int p = 0; p < 2; p++) {
        arr[p] = calloc(o->alerts, sizeof(double));
        st[p] = (stream_t){.o = o, .party = p, .lock = &lock, .arrival = arr[p], .n = o->alerts};
        pthread_create(&th[p], NULL, stream_thread, &st[p]);
    }
    usleep(500000); /* streams connected */
    CURL *c = curl_easy_init();
    size_t got = 0;
    for (size_t k = 0; k < o->alerts; k++) {
        /* A head-on pair at FL350 far south (no background traffic there), 10 NM apart,
         * closing at 900 kt: loss in ~20 s, inside the look-ahead from the first report. */
        double lat0 = -50 + (double)(k % 40), lon0 = -120 + (double)(k / 40) * 2, t = wall_s();
        char body[512];
        int n = snprintf(body, sizeof(body),
                         "[{\"track_id\":\"LA%zu\",\"t\":%.3f,\"lat\":%.4f,\"lon\":%.4f,"
                         "\"alt_ft\":35000,\"gs_kt\":450,\"trk_deg\":90,\"vs_fpm\":0}]",
                         k, t, lat0, lon0);
        node_ix = 0; /* alpha's aircraft to the first node, bravo's to the second */
        post(c, o, 0, "/v1/positions", body, (size_t)n, NULL);
        node_ix = 1;
        n = snprintf(body, sizeof(body),
                     "[{\"track_id\":\"LB%zu\",\"t\":%.3f,\"lat\":%.4f,\"lon\":%.4f,"
                     "\"alt_ft\":35000,\"gs_kt\":450,\"trk_deg\":270,\"vs_fpm\":0}]",
                     k, t, lat0, lon0 + 10.0 / 60 / cos(lat0 * M_PI / 180));
        sent[k] = wall_s();
        post(c, o, 1, "/v1/positions", body, (size_t)n, NULL);
        double deadline = sent[k] + 5;
        for (;;) {
            pthread_mutex_lock(&lock);
            bool both = arr[0][k] > 0 && arr[1][k] > 0;
            pthread_mutex_unlock(&lock);
            if (both) {
                lat[got++] = (fmax(arr[0][k], arr[1][k]) - sent[k]) * 1e3;
                break;
            }
            if (wall_s() > deadline) break;
            usleep(1000);
        }
    }
    rf.stop = true;
    st[0].stop = st[1].stop = true;
    curl_easy_cleanup(c);
    pthread_join(rth, NULL);
    double p50 = got ? bench_median(lat, got) : 0, p99 = got ? lat[(size_t)(0.99 * (got - 1))] : 0;
    printf("alerts   %zu head-on pairs with %zu live background tracks: latency (second "
           "aircraft posted -> conflict.new on both streams) p50 %.1f ms p99 %.1f ms max %.1f "
           "ms; %zu of %zu alerted within 5 s\n",
           got, o->tracks, p50, p99, got ? lat[got - 1] : 0, got, o->alerts);
    /* The streams end when the daemon sends its next keepalive; do not wait for that. */
    for (int p = 0; p < 2; p++) pthread_detach(th[p]);
    free(sent), free(lat);
}

int bench_service(int argc, char **argv)
{
    opts_t o = {.tracks = 10000,
                .batch = 5000,
                .seconds = 10,
                .filings = 2000,
                .alerts = 100,
                .threads = 2};
    int nt = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--url") && o.n_urls < 8)
            o.url[o.n_urls++] = v;
        else if (!strcmp(a, "--token") && nt < 2)
            o.token[nt++] = v;
        else if (!strcmp(a, "--tracks"))
            o.tracks = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            o.batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--seconds"))
            o.seconds = atof(v);
        else if (!strcmp(a, "--reports"))
            o.reports = (size_t)atol(v);
        else if (!strcmp(a, "--filings"))
            o.filings = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--alerts"))
            o.alerts = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--threads"))
            o.threads = atoi(v);
        else if (!strcmp(a, "--filing-conns"))
            o.filing_conns = atoi(v);
        else {
            fprintf(stderr, "bench service: unknown option %s\n", a);
            return 2;
        }
    }
    if (!o.n_urls || nt != 2 || !o.tracks || !o.batch || o.threads < 1 || o.threads > 16 ||
        o.filing_conns < 0 || o.filing_conns > 16) {
        fprintf(stderr,
                "usage: deconflict-bench service --url URL [--url URL2 ...] --token A --token B "
                "[--tracks N] [--batch B] [--seconds S] [--reports R] [--filings K] [--alerts K] "
                "[--threads T] [--filing-conns C (1-16)]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run_ingest(&o);
    if (o.filings && o.filing_conns) {
        run_filings(&o, o.filing_conns);
    } else if (o.filings) {
        run_filings(&o, 1);
        run_filings(&o, 4);
        run_filings(&o, 16);
    }
    if (o.alerts) run_alerts(&o);
    return 0;
}
