/* deconflictd — the service parties connect to: HTTP/JSON API, per-party authentication, the
 * embedded store, the event stream. docs/service.md describes it; docs/openapi.yaml is the API.
 *
 *   deconflictd --data DIR --listen HOST:PORT [--config FILE] [--quiet]
 *
 * Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when it cannot start, 2 bad usage. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "clock.h"
#include "config.h"
#include "core/service.h"
#include "deconflict/secretfile.h"
#include "core/tick.h"
#include "core/parties.h"
#include "feeds/alerts_out.h"
#include "feeds/sbs_client.h"
#include "http/console.h"
#include "http/server.h"

static volatile sig_atomic_t stop_requested, hangups;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hangups = 1; /* said by the main loop: nothing is reloaded, and nothing is stopped */
    else
        stop_requested = 1;
}

/* The periodic pass (core/tick.h), every period_s on the clock: a pass starts every period (not
 * a period after the last one ended), so a report waits at most one period plus one pass for
 * its alert. */
static void *run_passes(void *arg)
{
    dd_service_t *svc = arg;
    while (!__atomic_load_n(&svc->stopping, __ATOMIC_SEQ_CST)) {
        double start = dd_now_s();
        bool ran = dd_tick(svc, start);
        double took = dd_now_s() - start;
        if (ran) { /* a node that does not lead only caught up: not a pass to time */
            pthread_mutex_lock(&svc->lock);
            dd_histogram_observe(&svc->pass_took, took);
            svc->last_pass_took_s = took;
            pthread_mutex_unlock(&svc->lock);
        }
        double left = svc->cfg.period_s - took;
        if (left > 0) usleep((useconds_t)(left * 1e6));
    }
    return NULL;
}

static void usage(FILE *out)
{
    fputs("usage: deconflictd [--data DIR] [--listen HOST:PORT] [--config FILE] [options]\n"
          "\n"
          "  --data DIR             data directory: the SQLite store (default\n"
          "                         ./deconflict-data); one must be there, made by\n"
          "                         'deconflict party add' or by --init\n"
          "  --init                 create the store in --data DIR when it holds none\n"
          "  --store URL            a PostgreSQL store instead (postgresql://user@host/db,\n"
          "                         several hosts allowed; or a libpq connection string):\n"
          "                         several deconflictd nodes may share it\n"
          "  --node NAME            this node's name among several (default: made up)\n"
          "  --leader-lease-s S     another node takes the lead of the periodic pass when the\n"
          "                         leader has not renewed for S seconds (default 5)\n"
          "  --listen HOST:PORT     address to serve HTTP on, IPv4 or [IPv6] (default "
          "127.0.0.1:8080;\n"
          "                         port 0 picks a free one, printed on stdout)\n"
          "  --config FILE          'key = value' lines with the keys below (flags win)\n"
          "  --max-body-bytes N     larger request bodies get 413 (default 16777216)\n"
          "  --max-streams-per-party N  open /v1/events streams per party (default 8)\n"
          "  --keepalive-s S        comment line on idle event streams (default 15)\n"
          "  --period-ms N          tactical detection period (default 1000)\n"
          "  --warning-s S          a loss predicted within S seconds is a warning, which both\n"
          "                         parties acknowledge; beyond it an advisory (default 90)\n"
          "  --m-of-4 M             a warning is confirmed when M of the last 3 updates of the\n"
          "                         pair predicted it (default 2; 4 counts as 3)\n"
          "  --hysteresis-s S       a level comes down after S seconds clear (default 20)\n"
          "  --alt-step-ft F        the altitude resolution of the surveillance fed: 25 for\n"
          "                         ADS-B and Mode S, 100 for Mode C, 0 for exact (default 25)\n"
          "  --conformance-s S      check each track against the operations every S seconds\n"
          "                         (intrusions, nonconformance; default 5)\n"
          "  --conflict-ack-s S     each party acknowledges a conflict within S seconds, else\n"
          "                         it is escalated (conflict.escalated; default 120)\n"
          "  --enroute-minima H,V   separation minima NM,ft en route (default 5,1000)\n"
          "  --terminal-minima H,V  ... when both aircraft are in a terminal area (3,1000)\n"
          "  --high-minima H,V      ... when either is above --high-above-ft (5,2000; 41000)\n"
          "  --terminal-area LAT,LON,R_NM  a terminal area (repeatable, up to 32)\n"
          "  --feed sbs:HOST:PORT:PARTY  an SBS-1 source (dump1090/readsb port 30003) whose\n"
          "                         aircraft are fed in as PARTY's tracks (repeatable, up to 8)\n"
          "  --feed beast:HOST:PORT:PARTY  the same from a Beast source (port 30005)\n"
          "  --feed asterix:udp:ADDR[@IFADDR]:PORT:PARTY  ASTERIX CAT021/048/062 datagrams\n"
          "                         received on ADDR:PORT (a multicast group is joined, on the\n"
          "                         interface of IFADDR)\n"
          "  --alerts-asterix udp:HOST:PORT:PARTY  each alert as an ASTERIX CAT004 safety-net\n"
          "                         message (STCA), and alive messages, to HOST:PORT over UDP:\n"
          "                         PARTY's own, or with PARTY '*' every party's (repeatable, up "
          "to 8)\n"
          "  --cat004-source SAC/SIC  the service's ASTERIX source identifier (default 0/0)\n"
          "  --asterix-cat021-edition E  the CAT021 edition ASTERIX feeds send: 2 (2.1-2.6,\n"
          "                         default), 0.26 or 0.23\n"
          "  --asterix-radar SAC/SIC:LAT,LON[,ALT_FT]  a radar site, for CAT048 plots\n"
          "                         (repeatable, up to 64)\n"
          "  --rate-limit-rps R     requests per second per party, 0 = unlimited (default 200)\n"
          "  --rate-limit-burst B   ... with bursts up to B (default 400); beyond: 429\n"
          "  --history-s S          keep a sample of each track at most every S seconds for\n"
          "                         the console's time slider, 0 = none (default 10)\n"
          "  --history-keep-s S     ... for S seconds (default 3600)\n"
          "  --signatures POLICY    'required': every party's writes must be signed (401\n"
          "                         signature_required otherwise); 'optional' (default): each\n"
          "                         party's own policy (deconflict party signatures) applies\n"
          "  --report-ahead-max-s S a position's time may be at most S seconds ahead of the\n"
          "                         service's clock (default 10)\n"
          "  --report-age-max-s S   ... and at most S seconds old (default 300); others are\n"
          "                         refused, naming the field and the limit\n"
          "  --http-threads N       server threads, each an epoll loop over many connections\n"
          "                         (default 8)\n"
          "  --max-connections N    connections held at once (default 10000); beyond it, and\n"
          "                         beyond --max-unproven-per-address N (default 64) from one\n"
          "                         address, connections that have carried no authenticated\n"
          "                         request give way to new ones; parties' are never evicted\n"
          "  --header-timeout-s S   a client that has not sent its request in S s is closed\n"
          "                         (default 10)\n"
          "  --idle-timeout-s S     a party's idle keep-alive connection is closed after S s\n"
          "                         (default 120)\n"
          "  --console-dir DIR      the web console's built files, served at /\n"
          "                         (default: ../share/deconflict/console beside the binary)\n"
          "  --quiet                no per-request log lines\n"
          "  --print-routes         list every route (METHOD /path) and exit\n"
          "  --metrics-access A     who may read /metrics: 'loopback' clients only (default) or\n"
          "                         'any'\n"
          "  --metrics-token-file F /metrics only with 'Authorization: Bearer <the token in F>'\n"
          "                         (F mode 600), from any address\n"
          "  --tls-cert FILE --tls-key FILE  serve HTTPS with this PEM certificate chain and\n"
          "                         private key (mode 600); parties' tokens then never cross a\n"
          "                         network in clear\n"
          "  --version              the version, and exit\n"
          "  --help                 this text\n"
          "\n"
          "Config keys: data, store, node, leader_lease_s, listen, max_body_bytes, "
          "max_streams_per_party, keepalive_s,\n"
          "period_ms, m_of_4, hysteresis_s, warning_s, alt_step_ft, conformance_s, conflict_ack_s, "
          "enroute_minima,\n"
          "terminal_minima, "
          "high_minima, high_above_ft, terminal_area (repeatable), feed (repeatable), "
          "alerts_asterix (repeatable), cat004_source, asterix_cat021_edition, asterix_radar "
          "(repeatable), "
          "rate_limit_rps, "
          "rate_limit_burst, history_s, history_keep_s, console_dir, signatures, "
          "report_ahead_max_s, report_age_max_s, http_threads, max_connections, "
          "max_unproven_per_address, header_timeout_s, idle_timeout_s, quiet "
          "(true/false). "
          "Parties: deconflict party add NAME "
          "--data DIR.\n",
          out);
}

/* A PEM file's text, NULL with err. */
static char *read_pem(const char *path, bool secret, char *err, size_t len)
{
    char *text = dc_file_read_small(path, secret, err, len);
    if (text && !strstr(text, "-----BEGIN ")) {
        snprintf(err, len, "%.300s: not a PEM file", path);
        free(text);
        return NULL;
    }
    return text;
}

/* The token /metrics asks for: the first line of a secret file, 16-127 printable characters. */
static bool read_metrics_token(dd_config_t *cfg, char *err, size_t len)
{
    return dc_token_file_read(cfg->metrics_token_file, cfg->metrics_token, err, len);
}

int main(int argc, char **argv)
{
    /* A SIGHUP while the store opens (a PostgreSQL connection can take seconds) must not end
     * the start either; it is said once the service runs (below). */
    signal(SIGHUP, SIG_IGN);
    dd_config_t cfg;
    dd_config_default(&cfg);
    char err[512];
    /* The config file first, then flags over it. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("deconflictd %s\n", DC_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--print-routes") == 0) {
            dd_server_print_routes(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "deconflictd: --config needs a file\n");
                return 2;
            }
            if (!dd_config_load(&cfg, argv[i + 1], err, sizeof(err))) {
                fprintf(stderr, "deconflictd: %s\n", err);
                return 2;
            }
        }
    }
    static const struct {
        const char *flag, *key;
    } flags[] = {{"--data", "data"},
                 {"--store", "store"},
                 {"--node", "node"},
                 {"--leader-lease-s", "leader_lease_s"},
                 {"--listen", "listen"},
                 {"--max-body-bytes", "max_body_bytes"},
                 {"--max-streams-per-party", "max_streams_per_party"},
                 {"--keepalive-s", "keepalive_s"},
                 {"--period-ms", "period_ms"},
                 {"--m-of-4", "m_of_4"},
                 {"--hysteresis-s", "hysteresis_s"},
                 {"--warning-s", "warning_s"},
                 {"--alt-step-ft", "alt_step_ft"},
                 {"--conformance-s", "conformance_s"},
                 {"--conflict-ack-s", "conflict_ack_s"},
                 {"--enroute-minima", "enroute_minima"},
                 {"--terminal-minima", "terminal_minima"},
                 {"--high-minima", "high_minima"},
                 {"--high-above-ft", "high_above_ft"},
                 {"--terminal-area", "terminal_area"},
                 {"--feed", "feed"},
                 {"--alerts-asterix", "alerts_asterix"},
                 {"--cat004-source", "cat004_source"},
                 {"--asterix-cat021-edition", "asterix_cat021_edition"},
                 {"--asterix-radar", "asterix_radar"},
                 {"--rate-limit-rps", "rate_limit_rps"},
                 {"--rate-limit-burst", "rate_limit_burst"},
                 {"--history-s", "history_s"},
                 {"--history-keep-s", "history_keep_s"},
                 {"--console-dir", "console_dir"},
                 {"--signatures", "signatures"},
                 {"--report-ahead-max-s", "report_ahead_max_s"},
                 {"--report-age-max-s", "report_age_max_s"},
                 {"--http-threads", "http_threads"},
                 {"--max-connections", "max_connections"},
                 {"--max-unproven-per-address", "max_unproven_per_address"},
                 {"--header-timeout-s", "header_timeout_s"},
                 {"--idle-timeout-s", "idle_timeout_s"},
                 {"--metrics-access", "metrics_access"},
                 {"--metrics-token-file", "metrics_token_file"},
                 {"--tls-cert", "tls_cert"},
                 {"--tls-key", "tls_key"}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            cfg.quiet = true;
            continue;
        }
        if (strcmp(argv[i], "--init") == 0) {
            cfg.init_store = true;
            continue;
        }
        size_t k = 0;
        while (k < sizeof(flags) / sizeof(flags[0]) && strcmp(argv[i], flags[k].flag) != 0) k++;
        if (k == sizeof(flags) / sizeof(flags[0])) {
            fprintf(stderr, "deconflictd: unknown argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "deconflictd: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!dd_config_set(&cfg, flags[k].key, argv[++i], err, sizeof(err))) {
            fprintf(stderr, "deconflictd: %s: %s\n", flags[k].flag, err);
            return 2;
        }
    }

    if (cfg.store_url[0] && cfg.leader_lease_s < 2 * cfg.period_s) {
        fprintf(stderr,
                "deconflictd: leader_lease_s (%.0f s) must be at least twice the period (%.3f s): "
                "the leader renews its lease every pass\n",
                cfg.leader_lease_s, cfg.period_s);
        return 2;
    }
    if (!cfg.tls_cert_file[0] != !cfg.tls_key_file[0]) {
        fprintf(stderr, "deconflictd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (cfg.tls_cert_file[0] &&
        (!(cfg.tls_cert_pem = read_pem(cfg.tls_cert_file, false, err, sizeof(err))) ||
         !(cfg.tls_key_pem = read_pem(cfg.tls_key_file, true, err, sizeof(err))))) {
        fprintf(stderr, "deconflictd: TLS: %s\n", err);
        return 2;
    }
    if (cfg.metrics_token_file[0] && !read_metrics_token(&cfg, err, sizeof(err))) {
        fprintf(stderr, "deconflictd: --metrics-token-file: %s\n", err);
        return 2;
    }
    /* The web console: from --console-dir, else installed beside the binary
     * (bin/../share/deconflict/console). Only an explicit directory must exist. */
    bool console_explicit = cfg.console_dir[0] != '\0';
    if (!console_explicit) {
        char exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
        if (slash) {
            *slash = '\0';
            snprintf(cfg.console_dir, sizeof(cfg.console_dir), "%.900s/../share/deconflict/console",
                     exe);
        }
    }
    if (sodium_init() < 0) { /* the console's ETags are BLAKE2b hashes */
        fprintf(stderr, "deconflictd: libsodium cannot start\n");
        return 1;
    }
    dd_console_t *console = dd_console_load(cfg.console_dir, err, sizeof(err));
    if (!console && console_explicit) {
        fprintf(stderr, "deconflictd: %s\n", err);
        return 1;
    }
    if (!console) fprintf(stderr, "deconflictd: no web console served (%s)\n", err);

    static dd_service_t svc;
    if (!dd_service_open(&svc, &cfg, dd_now_s(), err, sizeof(err))) {
        fprintf(stderr, "deconflictd: %s\n", err);
        if (strncmp(err, "no store ", 9) == 0)
            fprintf(stderr,
                    "deconflictd: a mistyped --data? Create a store there with `deconflict party "
                    "add NAME --data %s`, or start with --init\n",
                    cfg.data_dir);
        dd_service_close(&svc);
        dd_console_free(console);
        return 1;
    }
    if (dc_store_notice(svc.store)[0])
        fprintf(stderr, "deconflictd: %s\n", dc_store_notice(svc.store));
    /* A newcomer's first start: no party can do anything yet; say how to make one. */
    int64_t *party_ids = NULL;
    size_t n_parties = 0;
    if (dd_parties_others(&svc, 0, &party_ids, &n_parties) && n_parties == 0)
        fprintf(stderr,
                "deconflictd: no party yet: add one with `deconflict party add NAME %s %s` "
                "(it prints the party's token once): this daemon takes it at once\n",
                cfg.store_url[0] ? "--store" : "--data", cfg.store_url[0] ? "URL" : cfg.data_dir);
    free(party_ids);
    pthread_t passes;
    if (pthread_create(&passes, NULL, run_passes, &svc) != 0) {
        fprintf(stderr, "deconflictd: cannot start live detection\n");
        dd_service_close(&svc);
        return 1;
    }
    /* Feeds before the server: /metrics reads their fields. */
    static dd_feed_t feeds[DD_FEEDS_MAX];
    if (!dd_feeds_start(&svc, feeds, err, sizeof(err))) {
        fprintf(stderr, "deconflictd: %s\n", err);
        dd_feeds_stop(&svc, feeds);
        return 1;
    }
    static dd_alert_out_t alert_outs[DD_FEEDS_MAX];
    if (!dd_alert_outs_start(&svc, alert_outs, err, sizeof(err))) {
        fprintf(stderr, "deconflictd: %s\n", err);
        dd_alert_outs_stop(&svc, alert_outs);
        dd_feeds_stop(&svc, feeds);
        return 1;
    }
    /* Thousands of connections need as many descriptors: the soft limit goes up to the hard
     * one, and the connection limit comes down to fit it (said) when the hard one is lower. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        if (nofile.rlim_cur < nofile.rlim_max) {
            nofile.rlim_cur = nofile.rlim_max;
            setrlimit(RLIMIT_NOFILE, &nofile);
            getrlimit(RLIMIT_NOFILE, &nofile);
        }
        size_t room = nofile.rlim_cur > 1024 ? (size_t)nofile.rlim_cur - 1024 : 16;
        if (svc.cfg.max_connections > room) {
            fprintf(stderr,
                    "deconflictd: max_connections lowered from %zu to %zu to fit the %llu file "
                    "descriptors this process may open (ulimit -n)\n",
                    svc.cfg.max_connections, room, (unsigned long long)nofile.rlim_cur);
            svc.cfg.max_connections = room < 16 ? 16 : room;
        }
    }
    static dd_server_t server;
    if (!dd_server_start(&server, &svc, console, feeds, alert_outs, err, sizeof(err))) {
        fprintf(stderr, "deconflictd: %s\n", err);
        dd_feeds_stop(&svc, feeds);
        dd_alert_outs_stop(&svc, alert_outs);
        return 1;
    }
    bool v6 = strchr(cfg.listen_host, ':') != NULL;
    printf("deconflictd listening on %s://%s%s%s:%u (%s %s)\n", cfg.tls_cert_pem ? "https" : "http",
           v6 ? "[" : "", cfg.listen_host, v6 ? "]" : "", dd_server_port(&server),
           cfg.store_url[0] ? "store" : "data",
           cfg.store_url[0] ? dc_store_backend(svc.store) : cfg.data_dir);
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* whichever thread it lands on, its blocking call goes on */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* SIGHUP's default would end the service on a stray `kill -HUP` or a closed terminal: the
     * line must stay up. Nothing reloads (configuration changes take a restart), so it is said. */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit reached (ulimit -f) fails the write, as a full disk does (commit.c
     * answers 503 and reads the state anew), instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    while (!stop_requested) {
        sleep(1); /* a signal cuts the sleep short */
        if (hangups) {
            hangups = 0;
            fprintf(stderr, "deconflictd: SIGHUP: nothing is reloaded and the service goes on; a "
                            "changed configuration takes effect at the next start\n");
        }
    }

    /* Graceful: wake the event streams so they end, stop the server (which waits for its
     * threads), the feeds and the pass, then close the store. */
    pthread_mutex_lock(&svc.lock);
    __atomic_store_n(&svc.stopping, true, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&svc.events_cond);
    pthread_mutex_unlock(&svc.lock);
    dd_feeds_stop(&svc, feeds);
    dd_alert_outs_stop(&svc, alert_outs);
    dd_server_stop(&server);
    pthread_join(passes, NULL);
    dd_service_close(&svc);
    dd_console_free(console);
    free(cfg.tls_cert_pem), free(cfg.tls_key_pem);
    fprintf(stderr, "deconflictd: stopped\n");
    return 0;
}
