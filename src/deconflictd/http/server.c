/* deconflictd's HTTP server: see server.h. */
#include "http/server.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <math.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "api/api.h"
#include "clock.h"
#include "core/commit.h"
#include "core/format.h"
#include "core/parties.h"
#include "deconflict/audit.h"

/* One request on a connection, from its first callback to its completion. */
typedef struct request {
    dd_server_t *srv;
    char *body;
    size_t len, cap;
    bool too_large;
    double t0;
    int status;
    int64_t party;
    char party_name[DC_PARTY_NAME_MAX];
    bool has_key;
    uint8_t public_key[32];
    bool require_signatures; /* the party's or the service's policy */
    bool is_signed;          /* its signature was checked */
    char method[16];
    char path[256];
    /* Headers some answers carry (queue_answer): the methods of a 405, the wait of a 429, and
     * whether a 401 answers a token that was given (RFC 6750's error="invalid_token"). */
    char allow[96];
    double retry_after_s;
    bool token_given;
    /* An answer held until the commit ticket is durable (answer_when_durable). */
    bool holding;
    uint64_t ticket;
    dd_response_t answer;
    struct MHD_Connection *conn;
    struct request *next_held;
} request_t;

/* ---- answers ---- */

/* An API answer's headers, then queued: never cached, never sniffed. */
static enum MHD_Result queue_answer(struct MHD_Connection *c, request_t *rq, int status,
                                    const char *type, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate",
                                rq->token_given
                                    ? "Bearer realm=\"deconflict\", error=\"invalid_token\""
                                    : "Bearer realm=\"deconflict\"");
    if (status == 405 && rq->allow[0]) MHD_add_response_header(r, "Allow", rq->allow);
    if (status == 429 && rq->retry_after_s > 0) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%.0f", ceil(rq->retry_after_s)); /* whole seconds */
        MHD_add_response_header(r, "Retry-After", secs);
    }
    rq->status = status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* The API's answer, its body handed over. */
static enum MHD_Result send_response(struct MHD_Connection *c, request_t *rq, dd_response_t *rs)
{
    struct MHD_Response *r =
        rs->body ? MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE)
                 : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(rs->body);
        return MHD_NO;
    }
    return queue_answer(c, rq, rs->status, rs->type ? rs->type : "application/json", r);
}

static enum MHD_Result send_fault(struct MHD_Connection *c, request_t *rq, dd_fault_t *f)
{
    dd_response_t rs = {0};
    dd_respond_fault(&rs, f);
    return send_response(c, rq, &rs);
}

static enum MHD_Result problem(struct MHD_Connection *c, request_t *rq, dc_err_t err,
                               const char *field, const char *detail)
{
    dd_fault_t f;
    dd_fail(&f, err, field, "%s", detail);
    return send_fault(c, rq, &f);
}

/* What the handler made rests on a write the store may not have kept (core/commit.h): the
 * client retries (with the same Idempotency-Key for a filing) and learns which. */
static enum MHD_Result send_unsure(struct MHD_Connection *c, request_t *rq, dd_response_t *rs)
{
    free(rs->body);
    return problem(c, rq, DC_ERR_UNAVAILABLE, "",
                   "the store was lost, or could not keep a write, before this answer was "
                   "durable (a failover? a full disk?): the outcome is not known; retry, with "
                   "the same Idempotency-Key for a write");
}

/* The answer, once the commits it rests on (up to ticket) are durable: now if they are, else
 * held -- the connection suspended, its thread free for others -- until the syncer's hook
 * (on_synced) resumes it, and on_request sends it. Stopping, the thread waits instead. */
static enum MHD_Result answer_when_durable(struct MHD_Connection *c, request_t *rq,
                                           dd_response_t *rs, uint64_t ticket)
{
    dd_server_t *srv = rq->srv;
    bool unsure = false;
    if (ticket) {
        pthread_mutex_lock(&srv->held_mu);
        /* Asked under held_mu, which the hook takes after each sync: a sync that ends after
         * this question finds the answer held. */
        bool durable = dd_commit_durable(srv->svc, ticket, &unsure);
        if (!durable && !srv->held_closing) {
            rq->holding = true, rq->ticket = ticket, rq->answer = *rs, rq->conn = c;
            rq->next_held = srv->held;
            srv->held = rq;
            MHD_suspend_connection(c);
            pthread_mutex_unlock(&srv->held_mu);
            return MHD_YES;
        }
        pthread_mutex_unlock(&srv->held_mu);
        if (!durable) dd_commit_wait(srv->svc, ticket, &unsure);
    }
    return unsure ? send_unsure(c, rq, rs) : send_response(c, rq, rs);
}

/* The syncer's hook, after each sync: the held answers now durable are resumed. */
static void on_synced(void *ctx)
{
    dd_server_t *srv = ctx;
    pthread_mutex_lock(&srv->held_mu);
    for (request_t **p = &srv->held; *p;) {
        request_t *rq = *p;
        bool unsure;
        if (srv->held_closing || dd_commit_durable(srv->svc, rq->ticket, &unsure)) {
            *p = rq->next_held;
            MHD_resume_connection(rq->conn);
        } else {
            p = &rq->next_held;
        }
    }
    pthread_mutex_unlock(&srv->held_mu);
}

/* A held answer's connection resumed (on_synced, or stopping): it is sent. */
static enum MHD_Result send_held(struct MHD_Connection *c, request_t *rq)
{
    rq->holding = false;
    dd_response_t rs = rq->answer;
    memset(&rq->answer, 0, sizeof(rq->answer));
    return answer_when_durable(c, rq, &rs, rq->ticket);
}

/* ---- authentication and signatures ---- */

/* DC_OK, DC_ERR_UNAUTHORIZED, or DC_ERR_UNAVAILABLE (the store could not be asked). */
static dc_err_t authenticate(dd_server_t *srv, struct MHD_Connection *c, request_t *rq)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    dc_party_t p;
    /* The scheme is case-insensitive (RFC 9110 11.1), and one or more spaces follow it. */
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ') return DC_ERR_UNAUTHORIZED;
    const char *token = h + 6;
    while (*token == ' ') token++;
    rq->token_given = *token != '\0';
    dc_err_t rc = dd_party_authenticate(srv->svc, token, &p);
    if (rc != DC_OK) return rc;
    rq->party = p.id;
    snprintf(rq->party_name, sizeof(rq->party_name), "%s", p.name);
    rq->has_key = p.has_key;
    memcpy(rq->public_key, p.public_key, sizeof(rq->public_key));
    rq->require_signatures = p.require_signatures || srv->svc->cfg.require_signatures;
    /* A party's connection: never evicted, and kept open idle_timeout_s between requests. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) dd_access_proven(srv->access, ci->socket_context);
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)srv->svc->cfg.idle_timeout_s);
    return DC_OK;
}

/* authenticate's refusal: a store that could not be asked is not a bad token. */
static enum MHD_Result refuse_authentication(struct MHD_Connection *c, request_t *rq, dc_err_t rc)
{
    if (rc == DC_ERR_UNAVAILABLE)
        return problem(c, rq, DC_ERR_UNAVAILABLE, "",
                       "the store could not be asked for this token (a failover?): retry");
    return problem(c, rq, DC_ERR_UNAUTHORIZED, "Authorization",
                   "Authorization: expected 'Bearer <token>' with a valid party token");
}

static enum MHD_Result route(struct MHD_Connection *c, request_t *rq, const char *url,
                             const char *method);

/* The text a party signs for a request (DC_AUDIT_REQUEST_TAG in deconflict/audit.h): the tag,
 * the signer's party id, the method, the path, each on its own line, then the body. v1 (no
 * party id) when v1 is set: only to tell a client that signed the old text what is wrong. */
static char *signed_text(request_t *rq, const char *method, const char *url, bool v1, size_t *len)
{
    char head[512];
    int n = v1 ? snprintf(head, sizeof(head), DC_AUDIT_REQUEST_TAG_V1 "%s\n%s\n", method, url)
               : snprintf(head, sizeof(head), DC_AUDIT_REQUEST_TAG "%lld\n%s\n%s\n",
                          (long long)rq->party, method, url);
    if (n < 0 || (size_t)n >= sizeof(head)) return NULL;
    char *msg = malloc((size_t)n + rq->len + 1);
    if (!msg) return NULL;
    memcpy(msg, head, (size_t)n);
    if (rq->len) memcpy(msg + n, rq->body, rq->len);
    *len = (size_t)n + rq->len;
    msg[*len] = '\0';
    return msg;
}

/* Checks a request's signature before routing it; the audit entries it causes keep it. */
static enum MHD_Result signed_route(struct MHD_Connection *c, request_t *rq, const char *url,
                                    const char *method, const char *header)
{
    dc_err_t auth = authenticate(rq->srv, c, rq);
    if (auth != DC_OK) return refuse_authentication(c, rq, auth);
    uint8_t sig[64];
    size_t got = 0;
    const char *b64 = strncmp(header, "ed25519 ", 8) == 0 ? header + 8 : NULL;
    if (!b64 ||
        sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != sizeof(sig))
        return problem(c, rq, DC_ERR_INVALID, "Deconflict-Signature",
                       "Deconflict-Signature: expected 'ed25519 <base64 of 64 bytes>'");
    if (!rq->has_key)
        return problem(c, rq, DC_ERR_NO_KEY, "Deconflict-Signature",
                       "Deconflict-Signature: this party has registered no public key "
                       "(PUT /v1/party/key)");
    /* What is signed: the signer, the method and the path with the body, so that a signature
     * authorises this action on this resource by this party and no other (docs/audit.md). */
    size_t len;
    char *msg = signed_text(rq, method, url, false, &len);
    if (!msg) return problem(c, rq, DC_ERR_INVALID, "", "request path too long to sign");
    if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, rq->public_key) != 0) {
        free(msg);
        size_t old_len;
        char *old = signed_text(rq, method, url, true, &old_len);
        bool was_v1 = old && crypto_sign_verify_detached(sig, (const unsigned char *)old, old_len,
                                                         rq->public_key) == 0;
        free(old);
        if (was_v1)
            return problem(c, rq, DC_ERR_BAD_SIGNATURE, "Deconflict-Signature",
                           "Deconflict-Signature: signed in the old format, which does not name "
                           "the signer; sign \"deconflict-request-v2\" with your party id "
                           "(docs/audit.md)");
        return problem(c, rq, DC_ERR_BAD_SIGNATURE, "Deconflict-Signature",
                       "Deconflict-Signature: the signature does not match this request "
                       "(party, method, path and body) and the party's registered key");
    }
    rq->is_signed = true;
    dd_signed_request(rq->party, msg, len, sig);
    enum MHD_Result r = route(c, rq, url, method);
    dd_signed_request(0, NULL, 0, NULL);
    free(msg);
    return r;
}

/* ---- the web console's files ---- */

/* What the console's pages may load and run: only its own files, and only requests back to
 * this service (docs/console.md). */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "                   \
    "frame-ancestors 'none'"

/* A file of the web console: content-hashed assets are cached for a year, everything else is
 * revalidated by its ETag on every load. */
static enum MHD_Result serve_console(struct MHD_Connection *c, request_t *rq, const char *url)
{
    const dd_console_file_t *f = dd_console_find(rq->srv->console, url);
    if (!f && !rq->srv->console)
        return problem(c, rq, DC_ERR_NOT_FOUND, "",
                       "the web console is not installed here: build it (make) or point "
                       "--console-dir at its files");
    if (!f) return problem(c, rq, DC_ERR_NOT_FOUND, "", "no such resource");
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool fresh = inm && strcmp(inm, f->etag) == 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(fresh ? 0 : f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", f->type);
    MHD_add_response_header(r, "Cache-Control",
                            f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(r, "ETag", f->etag);
    MHD_add_response_header(r, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    rq->status = fresh ? 304 : 200;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rq->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- routing ---- */

static const char *query_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *header_value(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Liveness, and this node's part: whether it leads the periodic pass, and when it last
 * completed one (a load balancer or an operator tells the nodes apart by it). */
static enum MHD_Result healthz(struct MHD_Connection *c, request_t *rq)
{
    dd_service_t *svc = rq->srv->svc;
    pthread_mutex_lock(&svc->lock);
    bool leader = svc->leader;
    double last = svc->last_pass_s;
    pthread_mutex_unlock(&svc->lock);
    char t[40];
    json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "status", "ok", "node", svc->node, "store",
                          dc_store_backend(svc->store), "leader", leader);
    if (j)
        json_object_set_new(j, "last_pass",
                            last > 0 ? json_string(dd_time_text(last, t)) : json_null());
    char *text = j ? dd_json_text(j) : NULL;
    json_decref(j);
    if (!text) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) free(text);
    return r ? queue_answer(c, rq, 200, "application/json", r) : MHD_NO;
}

static enum MHD_Result metrics(struct MHD_Connection *c, request_t *rq)
{
    /* 64 KiB: about four times the longest text (8 feeds and 8 CAT004 senders). */
    enum { METRICS_MAX_BYTES = 65536 };
    char *buf = malloc(METRICS_MAX_BYTES);
    size_t n = buf ? dd_metrics_text(rq->srv, buf, METRICS_MAX_BYTES) : 0;
    if (!n) { /* out of memory, or a text past the bound: said, never a dropped connection */
        fprintf(stderr, "deconflictd: /metrics: %s\n",
                buf ? "the text outgrew its 64 KiB bound" : "out of memory");
        free(buf);
        return problem(c, rq, DC_ERR_NOMEM, "", "the metrics could not be written");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) free(buf);
    return r ? queue_answer(c, rq, 200, "text/plain; version=0.0.4", r) : MHD_NO;
}

/* Whether the client is on this host: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x. */
static bool from_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa) return false;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static enum MHD_Result route(struct MHD_Connection *c, request_t *rq, const char *url,
                             const char *method)
{
    dd_server_t *srv = rq->srv;
    dd_service_t *svc = srv->svc;
    bool get = strcmp(method, "GET") == 0;
    /* HEAD is answered wherever GET is: libmicrohttpd sends GET's headers and no body. */
    bool get_or_head = get || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/healthz") == 0 && get_or_head) return healthz(c, rq);
    if (strcmp(url, "/metrics") == 0 && get_or_head) {
        /* Service-wide counts hint at other parties' traffic: a token, else loopback only. */
        const dd_config_t *cfg = &svc->cfg;
        if (cfg->metrics_token[0]) {
            const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
            size_t want = strlen(cfg->metrics_token);
            bool ok = h && strncasecmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == want &&
                      sodium_memcmp(h + 7, cfg->metrics_token, want) == 0;
            rq->token_given = h != NULL;
            if (!ok)
                return problem(c, rq, DC_ERR_UNAUTHORIZED, "Authorization",
                               "/metrics needs 'Authorization: Bearer <the metrics token>'");
        } else if (!cfg->metrics_any && !from_loopback(c)) {
            return problem(c, rq, DC_ERR_FORBIDDEN, "",
                           "/metrics is served to loopback clients only (metrics_access = any, "
                           "or metrics_token_file, to serve it further)");
        }
        return metrics(c, rq);
    }
    if (get_or_head && strncmp(url, "/v1/", 4) != 0 && strcmp(url, "/v1") != 0)
        return serve_console(c, rq, url);
    char seg[4][128];
    int n = dd_api_split(url, seg);
    if (n < 2 || strcmp(seg[0], "v1") != 0)
        return problem(c, rq, DC_ERR_NOT_FOUND, "", "no such resource");
    dc_err_t auth = authenticate(srv, c, rq);
    if (auth != DC_OK) return refuse_authentication(c, rq, auth);
    double retry_s;
    if (!dd_access_rate(srv->access, rq->party, dd_now_s(), &retry_s)) {
        dd_fault_t f;
        dd_fail(&f, DC_ERR_RATE, "",
                "more than %.0f requests per second (burst %.0f) from this party; retry in "
                "%.2f s",
                svc->cfg.rate_rps, svc->cfg.rate_burst, retry_s);
        f.ext = json_pack("{s:f}", "retry_after_s", retry_s);
        rq->retry_after_s = retry_s;
        return send_fault(c, rq, &f);
    }
    const char *id, *action;
    /* HEAD is GET without the body (libmicrohttpd sends none for a HEAD). */
    bool head = strcmp(method, "HEAD") == 0;
    const dd_route_t *r = dd_api_route(head ? "GET" : method, url, seg, &id, &action);
    /* Under a signature policy every write must be signed; only registering the first key
     * needs none, or a party could never start signing. */
    bool writes = r ? (r->flags & DD_ROUTE_WRITES) != 0 : !get && strcmp(method, "HEAD") != 0;
    bool first_key = r && (r->flags & DD_ROUTE_FIRST_KEY) && !rq->has_key;
    if (writes && rq->require_signatures && !rq->is_signed && !first_key)
        return problem(c, rq, DC_ERR_SIGNATURE_REQUIRED, "Deconflict-Signature",
                       rq->has_key ? "Deconflict-Signature: this party's writes must be signed "
                                     "(signatures: required; docs/audit.md)"
                                   : "Deconflict-Signature: this party's writes must be signed "
                                     "(signatures: required): register a key first with PUT "
                                     "/v1/party/key, then sign (docs/audit.md)");
    if (rq->too_large) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body larger than %zu bytes", svc->cfg.max_body_bytes);
        return problem(c, rq, DC_ERR_TOO_LARGE, "", msg);
    }
    if (!r) {
        dd_api_allowed(url, rq->allow, sizeof(rq->allow));
        if (!rq->allow[0]) return problem(c, rq, DC_ERR_NOT_FOUND, "", "no such resource");
        char detail[160];
        snprintf(detail, sizeof(detail), "%s is not answered here; this resource answers %s",
                 method, rq->allow);
        return problem(c, rq, DC_ERR_METHOD, "", detail);
    }
    if (r->flags & DD_ROUTE_STREAM) {
        enum MHD_Result queued = MHD_NO;
        dd_fault_t f;
        const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
        if (dd_stream_open(srv->streams, c, rq->party, last, &queued, &f) != DC_OK)
            return send_fault(c, rq, &f);
        rq->status = 200;
        return queued;
    }
    dd_request_t req = {.svc = svc,
                        .party = rq->party,
                        .party_name = rq->party_name,
                        .has_key = rq->has_key,
                        .public_key = rq->public_key,
                        .method = method,
                        .path = url,
                        .id = id,
                        .action = action,
                        .body = rq->body,
                        .len = rq->len,
                        .now = dd_now_s(),
                        .arg = query_arg,
                        .header = header_value,
                        .conn = c};
    dd_response_t rs = {0};
    dd_answer_begin();
    dd_answer_defer(true);
    r->handler(&req, &rs);
    dd_answer_defer(false);
    if (dd_answer_unsure()) return send_unsure(c, rq, &rs);
    return answer_when_durable(c, rq, &rs, dd_answer_ticket());
}

/* ---- the connection's callbacks ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    dd_server_t *srv = cls;
    request_t *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq) return MHD_NO;
        rq->srv = srv;
        rq->t0 = dd_now_s();
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        snprintf(rq->path, sizeof(rq->path), "%s", url);
        *con_cls = rq;
        return MHD_YES;
    }
    if (rq->holding) return send_held(c, rq);
    if (*upload_data_size) {
        /* Keep reading past the limit (answering early would reset the connection), but
         * keep nothing. */
        if (!rq->too_large && rq->len + *upload_data_size > srv->svc->cfg.max_body_bytes) {
            rq->too_large = true;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
        }
        if (!rq->too_large) {
            if (rq->len + *upload_data_size + 1 > rq->cap) {
                size_t cap = (rq->len + *upload_data_size + 1) * 2;
                char *b = realloc(rq->body, cap);
                if (!b) return MHD_NO;
                rq->body = b, rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload_data, *upload_data_size);
            rq->len += *upload_data_size;
            rq->body[rq->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* A signed request: "Deconflict-Signature: ed25519 <base64 of the detached Ed25519
     * signature>" by the party's registered key (docs/audit.md). */
    const char *sig_h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Deconflict-Signature");
    if (sig_h && strncmp(url, "/v1/", 4) == 0) return signed_route(c, rq, url, method, sig_h);
    return route(c, rq, url, method);
}

/* Counts the request and prints its log line: one JSON object per request on stderr. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    dd_server_t *srv = cls;
    request_t *rq = *con_cls;
    if (!rq) return;
    if (rq->status >= 100 && rq->status < 600)
        __atomic_add_fetch(&srv->requests_by_class[rq->status / 100], 1, __ATOMIC_RELAXED);
    if (!srv->svc->cfg.quiet) {
        json_t *line = json_pack("{s:f, s:s, s:s, s:i, s:f, s:s}", "t", rq->t0, "method",
                                 rq->method, "path", rq->path, "status", rq->status, "duration_ms",
                                 (dd_now_s() - rq->t0) * 1e3, "party", rq->party_name);
        char *text = line ? dd_json_text(line) : NULL;
        if (text) fprintf(stderr, "%s\n", text);
        free(text);
        json_decref(line);
    }
    if (rq->holding) free(rq->answer.body); /* closed while held (stopping) */
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

/* Every connection the server takes is registered with access.c (before MHD closes its socket,
 * so an eviction never shuts a descriptor that has been reused). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    dd_server_t *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = dd_access_opened(srv->access, fd ? fd->connect_fd : -1,
                                           addr ? addr->client_addr : NULL, dd_now_s());
    } else {
        dd_access_closed(srv->access, *socket_context);
        *socket_context = NULL;
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    dd_server_t *srv = cls;
    return dd_access_admit(srv->access, addr, len) ? MHD_YES : MHD_NO;
}

/* ---- start and stop ---- */

/* MHD's own connection limit sits above access.c's: an evicted connection counts until its
 * socket is closed, a moment after the one that took its place was accepted. */
#define MHD_LIMIT_HEADROOM 256

bool dd_server_start(dd_server_t *srv, dd_service_t *svc, const dd_console_t *console,
                     const dd_feed_t *feeds, const dd_alert_out_t *alert_outs, char *err,
                     size_t len)
{
    memset(srv, 0, sizeof(*srv));
    srv->svc = svc, srv->console = console, srv->feeds = feeds, srv->alert_outs = alert_outs;
    pthread_mutex_init(&srv->held_mu, NULL);
    srv->started_s = dd_now_s();
    const dd_config_t *cfg = &svc->cfg;
    dd_access_config_t acfg = {.max_connections = cfg->max_connections,
                               .max_unproven_per_address = cfg->max_unproven_per_address,
                               .rate_rps = cfg->rate_rps,
                               .rate_burst = cfg->rate_burst,
                               .max_streams_party = cfg->max_streams_party};
    srv->access = dd_access_new(&acfg);
    if (!srv->access) {
        snprintf(err, len, "out of memory");
        return false;
    }
    dd_commit_synced_hook(svc, on_synced, srv);
    /* An IPv4 address, or an IPv6 one (config.c took it out of its brackets). */
    struct sockaddr_in addr;
    struct sockaddr_in6 addr6;
    memset(&addr, 0, sizeof(addr));
    memset(&addr6, 0, sizeof(addr6));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->listen_port);
    addr6.sin6_family = AF_INET6;
    addr6.sin6_port = htons((uint16_t)cfg->listen_port);
    bool v6 = inet_pton(AF_INET6, cfg->listen_host, &addr6.sin6_addr) == 1;
    if (!v6 && inet_pton(AF_INET, cfg->listen_host, &addr.sin_addr) != 1) {
        snprintf(err, len, "listen address '%s' is not an IPv4 or IPv6 address", cfg->listen_host);
        return false;
    }
    if (!(srv->streams = dd_streams_new(svc, srv->access, err, len))) return false;
    /* HTTPS through libmicrohttpd's GnuTLS when a certificate is configured. */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    bool use_tls = cfg->tls_cert_pem && cfg->tls_key_pem;
    if (use_tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, len, "this libmicrohttpd has no TLS");
        return false;
    }
    srv->mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
            (v6 ? MHD_USE_IPv6 : 0) | (use_tls ? MHD_USE_TLS : 0),
        (uint16_t)cfg->listen_port, on_accept, srv, on_request, srv, MHD_OPTION_SOCK_ADDR,
        v6 ? (const struct sockaddr *)&addr6 : (const struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(cfg->max_connections + MHD_LIMIT_HEADROOM), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->header_timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_ARRAY, use_tls ? tls : tls + 2, MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(err, len, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
                 strerror(errno));
        return false;
    }
    return true;
}

unsigned dd_server_port(const dd_server_t *srv)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : (unsigned)srv->svc->cfg.listen_port;
}

void dd_server_stop(dd_server_t *srv)
{
    /* MHD must hold no connection suspended when it stops: the held answers are resumed, and
     * wait in their threads for their sync (the syncer runs until the service closes). */
    pthread_mutex_lock(&srv->held_mu);
    srv->held_closing = true;
    pthread_mutex_unlock(&srv->held_mu);
    on_synced(srv);
    dd_commit_synced_hook(srv->svc, NULL, NULL);
    dd_streams_close(srv->streams);
    if (srv->mhd) MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    dd_streams_free(srv->streams);
    srv->streams = NULL;
    dd_access_free(srv->access);
    srv->access = NULL;
    pthread_mutex_destroy(&srv->held_mu);
}

void dd_server_print_routes(FILE *out)
{
    fprintf(out, "GET /\nGET /assets/{file}\nGET /healthz\nGET /metrics\n");
    dd_api_print_routes(out);
}
