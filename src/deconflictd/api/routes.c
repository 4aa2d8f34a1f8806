/* The API's routes: one table, read by the server to dispatch, by `deconflictd --print-routes`
 * (the integration test checks that list against docs/openapi.yaml both ways and probes each
 * route), and by the signature policy (which routes write). */
#include <string.h>

#include "api/api.h"

static const dd_route_t routes[] = {
    {"GET", "/v1/operations", dd_h_operations_list, 0},
    {"POST", "/v1/operations", dd_h_operations_create, DD_ROUTE_WRITES},
    {"GET", "/v1/operations/{id}", dd_h_operations_get, 0},
    {"PUT", "/v1/operations/{id}", dd_h_operations_update, DD_ROUTE_WRITES},
    {"POST", "/v1/operations/{id}/activate", dd_h_operations_state, DD_ROUTE_WRITES},
    {"POST", "/v1/operations/{id}/end", dd_h_operations_state, DD_ROUTE_WRITES},
    {"POST", "/v1/operations/{id}/cancel", dd_h_operations_state, DD_ROUTE_WRITES},
    {"GET", "/v1/conflicts", dd_h_conflicts_list, 0},
    {"GET", "/v1/conflicts/{id}", dd_h_conflicts_get, 0},
    {"POST", "/v1/conflicts/{id}/ack", dd_h_conflicts_ack, DD_ROUTE_WRITES},
    {"GET", "/v1/events", NULL, DD_ROUTE_STREAM},
    {"POST", "/v1/positions", dd_h_positions_post, DD_ROUTE_WRITES},
    {"GET", "/v1/messages", dd_h_messages_list, 0},
    {"POST", "/v1/messages", dd_h_messages_send, DD_ROUTE_WRITES},
    {"GET", "/v1/messages/{id}", dd_h_messages_get, 0},
    {"POST", "/v1/messages/{id}/ack", dd_h_messages_ack, DD_ROUTE_WRITES},
    {"GET", "/v1/tracks", dd_h_tracks_get, 0},
    {"GET", "/v1/history", dd_h_history_get, 0},
    {"GET", "/v1/audit", dd_h_audit_get, 0},
    {"GET", "/v1/party", dd_h_party_get, 0},
    {"GET", "/v1/agreements", dd_h_agreements_list, 0},
    {"POST", "/v1/agreements", dd_h_agreements_propose, DD_ROUTE_WRITES},
    {"GET", "/v1/agreements/{id}", dd_h_agreements_get, 0},
    {"POST", "/v1/agreements/{id}/accept", dd_h_agreements_act, DD_ROUTE_WRITES},
    {"POST", "/v1/agreements/{id}/reject", dd_h_agreements_act, DD_ROUTE_WRITES},
    {"POST", "/v1/agreements/{id}/withdraw", dd_h_agreements_act, DD_ROUTE_WRITES},
    {"PUT", "/v1/party/key", dd_h_party_key, DD_ROUTE_WRITES | DD_ROUTE_FIRST_KEY},
    {"PUT", "/v1/party/replay-clock", dd_h_party_replay_clock_put, DD_ROUTE_WRITES},
    {"DELETE", "/v1/party/replay-clock", dd_h_party_replay_clock_delete, DD_ROUTE_WRITES},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

int dd_api_split(const char *path, char seg[4][128])
{
    int n = 0;
    const char *p = path;
    while (*p == '/') p++;
    while (*p && n < 4) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= 128) return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p += len;
        while (*p == '/') p++;
    }
    return *p ? -1 : n;
}

/* Whether path segments seg[0..n) match pattern; {id} matches any segment. */
static bool matches(const char *pattern, char seg[4][128], int n)
{
    char pat[4][128];
    int m = dd_api_split(pattern, pat);
    if (m != n) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(pat[i], "{id}") != 0 && strcmp(pat[i], seg[i]) != 0) return false;
    return true;
}

const dd_route_t *dd_api_route(const char *method, const char *path, char seg[4][128],
                               const char **id, const char **action)
{
    int n = dd_api_split(path, seg);
    *id = *action = NULL;
    for (size_t i = 0; n > 0 && i < N_ROUTES; i++) {
        if (strcmp(routes[i].method, method) != 0 || !matches(routes[i].pattern, seg, n)) continue;
        if (n >= 3) *id = seg[2];
        if (n == 4) *action = seg[3];
        return &routes[i];
    }
    return NULL;
}

void dd_api_allowed(const char *path, char *out, size_t len)
{
    char seg[4][128];
    int n = dd_api_split(path, seg);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; n > 0 && i < N_ROUTES; i++) {
        if (!matches(routes[i].pattern, seg, n)) continue;
        const char *m = routes[i].method;
        bool get = strcmp(m, "GET") == 0;
        int w =
            snprintf(out + used, len - used, "%s%s%s", used ? ", " : "", m, get ? ", HEAD" : "");
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
}

void dd_api_print_routes(FILE *out)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        fprintf(out, "%s %s\n", routes[i].method, routes[i].pattern);
}
