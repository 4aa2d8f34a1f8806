/* The daemon's domain (src/deconflictd/core/) driven without HTTP: a real store -- SQLite in a
 * temporary directory, or with DC_TEST_PG_URL set a fresh PostgreSQL database on that server --
 * with parties alpha and bravo (and charlie), the service opened on it at a pinned `now`, and
 * the events each party would receive read back as its stream reads them. Shared by the core's
 * unit tests. */
#ifndef DD_TEST_CORE_FIXTURE_H
#define DD_TEST_CORE_FIXTURE_H

#include "testutil.h"

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/conflicts.h"
#include "core/events.h"
#include "core/operations.h"
#include "core/service.h"
#include "core/tick.h"
#include "deconflict/timefmt.h"

#define T0 1893456000.0 /* 2030-01-01T00:00:00Z: every test's pinned start */

typedef struct fixture {
    char dir[64];
    dd_config_t cfg;
    dd_service_t svc;
    int64_t alpha, bravo, charlie;
} fixture_t;

static inline void fixture_add_parties(fixture_t *fx)
{
    char err[256], token[DC_TOKEN_MAX];
    dc_store_t *st = fx->cfg.store_url[0] ? dc_store_open_url(fx->cfg.store_url, err, sizeof(err))
                                          : dc_store_open(fx->dir, err, sizeof(err));
    if (!st) fail_msg("store: %s", err);
    dc_party_t p;
    assert_int_equal(dc_store_party_add(st, "alpha", T0, token, &p), DC_OK);
    fx->alpha = p.id;
    assert_int_equal(dc_store_party_add(st, "bravo", T0, token, &p), DC_OK);
    fx->bravo = p.id;
    assert_int_equal(dc_store_party_add(st, "charlie", T0, token, &p), DC_OK);
    fx->charlie = p.id;
    dc_store_close(st);
}

/* Opens (or reopens) the service at now. */
static inline void fixture_open(fixture_t *fx, double now)
{
    char err[256];
    if (!dd_service_open(&fx->svc, &fx->cfg, now, err, sizeof(err))) fail_msg("open: %s", err);
}

static inline fixture_t *fixture_new(void)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/dd-core-XXXXXX");
    if (!mkdtemp(fx->dir)) fail_msg("mkdtemp");
    dd_config_default(&fx->cfg);
    snprintf(fx->cfg.data_dir, sizeof(fx->cfg.data_dir), "%s", fx->dir);
    const char *pg = getenv("DC_TEST_PG_URL");
    if (pg) { /* a database of its own, named after the directory */
        char cmd[1400];
        const char *db = strrchr(fx->dir, '-') + 1;
        snprintf(cmd, sizeof(cmd), "psql -X -q '%s' -c 'CREATE DATABASE \"dc_core_%s\"' >/dev/null",
                 pg, db);
        if (system(cmd) != 0) fail_msg("cannot create a database on %s", pg);
        snprintf(fx->cfg.store_url, sizeof(fx->cfg.store_url), "%.*s/dc_core_%s",
                 (int)(strrchr(pg, '/') - pg), pg, db);
    }
    fx->cfg.history_s = 0; /* no samples: these tests are about the alerts */
    /* One name across restarts: a node restarted under its name takes its own lease back at
     * once (a shared store; a new name would wait for the old lease to run out). */
    snprintf(fx->cfg.node, sizeof(fx->cfg.node), "core-test");
    fixture_add_parties(fx);
    fixture_open(fx, T0);
    return fx;
}

static inline void fixture_free(fixture_t *fx)
{
    dd_service_close(&fx->svc);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", fx->dir);
    free(fx);
}

/* ---- what a party's stream would deliver ---- */

typedef struct events {
    json_t *list; /* [{"seq", "type", "data"}] */
    int64_t after;
} events_t;

static inline void on_event_cb(int64_t seq, const char *type, const char *data, double t_s,
                               void *ctx)
{
    (void)t_s;
    events_t *e = ctx;
    json_t *d = json_loads(data, 0, NULL);
    json_array_append_new(e->list, json_pack("{s:I, s:s, s:o, s:s}", "seq", (json_int_t)seq, "type",
                                             type, "data", d ? d : json_null(), "text", data));
    e->after = seq;
}

/* party's durable events after seq *after (moved past them), as a new array. */
static inline json_t *events_since(fixture_t *fx, int64_t party, int64_t *after)
{
    events_t e = {json_array(), *after};
    int64_t last;
    for (;;) {
        size_t before = json_array_size(e.list);
        assert_int_equal(dd_events_read(&fx->svc, party, e.after, dd_events_durable(&fx->svc), 1000,
                                        on_event_cb, &e, &last),
                         DC_OK);
        if (json_array_size(e.list) == before) break;
    }
    *after = e.after;
    return e.list;
}

/* How many of events are of type (and, when field is not NULL, have data[field] == value). */
static inline size_t count_type(json_t *events, const char *type)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(events, i, e) n +=
        strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
    return n;
}

/* The data of the first event of type, or NULL. */
static inline json_t *first_of(json_t *events, const char *type)
{
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) if (strcmp(json_string_value(json_object_get(e, "type")),
                                                type) == 0) return json_object_get(e, "data");
    return NULL;
}

/* Whether text appears anywhere in events' data. */
static inline bool events_mention(json_t *events, const char *text)
{
    size_t i;
    json_t *e;
    json_array_foreach(
        events, i, e) if (strstr(json_string_value(json_object_get(e, "text")), text)) return true;
    return false;
}

/* ---- filing ---- */

/* A circle of radius_m at (lat, lon), from t0 to t1, 0-1000 m W84. */
static inline json_t *circle_volume(double lat, double lon, double radius_m, double t0, double t1)
{
    char a[40], b[40];
    dc_time_format_rfc3339(t0, a, sizeof(a));
    dc_time_format_rfc3339(t1, b, sizeof(b));
    return json_pack("{s:{s:{s:{s:f, s:f}, s:{s:f, s:s}}, s:{s:f, s:s, s:s}, s:{s:f, s:s, s:s}}, "
                     "s:{s:s, s:s}, s:{s:s, s:s}}",
                     "volume", "outline_circle", "center", "lat", lat, "lng", lon, "radius",
                     "value", radius_m, "units", "M", "altitude_lower", "value", 0.0, "reference",
                     "W84", "units", "M", "altitude_upper", "value", 1000.0, "reference", "W84",
                     "units", "M", "time_start", "value", a, "format", "RFC3339", "time_end",
                     "value", b, "format", "RFC3339");
}

/* Files an operation of party with one circle volume at now; its view in *out (the caller
 * decrefs). */
static inline dc_err_t file_op(fixture_t *fx, int64_t party, double lat, double lon,
                               double radius_m, double now, json_t **out)
{
    json_t *vols = json_pack("[o]", circle_volume(lat, lon, radius_m, now + 3600, now + 7200));
    dd_op_request_t req = {vols, 0, DC_OP_PLANNED};
    dd_new_operation_t n;
    dd_fault_t f;
    dc_err_t rc = dd_operation_prepare(&fx->svc, party, &req, &n, &f);
    if (rc == DC_OK) {
        dd_idem_answer_t stored;
        rc = dd_operation_create(&fx->svc, party, &n, NULL, now, out, &stored, &f);
        dd_operation_prepared_clear(&n);
    }
    if (rc != DC_OK) fprintf(stderr, "file_op: %s\n", f.detail);
    json_decref(vols);
    return rc;
}

#endif
