/* The tactical engine: a table of tracks, a queue of pending changes, and the detection pass.
 *
 * Data layout (per track, see docs/performance.md for the measured total):
 *   rec      88 B   id + kinematic state in ECEF (kinematics.h), dense array
 *   slot      4 B   open-addressing hash id -> rec index, load factor <= 1/2 (so ~8 B/track)
 *   live     36 B   the track's swept box for the current pass
 *   entries   8 B   per index cell the box touches (a few), twice for the radix sort
 *
 * A pass (dc_tactical_detect):
 *   1. swap the change queue out under its mutex and apply it (updates never wait for a pass);
 *   2. drop expired tracks; for each live track compute the box swept over [now, now + T] by its
 *      extrapolated position (ECEF) and altitude, grown by half the minima;
 *   3. emit one 64-bit entry (cell, track) per uniform ECEF grid cell the box touches, and radix
 *      sort them so that the tracks of each cell are contiguous;
 *   4. in each cell test the boxes of every pair; a pair whose boxes overlap is evaluated exactly
 *      once, in the cell that holds the lower corner of the boxes' intersection;
 *   5. sort the conflicts by id and publish them as a new immutable snapshot.
 * Every position moves with time, so a pass must extrapolate every track anyway (O(N)); the index
 * is rebuilt by an O(N) radix sort rather than maintained, and an update costs one hash upsert. */
#include "deconflict/tactical.h"
#include "engine_internal.h"
#include "kinematics.h"
#include "common/array.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACKS_MAX (1u << 28) /* bound on tracks held; update beyond it fails with DC_ERR_LIMIT */
#define QUEUE_MAX  (1u << 24) /* bound on changes queued between two passes */
#define QUEUE_KEEP 4096       /* a drained queue buffer larger than this is freed */

/* The index is a uniform grid over ECEF coordinates in [-GRID_HALF_M, GRID_HALF_M), 2^11 cells
 * per axis. The half-width covers the ellipsoid plus any extrapolation the validation bounds
 * allow (2000 kt for 3600 + 3600 s stays far from the corner of the cube; coordinates outside are
 * clamped into the border cells, which only adds candidates). */
#define GRID_BITS   11
#define GRID_CELLS  (1u << GRID_BITS)
#define GRID_HALF_M 7.0e6
#define CELL_MIN_M  (2.0 * GRID_HALF_M / GRID_CELLS)
/* Cells are R + CELL_SPEED_MPS * T wide. Wider cells mean fewer (cell, track) entries to sort
 * and store but more pairs to box-test per cell; measured with deconflict-bench at 1M tracks
 * (docs/performance.md), 115/230/460/700 m/s gave 686/566/552/551 ms per pass and
 * 7.6/4.2/2.5/1.9 cells per track, so the widest of these is used. */
#define CELL_SPEED_MPS 700.0
#define IDX_BITS       31
#define IDX_MASK       ((1ull << IDX_BITS) - 1)

typedef struct rec {
    char id[DC_TRACK_ID_MAX];
    kin_t k;
} rec_t;

typedef enum { OP_UPDATE, OP_REMOVE } op_kind_t;

typedef struct op {
    op_kind_t kind;
    dc_track_state_t st; /* for OP_REMOVE only st.id is meaningful */
} op_t;

typedef struct box {
    float lo[4], hi[4]; /* x, y, z in m (ECEF), altitude in ft */
} box_t;

/* A live track in the current pass. */
typedef struct live {
    box_t box;
    uint32_t rec; /* index into recs */
} live_t;

/* A snapshot and its reference count; conflicts follow in the same allocation. */
typedef struct snap {
    dc_tactical_snapshot_t pub;
    atomic_int refs;
    dc_conflict_t conflicts[];
} snap_t;

struct dc_tactical {
    dc_tactical_config_t cfg;

    /* Owned by the thread running dc_tactical_detect. */
    rec_t *recs;
    size_t n_recs, cap_recs;
    uint32_t *slots; /* rec index + 1, 0 = empty */
    size_t cap_slots;
    live_t *live; /* per live track in this pass */
    size_t cap_live;
    uint64_t *entries; /* (cell, live index) pairs, and as many again for the sort */
    size_t cap_entries;
    op_t *applying;
    size_t cap_applying;

    /* The change queue. */
    pthread_mutex_t queue_mu;
    op_t *queue;
    size_t n_queue, cap_queue;

    /* The published snapshot. */
    pthread_mutex_t snap_mu;
    snap_t *snap;
};

/* FNV-1a: ids are short, and this is not exposed to adversarial collisions beyond a slower probe.
 */
static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

static size_t slot_find(const dc_tactical_t *eng, const char *id)
{
    size_t mask = eng->cap_slots - 1, i = hash_id(id) & mask;
    while (eng->slots[i] && strcmp(eng->recs[eng->slots[i] - 1].id, id) != 0) i = (i + 1) & mask;
    return i;
}

static bool slots_rehash(dc_tactical_t *eng, size_t cap)
{
    uint32_t *s = calloc(cap, sizeof(*s));
    if (!s) return false;
    free(eng->slots);
    eng->slots = s;
    eng->cap_slots = cap;
    for (size_t r = 0; r < eng->n_recs; r++) eng->slots[slot_find(eng, eng->recs[r].id)] = r + 1;
    return true;
}

/* Deletes the slot at i with backward shifting, keeping every probe chain unbroken. */
static void slot_delete(dc_tactical_t *eng, size_t i)
{
    size_t mask = eng->cap_slots - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!eng->slots[j]) break;
        size_t home = hash_id(eng->recs[eng->slots[j] - 1].id) & mask;
        /* Move slot j back to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            eng->slots[i] = eng->slots[j];
            i = j;
        }
    }
    eng->slots[i] = 0;
}

static void rec_remove_at(dc_tactical_t *eng, size_t r)
{
    slot_delete(eng, slot_find(eng, eng->recs[r].id));
    size_t last = eng->n_recs - 1;
    if (r != last) {
        eng->recs[r] = eng->recs[last];
        eng->slots[slot_find(eng, eng->recs[r].id)] = r + 1;
    }
    eng->n_recs--;
}

/* Applies one update at pass time now_s; returns DC_ERR_NOMEM (state unchanged), DC_ERR_LIMIT,
 * or DC_OK. Sets *stale_report when the report is older than the stored one (and is ignored).
 * A stored state whose time is ahead of now_s (a clock ahead, a time in the wrong unit) never
 * shuts later reports out: any report replaces it, or the track would vanish from detection
 * until the clock caught up with it. */
static dc_err_t apply_update(dc_tactical_t *eng, const dc_track_state_t *st, double now_s,
                             bool *stale_report)
{
    *stale_report = false;
    if ((eng->n_recs + 1) * 2 > eng->cap_slots) {
        if (!slots_rehash(eng, eng->cap_slots ? eng->cap_slots * 2 : 64)) return DC_ERR_NOMEM;
    }
    size_t i = slot_find(eng, st->id);
    if (eng->slots[i]) {
        rec_t *r = &eng->recs[eng->slots[i] - 1];
        if (st->t_s < r->k.t_s && r->k.t_s <= now_s) {
            *stale_report = true;
            return DC_OK;
        }
        kin_from_state(st, &r->k);
        return DC_OK;
    }
    if (eng->n_recs >= TRACKS_MAX) return DC_ERR_LIMIT;
    if (!dc_array_grow((void **)&eng->recs, &eng->cap_recs, eng->n_recs + 1, sizeof(rec_t)))
        return DC_ERR_NOMEM;
    rec_t *r = &eng->recs[eng->n_recs];
    memcpy(r->id, st->id, DC_TRACK_ID_MAX);
    kin_from_state(st, &r->k);
    eng->slots[i] = ++eng->n_recs;
    return DC_OK;
}

static void apply_remove(dc_tactical_t *eng, const char *id)
{
    if (!eng->cap_slots) return;
    size_t i = slot_find(eng, id);
    if (eng->slots[i]) rec_remove_at(eng, eng->slots[i] - 1);
}

dc_tactical_t *dc_tactical_new(const dc_tactical_config_t *cfg)
{
    dc_tactical_config_t def;
    if (!cfg) {
        dc_tactical_config_default(&def);
        cfg = &def;
    }
    if (dc_tactical_config_validate(cfg, NULL) != DC_OK) return NULL;
    dc_tactical_t *eng = calloc(1, sizeof(*eng));
    if (!eng) return NULL;
    eng->cfg = *cfg;
    pthread_mutex_init(&eng->queue_mu, NULL);
    pthread_mutex_init(&eng->snap_mu, NULL);
    return eng;
}

void dc_tactical_snapshot_release(const dc_tactical_snapshot_t *snap)
{
    if (!snap) return;
    snap_t *s = (snap_t *)snap; /* pub is the first member */
    if (atomic_fetch_sub(&s->refs, 1) == 1) free(s);
}

void dc_tactical_free(dc_tactical_t *eng)
{
    if (!eng) return;
    dc_tactical_snapshot_release(eng->snap ? &eng->snap->pub : NULL);
    pthread_mutex_destroy(&eng->queue_mu);
    pthread_mutex_destroy(&eng->snap_mu);
    free(eng->recs);
    free(eng->slots);
    free(eng->live);
    free(eng->entries);
    free(eng->applying);
    free(eng->queue);
    free(eng);
}

static dc_err_t enqueue(dc_tactical_t *eng, const op_t *op)
{
    dc_err_t err = DC_OK;
    pthread_mutex_lock(&eng->queue_mu);
    if (eng->n_queue >= QUEUE_MAX)
        err = DC_ERR_LIMIT;
    else if (!dc_array_grow((void **)&eng->queue, &eng->cap_queue, eng->n_queue + 1, sizeof(op_t)))
        err = DC_ERR_NOMEM;
    else
        eng->queue[eng->n_queue++] = *op;
    pthread_mutex_unlock(&eng->queue_mu);
    return err;
}

dc_err_t dc_tactical_update(dc_tactical_t *eng, const dc_track_state_t *st, const char **field)
{
    dc_err_t err = dc_track_state_validate(st, field);
    if (err != DC_OK) return err;
    op_t op = {.kind = OP_UPDATE, .st = *st};
    /* Normalise the id bytes after the terminator so records compare and copy cleanly. */
    size_t n = strnlen(st->id, DC_TRACK_ID_MAX);
    memset(op.st.id + n, 0, DC_TRACK_ID_MAX - n);
    return enqueue(eng, &op);
}

dc_err_t dc_tactical_remove(dc_tactical_t *eng, const char *id)
{
    op_t op = {.kind = OP_REMOVE};
    size_t n = strnlen(id, DC_TRACK_ID_MAX);
    if (n == 0 || n >= DC_TRACK_ID_MAX) return DC_OK; /* cannot name a stored track */
    memcpy(op.st.id, id, n);
    return enqueue(eng, &op);
}

const dc_tactical_snapshot_t *dc_tactical_snapshot_acquire(dc_tactical_t *eng)
{
    pthread_mutex_lock(&eng->snap_mu);
    snap_t *s = eng->snap;
    if (s) atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&eng->snap_mu);
    return s ? &s->pub : NULL;
}

/* Step 1: take the queue and apply it. On OOM the unapplied rest is put back at the queue's
 * front so nothing is lost. */
static dc_err_t apply_queue(dc_tactical_t *eng, double now_s, dc_tactical_stats_t *st)
{
    pthread_mutex_lock(&eng->queue_mu);
    op_t *ops = eng->queue;
    size_t n = eng->n_queue, cap = eng->cap_queue;
    eng->queue = eng->applying;
    eng->cap_queue = eng->cap_applying;
    eng->n_queue = 0;
    pthread_mutex_unlock(&eng->queue_mu);
    eng->applying = ops;
    eng->cap_applying = cap;

    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == OP_REMOVE) {
            apply_remove(eng, ops[i].st.id);
            continue;
        }
        bool old = false;
        dc_err_t err = apply_update(eng, &ops[i].st, now_s, &old);
        if (err == DC_ERR_LIMIT) continue; /* dropped: the table is full */
        if (err != DC_OK) {
            /* Requeue ops[i..n) ahead of anything queued meanwhile. */
            pthread_mutex_lock(&eng->queue_mu);
            size_t rest = n - i, now_q = eng->n_queue;
            if (dc_array_grow((void **)&eng->queue, &eng->cap_queue, now_q + rest, sizeof(op_t))) {
                memmove(eng->queue + rest, eng->queue, now_q * sizeof(op_t));
                memcpy(eng->queue, ops + i, rest * sizeof(op_t));
                eng->n_queue = now_q + rest;
            }
            pthread_mutex_unlock(&eng->queue_mu);
            return err;
        }
        st->out_of_order += old;
    }
    /* A burst (e.g. the first load of a million tracks) must not pin a burst-sized buffer. */
    if (eng->cap_applying > QUEUE_KEEP) {
        free(eng->applying);
        eng->applying = NULL;
        eng->cap_applying = 0;
    }
    return DC_OK;
}

static inline uint32_t cell_of(float c, float inv_cell)
{
    float f = (c + (float)GRID_HALF_M) * inv_cell;
    if (!(f > 0)) return 0; /* also catches NaN, which validation already excludes */
    uint32_t i = (uint32_t)f;
    return i < GRID_CELLS ? i : GRID_CELLS - 1;
}

static inline uint64_t cell_key(uint32_t ix, uint32_t iy, uint32_t iz)
{
    return ((uint64_t)ix << (IDX_BITS + 2 * GRID_BITS)) | ((uint64_t)iy << (IDX_BITS + GRID_BITS)) |
           ((uint64_t)iz << IDX_BITS);
}

/* LSD radix sort of the cell bits (above IDX_BITS) in 3 passes of 11 bits. The track index bits
 * below are left in arrival order, which keeps the sort stable and the result deterministic. */
static uint64_t *radix_sort_cells(uint64_t *a, uint64_t *tmp, size_t n)
{
    for (int pass = 0; pass < 3; pass++) {
        int shift = IDX_BITS + pass * GRID_BITS;
        size_t count[GRID_CELLS + 1] = {0};
        for (size_t i = 0; i < n; i++) count[((a[i] >> shift) & (GRID_CELLS - 1)) + 1]++;
        for (size_t d = 1; d <= GRID_CELLS; d++) count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & (GRID_CELLS - 1)]++] = a[i];
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a; /* after an odd number of passes this is the original tmp buffer */
}

static inline bool boxes_overlap(const box_t *a, const box_t *b)
{
    for (int d = 0; d < 4; d++)
        if (a->hi[d] < b->lo[d] || b->hi[d] < a->lo[d]) return false;
    return true;
}

static int conflict_cmp(const void *x, const void *y)
{
    const dc_conflict_t *a = x, *b = y;
    int c = strcmp(a->id1, b->id1);
    return c ? c : strcmp(a->id2, b->id2);
}

static size_t memory_bytes(const dc_tactical_t *eng)
{
    return sizeof(*eng) + eng->cap_recs * sizeof(rec_t) + eng->cap_slots * sizeof(uint32_t) +
           eng->cap_live * sizeof(live_t) + eng->cap_entries * sizeof(uint64_t) +
           (eng->cap_queue + eng->cap_applying) * sizeof(op_t);
}

/* ---- the sweep over cells, by slices ---- */

#define SWEEP_THREADS_MAX 4
#define SWEEP_CELL_LOCAL  256 /* boxes of one cell copied side by side (larger cells: in place) */

size_t dc_tactical_parallel_min_entries = 60000;

/* Threads for a sweep: the cores there are, up to SWEEP_THREADS_MAX. */
static size_t sweep_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > SWEEP_THREADS_MAX ? SWEEP_THREADS_MAX : (size_t)n;
}

typedef struct sweep {
    const dc_tactical_t *eng;
    const uint64_t *sorted;
    size_t from, to; /* entries [from, to): whole cells */
    const pass_params_t *pp;
    double now_s;
    float inv_cell;
    dc_conflict_t *out; /* found, malloc'd */
    size_t n, cap;
    uint64_t cell_pairs, candidates;
    bool nomem;
} sweep_t;

/* Every pair of tracks sharing a cell of the slice, evaluated exactly where their boxes
 * overlap, each pair once: in the cell holding the low corner of the overlap. Reads the engine
 * only; several slices run at once. */
static void *sweep(void *arg)
{
    sweep_t *w = arg;
    const dc_tactical_t *eng = w->eng;
    const uint64_t *sorted = w->sorted;
    const uint64_t cell_mask = ~IDX_MASK;
    const float inv_cell = w->inv_cell;
    /* A cell's boxes copied side by side first: the pair loop then reads them from cache
     * instead of fetching each track's box from wherever it lies, once per pair. */
    box_t local[SWEEP_CELL_LOCAL];
    for (size_t s = w->from; s < w->to;) {
        uint64_t key = sorted[s] & cell_mask;
        size_t end = s + 1;
        while (end < w->to && (sorted[end] & cell_mask) == key) end++;
        bool copied = end - s <= SWEEP_CELL_LOCAL;
        if (copied)
            for (size_t i = s; i < end; i++) local[i - s] = eng->live[sorted[i] & IDX_MASK].box;
        for (size_t i = s; i < end; i++) {
            uint32_t li = (uint32_t)(sorted[i] & IDX_MASK);
            const box_t *bi = copied ? &local[i - s] : &eng->live[li].box;
            for (size_t j = i + 1; j < end; j++) {
                uint32_t lj = (uint32_t)(sorted[j] & IDX_MASK);
                const box_t *bj = copied ? &local[j - s] : &eng->live[lj].box;
                w->cell_pairs++;
                if (!boxes_overlap(bi, bj)) continue;
                uint64_t ref = cell_key(cell_of(fmaxf(bi->lo[0], bj->lo[0]), inv_cell),
                                        cell_of(fmaxf(bi->lo[1], bj->lo[1]), inv_cell),
                                        cell_of(fmaxf(bi->lo[2], bj->lo[2]), inv_cell));
                if (ref != key) continue; /* this pair is evaluated in another cell */
                w->candidates++;
                uint32_t ra = eng->live[li].rec, rb = eng->live[lj].rec;
                dc_pair_eval_t ev;
                if (!kin_eval_pair(&eng->recs[ra].k, &eng->recs[rb].k, w->now_s, w->pp, &ev))
                    continue;
                if (w->n == w->cap) {
                    size_t nc = w->cap ? 2 * w->cap : 64;
                    dc_conflict_t *p = realloc(w->out, nc * sizeof(*p));
                    if (!p) {
                        w->nomem = true;
                        return NULL;
                    }
                    w->out = p, w->cap = nc;
                }
                const char *ia = eng->recs[ra].id, *ib = eng->recs[rb].id;
                bool swap = strcmp(ia, ib) > 0;
                dc_conflict_t *c = &w->out[w->n++];
                memcpy(c->id1, swap ? ib : ia, DC_TRACK_ID_MAX);
                memcpy(c->id2, swap ? ia : ib, DC_TRACK_ID_MAX);
                c->eval = ev; /* symmetric: every field is a distance, a time or a flag */
            }
        }
        s = end;
    }
    return NULL;
}

dc_err_t dc_tactical_detect(dc_tactical_t *eng, double now_s, const dc_tactical_config_t *cfg,
                            const dc_tactical_snapshot_t **snap_out)
{
    if (snap_out) *snap_out = NULL;
    if (!cfg) cfg = &eng->cfg;
    if (!isfinite(now_s) || dc_tactical_config_validate(cfg, NULL) != DC_OK) return DC_ERR_INVALID;

    dc_tactical_stats_t stats = {0};
    dc_err_t err = apply_queue(eng, now_s, &stats);
    if (err != DC_OK) return err;

    /* Step 2: expiry (descending, so swap-removal does not skip anything), then live boxes. */
    for (size_t r = eng->n_recs; r-- > 0;) {
        if (fabs(now_s - eng->recs[r].k.t_s) > cfg->expire_s) {
            rec_remove_at(eng, r);
            stats.expired++;
        }
    }
    if (!dc_array_grow((void **)&eng->live, &eng->cap_live, eng->n_recs, sizeof(live_t)))
        return DC_ERR_NOMEM;

    pass_params_t pp;
    pass_params_from_config(cfg, &pp);
    const double T = cfg->lookahead_s;
    /* Half the minima, plus a margin for the difference between the 3-D chord the boxes bound
     * and the tangent-plane separation the exact test uses (metres over tens of kilometres). */
    const double grow_m = 0.5 * pp.r_m + 100.0 + 0.01 * pp.r_m;
    const double grow_ft = 0.5 * pp.h_ft + 1.0;
    const double cell_m = fmax(CELL_MIN_M, 2.0 * grow_m + CELL_SPEED_MPS * T);
    const float inv_cell = (float)(1.0 / cell_m);

    size_t n_live = 0, n_entries = 0;
    for (size_t r = 0; r < eng->n_recs; r++) {
        const kin_t *k = &eng->recs[r].k;
        if (fabs(now_s - k->t_s) > cfg->stale_s) {
            stats.stale++;
            continue;
        }
        double p0[3], p1[3], z0, z1;
        kin_at(k, now_s, p0, &z0);
        kin_at(k, now_s + T, p1, &z1);
        live_t *lv = &eng->live[n_live++];
        for (int d = 0; d < 3; d++) {
            lv->box.lo[d] = (float)(fmin(p0[d], p1[d]) - grow_m);
            lv->box.hi[d] = (float)(fmax(p0[d], p1[d]) + grow_m);
        }
        lv->box.lo[3] = (float)(fmin(z0, z1) - grow_ft);
        lv->box.hi[3] = (float)(fmax(z0, z1) + grow_ft);
        lv->rec = (uint32_t)r;
        const box_t *b = &lv->box;
        uint32_t nx = cell_of(b->hi[0], inv_cell) - cell_of(b->lo[0], inv_cell) + 1;
        uint32_t ny = cell_of(b->hi[1], inv_cell) - cell_of(b->lo[1], inv_cell) + 1;
        uint32_t nz = cell_of(b->hi[2], inv_cell) - cell_of(b->lo[2], inv_cell) + 1;
        n_entries += (size_t)nx * ny * nz;
    }
    stats.live = n_live;
    stats.tracks = eng->n_recs;

    /* Step 3: entries, sorted by cell. */
    if (!dc_array_grow((void **)&eng->entries, &eng->cap_entries, 2 * n_entries, sizeof(uint64_t)))
        return DC_ERR_NOMEM;
    size_t e = 0;
    for (size_t i = 0; i < n_live; i++) {
        const box_t *b = &eng->live[i].box;
        uint32_t x0 = cell_of(b->lo[0], inv_cell), x1 = cell_of(b->hi[0], inv_cell);
        uint32_t y0 = cell_of(b->lo[1], inv_cell), y1 = cell_of(b->hi[1], inv_cell);
        uint32_t z0 = cell_of(b->lo[2], inv_cell), z1 = cell_of(b->hi[2], inv_cell);
        for (uint32_t x = x0; x <= x1; x++)
            for (uint32_t y = y0; y <= y1; y++)
                for (uint32_t z = z0; z <= z1; z++) eng->entries[e++] = cell_key(x, y, z) | i;
    }
    uint64_t *sorted = radix_sort_cells(eng->entries, eng->entries + n_entries, n_entries);
    stats.index_entries = n_entries;

    /* Step 4: pairs within each cell, the sorted entries cut at cell boundaries into one
     * slice per thread (conflicts are sorted afterwards, so the result does not depend on the
     * cut). */
    sweep_t jobs[SWEEP_THREADS_MAX];
    size_t n_jobs = n_entries >= dc_tactical_parallel_min_entries ? sweep_threads() : 1;
    size_t from = 0;
    for (size_t j = 0; j < n_jobs; j++) {
        size_t to = j + 1 == n_jobs ? n_entries : n_entries * (j + 1) / n_jobs;
        while (to < n_entries && to > from &&
               (sorted[to] & ~IDX_MASK) == (sorted[to - 1] & ~IDX_MASK))
            to++;
        if (to < from) to = from;
        jobs[j] = (sweep_t){.eng = eng,
                            .sorted = sorted,
                            .from = from,
                            .to = to,
                            .pp = &pp,
                            .now_s = now_s,
                            .inv_cell = inv_cell};
        from = to;
    }
    pthread_t th[SWEEP_THREADS_MAX];
    bool started[SWEEP_THREADS_MAX] = {false};
    for (size_t j = 1; j < n_jobs; j++)
        started[j] = pthread_create(&th[j], NULL, sweep, &jobs[j]) == 0;
    sweep(&jobs[0]);
    for (size_t j = 1; j < n_jobs; j++) {
        if (started[j])
            pthread_join(th[j], NULL);
        else
            sweep(&jobs[j]); /* no thread: do it here */
    }
    size_t n_conf = 0;
    bool nomem = false;
    for (size_t j = 0; j < n_jobs; j++) {
        n_conf += jobs[j].n;
        nomem |= jobs[j].nomem;
        stats.cell_pairs += jobs[j].cell_pairs;
        stats.candidates += jobs[j].candidates;
    }
    snap_t *sn = nomem ? NULL : malloc(sizeof(*sn) + (n_conf ? n_conf : 1) * sizeof(dc_conflict_t));
    for (size_t j = 0, at = 0; j < n_jobs; j++) {
        if (sn && jobs[j].n)
            memcpy(sn->conflicts + at, jobs[j].out, jobs[j].n * sizeof(dc_conflict_t));
        at += jobs[j].n;
        free(jobs[j].out);
    }
    if (!sn) return DC_ERR_NOMEM;

    /* Step 5: the snapshot. */
    qsort(sn->conflicts, n_conf, sizeof(dc_conflict_t), conflict_cmp);
    stats.conflicts = n_conf;
    stats.memory_bytes = memory_bytes(eng);
    sn->pub = (dc_tactical_snapshot_t){.now_s = now_s,
                                       .cfg = *cfg,
                                       .conflicts = sn->conflicts,
                                       .n_conflicts = n_conf,
                                       .stats = stats};
    atomic_init(&sn->refs, snap_out ? 2 : 1);

    pthread_mutex_lock(&eng->snap_mu);
    snap_t *old = eng->snap;
    eng->snap = sn;
    pthread_mutex_unlock(&eng->snap_mu);
    dc_tactical_snapshot_release(old ? &old->pub : NULL);
    if (snap_out) *snap_out = &sn->pub;
    return DC_OK;
}

dc_err_t dc_tactical_pair(const dc_track_state_t *a, const dc_track_state_t *b, double now_s,
                          const dc_tactical_config_t *cfg, dc_pair_eval_t *out)
{
    if (dc_track_state_validate(a, NULL) != DC_OK || dc_track_state_validate(b, NULL) != DC_OK ||
        dc_tactical_config_validate(cfg, NULL) != DC_OK || !isfinite(now_s))
        return DC_ERR_INVALID;
    kin_t ka, kb;
    pass_params_t pp;
    kin_from_state(a, &ka);
    kin_from_state(b, &kb);
    pass_params_from_config(cfg, &pp);
    kin_eval_pair(&ka, &kb, now_s, &pp, out);
    return DC_OK;
}

void dc_track_state_at(const dc_track_state_t *s, double t_s, double *lat_deg, double *lon_deg,
                       double *alt_ft)
{
    kin_t k;
    double p[3];
    kin_from_state(s, &k);
    kin_at(&k, t_s, p, alt_ft);
    dc_vec3_t v = {p[0], p[1], p[2]};
    dc_geo_from_ecef(&v, lat_deg, lon_deg);
}

void dc_tactical_separation_at(const dc_track_state_t *a, const dc_track_state_t *b, double now_s,
                               double t_s, double *h_nm, double *v_ft)
{
    /* Evaluate the pair with a zero look-ahead at now + t: hsep/vsep are then the separations. */
    kin_t ka, kb;
    kin_from_state(a, &ka);
    kin_from_state(b, &kb);
    pass_params_t pp = {.r_m = 0, .h_ft = 0, .lookahead_s = 0};
    dc_pair_eval_t ev;
    kin_eval_pair(&ka, &kb, now_s + t_s, &pp, &ev);
    *h_nm = ev.hsep_nm;
    *v_ft = ev.vsep_ft;
}
