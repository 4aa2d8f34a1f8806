/* The strategic engine: live operations, a space-time index of their volumes, and the exact
 * conflict test (footprint.c) applied to the candidates the index yields.
 *
 * Index: a hash of cells, each cell a 3D box of the unit sphere scaled to Earth radius (edge
 * cell_m) crossed with a time bucket (bucket_s). A volume is entered in every cell its bounding
 * cap's box and its time window cover, so two volumes that overlap in space and time share at
 * least one cell. Working in 3D Cartesian cells instead of latitude/longitude makes the
 * antimeridian and the poles ordinary places. docs/strategic.md has the measurement behind the
 * choice (against GEOS's STRtree) and the cell size. Expiry pops a lazy min-heap of end times. */
#include "deconflict/strategic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/hashmap.h"
#include "strategic/footprint.h"
#include "strategic/strategic_internal.h"

#define R_INDEX_M 6371000.0

typedef struct cellbox {
    int32_t lo[3], hi[3];
    int64_t b0, b1;
} cellbox_t;

/* The fields the index scan filters on come first, in the record's first cache line. */
typedef struct svol {
    double t_start_s, t_end_s, alt_lower_m, alt_upper_m;
    uint8_t lower_fl, upper_fl, live;
    uint32_t op;
    uint32_t index_in_op;
    uint32_t stamp;
    uint32_t gen;
    fp_t fp;
    cellbox_t box;
} svol_t;

typedef struct sop {
    char *id; /* own allocation: the id map borrows it, and ops[] moves when it grows */
    char ref[DC_STRATEGIC_ID_MAX];
    uint32_t party;
    dc_op_state_t state;
    int64_t priority;
    uint64_t version;
    uint32_t *vols;
    uint32_t n_vols;
} sop_t;

typedef struct cell {
    uint32_t *ids;
    uint32_t n, cap;
} cell_t;

typedef struct heap_item {
    double t_end_s;
    uint32_t vol, gen;
} heap_item_t;

struct dc_strategic {
    dc_strategic_config_t cfg;
    GEOSContextHandle_t ctx;

    svol_t *vols;
    size_t vols_cap, vols_len, n_live_vols;
    uint32_t *vol_free;
    size_t vol_free_len, vol_free_cap;
    uint32_t stamp;

    sop_t *ops;
    size_t ops_cap, ops_len, n_live_ops;
    uint32_t *op_free;
    size_t op_free_len, op_free_cap;
    dc_strmap_t op_by_id;

    char **parties;
    size_t n_parties, parties_cap;
    dc_strmap_t party_by_name;

    cell_t *cells;
    size_t cells_cap, cells_len;
    uint32_t *cell_free;
    size_t cell_free_len, cell_free_cap;
    dc_u64map_t cell_by_key;
    size_t index_entries;

    heap_item_t *heap;
    size_t heap_len, heap_cap;
};

void dc_strategic_config_default(dc_strategic_config_t *cfg)
{
    cfg->include_same_party = false;
    cfg->fl_w84_margin_m = 300.0;
    cfg->cell_m = 64000.0;
    cfg->bucket_s = 4 * 3600.0;
}

dc_err_t dc_strategic_config_validate(const dc_strategic_config_t *cfg, const char **field)
{
    if (!(cfg->fl_w84_margin_m >= 0 && cfg->fl_w84_margin_m <= 10000)) {
        *field = "fl_w84_margin_m";
        return DC_ERR_INVALID;
    }
    if (!(cfg->cell_m >= 1000 && cfg->cell_m <= 2000000)) {
        *field = "cell_m";
        return DC_ERR_INVALID;
    }
    if (!(cfg->bucket_s >= 60 && cfg->bucket_s <= DC_STRATEGIC_WINDOW_MAX_S)) {
        *field = "bucket_s";
        return DC_ERR_INVALID;
    }
    return DC_OK;
}

dc_strategic_t *dc_strategic_new(const dc_strategic_config_t *cfg)
{
    dc_strategic_config_t def;
    if (!cfg) {
        dc_strategic_config_default(&def);
        cfg = &def;
    }
    const char *field;
    if (dc_strategic_config_validate(cfg, &field) != DC_OK) return NULL;
    dc_strategic_t *eng = calloc(1, sizeof(*eng));
    if (!eng) return NULL;
    eng->cfg = *cfg;
    eng->ctx = fp_geos_new();
    if (!eng->ctx) {
        free(eng);
        return NULL;
    }
    return eng;
}

void dc_strategic_free(dc_strategic_t *eng)
{
    if (!eng) return;
    for (size_t i = 0; i < eng->vols_len; i++) fp_clear(&eng->vols[i].fp);
    for (size_t i = 0; i < eng->ops_len; i++) {
        free(eng->ops[i].vols);
        free(eng->ops[i].id);
    }
    for (size_t i = 0; i < eng->cells_len; i++) free(eng->cells[i].ids);
    for (size_t i = 0; i < eng->n_parties; i++) free(eng->parties[i]);
    free(eng->vols);
    free(eng->vol_free);
    free(eng->ops);
    free(eng->op_free);
    free(eng->parties);
    free(eng->cells);
    free(eng->cell_free);
    free(eng->heap);
    dc_strmap_free(&eng->op_by_id);
    dc_strmap_free(&eng->party_by_name);
    dc_u64map_free(&eng->cell_by_key);
    GEOS_finish_r(eng->ctx);
    free(eng);
}

/* Takes a record slot from a slab: the free list first, else a new slot at the end. The free
 * list keeps room for every slot ever made, so giving one back (free[free_len++] = i) never
 * allocates. Returns false on allocation failure, changing nothing. */
static bool slot_take(void **arr, size_t *cap, size_t *len, uint32_t **free_list, size_t *free_len,
                      size_t *free_cap, size_t elem, uint32_t *idx)
{
    if (*free_len) {
        *idx = (*free_list)[--*free_len];
        return true;
    }
    if (!dc_array_grow(arr, cap, *len + 1, elem) ||
        !dc_array_grow((void **)free_list, free_cap, *len + 1, sizeof(uint32_t)))
        return false;
    *idx = (uint32_t)(*len)++;
    return true;
}

/* ---- the index ---- */

static uint64_t cell_key(int32_t x, int32_t y, int32_t z, int64_t b)
{
    return ((uint64_t)(uint16_t)x << 48) | ((uint64_t)(uint16_t)y << 32) |
           ((uint64_t)(uint16_t)z << 16) | (uint64_t)(uint16_t)b;
}

/* The cells of a cap (centre u, angular radius rho) and a time window. */
static void compute_box(const dc_strategic_t *eng, const svol_t *v, cellbox_t *box)
{
    double rho = v->fp.rho_rad + DC_STRATEGIC_TOUCH_M / R_INDEX_M;
    const double *u = &v->fp.center.x;
    for (int k = 0; k < 3; k++) {
        double a = acos(fmax(-1.0, fmin(1.0, u[k]))); /* angle from the +axis */
        double hi = cos(fmax(0.0, a - rho)), lo = cos(fmin(M_PI, a + rho));
        box->lo[k] = (int32_t)floor(lo * R_INDEX_M / eng->cfg.cell_m);
        box->hi[k] = (int32_t)floor(hi * R_INDEX_M / eng->cfg.cell_m);
    }
    box->b0 = (int64_t)floor(v->t_start_s / eng->cfg.bucket_s);
    box->b1 = (int64_t)floor(v->t_end_s / eng->cfg.bucket_s);
}

static bool cell_add(dc_strategic_t *eng, uint64_t key, uint32_t vol)
{
    uint32_t ci;
    if (!dc_u64map_get(&eng->cell_by_key, key, &ci)) {
        if (!slot_take((void **)&eng->cells, &eng->cells_cap, &eng->cells_len, &eng->cell_free,
                       &eng->cell_free_len, &eng->cell_free_cap, sizeof(cell_t), &ci))
            return false;
        memset(&eng->cells[ci], 0, sizeof(cell_t));
        if (!dc_u64map_put(&eng->cell_by_key, key, ci)) {
            eng->cell_free[eng->cell_free_len++] = ci;
            return false;
        }
    }
    cell_t *c = &eng->cells[ci];
    size_t cap = c->cap;
    if (!dc_array_grow((void **)&c->ids, &cap, c->n + 1, sizeof(uint32_t))) return false;
    c->cap = (uint32_t)cap;
    c->ids[c->n++] = vol;
    eng->index_entries++;
    return true;
}

static void cell_remove(dc_strategic_t *eng, uint64_t key, uint32_t vol)
{
    uint32_t ci;
    if (!dc_u64map_get(&eng->cell_by_key, key, &ci)) return;
    cell_t *c = &eng->cells[ci];
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->ids[i] != vol) continue;
        c->ids[i] = c->ids[--c->n];
        eng->index_entries--;
        break;
    }
    if (c->n > 0) return;
    /* Cells of past time buckets empty out as volumes expire; dropping them keeps the map
     * from growing with the calendar. The slot goes on the free list (room was reserved). */
    free(c->ids);
    memset(c, 0, sizeof(*c));
    dc_u64map_del(&eng->cell_by_key, key);
    eng->cell_free[eng->cell_free_len++] = ci;
}

/* Calls fn for every cell of box that the sphere passes through: columns of (x, y) cells, and in
 * each the z cells where the sphere's surface lies within the column, so a footprint costs about
 * (extent / cell)^2 cells rather than the cube. Stops early if fn returns false. */
typedef bool (*cell_fn)(dc_strategic_t *eng, uint64_t key, void *arg);

static bool box_foreach(dc_strategic_t *eng, const cellbox_t *box, cell_fn fn, void *arg)
{
    double c = eng->cfg.cell_m, r2 = R_INDEX_M * R_INDEX_M;
    for (int32_t x = box->lo[0]; x <= box->hi[0]; x++) {
        double x0 = x * c, x1 = x0 + c;
        double xmin2 = x0 > 0 ? x0 * x0 : x1 < 0 ? x1 * x1 : 0, xmax2 = fmax(x0 * x0, x1 * x1);
        for (int32_t y = box->lo[1]; y <= box->hi[1]; y++) {
            double y0 = y * c, y1 = y0 + c;
            double ymin2 = y0 > 0 ? y0 * y0 : y1 < 0 ? y1 * y1 : 0, ymax2 = fmax(y0 * y0, y1 * y1);
            if (xmin2 + ymin2 > r2) continue;
            double zin = sqrt(fmax(0.0, r2 - xmax2 - ymax2)), zout = sqrt(r2 - xmin2 - ymin2);
            /* Two branches, z >= 0 and z <= 0, as cell ranges clipped to the box. */
            int32_t ranges[2][2] = {{(int32_t)floor(zin / c), (int32_t)floor(zout / c)},
                                    {(int32_t)floor(-zout / c), (int32_t)floor(-zin / c)}};
            int32_t done_lo = 1, done_hi = 0; /* z cells already visited: none */
            for (int r = 0; r < 2; r++) {
                int32_t lo = ranges[r][0] > box->lo[2] ? ranges[r][0] : box->lo[2];
                int32_t hi = ranges[r][1] < box->hi[2] ? ranges[r][1] : box->hi[2];
                for (int32_t z = lo; z <= hi; z++) {
                    if (z >= done_lo && z <= done_hi) continue;
                    for (int64_t b = box->b0; b <= box->b1; b++)
                        if (!fn(eng, cell_key(x, y, z, b), arg)) return false;
                }
                done_lo = lo, done_hi = hi;
            }
        }
    }
    return true;
}

static bool count_cell(dc_strategic_t *eng, uint64_t key, void *arg)
{
    (void)eng, (void)key;
    (*(size_t *)arg)++;
    return true;
}

static size_t box_count(dc_strategic_t *eng, const cellbox_t *box)
{
    size_t n = 0;
    box_foreach(eng, box, count_cell, &n);
    return n;
}

static bool remove_cell(dc_strategic_t *eng, uint64_t key, void *arg)
{
    cell_remove(eng, key, *(uint32_t *)arg);
    return true;
}

static bool add_cell(dc_strategic_t *eng, uint64_t key, void *arg)
{
    return cell_add(eng, key, *(uint32_t *)arg);
}

static void index_remove(dc_strategic_t *eng, uint32_t vi)
{
    box_foreach(eng, &eng->vols[vi].box, remove_cell, &vi);
}

static bool index_add(dc_strategic_t *eng, uint32_t vi)
{
    /* Reserve the free-list room cell_remove may need, so removal never allocates. */
    size_t ncells = box_count(eng, &eng->vols[vi].box);
    if (!dc_array_grow((void **)&eng->cell_free, &eng->cell_free_cap, eng->cells_len + ncells + 1,
                       sizeof(uint32_t)))
        return false;
    if (!box_foreach(eng, &eng->vols[vi].box, add_cell, &vi)) {
        index_remove(eng, vi); /* removes the entries added so far, ignores the rest */
        return false;
    }
    return true;
}

/* ---- the expiry heap ---- */

static bool heap_push(dc_strategic_t *eng, heap_item_t it)
{
    if (!dc_array_grow((void **)&eng->heap, &eng->heap_cap, eng->heap_len + 1, sizeof(it)))
        return false;
    size_t i = eng->heap_len++;
    while (i > 0 && eng->heap[(i - 1) / 2].t_end_s > it.t_end_s) {
        eng->heap[i] = eng->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    eng->heap[i] = it;
    return true;
}

static heap_item_t heap_pop(dc_strategic_t *eng)
{
    heap_item_t top = eng->heap[0], last = eng->heap[--eng->heap_len];
    size_t i = 0, n = eng->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && eng->heap[c + 1].t_end_s < eng->heap[c].t_end_s) c++;
        if (eng->heap[c].t_end_s >= last.t_end_s) break;
        eng->heap[i] = eng->heap[c];
        i = c;
    }
    if (n) eng->heap[i] = last;
    return top;
}

/* ---- parties, volumes, operations ---- */

static bool party_intern(dc_strategic_t *eng, const char *name, uint32_t *idx)
{
    if (dc_strmap_get(&eng->party_by_name, name, idx)) return true;
    if (!dc_array_grow((void **)&eng->parties, &eng->parties_cap, eng->n_parties + 1,
                       sizeof(char *)))
        return false;
    char *copy = strdup(name);
    if (!copy) return false;
    if (!dc_strmap_put(&eng->party_by_name, copy, (uint32_t)eng->n_parties)) {
        free(copy);
        return false;
    }
    eng->parties[eng->n_parties] = copy;
    *idx = (uint32_t)eng->n_parties++;
    return true;
}

/* A filed operation's volumes as records, with their footprints built (and checked) once, by
 * dc_strategic_prepare: the check and the store both use them. */
struct dc_strategic_prepared {
    const dc_operation_t *op;
    svol_t *vs;
    size_t n;
};

static void prepared_free(svol_t *vs, size_t n)
{
    if (!vs) return;
    for (size_t i = 0; i < n; i++) fp_clear(&vs[i].fp);
    free(vs);
}

void dc_strategic_prepared_free(dc_strategic_prepared_t *p)
{
    if (!p) return;
    prepared_free(p->vs, p->n);
    free(p);
}

const fp_t *dc_strategic_prepared_fp(const dc_strategic_prepared_t *p, size_t i)
{
    return i < p->n ? &p->vs[i].fp : NULL;
}

/* The operation's own fields (not its volumes'): what the engine keys on. */
static bool op_fields_ok(const dc_operation_t *op)
{
    return op->id[0] != '\0' && op->party[0] != '\0' && op->n_volumes > 0 &&
           op->n_volumes <= DC_STRATEGIC_VOLUMES_MAX && memchr(op->id, 0, sizeof(op->id)) &&
           memchr(op->party, 0, sizeof(op->party)) && memchr(op->ref, 0, sizeof(op->ref));
}

dc_err_t dc_strategic_prepare(const dc_strategic_t *eng, const dc_operation_t *op,
                              dc_strategic_prepared_t **out, dc_strategic_error_t *err)
{
    *out = NULL;
    dc_strategic_error_init(err);
    if (!op_fields_ok(op)) {
        dc_strategic_error_set(err, "", "an operation needs an id, a party and 1-%d volumes",
                               DC_STRATEGIC_VOLUMES_MAX);
        return DC_ERR_INVALID;
    }
    dc_strategic_prepared_t *p = calloc(1, sizeof(*p));
    svol_t *vs = calloc(op->n_volumes, sizeof(*vs));
    GEOSContextHandle_t ctx = fp_geos_new(); /* its own: this runs outside the engine's lock */
    dc_err_t rc = p && vs && ctx ? DC_OK : DC_ERR_NOMEM;
    size_t built = 0;
    for (size_t i = 0; i < op->n_volumes && rc == DC_OK; i++) {
        const dc_volume4d_t *vol = &op->volumes[i];
        if (err) err->volume_index = (long)i;
        svol_t *v = &vs[i];
        rc = dc_volume4d_check_fields(vol, err);
        if (rc == DC_OK) rc = dc_volume4d_footprint(ctx, vol, &v->fp, err);
        if (rc != DC_OK) break;
        built++;
        v->t_start_s = vol->t_start_s;
        v->t_end_s = vol->t_end_s;
        v->alt_lower_m = vol->alt_lower_m;
        v->alt_upper_m = vol->alt_upper_m;
        v->lower_fl = vol->alt_lower_ref == DC_ALT_REF_FL;
        v->upper_fl = vol->alt_upper_ref == DC_ALT_REF_FL;
        compute_box(eng, v, &v->box); /* reads only the engine's configuration */
    }
    if (ctx) GEOS_finish_r(ctx);
    if (rc != DC_OK) {
        prepared_free(vs, built);
        free(p);
        return rc;
    }
    if (err) err->volume_index = -1;
    p->op = op, p->vs = vs, p->n = op->n_volumes;
    *out = p;
    return DC_OK;
}

static void vol_release(dc_strategic_t *eng, uint32_t vi)
{
    svol_t *v = &eng->vols[vi];
    index_remove(eng, vi);
    fp_clear(&v->fp);
    v->live = 0;
    v->gen++;
    eng->vol_free[eng->vol_free_len++] = vi; /* room reserved when the slot was made */
    eng->n_live_vols--;
}

static void op_release(dc_strategic_t *eng, uint32_t oi)
{
    sop_t *o = &eng->ops[oi];
    for (uint32_t i = 0; i < o->n_vols; i++) vol_release(eng, o->vols[i]);
    dc_strmap_del(&eng->op_by_id, o->id);
    free(o->id);
    free(o->vols);
    memset(o, 0, sizeof(*o));
    eng->op_free[eng->op_free_len++] = oi;
    eng->n_live_ops--;
}

/* Stores the n prepared volumes vs into slot oi (whose vols list is empty), taking ownership of
 * each footprint it stores (the caller still frees vs with prepared_free). All or nothing. */
static dc_err_t op_store_volumes(dc_strategic_t *eng, uint32_t oi, svol_t *vs, size_t n)
{
    sop_t *o = &eng->ops[oi];
    o->vols = calloc(n, sizeof(uint32_t));
    if (!o->vols) return DC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        svol_t v = vs[i];
        dc_err_t rc = DC_OK;
        uint32_t vi = 0;
        size_t before = eng->vols_len;
        if (!slot_take((void **)&eng->vols, &eng->vols_cap, &eng->vols_len, &eng->vol_free,
                       &eng->vol_free_len, &eng->vol_free_cap, sizeof(svol_t), &vi))
            rc = DC_ERR_NOMEM;
        else if (eng->vols_len > before)
            eng->vols[vi].gen = 0; /* a new slot; reused ones keep counting */
        if (rc == DC_OK) {
            memset(&vs[i].fp, 0, sizeof(vs[i].fp)); /* the footprint now belongs to the slot */
            v.gen = eng->vols[vi].gen;
            v.op = oi;
            v.index_in_op = (uint32_t)i;
            v.live = 1;
            eng->vols[vi] = v;
            eng->n_live_vols++;
            o->vols[o->n_vols++] = vi;
            bool indexed = index_add(eng, vi);
            if (!indexed || !heap_push(eng, (heap_item_t){v.t_end_s, vi, v.gen})) {
                if (indexed) index_remove(eng, vi);
                rc = DC_ERR_NOMEM;
                eng->vols[vi].box.b1 = eng->vols[vi].box.b0 - 1; /* nothing left to unindex */
            }
        }
        if (rc != DC_OK) {
            for (uint32_t k = 0; k < o->n_vols; k++) vol_release(eng, o->vols[k]);
            o->n_vols = 0;
            free(o->vols);
            o->vols = NULL;
            return rc;
        }
    }
    return DC_OK;
}

/* ---- the check ---- */

static bool possible(double gap_m, bool mixed, double margin_m)
{
    return gap_m + (mixed ? margin_m : 0.0) > DC_STRATEGIC_ALT_EPSILON_M;
}

static bool certain(double gap_m, bool mixed, double margin_m)
{
    return gap_m - (mixed ? margin_m : 0.0) > DC_STRATEGIC_ALT_EPSILON_M;
}

/* 0: bands apart; 1: bands overlap; 2: they overlap or not depending on the FL = W84
 * assumption (within the configured margin). */
static int altitude_verdict(const dc_strategic_t *eng, const svol_t *a, const svol_t *b)
{
    double m = eng->cfg.fl_w84_margin_m;
    double g1 = b->alt_upper_m - a->alt_lower_m, g2 = a->alt_upper_m - b->alt_lower_m;
    bool mix1 = a->lower_fl != b->upper_fl, mix2 = a->upper_fl != b->lower_fl;
    if (!possible(g1, mix1, m) || !possible(g2, mix2, m)) return 0;
    if (certain(g1, mix1, m) && certain(g2, mix2, m)) return 1;
    return 2;
}

/* The altitude band reported for a pair with verdict alt (1 or 2).
 *
 * Verdict 1 (overlap whatever the atmosphere): the nominal intersection, read under the stated
 * assumption (FL = W84). It is never inverted: certain() held for both cross gaps g1, g2, so
 * g1, g2 > epsilon, and each band's own width is > epsilon by validation; the intersection's
 * width is the least of those four differences.
 *
 * Verdict 2 (flagged): the band within which the two may overlap, in W84 heights. Every FL end
 * lies at its nominal value + d, one unknown d in [-margin, +margin] for all of them (the same
 * atmosphere); the band is the hull of the intersections over the d for which the cross gaps
 * stay open (the verdict's test). Every end moves up with d or stays, so the hull's lower end is
 * the intersection's lower end at the least such d. That d is -margin unless a cross gap
 * between an FL upper end and a W84 lower end bounds it from below -- and then that W84 lower
 * end is the higher lower end at that d and at -margin alike. Likewise above. So the hull is
 * the intersection of the two bands with every FL end widened outward by the margin: lower ends
 * down, upper ends up. That includes an FL end whose cross partner is FL too (FL066-FL100 vs
 * FL062 to W84 1950 m: the lower ends FL066 and FL062 both move with d, so the band starts at
 * FL066 - margin, not at FL062). Like the verdict, the hull does not ask whether a half-mixed
 * band's own ends could cross at some d (an empty band): it may be wider than needed there.
 *
 * Never inverted either: the widened intersection's width is the least of the two widened own
 * widths (> epsilon, widening only adds) and the two widened cross gaps. A cross gap g1 grows by
 * the margin once per FL end among its two, and possible() held: g1 > epsilon if its ends share a
 * reference, g1 + margin > epsilon if they do not (mix1, exactly one FL end). Same for g2. So
 * the width is > epsilon, and no clamp is needed. */
static void alt_band(const dc_strategic_t *eng, const svol_t *a, const svol_t *b, int alt,
                     double *lower_m, double *upper_m)
{
    double m = alt == 2 ? eng->cfg.fl_w84_margin_m : 0.0;
    *lower_m =
        fmax(a->alt_lower_m - (a->lower_fl ? m : 0.0), b->alt_lower_m - (b->lower_fl ? m : 0.0));
    *upper_m =
        fmin(a->alt_upper_m + (a->upper_fl ? m : 0.0), b->alt_upper_m + (b->upper_fl ? m : 0.0));
}

static int cmp_conflict(const void *pa, const void *pb)
{
    const dc_strategic_conflict_t *a = pa, *b = pb;
    if (a->volume_index != b->volume_index) return a->volume_index < b->volume_index ? -1 : 1;
    return strcmp(a->other_ref, b->other_ref);
}

void dc_strategic_result_clear(dc_strategic_result_t *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n_conflicts; i++) free(res->conflicts[i].footprint_geojson);
    free(res->conflicts);
    memset(res, 0, sizeof(*res));
}

/* One filed volume's query: what visit_cell needs to test the candidates of each cell. */
typedef struct query {
    const dc_operation_t *op;
    size_t volume_index;
    const svol_t *q;
    fp_query_t fq;
    uint32_t stamp, party, skip_op;
    bool party_known;
    dc_strategic_result_t *res;
    size_t cap;
    dc_err_t rc;
} query_t;

static bool add_conflict(dc_strategic_t *eng, query_t *qu, const svol_t *o, int alt)
{
    const sop_t *oop = &eng->ops[o->op];
    fp_overlap_t ov;
    int hit = fp_query_test(&qu->fq, &o->fp, &ov);
    if (hit == 0) return true;
    if (hit < 0) { /* GEOS could not decide: report, on the safe side, with unknown area */
        memset(&ov, 0, sizeof(ov));
        ov.area_m2 = -1;
    }
    dc_strategic_result_t *res = qu->res;
    if (!dc_array_grow((void **)&res->conflicts, &qu->cap, res->n_conflicts + 1,
                       sizeof(*res->conflicts))) {
        free(ov.geojson);
        qu->rc = DC_ERR_NOMEM;
        return false;
    }
    const svol_t *q = qu->q;
    dc_strategic_conflict_t *cf = &res->conflicts[res->n_conflicts++];
    memset(cf, 0, sizeof(*cf));
    cf->volume_index = qu->volume_index;
    memcpy(cf->other_ref, oop->ref, sizeof(cf->other_ref));
    snprintf(cf->other_party, sizeof(cf->other_party), "%s", eng->parties[oop->party]);
    int64_t mine = qu->op->priority;
    cf->priority = mine < oop->priority   ? DC_PRIORITY_LOWER
                   : mine > oop->priority ? DC_PRIORITY_HIGHER
                                          : DC_PRIORITY_EQUAL;
    alt_band(eng, q, o, alt, &cf->alt_lower_m, &cf->alt_upper_m);
    cf->alt_assumption = alt == 2;
    cf->t_start_s = fmax(q->t_start_s, o->t_start_s);
    cf->t_end_s = fmin(q->t_end_s, o->t_end_s);
    cf->area_m2 = ov.area_m2;
    cf->touching = ov.touching;
    cf->footprint_geojson = ov.geojson;
    return true;
}

static bool visit_cell(dc_strategic_t *eng, uint64_t key, void *arg)
{
    query_t *qu = arg;
    uint32_t ci;
    if (!dc_u64map_get(&eng->cell_by_key, key, &ci)) return true;
    const cell_t *c = &eng->cells[ci];
    const svol_t *q = qu->q;
    for (uint32_t k = 0; k < c->n; k++) {
        /* The records are scattered over the heap: ask for a few ahead while testing this one. */
        if (k + 4 < c->n) __builtin_prefetch(&eng->vols[c->ids[k + 4]]);
        svol_t *o = &eng->vols[c->ids[k]];
        if (o->stamp == qu->stamp) continue; /* seen in another cell */
        o->stamp = qu->stamp;
        if (o->op == qu->skip_op) continue;
        if (!eng->cfg.include_same_party && qu->party_known && eng->ops[o->op].party == qu->party)
            continue;
        if (!(q->t_start_s < o->t_end_s && o->t_start_s < q->t_end_s)) continue;
        int alt = altitude_verdict(eng, q, o);
        if (alt == 0) continue;
        qu->res->candidates++;
        if (!add_conflict(eng, qu, o, alt)) return false;
    }
    return true;
}

/* Checks op's volumes, prepared as vs, against the index, skipping operation slot skip_op
 * (UINT32_MAX: none). */
static dc_err_t check(dc_strategic_t *eng, const dc_operation_t *op, const svol_t *vs,
                      uint32_t party, bool party_known, uint32_t skip_op,
                      dc_strategic_result_t *res)
{
    memset(res, 0, sizeof(*res));
    query_t qu = {.op = op,
                  .party = party,
                  .party_known = party_known,
                  .skip_op = skip_op,
                  .res = res,
                  .rc = DC_OK};
    for (size_t vi = 0; vi < op->n_volumes && qu.rc == DC_OK; vi++) {
        qu.volume_index = vi;
        qu.q = &vs[vi];
        if ((qu.rc = fp_query_init(&qu.fq, eng->ctx, &qu.q->fp)) == DC_OK) {
            qu.stamp = ++eng->stamp;
            if (qu.stamp == 0) { /* wrapped: old stamps could collide */
                for (size_t k = 0; k < eng->vols_len; k++) eng->vols[k].stamp = 0;
                qu.stamp = eng->stamp = 1;
            }
            box_foreach(eng, &qu.q->box, visit_cell, &qu);
            fp_query_clear(&qu.fq);
        }
    }
    if (qu.rc != DC_OK) {
        dc_strategic_result_clear(res);
        return qu.rc;
    }
    if (res->n_conflicts > 1)
        qsort(res->conflicts, res->n_conflicts, sizeof(*res->conflicts), cmp_conflict);
    return DC_OK;
}

dc_err_t dc_strategic_check(dc_strategic_t *eng, const dc_operation_t *op,
                            dc_strategic_result_t *res)
{
    memset(res, 0, sizeof(*res));
    dc_strategic_prepared_t *p;
    dc_err_t rc = dc_strategic_prepare(eng, op, &p, NULL);
    if (rc != DC_OK) return rc;
    uint32_t party = 0;
    bool known = dc_strmap_get(&eng->party_by_name, op->party, &party);
    uint32_t self = UINT32_MAX;
    dc_strmap_get(&eng->op_by_id, op->id, &self);
    rc = check(eng, op, p->vs, party, known, self, res);
    dc_strategic_prepared_free(p);
    return rc;
}

dc_err_t dc_strategic_file(dc_strategic_t *eng, const dc_operation_t *op,
                           dc_strategic_result_t *res)
{
    dc_strategic_result_t local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    dc_strategic_prepared_t *p;
    dc_err_t rc = dc_strategic_prepare(eng, op, &p, NULL);
    if (rc == DC_OK) rc = dc_strategic_file_prepared(eng, p, res);
    dc_strategic_prepared_free(p);
    if (res == &local) dc_strategic_result_clear(res);
    return rc;
}

dc_err_t dc_strategic_file_prepared(dc_strategic_t *eng, dc_strategic_prepared_t *p,
                                    dc_strategic_result_t *res)
{
    const dc_operation_t *op = p->op;
    dc_strategic_result_t local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    uint32_t existing;
    if (dc_strmap_get(&eng->op_by_id, op->id, &existing)) return DC_ERR_CONFLICT;
    if (!dc_op_state_is_live(op->state)) return DC_ERR_INVALID;
    dc_err_t rc;
    uint32_t party;
    svol_t *vs = p->vs;
    if (!party_intern(eng, op->party, &party)) return DC_ERR_NOMEM;
    if ((rc = check(eng, op, vs, party, true, UINT32_MAX, res)) != DC_OK) goto fail;
    {
        uint32_t oi;
        if (!slot_take((void **)&eng->ops, &eng->ops_cap, &eng->ops_len, &eng->op_free,
                       &eng->op_free_len, &eng->op_free_cap, sizeof(sop_t), &oi)) {
            rc = DC_ERR_NOMEM;
            goto fail;
        }
        sop_t *o = &eng->ops[oi];
        memset(o, 0, sizeof(*o));
        o->id = strdup(op->id);
        if (!o->id) {
            eng->op_free[eng->op_free_len++] = oi;
            rc = DC_ERR_NOMEM;
            goto fail;
        }
        memcpy(o->ref, op->ref[0] ? op->ref : op->id, sizeof(o->ref));
        o->party = party;
        o->state = op->state;
        o->priority = op->priority;
        o->version = 1;
        if ((rc = op_store_volumes(eng, oi, vs, op->n_volumes)) != DC_OK ||
            !dc_strmap_put(&eng->op_by_id, o->id, oi)) {
            if (rc == DC_OK) {
                for (uint32_t k = 0; k < o->n_vols; k++) vol_release(eng, o->vols[k]);
                free(o->vols);
                rc = DC_ERR_NOMEM;
            }
            free(o->id);
            memset(o, 0, sizeof(*o));
            eng->op_free[eng->op_free_len++] = oi;
            goto fail;
        }
        eng->n_live_ops++;
    }
    if (res == &local) dc_strategic_result_clear(res);
    return DC_OK;
fail:
    dc_strategic_result_clear(res);
    return rc;
}

dc_err_t dc_strategic_update(dc_strategic_t *eng, const dc_operation_t *op,
                             uint64_t expected_version, dc_strategic_result_t *res)
{
    dc_strategic_prepared_t *p;
    dc_err_t rc = dc_strategic_prepare(eng, op, &p, NULL);
    if (rc != DC_OK) {
        if (res) memset(res, 0, sizeof(*res));
        return rc;
    }
    rc = dc_strategic_update_prepared(eng, p, expected_version, res);
    dc_strategic_prepared_free(p);
    return rc;
}

dc_err_t dc_strategic_update_prepared(dc_strategic_t *eng, dc_strategic_prepared_t *p,
                                      uint64_t expected_version, dc_strategic_result_t *res)
{
    const dc_operation_t *op = p->op;
    dc_strategic_result_t local;
    if (!res) res = &local;
    memset(res, 0, sizeof(*res));
    uint32_t oi;
    if (!dc_strmap_get(&eng->op_by_id, op->id, &oi)) return DC_ERR_NOT_FOUND;
    sop_t *o = &eng->ops[oi];
    if (strcmp(eng->parties[o->party], op->party) != 0 || o->version != expected_version)
        return DC_ERR_CONFLICT;
    dc_err_t rc = check(eng, op, p->vs, o->party, true, oi, res);
    if (rc != DC_OK) return rc;
    /* Swap the volumes: store the new set first so a failure leaves the old one in place. */
    uint32_t *old = o->vols, n_old = o->n_vols;
    o->vols = NULL;
    o->n_vols = 0;
    rc = op_store_volumes(eng, oi, p->vs, op->n_volumes);
    if (rc != DC_OK) {
        o->vols = old;
        o->n_vols = n_old;
        dc_strategic_result_clear(res);
        return rc;
    }
    for (uint32_t k = 0; k < n_old; k++) vol_release(eng, old[k]);
    free(old);
    o->priority = op->priority;
    if (op->ref[0]) memcpy(o->ref, op->ref, sizeof(o->ref));
    o->version++;
    if (!dc_op_state_is_live(op->state))
        op_release(eng, oi);
    else
        o->state = op->state;
    if (res == &local) dc_strategic_result_clear(res);
    return DC_OK;
}

/* ASTM F3548 operational intent transitions (Accepted=planned, Activated=active), plus
 * cancelled as the owner's withdrawal. Terminal states never leave. */
static bool transition_allowed(dc_op_state_t from, dc_op_state_t to)
{
    if (from == to) return true;
    if (to == DC_OP_ENDED || to == DC_OP_CANCELLED) return dc_op_state_is_live(from);
    switch (from) {
    case DC_OP_PLANNED:
        return to == DC_OP_ACTIVE || to == DC_OP_NONCONFORMING || to == DC_OP_CONTINGENT;
    case DC_OP_ACTIVE:
        return to == DC_OP_NONCONFORMING || to == DC_OP_CONTINGENT;
    case DC_OP_NONCONFORMING:
        return to == DC_OP_ACTIVE || to == DC_OP_CONTINGENT;
    default:
        return false;
    }
}

dc_err_t dc_strategic_set_state(dc_strategic_t *eng, const char *id, dc_op_state_t state)
{
    uint32_t oi;
    if (!dc_strmap_get(&eng->op_by_id, id, &oi)) return DC_ERR_NOT_FOUND;
    sop_t *o = &eng->ops[oi];
    if ((unsigned)state > DC_OP_CONTINGENT || !transition_allowed(o->state, state))
        return DC_ERR_INVALID;
    if (!dc_op_state_is_live(state))
        op_release(eng, oi);
    else
        o->state = state;
    return DC_OK;
}

uint64_t dc_strategic_version(const dc_strategic_t *eng, const char *id)
{
    uint32_t oi;
    return dc_strmap_get(&eng->op_by_id, id, &oi) ? eng->ops[oi].version : 0;
}

size_t dc_strategic_expire(dc_strategic_t *eng, double now_s,
                           void (*on_ended)(const char *id, void *ctx), void *ctx)
{
    size_t dropped = 0;
    while (eng->heap_len && eng->heap[0].t_end_s <= now_s) {
        heap_item_t it = heap_pop(eng);
        svol_t *v = &eng->vols[it.vol];
        if (!v->live || v->gen != it.gen) continue; /* released since it was pushed */
        uint32_t oi = v->op;
        sop_t *o = &eng->ops[oi];
        for (uint32_t k = 0; k < o->n_vols; k++) {
            if (o->vols[k] != it.vol) continue;
            o->vols[k] = o->vols[--o->n_vols];
            break;
        }
        vol_release(eng, it.vol);
        dropped++;
        if (o->n_vols == 0) {
            if (on_ended) on_ended(o->id, ctx);
            op_release(eng, oi);
        }
    }
    return dropped;
}

void dc_strategic_stats(const dc_strategic_t *eng, dc_strategic_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->operations = eng->n_live_ops;
    st->volumes = eng->n_live_vols;
    st->index_cells = eng->cell_by_key.len;
    st->index_entries = eng->index_entries;
    size_t b = sizeof(*eng);
    b += eng->vols_cap * sizeof(svol_t) + eng->vol_free_cap * sizeof(uint32_t);
    for (size_t i = 0; i < eng->vols_len; i++) b += eng->vols[i].fp.n * sizeof(dc_vec3_t);
    b += eng->ops_cap * sizeof(sop_t) + eng->op_free_cap * sizeof(uint32_t);
    for (size_t i = 0; i < eng->ops_len; i++)
        b += eng->ops[i].n_vols * sizeof(uint32_t) +
             (eng->ops[i].id ? strlen(eng->ops[i].id) + 1 : 0);
    b += eng->cells_cap * sizeof(cell_t) + eng->cell_free_cap * sizeof(uint32_t);
    for (size_t i = 0; i < eng->cells_len; i++) b += eng->cells[i].cap * sizeof(uint32_t);
    b += eng->cell_by_key.cap * (sizeof(uint64_t) + sizeof(uint32_t) + 1);
    b += eng->op_by_id.cap * (sizeof(char *) + sizeof(uint32_t));
    b += eng->party_by_name.cap * (sizeof(char *) + sizeof(uint32_t));
    b += eng->heap_cap * sizeof(heap_item_t);
    st->memory_bytes = b;
}
