/* The store: schema version, tokens (hash only, rotation, disable, malformed), documents,
 * per-party events, idempotency keys, and that everything survives closing and reopening. The
 * SQLite store in a temporary directory; with DC_TEST_PG_URL set (tests/integration/with_pg.py
 * starts a server), the PostgreSQL store in that database instead: one contract, both
 * backends. */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deconflict/store.h"

static char dir[] = "/tmp/dc_store_test_XXXXXX";
static const char *pg_url; /* DC_TEST_PG_URL, or NULL */

static dc_store_t *open_store(void)
{
    char err[256];
    dc_store_t *st =
        pg_url ? dc_store_open_url(pg_url, err, sizeof(err)) : dc_store_open(dir, err, sizeof(err));
    if (!st) fail_msg("open: %s", err);
    assert_string_equal(dc_store_backend(st), pg_url ? "postgresql" : "sqlite");
    return st;
}

static void test_tokens(void **state)
{
    (void)state;
    dc_store_t *st = open_store();
    assert_int_equal(dc_store_schema_version(st), DC_STORE_SCHEMA_VERSION);
    char ta[DC_TOKEN_MAX], tb[DC_TOKEN_MAX], t2[DC_TOKEN_MAX];
    dc_party_t pa, pb, got;
    assert_int_equal(dc_store_party_add(st, "alpha", 1000, ta, &pa), DC_OK);
    assert_int_equal(dc_store_party_add(st, "bravo", 1000, tb, &pb), DC_OK);
    assert_int_equal(dc_store_party_add(st, "alpha", 1000, t2, NULL), DC_ERR_CONFLICT);
    assert_int_equal(dc_store_party_add(st, "bad name", 1000, t2, NULL), DC_ERR_INVALID);
    assert_int_equal(strlen(ta), 4 + 43); /* "dct_" + 256 bits in base64url */
    assert_string_not_equal(ta, tb);
    assert_int_equal(dc_store_party_by_token(st, ta, &got), DC_OK);
    assert_string_equal(got.name, "alpha");
    assert_int_equal(dc_store_party_by_token(st, tb, &got), DC_OK);
    assert_string_equal(got.name, "bravo");
    /* One character off, truncated, no prefix, empty: all unknown. */
    char bad[DC_TOKEN_MAX];
    snprintf(bad, sizeof(bad), "%s", ta);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(dc_store_party_by_token(st, bad, &got), DC_ERR_NOT_FOUND);
    bad[10] = ta[10];
    bad[20] = '\0';
    assert_int_equal(dc_store_party_by_token(st, bad, &got), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_store_party_by_token(st, ta + 4, &got), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_store_party_by_token(st, "", &got), DC_ERR_NOT_FOUND);
    /* Rotation: the old token stops, the new one works. */
    assert_int_equal(dc_store_party_rotate_token(st, "alpha", t2), DC_OK);
    assert_int_equal(dc_store_party_by_token(st, ta, &got), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_store_party_by_token(st, t2, &got), DC_OK);
    assert_int_equal(dc_store_party_rotate_token(st, "nobody", ta), DC_ERR_NOT_FOUND);
    /* Disable and enable. */
    assert_int_equal(dc_store_party_set_disabled(st, "bravo", true), DC_OK);
    assert_int_equal(dc_store_party_by_token(st, tb, &got), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_store_party_set_disabled(st, "bravo", false), DC_OK);
    assert_int_equal(dc_store_party_by_token(st, tb, &got), DC_OK);
    dc_store_close(st);
    /* The token itself is nowhere in the database: its file, or everything a dump of it holds. */
    char path[256], cmd[900];
    snprintf(path, sizeof(path), "%s/deconflict.sqlite3", dir);
    if (pg_url) {
        snprintf(path, sizeof(path), "%s/dump.sql", dir);
        snprintf(cmd, sizeof(cmd), "pg_dump --data-only '%s' > %s", pg_url, path);
        assert_int_equal(system(cmd), 0);
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_null(memmem(buf, n, t2 + 4, 20));
    assert_null(memmem(buf, n, tb + 4, 20));
    /* Reopened: still there. */
    st = open_store();
    assert_int_equal(dc_store_party_by_token(st, t2, &got), DC_OK);
    assert_int_equal(got.id, pa.id);
    dc_store_close(st);
}

static void count_doc(const dc_doc_t *d, void *ctx)
{
    (*(int *)ctx)++;
    assert_string_equal(d->kind, "conflict");
    assert_string_equal(d->view_a, "{\"for\":\"a\"}");
    assert_string_equal(d->view_b, "{\"for\":\"b\"}");
}

static void collect_event(int64_t seq, const char *type, const char *data, double t_s, void *ctx)
{
    (void)seq, (void)data, (void)t_s;
    strcat(ctx, type);
    strcat(ctx, ";");
}

static void test_docs_events_idempotency(void **state)
{
    (void)state;
    dc_store_t *st = open_store();
    dc_doc_t d = {"conflict", "c1", 1, 2, "{\"for\":\"a\"}", "{\"for\":\"b\"}", "open", 5, 0};
    assert_int_equal(dc_store_doc_put(st, &d), DC_OK);
    d.state = "resolved"; /* replaces */
    assert_int_equal(dc_store_doc_put(st, &d), DC_OK);
    int n = 0;
    assert_int_equal(dc_store_doc_each(st, "conflict", count_doc, &n), DC_OK);
    assert_int_equal(n, 1);
    int64_t s1, s2, s3, last;
    assert_int_equal(dc_store_event_append(st, 1, "conflict.new", "{}", 5, &s1), DC_OK);
    assert_int_equal(dc_store_event_append(st, 2, "conflict.new", "{}", 5, &s2), DC_OK);
    assert_int_equal(dc_store_event_append(st, 1, "conflict.update", "{}", 6, &s3), DC_OK);
    assert_true(s1 < s2 && s2 < s3);
    char seen[256] = "";
    assert_int_equal(dc_store_event_since(st, 1, 0, INT64_MAX, 100, collect_event, seen, &last),
                     DC_OK);
    assert_string_equal(seen, "conflict.new;conflict.update;"); /* party 2's is not there */
    assert_int_equal(last, s3);
    seen[0] = '\0';
    assert_int_equal(dc_store_event_since(st, 1, s1, INT64_MAX, 100, collect_event, seen, &last),
                     DC_OK);
    assert_string_equal(seen, "conflict.update;");
    seen[0] = '\0';
    /* upto bounds the read: s3 is beyond it. */
    assert_int_equal(dc_store_event_since(st, 1, 0, s2, 100, collect_event, seen, &last), DC_OK);
    assert_string_equal(seen, "conflict.new;");
    assert_int_equal(last, s1);
    int status;
    char *body;
    assert_int_equal(dc_store_idem_get(st, 1, "k", &status, &body), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_store_idem_put(st, 1, "k", 201, "{\"id\":1}", 5), DC_OK);
    assert_int_equal(dc_store_idem_put(st, 1, "k", 201, "{\"id\":2}", 5), DC_ERR_CONFLICT);
    assert_int_equal(dc_store_idem_get(st, 1, "k", &status, &body), DC_OK);
    assert_int_equal(status, 201);
    assert_string_equal(body, "{\"id\":1}");
    free(body);
    assert_int_equal(dc_store_idem_get(st, 2, "k", &status, &body), DC_ERR_NOT_FOUND);
    dc_store_close(st);
}

static void collect_sample(const char *id, double t_s, double lat, double lon, double alt_ft,
                           double trk_deg, double gs_kt, void *ctx)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s@%.0f:%.1f,%.1f,%.0f,%.0f,%.0f;", id, t_s, lat, lon, alt_ft,
             trk_deg, gs_kt);
}

/* Track history: per party, by time window, bounded, pruned by age; events by time. */
static void test_history(void **state)
{
    (void)state;
    dc_store_t *st = open_store();
    dc_track_state_t a = {.id = "1/A1",
                          .t_s = 100,
                          .lat_deg = 46,
                          .lon_deg = 7,
                          .alt_ft = 35000,
                          .gs_kt = 450,
                          .trk_deg = 90};
    dc_track_state_t b = {.id = "2/B1",
                          .t_s = 105,
                          .lat_deg = 47,
                          .lon_deg = 8,
                          .alt_ft = 30000,
                          .gs_kt = 400,
                          .trk_deg = 270};
    assert_int_equal(dc_store_history_put(st, 1, &a), DC_OK);
    assert_int_equal(dc_store_history_put(st, 2, &b), DC_OK);
    a.t_s = 110, a.lon_deg = 7.1;
    assert_int_equal(dc_store_history_put(st, 1, &a), DC_OK);
    a.t_s = 120, a.lon_deg = 7.2;
    assert_int_equal(dc_store_history_put(st, 1, &a), DC_OK);
    char seen[256] = "";
    bool more;
    assert_int_equal(dc_store_history_between(st, 1, 0, 1000, 100, collect_sample, seen, &more),
                     DC_OK);
    assert_string_equal(seen, "A1@100:46.0,7.0,35000,90,450;A1@110:46.0,7.1,35000,90,450;"
                              "A1@120:46.0,7.2,35000,90,450;"); /* not party 2's B1 */
    assert_false(more);
    seen[0] = '\0';
    assert_int_equal(dc_store_history_between(st, 1, 105, 115, 100, collect_sample, seen, &more),
                     DC_OK);
    assert_string_equal(seen, "A1@110:46.0,7.1,35000,90,450;");
    seen[0] = '\0';
    assert_int_equal(dc_store_history_between(st, 1, 0, 1000, 2, collect_sample, seen, &more),
                     DC_OK);
    assert_true(more);
    assert_null(strstr(seen, "A1@100")); /* the newest two, and a flag that there is more */
    assert_non_null(strstr(seen, "A1@120"));
    double oldest;
    assert_int_equal(dc_store_history_oldest(st, &oldest), DC_OK);
    assert_true(oldest == 100);
    int64_t deleted;
    assert_int_equal(dc_store_history_prune(st, 108, &deleted), DC_OK);
    assert_int_equal(deleted, 2); /* A1@100 and B1@105 */
    seen[0] = '\0';
    assert_int_equal(dc_store_history_between(st, 2, 0, 1000, 100, collect_sample, seen, &more),
                     DC_OK);
    assert_string_equal(seen, "");
    int64_t s1;
    assert_int_equal(dc_store_event_append(st, 1, "message.new", "{}", 2000, &s1), DC_OK);
    assert_int_equal(dc_store_event_append(st, 1, "message.acked", "{}", 2010, &s1), DC_OK);
    assert_int_equal(dc_store_event_append(st, 2, "message.new", "{}", 2005, &s1), DC_OK);
    seen[0] = '\0';
    assert_int_equal(
        dc_store_event_between(st, 1, 2000, 2009, INT64_MAX, 100, collect_event, seen, &more),
        DC_OK);
    assert_string_equal(seen, "message.new;");
    assert_false(more);
    seen[0] = '\0'; /* bounded to the newest; upto hides what is not yet durable */
    assert_int_equal(
        dc_store_event_between(st, 1, 1000, 3000, INT64_MAX, 1, collect_event, seen, &more), DC_OK);
    assert_string_equal(seen, "message.acked;");
    assert_true(more);
    seen[0] = '\0';
    assert_int_equal(
        dc_store_event_between(st, 1, 1000, 3000, s1 - 2, 100, collect_event, seen, &more), DC_OK);
    assert_string_equal(seen, "message.new;");
    dc_store_close(st);
}

static void collect_change(int64_t seq, const char *kind, const char *id, void *ctx)
{
    (void)seq;
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s/%s;", kind, id);
}

static void collect_track(int64_t party, const char *id, const char *state, void *ctx)
{
    (void)state;
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%lld:%s;", (long long)party, id);
}

/* What several nodes read from a shared store: the changed documents in commit order (both
 * backends), the tracks written since a revision, whole transactions at a time, and the lease
 * of the leader, which one node holds until it lapses (PostgreSQL; SQLite's one process
 * always leads and has no revisions). */
static void test_several_nodes(void **state)
{
    (void)state;
    dc_store_t *st = open_store(), *other = open_store();
    int64_t from_changes, from_tracks, changes, tracks, last;
    assert_int_equal(dc_store_heads(st, &from_changes, &from_tracks), DC_OK);
    dc_doc_t d = {"operation", "op9", 1, 0, "{}", NULL, "planned", 7, 1};
    assert_int_equal(dc_store_doc_put(st, &d), DC_OK);
    d.kind = "message", d.id = "m9";
    assert_int_equal(dc_store_doc_put(st, &d), DC_OK);
    char seen[256] = "";
    assert_int_equal(dc_store_changes(other, from_changes, 100, collect_change, seen, &last),
                     DC_OK);
    assert_string_equal(seen, "operation/op9;message/m9;");
    assert_int_equal(dc_store_heads(other, &changes, &tracks), DC_OK);
    assert_int_equal(last, changes);
    /* Two transactions of tracks: read whole, one revision after the other. */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(dc_store_begin(st), DC_OK);
        assert_int_equal(dc_store_track_put(st, 1, k ? "1/b" : "1/a", "{}", 10), DC_OK);
        assert_int_equal(dc_store_track_put(st, 1, "1/c", "{}", 10 + k), DC_OK);
        assert_int_equal(dc_store_commit(st), DC_OK);
    }
    seen[0] = '\0';
    assert_int_equal(dc_store_tracks_since(other, from_tracks, 1, collect_track, seen, &last),
                     DC_OK);
    bool lead_a, lead_b;
    assert_int_equal(dc_store_lead(st, "a", 2, &lead_a), DC_OK);
    assert_int_equal(dc_store_lead(other, "b", 2, &lead_b), DC_OK);
    if (pg_url) {
        /* The second transaction rewrote 1/c: only its latest revision is there. */
        assert_string_equal(seen, "1:1/a;");
        seen[0] = '\0';
        assert_int_equal(dc_store_tracks_since(other, last, 100, collect_track, seen, &last),
                         DC_OK);
        assert_string_equal(seen, "1:1/b;1:1/c;");
        assert_true(lead_a && !lead_b); /* a holds the lease ... */
        assert_int_equal(dc_store_lead(st, "a", 2, &lead_a), DC_OK);
        assert_true(lead_a); /* ... renews it ... */
        sleep(3);
        assert_int_equal(dc_store_lead(other, "b", 2, &lead_b), DC_OK);
        assert_true(lead_b); /* ... and b takes it once it lapsed */
        assert_int_equal(dc_store_lead(st, "a", 2, &lead_a), DC_OK);
        assert_false(lead_a);
    } else {
        assert_string_equal(seen, "");
        assert_true(lead_a && lead_b);
    }
    dc_store_close(other);
    dc_store_close(st);
}

static bool has_doc(dc_store_t *st, const char *id)
{
    dc_doc_t got;
    if (dc_store_doc_fetch(st, "operation", id, &got) != DC_OK) return false;
    dc_doc_release(&got);
    return true;
}

static dc_err_t put_op(dc_store_t *st, const char *id, const char *view)
{
    dc_doc_t d = {"operation", id, 1, 0, view, NULL, "planned", 7, 1};
    return dc_store_doc_put(st, &d);
}

/* Deferred sync: commits are kept (a rollback undoes only its own transaction), they reach
 * another connection once flushed, and (SQLite) a flush that cannot be written -- no write may
 * reach a file, as with a full disk -- keeps nothing of its group and leaves the store usable. */
static void test_grouped_commits(void **state)
{
    (void)state;
    dc_store_t *st = open_store(), *other = open_store();
    char err[256] = "";
    assert_int_equal(dc_store_defer_sync(st), DC_OK);
    for (int k = 0; k < 3; k++) {
        char id[8];
        snprintf(id, sizeof(id), "g%d", k);
        assert_int_equal(dc_store_begin(st), DC_OK);
        assert_int_equal(put_op(st, id, "{}"), DC_OK);
        if (k == 1)
            dc_store_rollback(st); /* only g1 is undone */
        else
            assert_int_equal(dc_store_commit(st), DC_OK);
    }
    assert_true(has_doc(st, "g0") && !has_doc(st, "g1") && has_doc(st, "g2"));
    if (!pg_url) assert_false(has_doc(other, "g0")); /* the group is not committed yet */
    assert_int_equal(dc_store_flush(st, err, sizeof(err)), DC_OK);
    assert_int_equal(dc_store_sync(st, err, sizeof(err)), DC_OK);
    assert_true(has_doc(other, "g0") && !has_doc(other, "g1") && has_doc(other, "g2"));
    /* A group whose only transaction rolled back holds no lock: another connection writes at
     * once (else it would wait out the 5 s busy timeout and fail). */
    assert_int_equal(dc_store_begin(st), DC_OK);
    assert_int_equal(put_op(st, "g3", "{}"), DC_OK);
    dc_store_rollback(st);
    assert_int_equal(put_op(other, "o1", "{}"), DC_OK);
    if (!pg_url) {
        struct rlimit was;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(dc_store_begin(st), DC_OK);
        assert_int_equal(put_op(st, "g4", "{}"), DC_OK);
        assert_int_equal(dc_store_commit(st), DC_OK);
        struct rlimit none = {4096, was.rlim_max}; /* no write past the first 4 kB of a file */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
        dc_err_t rc = dc_store_flush(st, err, sizeof(err));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
        assert_int_not_equal(rc, DC_OK);
        assert_true(err[0] != '\0');
        assert_false(has_doc(st, "g4"));
        assert_true(has_doc(st, "g0") && has_doc(st, "o1"));
        assert_int_equal(dc_store_begin(st), DC_OK); /* usable again */
        assert_int_equal(put_op(st, "g5", "{}"), DC_OK);
        assert_int_equal(dc_store_commit(st), DC_OK);
        assert_int_equal(dc_store_flush(st, err, sizeof(err)), DC_OK);
        assert_true(has_doc(other, "g5") && !has_doc(other, "g4"));
        /* A statement that fails on a full disk in mid-group (a page spilled from the cache to
         * the WAL) may make SQLite roll the whole group back by itself: g6, committed into it,
         * is then gone, and the flush must not report the group kept. Either way what the flush
         * says is what another connection sees. */
        assert_int_equal(dc_store_begin(st), DC_OK);
        assert_int_equal(put_op(st, "g6", "{}"), DC_OK);
        assert_int_equal(dc_store_commit(st), DC_OK);
        size_t big = 8u << 20; /* past the 2 MB page cache */
        char *view = malloc(big + 16);
        assert_non_null(view);
        memset(view, 'x', big);
        view[0] = '"', view[big - 1] = '"', view[big] = '\0';
        assert_int_equal(dc_store_begin(st), DC_OK);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
        dc_err_t put = put_op(st, "g7", view);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
        free(view);
        if (put == DC_OK)
            assert_int_equal(dc_store_commit(st), DC_OK);
        else
            dc_store_rollback(st);
        rc = dc_store_flush(st, err, sizeof(err));
        printf("[ info ] a put past the cache on a full disk: %s; the flush: %s\n",
               put == DC_OK ? "kept" : "refused", rc == DC_OK ? "kept the group" : err);
        assert_true(rc == DC_OK ? has_doc(other, "g6") : !has_doc(other, "g6"));
        assert_false(has_doc(other, "g7") && rc != DC_OK);
        assert_int_equal(dc_store_begin(st), DC_OK); /* and usable again */
        assert_int_equal(put_op(st, "g8", "{}"), DC_OK);
        assert_int_equal(dc_store_commit(st), DC_OK);
        assert_int_equal(dc_store_flush(st, err, sizeof(err)), DC_OK);
        assert_true(has_doc(other, "g8"));
    }
    dc_store_close(other);
    dc_store_close(st);
}

/* A store of a newer schema than this build knows is refused, naming its version. */
static void test_refuses_newer_schema(void **state)
{
    (void)state;
    char other[] = "/tmp/dc_store_new_XXXXXX", url[600], cmd[1400], err[256];
    assert_non_null(mkdtemp(other));
    if (pg_url) { /* a database of its own beside the test's */
        snprintf(url, sizeof(url), "%.*s/dc_newer", (int)(strrchr(pg_url, '/') - pg_url), pg_url);
        snprintf(cmd, sizeof(cmd),
                 "psql -X -q '%s' -c 'DROP DATABASE IF EXISTS dc_newer' -c 'CREATE DATABASE "
                 "dc_newer' >/dev/null",
                 pg_url);
        assert_int_equal(system(cmd), 0);
    }
    dc_store_t *st =
        pg_url ? dc_store_open_url(url, err, sizeof(err)) : dc_store_open(other, err, sizeof(err));
    assert_non_null(st);
    dc_store_close(st);
    if (pg_url)
        snprintf(cmd, sizeof(cmd),
                 "psql -X -q '%s' -c 'UPDATE deconflict_schema SET version = 99' >/dev/null", url);
    else
        snprintf(cmd, sizeof(cmd),
                 "python3 -c \"import sqlite3; c=sqlite3.connect('%s/deconflict.sqlite3'); "
                 "c.execute('PRAGMA user_version=99'); c.commit()\"",
                 other);
    assert_int_equal(system(cmd), 0);
    assert_null(pg_url ? dc_store_open_url(url, err, sizeof(err))
                       : dc_store_open(other, err, sizeof(err)));
    assert_non_null(strstr(err, "99"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", other);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    pg_url = getenv("DC_TEST_PG_URL");
    printf("[ store ] %s\n", pg_url ? pg_url : "sqlite");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),          cmocka_unit_test(test_docs_events_idempotency),
        cmocka_unit_test(test_history),         cmocka_unit_test(test_several_nodes),
        cmocka_unit_test(test_grouped_commits), cmocka_unit_test(test_refuses_newer_schema),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return rc;
}
