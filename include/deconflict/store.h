/* deconflict — the durable store of the service: parties and their tokens, operations,
 * conflicts and the per-party event log. One contract, backends behind it (lib/store/
 * store-int.h): dc_store_open() opens the SQLite one, in a data directory (WAL).
 *
 * Every write function commits before it returns (synchronous=FULL), so a caller that answers
 * 2xx after it has the durability the API promises: the write survives kill -9 and power loss
 * of the process. Several writes that must land together go between dc_store_begin() and
 * dc_store_commit(). The schema carries its version (PRAGMA user_version); opening a store
 * applies the missing migrations in order, each in its own transaction.
 *
 * Tokens: 256 random bits from libsodium, shown once as "dct_" + base64url (43 characters); the
 * store keeps only their BLAKE2b-256 hash and compares hashes in constant time.
 *
 * Not thread-safe: one dc_store_t per thread, or a caller-held lock (deconflictd holds one). */
#ifndef DECONFLICT_STORE_H
#define DECONFLICT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"
#include "deconflict/tactical.h"

#define DC_TOKEN_MAX      64 /* bytes of a printed token including the NUL */
#define DC_PARTY_NAME_MAX 64 /* bytes of a party name including the NUL */

/* The schema version this build writes; older stores are migrated on open. */
#define DC_STORE_SCHEMA_VERSION 7

typedef struct dc_store dc_store_t;

/* Opens (creating if needed) the store in directory dir and migrates it. The directory holds
 * every secret of the service, so it must be a real directory (not a symbolic link) owned by
 * this process's user: it is created 0700 when absent, and tightened to 0700 when it is open to
 * the group or others (said in dc_store_notice()). The database and its WAL and shared-memory
 * files are created 0600 and tightened the same way. On failure returns NULL with a sentence in
 * err (len bytes). */
dc_store_t *dc_store_open(const char *dir, char *err, size_t len);

/* As dc_store_open(), but a directory that holds no store yet (or does not exist) is an error
 * naming it, and nothing is created: what every command but the ones that create a store (party
 * add, deconflictd --init) uses, so that a mistyped --data is said, not served empty. */
dc_store_t *dc_store_open_existing(const char *dir, char *err, size_t len);

/* Opens (creating the tables if needed) the PostgreSQL store at url -- "postgresql://user@host
 * /db", several hosts allowed ("host1:5432,host2:5432", with target_session_attrs=read-write to
 * follow the primary), or a libpq "key=value" connection string -- and migrates it. Several
 * deconflictd nodes may share it (docs/deployment.md). NULL with a sentence in err. */
dc_store_t *dc_store_open_url(const char *url, char *err, size_t len);

/* Whether spec names a PostgreSQL store (a URL or a connection string) rather than a data
 * directory. */
bool dc_store_is_url(const char *spec);

/* Which backend st is: "sqlite" or "postgresql". */
const char *dc_store_backend(const dc_store_t *st);

void dc_store_close(dc_store_t *st);

/* What opening the store had to tighten (directory or file modes), as sentences for the
 * operator's log; "" when nothing. Owned by st. */
const char *dc_store_notice(const dc_store_t *st);

/* One process serves a store at a time: two daemons on one directory would each hold half the
 * live state and miss each other's conflicts. dc_store_claim() takes an exclusive lock on
 * dir/deconflictd.pid (flock, dropped by the kernel when the process ends, however it ends) and
 * writes the pid into it; NULL with a sentence naming the holder's pid in err when another
 * process holds it. Call it after dc_store_open() has checked the directory. Administrative
 * commands (deconflict party ...) do not claim: SQLite
 * serialises their writes with the server's. Release with dc_store_release() (NULL: no-op). */
typedef struct dc_store_claim dc_store_claim_t;
dc_store_claim_t *dc_store_claim(const char *dir, char *err, size_t len);
void dc_store_release(dc_store_claim_t *claim);

/* The schema version found on disk after migration (== DC_STORE_SCHEMA_VERSION). */
int dc_store_schema_version(dc_store_t *st);

/* Transactions around several writes; nesting is not supported. */
dc_err_t dc_store_begin(dc_store_t *st);
dc_err_t dc_store_commit(dc_store_t *st);
void dc_store_rollback(dc_store_t *st);

/* Deferred sync, for a server that makes many requests durable with one sync: from now on a
 * commit is written but not synced, and dc_store_sync() makes every commit returned before it
 * durable.
 *   - SQLite: commits are grouped. dc_store_commit() ends the caller's transaction inside one
 *     transaction that stays open for the group (a savepoint released; dc_store_rollback()
 *     undoes only the caller's), and dc_store_flush() commits the group to the WAL (one write
 *     of each page the group changed, instead of one per commit; synchronous=NORMAL: it
 *     survives the process's death, not yet the machine's). Until then the group is seen by
 *     this connection only, and it holds the store's write lock.
 *   - PostgreSQL: each commit is the server's (synchronous_commit=off) and dc_store_flush()
 *     does nothing; the sync flushes the WAL on the primary, and on a synchronous standby
 *     when there is one.
 * dc_store_flush() runs under the lock that serialises the other calls; when it fails the
 * whole group is rolled back (err says why: a full disk, an I/O error), and no commit since
 * the last flush was kept. dc_store_sync() may be called without that lock, concurrently with
 * the other calls (SQLite: it runs no statement; PostgreSQL: it runs one on a connection of its
 * own), after the flush whose commits it makes durable; its error message goes to err.
 * DC_ERR_UNAVAILABLE (PostgreSQL): the server was lost or is not the one the commits went to (a
 * failover) -- whether those commits were kept is not known; the store's connection is made
 * again (dc_store_reconnects) before its next transaction. */
dc_err_t dc_store_defer_sync(dc_store_t *st);
dc_err_t dc_store_flush(dc_store_t *st, char *err, size_t len);
dc_err_t dc_store_sync(dc_store_t *st, char *err, size_t len);

/* The last SQLite message, for logs. */
const char *dc_store_last_error(dc_store_t *st);

/* ---- parties ---- */

typedef struct dc_party {
    int64_t id;
    char name[DC_PARTY_NAME_MAX];
    bool disabled;
    double created_s;
    bool has_key; /* an Ed25519 public key is registered (filled by party_by_token) */
    uint8_t public_key[32];
    bool require_signatures; /* its writes must be signed (dc_store_party_set_signatures) */
} dc_party_t;

/* Whether name is acceptable: 1..63 bytes of [A-Za-z0-9_.-]. */
bool dc_party_name_valid(const char *name);

/* Creates party name and writes its new token (NUL-terminated) to token_out.
 * DC_ERR_INVALID (bad name), DC_ERR_CONFLICT (name taken), DC_ERR_IO. */
dc_err_t dc_store_party_add(dc_store_t *st, const char *name, double now_s,
                            char token_out[DC_TOKEN_MAX], dc_party_t *out);

/* Replaces the token of party name; the old one stops working at once. */
dc_err_t dc_store_party_rotate_token(dc_store_t *st, const char *name,
                                     char token_out[DC_TOKEN_MAX]);

/* Disables (or re-enables) party name: its token is refused while disabled. */
dc_err_t dc_store_party_set_disabled(dc_store_t *st, const char *name, bool disabled);

/* Sets party name's signature policy: when required, the service refuses its unsigned writes
 * (docs/audit.md). Audited. DC_ERR_NOT_FOUND for an unknown name. */
dc_err_t dc_store_party_set_signatures(dc_store_t *st, const char *name, bool required);

/* Calls fn for every party in id order. */
dc_err_t dc_store_party_list(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx);

/* The party a bearer token belongs to. DC_ERR_NOT_FOUND for unknown, malformed or disabled
 * tokens (callers answer 401 without saying which). */
dc_err_t dc_store_party_by_token(dc_store_t *st, const char *token, dc_party_t *out);

/* ---- key/value documents: operations and conflicts ----
 * The service keeps its objects as JSON documents keyed by (kind, id), with the owning parties
 * for need-to-know queries: an operation has one owner, a conflict two (party_a, party_b), and
 * each party's view of a conflict is stored separately (view_a, view_b) so what a party may see
 * is decided once, when the conflict is written. */

typedef struct dc_doc {
    const char *kind; /* "operation", "conflict" */
    const char *id;
    int64_t party_a;
    int64_t party_b;    /* 0 when the document has one owner */
    const char *view_a; /* JSON: party_a's view */
    const char *view_b; /* JSON: party_b's view; NULL when one owner */
    const char *state;  /* for filtering, e.g. "planned", "open" */
    double updated_s;
    int64_t actor; /* the party that caused this write (the audit trail's actor), 0: service */
} dc_doc_t;

/* Writes the document and appends its audit entry (in the caller's transaction). */
dc_err_t dc_store_doc_put(dc_store_t *st, const dc_doc_t *doc);

/* Calls fn for every document of kind (all parties), in id order; for restoring state. The
 * strings are valid during the call only. */
dc_err_t dc_store_doc_each(dc_store_t *st, const char *kind,
                           void (*fn)(const dc_doc_t *doc, void *ctx), void *ctx);

/* Fetches document (kind, id) whatever its owners: for the service's own bookkeeping, never
 * to answer a party. The strings in *out are owned by it; free them with dc_doc_release(). */
dc_err_t dc_store_doc_fetch(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out);
void dc_doc_release(dc_doc_t *doc);

/* Fetches document (kind, id) as party sees it: its view when party is party_a or party_b,
 * DC_ERR_NOT_FOUND otherwise (including when it exists but belongs to others). *view and
 * *state are the caller's to free. */
dc_err_t dc_store_doc_get(dc_store_t *st, const char *kind, const char *id, int64_t party,
                          char **view, char **state);

/* Calls fn with party's view of every document of kind it is a party to, optionally only those
 * in state (NULL: any), in id order. */
dc_err_t dc_store_doc_list(dc_store_t *st, const char *kind, int64_t party, const char *state,
                           void (*fn)(const char *id, const char *view, void *ctx), void *ctx);

/* ---- events ----
 * An append-only log per party: (seq, party, type, data JSON, time). seq is global and
 * increasing, so a client resuming with Last-Event-ID gets every later event of its party. */

dc_err_t dc_store_event_append(dc_store_t *st, int64_t party, const char *type, const char *data,
                               double t_s, int64_t *seq_out);

/* The highest event seq so far (0 when none): where a new stream without Last-Event-ID
 * starts. */
int64_t dc_store_event_last_seq(dc_store_t *st);

/* Calls fn for party's events with after < seq <= upto, in order, at most max of them; returns
 * through *last the seq of the last one delivered (after when none). upto bounds a reader to
 * what is committed while a writer holds a transaction open on the same connection. */
dc_err_t dc_store_event_since(dc_store_t *st, int64_t party, int64_t after, int64_t upto,
                              size_t max,
                              void (*fn)(int64_t seq, const char *type, const char *data,
                                         double t_s, void *ctx),
                              void *ctx, int64_t *last);

/* Calls fn for party's events with t0_s <= time <= t1_s and seq <= upto, in seq order, at most
 * max of them (the newest max when there are more); *more tells whether there were more. */
dc_err_t dc_store_event_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                int64_t upto, size_t max,
                                void (*fn)(int64_t seq, const char *type, const char *data,
                                           double t_s, void *ctx),
                                void *ctx, bool *more);

/* ---- several processes on one store (PostgreSQL) ----
 * A store that several deconflictd nodes share changes under each of them: each catches up
 * with what the others wrote before it writes (docs/deployment.md). With SQLite one process
 * serves the store (dc_store_claim): nothing changes under it. */

/* Calls fn for each document changed by an audit entry after seq `after` (at most max), in
 * order: the entry's seq, the document's kind and id (party changes are kind "party"); *last:
 * the last seq read. */
dc_err_t dc_store_changes(dc_store_t *st, int64_t after, size_t max,
                          void (*fn)(int64_t seq, const char *kind, const char *id, void *ctx),
                          void *ctx, int64_t *last);

/* Calls fn for each track whose latest state was written after revision `after` (at most max),
 * in revision order; *last: the last revision read. Tracks are numbered per transaction in
 * commit order on a shared store; SQLite keeps no revisions (one process: nothing to catch up
 * with) and reads nothing. */
dc_err_t dc_store_tracks_since(dc_store_t *st, int64_t after, size_t max,
                               void (*fn)(int64_t party, const char *id, const char *state,
                                          void *ctx),
                               void *ctx, int64_t *last);

/* How many times the connection was lost and made again (a PostgreSQL store: a restart or a
 * failover of the database); 0 for SQLite. A change tells a holder of state read from the store
 * that writes of its own may have been lost with the connection. */
uint64_t dc_store_reconnects(const dc_store_t *st);

/* Whether the last failure was the connection's loss (a PostgreSQL store whose server went
 * away): the failure says nothing of the request, which may succeed once it is made again. */
bool dc_store_disconnected(const dc_store_t *st);

/* The last audit seq and track revision as this connection sees them (its own open transaction
 * included): where a writer that holds the writers' turn has caught up to when it commits. */
dc_err_t dc_store_heads(dc_store_t *st, int64_t *changes, int64_t *tracks);

/* Leadership of the periodic pass among the nodes: takes or renews the lease for node (for
 * lease_s, on the database's clock) unless another node holds an unexpired one. *leader tells
 * the outcome. SQLite: the one process always leads. */
dc_err_t dc_store_lead(dc_store_t *st, const char *node, double lease_s, bool *leader);

/* ---- tracks: the latest report of each track ---- */

/* Replaces track id's (engine id, unique across parties) latest state: its owner's view of the
 * last report (JSON, dc_track_report_json), taken at t_s. */
dc_err_t dc_store_track_put(dc_store_t *st, int64_t party, const char *id, const char *state,
                            double t_s);
dc_err_t dc_store_track_each(dc_store_t *st,
                             void (*fn)(int64_t party, const char *id, const char *state,
                                        void *ctx),
                             void *ctx);

/* ---- track history: sampled past positions of each party's tracks (the console's time
 * slider), kept for a bounded time ---- */

/* One sample of s (engine id "<party>/<track>"; the track id stored is the part after it). */
dc_err_t dc_store_history_put(dc_store_t *st, int64_t party, const dc_track_state_t *s);

/* Calls fn for party's samples with t0_s <= t <= t1_s, in time order, at most max of them: the
 * newest max when there are more, and then *more is set. */
dc_err_t dc_store_history_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                  size_t max,
                                  void (*fn)(const char *track_id, double t_s, double lat_deg,
                                             double lon_deg, double alt_ft, double trk_deg,
                                             double gs_kt, void *ctx),
                                  void *ctx, bool *more);

/* The time of the oldest sample kept, or DC_ERR_NOT_FOUND when there is none. */
dc_err_t dc_store_history_oldest(dc_store_t *st, double *t_s);

/* Deletes every sample older than before_s; *deleted (may be NULL) counts them. */
dc_err_t dc_store_history_prune(dc_store_t *st, double before_s, int64_t *deleted);

/* ---- idempotency ----
 * A POST carrying an Idempotency-Key stores its response; a repeat with the same key and party
 * gets the stored response instead of a second effect. */

dc_err_t dc_store_idem_get(dc_store_t *st, int64_t party, const char *key, int *status,
                           char **body);
dc_err_t dc_store_idem_put(dc_store_t *st, int64_t party, const char *key, int status,
                           const char *body, double t_s);

/* ---- the audit trail (include/deconflict/audit.h, docs/audit.md) ----
 * Document writes and party changes append entries themselves; these read the log. */

/* Registers party's Ed25519 public key (32 bytes), replacing any earlier one; the audit entry
 * carries the key, so a verifier learns it from the log. A key held by
 * another party is refused (DC_ERR_CONFLICT): a key identifies one party. Call it inside a
 * transaction, so the check and the write are one. */
dc_err_t dc_store_party_set_key(dc_store_t *st, int64_t party, const uint8_t public_key[32]);

/* The signed request being served (body and its detached Ed25519 signature by party), until
 * called again with body NULL: every audit entry party causes meanwhile carries the request's
 * hash and signature and keeps its body (non-repudiation). body must outlive the call's use. */
void dc_store_set_request(dc_store_t *st, int64_t party, const char *body, size_t len,
                          const uint8_t signature[64]);

/* The service's Ed25519 key for signing the head, created at the first call. */
dc_err_t dc_store_audit_key(dc_store_t *st, uint8_t pk[32], uint8_t sk[64]);

/* The last entry's seq and hash (0 and zeros for an empty log). */
dc_err_t dc_store_audit_head(dc_store_t *st, int64_t *seq, uint8_t hash[32]);

typedef struct dc_audit_row {
    int64_t seq;
    const char *body; /* NULL where the reader is not a part of the entry */
    uint8_t body_hash[32], hash[32];
    const char *view;    /* the reader's own view in this entry, or NULL */
    const char *request; /* the signed request body behind it, for its signer and the admin */
} dc_audit_row_t;

/* Calls fn for entries with seq > after, in order, at most max, as party may see them
 * (party 0: the administrator, every body). Strings are valid during the call only. */
dc_err_t dc_store_audit_each(dc_store_t *st, int64_t after, size_t max, int64_t party,
                             void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx);

#endif
