/* deconflictd configuration: defaults, "key = value" files, and the same keys from flags. */
#include "config.h"

#include "deconflict/store.h"

#include <ctype.h>
#include <arpa/inet.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dd_config_default(dd_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "deconflict-data");
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->max_body_bytes = 16u << 20;
    cfg->max_streams_party = 8;
    cfg->keepalive_s = 15;
    cfg->period_s = 1;
    cfg->m_of_n = 2;
    cfg->hysteresis_s = 20;
    cfg->warning_s = 90;
    cfg->alt_step_ft = 25;
    cfg->conformance_s = 5;
    cfg->conflict_ack_s = 120;
    cfg->enroute = (dd_minima_t){5, 1000};
    cfg->terminal = (dd_minima_t){3, 1000};
    cfg->high = (dd_minima_t){5, 2000};
    cfg->high_above_ft = 41000;
    cfg->rate_rps = 200;
    cfg->rate_burst = 400;
    cfg->history_s = 10;
    cfg->history_keep_s = 3600;
    cfg->http_threads = 8;
    cfg->max_connections = 10000;
    cfg->max_unproven_per_address = 64;
    cfg->header_timeout_s = 10;
    cfg->idle_timeout_s = 120;
    cfg->report_ahead_max_s = 10;
    cfg->report_age_max_s = 300;
    cfg->leader_lease_s = 5;
}

/* "H_NM,V_FT" */
static bool parse_minima(const char *v, dd_minima_t *m)
{
    char *end;
    double h = strtod(v, &end);
    if (end == v || *end != ',') return false;
    const char *w = end + 1;
    double z = strtod(w, &end);
    if (end == w || *end || !(h > 0 && h <= 100) || !(z > 0 && z <= 10000)) return false;
    m->h_nm = h, m->v_ft = z;
    return true;
}

static bool parse_size(const char *v, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi || v[0] == '-') return false;
    *out = (size_t)x;
    return true;
}

/* HOST:PORT, [IPv6]:PORT not supported yet: the daemon listens on IPv4. */
/* HOST:PORT, HOST an IPv4 address or an IPv6 one in brackets ([::1]:8080). */
static bool parse_listen(dd_config_t *cfg, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof(cfg->listen_host)) return false;
    size_t port;
    if (!parse_size(colon + 1, 0, 65535, &port)) return false;
    const char *host = v;
    size_t n = (size_t)(colon - v);
    bool bracketed = v[0] == '[';
    if (bracketed) {
        if (n < 3 || v[n - 1] != ']') return false;
        host++, n -= 2;
    }
    char text[sizeof(cfg->listen_host)];
    memcpy(text, host, n);
    text[n] = '\0';
    struct in6_addr a6;
    struct in_addr a4;
    if (bracketed ? inet_pton(AF_INET6, text, &a6) != 1 : inet_pton(AF_INET, text, &a4) != 1)
        return false;
    memcpy(cfg->listen_host, text, n + 1);
    cfg->listen_port = (int)port;
    return true;
}

/* What each key accepts, for the refusal of a bad value (the ranges checked below). */
static const char *expected(const char *key)
{
    static const char *const table[][2] = {
        {"data", "a directory path, 1-1023 bytes"},
        {"node", "a name for this node, 1-63 of [A-Za-z0-9_.-]"},
        {"leader_lease_s", "seconds, 1-600, at least twice period_ms"},
        {"store", "a PostgreSQL URL (postgresql://user@host/db, several hosts allowed) or libpq "
                  "connection string, 1-1023 bytes"},
        {"listen", "HOST:PORT with an IPv4 address, or [IPv6]:PORT, and a port 0-65535"},
        {"max_body_bytes", "bytes, 1024-1073741824"},
        {"max_streams_per_party", "1-1000"},
        {"keepalive_s", "whole seconds, 1-3600"},
        {"period_ms", "milliseconds, 50-60000"},
        {"m_of_4", "1-4"},
        {"hysteresis_s", "whole seconds, 0-600"},
        {"warning_s", "whole seconds, 0-3600"},
        {"alt_step_ft", "feet, 0-500"},
        {"conformance_s", "whole seconds, 1-3600"},
        {"conflict_ack_s", "whole seconds, 1-86400"},
        {"enroute_minima", "H_NM,V_FT with 0 < H <= 100 and 0 < V <= 10000"},
        {"terminal_minima", "H_NM,V_FT with 0 < H <= 100 and 0 < V <= 10000"},
        {"high_minima", "H_NM,V_FT with 0 < H <= 100 and 0 < V <= 10000"},
        {"high_above_ft", "feet, 0-100000"},
        {"terminal_area", "LAT,LON,R_NM with |LAT| <= 90, |LON| <= 180, 0 < R <= 200 (at most 32)"},
        {"feed", "sbs:HOST:PORT:PARTY, beast:HOST:PORT:PARTY, or "
                 "asterix:udp:ADDR[@IFADDR]:PORT:PARTY with IPv4 addresses; a port 1-65535 (at "
                 "most 8 feeds)"},
        {"alerts_asterix", "udp:HOST:PORT:PARTY with a port 1-65535, PARTY a party or * for every "
                           "party's alerts (at most 8)"},
        {"cat004_source", "SAC/SIC, each 0-255"},
        {"asterix_cat021_edition", "2 (2.1-2.6), 0.26 or 0.23"},
        {"asterix_radar", "SAC/SIC:LAT,LON[,ALT_FT] with SAC and SIC 0-255, |LAT| <= 90, |LON| <= "
                          "180, ALT -1500..30000 ft (at most 64)"},
        {"rate_limit_rps", "requests per second, 0-1000000 (0: unlimited)"},
        {"rate_limit_burst", "requests, 1-1000000"},
        {"history_s", "whole seconds, 0-3600"},
        {"history_keep_s", "whole seconds, 60-86400"},
        {"console_dir", "a directory path, 1-1023 bytes"},
        {"quiet", "true or false"},
        {"metrics_access", "loopback or any"},
        {"tls_cert", "a PEM certificate chain file path, 1-1023 bytes"},
        {"tls_key", "a PEM private key file path (mode 600), 1-1023 bytes"},
        {"metrics_token_file", "a file path, 1-1023 bytes"},
        {"signatures", "required or optional"},
        {"report_ahead_max_s", "whole seconds, 0-3600"},
        {"report_age_max_s", "whole seconds, 1-86400"},
        {"http_threads", "1-64"},
        {"max_connections", "16-1000000"},
        {"max_unproven_per_address", "1-1000000"},
        {"header_timeout_s", "whole seconds, 1-600"},
        {"idle_timeout_s", "whole seconds, 1-3600"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i][0], key) == 0) return table[i][1];
    return "a valid value";
}

bool dd_config_set(dd_config_t *cfg, const char *key, const char *value, char *err, size_t len)
{
    size_t n;
    if (strcmp(key, "data") == 0) {
        if (!*value || strlen(value) >= sizeof(cfg->data_dir)) goto bad;
        snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", value);
    } else if (strcmp(key, "node") == 0) {
        if (!dc_party_name_valid(value)) goto bad; /* the same rule as a party's name */
        snprintf(cfg->node, sizeof(cfg->node), "%s", value);
    } else if (strcmp(key, "leader_lease_s") == 0) {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end || !(v >= 1 && v <= 600)) goto bad;
        cfg->leader_lease_s = v;
    } else if (strcmp(key, "store") == 0) {
        if (!*value || strlen(value) >= sizeof(cfg->store_url) || !dc_store_is_url(value)) goto bad;
        snprintf(cfg->store_url, sizeof(cfg->store_url), "%s", value);
    } else if (strcmp(key, "listen") == 0) {
        if (!parse_listen(cfg, value)) goto bad;
    } else if (strcmp(key, "max_body_bytes") == 0) {
        if (!parse_size(value, 1024, 1u << 30, &n)) goto bad;
        cfg->max_body_bytes = n;
    } else if (strcmp(key, "max_streams_per_party") == 0) {
        if (!parse_size(value, 1, 1000, &n)) goto bad;
        cfg->max_streams_party = n;
    } else if (strcmp(key, "keepalive_s") == 0) {
        if (!parse_size(value, 1, 3600, &n)) goto bad;
        cfg->keepalive_s = (double)n;
    } else if (strcmp(key, "period_ms") == 0) {
        if (!parse_size(value, 50, 60000, &n)) goto bad;
        cfg->period_s = (double)n / 1000;
    } else if (strcmp(key, "m_of_4") == 0) {
        if (!parse_size(value, 1, 4, &n)) goto bad;
        cfg->m_of_n = (int)n;
    } else if (strcmp(key, "hysteresis_s") == 0) {
        if (!parse_size(value, 0, 600, &n)) goto bad;
        cfg->hysteresis_s = (double)n;
    } else if (strcmp(key, "warning_s") == 0) {
        if (!parse_size(value, 0, 3600, &n)) goto bad;
        cfg->warning_s = (double)n;
    } else if (strcmp(key, "alt_step_ft") == 0) {
        if (!parse_size(value, 0, 500, &n)) goto bad;
        cfg->alt_step_ft = (double)n;
    } else if (strcmp(key, "conformance_s") == 0) {
        if (!parse_size(value, 1, 3600, &n)) goto bad;
        cfg->conformance_s = (double)n;
    } else if (strcmp(key, "conflict_ack_s") == 0) {
        if (!parse_size(value, 1, 86400, &n)) goto bad;
        cfg->conflict_ack_s = (double)n;
    } else if (strcmp(key, "enroute_minima") == 0) {
        if (!parse_minima(value, &cfg->enroute)) goto bad;
    } else if (strcmp(key, "terminal_minima") == 0) {
        if (!parse_minima(value, &cfg->terminal)) goto bad;
    } else if (strcmp(key, "high_minima") == 0) {
        if (!parse_minima(value, &cfg->high)) goto bad;
    } else if (strcmp(key, "high_above_ft") == 0) {
        if (!parse_size(value, 0, 100000, &n)) goto bad;
        cfg->high_above_ft = (double)n;
    } else if (strcmp(key, "terminal_area") == 0) {
        double lat, lon, r;
        char extra;
        if (cfg->n_terminal_areas == DD_TERMINAL_AREAS_MAX ||
            sscanf(value, "%lf,%lf,%lf%c", &lat, &lon, &r, &extra) != 3 || !(fabs(lat) <= 90) ||
            !(fabs(lon) <= 180) || !(r > 0 && r <= 200))
            goto bad;
        cfg->terminal_areas[cfg->n_terminal_areas].lat_deg = lat;
        cfg->terminal_areas[cfg->n_terminal_areas].lon_deg = lon;
        cfg->terminal_areas[cfg->n_terminal_areas++].radius_nm = r;
    } else if (strcmp(key, "feed") == 0) {
        /* sbs:HOST:PORT:PARTY, beast:HOST:PORT:PARTY, asterix:udp:HOST:PORT:PARTY */
        char host[256], party[64], extra;
        unsigned port;
        dd_feed_kind_t kind = strncmp(value, "asterix:", 8) == 0 ? DD_FEED_ASTERIX
                              : strncmp(value, "beast:", 6) == 0 ? DD_FEED_BEAST
                                                                 : DD_FEED_SBS;
        const char *pattern = kind == DD_FEED_ASTERIX
                                  ? "asterix:udp:%255[^:]:%u:%63[A-Za-z0-9_.-]%c"
                              : kind == DD_FEED_BEAST ? "beast:%255[^:]:%u:%63[A-Za-z0-9_.-]%c"
                                                      : "sbs:%255[^:]:%u:%63[A-Za-z0-9_.-]%c";
        if (cfg->n_feeds == DD_FEEDS_MAX ||
            sscanf(value, pattern, host, &port, party, &extra) != 3 || port == 0 || port > 65535)
            goto bad;
        if (kind == DD_FEED_ASTERIX) { /* an IPv4 address, or a group with an interface after '@' */
            char *at = strchr(host, '@');
            struct in_addr a, i;
            if (at) *at = 0;
            bool ok =
                inet_pton(AF_INET, host, &a) == 1 &&
                (!at || (IN_MULTICAST(ntohl(a.s_addr)) && inet_pton(AF_INET, at + 1, &i) == 1));
            if (at) *at = '@';
            if (!ok) goto bad;
        }
        cfg->feeds[cfg->n_feeds].kind = kind;
        snprintf(cfg->feeds[cfg->n_feeds].host, sizeof(cfg->feeds[0].host), "%s", host);
        snprintf(cfg->feeds[cfg->n_feeds].party, sizeof(cfg->feeds[0].party), "%s", party);
        cfg->feeds[cfg->n_feeds++].port = (int)port;
    } else if (strcmp(key, "alerts_asterix") == 0) {
        /* udp:HOST:PORT:PARTY, PARTY '*' for every party's alerts: never by leaving it out */
        char host[256], party[64] = "", extra;
        unsigned port;
        if (cfg->n_alert_outs == DD_FEEDS_MAX ||
            sscanf(value, "udp:%255[^:]:%u:%63[A-Za-z0-9_.*-]%c", host, &port, party, &extra) !=
                3 ||
            port == 0 || port > 65535 || (strchr(party, '*') && strcmp(party, "*") != 0))
            goto bad;
        snprintf(cfg->alert_outs[cfg->n_alert_outs].host, sizeof(cfg->alert_outs[0].host), "%s",
                 host);
        snprintf(cfg->alert_outs[cfg->n_alert_outs].party, sizeof(cfg->alert_outs[0].party), "%s",
                 party);
        cfg->alert_outs[cfg->n_alert_outs++].port = (int)port;
    } else if (strcmp(key, "cat004_source") == 0) {
        int sac, sic;
        char extra;
        if (sscanf(value, "%d/%d%c", &sac, &sic, &extra) != 2 || sac < 0 || sac > 255 || sic < 0 ||
            sic > 255)
            goto bad;
        cfg->cat004_sac = sac, cfg->cat004_sic = sic;
    } else if (strcmp(key, "asterix_cat021_edition") == 0) {
        if (dc_asterix_parse_edition(value, &cfg->asterix.cat021_edition) != DC_OK) goto bad;
    } else if (strcmp(key, "asterix_radar") == 0) {
        dc_asterix_radar_t r;
        if (cfg->asterix.n_radars == DC_ASTERIX_RADARS_MAX ||
            dc_asterix_parse_radar(value, &r) != DC_OK)
            goto bad;
        cfg->asterix.radars[cfg->asterix.n_radars++] = r;
    } else if (strcmp(key, "rate_limit_rps") == 0) {
        if (!parse_size(value, 0, 1000000, &n)) goto bad;
        cfg->rate_rps = (double)n;
    } else if (strcmp(key, "rate_limit_burst") == 0) {
        if (!parse_size(value, 1, 1000000, &n)) goto bad;
        cfg->rate_burst = (double)n;
    } else if (strcmp(key, "history_s") == 0) {
        if (!parse_size(value, 0, 3600, &n)) goto bad;
        cfg->history_s = (double)n;
    } else if (strcmp(key, "history_keep_s") == 0) {
        if (!parse_size(value, 60, 86400, &n)) goto bad; /* a history read spans at most 24 h */
        cfg->history_keep_s = (double)n;
    } else if (strcmp(key, "console_dir") == 0) {
        if (!*value || strlen(value) >= sizeof(cfg->console_dir)) goto bad;
        snprintf(cfg->console_dir, sizeof(cfg->console_dir), "%s", value);
    } else if (strcmp(key, "http_threads") == 0) {
        if (!parse_size(value, 1, 64, &n)) goto bad;
        cfg->http_threads = n;
    } else if (strcmp(key, "max_connections") == 0) {
        if (!parse_size(value, 16, 1000000, &n)) goto bad;
        cfg->max_connections = n;
    } else if (strcmp(key, "max_unproven_per_address") == 0) {
        if (!parse_size(value, 1, 1000000, &n)) goto bad;
        cfg->max_unproven_per_address = n;
    } else if (strcmp(key, "header_timeout_s") == 0) {
        if (!parse_size(value, 1, 600, &n)) goto bad;
        cfg->header_timeout_s = (double)n;
    } else if (strcmp(key, "idle_timeout_s") == 0) {
        if (!parse_size(value, 1, 3600, &n)) goto bad;
        cfg->idle_timeout_s = (double)n;
    } else if (strcmp(key, "signatures") == 0) {
        if (strcmp(value, "required") != 0 && strcmp(value, "optional") != 0) goto bad;
        cfg->require_signatures = strcmp(value, "required") == 0;
    } else if (strcmp(key, "report_ahead_max_s") == 0) {
        if (!parse_size(value, 0, 3600, &n)) goto bad;
        cfg->report_ahead_max_s = (double)n;
    } else if (strcmp(key, "report_age_max_s") == 0) {
        if (!parse_size(value, 1, 86400, &n)) goto bad;
        cfg->report_age_max_s = (double)n;
    } else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
        char *dst = key[4] == 'c' ? cfg->tls_cert_file : cfg->tls_key_file;
        if (!*value || strlen(value) >= sizeof(cfg->tls_cert_file)) goto bad;
        snprintf(dst, sizeof(cfg->tls_cert_file), "%s", value);
    } else if (strcmp(key, "metrics_access") == 0) {
        if (strcmp(value, "loopback") != 0 && strcmp(value, "any") != 0) goto bad;
        cfg->metrics_any = strcmp(value, "any") == 0;
    } else if (strcmp(key, "metrics_token_file") == 0) {
        if (!*value || strlen(value) >= sizeof(cfg->metrics_token_file)) goto bad;
        snprintf(cfg->metrics_token_file, sizeof(cfg->metrics_token_file), "%s", value);
    } else if (strcmp(key, "quiet") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) goto bad;
        cfg->quiet = strcmp(value, "true") == 0;
    } else {
        snprintf(err, len, "unknown key '%s'", key);
        return false;
    }
    return true;
bad:
    snprintf(err, len, "bad value '%.200s' for '%s': expected %s", value, key, expected(key));
    return false;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

bool dd_config_parse(dd_config_t *cfg, const char *text, size_t text_len, const char *name,
                     char *err, size_t len)
{
    char line[DD_CONFIG_LINE_MAX], msg[256];
    int lineno = 0;
    size_t pos = 0;
    while (pos < text_len) {
        size_t end = pos;
        while (end < text_len && text[end] != '\n') end++;
        lineno++;
        if (end - pos >= sizeof(line)) {
            snprintf(err, len, "%s:%d: line longer than %d bytes", name, lineno,
                     DD_CONFIG_LINE_MAX - 1);
            return false;
        }
        if (memchr(text + pos, '\0', end - pos)) {
            snprintf(err, len, "%s:%d: a NUL byte: not a text file", name, lineno);
            return false;
        }
        memcpy(line, text + pos, end - pos);
        line[end - pos] = '\0';
        pos = end + 1;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, len, "%s:%d: expected 'key = value'", name, lineno);
            return false;
        }
        *eq = '\0';
        if (!dd_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof(msg))) {
            snprintf(err, len, "%s:%d: %s", name, lineno, msg);
            return false;
        }
    }
    return true;
}

bool dd_config_load(dd_config_t *cfg, const char *path, char *err, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, len, "cannot read config file %s: %s", path, strerror(errno));
        return false;
    }
    char *text = malloc(DD_CONFIG_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, DD_CONFIG_FILE_MAX + 1, f) : 0;
    bool read_error = ferror(f);
    fclose(f);
    bool ok = false;
    if (!text || read_error)
        snprintf(err, len, "cannot read config file %s", path);
    else if (n > DD_CONFIG_FILE_MAX)
        snprintf(err, len, "config file %s is larger than %d bytes", path, DD_CONFIG_FILE_MAX);
    else
        ok = dd_config_parse(cfg, text, n, path, err, len);
    free(text);
    return ok;
}
