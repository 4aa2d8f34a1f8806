/* The store's SQLite backend: schema migrations, parties and tokens, documents, per-party
 * events, tracks, history, idempotency keys and the audit chain's rows, in one database file in
 * a data directory (WAL). The public contract is include/deconflict/store.h; store.c
 * dispatches to this file through its backend table (store-int.h), and the audit entries'
 * text is audit_entry.c's. */
#include "store/store-int.h"

#include "deconflict/audit.h"
#include "deconflict/timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Statements are prepared once per SQL text and reused: parsing the SQL again was a visible
 * share of a filing's cost. Keyed by the address of the string literal. */
#define STMT_CACHE_MAX 32

/* The SQLite backend's store: the common part first (store-int.h), then its own. */
typedef struct sq_store {
    struct dc_store base;
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE_MAX];
    size_t n_cached;
    int wal_fd; /* deferred sync: the WAL, synced by sq_sync(); else -1 */
    /* Deferred sync groups commits (store.h): group_open while the group's transaction is, with
     * group_kept commits released into it. */
    bool grouped, group_open, group_lost;
    size_t group_kept;
} sq_store_t;

#define SQ(st) ((sq_store_t *)(st))

static void sq_close(dc_store_t *st);
static dc_err_t sq_flush(dc_store_t *st, char *err, size_t len);

/* Migration i brings the schema from version i to i + 1. Only ever append. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE parties("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_s REAL NOT NULL);"
    "CREATE TABLE docs("
    "  kind TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  party_a INTEGER NOT NULL,"
    "  party_b INTEGER NOT NULL DEFAULT 0,"
    "  view_a TEXT NOT NULL,"
    "  view_b TEXT,"
    "  state TEXT NOT NULL,"
    "  updated_s REAL NOT NULL,"
    "  PRIMARY KEY(kind, id));"
    "CREATE INDEX docs_party_a ON docs(party_a, kind);"
    "CREATE INDEX docs_party_b ON docs(party_b, kind);"
    "CREATE TABLE events("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  party INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  data TEXT NOT NULL,"
    "  t_s REAL NOT NULL);"
    "CREATE INDEX events_party ON events(party, seq);"
    "CREATE TABLE idempotency("
    "  party INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  t_s REAL NOT NULL,"
    "  PRIMARY KEY(party, key));",
    /* 1 -> 2 */
    "CREATE TABLE tracks("
    "  id TEXT PRIMARY KEY,"
    "  party INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  t_s REAL NOT NULL);",
    /* 2 -> 3: the audit trail (include/deconflict/audit.h) and the service's signing key */
    "CREATE TABLE audit("
    "  seq INTEGER PRIMARY KEY,"
    "  body TEXT NOT NULL,"
    "  body_hash BLOB NOT NULL,"
    "  hash BLOB NOT NULL);"
    "CREATE TABLE audit_views("
    "  seq INTEGER NOT NULL,"
    "  party INTEGER NOT NULL,"
    "  view TEXT NOT NULL,"
    "  PRIMARY KEY(party, seq)) WITHOUT ROWID;"
    "CREATE TABLE keys("
    "  name TEXT PRIMARY KEY,"
    "  public BLOB NOT NULL,"
    "  secret BLOB NOT NULL);",
    /* 3 -> 4: parties' Ed25519 keys and the signed request bodies behind audit entries */
    "ALTER TABLE parties ADD COLUMN public_key BLOB;"
    "CREATE TABLE audit_requests("
    "  seq INTEGER PRIMARY KEY,"
    "  body TEXT NOT NULL);",
    /* 4 -> 5: sampled track history, and events found by time (the console's time slider) */
    "CREATE TABLE track_history("
    "  party INTEGER NOT NULL,"
    "  t_s REAL NOT NULL,"
    "  id TEXT NOT NULL,"
    "  lat REAL NOT NULL,"
    "  lon REAL NOT NULL,"
    "  alt_ft REAL NOT NULL,"
    "  trk_deg REAL NOT NULL,"
    "  gs_kt REAL NOT NULL,"
    "  PRIMARY KEY(party, t_s, id)) WITHOUT ROWID;"
    "CREATE INDEX events_time ON events(party, t_s);",
    /* 5 -> 6: a party's signature policy (unsigned writes refused when set) */
    "ALTER TABLE parties ADD COLUMN require_signatures INTEGER NOT NULL DEFAULT 0;",
    /* 6 -> 7: each audit entry names the document it changed (the change feed); two statements
     * in one migration, parenthesised to say their concatenation is meant */
    ("ALTER TABLE audit ADD COLUMN kind TEXT;"
     "ALTER TABLE audit ADD COLUMN doc_id TEXT;"),
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == DC_STORE_SCHEMA_VERSION, "one migration per schema version");

static dc_err_t fail(dc_store_t *st, const char *what)
{
    snprintf(st->err, sizeof(st->err), "%s: %s", what, sqlite3_errmsg(SQ(st)->db));
    return DC_ERR_IO;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static bool migrate(dc_store_t *st, char *err, size_t len)
{
    int v = user_version(SQ(st)->db);
    if (v < 0 || v > (int)N_MIGRATIONS) {
        snprintf(err, len, "store schema version %d is not one this build knows (up to %zu)", v,
                 N_MIGRATIONS);
        return false;
    }
    for (; v < (int)N_MIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", v + 1);
        char *msg = NULL;
        if (sqlite3_exec(SQ(st)->db, "BEGIN IMMEDIATE;", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(SQ(st)->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(SQ(st)->db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(SQ(st)->db, "COMMIT;", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, len, "migration to schema %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(SQ(st)->db, "ROLLBACK;", NULL, NULL, NULL);
            return false;
        }
    }
    return true;
}

/* The data directory holds every secret of the service (token hashes, the audit signing key,
 * every party's documents): it is used only when it is a real directory owned by this user and
 * closed to everyone else. Created 0700 when absent; one left open to the group or others by a
 * plain mkdir is tightened to 0700, and that is said (notice). */
static bool check_dir(dc_store_t *st, const char *dir, char *err, size_t len)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, len, "cannot create data directory %s: %s", dir, strerror(errno));
        return false;
    }
    struct stat sb;
    if (lstat(dir, &sb) != 0) {
        snprintf(err, len, "cannot read data directory %s: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, len, "data directory %s is not a directory%s", dir,
                 S_ISLNK(sb.st_mode) ? " (a symbolic link: give the real path)" : "");
        return false;
    }
    if (sb.st_uid != geteuid()) {
        snprintf(err, len,
                 "data directory %s belongs to uid %u, not to this process's uid %u: refusing to "
                 "keep secrets where another user can change them",
                 dir, (unsigned)sb.st_uid, (unsigned)geteuid());
        return false;
    }
    if (sb.st_mode & 077) {
        if (chmod(dir, sb.st_mode & 0700) != 0) {
            snprintf(err, len,
                     "data directory %s is open to other users (mode %04o) and cannot "
                     "be tightened: %s",
                     dir, (unsigned)(sb.st_mode & 07777), strerror(errno));
            return false;
        }
        dc_store_add_notice(
            st, "data directory %.200s was open to other users (mode %04o); tightened to %04o.",
            dir, (unsigned)(sb.st_mode & 07777), (unsigned)(sb.st_mode & 0700));
    }
    return true;
}

/* Creates the store's files 0600 before SQLite does (it would use 0644 less the umask; the WAL
 * and shared-memory files copy the database's mode), and tightens files an older build left
 * readable. By path, never by opening a file SQLite may hold: closing any descriptor of a file
 * drops every POSIX lock this process holds on it, and another connection of this process
 * (deconflictd opens three) relies on them. Never follows a symbolic link; the directory was
 * checked first, so nobody else can swap the files between the checks. */
static bool secure_file(dc_store_t *st, const char *path, bool create, char *err, size_t len)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT) {
            snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
            return false;
        }
        if (!create) return true;
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST) {
            snprintf(err, len, "cannot create %s: %s", path, strerror(errno));
            return false;
        }
        if (fd >= 0) close(fd); /* new and empty: nothing of this process has it open */
        return fd >= 0 || secure_file(st, path, false, err, len);
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, len, "%s is not a regular file%s", path,
                 S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
        return false;
    }
    if (sb.st_mode & 077) {
        if (chmod(path, 0600) != 0) {
            snprintf(err, len, "%s is readable by other users and cannot be tightened: %s", path,
                     strerror(errno));
            return false;
        }
        dc_store_add_notice(st,
                            "%.200s was readable by other users (mode %04o); tightened to 0600.",
                            path, (unsigned)(sb.st_mode & 07777));
    }
    return true;
}

/* Whether path (what in err) exists; false with a sentence in err when it does not. The
 * directory is looked for before check_dir() and the database after, so that a directory
 * another user owns is refused as such, whether or not it holds a store. */
static bool store_part_present(const char *dir, const char *path, char *err, size_t len)
{
    struct stat sb;
    if (lstat(path, &sb) == 0 || errno != ENOENT) return true; /* unreadable: said below */
    if (path == dir)
        snprintf(err, len, "no store at %s: the directory does not exist", dir);
    else
        snprintf(err, len, "no store in %s: it holds no deconflict.sqlite3", dir);
    return false;
}

dc_store_t *dc_store_sqlite_open(const char *dir, bool create, char *err, size_t len)
{
    if (sodium_init() < 0) {
        snprintf(err, len, "libsodium failed to initialise");
        return NULL;
    }
    sq_store_t *q = calloc(1, sizeof(*q));
    if (!q) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    dc_store_t *st = &q->base;
    st->be = &dc_store_sqlite_backend;
    q->wal_fd = -1;
    char path[4096], side[4200];
    snprintf(path, sizeof(path), "%s/deconflict.sqlite3", dir);
    bool files_ok = (create || store_part_present(dir, dir, err, len)) &&
                    check_dir(st, dir, err, len) &&
                    (create || store_part_present(dir, path, err, len)) &&
                    secure_file(st, path, create, err, len);
    snprintf(side, sizeof(side), "%s-wal", path);
    files_ok = files_ok && secure_file(st, side, false, err, len);
    snprintf(side, sizeof(side), "%s-shm", path);
    files_ok = files_ok && secure_file(st, side, false, err, len);
    if (!files_ok) {
        free(q);
        return NULL;
    }
    int mode = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &SQ(st)->db, mode, NULL) != SQLITE_OK) {
        snprintf(err, len, "cannot open %s: %s", path,
                 SQ(st)->db ? sqlite3_errmsg(SQ(st)->db) : "?");
        sq_close(st);
        return NULL;
    }
    /* WAL: readers do not block the writer. synchronous=FULL: a commit is on disk when it
     * returns, which is what a 2xx promises. busy_timeout: a CLI admin command and the daemon
     * may share the file. */
    char *msg = NULL;
    if (sqlite3_exec(SQ(st)->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, len, "cannot configure %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sq_close(st);
        return NULL;
    }
    sqlite3_busy_timeout(SQ(st)->db, 5000);
    if (!migrate(st, err, len)) {
        sq_close(st);
        return NULL;
    }
    return st;
}

static void sq_close(dc_store_t *st)
{
    char err[256];
    if (sq_flush(st, err, sizeof(err)) != DC_OK) /* what was committed into a group is kept */
        fprintf(stderr, "deconflict: store: closing: %s\n", err);
    for (size_t i = 0; i < SQ(st)->n_cached; i++) sqlite3_finalize(SQ(st)->cache[i].stmt);
    sqlite3_close(SQ(st)->db);
    if (SQ(st)->wal_fd >= 0) close(SQ(st)->wal_fd);
    free(SQ(st));
}

static int sq_schema_version(dc_store_t *st)
{
    return user_version(SQ(st)->db);
}

/* The prepared statement for sql (a string literal): the cached one when it is idle, else a
 * new one, cached while there is room. Reporting failure in st->err. Give it back with done(). */
static sqlite3_stmt *prep(dc_store_t *st, const char *sql)
{
    size_t i = 0;
    while (i < SQ(st)->n_cached && SQ(st)->cache[i].sql != sql) i++;
    if (i < SQ(st)->n_cached && !sqlite3_stmt_busy(SQ(st)->cache[i].stmt))
        return SQ(st)->cache[i].stmt;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(SQ(st)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        fail(st, "prepare");
        return NULL;
    }
    if (i == SQ(st)->n_cached && i < STMT_CACHE_MAX) {
        SQ(st)->cache[i].sql = sql, SQ(st)->cache[i].stmt = s;
        SQ(st)->n_cached++;
    }
    return s;
}

/* Gives back a statement from prep(): reset for the next use if cached, else finalized. */
static void done(dc_store_t *st, sqlite3_stmt *s)
{
    for (size_t i = 0; i < SQ(st)->n_cached; i++)
        if (SQ(st)->cache[i].stmt == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return;
        }
    sqlite3_finalize(s);
}

/* Steps a statement that returns no rows and gives it back. */
static dc_err_t run(dc_store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    dc_err_t e = DC_OK;
    if (rc == SQLITE_CONSTRAINT)
        e = DC_ERR_CONFLICT;
    else if (rc != SQLITE_DONE)
        e = fail(st, what);
    done(st, s);
    return e;
}

/* ---- transactions ---- */

/* Runs a one-statement SQL text (a literal) through the statement cache. */
static dc_err_t exec_cached(dc_store_t *st, const char *sql, const char *what)
{
    sqlite3_stmt *s = prep(st, sql);
    return s ? run(st, s, what) : DC_ERR_IO;
}

/* Grouped (deferred sync): the first begin of a group opens its transaction, and each caller's
 * transaction is a savepoint in it, released on commit and undone alone on rollback.
 *
 * SQLite may roll the whole group back by itself when a statement fails with a full disk or an
 * I/O error (a page spilled from the cache to the WAL, say): commits already released into it
 * are then gone. That is noted (group_lost) wherever it can be seen, and the next flush fails,
 * undoing what came after too, so that the caller treats everything since the last flush as not
 * kept -- never as durable. */
static void group_closed(sq_store_t *q)
{
    q->group_open = false, q->group_kept = 0;
}

/* The group's transaction gone without a flush: lost if it held commits. */
static void check_group(sq_store_t *q)
{
    if (q->group_open && sqlite3_get_autocommit(q->db)) {
        if (q->group_kept) q->group_lost = true;
        group_closed(q);
    }
}

static dc_err_t sq_begin(dc_store_t *st)
{
    sq_store_t *q = SQ(st);
    if (!q->grouped) return exec_cached(st, "BEGIN IMMEDIATE", "begin");
    check_group(q);
    if (!q->group_open) {
        if (exec_cached(st, "BEGIN IMMEDIATE", "begin the group") != DC_OK) return DC_ERR_IO;
        q->group_open = true, q->group_kept = 0;
    }
    return exec_cached(st, "SAVEPOINT w", "begin");
}

static dc_err_t sq_commit(dc_store_t *st)
{
    sq_store_t *q = SQ(st);
    if (!q->grouped) return exec_cached(st, "COMMIT", "commit");
    dc_err_t e = exec_cached(st, "RELEASE w", "commit");
    if (e == DC_OK) q->group_kept++;
    check_group(q);
    if (e == DC_OK && q->group_lost) e = DC_ERR_IO; /* released into nothing */
    return e;
}

static void sq_rollback(dc_store_t *st)
{
    sq_store_t *q = SQ(st);
    if (!q->grouped) {
        exec_cached(st, "ROLLBACK", "rollback");
        return;
    }
    check_group(q);
    if (!q->group_open) return;
    if (q->group_kept == 0) {
        /* Nothing else in the group: end it, so that it does not hold the write lock until
         * a flush that no commit will ask for. */
        exec_cached(st, "ROLLBACK", "rollback");
        group_closed(q);
        return;
    }
    if (exec_cached(st, "ROLLBACK TO w", "rollback") == DC_OK)
        exec_cached(st, "RELEASE w", "rollback");
    check_group(q);
}

static dc_err_t sq_flush(dc_store_t *st, char *err, size_t len)
{
    sq_store_t *q = SQ(st);
    check_group(q);
    if (q->group_lost) {
        /* What came after the loss goes too: nothing since the last flush is kept. */
        if (q->group_open) exec_cached(st, "ROLLBACK", "roll the group back");
        group_closed(q);
        q->group_lost = false;
        snprintf(err, len, "the group's transaction was rolled back by SQLite (%s)", st->err);
        return DC_ERR_IO;
    }
    if (!q->group_open) return DC_OK;
    dc_err_t e = exec_cached(st, "COMMIT", "commit the group");
    if (e != DC_OK) {
        snprintf(err, len, "%s", st->err);
        if (!sqlite3_get_autocommit(q->db)) exec_cached(st, "ROLLBACK", "roll the group back");
    }
    group_closed(q);
    return e;
}

static dc_err_t sq_defer_sync(dc_store_t *st)
{
    /* The WAL is kept, not deleted at close, so the descriptor below always names the file
     * SQLite writes to; fsync acts on the file, whichever descriptor asks. */
    int persist = 1;
    sqlite3_file_control(SQ(st)->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if (exec_cached(st, "PRAGMA synchronous=NORMAL", "set synchronous") != DC_OK) return DC_ERR_IO;
    SQ(st)->grouped = true;
    char path[4200];
    snprintf(path, sizeof(path), "%s-wal", sqlite3_db_filename(SQ(st)->db, "main"));
    SQ(st)->wal_fd = open(path, O_RDWR | O_CLOEXEC);
    if (SQ(st)->wal_fd < 0) {
        snprintf(st->err, sizeof(st->err), "cannot open %.180s: %s", path, strerror(errno));
        return DC_ERR_IO;
    }
    return DC_OK;
}

static dc_err_t sq_sync(dc_store_t *st, char *err, size_t len)
{
    if (SQ(st)->wal_fd < 0) return DC_OK; /* commits sync themselves */
    if (fdatasync(SQ(st)->wal_fd) != 0) {
        snprintf(err, len, "fdatasync of the WAL: %s", strerror(errno));
        return DC_ERR_IO;
    }
    return DC_OK;
}

/* ---- the audit trail ----
 * Every document write and every party change appends an entry inside the same transaction.
 * The body is canonical JSON (keys sorted, compact) naming the change and, per party concerned,
 * the hash of that party's view; the views themselves go to audit_views, readable by their
 * party only. */

/* Appends one entry; public_key (base64) is set only for a party's key registration. */
static dc_err_t audit_append_key(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                                 const char *state, double t_s, const dc_audit_part_t *parts,
                                 size_t n_parts, const char *public_key)
{
    char body[DC_AUDIT_ENTRY_MAX];
    bool signed_req = st->req.body && actor && actor == st->req.party;
    dc_audit_entry_t e = {.actor = actor,
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
    size_t len = dc_audit_entry_body(&e, body, sizeof(body));
    if (!len) {
        snprintf(st->err, sizeof(st->err), "audit entry too long");
        return DC_ERR_LIMIT;
    }
    /* The previous link: read inside the caller's transaction, so a rollback cannot leave a
     * cached head behind. */
    uint8_t prev[DC_AUDIT_HASH_BYTES] = {0}, body_hash[DC_AUDIT_HASH_BYTES],
            hash[DC_AUDIT_HASH_BYTES];
    int64_t seq = 1;
    sqlite3_stmt *s = prep(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!s) return DC_ERR_IO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 1) == DC_AUDIT_HASH_BYTES) {
        seq = sqlite3_column_int64(s, 0) + 1;
        memcpy(prev, sqlite3_column_blob(s, 1), sizeof(prev));
    }
    done(st, s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(st, "read audit head");
    dc_audit_hash(body, len, body_hash);
    dc_audit_link(prev, (uint64_t)seq, body_hash, hash);
    s = prep(st, "INSERT INTO audit(seq, body, body_hash, hash, kind, doc_id) VALUES(?,?,?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, body, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 3, body_hash, sizeof(body_hash), SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 4, hash, sizeof(hash), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, id, -1, SQLITE_TRANSIENT);
    dc_err_t rc2 = run(st, s, "append audit entry");
    if (rc2 == DC_OK && signed_req) {
        s = prep(st, "INSERT INTO audit_requests(seq, body) VALUES(?,?)");
        if (!s) return DC_ERR_IO;
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_text(s, 2, st->req.body, (int)st->req.len, SQLITE_TRANSIENT);
        rc2 = run(st, s, "append audit request");
    }
    for (size_t i = 0; i < n_parts && rc2 == DC_OK; i++) {
        s = prep(st, "INSERT INTO audit_views(seq, party, view) VALUES(?,?,?)");
        if (!s) return DC_ERR_IO;
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_int64(s, 2, parts[i].party);
        sqlite3_bind_text(s, 3, parts[i].view, -1, SQLITE_TRANSIENT);
        rc2 = run(st, s, "append audit view");
    }
    return rc2;
}

/* Commits when e is DC_OK, else rolls back; returns the outcome. */
static dc_err_t finish_tx(dc_store_t *st, dc_err_t e)
{
    if (e == DC_OK) return sq_commit(st);
    sq_rollback(st);
    return e;
}

static dc_err_t audit_append(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                             const char *state, double t_s, const dc_audit_part_t *parts,
                             size_t n_parts)
{
    return audit_append_key(st, actor, kind, id, state, t_s, parts, n_parts, NULL);
}

/* A party change, in a transaction of its own (the CLI calls these outside any). */
static dc_err_t audit_party(dc_store_t *st, const char *name, const char *state)
{
    sqlite3_stmt *s = prep(st, "SELECT id FROM parties WHERE name = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(st, s);
    if (!id) return DC_ERR_NOT_FOUND;
    char sid[24], view[DC_PARTY_NAME_MAX + 16];
    snprintf(sid, sizeof(sid), "%lld", (long long)id);
    snprintf(view, sizeof(view), "{\"name\":\"%s\"}", name);
    dc_audit_part_t part = {id, view};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return audit_append(st, 0, "party", sid, state, (double)ts.tv_sec + ts.tv_nsec * 1e-9, &part,
                        1);
}

/* ---- parties ---- */

static dc_err_t sq_party_add(dc_store_t *st, const char *name, double now_s,
                             char token_out[DC_TOKEN_MAX], dc_party_t *out)
{
    if (!dc_party_name_valid(name)) return DC_ERR_INVALID;
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES];
    dc_store_new_token(token_out, hash);
    sqlite3_stmt *s =
        prep(st, "INSERT INTO parties(name, token_hash, disabled, created_s) VALUES(?,?,0,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 2, hash, sizeof(hash), SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 3, now_s);
    dc_err_t e = sq_begin(st);
    if (e == DC_OK)
        e = run(st, s, "add party");
    else
        done(st, s);
    int64_t id = sqlite3_last_insert_rowid(SQ(st)->db); /* before the audit entry's insert */
    if (e == DC_OK) e = audit_party(st, name, "created");
    e = finish_tx(st, e);
    if (e == DC_OK && out) {
        memset(out, 0, sizeof(*out));
        out->id = id;
        snprintf(out->name, sizeof(out->name), "%s", name);
        out->created_s = now_s;
    }
    if (e != DC_OK) sodium_memzero(token_out, DC_TOKEN_MAX);
    return e;
}

/* Runs the prepared update s of party name and its audit entry (state) in one transaction;
 * DC_ERR_NOT_FOUND when no party has that name. */
static dc_err_t update_party(dc_store_t *st, sqlite3_stmt *s, const char *name, const char *state)
{
    dc_err_t e = sq_begin(st);
    if (e == DC_OK)
        e = run(st, s, "update party");
    else
        done(st, s);
    if (e == DC_OK && sqlite3_changes(SQ(st)->db) == 0) e = DC_ERR_NOT_FOUND;
    if (e == DC_OK) e = audit_party(st, name, state);
    return finish_tx(st, e);
}

static dc_err_t sq_party_rotate_token(dc_store_t *st, const char *name,
                                      char token_out[DC_TOKEN_MAX])
{
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES];
    dc_store_new_token(token_out, hash);
    sqlite3_stmt *s = prep(st, "UPDATE parties SET token_hash = ? WHERE name = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_blob(s, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    dc_err_t e = update_party(st, s, name, "token_rotated");
    if (e != DC_OK) sodium_memzero(token_out, DC_TOKEN_MAX);
    return e;
}

/* Sets one flag column of party name (sql: "UPDATE parties SET <flag> = ? WHERE name = ?", a
 * literal) with its audit entry. */
static dc_err_t set_party_flag(dc_store_t *st, const char *sql, const char *name, bool on,
                               const char *state)
{
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int(s, 1, on);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    return update_party(st, s, name, state);
}

static dc_err_t sq_party_set_disabled(dc_store_t *st, const char *name, bool disabled)
{
    return set_party_flag(st, "UPDATE parties SET disabled = ? WHERE name = ?", name, disabled,
                          disabled ? "disabled" : "enabled");
}

static dc_err_t sq_party_set_signatures(dc_store_t *st, const char *name, bool required)
{
    return set_party_flag(st, "UPDATE parties SET require_signatures = ? WHERE name = ?", name,
                          required, required ? "signatures_required" : "signatures_optional");
}

/* Columns 0-4 of the party queries: id, name, disabled, created_s, require_signatures. */
static void party_from_row(sqlite3_stmt *s, dc_party_t *p)
{
    memset(p, 0, sizeof(*p));
    p->id = sqlite3_column_int64(s, 0);
    snprintf(p->name, sizeof(p->name), "%s", (const char *)sqlite3_column_text(s, 1));
    p->disabled = sqlite3_column_int(s, 2) != 0;
    p->created_s = sqlite3_column_double(s, 3);
    p->require_signatures = sqlite3_column_int(s, 4) != 0;
}

static dc_err_t sq_party_list(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx)
{
    sqlite3_stmt *s = prep(st, "SELECT id, name, disabled, created_s, require_signatures "
                               "FROM parties ORDER BY id");
    if (!s) return DC_ERR_IO;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        dc_party_t p;
        party_from_row(s, &p);
        fn(&p, ctx);
    }
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "list parties");
}

static dc_err_t sq_party_by_token(dc_store_t *st, const char *token, dc_party_t *out)
{
    uint8_t hash[DC_STORE_TOKEN_HASH_BYTES];
    if (!dc_store_token_hash(token, hash)) return DC_ERR_NOT_FOUND;
    sqlite3_stmt *s = prep(st, "SELECT id, name, disabled, created_s, require_signatures, "
                               "token_hash, public_key FROM parties WHERE token_hash = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_blob(s, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
    dc_err_t e = DC_ERR_NOT_FOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        /* The lookup went by hash; compare again in constant time so nothing downstream of the
         * index depends on how much of the hash matched. */
        const void *stored = sqlite3_column_blob(s, 5);
        if (sqlite3_column_bytes(s, 5) == (int)sizeof(hash) &&
            sodium_memcmp(stored, hash, sizeof(hash)) == 0) {
            party_from_row(s, out);
            if (sqlite3_column_bytes(s, 6) == (int)sizeof(out->public_key)) {
                memcpy(out->public_key, sqlite3_column_blob(s, 6), sizeof(out->public_key));
                out->has_key = true;
            }
            e = out->disabled ? DC_ERR_NOT_FOUND : DC_OK;
        }
    }
    done(st, s);
    return e;
}

/* ---- documents ---- */

static dc_err_t sq_doc_put(dc_store_t *st, const dc_doc_t *doc)
{
    sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO docs(kind, id, party_a, party_b, view_a, "
                               "view_b, state, updated_s) VALUES(?,?,?,?,?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, doc->kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, doc->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, doc->party_a);
    sqlite3_bind_int64(s, 4, doc->party_b);
    sqlite3_bind_text(s, 5, doc->view_a, -1, SQLITE_TRANSIENT);
    if (doc->view_b)
        sqlite3_bind_text(s, 6, doc->view_b, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_text(s, 7, doc->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 8, doc->updated_s);
    dc_err_t e = run(st, s, "put document");
    dc_audit_part_t parts[2] = {{doc->party_a, doc->view_a}, {doc->party_b, doc->view_b}};
    if (e == DC_OK)
        e = audit_append(st, doc->actor, doc->kind, doc->id, doc->state, doc->updated_s, parts,
                         doc->party_b && doc->view_b ? 2 : 1);
    return e;
}

static dc_err_t sq_doc_each(dc_store_t *st, const char *kind,
                            void (*fn)(const dc_doc_t *doc, void *ctx), void *ctx)
{
    sqlite3_stmt *s = prep(st, "SELECT kind, id, party_a, party_b, view_a, view_b, state, "
                               "updated_s FROM docs WHERE kind = ? ORDER BY id");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        dc_doc_t d = {
            .kind = (const char *)sqlite3_column_text(s, 0),
            .id = (const char *)sqlite3_column_text(s, 1),
            .party_a = sqlite3_column_int64(s, 2),
            .party_b = sqlite3_column_int64(s, 3),
            .view_a = (const char *)sqlite3_column_text(s, 4),
            .view_b = (const char *)sqlite3_column_text(s, 5),
            .state = (const char *)sqlite3_column_text(s, 6),
            .updated_s = sqlite3_column_double(s, 7),
        };
        fn(&d, ctx);
    }
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read documents");
}

static char *dup_column(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? strdup(t) : NULL;
}

static dc_err_t sq_doc_fetch(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = prep(st, "SELECT kind, id, party_a, party_b, view_a, view_b, state, "
                               "updated_s FROM docs WHERE kind = ? AND id = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
    dc_err_t e = DC_ERR_NOT_FOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        out->kind = dup_column(s, 0);
        out->id = dup_column(s, 1);
        out->party_a = sqlite3_column_int64(s, 2);
        out->party_b = sqlite3_column_int64(s, 3);
        out->view_a = dup_column(s, 4);
        out->view_b = dup_column(s, 5);
        out->state = dup_column(s, 6);
        out->updated_s = sqlite3_column_double(s, 7);
        e = out->kind && out->id && out->view_a && out->state ? DC_OK : DC_ERR_NOMEM;
        if (e != DC_OK) dc_doc_release(out);
    }
    done(st, s);
    return e;
}

static dc_err_t sq_doc_get(dc_store_t *st, const char *kind, const char *id, int64_t party,
                           char **view, char **state)
{
    sqlite3_stmt *s = prep(st, "SELECT CASE WHEN party_a = ?3 THEN view_a ELSE view_b END, state "
                               "FROM docs WHERE kind = ?1 AND id = ?2 AND "
                               "(party_a = ?3 OR (party_b = ?3 AND view_b IS NOT NULL))");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, party);
    dc_err_t e = DC_ERR_NOT_FOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *view = strdup((const char *)sqlite3_column_text(s, 0));
        *state = strdup((const char *)sqlite3_column_text(s, 1));
        e = *view && *state ? DC_OK : DC_ERR_NOMEM;
        if (e != DC_OK) free(*view), free(*state);
    }
    done(st, s);
    return e;
}

static dc_err_t sq_doc_list(dc_store_t *st, const char *kind, int64_t party, const char *state,
                            void (*fn)(const char *id, const char *view, void *ctx), void *ctx)
{
    sqlite3_stmt *s = prep(st, "SELECT id, CASE WHEN party_a = ?2 THEN view_a ELSE view_b END "
                               "FROM docs WHERE kind = ?1 AND "
                               "(party_a = ?2 OR (party_b = ?2 AND view_b IS NOT NULL)) AND "
                               "(?3 IS NULL OR state = ?3) ORDER BY id");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, party);
    if (state)
        sqlite3_bind_text(s, 3, state, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 3);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), ctx);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "list documents");
}

/* ---- events ---- */

static dc_err_t sq_event_append(dc_store_t *st, int64_t party, const char *type, const char *data,
                                double t_s, int64_t *seq_out)
{
    sqlite3_stmt *s = prep(st, "INSERT INTO events(party, type, data, t_s) VALUES(?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_text(s, 2, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 4, t_s);
    dc_err_t e = run(st, s, "append event");
    if (e == DC_OK && seq_out) *seq_out = sqlite3_last_insert_rowid(SQ(st)->db);
    return e;
}

static int64_t sq_event_last_seq(dc_store_t *st)
{
    sqlite3_stmt *s = prep(st, "SELECT COALESCE(MAX(seq), 0) FROM events");
    if (!s) return 0;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(st, s);
    return v;
}

static dc_err_t
sq_event_since(dc_store_t *st, int64_t party, int64_t after, int64_t upto, size_t max,
               void (*fn)(int64_t seq, const char *type, const char *data, double t_s, void *ctx),
               void *ctx, int64_t *last)
{
    *last = after;
    sqlite3_stmt *s = prep(st, "SELECT seq, type, data, t_s FROM events WHERE party = ? AND "
                               "seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, upto);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *last = sqlite3_column_int64(s, 0);
        fn(*last, (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
           sqlite3_column_double(s, 3), ctx);
    }
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read events");
}

/* The lowest seq of party's events in [t0_s, t1_s] with seq <= upto such that at most max are at
 * or after it (0 when all fit): where a bounded read of the newest starts. */
static dc_err_t newest_events_from(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                   int64_t upto, size_t max, int64_t *from_seq)
{
    *from_seq = 0;
    sqlite3_stmt *s = prep(st, "SELECT seq FROM events WHERE party = ? AND t_s >= ? AND t_s <= ? "
                               "AND seq <= ? ORDER BY seq DESC LIMIT 1 OFFSET ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_double(s, 2, t0_s);
    sqlite3_bind_double(s, 3, t1_s);
    sqlite3_bind_int64(s, 4, upto);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)max);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *from_seq = sqlite3_column_int64(s, 0) + 1;
    done(st, s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : fail(st, "read events");
}

static dc_err_t
sq_event_between(dc_store_t *st, int64_t party, double t0_s, double t1_s, int64_t upto, size_t max,
                 void (*fn)(int64_t seq, const char *type, const char *data, double t_s, void *ctx),
                 void *ctx, bool *more)
{
    int64_t from_seq;
    dc_err_t e = newest_events_from(st, party, t0_s, t1_s, upto, max, &from_seq);
    if (e != DC_OK) return e;
    *more = from_seq > 0;
    sqlite3_stmt *s = prep(st, "SELECT seq, type, data, t_s FROM events WHERE party = ? AND "
                               "t_s >= ? AND t_s <= ? AND seq >= ? AND seq <= ? ORDER BY seq "
                               "LIMIT ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_double(s, 2, t0_s);
    sqlite3_bind_double(s, 3, t1_s);
    sqlite3_bind_int64(s, 4, from_seq);
    sqlite3_bind_int64(s, 5, upto);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
           (const char *)sqlite3_column_text(s, 2), sqlite3_column_double(s, 3), ctx);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read events");
}

/* ---- tracks ---- */

static dc_err_t sq_track_put(dc_store_t *st, int64_t party, const char *id, const char *state,
                             double t_s)
{
    /* An upsert updates the row in place; INSERT OR REPLACE deleted it from the table and its
     * id index and inserted it again (20% of ingest at 100k tracks). */
    sqlite3_stmt *s = prep(st, "INSERT INTO tracks(id, party, state, t_s) VALUES(?,?,?,?) "
                               "ON CONFLICT(id) DO UPDATE SET party = excluded.party, "
                               "state = excluded.state, t_s = excluded.t_s");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, party);
    sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 4, t_s);
    int rc = sqlite3_step(s);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "put track");
}

static dc_err_t
sq_track_each(dc_store_t *st,
              void (*fn)(int64_t party, const char *id, const char *state, void *ctx), void *ctx)
{
    sqlite3_stmt *s = prep(st, "SELECT party, id, state FROM tracks ORDER BY id");
    if (!s) return DC_ERR_IO;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
           (const char *)sqlite3_column_text(s, 2), ctx);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read tracks");
}

/* ---- track history ---- */

static dc_err_t sq_history_put(dc_store_t *st, int64_t party, const dc_track_state_t *tr)
{
    sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO track_history(party, t_s, id, lat, lon, "
                               "alt_ft, trk_deg, gs_kt) VALUES(?,?,?,?,?,?,?,?)");
    if (!s) return DC_ERR_IO;
    const char *slash = strchr(tr->id, '/');
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_double(s, 2, tr->t_s);
    sqlite3_bind_text(s, 3, slash ? slash + 1 : tr->id, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 4, tr->lat_deg);
    sqlite3_bind_double(s, 5, tr->lon_deg);
    sqlite3_bind_double(s, 6, tr->alt_ft);
    sqlite3_bind_double(s, 7, tr->trk_deg);
    sqlite3_bind_double(s, 8, tr->gs_kt);
    int rc = sqlite3_step(s);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "put track history");
}

static dc_err_t
sq_history_between(dc_store_t *st, int64_t party, double t0_s, double t1_s, size_t max,
                   void (*fn)(const char *track_id, double t_s, double lat_deg, double lon_deg,
                              double alt_ft, double trk_deg, double gs_kt, void *ctx),
                   void *ctx, bool *more)
{
    /* More than max: keep the newest, the part of the window a viewer wants most. */
    *more = false;
    sqlite3_stmt *s = prep(st, "SELECT t_s FROM track_history WHERE party = ? AND t_s >= ? AND "
                               "t_s <= ? ORDER BY t_s DESC LIMIT 1 OFFSET ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_double(s, 2, t0_s);
    sqlite3_bind_double(s, 3, t1_s);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *more = true;
        t0_s = nextafter(sqlite3_column_double(s, 0), INFINITY);
    }
    done(st, s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(st, "read track history");
    s = prep(st, "SELECT id, t_s, lat, lon, alt_ft, trk_deg, gs_kt FROM track_history WHERE "
                 "party = ? AND t_s >= ? AND t_s <= ? ORDER BY t_s LIMIT ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_double(s, 2, t0_s);
    sqlite3_bind_double(s, 3, t1_s);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_double(s, 1),
           sqlite3_column_double(s, 2), sqlite3_column_double(s, 3), sqlite3_column_double(s, 4),
           sqlite3_column_double(s, 5), sqlite3_column_double(s, 6), ctx);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read track history");
}

static dc_err_t sq_history_oldest(dc_store_t *st, double *t_s)
{
    /* Each party's oldest is the first of its primary key range. */
    sqlite3_stmt *s = prep(st, "SELECT MIN(m) FROM (SELECT (SELECT MIN(t_s) FROM track_history h "
                               "WHERE h.party = p.id) AS m FROM parties p)");
    if (!s) return DC_ERR_IO;
    int rc = sqlite3_step(s);
    bool found = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    if (found) *t_s = sqlite3_column_double(s, 0);
    done(st, s);
    if (rc != SQLITE_ROW) return fail(st, "read track history");
    return found ? DC_OK : DC_ERR_NOT_FOUND;
}

static dc_err_t sq_history_prune(dc_store_t *st, double before_s, int64_t *deleted)
{
    /* Per party, so that each delete is a range of the primary key. */
    sqlite3_stmt *s = prep(st, "DELETE FROM track_history WHERE party IN (SELECT id FROM "
                               "parties) AND t_s < ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_double(s, 1, before_s);
    int rc = sqlite3_step(s);
    if (deleted) *deleted = rc == SQLITE_DONE ? sqlite3_changes(SQ(st)->db) : 0;
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "prune track history");
}

/* ---- idempotency ---- */

static dc_err_t sq_idem_get(dc_store_t *st, int64_t party, const char *key, int *status,
                            char **body)
{
    sqlite3_stmt *s = prep(st, "SELECT status, body FROM idempotency WHERE party = ? AND key = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    dc_err_t e = DC_ERR_NOT_FOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *status = sqlite3_column_int(s, 0);
        *body = strdup((const char *)sqlite3_column_text(s, 1));
        e = *body ? DC_OK : DC_ERR_NOMEM;
    }
    done(st, s);
    return e;
}

static dc_err_t sq_idem_put(dc_store_t *st, int64_t party, const char *key, int status,
                            const char *body, double t_s)
{
    sqlite3_stmt *s =
        prep(st, "INSERT INTO idempotency(party, key, status, body, t_s) VALUES(?,?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, status);
    sqlite3_bind_text(s, 4, body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 5, t_s);
    return run(st, s, "store idempotency key");
}

static dc_err_t sq_party_set_key(dc_store_t *st, int64_t party, const uint8_t public_key[32])
{
    /* A key identifies one party: one held by another is refused, or that party's signed
     * requests could be replayed as this one's. Checked inside the caller's transaction
     * (BEGIN IMMEDIATE), so no other writer can register the same key in between. */
    sqlite3_stmt *s = prep(st, "SELECT id FROM parties WHERE public_key = ? AND id != ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_blob(s, 1, public_key, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, party);
    int rc = sqlite3_step(s);
    done(st, s);
    if (rc == SQLITE_ROW) return DC_ERR_CONFLICT;
    if (rc != SQLITE_DONE) return fail(st, "find key");
    s = prep(st, "UPDATE parties SET public_key = ? WHERE id = ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_blob(s, 1, public_key, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, party);
    dc_err_t e = run(st, s, "set party key");
    if (e == DC_OK && sqlite3_changes(SQ(st)->db) == 0) return DC_ERR_NOT_FOUND;
    if (e != DC_OK) return e;
    /* The key goes into the entry's body itself: public, and what a verifier of the party's
     * signed requests needs, from the log alone. */
    char sid[24], key64[64], view[128];
    snprintf(sid, sizeof(sid), "%lld", (long long)party);
    sodium_bin2base64(key64, sizeof(key64), public_key, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(view, sizeof(view), "{\"public_key\":\"%s\"}", key64);
    dc_audit_part_t part = {party, view};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return audit_append_key(st, party, "party", sid, "key_registered",
                            (double)ts.tv_sec + ts.tv_nsec * 1e-9, &part, 1, key64);
}

/* ---- the audit trail: reading ---- */

static dc_err_t sq_audit_key(dc_store_t *st, uint8_t pk[DC_AUDIT_PK_BYTES],
                             uint8_t sk[DC_AUDIT_SK_BYTES])
{
    dc_err_t e = sq_begin(st);
    if (e != DC_OK) return e;
    sqlite3_stmt *s = prep(st, "SELECT public, secret FROM keys WHERE name = 'audit'");
    if (!s) return finish_tx(st, DC_ERR_IO);
    bool found = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == DC_AUDIT_PK_BYTES &&
                 sqlite3_column_bytes(s, 1) == DC_AUDIT_SK_BYTES;
    if (found) {
        memcpy(pk, sqlite3_column_blob(s, 0), DC_AUDIT_PK_BYTES);
        memcpy(sk, sqlite3_column_blob(s, 1), DC_AUDIT_SK_BYTES);
    }
    done(st, s);
    if (!found) {
        /* First start: the service's key, created once and kept with the log. */
        e = dc_audit_keypair(pk, sk);
        s = e == DC_OK ? prep(st, "INSERT INTO keys(name, public, secret) VALUES('audit',?,?)")
                       : NULL;
        if (!s) return finish_tx(st, DC_ERR_IO);
        sqlite3_bind_blob(s, 1, pk, DC_AUDIT_PK_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 2, sk, DC_AUDIT_SK_BYTES, SQLITE_TRANSIENT);
        e = run(st, s, "store the audit key");
    }
    return finish_tx(st, e);
}

static dc_err_t sq_audit_head(dc_store_t *st, int64_t *seq, uint8_t hash[DC_AUDIT_HASH_BYTES])
{
    *seq = 0;
    memset(hash, 0, DC_AUDIT_HASH_BYTES);
    sqlite3_stmt *s = prep(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!s) return DC_ERR_IO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 1) == DC_AUDIT_HASH_BYTES) {
        *seq = sqlite3_column_int64(s, 0);
        memcpy(hash, sqlite3_column_blob(s, 1), DC_AUDIT_HASH_BYTES);
    }
    done(st, s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : fail(st, "read audit head");
}

/* Whether an entry's body names party as its actor (bodies start {"actor":N,...). */
static bool actor_is(const char *body, int64_t party)
{
    char prefix[48];
    int n = snprintf(prefix, sizeof(prefix), "{\"actor\":%lld,", (long long)party);
    return strncmp(body, prefix, (size_t)n) == 0;
}

static dc_err_t sq_audit_each(dc_store_t *st, int64_t after, size_t max, int64_t party,
                              void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx)
{
    /* The caller's own view comes along; the body only where the caller is a part of the
     * entry (party 0: everything, for the administrator's export). */
    sqlite3_stmt *s = prep(st, "SELECT a.seq, a.body, a.body_hash, a.hash, v.view, "
                               "(SELECT COUNT(*) FROM audit_views w WHERE w.seq = a.seq AND "
                               "w.party = ?1), r.body FROM audit a LEFT JOIN audit_views v ON "
                               "v.seq = a.seq AND v.party = ?1 LEFT JOIN audit_requests r ON "
                               "r.seq = a.seq WHERE a.seq > ?2 ORDER BY a.seq LIMIT ?3");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 2) != DC_AUDIT_HASH_BYTES ||
            sqlite3_column_bytes(s, 3) != DC_AUDIT_HASH_BYTES)
            continue; /* a damaged row: the verifier reports the gap */
        dc_audit_row_t row = {0};
        row.seq = sqlite3_column_int64(s, 0);
        bool part = party == 0 || sqlite3_column_int(s, 5) > 0;
        row.body = part ? (const char *)sqlite3_column_text(s, 1) : NULL;
        memcpy(row.body_hash, sqlite3_column_blob(s, 2), DC_AUDIT_HASH_BYTES);
        memcpy(row.hash, sqlite3_column_blob(s, 3), DC_AUDIT_HASH_BYTES);
        row.view = party ? (const char *)sqlite3_column_text(s, 4) : NULL;
        /* The signed request behind the entry: the administrator's, or the signer's own (its
         * view in the entry is then present, and the body names it as actor). */
        const char *req = (const char *)sqlite3_column_text(s, 6);
        if (req && (party == 0 || (row.body && actor_is(row.body, party)))) row.request = req;
        fn(&row, ctx);
    }
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read audit");
}

/* ---- several processes (none here) ---- */

static dc_err_t sq_changes(dc_store_t *st, int64_t after, size_t max,
                           void (*fn)(int64_t seq, const char *kind, const char *id, void *ctx),
                           void *ctx, int64_t *last)
{
    *last = after;
    sqlite3_stmt *s = prep(st, "SELECT seq, kind, doc_id FROM audit WHERE seq > ? AND kind IS "
                               "NOT NULL ORDER BY seq LIMIT ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *last = sqlite3_column_int64(s, 0);
        fn(*last, (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
           ctx);
    }
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "read changes");
}

static dc_err_t sq_tracks_since(dc_store_t *st, int64_t after, size_t max,
                                void (*fn)(int64_t party, const char *id, const char *state,
                                           void *ctx),
                                void *ctx, int64_t *last)
{
    (void)st, (void)max, (void)fn, (void)ctx;
    *last = after; /* one process serves the store: nothing changes under it */
    return DC_OK;
}

static dc_err_t sq_lead(dc_store_t *st, const char *node, double lease_s, bool *leader)
{
    (void)st, (void)node, (void)lease_s;
    *leader = true; /* the one process (dc_store_claim) */
    return DC_OK;
}

static dc_err_t sq_heads(dc_store_t *st, int64_t *changes, int64_t *tracks)
{
    uint8_t hash[DC_AUDIT_HASH_BYTES];
    *tracks = 0;
    return sq_audit_head(st, changes, hash);
}

const dc_store_backend_t dc_store_sqlite_backend = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .defer_sync = sq_defer_sync,
    .flush = sq_flush,
    .sync = sq_sync,
    .party_add = sq_party_add,
    .party_rotate_token = sq_party_rotate_token,
    .party_set_disabled = sq_party_set_disabled,
    .party_set_signatures = sq_party_set_signatures,
    .party_list = sq_party_list,
    .party_by_token = sq_party_by_token,
    .doc_put = sq_doc_put,
    .doc_each = sq_doc_each,
    .doc_fetch = sq_doc_fetch,
    .doc_get = sq_doc_get,
    .doc_list = sq_doc_list,
    .event_append = sq_event_append,
    .event_last_seq = sq_event_last_seq,
    .event_since = sq_event_since,
    .event_between = sq_event_between,
    .track_put = sq_track_put,
    .track_each = sq_track_each,
    .history_put = sq_history_put,
    .history_between = sq_history_between,
    .history_oldest = sq_history_oldest,
    .history_prune = sq_history_prune,
    .idem_get = sq_idem_get,
    .idem_put = sq_idem_put,
    .party_set_key = sq_party_set_key,
    .audit_key = sq_audit_key,
    .audit_head = sq_audit_head,
    .audit_each = sq_audit_each,
    .changes = sq_changes,
    .tracks_since = sq_tracks_since,
    .lead = sq_lead,
    .heads = sq_heads,
};
