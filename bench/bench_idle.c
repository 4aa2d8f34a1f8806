/* deconflict-bench idle: a party's request latency while strangers hold idle connections.
 *
 *   deconflict-bench idle --url URL --token T [--idle N] [--addresses A] [--requests K]
 *                         [--rounds R]
 *
 * Against a running daemon on loopback: K sequential GET /v1/conflicts of one party on one
 * keep-alive connection, timed each, first with no other client (the baseline), then while N
 * idle sockets are open -- spread over A source addresses 127.0.0.2..A+1 so that each stays
 * within the per-address share and the server holds them all -- then while N more come from
 * one address (a flood: past its share they give way), and again after a pause with N sockets
 * that sent half a request line (slow clients). Rounds alternate baseline and load R times; the
 * figures are medians over rounds of each round's p50 and p99, and the ratio of the loaded p99
 * to the baseline p99 measured side by side. Nothing is asserted. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

typedef struct idle_opts {
    const char *url, *token;
    size_t idle, addresses, requests, rounds;
    int port;
} idle_opts_t;

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* K requests of the party on one connection: their p50 and p99 (ms); failures counted. */
static void party_requests(CURL *c, const idle_opts_t *o, double *p50, double *p99, size_t *failed)
{
    double *ms = malloc(o->requests * sizeof(double));
    char url[512], auth[160];
    snprintf(url, sizeof(url), "%s/v1/conflicts", o->url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    for (size_t i = 0; i < o->requests; i++) {
        double t0 = bench_now_ms();
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ms[i] = bench_now_ms() - t0;
        if (status != 200) (*failed)++;
    }
    curl_slist_free_all(h);
    bench_median(ms, o->requests); /* sorts */
    *p50 = ms[o->requests / 2];
    *p99 = ms[(size_t)((double)o->requests * 0.99)];
    free(ms);
}

/* Opens n sockets to the daemon from source addresses 127.0.0.2..addresses+1 (addresses 0:
 * from 127.0.0.1), sending `say` on each; returns how many opened. */
static size_t open_idle(const idle_opts_t *o, int *fds, size_t n, size_t addresses, const char *say)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    size_t opened = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) break;
        if (addresses) {
            struct sockaddr_in from = {.sin_family = AF_INET};
            char ip[32];
            snprintf(ip, sizeof(ip), "127.0.%zu.%zu", (2 + i % addresses) / 250,
                     2 + (2 + i % addresses) % 250);
            inet_pton(AF_INET, ip, &from.sin_addr);
            if (bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0) {
                close(fd);
                break;
            }
        }
        if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
            close(fd);
            break;
        }
        if (say && write(fd, say, strlen(say)) < 0) {
        }
        fds[opened++] = fd;
    }
    return opened;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) close(fds[i]);
}

typedef struct figures {
    double p50[32], p99[32];
    size_t failed;
} figures_t;

static void report(const char *what, size_t held, figures_t *f, size_t rounds, double base_p99)
{
    double p50 = bench_median(f->p50, rounds), p99 = bench_median(f->p99, rounds);
    printf("%-44s %7zu  %8.2f  %8.2f  %6.2fx  %zu\n", what, held, p50, p99,
           base_p99 > 0 ? p99 / base_p99 : 0, f->failed);
}

int bench_idle(int argc, char **argv)
{
    idle_opts_t o = {.idle = 5000, .addresses = 100, .requests = 1000, .rounds = 3};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            o.url = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            o.token = argv[i + 1];
        else if (strcmp(argv[i], "--idle") == 0)
            o.idle = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--addresses") == 0)
            o.addresses = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--requests") == 0)
            o.requests = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            o.rounds = strtoul(argv[i + 1], NULL, 10);
    }
    const char *colon = o.url ? strrchr(o.url, ':') : NULL;
    if (!o.url || !o.token || !colon || o.requests < 100 || o.rounds < 1 || o.rounds > 32 ||
        o.addresses > 60000) {
        fprintf(stderr, "usage: deconflict-bench idle --url http://127.0.0.1:PORT --token T "
                        "[--idle N] [--addresses A] [--requests K >= 100] [--rounds R <= 32]\n");
        return 2;
    }
    o.port = atoi(colon + 1);
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
    int *fds = malloc(2 * o.idle * sizeof(int));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    figures_t base = {0}, spread = {0}, flood = {0}, slow = {0};
    size_t held_spread = 0, held_flood = 0, held_slow = 0;
    for (size_t r = 0; r < o.rounds; r++) {
        party_requests(c, &o, &base.p50[r], &base.p99[r], &base.failed);
        held_spread = open_idle(&o, fds, o.idle, o.addresses, NULL);
        usleep(300000);
        party_requests(c, &o, &spread.p50[r], &spread.p99[r], &spread.failed);
        held_flood = open_idle(&o, fds + held_spread, o.idle, 0, NULL);
        usleep(300000);
        party_requests(c, &o, &flood.p50[r], &flood.p99[r], &flood.failed);
        close_all(fds, held_spread + held_flood);
        held_slow = open_idle(&o, fds, o.idle, o.addresses, "GET /v1/conflicts HTTP/1.1\r\nHo");
        usleep(300000);
        party_requests(c, &o, &slow.p50[r], &slow.p99[r], &slow.failed);
        close_all(fds, held_slow);
        usleep(300000);
    }
    double b99 = bench_median(base.p99, o.rounds);
    printf("# a party's GET /v1/conflicts on one keep-alive connection, %zu per round, %zu rounds "
           "(medians of the rounds' p50/p99)\n",
           o.requests, o.rounds);
    printf("%-44s %7s  %8s  %8s  %7s  %s\n", "situation", "sockets", "p50_ms", "p99_ms", "p99/base",
           "failed");
    report("baseline: no other client", 0, &base, o.rounds, b99);
    report("idle sockets from many addresses (held)", held_spread, &spread, o.rounds, b99);
    report("+ the same from one address (a flood)", held_spread + held_flood, &flood, o.rounds,
           b99);
    report("half-sent requests from many addresses", held_slow, &slow, o.rounds, b99);
    printf("idle_sockets=%zu p99_ratio=%.2f failed=%zu\n", held_spread,
           bench_median(spread.p99, o.rounds) / b99, spread.failed + flood.failed + slow.failed);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    free(fds);
    return 0;
}
