/* The service's durable store on SQLite: schema migrations, parties and tokens, documents,
 * per-party events, idempotency keys. See include/deconflict/store.h. */
#include "deconflict/store.h"

#include "deconflict/audit.h"
#include "deconflict/timefmt.h"
#include "common/numfmt.h"

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

struct dc_store {
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE_MAX];
    size_t n_cached;
    int wal_fd; /* deferred sync: the WAL, synced by dc_store_sync(); else -1 */
    /* The signed request being served (dc_store_set_request): entries its party causes carry
     * its hash and signature, and keep its body. */
    struct {
        int64_t party;
        const char *body;
        size_t len;
        char sig64[96];
    } req;
    char err[256];
    char notice[600]; /* what opening tightened (dc_store_notice) */
};

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
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == DC_STORE_SCHEMA_VERSION, "one migration per schema version");

static dc_err_t fail(dc_store_t *st, const char *what)
{
    snprintf(st->err, sizeof(st->err), "%s: %s", what, sqlite3_errmsg(st->db));
    return DC_ERR_IO;
}

const char *dc_store_last_error(dc_store_t *st)
{
    return st->err;
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
    int v = user_version(st->db);
    if (v < 0 || v > (int)N_MIGRATIONS) {
        snprintf(err, len, "store schema version %d is not one this build knows (up to %zu)", v,
                 N_MIGRATIONS);
        return false;
    }
    for (; v < (int)N_MIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", v + 1);
        char *msg = NULL;
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE;", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, "COMMIT;", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, len, "migration to schema %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
            return false;
        }
    }
    return true;
}

/* Appends a sentence to the store's notices (what was tightened on open). */
static void notice(dc_store_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(dc_store_t *st, const char *fmt, ...)
{
    size_t used = strlen(st->notice);
    if (used + 2 >= sizeof(st->notice)) return;
    if (used) st->notice[used++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->notice + used, sizeof(st->notice) - used, fmt, ap);
    va_end(ap);
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
        notice(st, "data directory %.200s was open to other users (mode %04o); tightened to %04o.",
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
        notice(st, "%.200s was readable by other users (mode %04o); tightened to 0600.", path,
               (unsigned)(sb.st_mode & 07777));
    }
    return true;
}

const char *dc_store_notice(const dc_store_t *st)
{
    return st->notice;
}

dc_store_t *dc_store_open(const char *dir, char *err, size_t len)
{
    if (sodium_init() < 0) {
        snprintf(err, len, "libsodium failed to initialise");
        return NULL;
    }
    dc_store_t *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    st->wal_fd = -1;
    char path[4096], side[4200];
    snprintf(path, sizeof(path), "%s/deconflict.sqlite3", dir);
    bool files_ok = check_dir(st, dir, err, len) && secure_file(st, path, true, err, len);
    snprintf(side, sizeof(side), "%s-wal", path);
    files_ok = files_ok && secure_file(st, side, false, err, len);
    snprintf(side, sizeof(side), "%s-shm", path);
    files_ok = files_ok && secure_file(st, side, false, err, len);
    if (!files_ok) {
        free(st);
        return NULL;
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, len, "cannot open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "?");
        dc_store_close(st);
        return NULL;
    }
    /* WAL: readers do not block the writer. synchronous=FULL: a commit is on disk when it
     * returns, which is what a 2xx promises. busy_timeout: a CLI admin command and the daemon
     * may share the file. */
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, len, "cannot configure %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        dc_store_close(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!migrate(st, err, len)) {
        dc_store_close(st);
        return NULL;
    }
    return st;
}

void dc_store_close(dc_store_t *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_cached; i++) sqlite3_finalize(st->cache[i].stmt);
    sqlite3_close(st->db);
    if (st->wal_fd >= 0) close(st->wal_fd);
    free(st);
}

int dc_store_schema_version(dc_store_t *st)
{
    return user_version(st->db);
}

/* The prepared statement for sql (a string literal): the cached one when it is idle, else a
 * new one, cached while there is room. Reporting failure in st->err. Give it back with done(). */
static sqlite3_stmt *prep(dc_store_t *st, const char *sql)
{
    size_t i = 0;
    while (i < st->n_cached && st->cache[i].sql != sql) i++;
    if (i < st->n_cached && !sqlite3_stmt_busy(st->cache[i].stmt)) return st->cache[i].stmt;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        fail(st, "prepare");
        return NULL;
    }
    if (i == st->n_cached && i < STMT_CACHE_MAX) {
        st->cache[i].sql = sql, st->cache[i].stmt = s;
        st->n_cached++;
    }
    return s;
}

/* Gives back a statement from prep(): reset for the next use if cached, else finalized. */
static void done(dc_store_t *st, sqlite3_stmt *s)
{
    for (size_t i = 0; i < st->n_cached; i++)
        if (st->cache[i].stmt == s) {
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

dc_err_t dc_store_begin(dc_store_t *st)
{
    return exec_cached(st, "BEGIN IMMEDIATE", "begin");
}

dc_err_t dc_store_commit(dc_store_t *st)
{
    return exec_cached(st, "COMMIT", "commit");
}

void dc_store_rollback(dc_store_t *st)
{
    exec_cached(st, "ROLLBACK", "rollback");
}

dc_err_t dc_store_defer_sync(dc_store_t *st)
{
    /* The WAL is kept, not deleted at close, so the descriptor below always names the file
     * SQLite writes to; fsync acts on the file, whichever descriptor asks. */
    int persist = 1;
    sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if (exec_cached(st, "PRAGMA synchronous=NORMAL", "set synchronous") != DC_OK) return DC_ERR_IO;
    char path[4200];
    snprintf(path, sizeof(path), "%s-wal", sqlite3_db_filename(st->db, "main"));
    st->wal_fd = open(path, O_RDWR | O_CLOEXEC);
    if (st->wal_fd < 0) {
        snprintf(st->err, sizeof(st->err), "cannot open %.180s: %s", path, strerror(errno));
        return DC_ERR_IO;
    }
    return DC_OK;
}

dc_err_t dc_store_sync(dc_store_t *st, char *err, size_t len)
{
    if (st->wal_fd < 0) return DC_OK; /* commits sync themselves */
    if (fdatasync(st->wal_fd) != 0) {
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

/* Appends to b (cap bytes) at *len; once it does not fit, *len becomes cap and stays there, so
 * one check at the end tells whether the whole text is there. */
static void appendf(char *b, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *b, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b + *len, cap - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 || (size_t)n >= cap - *len ? cap : *len + (size_t)n;
}

/* Appends s to b as a JSON string (escaping what JSON requires), as appendf does. */
static void json_string_to(char *b, size_t cap, size_t *len, const char *s)
{
    appendf(b, cap, len, "\"");
    for (; *s && *len < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            appendf(b, cap, len, "\\%c", c);
        else if (c < 0x20)
            appendf(b, cap, len, "\\u%04x", c);
        else
            appendf(b, cap, len, "%c", c);
    }
    appendf(b, cap, len, "\"");
}

typedef struct audit_part {
    int64_t party;
    const char *view;
} audit_part_t;

/* Appends one entry; public_key (base64) is set only for a party's key registration. */
static dc_err_t audit_append_key(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                                 const char *state, double t_s, const audit_part_t *parts,
                                 size_t n_parts, const char *public_key)
{
    if (strlen(kind) + strlen(id) + strlen(state) > 300) {
        snprintf(st->err, sizeof(st->err), "audit entry: names too long");
        return DC_ERR_LIMIT;
    }
    char t[DC_TIME_RFC3339_MAX] = "";
    dc_time_format_rfc3339(t_s, t, sizeof(t));
    char body[1024];
    size_t len = 0;
    appendf(body, sizeof(body), &len, "{\"actor\":%lld,\"id\":", (long long)actor);
    json_string_to(body, sizeof(body), &len, id);
    appendf(body, sizeof(body), &len, ",\"kind\":");
    json_string_to(body, sizeof(body), &len, kind);
    appendf(body, sizeof(body), &len, ",\"parts\":{");
    /* Parts in ascending party id (numerically): one order for a given set of parties. */
    for (size_t k = 0; k < n_parts; k++) {
        size_t i = n_parts == 2 && parts[1].party < parts[0].party ? 1 - k : k;
        uint8_t h[DC_AUDIT_HASH_BYTES];
        char hex[2 * DC_AUDIT_HASH_BYTES + 1];
        dc_audit_hash(parts[i].view, strlen(parts[i].view), h);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        appendf(body, sizeof(body), &len, "%s\"%lld\":\"%s\"", k ? "," : "",
                (long long)parts[i].party, hex);
    }
    appendf(body, sizeof(body), &len, "}");
    if (public_key) appendf(body, sizeof(body), &len, ",\"public_key\":\"%s\"", public_key);
    bool signed_req = st->req.body && actor && actor == st->req.party;
    if (signed_req) {
        uint8_t rh[DC_AUDIT_HASH_BYTES];
        char rhex[2 * DC_AUDIT_HASH_BYTES + 1];
        dc_audit_hash(st->req.body, st->req.len, rh);
        sodium_bin2hex(rhex, sizeof(rhex), rh, sizeof(rh));
        appendf(body, sizeof(body), &len, ",\"request\":{\"hash\":\"%s\",\"signature\":\"%s\"}",
                rhex, st->req.sig64);
    }
    appendf(body, sizeof(body), &len, ",\"state\":");
    json_string_to(body, sizeof(body), &len, state);
    appendf(body, sizeof(body), &len, ",\"t\":\"%s\"}", t);
    if (len >= sizeof(body)) {
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
    s = prep(st, "INSERT INTO audit(seq, body, body_hash, hash) VALUES(?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, body, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 3, body_hash, sizeof(body_hash), SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 4, hash, sizeof(hash), SQLITE_TRANSIENT);
    dc_err_t e = run(st, s, "append audit entry");
    if (e == DC_OK && signed_req) {
        s = prep(st, "INSERT INTO audit_requests(seq, body) VALUES(?,?)");
        if (!s) return DC_ERR_IO;
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_text(s, 2, st->req.body, (int)st->req.len, SQLITE_TRANSIENT);
        e = run(st, s, "append audit request");
    }
    for (size_t i = 0; i < n_parts && e == DC_OK; i++) {
        s = prep(st, "INSERT INTO audit_views(seq, party, view) VALUES(?,?,?)");
        if (!s) return DC_ERR_IO;
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_int64(s, 2, parts[i].party);
        sqlite3_bind_text(s, 3, parts[i].view, -1, SQLITE_TRANSIENT);
        e = run(st, s, "append audit view");
    }
    return e;
}

/* Commits when e is DC_OK, else rolls back; returns the outcome. */
static dc_err_t finish_tx(dc_store_t *st, dc_err_t e)
{
    if (e == DC_OK) return dc_store_commit(st);
    dc_store_rollback(st);
    return e;
}

static dc_err_t audit_append(dc_store_t *st, int64_t actor, const char *kind, const char *id,
                             const char *state, double t_s, const audit_part_t *parts,
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
    audit_part_t part = {id, view};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return audit_append(st, 0, "party", sid, state, (double)ts.tv_sec + ts.tv_nsec * 1e-9, &part,
                        1);
}

/* ---- parties ---- */

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

static void new_token(char out[DC_TOKEN_MAX], unsigned char hash[crypto_generichash_BYTES])
{
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, sizeof(TOKEN_PREFIX));
    sodium_bin2base64(out + strlen(TOKEN_PREFIX), DC_TOKEN_MAX - strlen(TOKEN_PREFIX), raw,
                      sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    crypto_generichash(hash, crypto_generichash_BYTES, (const unsigned char *)out, strlen(out),
                       NULL, 0);
}

dc_err_t dc_store_party_add(dc_store_t *st, const char *name, double now_s,
                            char token_out[DC_TOKEN_MAX], dc_party_t *out)
{
    if (!dc_party_name_valid(name)) return DC_ERR_INVALID;
    unsigned char hash[crypto_generichash_BYTES];
    new_token(token_out, hash);
    sqlite3_stmt *s =
        prep(st, "INSERT INTO parties(name, token_hash, disabled, created_s) VALUES(?,?,0,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 2, hash, sizeof(hash), SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 3, now_s);
    dc_err_t e = dc_store_begin(st);
    if (e == DC_OK)
        e = run(st, s, "add party");
    else
        done(st, s);
    int64_t id = sqlite3_last_insert_rowid(st->db); /* before the audit entry's insert */
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
    dc_err_t e = dc_store_begin(st);
    if (e == DC_OK)
        e = run(st, s, "update party");
    else
        done(st, s);
    if (e == DC_OK && sqlite3_changes(st->db) == 0) e = DC_ERR_NOT_FOUND;
    if (e == DC_OK) e = audit_party(st, name, state);
    return finish_tx(st, e);
}

dc_err_t dc_store_party_rotate_token(dc_store_t *st, const char *name, char token_out[DC_TOKEN_MAX])
{
    unsigned char hash[crypto_generichash_BYTES];
    new_token(token_out, hash);
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

dc_err_t dc_store_party_set_disabled(dc_store_t *st, const char *name, bool disabled)
{
    return set_party_flag(st, "UPDATE parties SET disabled = ? WHERE name = ?", name, disabled,
                          disabled ? "disabled" : "enabled");
}

dc_err_t dc_store_party_set_signatures(dc_store_t *st, const char *name, bool required)
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

dc_err_t dc_store_party_list(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx)
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

dc_err_t dc_store_party_by_token(dc_store_t *st, const char *token, dc_party_t *out)
{
    size_t n = strlen(token);
    if (n < sizeof(TOKEN_PREFIX) || n >= DC_TOKEN_MAX ||
        strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
        return DC_ERR_NOT_FOUND;
    unsigned char hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, n, NULL, 0);
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

dc_err_t dc_store_doc_put(dc_store_t *st, const dc_doc_t *doc)
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
    audit_part_t parts[2] = {{doc->party_a, doc->view_a}, {doc->party_b, doc->view_b}};
    if (e == DC_OK)
        e = audit_append(st, doc->actor, doc->kind, doc->id, doc->state, doc->updated_s, parts,
                         doc->party_b && doc->view_b ? 2 : 1);
    return e;
}

dc_err_t dc_store_doc_each(dc_store_t *st, const char *kind,
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

dc_err_t dc_store_doc_fetch(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out)
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

void dc_doc_release(dc_doc_t *doc)
{
    free((char *)doc->kind), free((char *)doc->id), free((char *)doc->view_a);
    free((char *)doc->view_b), free((char *)doc->state);
    memset(doc, 0, sizeof(*doc));
}

dc_err_t dc_store_doc_get(dc_store_t *st, const char *kind, const char *id, int64_t party,
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

dc_err_t dc_store_doc_list(dc_store_t *st, const char *kind, int64_t party, const char *state,
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

dc_err_t dc_store_event_append(dc_store_t *st, int64_t party, const char *type, const char *data,
                               double t_s, int64_t *seq_out)
{
    sqlite3_stmt *s = prep(st, "INSERT INTO events(party, type, data, t_s) VALUES(?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_int64(s, 1, party);
    sqlite3_bind_text(s, 2, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 4, t_s);
    dc_err_t e = run(st, s, "append event");
    if (e == DC_OK && seq_out) *seq_out = sqlite3_last_insert_rowid(st->db);
    return e;
}

int64_t dc_store_event_last_seq(dc_store_t *st)
{
    sqlite3_stmt *s = prep(st, "SELECT COALESCE(MAX(seq), 0) FROM events");
    if (!s) return 0;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(st, s);
    return v;
}

dc_err_t dc_store_event_since(dc_store_t *st, int64_t party, int64_t after, int64_t upto,
                              size_t max,
                              void (*fn)(int64_t seq, const char *type, const char *data,
                                         double t_s, void *ctx),
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

dc_err_t dc_store_event_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                int64_t upto, size_t max,
                                void (*fn)(int64_t seq, const char *type, const char *data,
                                           double t_s, void *ctx),
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

dc_err_t dc_store_track_put(dc_store_t *st, int64_t party, const char *id, const char *state,
                            double t_s)
{
    sqlite3_stmt *s =
        prep(st, "INSERT OR REPLACE INTO tracks(id, party, state, t_s) VALUES(?,?,?,?)");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, party);
    sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 4, t_s);
    int rc = sqlite3_step(s);
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "put track");
}

dc_err_t dc_store_track_put_report(dc_store_t *st, int64_t party, const dc_track_state_t *s,
                                   const char *callsign, const char *operation_id)
{
    char text[512], num[DC_FMT_FIXED_MAX];
    size_t len = 0;
    const char *slash = strchr(s->id, '/');
    appendf(text, sizeof(text), &len, "{\"track_id\":");
    json_string_to(text, sizeof(text), &len, slash ? slash + 1 : s->id);
    static const char *const keys[] = {"t", "lat", "lon", "alt_ft", "gs_kt", "trk_deg", "vs_fpm"};
    /* A track that rounds to 360.00 is written 0: [0, 360) is what reads it back. */
    double trk = round(s->trk_deg * 100) / 100 >= 360 ? 0 : s->trk_deg;
    const double vals[] = {s->t_s, s->lat_deg, s->lon_deg, s->alt_ft, s->gs_kt, trk, s->vs_fpm};
    static const int decimals[] = {3, 7, 7, 2, 2, 2, 2};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        dc_fmt_fixed(num, vals[i], decimals[i]);
        appendf(text, sizeof(text), &len, ",\"%s\":%s", keys[i], num);
    }
    if (callsign) {
        appendf(text, sizeof(text), &len, ",\"callsign\":");
        json_string_to(text, sizeof(text), &len, callsign);
    }
    if (operation_id) {
        appendf(text, sizeof(text), &len, ",\"operation_id\":");
        json_string_to(text, sizeof(text), &len, operation_id);
    }
    appendf(text, sizeof(text), &len, "}");
    if (len >= sizeof(text)) {
        snprintf(st->err, sizeof(st->err), "track report too long");
        return DC_ERR_LIMIT;
    }
    return dc_store_track_put(st, party, s->id, text, s->t_s);
}

dc_err_t dc_store_track_each(dc_store_t *st,
                             void (*fn)(int64_t party, const char *id, const char *state,
                                        void *ctx),
                             void *ctx)
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

dc_err_t dc_store_history_put(dc_store_t *st, int64_t party, const dc_track_state_t *tr)
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

dc_err_t dc_store_history_between(dc_store_t *st, int64_t party, double t0_s, double t1_s,
                                  size_t max,
                                  void (*fn)(const char *track_id, double t_s, double lat_deg,
                                             double lon_deg, double alt_ft, double trk_deg,
                                             double gs_kt, void *ctx),
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

dc_err_t dc_store_history_oldest(dc_store_t *st, double *t_s)
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

dc_err_t dc_store_history_prune(dc_store_t *st, double before_s, int64_t *deleted)
{
    /* Per party, so that each delete is a range of the primary key. */
    sqlite3_stmt *s = prep(st, "DELETE FROM track_history WHERE party IN (SELECT id FROM "
                               "parties) AND t_s < ?");
    if (!s) return DC_ERR_IO;
    sqlite3_bind_double(s, 1, before_s);
    int rc = sqlite3_step(s);
    if (deleted) *deleted = rc == SQLITE_DONE ? sqlite3_changes(st->db) : 0;
    done(st, s);
    return rc == SQLITE_DONE ? DC_OK : fail(st, "prune track history");
}

/* ---- idempotency ---- */

dc_err_t dc_store_idem_get(dc_store_t *st, int64_t party, const char *key, int *status, char **body)
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

dc_err_t dc_store_idem_put(dc_store_t *st, int64_t party, const char *key, int status,
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

dc_err_t dc_store_party_set_key(dc_store_t *st, int64_t party, const uint8_t public_key[32])
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
    if (e == DC_OK && sqlite3_changes(st->db) == 0) return DC_ERR_NOT_FOUND;
    if (e != DC_OK) return e;
    /* The key goes into the entry's body itself: public, and what a verifier of the party's
     * signed requests needs, from the log alone. */
    char sid[24], key64[64], view[128];
    snprintf(sid, sizeof(sid), "%lld", (long long)party);
    sodium_bin2base64(key64, sizeof(key64), public_key, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(view, sizeof(view), "{\"public_key\":\"%s\"}", key64);
    audit_part_t part = {party, view};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return audit_append_key(st, party, "party", sid, "key_registered",
                            (double)ts.tv_sec + ts.tv_nsec * 1e-9, &part, 1, key64);
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

/* ---- the audit trail: reading ---- */

dc_err_t dc_store_audit_key(dc_store_t *st, uint8_t pk[DC_AUDIT_PK_BYTES],
                            uint8_t sk[DC_AUDIT_SK_BYTES])
{
    dc_err_t e = dc_store_begin(st);
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

dc_err_t dc_store_audit_head(dc_store_t *st, int64_t *seq, uint8_t hash[DC_AUDIT_HASH_BYTES])
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

dc_err_t dc_store_audit_each(dc_store_t *st, int64_t after, size_t max, int64_t party,
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
