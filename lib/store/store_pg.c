/* The store's PostgreSQL backend (libpq): the same tables, migrations, audit chain, event log
 * and idempotency keys as the SQLite backend (store_sqlite.c), in a database several
 * deconflictd nodes share (docs/deployment.md). The public contract is
 * include/deconflict/store.h; store.c dispatches here through the backend table.
 *
 * What differs from SQLite, and why:
 *   - Sequences that must follow commit order (the event log's seq, the audit chain's seq) come
 *     from a row of `counters` updated in the writing transaction: the row stays locked until
 *     commit, so writers on every node take their numbers in commit order, and a reader that
 *     has seen seq N has seen everything before it. A SEQUENCE would not: numbers are handed
 *     out at insert time and may commit out of order.
 *   - Group commit as with SQLite: once dc_store_defer_sync is called, commits do not wait for
 *     the WAL's flush (synchronous_commit off), and dc_store_sync, on a connection of its own,
 *     commits a transaction that does wait (synchronous_commit on): the WAL is flushed in order,
 *     so that flush covers every commit before it -- the primary's, and a synchronous standby's
 *     when the operator has one. The server answers only after it (core/commit.c).
 *   - Track states and history samples, written by the thousand, wait in the transaction and go
 *     as multi-row statements, before any other statement of it and at its commit.
 *   - The SQL is plain (INSERT ... ON CONFLICT, row locks with FOR UPDATE, no advisory locks, no
 *     PostgreSQL-only types), so that it stays portable to CockroachDB; the notes are in
 *     docs/deployment.md.
 *   - A connection lost between transactions (a node restart, a failover of the database behind
 *     a multi-host connection string) is re-established at the next statement; one lost inside a
 *     transaction fails that transaction, which the caller rolls back. */
#include "store/store-int.h"

#include <libpq-fe.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

/* Rows waiting to be written in one statement: each row's text parameters. */
#define PENDING_MAX 1000 /* rows per statement (8 parameters each: under libpq's 65535) */

typedef struct pending {
    char *vals; /* n rows x cols parameters, each PARAM_MAX bytes */
    size_t n, cols;
} pending_t;

#define PARAM_MAX      640 /* bytes of one parameter: a track's state is at most 512 */
#define STMT_CACHE_MAX 64

typedef struct pg_store {
    struct dc_store base;
    PGconn *conn;
    bool in_tx;
    int64_t tx_rev;    /* the tracks' revision of the open transaction (0: none taken yet) */
    bool deferred;     /* dc_store_defer_sync was called */
    char *conninfo;    /* for the sync connection */
    PGconn *sync_conn; /* dc_store_sync's own */
    char sync_key[24]; /* its row in sync_points */
    /* The server the store's connection reached ("host:port"), written when it connects and
     * read by dc_store_sync, which runs on another thread: a sync proves nothing about commits
     * made on another server (a failover the store's connection has not noticed yet). */
    pthread_mutex_t server_lock;
    char server[300];
    pending_t tracks, history;
    bool flushing;
    /* Statements prepared on this connection (by the address of their SQL literal), so that
     * the server parses and plans each once; forgotten when the connection is made again. */
    struct {
        const char *sql;
        char name[16];
    } prepared[STMT_CACHE_MAX];
    size_t n_prepared;
} pg_store_t;

#define PG(st) ((pg_store_t *)(st))

/* "host:port" of the server c reached. */
static void server_of(PGconn *c, char *out, size_t len)
{
    snprintf(out, len, "%s:%s", PQhost(c) ? PQhost(c) : "", PQport(c) ? PQport(c) : "");
}

static void note_server(pg_store_t *p)
{
    pthread_mutex_lock(&p->server_lock);
    server_of(p->conn, p->server, sizeof(p->server));
    pthread_mutex_unlock(&p->server_lock);
}

static void pg_close(dc_store_t *st);
static dc_err_t flush_pending(dc_store_t *st);

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message; /* the server's notices ("already exists, skipping") */
}

/* Migration i brings the schema from version i to i + 1, as the SQLite backend's do. Only ever
 * append. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE parties("
    "  id BIGSERIAL PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  token_hash BYTEA NOT NULL UNIQUE,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_s DOUBLE PRECISION NOT NULL);"
    "CREATE TABLE docs("
    "  kind TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  party_a BIGINT NOT NULL,"
    "  party_b BIGINT NOT NULL DEFAULT 0,"
    "  view_a TEXT NOT NULL,"
    "  view_b TEXT,"
    "  state TEXT NOT NULL,"
    "  updated_s DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY(kind, id));"
    "CREATE INDEX docs_party_a ON docs(party_a, kind);"
    "CREATE INDEX docs_party_b ON docs(party_b, kind);"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
    "INSERT INTO counters(name, value) VALUES('events', 0);"
    "CREATE TABLE events("
    "  seq BIGINT PRIMARY KEY,"
    "  party BIGINT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  data TEXT NOT NULL,"
    "  t_s DOUBLE PRECISION NOT NULL);"
    "CREATE INDEX events_party ON events(party, seq);"
    "CREATE TABLE idempotency("
    "  party BIGINT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  t_s DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY(party, key));",
    /* 1 -> 2 */
    "CREATE TABLE tracks("
    "  id TEXT PRIMARY KEY,"
    "  party BIGINT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  t_s DOUBLE PRECISION NOT NULL);",
    /* 2 -> 3: the audit trail and the service's signing key */
    "INSERT INTO counters(name, value) VALUES('audit', 0);"
    "CREATE TABLE audit("
    "  seq BIGINT PRIMARY KEY,"
    "  body TEXT NOT NULL,"
    "  body_hash BYTEA NOT NULL,"
    "  hash BYTEA NOT NULL);"
    "CREATE TABLE audit_views("
    "  seq BIGINT NOT NULL,"
    "  party BIGINT NOT NULL,"
    "  view TEXT NOT NULL,"
    "  PRIMARY KEY(party, seq));"
    "CREATE TABLE keys("
    "  name TEXT PRIMARY KEY,"
    "  public BYTEA NOT NULL,"
    "  secret BYTEA NOT NULL);",
    /* 3 -> 4: parties' Ed25519 keys and the signed request bodies behind audit entries */
    "ALTER TABLE parties ADD COLUMN public_key BYTEA;"
    "CREATE TABLE audit_requests("
    "  seq BIGINT PRIMARY KEY,"
    "  body TEXT NOT NULL);",
    /* 4 -> 5: sampled track history, and events found by time */
    "CREATE TABLE track_history("
    "  party BIGINT NOT NULL,"
    "  t_s DOUBLE PRECISION NOT NULL,"
    "  id TEXT NOT NULL,"
    "  lat DOUBLE PRECISION NOT NULL,"
    "  lon DOUBLE PRECISION NOT NULL,"
    "  alt_ft DOUBLE PRECISION NOT NULL,"
    "  trk_deg DOUBLE PRECISION NOT NULL,"
    "  gs_kt DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY(party, t_s, id));"
    "CREATE INDEX events_time ON events(party, t_s);",
    /* 5 -> 6: a party's signature policy */
    "ALTER TABLE parties ADD COLUMN require_signatures INTEGER NOT NULL DEFAULT 0;",
    /* 6 -> 7: several nodes -- the change feed (each audit entry names its document), tracks
     * numbered per transaction, and the lease of the periodic pass's leader */
    "ALTER TABLE audit ADD COLUMN kind TEXT;"
    "ALTER TABLE audit ADD COLUMN doc_id TEXT;"
    "ALTER TABLE tracks ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX tracks_rev ON tracks(rev);"
    "INSERT INTO counters(name, value) VALUES('tracks', 0);"
    "CREATE TABLE leader("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  node TEXT NOT NULL,"
    "  until_s DOUBLE PRECISION NOT NULL);"
    "CREATE TABLE sync_points(k BIGINT PRIMARY KEY, n BIGINT NOT NULL);",
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == DC_STORE_SCHEMA_VERSION, "one migration per schema version");

/* ---- statements ---- */

/* The connection, re-established first when it was lost between transactions. */
static PGconn *conn_of(dc_store_t *st)
{
    pg_store_t *p = PG(st);
    if (PQstatus(p->conn) != CONNECTION_OK && !p->in_tx) {
        /* Through every host of the connection string again: after a failover, the one that
         * now takes writes (target_session_attrs=read-write). */
        PQreset(p->conn);
        p->n_prepared = 0; /* the server forgot them with the session */
        if (PQstatus(p->conn) == CONNECTION_OK) {
            st->disconnected = false;
            note_server(p);
            __atomic_add_fetch(&st->reconnects, 1, __ATOMIC_RELAXED);
            PGresult *r = PQexec(p->conn, p->deferred ? "SET synchronous_commit = off"
                                                      : "SET synchronous_commit = on");
            PQclear(r);
        }
    }
    return p->conn;
}

/* Notes a failure of what; SQLSTATE 23505 (a unique key taken) is DC_ERR_CONFLICT, as a
 * constraint is in SQLite. */
static dc_err_t fail(dc_store_t *st, const char *what, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!msg || !*msg) msg = PQerrorMessage(PG(st)->conn);
    snprintf(st->err, sizeof(st->err), "%s: %.200s", what, msg);
    st->err[strcspn(st->err, "\n")] = '\0';
    if (PQstatus(PG(st)->conn) != CONNECTION_OK) st->disconnected = true;
    return state && strcmp(state, "23505") == 0 ? DC_ERR_CONFLICT : DC_ERR_IO;
}

/* Runs sql with n text parameters (NULL: SQL NULL); the result, or NULL with the failure noted
 * (*e set). Rows or a command's completion are both success. */
/* The name sql (a literal) is prepared under on connection c, preparing it on first use; NULL
 * when it cannot be (then it runs unprepared). Statements with no parameters, and the
 * transaction control ones, run as they are. */
static const char *prepared_name(dc_store_t *st, PGconn *c, const char *sql, int n)
{
    pg_store_t *p = PG(st);
    if (n == 0) return NULL;
    for (size_t i = 0; i < p->n_prepared; i++)
        if (p->prepared[i].sql == sql) return p->prepared[i].name;
    if (p->n_prepared == STMT_CACHE_MAX) return NULL;
    char name[16];
    snprintf(name, sizeof(name), "s%zu", p->n_prepared);
    PGresult *r = PQprepare(c, name, sql, n, NULL);
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) return NULL;
    p->prepared[p->n_prepared].sql = sql;
    snprintf(p->prepared[p->n_prepared].name, sizeof(name), "%s", name);
    return p->prepared[p->n_prepared++].name;
}

static PGresult *query(dc_store_t *st, const char *sql, int n, const char *const *vals,
                       const char *what, dc_err_t *e)
{
    /* Rows waiting go first: this statement may read them, and the transaction keeps order. */
    if (!PG(st)->flushing && (PG(st)->tracks.n || PG(st)->history.n) &&
        (*e = flush_pending(st)) != DC_OK)
        return NULL;
    PGconn *c = conn_of(st);
    PGresult *r = NULL;
    const char *name = PG(st)->flushing ? NULL : prepared_name(st, c, sql, n);
    if (name)
        r = PQexecPrepared(c, name, n, vals, NULL, NULL, 0);
    else
        r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        *e = DC_OK;
        return r;
    }
    *e = fail(st, what, r);
    PQclear(r);
    return NULL;
}

/* The same for a statement whose rows are not wanted. */
static dc_err_t exec(dc_store_t *st, const char *sql, int n, const char *const *vals,
                     const char *what)
{
    dc_err_t e;
    PQclear(query(st, sql, n, vals, what, &e));
    return e;
}

/* Parameters' text: numbers, and bytes as bytea's hex form. */
typedef struct num {
    char s[32];
} num_t;

static const char *i64(num_t *b, int64_t v)
{
    snprintf(b->s, sizeof(b->s), "%lld", (long long)v);
    return b->s;
}

static const char *dbl(num_t *b, double v)
{
    snprintf(b->s, sizeof(b->s), "%.17g", v);
    return b->s;
}

/* "\\x" + hex of n bytes into out (2n + 3 bytes). */
static const char *hex(char *out, const uint8_t *bin, size_t n)
{
    out[0] = '\\', out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * n + 1, bin, n);
    return out;
}

/* A bytea column (text form "\x...") into exactly n bytes; false when it is not that. */
static bool unhex(const char *text, uint8_t *out, size_t n)
{
    size_t got = 0;
    return text && text[0] == '\\' && text[1] == 'x' &&
           sodium_hex2bin(out, n, text + 2, strlen(text + 2), NULL, &got, NULL) == 0 && got == n;
}

static int64_t col_i64(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double col_dbl(PGresult *r, int row, int col)
{
    return strtod(PQgetvalue(r, row, col), NULL);
}

static const char *col_str(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* ---- opening ---- */

static int pg_schema_version(dc_store_t *st)
{
    dc_err_t e;
    PGresult *r = query(st, "SELECT version FROM deconflict_schema WHERE one = 1", 0, NULL,
                        "read the schema version", &e);
    int v = r && PQntuples(r) == 1 ? (int)col_i64(r, 0, 0) : -1;
    PQclear(r);
    return v;
}

/* Brings the schema to this build's version. Several nodes may start at once: the version row
 * is locked for the migration, so one migrates and the others find it done. */
static bool migrate(dc_store_t *st, char *err, size_t len)
{
    if (exec(st,
             "CREATE TABLE IF NOT EXISTS deconflict_schema(one INTEGER PRIMARY KEY CHECK (one = 1),"
             " version INTEGER NOT NULL)",
             0, NULL, "create the schema table") != DC_OK &&
        /* another node created it at the same moment: it is there now */
        exec(st, "SELECT 1 FROM deconflict_schema", 0, NULL, "read the schema table") != DC_OK) {
        snprintf(err, len, "%s", st->err);
        return false;
    }
    if (exec(st, "INSERT INTO deconflict_schema(one, version) VALUES(1, 0) ON CONFLICT DO NOTHING",
             0, NULL, "start the schema table") != DC_OK) {
        snprintf(err, len, "%s", st->err);
        return false;
    }
    dc_err_t e = exec(st, "BEGIN", 0, NULL, "begin the migration");
    PGresult *r = e == DC_OK ? query(st,
                                     "SELECT version FROM deconflict_schema WHERE one = 1 "
                                     "FOR UPDATE",
                                     0, NULL, "lock the schema version", &e)
                             : NULL;
    int v = r && PQntuples(r) == 1 ? (int)col_i64(r, 0, 0) : -1;
    PQclear(r);
    if (v < 0 || v > (int)N_MIGRATIONS) {
        if (e == DC_OK)
            snprintf(err, len, "store schema version %d is not one this build knows (up to %zu)", v,
                     N_MIGRATIONS);
        else
            snprintf(err, len, "%s", st->err);
        exec(st, "ROLLBACK", 0, NULL, "rollback");
        return false;
    }
    for (; v < (int)N_MIGRATIONS && e == DC_OK; v++) {
        PGresult *m = PQexec(PG(st)->conn, migrations[v]);
        if (PQresultStatus(m) != PGRES_COMMAND_OK) e = fail(st, "migration", m);
        PQclear(m);
        num_t b;
        const char *vals[1] = {i64(&b, v + 1)};
        if (e == DC_OK)
            e = exec(st, "UPDATE deconflict_schema SET version = $1 WHERE one = 1", 1, vals,
                     "set the schema version");
        if (e != DC_OK) snprintf(err, len, "migration to schema %d failed: %s", v + 1, st->err);
    }
    if (e == DC_OK) e = exec(st, "COMMIT", 0, NULL, "commit the migration");
    if (e != DC_OK) {
        if (!*err) snprintf(err, len, "%s", st->err);
        exec(st, "ROLLBACK", 0, NULL, "rollback");
        return false;
    }
    return true;
}

dc_store_t *dc_store_pg_open(const char *conninfo, char *err, size_t len)
{
    if (sodium_init() < 0) {
        snprintf(err, len, "libsodium failed to initialise");
        return NULL;
    }
    pg_store_t *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    dc_store_t *st = &p->base;
    st->be = &dc_store_pg_backend;
    err[0] = '\0';
    p->conninfo = strdup(conninfo);
    p->tracks.cols = 5, p->history.cols = 8;
    pthread_mutex_init(&p->server_lock, NULL);
    p->conn = PQconnectdb(conninfo);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        snprintf(err, len, "cannot connect to the PostgreSQL store: %.300s",
                 p->conn ? PQerrorMessage(p->conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        pg_close(st);
        return NULL;
    }
    /* Quiet notices (CREATE TABLE IF NOT EXISTS says it skipped), and a commit waits for its
     * WAL on disk whatever the server's default: a 2xx means durable on the primary (on the
     * standby too when the operator makes the standby synchronous). */
    PQsetNoticeProcessor(p->conn, quiet, NULL);
    note_server(p);
    if (exec(st, "SET synchronous_commit = on", 0, NULL, "configure the session") != DC_OK ||
        !migrate(st, err, len)) {
        if (!*err) snprintf(err, len, "%s", st->err);
        pg_close(st);
        return NULL;
    }
    return st;
}

static void pg_close(dc_store_t *st)
{
    pg_store_t *p = PG(st);
    if (p->conn) PQfinish(p->conn);
    if (p->sync_conn) PQfinish(p->sync_conn);
    free(p->conninfo);
    free(p->tracks.vals), free(p->history.vals);
    pthread_mutex_destroy(&p->server_lock);
    free(p);
}

/* ---- transactions ---- */

/* A write transaction holds the audit counter's row from its start: writers on every node take
 * turns, as the threads of one node do under its lock, so that what a node reads when it
 * catches up is everything written before it writes (dc_store_changes). */
static dc_err_t pg_begin(dc_store_t *st)
{
    dc_err_t e = exec(st, "BEGIN", 0, NULL, "begin");
    if (e == DC_OK)
        e = exec(st, "SELECT value FROM counters WHERE name = 'audit' FOR UPDATE", 0, NULL,
                 "take the writers' turn");
    if (e != DC_OK && PQstatus(PG(st)->conn) == CONNECTION_OK)
        exec(st, "ROLLBACK", 0, NULL, "rollback");
    PG(st)->in_tx = e == DC_OK;
    PG(st)->tx_rev = 0;
    return e;
}

static dc_err_t pg_commit(dc_store_t *st)
{
    dc_err_t e = exec(st, "COMMIT", 0, NULL, "commit"); /* the rows waiting go first */
    PG(st)->in_tx = false;
    return e;
}

static void pg_rollback(dc_store_t *st)
{
    pg_store_t *p = PG(st);
    p->in_tx = false;
    p->tracks.n = p->history.n = 0; /* never written */
    if (PQstatus(p->conn) == CONNECTION_OK) exec(st, "ROLLBACK", 0, NULL, "rollback");
}

static dc_err_t pg_defer_sync(dc_store_t *st)
{
    dc_err_t e = exec(st, "SET synchronous_commit = off", 0, NULL, "defer the sync");
    PG(st)->deferred = e == DC_OK;
    return e;
}

static dc_err_t pg_flush(dc_store_t *st, char *err, size_t len)
{
    (void)st, (void)err, (void)len;
    return DC_OK; /* each commit was the server's */
}

static dc_err_t pg_sync(dc_store_t *st, char *err, size_t len)
{
    pg_store_t *p = PG(st);
    if (!p->deferred) return DC_OK; /* every commit waited for its flush */
    /* A transaction that writes (a row of its own, so no writer waits for another) commits
     * with a record that waits for the WAL's flush up to it (synchronous_commit on: and for a
     * synchronous standby's), and the WAL is flushed in order: every commit before it is
     * durable once it returns. (One that writes nothing would not wait.) Its own connection:
     * the other one is in use under the lock. */
    if (!p->sync_key[0]) {
        uint64_t k;
        randombytes_buf(&k, sizeof(k));
        snprintf(p->sync_key, sizeof(p->sync_key), "%lld", (long long)(k >> 1));
    }
    const char *vals[1] = {p->sync_key};
    char why[300] = "no connection";
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!p->sync_conn || PQstatus(p->sync_conn) != CONNECTION_OK) {
            if (p->sync_conn) PQfinish(p->sync_conn);
            p->sync_conn = PQconnectdb(p->conninfo);
            PGresult *r = PQexec(p->sync_conn, "SET synchronous_commit = on");
            PQclear(r);
        }
        if (PQstatus(p->sync_conn) != CONNECTION_OK) {
            snprintf(why, sizeof(why), "%s", PQerrorMessage(p->sync_conn));
            continue;
        }
        char here[300], there[300];
        server_of(p->sync_conn, here, sizeof(here));
        pthread_mutex_lock(&p->server_lock);
        snprintf(there, sizeof(there), "%s", p->server);
        pthread_mutex_unlock(&p->server_lock);
        if (strcmp(here, there) != 0) {
            /* The WAL flushed there says nothing of the commits made here. */
            snprintf(why, sizeof(why), "the sync reached %.120s, the writes went to %.120s", here,
                     there);
            PQfinish(p->sync_conn);
            p->sync_conn = NULL;
            break;
        }
        PGresult *r = PQexecParams(p->sync_conn,
                                   "INSERT INTO sync_points(k, n) VALUES($1, 1) ON CONFLICT (k) "
                                   "DO UPDATE SET n = sync_points.n + 1",
                                   1, NULL, vals, NULL, NULL, 0);
        bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) snprintf(why, sizeof(why), "%s", PQerrorMessage(p->sync_conn));
        PQclear(r);
        if (ok) return DC_OK;
    }
    snprintf(err, len, "the PostgreSQL store could not be synced: %.200s", why);
    err[strcspn(err, "\n")] = '\0';
    return DC_ERR_UNAVAILABLE;
}

/* Runs fn's statements in a transaction of their own when the caller has none (the CLI's
 * administrative calls), else in the caller's. */
static dc_err_t in_tx(dc_store_t *st, dc_err_t (*fn)(dc_store_t *st, void *ctx), void *ctx)
{
    if (PG(st)->in_tx) return fn(st, ctx);
    dc_err_t e = pg_begin(st);
    if (e == DC_OK) e = fn(st, ctx);
    if (e == DC_OK) return pg_commit(st);
    pg_rollback(st);
    return e;
}

/* The next number of counter name (events, audit), the counter's row locked until commit. */
static dc_err_t next_seq(dc_store_t *st, const char *name, int64_t *seq)
{
    const char *vals[1] = {name};
    dc_err_t e;
    PGresult *r = query(st, "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
                        1, vals, "number a row", &e);
    if (r && PQntuples(r) == 1)
        *seq = col_i64(r, 0, 0);
    else if (e == DC_OK)
        e = fail(st, "number a row: no counter", NULL);
    PQclear(r);
    return e;
}

/* ---- the audit trail ---- */

static dc_err_t audit_append_key(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                                 const char *state, double t_s, const dc_audit_part_t *parts,
                                 size_t n_parts, const char *public_key)
{
    char body[DC_AUDIT_ENTRY_MAX];
    bool signed_req = st->req.body && actor && actor == st->req.party;
    dc_audit_entry_t en = {.actor = actor,
                           .kind = kind,
                           .id = id,
                           .state = state,
                           .t_s = t_s,
                           .parts = parts,
                           .n_parts = n_parts,
                           .public_key = public_key,
                           .request = signed_req ? st->req.body : NULL,
                           .request_len = st->req.len,
                           .request_sig64 = st->req.sig64};
    size_t len = dc_audit_entry_body(&en, body, sizeof(body));
    if (!len) {
        snprintf(st->err, sizeof(st->err), "audit entry too long");
        return DC_ERR_LIMIT;
    }
    /* The number first, its row locked: the previous entry is then the committed last one. */
    int64_t seq = 0;
    dc_err_t e = next_seq(st, "audit", &seq);
    if (e != DC_OK) return e;
    uint8_t prev[DC_AUDIT_HASH_BYTES] = {0}, body_hash[DC_AUDIT_HASH_BYTES],
            hash[DC_AUDIT_HASH_BYTES];
    num_t b1, b2;
    const char *pv[1] = {i64(&b1, seq - 1)};
    PGresult *r = seq > 1 ? query(st, "SELECT hash FROM audit WHERE seq = $1", 1, pv,
                                  "read the audit head", &e)
                          : NULL;
    if (e != DC_OK) return e;
    if (r && (PQntuples(r) != 1 || !unhex(col_str(r, 0, 0), prev, sizeof(prev)))) {
        PQclear(r);
        return fail(st, "read the audit head: the previous entry is missing", NULL);
    }
    PQclear(r);
    dc_audit_hash(body, len, body_hash);
    dc_audit_link(prev, (uint64_t)seq, body_hash, hash);
    char bh[2 * DC_AUDIT_HASH_BYTES + 3], hh[2 * DC_AUDIT_HASH_BYTES + 3];
    const char *av[6] = {
        i64(&b2, seq), body, hex(bh, body_hash, sizeof(body_hash)), hex(hh, hash, sizeof(hash)),
        kind,          id};
    e = exec(st,
             "INSERT INTO audit(seq, body, body_hash, hash, kind, doc_id) VALUES($1, $2, $3, $4, "
             "$5, $6)",
             6, av, "append audit entry");
    if (e == DC_OK && signed_req) {
        char *req = strndup(st->req.body, st->req.len);
        const char *rv[2] = {b2.s, req};
        e = req ? exec(st, "INSERT INTO audit_requests(seq, body) VALUES($1, $2)", 2, rv,
                       "append audit request")
                : DC_ERR_NOMEM;
        free(req);
    }
    for (size_t i = 0; i < n_parts && e == DC_OK; i++) {
        num_t bp;
        const char *vv[3] = {b2.s, i64(&bp, parts[i].party), parts[i].view};
        e = exec(st, "INSERT INTO audit_views(seq, party, view) VALUES($1, $2, $3)", 3, vv,
                 "append audit view");
    }
    return e;
}

static dc_err_t audit_append(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                             const char *state, double t_s, const dc_audit_part_t *parts,
                             size_t n_parts)
{
    return audit_append_key(st, actor, kind, id, state, t_s, parts, n_parts, NULL);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A party change's audit entry (party id, its name, what happened). */
static dc_err_t audit_party(dc_store_t *st, int64_t id, const char *name, const char *state)
{
    char sid[24], view[DC_PARTY_NAME_MAX + 16];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    snprintf(view, sizeof(view), "{\"name\":\"%s\"}", name);
    dc_audit_part_t part = {id, view};
    return audit_append(st, 0, "party", sid, state, wall_s(), &part, 1);
}

/* ---- parties ---- */

typedef struct party_job {
    const char *name;
    double now_s;
    const uint8_t *hash;
    const char *sql; /* updates: "UPDATE parties SET <col> = $1 WHERE name = $2 RETURNING id" */
    const char *value, *state;
    int64_t id;
} party_job_t;

static dc_err_t add_party(dc_store_t *st, void *ctx)
{
    party_job_t *j = ctx;
    char h[2 * DC_STORE_TOKEN_HASH_BYTES + 3];
    num_t b;
    const char *vals[3] = {j->name, hex(h, j->hash, DC_STORE_TOKEN_HASH_BYTES), dbl(&b, j->now_s)};
    dc_err_t e;
    PGresult *r = query(st,
                        "INSERT INTO parties(name, token_hash, disabled, created_s) "
                        "VALUES($1, $2, 0, $3) RETURNING id",
                        3, vals, "add party", &e);
    if (r) j->id = col_i64(r, 0, 0);
    PQclear(r);
    return e == DC_OK ? audit_party(st, j->id, j->name, "created") : e;
}

static dc_err_t pg_party_add(dc_store_t *st, const char *name, double now_s,
                             char token_out[DC_TOKEN_MAX], dc_party_t *out)
{
    if (!dc_party_name_valid(name)) return DC_ERR_INVALID;
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES];
    dc_store_new_token(token_out, hash);
    party_job_t j = {.name = name, .now_s = now_s, .hash = hash};
    dc_err_t e = in_tx(st, add_party, &j);
    if (e == DC_OK && out) {
        memset(out, 0, sizeof(*out));
        out->id = j.id;
        snprintf(out->name, sizeof(out->name), "%s", name);
        out->created_s = now_s;
    }
    if (e != DC_OK) sodium_memzero(token_out, DC_TOKEN_MAX);
    return e;
}

/* An update of party name's row (j->sql with j->value) and its audit entry. */
static dc_err_t update_party(dc_store_t *st, void *ctx)
{
    party_job_t *j = ctx;
    const char *vals[2] = {j->value, j->name};
    dc_err_t e;
    PGresult *r = query(st, j->sql, 2, vals, "update party", &e);
    bool found = r && PQntuples(r) == 1;
    int64_t id = found ? col_i64(r, 0, 0) : 0;
    PQclear(r);
    if (e != DC_OK) return e;
    return found ? audit_party(st, id, j->name, j->state) : DC_ERR_NOT_FOUND;
}

static dc_err_t pg_party_rotate_token(dc_store_t *st, const char *name,
                                      char token_out[DC_TOKEN_MAX])
{
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES];
    char h[2 * DC_STORE_TOKEN_HASH_BYTES + 3];
    dc_store_new_token(token_out, hash);
    party_job_t j = {.name = name,
                     .sql = "UPDATE parties SET token_hash = $1 WHERE name = $2 RETURNING id",
                     .value = hex(h, hash, sizeof(hash)),
                     .state = "token_rotated"};
    dc_err_t e = in_tx(st, update_party, &j);
    if (e != DC_OK) sodium_memzero(token_out, DC_TOKEN_MAX);
    return e;
}

static dc_err_t pg_party_set_disabled(dc_store_t *st, const char *name, bool disabled)
{
    party_job_t j = {.name = name,
                     .sql = "UPDATE parties SET disabled = $1 WHERE name = $2 RETURNING id",
                     .value = disabled ? "1" : "0",
                     .state = disabled ? "disabled" : "enabled"};
    return in_tx(st, update_party, &j);
}

static dc_err_t pg_party_set_signatures(dc_store_t *st, const char *name, bool required)
{
    party_job_t j = {.name = name,
                     .sql =
                         "UPDATE parties SET require_signatures = $1 WHERE name = $2 RETURNING id",
                     .value = required ? "1" : "0",
                     .state = required ? "signatures_required" : "signatures_optional"};
    return in_tx(st, update_party, &j);
}

/* Columns 0-4 of the party queries: id, name, disabled, created_s, require_signatures. */
static void party_from_row(PGresult *r, int i, dc_party_t *p)
{
    memset(p, 0, sizeof(*p));
    p->id = col_i64(r, i, 0);
    snprintf(p->name, sizeof(p->name), "%s", PQgetvalue(r, i, 1));
    p->disabled = col_i64(r, i, 2) != 0;
    p->created_s = col_dbl(r, i, 3);
    p->require_signatures = col_i64(r, i, 4) != 0;
}

static dc_err_t pg_party_list(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx)
{
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT id, name, disabled, created_s, require_signatures FROM parties "
                        "ORDER BY id",
                        0, NULL, "list parties", &e);
    for (int i = 0; r && i < PQntuples(r); i++) {
        dc_party_t p;
        party_from_row(r, i, &p);
        fn(&p, ctx);
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_party_by_token(dc_store_t *st, const char *token, dc_party_t *out)
{
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES], stored[DC_STORE_TOKEN_HASH_BYTES];
    if (!dc_store_token_hash(token, hash)) return DC_ERR_NOT_FOUND;
    char h[2 * DC_STORE_TOKEN_HASH_BYTES + 3];
    const char *vals[1] = {hex(h, hash, sizeof(hash))};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT id, name, disabled, created_s, require_signatures, token_hash, "
                        "public_key FROM parties WHERE token_hash = $1",
                        1, vals, "find token", &e);
    if (!r) return e;
    e = DC_ERR_NOT_FOUND;
    /* The lookup went by hash; compare again in constant time so nothing downstream of the
     * index depends on how much of the hash matched. */
    if (PQntuples(r) == 1 && unhex(col_str(r, 0, 5), stored, sizeof(stored)) &&
        sodium_memcmp(stored, hash, sizeof(hash)) == 0) {
        party_from_row(r, 0, out);
        out->has_key = unhex(col_str(r, 0, 6), out->public_key, sizeof(out->public_key));
        e = out->disabled ? DC_ERR_NOT_FOUND : DC_OK;
    }
    PQclear(r);
    return e;
}

typedef struct key_job {
    int64_t party;
    const uint8_t *key;
} key_job_t;

static dc_err_t set_key(dc_store_t *st, void *ctx)
{
    key_job_t *j = ctx;
    char h[2 * 32 + 3];
    num_t b;
    /* A key identifies one party: one held by another is refused, or that party's signed
     * requests could be replayed as this one's. The unique check and the update run with the
     * party's row locked. */
    const char *vals[2] = {hex(h, j->key, 32), i64(&b, j->party)};
    dc_err_t e;
    PGresult *r =
        query(st, "SELECT id FROM parties WHERE id = $1 FOR UPDATE", 1, vals + 1, "lock party", &e);
    bool found = r && PQntuples(r) == 1;
    PQclear(r);
    if (e != DC_OK) return e;
    if (!found) return DC_ERR_NOT_FOUND;
    r = query(st, "SELECT id FROM parties WHERE public_key = $1 AND id != $2", 2, vals, "find key",
              &e);
    bool taken = r && PQntuples(r) > 0;
    PQclear(r);
    if (e != DC_OK) return e;
    if (taken) return DC_ERR_CONFLICT;
    e = exec(st, "UPDATE parties SET public_key = $1 WHERE id = $2", 2, vals, "set party key");
    if (e != DC_OK) return e;
    /* The key goes into the entry's body itself: public, and what a verifier of the party's
     * signed requests needs, from the log alone. */
    char sid[24], key64[64], view[128];
    snprintf(sid, sizeof(sid), "%lld", (long long)j->party);
    sodium_bin2base64(key64, sizeof(key64), j->key, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(view, sizeof(view), "{\"public_key\":\"%s\"}", key64);
    dc_audit_part_t part = {j->party, view};
    return audit_append_key(st, j->party, "party", sid, "key_registered", wall_s(), &part, 1,
                            key64);
}

static dc_err_t pg_party_set_key(dc_store_t *st, int64_t party, const uint8_t public_key[32])
{
    key_job_t j = {party, public_key};
    return in_tx(st, set_key, &j);
}

/* ---- documents ---- */

static dc_err_t pg_doc_put(dc_store_t *st, const dc_doc_t *doc)
{
    num_t a, b, u;
    const char *vals[8] = {
        doc->kind,   doc->id,    i64(&a, doc->party_a),  i64(&b, doc->party_b), doc->view_a,
        doc->view_b, doc->state, dbl(&u, doc->updated_s)};
    dc_err_t e = exec(st,
                      "INSERT INTO docs(kind, id, party_a, party_b, view_a, view_b, state, "
                      "updated_s) VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, id) "
                      "DO UPDATE SET party_a = EXCLUDED.party_a, party_b = EXCLUDED.party_b, "
                      "view_a = EXCLUDED.view_a, view_b = EXCLUDED.view_b, state = "
                      "EXCLUDED.state, updated_s = EXCLUDED.updated_s",
                      8, vals, "put document");
    dc_audit_part_t parts[2] = {{doc->party_a, doc->view_a}, {doc->party_b, doc->view_b}};
    if (e == DC_OK)
        e = audit_append(st, doc->actor, doc->kind, doc->id, doc->state, doc->updated_s, parts,
                         doc->party_b && doc->view_b ? 2 : 1);
    return e;
}

static void doc_from_row(PGresult *r, int i, dc_doc_t *d)
{
    *d = (dc_doc_t){.kind = col_str(r, i, 0),
                    .id = col_str(r, i, 1),
                    .party_a = col_i64(r, i, 2),
                    .party_b = col_i64(r, i, 3),
                    .view_a = col_str(r, i, 4),
                    .view_b = col_str(r, i, 5),
                    .state = col_str(r, i, 6),
                    .updated_s = col_dbl(r, i, 7)};
}

static dc_err_t pg_doc_each(dc_store_t *st, const char *kind,
                            void (*fn)(const dc_doc_t *doc, void *ctx), void *ctx)
{
    const char *vals[1] = {kind};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT kind, id, party_a, party_b, view_a, view_b, state, updated_s "
                        "FROM docs WHERE kind = $1 ORDER BY id",
                        1, vals, "read documents", &e);
    for (int i = 0; r && i < PQntuples(r); i++) {
        dc_doc_t d;
        doc_from_row(r, i, &d);
        fn(&d, ctx);
    }
    PQclear(r);
    return e;
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static dc_err_t pg_doc_fetch(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *vals[2] = {kind, id};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT kind, id, party_a, party_b, view_a, view_b, state, updated_s "
                        "FROM docs WHERE kind = $1 AND id = $2",
                        2, vals, "read document", &e);
    if (!r) return e;
    e = DC_ERR_NOT_FOUND;
    if (PQntuples(r) == 1) {
        dc_doc_t d;
        doc_from_row(r, 0, &d);
        *out = d;
        out->kind = dup(d.kind), out->id = dup(d.id), out->view_a = dup(d.view_a);
        out->view_b = dup(d.view_b), out->state = dup(d.state);
        e = out->kind && out->id && out->view_a && out->state && (!d.view_b || out->view_b)
                ? DC_OK
                : DC_ERR_NOMEM;
        if (e != DC_OK) dc_doc_release(out);
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_doc_get(dc_store_t *st, const char *kind, const char *id, int64_t party,
                           char **view, char **state)
{
    num_t b;
    const char *vals[3] = {kind, id, i64(&b, party)};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT CASE WHEN party_a = $3 THEN view_a ELSE view_b END, state FROM "
                        "docs WHERE kind = $1 AND id = $2 AND (party_a = $3 OR (party_b = $3 AND "
                        "view_b IS NOT NULL))",
                        3, vals, "read document", &e);
    if (!r) return e;
    e = DC_ERR_NOT_FOUND;
    if (PQntuples(r) == 1) {
        *view = dup(col_str(r, 0, 0));
        *state = dup(col_str(r, 0, 1));
        e = *view && *state ? DC_OK : DC_ERR_NOMEM;
        if (e != DC_OK) free(*view), free(*state);
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_doc_list(dc_store_t *st, const char *kind, int64_t party, const char *state,
                            void (*fn)(const char *id, const char *view, void *ctx), void *ctx)
{
    num_t b;
    const char *vals[3] = {kind, i64(&b, party), state};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT id, CASE WHEN party_a = $2 THEN view_a ELSE view_b END FROM docs "
                        "WHERE kind = $1 AND (party_a = $2 OR (party_b = $2 AND view_b IS NOT "
                        "NULL)) AND ($3::text IS NULL OR state = $3::text) ORDER BY id",
                        3, vals, "list documents", &e);
    for (int i = 0; r && i < PQntuples(r); i++) fn(col_str(r, i, 0), col_str(r, i, 1), ctx);
    PQclear(r);
    return e;
}

/* ---- events ---- */

static dc_err_t pg_event_append(dc_store_t *st, int64_t party, const char *type, const char *data,
                                double t_s, int64_t *seq_out)
{
    int64_t seq = 0;
    dc_err_t e = next_seq(st, "events", &seq);
    if (e != DC_OK) return e;
    num_t s, p, t;
    const char *vals[5] = {i64(&s, seq), i64(&p, party), type, data, dbl(&t, t_s)};
    e = exec(st, "INSERT INTO events(seq, party, type, data, t_s) VALUES($1, $2, $3, $4, $5)", 5,
             vals, "append event");
    if (e == DC_OK && seq_out) *seq_out = seq;
    return e;
}

static int64_t pg_event_last_seq(dc_store_t *st)
{
    dc_err_t e;
    PGresult *r = query(st, "SELECT value FROM counters WHERE name = 'events'", 0, NULL,
                        "read the last event", &e);
    int64_t v = r && PQntuples(r) == 1 ? col_i64(r, 0, 0) : 0;
    PQclear(r);
    return v;
}

typedef void (*event_fn)(int64_t seq, const char *type, const char *data, double t_s, void *ctx);

static void each_event(PGresult *r, event_fn fn, void *ctx, int64_t *last)
{
    for (int i = 0; r && i < PQntuples(r); i++) {
        int64_t seq = col_i64(r, i, 0);
        if (last) *last = seq;
        fn(seq, col_str(r, i, 1), col_str(r, i, 2), col_dbl(r, i, 3), ctx);
    }
}

static dc_err_t pg_event_since(dc_store_t *st, int64_t party, int64_t after, int64_t upto,
                               size_t max, event_fn fn, void *ctx, int64_t *last)
{
    *last = after;
    num_t p, a, u, m;
    const char *vals[4] = {i64(&p, party), i64(&a, after), i64(&u, upto), i64(&m, (int64_t)max)};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT seq, type, data, t_s FROM events WHERE party = $1 AND seq > $2 "
                        "AND seq <= $3 ORDER BY seq LIMIT $4",
                        4, vals, "read events", &e);
    each_event(r, fn, ctx, last);
    PQclear(r);
    return e;
}

static dc_err_t pg_event_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                 int64_t upto, size_t max, event_fn fn, void *ctx, bool *more)
{
    num_t p, a, b, u, m;
    const char *vals[5] = {i64(&p, party), dbl(&a, t0_s), dbl(&b, t1_s), i64(&u, upto),
                           i64(&m, (int64_t)max)};
    dc_err_t e;
    /* The newest max in the window, in order; one more tells whether there were more. */
    PGresult *r = query(st,
                        "SELECT seq, type, data, t_s FROM (SELECT seq, type, data, t_s FROM events "
                        "WHERE party = $1 AND t_s >= $2 AND t_s <= $3 AND seq <= $4 ORDER BY seq "
                        "DESC LIMIT $5 + 1) AS newest ORDER BY seq",
                        5, vals, "read events", &e);
    if (!r) return e;
    int n = PQntuples(r);
    *more = (size_t)n > max;
    for (int i = *more ? 1 : 0; i < n; i++)
        fn(col_i64(r, i, 0), col_str(r, i, 1), col_str(r, i, 2), col_dbl(r, i, 3), ctx);
    PQclear(r);
    return DC_OK;
}

/* ---- tracks ---- */

/* Adds a row of text parameters to q, replacing a waiting row with the same key (its first
 * key_cols parameters: one statement may not touch a row twice); written when q is full. */
static dc_err_t pend(dc_store_t *st, pending_t *q, const char *const *vals, size_t key_cols)
{
    if (!q->vals && !(q->vals = malloc(PENDING_MAX * q->cols * PARAM_MAX))) return DC_ERR_NOMEM;
    size_t at = q->n;
    for (size_t i = 0; i < q->n && at == q->n; i++) {
        bool same = true;
        for (size_t k = 0; k < key_cols && same; k++)
            same = strcmp(q->vals + (i * q->cols + k) * PARAM_MAX, vals[k]) == 0;
        if (same) at = i;
    }
    for (size_t k = 0; k < q->cols; k++) {
        if (strlen(vals[k]) >= PARAM_MAX) return fail(st, "a parameter is too long", NULL);
        snprintf(q->vals + (at * q->cols + k) * PARAM_MAX, PARAM_MAX, "%s", vals[k]);
    }
    if (at == q->n) q->n++;
    return q->n == PENDING_MAX ? flush_pending(st) : DC_OK;
}

/* Writes q's rows in one statement: head (the INSERT ... VALUES) then a (...) per row, then
 * tail (the ON CONFLICT clause). */
static dc_err_t flush_one(dc_store_t *st, pending_t *q, const char *head, const char *tail,
                          const char *what)
{
    if (!q->n) return DC_OK;
    size_t np = q->n * q->cols;
    const char **vals = malloc(np * sizeof(*vals));
    char *sql = malloc(strlen(head) + strlen(tail) + q->n * q->cols * 10 + 16);
    dc_err_t e = vals && sql ? DC_OK : DC_ERR_NOMEM;
    if (e == DC_OK) {
        char *w = sql + sprintf(sql, "%s", head);
        for (size_t i = 0; i < q->n; i++) {
            w += sprintf(w, "%s(", i ? "," : "");
            for (size_t k = 0; k < q->cols; k++) {
                size_t j = i * q->cols + k;
                vals[j] = q->vals + j * PARAM_MAX;
                w += sprintf(w, "%s$%zu", k ? "," : "", j + 1);
            }
            w += sprintf(w, ")");
        }
        sprintf(w, "%s", tail);
        e = exec(st, sql, (int)np, vals, what);
    }
    free(vals), free(sql);
    q->n = 0;
    return e;
}

static dc_err_t flush_pending(dc_store_t *st)
{
    pg_store_t *p = PG(st);
    p->flushing = true;
    dc_err_t e = flush_one(st, &p->tracks, "INSERT INTO tracks(id, party, state, t_s, rev) VALUES ",
                           " ON CONFLICT (id) DO UPDATE SET party = EXCLUDED.party, state = "
                           "EXCLUDED.state, t_s = EXCLUDED.t_s, rev = EXCLUDED.rev",
                           "put tracks");
    if (e == DC_OK)
        e = flush_one(st, &p->history,
                      "INSERT INTO track_history(party, t_s, id, lat, lon, alt_ft, trk_deg, gs_kt) "
                      "VALUES ",
                      " ON CONFLICT (party, t_s, id) DO UPDATE SET lat = EXCLUDED.lat, lon = "
                      "EXCLUDED.lon, alt_ft = EXCLUDED.alt_ft, trk_deg = EXCLUDED.trk_deg, gs_kt "
                      "= EXCLUDED.gs_kt",
                      "put track history");
    p->tracks.n = p->history.n = 0;
    p->flushing = false;
    return e;
}

static dc_err_t pg_track_put(dc_store_t *st, int64_t party, const char *id, const char *state,
                             double t_s)
{
    /* One revision per transaction, taken at its first track: the counter's row stays locked
     * until commit, so revisions follow commit order (dc_store_tracks_since). */
    pg_store_t *p = PG(st);
    if (!p->tx_rev || !p->in_tx) {
        dc_err_t e = next_seq(st, "tracks", &p->tx_rev);
        if (e != DC_OK) return e;
    }
    num_t pa, t, r;
    const char *vals[5] = {id, i64(&pa, party), state, dbl(&t, t_s), i64(&r, p->tx_rev)};
    if (!p->in_tx) { /* outside a transaction: at once */
        dc_err_t e = pend(st, &p->tracks, vals, 1);
        return e == DC_OK ? flush_pending(st) : e;
    }
    return pend(st, &p->tracks, vals, 1);
}

static dc_err_t
pg_track_each(dc_store_t *st,
              void (*fn)(int64_t party, const char *id, const char *state, void *ctx), void *ctx)
{
    dc_err_t e;
    PGresult *r =
        query(st, "SELECT party, id, state FROM tracks ORDER BY id", 0, NULL, "read tracks", &e);
    for (int i = 0; r && i < PQntuples(r); i++)
        fn(col_i64(r, i, 0), col_str(r, i, 1), col_str(r, i, 2), ctx);
    PQclear(r);
    return e;
}

/* ---- track history ---- */

static dc_err_t pg_history_put(dc_store_t *st, int64_t party, const dc_track_state_t *tr)
{
    const char *slash = strchr(tr->id, '/');
    num_t p, t, la, lo, al, tk, gs;
    const char *vals[8] = {i64(&p, party),        dbl(&t, tr->t_s),      slash ? slash + 1 : tr->id,
                           dbl(&la, tr->lat_deg), dbl(&lo, tr->lon_deg), dbl(&al, tr->alt_ft),
                           dbl(&tk, tr->trk_deg), dbl(&gs, tr->gs_kt)};
    /* The key is (party, t_s, id), the row's first three parameters. */
    dc_err_t e = pend(st, &PG(st)->history, vals, 3);
    return e == DC_OK && !PG(st)->in_tx ? flush_pending(st) : e;
}

static dc_err_t
pg_history_between(dc_store_t *st, int64_t party, double t0_s, double t1_s, size_t max,
                   void (*fn)(const char *track_id, double t_s, double lat_deg, double lon_deg,
                              double alt_ft, double trk_deg, double gs_kt, void *ctx),
                   void *ctx, bool *more)
{
    num_t p, a, b, m;
    const char *vals[4] = {i64(&p, party), dbl(&a, t0_s), dbl(&b, t1_s), i64(&m, (int64_t)max)};
    dc_err_t e;
    /* More than max: keep the newest, the part of the window a viewer wants most. */
    PGresult *r = query(st,
                        "SELECT id, t_s, lat, lon, alt_ft, trk_deg, gs_kt FROM (SELECT * FROM "
                        "track_history WHERE party = $1 AND t_s >= $2 AND t_s <= $3 ORDER BY t_s "
                        "DESC LIMIT $4 + 1) AS newest ORDER BY t_s",
                        4, vals, "read track history", &e);
    if (!r) return e;
    int n = PQntuples(r);
    *more = (size_t)n > max;
    for (int i = *more ? 1 : 0; i < n; i++)
        fn(col_str(r, i, 0), col_dbl(r, i, 1), col_dbl(r, i, 2), col_dbl(r, i, 3), col_dbl(r, i, 4),
           col_dbl(r, i, 5), col_dbl(r, i, 6), ctx);
    PQclear(r);
    return DC_OK;
}

static dc_err_t pg_history_oldest(dc_store_t *st, double *t_s)
{
    dc_err_t e;
    PGresult *r =
        query(st, "SELECT MIN(t_s) FROM track_history", 0, NULL, "read track history", &e);
    bool found = r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
    if (found) *t_s = col_dbl(r, 0, 0);
    PQclear(r);
    return e != DC_OK ? e : found ? DC_OK : DC_ERR_NOT_FOUND;
}

static dc_err_t pg_history_prune(dc_store_t *st, double before_s, int64_t *deleted)
{
    num_t b;
    const char *vals[1] = {dbl(&b, before_s)};
    dc_err_t e;
    PGresult *r =
        query(st, "DELETE FROM track_history WHERE t_s < $1", 1, vals, "prune track history", &e);
    if (deleted) *deleted = r ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return e;
}

/* ---- idempotency ---- */

static dc_err_t pg_idem_get(dc_store_t *st, int64_t party, const char *key, int *status,
                            char **body)
{
    num_t p;
    const char *vals[2] = {i64(&p, party), key};
    dc_err_t e;
    PGresult *r = query(st, "SELECT status, body FROM idempotency WHERE party = $1 AND key = $2", 2,
                        vals, "read idempotency key", &e);
    if (!r) return e;
    e = DC_ERR_NOT_FOUND;
    if (PQntuples(r) == 1) {
        *status = (int)col_i64(r, 0, 0);
        *body = dup(col_str(r, 0, 1));
        e = *body ? DC_OK : DC_ERR_NOMEM;
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_idem_put(dc_store_t *st, int64_t party, const char *key, int status,
                            const char *body, double t_s)
{
    num_t p, s, t;
    const char *vals[5] = {i64(&p, party), key, i64(&s, status), body, dbl(&t, t_s)};
    return exec(st,
                "INSERT INTO idempotency(party, key, status, body, t_s) VALUES($1, $2, $3, $4, $5)",
                5, vals, "store idempotency key");
}

/* ---- the audit trail: reading ---- */

static dc_err_t audit_key(dc_store_t *st, void *ctx)
{
    uint8_t *k = ctx; /* pk then sk */
    uint8_t pk[DC_AUDIT_PK_BYTES], sk[DC_AUDIT_SK_BYTES];
    /* First start of the first node: the service's key, created once and kept with the log;
     * a node starting at the same moment keeps the one that got there first. */
    dc_err_t e = dc_audit_keypair(pk, sk);
    char ph[2 * DC_AUDIT_PK_BYTES + 3], sh[2 * DC_AUDIT_SK_BYTES + 3];
    const char *vals[2] = {hex(ph, pk, sizeof(pk)), hex(sh, sk, sizeof(sk))};
    if (e == DC_OK)
        e = exec(st,
                 "INSERT INTO keys(name, public, secret) VALUES('audit', $1, $2) ON CONFLICT "
                 "DO NOTHING",
                 2, vals, "store the audit key");
    sodium_memzero(sk, sizeof(sk)), sodium_memzero(sh, sizeof(sh));
    PGresult *r = e == DC_OK ? query(st, "SELECT public, secret FROM keys WHERE name = 'audit'", 0,
                                     NULL, "read the audit key", &e)
                             : NULL;
    if (r && !(PQntuples(r) == 1 && unhex(col_str(r, 0, 0), k, DC_AUDIT_PK_BYTES) &&
               unhex(col_str(r, 0, 1), k + DC_AUDIT_PK_BYTES, DC_AUDIT_SK_BYTES)))
        e = fail(st, "read the audit key: unreadable", NULL);
    PQclear(r);
    return e;
}

static dc_err_t pg_audit_key(dc_store_t *st, uint8_t pk[DC_AUDIT_PK_BYTES],
                             uint8_t sk[DC_AUDIT_SK_BYTES])
{
    uint8_t k[DC_AUDIT_PK_BYTES + DC_AUDIT_SK_BYTES];
    dc_err_t e = in_tx(st, audit_key, k);
    if (e == DC_OK) {
        memcpy(pk, k, DC_AUDIT_PK_BYTES);
        memcpy(sk, k + DC_AUDIT_PK_BYTES, DC_AUDIT_SK_BYTES);
    }
    sodium_memzero(k, sizeof(k));
    return e;
}

static dc_err_t pg_audit_head(dc_store_t *st, int64_t *seq, uint8_t hash[DC_AUDIT_HASH_BYTES])
{
    *seq = 0;
    memset(hash, 0, DC_AUDIT_HASH_BYTES);
    dc_err_t e;
    PGresult *r = query(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", 0, NULL,
                        "read audit head", &e);
    if (r && PQntuples(r) == 1 && unhex(col_str(r, 0, 1), hash, DC_AUDIT_HASH_BYTES))
        *seq = col_i64(r, 0, 0);
    PQclear(r);
    return e;
}

/* Whether an entry's body names party as its actor (bodies start {"actor":N,...). */
static bool actor_is(const char *body, int64_t party)
{
    char prefix[48];
    int n = snprintf(prefix, sizeof(prefix), "{\"actor\":%lld,", (long long)party);
    return strncmp(body, prefix, (size_t)n) == 0;
}

static dc_err_t pg_audit_each(dc_store_t *st, int64_t after, size_t max, int64_t party,
                              void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx)
{
    num_t p, a, m;
    const char *vals[3] = {i64(&p, party), i64(&a, after), i64(&m, (int64_t)max)};
    dc_err_t e;
    /* The caller's own view comes along; the body only where the caller is a part of the
     * entry (party 0: everything, for the administrator's export). */
    PGresult *r = query(st,
                        "SELECT a.seq, a.body, a.body_hash, a.hash, v.view, (SELECT COUNT(*) FROM "
                        "audit_views w WHERE w.seq = a.seq AND w.party = $1), r.body FROM audit a "
                        "LEFT JOIN audit_views v ON v.seq = a.seq AND v.party = $1 LEFT JOIN "
                        "audit_requests r ON r.seq = a.seq WHERE a.seq > $2 ORDER BY a.seq LIMIT "
                        "$3",
                        3, vals, "read audit", &e);
    for (int i = 0; r && i < PQntuples(r); i++) {
        dc_audit_row_t row = {0};
        if (!unhex(col_str(r, i, 2), row.body_hash, DC_AUDIT_HASH_BYTES) ||
            !unhex(col_str(r, i, 3), row.hash, DC_AUDIT_HASH_BYTES))
            continue; /* a damaged row: the verifier reports the gap */
        row.seq = col_i64(r, i, 0);
        bool part = party == 0 || col_i64(r, i, 5) > 0;
        row.body = part ? col_str(r, i, 1) : NULL;
        row.view = party ? col_str(r, i, 4) : NULL;
        /* The signed request behind the entry: the administrator's, or the signer's own. */
        const char *req = col_str(r, i, 6);
        if (req && (party == 0 || (row.body && actor_is(row.body, party)))) row.request = req;
        fn(&row, ctx);
    }
    PQclear(r);
    return e;
}

/* ---- several nodes ---- */

static dc_err_t pg_changes(dc_store_t *st, int64_t after, size_t max,
                           void (*fn)(int64_t seq, const char *kind, const char *id, void *ctx),
                           void *ctx, int64_t *last)
{
    *last = after;
    num_t a, m;
    const char *vals[2] = {i64(&a, after), i64(&m, (int64_t)max)};
    dc_err_t e;
    PGresult *r = query(st,
                        "SELECT seq, kind, doc_id FROM audit WHERE seq > $1 AND kind IS NOT NULL "
                        "ORDER BY seq LIMIT $2",
                        2, vals, "read changes", &e);
    for (int i = 0; r && i < PQntuples(r); i++) {
        *last = col_i64(r, i, 0);
        fn(*last, col_str(r, i, 1), col_str(r, i, 2), ctx);
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_tracks_since(dc_store_t *st, int64_t after, size_t max,
                                void (*fn)(int64_t party, const char *id, const char *state,
                                           void *ctx),
                                void *ctx, int64_t *last)
{
    *last = after;
    num_t a, m;
    const char *vals[2] = {i64(&a, after), i64(&m, (int64_t)max)};
    dc_err_t e;
    /* Whole revisions only: a revision cut by the limit is read again next time. */
    PGresult *r = query(st,
                        "SELECT party, id, state, rev FROM tracks WHERE rev > $1 AND rev <= "
                        "(SELECT COALESCE(MAX(rev), $1) FROM (SELECT rev FROM tracks WHERE rev > "
                        "$1 ORDER BY rev LIMIT $2) AS first) ORDER BY rev",
                        2, vals, "read tracks", &e);
    for (int i = 0; r && i < PQntuples(r); i++) {
        *last = col_i64(r, i, 3);
        fn(col_i64(r, i, 0), col_str(r, i, 1), col_str(r, i, 2), ctx);
    }
    PQclear(r);
    return e;
}

static dc_err_t pg_lead(dc_store_t *st, const char *node, double lease_s, bool *leader)
{
    /* On the database's clock, so that the nodes' clocks need not agree. */
    num_t l;
    const char *vals[2] = {node, dbl(&l, lease_s)};
    dc_err_t e;
    PGresult *r = query(st,
                        "INSERT INTO leader(one, node, until_s) VALUES(1, $1, EXTRACT(EPOCH FROM "
                        "clock_timestamp()) + $2) ON CONFLICT (one) DO UPDATE SET node = "
                        "EXCLUDED.node, until_s = EXCLUDED.until_s WHERE leader.node = "
                        "EXCLUDED.node OR leader.until_s < EXTRACT(EPOCH FROM clock_timestamp()) "
                        "RETURNING node",
                        2, vals, "take the lead", &e);
    *leader = r && PQntuples(r) == 1;
    PQclear(r);
    return e;
}

static dc_err_t pg_heads(dc_store_t *st, int64_t *changes, int64_t *tracks)
{
    *changes = *tracks = 0;
    dc_err_t e;
    PGresult *r = query(st, "SELECT name, value FROM counters WHERE name IN ('audit', 'tracks')", 0,
                        NULL, "read the heads", &e);
    for (int i = 0; r && i < PQntuples(r); i++)
        *(strcmp(PQgetvalue(r, i, 0), "audit") == 0 ? changes : tracks) = col_i64(r, i, 1);
    PQclear(r);
    return e;
}

const dc_store_backend_t dc_store_pg_backend = {
    .name = "postgresql",
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .defer_sync = pg_defer_sync,
    .flush = pg_flush,
    .sync = pg_sync,
    .party_add = pg_party_add,
    .party_rotate_token = pg_party_rotate_token,
    .party_set_disabled = pg_party_set_disabled,
    .party_set_signatures = pg_party_set_signatures,
    .party_list = pg_party_list,
    .party_by_token = pg_party_by_token,
    .doc_put = pg_doc_put,
    .doc_each = pg_doc_each,
    .doc_fetch = pg_doc_fetch,
    .doc_get = pg_doc_get,
    .doc_list = pg_doc_list,
    .event_append = pg_event_append,
    .event_last_seq = pg_event_last_seq,
    .event_since = pg_event_since,
    .event_between = pg_event_between,
    .track_put = pg_track_put,
    .track_each = pg_track_each,
    .history_put = pg_history_put,
    .history_between = pg_history_between,
    .history_oldest = pg_history_oldest,
    .history_prune = pg_history_prune,
    .idem_get = pg_idem_get,
    .idem_put = pg_idem_put,
    .party_set_key = pg_party_set_key,
    .audit_key = pg_audit_key,
    .audit_head = pg_audit_head,
    .audit_each = pg_audit_each,
    .changes = pg_changes,
    .tracks_since = pg_tracks_since,
    .lead = pg_lead,
    .heads = pg_heads,
};
