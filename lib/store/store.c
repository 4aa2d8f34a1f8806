/* The store's public functions (include/deconflict/store.h): each calls the store's backend
 * through its table (store-int.h); what every backend shares -- party names, tokens, the
 * signed request being served, notices, the one-process claim -- is here. */
#include "store/store-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

dc_store_t *dc_store_open(const char *dir, char *err, size_t len)
{
    return dc_store_sqlite_open(dir, true, err, len);
}

dc_store_t *dc_store_open_existing(const char *dir, char *err, size_t len)
{
    return dc_store_sqlite_open(dir, false, err, len);
}

bool dc_store_is_url(const char *spec)
{
    return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0 ||
           strchr(spec, '=') != NULL;
}

dc_store_t *dc_store_open_url(const char *url, char *err, size_t len)
{
    if (!dc_store_is_url(url)) {
        snprintf(err, len,
                 "store '%.200s' is not a PostgreSQL URL (postgresql://user@host/db) or libpq "
                 "connection string (host=... dbname=...)",
                 url);
        return NULL;
    }
    return dc_store_pg_open(url, err, len);
}

const char *dc_store_backend(const dc_store_t *st)
{
    return st->be->name;
}

void dc_store_close(dc_store_t *st)
{
    if (st) st->be->close(st);
}

const char *dc_store_last_error(dc_store_t *st)
{
    return st->err;
}

const char *dc_store_notice(const dc_store_t *st)
{
    return st->notice;
}

void dc_store_add_notice(dc_store_t *st, const char *fmt, ...)
{
    size_t used = strlen(st->notice);
    if (used + 2 >= sizeof(st->notice)) return;
    if (used) st->notice[used++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->notice + used, sizeof(st->notice) - used, fmt, ap);
    va_end(ap);
}

/* ---- parties and tokens ---- */

bool dc_party_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= DC_PARTY_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

#define TOKEN_PREFIX "dct_"
#define TOKEN_BYTES  32

_Static_assert(DC_STORE_TOKEN_HASH_BYTES == crypto_generichash_BYTES, "BLAKE2b-256");

void dc_store_new_token(char out[DC_TOKEN_MAX], uint8_t hash[DC_STORE_TOKEN_HASH_BYTES])
{
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, sizeof(TOKEN_PREFIX));
    sodium_bin2base64(out + strlen(TOKEN_PREFIX), DC_TOKEN_MAX - strlen(TOKEN_PREFIX), raw,
                      sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    crypto_generichash(hash, DC_STORE_TOKEN_HASH_BYTES, (const unsigned char *)out, strlen(out),
                       NULL, 0);
}

bool dc_store_token_hash(const char *token, uint8_t hash[DC_STORE_TOKEN_HASH_BYTES])
{
    size_t n = strlen(token);
    if (n < sizeof(TOKEN_PREFIX) || n >= DC_TOKEN_MAX ||
        strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
        return false;
    crypto_generichash(hash, DC_STORE_TOKEN_HASH_BYTES, (const unsigned char *)token, n, NULL, 0);
    return true;
}

void dc_store_set_request(dc_store_t *st, int64_t party, const char *body, size_t len,
                          const uint8_t signature[64])
{
    if (!body) {
        memset(&st->req, 0, sizeof(st->req));
        return;
    }
    st->req.party = party, st->req.body = body, st->req.len = len;
    sodium_bin2base64(st->req.sig64, sizeof(st->req.sig64), signature, 64,
                      sodium_base64_VARIANT_ORIGINAL);
}

/* ---- dispatch ---- */

int dc_store_schema_version(dc_store_t *st)
{
    return st->be->schema_version(st);
}

dc_err_t dc_store_begin(dc_store_t *st)
{
    return st->be->begin(st);
}

dc_err_t dc_store_commit(dc_store_t *st)
{
    return st->be->commit(st);
}

void dc_store_rollback(dc_store_t *st)
{
    st->be->rollback(st);
}

dc_err_t dc_store_defer_sync(dc_store_t *st)
{
    return st->be->defer_sync(st);
}

dc_err_t dc_store_flush(dc_store_t *st, char *err, size_t len)
{
    return st->be->flush(st, err, len);
}

dc_err_t dc_store_sync(dc_store_t *st, char *err, size_t len)
{
    return st->be->sync(st, err, len);
}

dc_err_t dc_store_party_add(dc_store_t *st, const char *name, double now_s,
                            char token_out[DC_TOKEN_MAX], dc_party_t *out)
{
    return st->be->party_add(st, name, now_s, token_out, out);
}

dc_err_t dc_store_party_rotate_token(dc_store_t *st, const char *name, char token_out[DC_TOKEN_MAX])
{
    return st->be->party_rotate_token(st, name, token_out);
}

dc_err_t dc_store_party_set_disabled(dc_store_t *st, const char *name, bool disabled)
{
    return st->be->party_set_disabled(st, name, disabled);
}

dc_err_t dc_store_party_set_signatures(dc_store_t *st, const char *name, bool required)
{
    return st->be->party_set_signatures(st, name, required);
}

dc_err_t dc_store_party_list(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx)
{
    return st->be->party_list(st, fn, ctx);
}

dc_err_t dc_store_party_by_token(dc_store_t *st, const char *token, dc_party_t *out)
{
    return st->be->party_by_token(st, token, out);
}

dc_err_t dc_store_party_set_key(dc_store_t *st, int64_t party, const uint8_t public_key[32])
{
    return st->be->party_set_key(st, party, public_key);
}

dc_err_t dc_store_doc_put(dc_store_t *st, const dc_doc_t *doc)
{
    return st->be->doc_put(st, doc);
}

dc_err_t dc_store_doc_each(dc_store_t *st, const char *kind,
                           void (*fn)(const dc_doc_t *doc, void *ctx), void *ctx)
{
    return st->be->doc_each(st, kind, fn, ctx);
}

dc_err_t dc_store_doc_fetch(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out)
{
    return st->be->doc_fetch(st, kind, id, out);
}

void dc_doc_release(dc_doc_t *doc)
{
    free((char *)doc->kind), free((char *)doc->id), free((char *)doc->view_a);
    free((char *)doc->view_b), free((char *)doc->state);
    memset(doc, 0, sizeof(*doc));
}

dc_err_t dc_store_doc_get(dc_store_t *st, const char *kind, const char *id, int64_t party,
                          char **view, char **state)
{
    return st->be->doc_get(st, kind, id, party, view, state);
}

dc_err_t dc_store_doc_list(dc_store_t *st, const char *kind, int64_t party, const char *state,
                           void (*fn)(const char *id, const char *view, void *ctx), void *ctx)
{
    return st->be->doc_list(st, kind, party, state, fn, ctx);
}

dc_err_t dc_store_event_append(dc_store_t *st, int64_t party, const char *type, const char *data,
                               double t_s, int64_t *seq_out)
{
    return st->be->event_append(st, party, type, data, t_s, seq_out);
}

int64_t dc_store_event_last_seq(dc_store_t *st)
{
    return st->be->event_last_seq(st);
}

dc_err_t dc_store_event_since(dc_store_t *st, int64_t party, int64_t after, int64_t upto,
                              size_t max,
                              void (*fn)(int64_t seq, const char *type, const char *data,
                                         double t_s, void *ctx),
                              void *ctx, int64_t *last)
{
    return st->be->event_since(st, party, after, upto, max, fn, ctx, last);
}

dc_err_t dc_store_event_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                int64_t upto, size_t max,
                                void (*fn)(int64_t seq, const char *type, const char *data,
                                           double t_s, void *ctx),
                                void *ctx, bool *more)
{
    return st->be->event_between(st, party, t0_s, t1_s, upto, max, fn, ctx, more);
}

dc_err_t dc_store_track_put(dc_store_t *st, int64_t party, const char *id, const char *state,
                            double t_s)
{
    return st->be->track_put(st, party, id, state, t_s);
}

dc_err_t dc_store_track_each(dc_store_t *st,
                             void (*fn)(int64_t party, const char *id, const char *state,
                                        void *ctx),
                             void *ctx)
{
    return st->be->track_each(st, fn, ctx);
}

dc_err_t dc_store_history_put(dc_store_t *st, int64_t party, const dc_track_state_t *s)
{
    return st->be->history_put(st, party, s);
}

dc_err_t dc_store_history_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                  size_t max,
                                  void (*fn)(const char *track_id, double t_s, double lat_deg,
                                             double lon_deg, double alt_ft, double trk_deg,
                                             double gs_kt, void *ctx),
                                  void *ctx, bool *more)
{
    return st->be->history_between(st, party, t0_s, t1_s, max, fn, ctx, more);
}

dc_err_t dc_store_history_oldest(dc_store_t *st, double *t_s)
{
    return st->be->history_oldest(st, t_s);
}

dc_err_t dc_store_history_prune(dc_store_t *st, double before_s, int64_t *deleted)
{
    return st->be->history_prune(st, before_s, deleted);
}

dc_err_t dc_store_idem_get(dc_store_t *st, int64_t party, const char *key, int *status, char **body)
{
    return st->be->idem_get(st, party, key, status, body);
}

dc_err_t dc_store_idem_put(dc_store_t *st, int64_t party, const char *key, int status,
                           const char *body, double t_s)
{
    return st->be->idem_put(st, party, key, status, body, t_s);
}

dc_err_t dc_store_audit_key(dc_store_t *st, uint8_t pk[32], uint8_t sk[64])
{
    return st->be->audit_key(st, pk, sk);
}

dc_err_t dc_store_audit_head(dc_store_t *st, int64_t *seq, uint8_t hash[32])
{
    return st->be->audit_head(st, seq, hash);
}

dc_err_t dc_store_audit_each(dc_store_t *st, int64_t after, size_t max, int64_t party,
                             void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx)
{
    return st->be->audit_each(st, after, max, party, fn, ctx);
}

dc_err_t dc_store_changes(dc_store_t *st, int64_t after, size_t max,
                          void (*fn)(int64_t seq, const char *kind, const char *id, void *ctx),
                          void *ctx, int64_t *last)
{
    return st->be->changes(st, after, max, fn, ctx, last);
}

dc_err_t dc_store_tracks_since(dc_store_t *st, int64_t after, size_t max,
                               void (*fn)(int64_t party, const char *id, const char *state,
                                          void *ctx),
                               void *ctx, int64_t *last)
{
    return st->be->tracks_since(st, after, max, fn, ctx, last);
}

uint64_t dc_store_reconnects(const dc_store_t *st)
{
    return __atomic_load_n(&st->reconnects, __ATOMIC_RELAXED);
}

bool dc_store_disconnected(const dc_store_t *st)
{
    return st->disconnected;
}

dc_err_t dc_store_heads(dc_store_t *st, int64_t *changes, int64_t *tracks)
{
    return st->be->heads(st, changes, tracks);
}

dc_err_t dc_store_lead(dc_store_t *st, const char *node, double lease_s, bool *leader)
{
    return st->be->lead(st, node, lease_s, leader);
}

/* ---- serving: one process per store ---- */

struct dc_store_claim {
    int fd;
};

dc_store_claim_t *dc_store_claim(const char *dir, char *err, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/deconflictd.pid", dir);
    /* The lock is on an open file description (flock), so the kernel drops it when the process
     * dies however it dies: a kill -9 never leaves a stale claim behind. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int why = errno;
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\r\n")] = '\0';
        close(fd);
        if (why == EWOULDBLOCK)
            snprintf(err, len,
                     "the store in %s is already served by another process (pid %s): one "
                     "deconflictd serves a store at a time",
                     dir, holder[0] ? holder : "unknown");
        else
            snprintf(err, len, "cannot lock %s: %s", path, strerror(why));
        return NULL;
    }
    dc_store_claim_t *c = malloc(sizeof(*c));
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (!c || ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        snprintf(err, len, "cannot write %s: %s", path, c ? strerror(errno) : "out of memory");
        free(c);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    return c;
}

void dc_store_release(dc_store_claim_t *c)
{
    if (!c) return;
    if (ftruncate(c->fd, 0) != 0) { /* the pid goes; the empty file may stay */
    }
    close(c->fd); /* releases the lock */
    free(c);
}
