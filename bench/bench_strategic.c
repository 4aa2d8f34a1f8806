/* The strategic engine benchmark: filing new operations against 10k / 100k / 1M live volumes,
 * and, side by side, the same data and queries in PostGIS (the tool a user would otherwise reach
 * for), when built with libpq and given --pg.
 *
 * Data, deterministic from the seed: every loaded operation is one volume over a country-sized
 * box (lat 45.5-55.0, lon 5.5-15.0, about 1000 x 700 km) within a 30-day horizon from
 * 2026-12-01T00:00:00Z (ASTM F3548's planning horizon). Footprints are 70% polygons of 4-12
 * vertices (a jittered star around a centre, radius 0.5-25 km, i.e. 1-50 km across) and 30%
 * circles of radius 0.5-25 km; altitude bands W84, lower 0-3000 m, 50-1500 m thick; windows
 * 1-8 h at whole seconds. Owners cycle through 8 parties. The filings are 10k further
 * operations drawn the same way from another seed stream, under a party the loaded set never
 * uses, so every pair is cross-party.
 *
 * Timed per filing: dc_strategic_check() (validation, index walk, exact test, GeoJSON of each
 * overlap), which does not store the operation, so every filing sees exactly N volumes. Printed
 * per N: load time per volume (dc_strategic_file), p50 / p99 / max per filing, candidates and
 * conflicts per filing, index cells per volume, and bytes per volume three ways: the engine's own
 * count, malloc's in-use growth (mallinfo2) and RSS growth (/proc/self/statm). --cell-km and
 * --bucket-h set the index (dc_strategic_config_t) for sweeps.
 *
 * PostGIS (--pg CONNINFO, needs --export): the exported CSV is COPYed into a staging table, then
 * into vol(geom geometry(Polygon,4326), trange tstzrange, alt_lower_m, alt_upper_m) with a GiST
 * index, ANALYZEd, and each filing runs one prepared statement: other parties' rows whose time
 * ranges overlap (&&), whose altitude bands overlap and whose footprints ST_Intersects, with
 * ST_Area(ST_Intersection(...)::geography) for each hit, timed at the client round trip.
 * scripts/bench-postgis.sh starts a throw-away server and runs this. */
#include "bench.h"
#include "deconflict/strategic.h"

#include <geos_c.h>

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef DC_BENCH_LIBPQ
#include <libpq-fe.h>
#endif

#define LAT_MIN_DEG  45.5
#define LAT_MAX_DEG  55.0
#define LON_MIN_DEG  5.5
#define LON_MAX_DEG  15.0
#define T0_S         1796083200.0 /* 2026-12-01T00:00:00Z */
#define SPAN_S       (30 * 86400)
#define N_PARTIES    8
#define MAX_SIZES    16
#define WARMUP       100 /* untimed filings before the timed ones, for both engines */
#define WKT_MAX      4096
#define WGS84_A_M    6378137.0
#define WGS84_E2     (1.0 / 298.257223563 * (2.0 - 1.0 / 298.257223563))
#define DEG2RAD      (M_PI / 180.0)
#define CIRCLE_SCALE 1.0003 /* as the engine: circles become circumscribed 64-gons, a bit wider */

/* splitmix64: derives independent xorshift seeds for the loaded set and the filings. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Metres per radian north (M) and east (N cos lat) at a latitude. */
static void metres_per_rad(double lat_deg, double *north_m, double *east_m)
{
    double s = sin(lat_deg * DEG2RAD), w2 = 1.0 - WGS84_E2 * s * s;
    *north_m = WGS84_A_M * (1.0 - WGS84_E2) / (w2 * sqrt(w2));
    *east_m = WGS84_A_M / sqrt(w2) * cos(lat_deg * DEG2RAD);
}

static dc_latlon_t offset(dc_latlon_t c, double north_m, double east_m)
{
    double mn, me;
    metres_per_rad(c.lat_deg, &mn, &me);
    return (dc_latlon_t){c.lat_deg + north_m / mn / DEG2RAD, c.lon_deg + east_m / me / DEG2RAD};
}

/* Fills vol (vertices must have room for 12) with one random volume. */
static void gen_volume(bench_rng_t *rng, dc_volume4d_t *vol, dc_latlon_t *vertices)
{
    memset(vol, 0, sizeof(*vol));
    dc_latlon_t c = {LAT_MIN_DEG + (LAT_MAX_DEG - LAT_MIN_DEG) * bench_rng_uniform(rng),
                     LON_MIN_DEG + (LON_MAX_DEG - LON_MIN_DEG) * bench_rng_uniform(rng)};
    double radius_m = 500.0 + 24500.0 * bench_rng_uniform(rng);
    if (bench_rng_uniform(rng) < 0.3) {
        vol->kind = DC_FOOTPRINT_CIRCLE;
        vol->center = c;
        vol->radius_m = radius_m;
    } else {
        /* A star: angles strictly increasing (jitter under half a step), so always simple. */
        size_t n = 4 + (size_t)(9 * bench_rng_uniform(rng));
        double step = 2 * M_PI / n, rot = step * bench_rng_uniform(rng);
        for (size_t i = 0; i < n; i++) {
            double az = rot + step * (i + 0.8 * (bench_rng_uniform(rng) - 0.5));
            double r = radius_m * (0.6 + 0.4 * bench_rng_uniform(rng));
            vertices[i] = offset(c, r * cos(az), r * sin(az));
        }
        vol->kind = DC_FOOTPRINT_POLYGON;
        vol->vertices = vertices;
        vol->n_vertices = n;
    }
    vol->alt_lower_m = 3000.0 * bench_rng_uniform(rng);
    vol->alt_upper_m = vol->alt_lower_m + 50.0 + 1450.0 * bench_rng_uniform(rng);
    vol->alt_lower_ref = vol->alt_upper_ref = DC_ALT_REF_W84;
    vol->t_start_s = T0_S + floor(SPAN_S * bench_rng_uniform(rng));
    vol->t_end_s = vol->t_start_s + 3600.0 + floor(7 * 3600.0 * bench_rng_uniform(rng));
}

static void gen_operation(bench_rng_t *rng, size_t i, const char *party, dc_operation_t *op,
                          dc_volume4d_t *vol, dc_latlon_t *vertices)
{
    memset(op, 0, sizeof(*op));
    snprintf(op->id, sizeof(op->id), "op%07zu", i);
    snprintf(op->party, sizeof(op->party), "%s", party);
    op->state = DC_OP_PLANNED;
    gen_volume(rng, vol, vertices);
    op->volumes = vol;
    op->n_volumes = 1;
}

/* The footprint as WKT in lon/lat; a circle as its circumscribed 64-gon, as the engine takes it.
 * Returns false if buf is too small. */
static bool wkt_footprint(const dc_volume4d_t *vol, char *buf, size_t cap)
{
    dc_latlon_t ring[DC_STRATEGIC_CIRCLE_SEGMENTS + 1];
    size_t n = vol->n_vertices;
    if (vol->kind == DC_FOOTPRINT_CIRCLE) {
        n = DC_STRATEGIC_CIRCLE_SEGMENTS;
        double r = vol->radius_m * CIRCLE_SCALE / cos(M_PI / DC_STRATEGIC_CIRCLE_SEGMENTS);
        for (size_t i = 0; i < n; i++) {
            double az = 2 * M_PI * i / n;
            ring[i] = offset(vol->center, r * cos(az), r * sin(az));
        }
    } else {
        if (n > DC_STRATEGIC_CIRCLE_SEGMENTS) return false;
        memcpy(ring, vol->vertices, n * sizeof(*ring));
    }
    ring[n] = ring[0];
    size_t len = (size_t)snprintf(buf, cap, "POLYGON((");
    for (size_t i = 0; i <= n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%.7f %.7f", i ? "," : "", ring[i].lon_deg,
                                ring[i].lat_deg);
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, "))");
    return len < cap;
}

static void rfc3339(double t_s, char *buf, size_t cap)
{
    time_t t = (time_t)t_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool export_row(FILE *f, const dc_operation_t *op)
{
    char wkt[WKT_MAX], t0[32], t1[32];
    const dc_volume4d_t *vol = &op->volumes[0];
    if (!wkt_footprint(vol, wkt, sizeof(wkt))) return false;
    rfc3339(vol->t_start_s, t0, sizeof(t0));
    rfc3339(vol->t_end_s, t1, sizeof(t1));
    return fprintf(f, "%s,%s,\"%s\",%.3f,%.3f,%s,%s\n", op->id, op->party, wkt, vol->alt_lower_m,
                   vol->alt_upper_m, t0, t1) > 0;
}

static FILE *export_open(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return NULL;
    }
    fputs("id,party,footprint_wkt,alt_lower_m,alt_upper_m,t_start,t_end\n", f);
    return f;
}

static double rss_bytes(void)
{
    long pages_total = 0, pages_rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2) pages_rss = 0;
    fclose(f);
    return (double)pages_rss * (double)sysconf(_SC_PAGESIZE);
}

/* Bytes malloc has handed out and not had back: small blocks plus mmapped large ones. */
static double heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static double percentile(const double *sorted, size_t n, double p)
{
    size_t k = (size_t)ceil(p * n);
    return sorted[k > 0 ? k - 1 : 0];
}

static double now_us(void)
{
    return bench_now_ms() * 1e3;
}

typedef struct timing {
    double p50_us, p99_us, max_us;
} timing_t;

static timing_t summarize(double *us, size_t n)
{
    bench_median(us, n); /* sorts */
    return (timing_t){percentile(us, n, 0.50), percentile(us, n, 0.99), us[n - 1]};
}

/* ---- PostGIS ---- */

#ifdef DC_BENCH_LIBPQ

static bool pg_exec(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "postgis: %s\n  in: %.200s\n", PQerrorMessage(conn), sql);
    PQclear(r);
    return ok;
}

/* Streams the file at path into `copy_sql` (a COPY ... FROM STDIN). */
static bool pg_copy_file(PGconn *conn, const char *copy_sql, const char *path)
{
    PGresult *r = PQexec(conn, copy_sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "postgis: %s", PQerrorMessage(conn));
        return false;
    }
    FILE *f = fopen(path, "r");
    char buf[1 << 16];
    size_t got;
    while (f && ok && (got = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = PQputCopyData(conn, buf, (int)got) == 1;
    if (f) fclose(f);
    ok = ok && f != NULL;
    if (PQputCopyEnd(conn, ok ? NULL : "bench: read error") != 1) ok = false;
    while ((r = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "postgis: COPY: %s", PQerrorMessage(conn));
            ok = false;
        }
        PQclear(r);
    }
    return ok;
}

/* What one filing sends: the footprint as EWKT, the altitude band and the time range. */
typedef struct pg_query {
    char *ewkt;
    char alt_lo[32], alt_hi[32], trange[96];
} pg_query_t;

static void pg_queries_free(pg_query_t *pq, size_t n)
{
    for (size_t i = 0; pq && i < n; i++) free(pq[i].ewkt);
    free(pq);
}

static pg_query_t *pg_queries_new(const dc_operation_t *ops, size_t n)
{
    pg_query_t *pq = calloc(n, sizeof(*pq));
    char wkt[WKT_MAX], t0[32], t1[32];
    for (size_t i = 0; pq && i < n; i++) {
        const dc_volume4d_t *vol = &ops[i].volumes[0];
        size_t len = strlen("SRID=4326;") + WKT_MAX;
        if (!(pq[i].ewkt = malloc(len)) || !wkt_footprint(vol, wkt, sizeof(wkt))) {
            pg_queries_free(pq, n);
            return NULL;
        }
        snprintf(pq[i].ewkt, len, "SRID=4326;%s", wkt);
        snprintf(pq[i].alt_lo, sizeof(pq[i].alt_lo), "%.3f", vol->alt_lower_m);
        snprintf(pq[i].alt_hi, sizeof(pq[i].alt_hi), "%.3f", vol->alt_upper_m);
        rfc3339(vol->t_start_s, t0, sizeof(t0));
        rfc3339(vol->t_end_s, t1, sizeof(t1));
        snprintf(pq[i].trange, sizeof(pq[i].trange), "[%s,%s)", t0, t1);
    }
    return pq;
}

typedef struct pg_figures {
    double load_s;
    timing_t t;
    double conflicts;
    double area_m2; /* summed over every hit of every timed filing */
} pg_figures_t;

static const char *const PG_LOAD_SQL[] = {
    "DROP TABLE IF EXISTS vol",
    "CREATE TABLE vol AS SELECT id, party, "
    "ST_GeomFromText(footprint_wkt, 4326)::geometry(Polygon, 4326) AS geom, alt_lower_m, "
    "alt_upper_m, tstzrange(t_start, t_end) AS trange FROM vol_stage",
    "DROP TABLE vol_stage",
    NULL, /* the index, by index_mode */
    "ANALYZE vol",
};

/* The filing: other parties' volumes overlapping in time, altitude and footprint, with the area
 * of each footprint overlap on the ellipsoid (what the engine reports too). */
static const char PG_QUERY_SQL[] =
    "SELECT v.id, ST_Area(ST_Intersection(v.geom, $2::geometry)::geography) FROM vol v "
    "WHERE v.trange && $5::tstzrange AND v.alt_lower_m < $4::float8 "
    "AND v.alt_upper_m > $3::float8 AND v.party <> $1 AND ST_Intersects(v.geom, $2::geometry)";

/* Loads volumes_path into PostGIS and times every filing; false on any database error. */
static bool pg_run(PGconn *conn, const char *volumes_path, const char *index_mode,
                   const pg_query_t *pq, size_t n_queries, const char *party, pg_figures_t *out)
{
    memset(out, 0, sizeof(*out));
    double t0 = bench_now_ms();
    if (!pg_exec(conn, "DROP TABLE IF EXISTS vol_stage") ||
        !pg_exec(conn, "CREATE UNLOGGED TABLE vol_stage (id text, party text, footprint_wkt text, "
                       "alt_lower_m float8, alt_upper_m float8, t_start timestamptz, "
                       "t_end timestamptz)") ||
        !pg_copy_file(conn, "COPY vol_stage FROM STDIN (FORMAT csv, HEADER true)", volumes_path))
        return false;
    for (size_t i = 0; i < sizeof(PG_LOAD_SQL) / sizeof(PG_LOAD_SQL[0]); i++) {
        const char *sql = PG_LOAD_SQL[i];
        if (!sql && strcmp(index_mode, "separate") == 0) {
            if (!pg_exec(conn, "CREATE INDEX vol_geom ON vol USING gist (geom)")) return false;
            sql = "CREATE INDEX vol_trange ON vol USING gist (trange)";
        } else if (!sql) {
            sql = "CREATE INDEX vol_geom_trange ON vol USING gist (geom, trange)";
        }
        if (!pg_exec(conn, sql)) return false;
    }
    out->load_s = (bench_now_ms() - t0) / 1e3;

    pg_exec(conn, "DEALLOCATE ALL");
    PGresult *r = PQprepare(conn, "filing", PG_QUERY_SQL, 5, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "postgis: prepare: %s", PQerrorMessage(conn));
        return false;
    }
    double *us = malloc(n_queries * sizeof(double));
    if (!us) return false;
    size_t hits = 0;
    for (size_t k = 0; k < WARMUP + n_queries && ok; k++) {
        const pg_query_t *q = &pq[k < WARMUP ? k % n_queries : k - WARMUP];
        const char *params[5] = {party, q->ewkt, q->alt_lo, q->alt_hi, q->trange};
        double t = now_us();
        r = PQexecPrepared(conn, "filing", 5, params, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        int rows = ok ? PQntuples(r) : 0;
        double area = 0;
        for (int j = 0; j < rows; j++) area += strtod(PQgetvalue(r, j, 1), NULL);
        double dt = now_us() - t;
        if (!ok) fprintf(stderr, "postgis: filing: %s", PQerrorMessage(conn));
        PQclear(r);
        if (k < WARMUP) continue;
        us[k - WARMUP] = dt;
        hits += (size_t)rows;
        out->area_m2 += area;
    }
    if (ok) {
        out->t = summarize(us, n_queries);
        out->conflicts = (double)hits / n_queries;
    }
    free(us);
    return ok;
}

#endif /* DC_BENCH_LIBPQ */

/* ---- the engine ---- */

typedef struct eng_figures {
    double load_us_per_vol;
    timing_t t;
    double candidates, conflicts, cells_per_vol, engine_b_per_vol, heap_b_per_vol, rss_b_per_vol;
    double area_m2;
    size_t load_errors;
} eng_figures_t;

/* Loads n seeded volumes (exporting them to export_f if given) and times every filing. */
static bool engine_run(const dc_strategic_config_t *cfg, size_t n, uint64_t load_seed,
                       const dc_operation_t *queries, size_t n_queries, FILE *export_f,
                       eng_figures_t *out)
{
    memset(out, 0, sizeof(*out));
    static const char *const parties[N_PARTIES] = {"alpha", "bravo",   "charlie", "delta",
                                                   "echo",  "foxtrot", "golf",    "hotel"};
    malloc_trim(0); /* so the growth below is this engine's, not a reuse of the last one's */
    double rss0 = rss_bytes(), heap0 = heap_bytes();
    dc_strategic_t *eng = dc_strategic_new(cfg);
    if (!eng) return false;
    bench_rng_t rng;
    bench_rng_seed(&rng, load_seed);
    double load_us = 0;
    for (size_t i = 0; i < n; i++) {
        dc_operation_t op;
        dc_volume4d_t vol;
        dc_latlon_t vertices[12];
        gen_operation(&rng, i, parties[i % N_PARTIES], &op, &vol, vertices);
        if (export_f && !export_row(export_f, &op)) {
            dc_strategic_free(eng);
            return false;
        }
        double t = now_us();
        dc_err_t rc = dc_strategic_file(eng, &op, NULL);
        load_us += now_us() - t;
        if (rc != DC_OK) out->load_errors++;
    }
    double rss1 = rss_bytes(), heap1 = heap_bytes();
    dc_strategic_stats_t st;
    dc_strategic_stats(eng, &st);
    out->load_us_per_vol = load_us / n;
    out->engine_b_per_vol = (double)st.memory_bytes / st.volumes;
    out->rss_b_per_vol = (rss1 - rss0) / st.volumes;
    out->heap_b_per_vol = (heap1 - heap0) / st.volumes;
    out->cells_per_vol = (double)st.index_entries / st.volumes;

    double *us = malloc(n_queries * sizeof(double));
    if (!us) {
        dc_strategic_free(eng);
        return false;
    }
    size_t cand = 0, conf = 0, errors = 0;
    for (size_t k = 0; k < WARMUP + n_queries; k++) {
        const dc_operation_t *q = &queries[k < WARMUP ? k % n_queries : k - WARMUP];
        dc_strategic_result_t res;
        double t = now_us();
        dc_err_t rc = dc_strategic_check(eng, q, &res);
        double dt = now_us() - t;
        if (rc != DC_OK) errors++;
        if (k >= WARMUP) {
            us[k - WARMUP] = dt;
            cand += res.candidates;
            conf += res.n_conflicts;
            for (size_t j = 0; j < res.n_conflicts; j++) out->area_m2 += res.conflicts[j].area_m2;
        }
        dc_strategic_result_clear(&res);
    }
    out->t = summarize(us, n_queries);
    out->candidates = (double)cand / n_queries;
    out->conflicts = (double)conf / n_queries;
    free(us);
    dc_strategic_free(eng);
    if (errors) fprintf(stderr, "bench strategic: %zu filings failed the check\n", errors);
    return errors == 0;
}

/* ---- the alternative index: GEOS's STRtree ---- */

typedef struct strtree_item {
    double t0, t1, lo, hi;
    int party;
} strtree_item_t;

typedef struct strtree_visit {
    const strtree_item_t *q;
    size_t hits, passed;
} strtree_visit_t;

static void strtree_cb(void *item, void *ud)
{
    const strtree_item_t *it = item;
    strtree_visit_t *v = ud;
    v->hits++;
    if (it->t0 < v->q->t1 && v->q->t0 < it->t1 && it->lo < v->q->hi && v->q->lo < it->hi)
        v->passed++;
}

/* The footprint's lon/lat envelope (the study region is far from the antimeridian). */
static void envelope(const dc_volume4d_t *vol, double *x0, double *y0, double *x1, double *y1)
{
    if (vol->kind == DC_FOOTPRINT_CIRCLE) {
        double mn, me, r = vol->radius_m * CIRCLE_SCALE / cos(M_PI / 64);
        metres_per_rad(vol->center.lat_deg, &mn, &me);
        *x0 = vol->center.lon_deg - r / me / DEG2RAD, *x1 = vol->center.lon_deg + r / me / DEG2RAD;
        *y0 = vol->center.lat_deg - r / mn / DEG2RAD, *y1 = vol->center.lat_deg + r / mn / DEG2RAD;
        return;
    }
    *x0 = *x1 = vol->vertices[0].lon_deg;
    *y0 = *y1 = vol->vertices[0].lat_deg;
    for (size_t i = 1; i < vol->n_vertices; i++) {
        *x0 = fmin(*x0, vol->vertices[i].lon_deg), *x1 = fmax(*x1, vol->vertices[i].lon_deg);
        *y0 = fmin(*y0, vol->vertices[i].lat_deg), *y1 = fmax(*y1, vol->vertices[i].lat_deg);
    }
}

/* Builds GEOS's STRtree (the index PostGIS-like tools and Shapely use) over the same N volumes'
 * 2D envelopes and runs the same filings' envelope queries, filtering time and altitude on the
 * hits. Prints the build time and per-query time. GEOS's STRtree is packed on first query and
 * refuses inserts afterwards, so a store that changes with every filing would rebuild it: the
 * build time is the cost of each change. */
static void strtree_run(size_t n, uint64_t load_seed, const dc_operation_t *queries,
                        size_t n_queries)
{
    GEOSContextHandle_t ctx = GEOS_init_r();
    strtree_item_t *items = malloc(n * sizeof(*items));
    GEOSGeometry **envs = malloc(n * sizeof(*envs));
    double *us = malloc(n_queries * sizeof(double));
    if (!ctx || !items || !envs || !us) goto out;
    bench_rng_t rng;
    bench_rng_seed(&rng, load_seed);
    for (size_t i = 0; i < n; i++) {
        dc_operation_t op;
        dc_volume4d_t vol;
        dc_latlon_t vertices[12];
        gen_operation(&rng, i, "x", &op, &vol, vertices);
        double x0, y0, x1, y1;
        envelope(&vol, &x0, &y0, &x1, &y1);
        envs[i] = GEOSGeom_createRectangle_r(ctx, x0, y0, x1, y1);
        items[i] = (strtree_item_t){vol.t_start_s, vol.t_end_s, vol.alt_lower_m, vol.alt_upper_m,
                                    (int)(i % N_PARTIES)};
    }
    double t = now_us();
    GEOSSTRtree *tree = GEOSSTRtree_create_r(ctx, 10);
    for (size_t i = 0; i < n; i++) GEOSSTRtree_insert_r(ctx, tree, envs[i], &items[i]);
    strtree_item_t dummy = {0, 0, 0, 0, 0};
    strtree_visit_t v = {&dummy, 0, 0};
    GEOSSTRtree_query_r(ctx, tree, envs[0], strtree_cb, &v); /* packs the tree */
    double build_ms = (now_us() - t) / 1000;
    size_t hits = 0, passed = 0;
    for (size_t k = 0; k < n_queries; k++) {
        const dc_volume4d_t *vol = &queries[k].volumes[0];
        double x0, y0, x1, y1;
        envelope(vol, &x0, &y0, &x1, &y1);
        strtree_item_t q = {vol->t_start_s, vol->t_end_s, vol->alt_lower_m, vol->alt_upper_m, -1};
        strtree_visit_t qv = {&q, 0, 0};
        double t1 = now_us();
        GEOSGeometry *env = GEOSGeom_createRectangle_r(ctx, x0, y0, x1, y1);
        GEOSSTRtree_query_r(ctx, tree, env, strtree_cb, &qv);
        GEOSGeom_destroy_r(ctx, env);
        us[k] = now_us() - t1;
        hits += qv.hits;
        passed += qv.passed;
    }
    timing_t tq = summarize(us, n_queries);
    printf("%9zu %-8s build (insert %zu + pack) %.0f ms = the cost of each change; envelope "
           "query p50 %.1f us p99 %.1f us; %.1f 2D hits, %.1f after time/altitude per filing\n",
           n, "strtree", n, build_ms, tq.p50_us, tq.p99_us, (double)hits / n_queries,
           (double)passed / n_queries);
    fflush(stdout);
    GEOSSTRtree_destroy_r(ctx, tree);
out:
    if (envs && ctx)
        for (size_t i = 0; i < n; i++) GEOSGeom_destroy_r(ctx, envs[i]);
    free(envs);
    free(items);
    free(us);
    if (ctx) GEOS_finish_r(ctx);
}

static void usage(void)
{
    fprintf(stderr, "usage: deconflict-bench strategic [--sizes N,N,...] [--queries K] [--seed S] "
                    "[--cell-km KM] [--bucket-h H] [--export DIR] [--pg CONNINFO] "
                    "[--pg-index composite|separate] [--strtree 1]\n");
}

int bench_strategic(int argc, char **argv)
{
    size_t sizes[MAX_SIZES] = {10000, 100000, 1000000}, n_sizes = 3, n_queries = 10000;
    uint64_t seed = 20261201;
    const char *export_dir = NULL, *pg_conninfo = NULL, *pg_index = "composite";
    bool strtree = false;
    dc_strategic_config_t cfg;
    dc_strategic_config_default(&cfg);
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (strcmp(argv[i], "--sizes") == 0) {
            n_sizes = 0;
            for (char *p = argv[i + 1]; *p && n_sizes < MAX_SIZES; p += *p == ',')
                sizes[n_sizes++] = strtoull(p, &p, 10);
        } else if (strcmp(argv[i], "--queries") == 0) {
            n_queries = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0) {
            seed = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--export") == 0) {
            export_dir = argv[i + 1];
        } else if (strcmp(argv[i], "--pg") == 0) {
            pg_conninfo = argv[i + 1];
        } else if (strcmp(argv[i], "--cell-km") == 0) {
            cfg.cell_m = 1000.0 * strtod(argv[i + 1], NULL);
        } else if (strcmp(argv[i], "--bucket-h") == 0) {
            cfg.bucket_s = 3600.0 * strtod(argv[i + 1], NULL);
        } else if (strcmp(argv[i], "--pg-index") == 0) {
            pg_index = argv[i + 1];
        } else if (strcmp(argv[i], "--strtree") == 0) {
            strtree = strcmp(argv[i + 1], "0") != 0;
        } else {
            fprintf(stderr, "bench strategic: unknown option %s\n", argv[i]);
            usage();
            return 2;
        }
    }
    for (size_t i = 0; i < n_sizes; i++) {
        if (sizes[i] == 0 || sizes[i] > 10000000) {
            fprintf(stderr, "bench strategic: sizes must be 1..10000000\n");
            return 2;
        }
    }
    const char *bad_field;
    if (dc_strategic_config_validate(&cfg, &bad_field) != DC_OK) {
        fprintf(stderr, "bench strategic: invalid engine config (%s)\n", bad_field);
        return 2;
    }
    if (n_queries == 0 || n_queries > 1000000) {
        fprintf(stderr, "bench strategic: --queries must be 1..1000000\n");
        return 2;
    }
    if (pg_conninfo && !export_dir) {
        fprintf(stderr, "bench strategic: --pg loads the exported CSV: give --export DIR too\n");
        return 2;
    }
#ifndef DC_BENCH_LIBPQ
    (void)pg_index;
    if (pg_conninfo) {
        fprintf(stderr, "bench strategic: built without libpq (install libpq-dev, re-run cmake)\n");
        return 2;
    }
#else
    PGconn *conn = NULL;
    pg_query_t *pq = NULL;
    if (pg_conninfo) {
        conn = PQconnectdb(pg_conninfo);
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "bench strategic: postgis: %s", PQerrorMessage(conn));
            PQfinish(conn);
            return 1;
        }
        PQclear(PQexec(conn, "SET client_min_messages = warning"));
        if (strcmp(pg_index, "composite") != 0 && strcmp(pg_index, "separate") != 0) {
            usage();
            PQfinish(conn);
            return 2;
        }
    }
#endif

    /* The filings: their own seed stream, a party the loaded set never uses. */
    const char *party = "filer";
    dc_operation_t *queries = calloc(n_queries, sizeof(*queries));
    if (!queries) return 1;
    bench_rng_t qrng;
    bench_rng_seed(&qrng, splitmix64(seed ^ 0x51ull));
    for (size_t i = 0; i < n_queries; i++) {
        dc_volume4d_t vol;
        dc_latlon_t vertices[12];
        gen_operation(&qrng, i, party, &queries[i], &vol, vertices);
        snprintf(queries[i].id, sizeof(queries[i].id), "new%07zu", i);
        /* Own the volume and its vertices, as dc_operation_clear() expects. */
        queries[i].volumes = malloc(sizeof(vol));
        if (!queries[i].volumes) return 1;
        queries[i].volumes[0] = vol;
        if (vol.n_vertices) {
            queries[i].volumes[0].vertices = malloc(vol.n_vertices * sizeof(dc_latlon_t));
            if (!queries[i].volumes[0].vertices) return 1;
            memcpy(queries[i].volumes[0].vertices, vertices, vol.n_vertices * sizeof(dc_latlon_t));
        }
    }
    if (export_dir) {
        char path[4096];
        FILE *f = export_open(export_dir, "queries.csv", path, sizeof(path));
        if (!f) return 1;
        for (size_t i = 0; i < n_queries; i++) export_row(f, &queries[i]);
        if (fclose(f) != 0) return 1;
    }
#ifdef DC_BENCH_LIBPQ
    if (conn && !(pq = pg_queries_new(queries, n_queries))) return 1;
#endif

    printf("strategic benchmark: seed %llu, %zu filings (dc_strategic_check, not stored; %d "
           "untimed warm-up), 1 volume each, index %.0f km x %.1f h,\n  lat %.1f-%.1f lon "
           "%.1f-%.1f, 30 days from "
           "2026-12-01, footprints 1-50 km (70%% polygons 4-12 vertices, 30%% circles), "
           "windows 1-8 h, %d parties\n",
           (unsigned long long)seed, n_queries, WARMUP, cfg.cell_m / 1000, cfg.bucket_s / 3600,
           LAT_MIN_DEG, LAT_MAX_DEG, LON_MIN_DEG, LON_MAX_DEG, N_PARTIES);
    printf("%9s %-8s %11s %9s %9s %9s %11s %10s %9s %9s %9s %9s\n", "N", "engine", "load_us/vol",
           "p50_us", "p99_us", "max_us", "cand/filing", "conflicts", "cells/vol", "B/vol",
           "heap_B/vol", "RSS_B/vol");
    int status = 0;
    for (size_t si = 0; si < n_sizes && status == 0; si++) {
        size_t n = sizes[si];
        char vpath[4096] = "", name[64];
        FILE *ef = NULL;
        if (export_dir) {
            snprintf(name, sizeof(name), "volumes_%zu.csv", n);
            if (!(ef = export_open(export_dir, name, vpath, sizeof(vpath)))) return 1;
        }
        eng_figures_t e;
        bool ok = engine_run(&cfg, n, splitmix64(seed), queries, n_queries, ef, &e);
        if (ef && fclose(ef) != 0) ok = false;
        if (!ok || e.load_errors) {
            fprintf(stderr, "bench strategic: N=%zu failed (%zu volumes not filed)\n", n,
                    e.load_errors);
            status = 1;
            break;
        }
        printf("%9zu %-8s %11.2f %9.1f %9.1f %9.1f %11.1f %10.2f %9.2f %9.0f %9.0f %9.0f\n", n,
               "ours", e.load_us_per_vol, e.t.p50_us, e.t.p99_us, e.t.max_us, e.candidates,
               e.conflicts, e.cells_per_vol, e.engine_b_per_vol, e.heap_b_per_vol, e.rss_b_per_vol);
        fflush(stdout);
        if (strtree) strtree_run(n, splitmix64(seed), queries, n_queries);
#ifdef DC_BENCH_LIBPQ
        if (conn) {
            pg_figures_t p;
            if (!pg_run(conn, vpath, pg_index, pq, n_queries, party, &p)) {
                status = 1;
                break;
            }
            printf("%9zu %-8s %11.2f %9.1f %9.1f %9.1f %11s %10.2f   ratio postgis/ours: p50 "
                   "%.1fx, p99 %.1fx (index %s; overlap area postgis/ours %.4f)\n",
                   n, "postgis", p.load_s * 1e6 / n, p.t.p50_us, p.t.p99_us, p.t.max_us, "-",
                   p.conflicts, p.t.p50_us / e.t.p50_us, p.t.p99_us / e.t.p99_us, pg_index,
                   e.area_m2 > 0 ? p.area_m2 / e.area_m2 : 0.0);
            fflush(stdout);
        }
#endif
    }
#ifdef DC_BENCH_LIBPQ
    pg_queries_free(pq, n_queries);
    if (conn) PQfinish(conn);
#endif
    for (size_t i = 0; i < n_queries; i++) dc_operation_clear(&queries[i]);
    free(queries);
    return status;
}
