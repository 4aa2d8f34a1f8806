/* The tactical engine: a table of tracks, a queue of pending changes, and the detection pass.
 *
 * Data layout (per track, see docs/performance.md for the measured total):
 *   rec      88 B   id + kinematic state in ECEF (kinematics.h), dense array kept in cell order
 *   slot      4 B   open-addressing hash id -> rec index, load factor <= 1/2 (so ~8 B/track)
 *   live     40 B   the track's box in the current slice, and the cube faces it is on
 *   boxes    32 B   per slice, the box the track sweeps in it (passes of more than one slice)
 *   ends     16 B   per slice end, its position and altitude there (the same passes)
 *   entries   8 B   per (face, cell, band) the box touches in a slice, twice for the radix sort
 *
 * A pass (dc_tactical_detect, docs/tactical.md "The index"):
 *   1. swap the change queue out under its mutex and apply it (updates never wait for a pass);
 *   2. drop expired tracks and list the live ones, in one walk;
 *   3. cut [now, now + T] into slices; for each slice, each live track's box (its extrapolated
 *      position and altitude at the slice's ends, grown by half the minima), one 64-bit entry
 *      per cube face, cell and altitude band the box touches, radix sorted so that the tracks of
 *      each cell are contiguous;
 *   4. in each cell test the boxes four at a time; a pair whose boxes overlap (and, with
 *      several slices, whose tracks come within reach of each other in the slice: segments_near)
 *      is evaluated exactly once: in the first slice where that holds, on the first face both
 *      are on, in the cell and band of the overlap's low corner;
 *   5. sort the conflicts by id (by the tracks' ranks when there are many) and publish them as a
 *      new immutable snapshot; set the next pass's resolution from this one's costs, and now and
 *      then put the records in cell order.
 * Every position moves with time, so a pass must extrapolate every track anyway (O(N)); the index
 * is rebuilt by an O(N) radix sort rather than maintained, and an update costs one hash upsert. */
#include "deconflict/tactical.h"
#include "engine_internal.h"
#include "kinematics.h"
#include "common/array.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACKS_MAX (1u << IDX_BITS) /* tracks held; an update beyond fails with DC_ERR_LIMIT */
#define QUEUE_MAX  (1u << 24)       /* bound on changes queued between two passes */
#define QUEUE_KEEP 4096             /* a drained queue buffer larger than this is freed */

/* The index is two-dimensional on the faces of a cube around the Earth: a box is on face +x
 * when some point of it has x >= |y| and x >= |z| (and so on for the six faces), and on a face
 * its cells are a uniform grid over the two other ECEF coordinates in [-GRID_HALF_M,
 * GRID_HALF_M), 2^13 per axis -- a face sees one hemisphere, so two coordinates place a point,
 * and a box near an edge of the cube is on both faces. Cells are crossed with altitude bands
 * and slices of the look-ahead. The half-width covers the ellipsoid plus any extrapolation the
 * validation bounds allow; coordinates outside are clamped into the border cells, which only
 * adds candidates; so are altitudes beyond the bands. */
#define GRID_BITS   13
#define GRID_CELLS  (1u << GRID_BITS)
#define GRID_HALF_M 7.0e6
#define CELL_MIN_M  (2.0 * GRID_HALF_M / GRID_CELLS)
#define BAND_BITS   7
#define BANDS       (1u << BAND_BITS)
#define BAND_LOW_FT (-4000.0) /* about the bottom of band 0 (see band_low_ft in grid_t) */
#define IDX_BITS    25
#define IDX_MASK    ((1ull << IDX_BITS) - 1)
#define FACE_BITS   3
/* The look-ahead is cut into slices (at most SLICES_MAX, none shorter than SLICE_MIN_S): a track
 * is indexed per slice by the box it sweeps in that slice, in cells sized for a slice (2 x the
 * growth + CELL_SPEED x the slice) and in altitude bands BAND_FACTOR x the vertical minimum high.
 * Two tracks are then box-tested only where they are near in space, altitude and time. How
 * finely is set pass by pass from the last pass's costs (adapt_resolution). Measured with
 * deconflict-bench (docs/performance.md, "Dense traffic"). */
#define SLICE_MIN_S    10.0
#define REORDER_PASSES 32
#define SLICES_MAX     8
#define RESOLUTION_MIN 0.125
/* Relative costs, from profiles of deconflict-bench (docs/performance.md): an index entry (its
 * box, made and sorted), a pair of boxes sharing a cell (tested four at a time). */
#define COST_ENTRY     1.0
#define COST_CELL_PAIR 0.15
#define CELL_SPEED_MPS 250.0
#define BAND_FACTOR    2.0

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
    box_t box;     /* in the current slice */
    uint32_t rec;  /* index into recs */
    uint8_t faces; /* the cube faces the box is on, bit f for face f */
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
    box_t *boxes; /* per live track and slice, the box it sweeps (passes of several slices) */
    size_t cap_boxes;
    float (*ends)[4]; /* per live track, where it is at each slice's ends (the same passes) */
    size_t cap_ends;
    double resolution; /* the next pass's index resolution (0: not chosen yet) */
    /* The records are kept in the order of the index's cells (reorder_recs), so that tracks
     * near each other in the sky are near each other in memory: passes since the last
     * reordering, and the records then. */
    size_t passes_since_order, recs_at_order;
    const uint64_t *last_sorted; /* the last slice's sorted entries, during a pass */
    size_t last_n_entries;
    uint64_t *entries; /* (cell, live index) pairs, and as many again for the sort */
    size_t cap_entries;
    /* In a pass with many conflicts (ranked_pass), each live track's rank in the order of the
     * ids: pairs are ordered and their conflicts sorted by ranks (order_conflicts). */
    uint32_t *rank;
    size_t cap_rank;
    bool ranked_pass;
    size_t last_conflicts;
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
    free(eng->boxes);
    free(eng->ends);
    free(eng->rank);
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

static inline uint32_t band_of(float alt_ft, float low_ft, float inv_band)
{
    float f = (alt_ft - low_ft) * inv_band;
    if (!(f > 0)) return 0;
    uint32_t i = (uint32_t)f;
    return i < BANDS ? i : BANDS - 1;
}

static inline uint64_t cell_key(uint32_t face, uint32_t iu, uint32_t iv, uint32_t band)
{
    return ((uint64_t)face << (IDX_BITS + BAND_BITS + 2 * GRID_BITS)) |
           ((uint64_t)iu << (IDX_BITS + BAND_BITS + GRID_BITS)) |
           ((uint64_t)iv << (IDX_BITS + BAND_BITS)) | ((uint64_t)band << IDX_BITS);
}

/* The smallest |c| over [lo, hi]. */
static inline float min_abs(float lo, float hi)
{
    return lo > 0 ? lo : hi < 0 ? -hi : 0;
}

/* The faces box b is on: face 2a (+axis a) when its largest coordinate along a is positive and
 * at least the smallest magnitude of each other coordinate (some point of the box may then
 * project onto that face); 2a + 1 the same for -a. Conservative: only adds faces. */
static uint8_t faces_of(const box_t *b)
{
    uint8_t m = 0;
    for (int a = 0; a < 3; a++) {
        float o1 = min_abs(b->lo[(a + 1) % 3], b->hi[(a + 1) % 3]);
        float o2 = min_abs(b->lo[(a + 2) % 3], b->hi[(a + 2) % 3]);
        float need = o1 > o2 ? o1 : o2;
        if (b->hi[a] > 0 && b->hi[a] >= need) m |= (uint8_t)(1u << (2 * a));
        if (b->lo[a] < 0 && -b->lo[a] >= need) m |= (uint8_t)(2u << (2 * a));
    }
    return m;
}

/* The two coordinates a face's grid is over: for face f (axis f / 2) the other two, in order. */
static inline int face_u(uint32_t f)
{
    return (int)(f / 2 + 1) % 3;
}
static inline int face_v(uint32_t f)
{
    return (int)(f / 2 + 2) % 3;
}

/* LSD radix sort of the entries by key (the bits above IDX_BITS: face, cell, band), in passes of
 * 12 bits over the key less the smallest key, lo, up to the largest, hi: a region's traffic
 * spans a few cells of one face, so two passes mostly do (a pass is also skipped when every
 * entry has the same digit). The track index bits below are left in arrival order, which keeps
 * the sort stable and the result deterministic. Returns a or tmp, whichever holds the result. */
#define RADIX_BITS 12
#define KEY_TOP    (IDX_BITS + BAND_BITS + 2 * GRID_BITS + FACE_BITS)
/* Above the key, unsorted, the entry's 3 mark bits for the sweep (see sweep): its cell and
 * band are past the box's first in u, in v, in altitude. */
#define MARK_SHIFT KEY_TOP
#define CELL_MASK  (((1ull << KEY_TOP) - 1) & ~IDX_MASK)
static uint64_t *radix_sort_keys(uint64_t *a, uint64_t *tmp, size_t n, uint64_t lo, uint64_t hi)
{
    static_assert(KEY_TOP + 3 <= 64, "an entry's key, index and marks fit 64 bits");
    const uint64_t span = (hi - lo) >> IDX_BITS, m = (1u << RADIX_BITS) - 1;
    for (int shift = 0; shift < 64 && (span >> shift) != 0; shift += RADIX_BITS) {
        size_t count[(1u << RADIX_BITS) + 1] = {0};
        const int sh = IDX_BITS + shift;
#define DIGIT(x) (((((x)&CELL_MASK) - lo) >> sh) & m)
        for (size_t i = 0; i < n; i++) count[DIGIT(a[i]) + 1]++;
        if (n && count[DIGIT(a[0]) + 1] == n) continue; /* one digit: nothing to do */
        for (size_t d = 1; d <= m + 1; d++) count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++) tmp[count[DIGIT(a[i])]++] = a[i];
#undef DIGIT
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

static inline bool boxes_overlap(const box_t *a, const box_t *b)
{
    for (int d = 0; d < 4; d++)
        if (a->hi[d] < b->lo[d] || b->hi[d] < a->lo[d]) return false;
    return true;
}

/* Conflicts are published in the order of their ids, sorted by keys: the first 8 bytes of each
 * id, big-endian (byte order, as strcmp orders them; ids are zero-padded), and the ids
 * themselves only where those tie. */
typedef struct conflict_key {
    uint64_t k1, k2;
    const dc_conflict_t *c;
    bool long1, long2; /* id1, id2 longer than 8 bytes: the prefix may not decide */
} conflict_key_t;

static uint64_t id_prefix(const char *id)
{
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) k = k << 8 | (unsigned char)id[i];
    return k;
}

static inline bool key_less(const conflict_key_t *a, const conflict_key_t *b)
{
    if (a->k1 != b->k1) return a->k1 < b->k1;
    /* Equal first 8 bytes: equal ids unless either is longer (the conflicts themselves are read
     * only then: most comparisons stay in the keys). */
    int c = a->long1 || b->long1 ? strcmp(a->c->id1 + 8, b->c->id1 + 8) : 0;
    if (c) return c < 0;
    if (a->k2 != b->k2) return a->k2 < b->k2;
    c = a->long2 || b->long2 ? strcmp(a->c->id2 + 8, b->c->id2 + 8) : 0;
    return c < 0;
}

/* Quicksort (median of three, the smaller side first) down to runs of 16, then one insertion
 * sort: the comparison inlined, which qsort's callback cannot be. */
static void sort_keys(conflict_key_t *a, size_t n)
{
    while (n > 16) {
        size_t m = n / 2;
        conflict_key_t *x = &a[0], *y = &a[m], *z = &a[n - 1], t;
        if (key_less(y, x)) t = *x, *x = *y, *y = t;
        if (key_less(z, y)) t = *y, *y = *z, *z = t;
        if (key_less(y, x)) t = *x, *x = *y, *y = t;
        conflict_key_t pivot = a[m];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (key_less(&a[i], &pivot)) i++;
            while (key_less(&pivot, &a[j])) j--;
            if (i >= j) break;
            t = a[i], a[i] = a[j], a[j] = t;
            i++, j--;
        }
        size_t left = j + 1;
        if (left < n - left) {
            sort_keys(a, left);
            a += left, n -= left;
        } else {
            sort_keys(a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        conflict_key_t v = a[i];
        size_t j = i;
        for (; j > 0 && key_less(&v, &a[j - 1]); j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Sorts the n conflicts of from into to; false on OOM. */
static bool sort_conflicts(const dc_conflict_t *from, size_t n, dc_conflict_t *to)
{
    conflict_key_t *keys = malloc((n ? n : 1) * sizeof(*keys));
    if (!keys) return false;
    for (size_t i = 0; i < n; i++)
        keys[i] = (conflict_key_t){id_prefix(from[i].id1), id_prefix(from[i].id2), &from[i],
                                   from[i].id1[8] != '\0', from[i].id2[8] != '\0'};
    sort_keys(keys, n);
    for (size_t i = 0; i < n; i++) to[i] = *keys[i].c;
    free(keys);
    return true;
}

static size_t memory_bytes(const dc_tactical_t *eng)
{
    return sizeof(*eng) + eng->cap_recs * sizeof(rec_t) + eng->cap_slots * sizeof(uint32_t) +
           eng->cap_live * sizeof(live_t) + eng->cap_boxes * sizeof(*eng->boxes) +
           eng->cap_ends * sizeof(*eng->ends) + eng->cap_entries * sizeof(uint64_t) +
           (eng->cap_queue + eng->cap_applying) * sizeof(op_t);
}

/* ---- the index of one pass: slices of the look-ahead ---- */

/* Sizes a per-pass array for need elements and 1/16 more: its size follows the traffic, which
 * changes little from pass to pass, so the 1.5x of dc_array_grow would mostly be kept unused;
 * and one that needs less than half of what it holds (the resolution went down, the traffic
 * thinned) gives the rest back. */
static bool pass_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && (need >= *cap / 2 || *cap < 4096)) return true;
    size_t n = need + need / 16 + 16;
    if (n > SIZE_MAX / elem) return false;
    void *p = realloc(*arr, n * elem);
    if (!p) return need <= *cap; /* could not shrink: keep it */
    *arr = p, *cap = n;
    return true;
}

/* A key and the index it belongs to, for the radix sorts below. */
typedef struct keyed {
    uint64_t key;
    uint32_t idx;
} keyed_t;

/* LSD radix sort of a[0..n) by key, in passes of 11 bits over the bits below key_bits, a pass
 * skipped when every key has the same digit; stable. Returns a or tmp, whichever holds it. */
static keyed_t *radix_sort_keyed(keyed_t *a, keyed_t *tmp, size_t n, int key_bits)
{
    for (int shift = 0; shift < key_bits; shift += 11) {
        size_t count[(1u << 11) + 1] = {0};
        const uint64_t m = (1u << 11) - 1;
        for (size_t i = 0; i < n; i++) count[((a[i].key >> shift) & m) + 1]++;
        if (n && count[((a[0].key >> shift) & m) + 1] == n) continue;
        for (size_t d = 1; d <= m + 1; d++) count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++) tmp[count[(a[i].key >> shift) & m]++] = a[i];
        keyed_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/* Each live track's rank in the order of the ids (strcmp's, as sort_conflicts orders them): a
 * radix sort of the ids' first 8 bytes, then, where those tie, the rest compared. false on
 * OOM. */
static bool rank_live(dc_tactical_t *eng, size_t n_live)
{
    if (!pass_array((void **)&eng->rank, &eng->cap_rank, n_live, sizeof(*eng->rank))) return false;
    keyed_t *a = malloc((n_live ? n_live : 1) * 2 * sizeof(*a));
    if (!a) return false;
    for (size_t i = 0; i < n_live; i++)
        a[i] = (keyed_t){id_prefix(eng->recs[eng->live[i].rec].id), (uint32_t)i};
    keyed_t *s = radix_sort_keyed(a, a + n_live, n_live, 64);
    for (size_t i = 0; i < n_live;) {
        size_t end = i + 1;
        while (end < n_live && s[end].key == s[i].key) end++;
        for (size_t k = i + 1; k < end; k++) { /* equal prefixes: longer ids, rarely */
            keyed_t v = s[k];
            const char *id = eng->recs[eng->live[v.idx].rec].id + 8;
            size_t j = k;
            for (; j > i && strcmp(id, eng->recs[eng->live[s[j - 1].idx].rec].id + 8) < 0; j--)
                s[j] = s[j - 1];
            s[j] = v;
        }
        i = end;
    }
    for (size_t r = 0; r < n_live; r++) eng->rank[s[r].idx] = (uint32_t)r;
    free(a);
    return true;
}

/* The n conflicts of from into to in the order of their ids, by their ranks (order). false on
 * OOM. */
static bool order_conflicts(const dc_conflict_t *from, const uint64_t *order, size_t n,
                            size_t n_live, dc_conflict_t *to)
{
    keyed_t *a = malloc((n ? n : 1) * 2 * sizeof(*a));
    if (!a) return false;
    /* The two ranks side by side in as few bits as they need: fewer passes. */
    int rank_bits = 1;
    while (rank_bits < 32 && ((size_t)1 << rank_bits) < n_live) rank_bits++;
    for (size_t i = 0; i < n; i++)
        a[i] = (keyed_t){(order[i] >> 32) << rank_bits | (order[i] & 0xffffffffu), (uint32_t)i};
    keyed_t *s = radix_sort_keyed(a, a + n, n, 2 * rank_bits);
    for (size_t i = 0; i < n; i++) to[i] = from[s[i].idx];
    free(a);
    return true;
}

/* The geometry of a pass's index. */
typedef struct grid {
    double now_s, slice_s;
    size_t n_slices;
    float grow_m, grow_ft; /* half the minima and the margins, added to every box */
    float inv_cell, inv_band;
    /* Band boundaries sit half a vertical minimum off its multiples: an aircraft level on a
     * multiple of H (flight levels, for H = 1,000 ft) is in one band, never two. */
    float band_low_ft;
} grid_t;

/* Where each live track is at the ends of the slices (motion is linear in ECEF and in
 * altitude, so a slice's two ends bound it): n_slices + 1 points per track, computed once a pass.
 * Floats: 0.5 m at the Earth's radius, well inside the boxes' 100 m margin. */
static void slice_ends(const kin_t *k, const grid_t *g, float (*ends)[4])
{
    for (size_t e = 0; e <= g->n_slices; e++) {
        double p[3], z;
        kin_at(k, g->now_s + e * g->slice_s, p, &z);
        ends[e][0] = (float)p[0], ends[e][1] = (float)p[1], ends[e][2] = (float)p[2];
        ends[e][3] = (float)z;
    }
}

/* The box a track sweeps in slice s, from its ends: grown by half the minima. The one place a
 * box is made, so that two computations of one box agree to the bit. */
static inline void slice_box(const float (*ends)[4], const grid_t *g, size_t s, box_t *b)
{
    for (int d = 0; d < 4; d++) {
        float a = ends[s][d], c = ends[s + 1][d], grow = d < 3 ? g->grow_m : g->grow_ft;
        b->lo[d] = (a < c ? a : c) - grow;
        b->hi[d] = (a < c ? c : a) + grow;
    }
}

/* ---- the sweep over cells, by parts ---- */

#define SWEEP_THREADS_MAX 4

size_t dc_tactical_parallel_min_entries = 60000;
size_t dc_tactical_threads_max = 0;
double dc_tactical_resolution_fixed = 0;
double dc_tactical_rank_min_share = 0.25;

/* Threads for a sweep: the cores there are, up to SWEEP_THREADS_MAX (and the set maximum). */
static size_t sweep_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = n < 1 ? 1 : n > SWEEP_THREADS_MAX ? SWEEP_THREADS_MAX : (size_t)n;
    return dc_tactical_threads_max && dc_tactical_threads_max < t ? dc_tactical_threads_max : t;
}

typedef struct sweep {
    const dc_tactical_t *eng;
    const uint64_t *sorted;
    size_t from, to; /* entries [from, to): whole cells */
    const pass_params_t *pp;
    const grid_t *g;
    size_t slice;
    dc_conflict_t *out; /* found over every slice, malloc'd */
    uint64_t *order;    /* in a ranked pass, each one's ranks: id1's, then id2's (low bits) */
    size_t n, cap;
    uint64_t cell_pairs, candidates;
    float *soa; /* a cell's boxes by coordinate: 8 columns of cap_soa */
    uint32_t *soa_idx;
    size_t cap_soa;
    bool nomem;
} sweep_t;

/* Whether two tracks come within twice the boxes' growth of each other in space during the
 * slice whose ends are a[0..1] and b[0..1]: their relative motion is a straight segment in ECEF,
 * and its nearest point to the origin is where they are closest. Any pair closer than the
 * minimum at some moment of the slice is (the boxes' margin covers the chord against the
 * tangent plane), so this only turns away pairs whose boxes overlap without the tracks coming
 * near: boxes are aligned with the axes, and a track flying across them fills a third of its
 * box. */
static inline bool segments_near(const float (*a)[4], const float (*b)[4], const grid_t *g)
{
    /* Floats: the rounding of r0 len2 - dot^2 is a few parts in 10^7 of its terms, centimetres
     * at 100 km, where the boxes' margin is hundreds of metres. */
    float dot = 0, len2 = 0, r0 = 0, r1 = 0;
    for (int k = 0; k < 3; k++) {
        float d0 = b[0][k] - a[0][k], d1 = b[1][k] - a[1][k], dd = d1 - d0;
        dot += d0 * dd, len2 += dd * dd;
        r0 += d0 * d0, r1 += d1 * d1;
    }
    float reach2 = 4 * g->grow_m * g->grow_m;
    if (-dot <= 0) return r0 < reach2;            /* nearest at the slice's start */
    if (-dot >= len2) return r1 < reach2;         /* ... at its end */
    return r0 * len2 - dot * dot < reach2 * len2; /* between: no division needed */
}

/* Whether a pair met in an earlier slice than s: its boxes overlapped there and the tracks came
 * near (where it was, or will be, evaluated). From each track's boxes and ends by slice. Asked
 * only of pairs that pass every other test: few. */
static bool met_earlier(const box_t *a, const box_t *b, const float (*ea)[4], const float (*eb)[4],
                        const grid_t *g, size_t s)
{
    /* Latest first: a pair that overlaps now mostly overlapped in the slice before. */
    for (size_t e = s; e-- > 0;)
        if (boxes_overlap(&a[e], &b[e]) && segments_near(ea + e, eb + e, g)) return true;
    return false;
}

/* A pair whose boxes overlap in the cell it is to be evaluated in (sweep): evaluated exactly,
 * and kept when in conflict, unless its boxes overlapped in an earlier slice already (where it
 * was evaluated). false on OOM. */
static bool pair_found(sweep_t *w, uint32_t li, uint32_t lj)
{
    const dc_tactical_t *eng = w->eng;
    const grid_t *g = w->g;
    size_t stride = g->n_slices;
    if (eng->ends) {
        /* Several slices: the tracks must also come near in this one, and the pair is the first
         * slice's where both hold. */
        const float(*ea)[4] = eng->ends + li * (stride + 1),
              (*eb)[4] = eng->ends + lj * (stride + 1);
        if (!segments_near(ea + w->slice, eb + w->slice, g)) return true;
        if (w->slice &&
            met_earlier(eng->boxes + li * stride, eng->boxes + lj * stride, ea, eb, g, w->slice))
            return true;
    }
    w->candidates++;
    uint32_t ra = eng->live[li].rec, rb = eng->live[lj].rec;
    const kin_t *ka = &eng->recs[ra].k, *kb = &eng->recs[rb].k;
    dc_pair_eval_t ev;
    if (!kin_test_pair(ka, kb, g->now_s, w->pp, &ev)) return true;
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 64;
        dc_conflict_t *p = realloc(w->out, nc * sizeof(*p));
        if (p) w->out = p;
        uint64_t *o = eng->ranked_pass ? realloc(w->order, nc * sizeof(*o)) : NULL;
        if (o) w->order = o;
        if (!p || (eng->ranked_pass && !o)) return false;
        w->cap = nc;
    }
    const char *ia = eng->recs[ra].id, *ib = eng->recs[rb].id;
    bool swap;
    if (eng->ranked_pass) {
        uint64_t ka_rank = eng->rank[li], kb_rank = eng->rank[lj];
        swap = ka_rank > kb_rank;
        w->order[w->n] = swap ? kb_rank << 32 | ka_rank : ka_rank << 32 | kb_rank;
    } else {
        swap = strcmp(ia, ib) > 0;
    }
    dc_conflict_t *c = &w->out[w->n++];
    memcpy(c->id1, swap ? ib : ia, DC_TRACK_ID_MAX);
    memcpy(c->id2, swap ? ia : ib, DC_TRACK_ID_MAX);
    c->eval = ev; /* symmetric: every field is a distance, a time or a flag */
    return true;
}

/* Four floats at once: GCC's vector extension, SSE on x86-64 and NEON on ARM, plain code
 * elsewhere. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* A bit per lane of a comparison's result (lanes 0 or -1): one instruction on x86-64. */
static inline uint32_t lane_bits(v4i m)
{
#if defined(__SSE__)
    return (uint32_t)__builtin_ia32_movmskps((v4f)m);
#else
    return (uint32_t)((m[0] & 1) | (m[1] & 2) | (m[2] & 4) | (m[3] & 8));
#endif
}

/* Grows the part's scratch to hold n boxes (rounded up to 4). */
static bool scratch_grow(sweep_t *w, size_t n)
{
    size_t need = (n + 3) & ~(size_t)3;
    if (need <= w->cap_soa) return true;
    size_t cap = need > 2 * w->cap_soa ? need : 2 * w->cap_soa;
    float *p = realloc(w->soa, cap * 9 * sizeof(float)); /* 8 coordinates and the marks */
    uint32_t *ix = realloc(w->soa_idx, cap * sizeof(uint32_t));
    if (p) w->soa = p;
    if (ix) w->soa_idx = ix;
    if (!p || !ix) return false;
    w->cap_soa = cap;
    return true;
}

/* Every pair of tracks sharing a cell of the part whose boxes overlap, taken (pair_found) in the
 * one cell where the pair is to be: on the first cube face both are on, and there the cell and
 * band of the overlap's low corner. A cell's boxes are first laid out by coordinate (lo x, hi x,
 * lo y, ... each a column of the scratch, padded to 4 with boxes that meet nothing) with a mark
 * each: bit 0-2 set when the box starts before this cell in u, v, band (carried in the entry,
 * set when it was made), bit 3 + f when it is on an earlier face f. Two overlapping boxes sharing
 * no mark bit are the pair's to take here (the overlap's low corner is the larger of the two low
 * corners). One box is then tested against four at a time, from cache. Reads the engine only;
 * several parts run at once. */
static void *sweep(void *arg)
{
    sweep_t *w = arg;
    const dc_tactical_t *eng = w->eng;
    const uint64_t *sorted = w->sorted;
    for (size_t s = w->from; s < w->to;) {
        uint64_t key = sorted[s] & CELL_MASK;
        size_t end = s + 1;
        while (end < w->to && (sorted[end] & CELL_MASK) == key) end++;
        size_t n = end - s, n4 = (n + 3) & ~(size_t)3;
        w->cell_pairs += n * (n - 1) / 2;
        if (n < 2) {
            s = end;
            continue;
        }
        if (!scratch_grow(w, n)) {
            w->nomem = true;
            return NULL;
        }
        uint32_t f = (uint32_t)(key >> (IDX_BITS + BAND_BITS + 2 * GRID_BITS));
        float *col[8];
        for (int d = 0; d < 8; d++) col[d] = w->soa + d * w->cap_soa;
        int32_t *mark = (int32_t *)(w->soa + 8 * w->cap_soa);
        for (size_t i = 0; i < n4; i++) {
            if (i < n) {
                uint32_t li = (uint32_t)(sorted[s + i] & IDX_MASK);
                const live_t *lv = &eng->live[li];
                const box_t *b = &lv->box;
                w->soa_idx[i] = li;
                for (int d = 0; d < 4; d++) col[2 * d][i] = b->lo[d], col[2 * d + 1][i] = b->hi[d];
                mark[i] = (int32_t)(sorted[s + i] >> MARK_SHIFT) |
                          (int32_t)(lv->faces & ((1u << f) - 1)) << 3;
            } else {
                for (int d = 0; d < 4; d++) col[2 * d][i] = INFINITY, col[2 * d + 1][i] = -INFINITY;
                mark[i] = -1;
            }
        }
        for (size_t i = 0; i + 1 < n; i++) {
            v4f lo_i[4], hi_i[4];
            for (int d = 0; d < 4; d++) {
                float l = col[2 * d][i], h = col[2 * d + 1][i];
                lo_i[d] = (v4f){l, l, l, l}, hi_i[d] = (v4f){h, h, h, h};
            }
            int32_t mi = mark[i];
            v4i mark_i = {mi, mi, mi, mi}, zero = {0, 0, 0, 0};
            /* The first block's lanes up to i are not pairs (or not new ones). */
            uint32_t first = ~((2u << (i & 3)) - 1) & 15u;
            for (size_t jb = (i + 1) & ~(size_t)3; jb < n4; jb += 4) {
                v4i mark_j;
                memcpy(&mark_j, mark + jb, sizeof(mark_j));
                v4i m = (mark_i & mark_j) == zero;
                for (int d = 0; d < 4; d++) {
                    v4f lo_j, hi_j;
                    memcpy(&lo_j, col[2 * d] + jb, sizeof(lo_j));
                    memcpy(&hi_j, col[2 * d + 1] + jb, sizeof(hi_j));
                    m &= (hi_j >= lo_i[d]) & (hi_i[d] >= lo_j);
                }
                /* Lanes are 0 or -1: a bit per lane, then one pair per bit set. */
                uint32_t bits = lane_bits(m);
                if (jb <= i) bits &= first;
                while (bits) {
                    size_t j = jb + (size_t)__builtin_ctz(bits);
                    bits &= bits - 1;
                    if (!pair_found(w, w->soa_idx[i], w->soa_idx[j])) {
                        w->nomem = true;
                        return NULL;
                    }
                }
            }
        }
        s = end;
    }
    return NULL;
}

/* The parts' n conflicts into to (NULL: none wanted), sorted by id; the parts' arrays freed.
 * false on OOM. */
static bool gather_conflicts(const dc_tactical_t *eng, sweep_t *jobs, size_t n_threads, size_t n,
                             size_t n_live, dc_conflict_t *to)
{
    dc_conflict_t *all = NULL;
    uint64_t *order = NULL;
    bool ok = true;
    if (to && n) {
        size_t only = n_threads;
        for (size_t j = 0; j < n_threads; j++)
            if (jobs[j].n == n) only = j;
        if (only < n_threads) { /* one part found them all: its arrays as they are */
            all = jobs[only].out, order = jobs[only].order;
            jobs[only].out = NULL, jobs[only].order = NULL;
        } else {
            all = malloc(n * sizeof(*all));
            order = eng->ranked_pass ? malloc(n * sizeof(*order)) : NULL;
            for (size_t j = 0, at = 0; all && j < n_threads; at += jobs[j].n, j++) {
                if (!jobs[j].n) continue;
                memcpy(all + at, jobs[j].out, jobs[j].n * sizeof(*all));
                if (order) memcpy(order + at, jobs[j].order, jobs[j].n * sizeof(*order));
            }
        }
        ok = all && (eng->ranked_pass ? order && order_conflicts(all, order, n, n_live, to)
                                      : sort_conflicts(all, n, to));
    }
    free(all);
    free(order);
    for (size_t j = 0; j < n_threads; j++) {
        free(jobs[j].out);
        free(jobs[j].order);
        free(jobs[j].soa);
        free(jobs[j].soa_idx);
    }
    return ok;
}

/* Slice s of the index: every live track's box for the slice, an entry per (cell, band) it
 * touches, sorted; then the sweep, its sorted entries cut at cell boundaries into one part per
 * thread (conflicts are sorted afterwards, so the result does not depend on the cut). */
static dc_err_t index_slice(dc_tactical_t *eng, size_t n_live, const grid_t *g, size_t s,
                            const pass_params_t *pp, sweep_t *jobs, size_t n_threads,
                            dc_tactical_stats_t *stats)
{
    /* One walk: each track's box, faces and entries; the array grows as it fills (from what
     * the last slice needed), and the sort's half is made room for after. */
    size_t e = 0, cap = eng->cap_entries / 2;
    uint64_t key_lo = UINT64_MAX, key_hi = 0;
    for (size_t i = 0; i < n_live; i++) {
        live_t *lv = &eng->live[i];
        if (eng->boxes) {
            lv->box = eng->boxes[i * g->n_slices + s];
        } else {
            float ends[2][4];
            slice_ends(&eng->recs[lv->rec].k, g, ends);
            slice_box((const float(*)[4])ends, g, 0, &lv->box);
        }
        const box_t *b = &lv->box;
        lv->faces = faces_of(b);
        uint32_t a0 = band_of(b->lo[3], g->band_low_ft, g->inv_band);
        uint32_t a1 = band_of(b->hi[3], g->band_low_ft, g->inv_band);
        for (uint32_t f = 0; f < 6; f++) {
            if (!(lv->faces & (1u << f))) continue;
            int u = face_u(f), v = face_v(f);
            uint32_t u0 = cell_of(b->lo[u], g->inv_cell), u1 = cell_of(b->hi[u], g->inv_cell);
            uint32_t v0 = cell_of(b->lo[v], g->inv_cell), v1 = cell_of(b->hi[v], g->inv_cell);
            size_t need = e + (size_t)(u1 - u0 + 1) * (v1 - v0 + 1) * (a1 - a0 + 1);
            if (need > cap) {
                size_t c = need + need / 2 > (size_t)4096 ? need + need / 2 : 4096;
                uint64_t *p = realloc(eng->entries, 2 * c * sizeof(uint64_t));
                if (!p) return DC_ERR_NOMEM;
                eng->entries = p, eng->cap_entries = 2 * c, cap = c;
            }
            /* A key grows with each of its fields: the box's first and last cells bound it. */
            uint64_t first = cell_key(f, u0, v0, a0), last = cell_key(f, u1, v1, a1);
            key_lo = first < key_lo ? first : key_lo;
            key_hi = last > key_hi ? last : key_hi;
            for (uint32_t x = u0; x <= u1; x++)
                for (uint32_t y = v0; y <= v1; y++)
                    for (uint32_t a = a0; a <= a1; a++)
                        eng->entries[e++] = cell_key(f, x, y, a) | i |
                                            (uint64_t)((x > u0) | (y > v0) << 1 | (a > a0) << 2)
                                                << MARK_SHIFT;
        }
    }
    size_t n_entries = e;
    /* Room for the sort's other half, after the entries (and no more than about that). */
    if (!pass_array((void **)&eng->entries, &eng->cap_entries, 2 * n_entries, sizeof(uint64_t)))
        return DC_ERR_NOMEM;
    uint64_t *sorted = n_entries ? radix_sort_keys(eng->entries, eng->entries + n_entries,
                                                   n_entries, key_lo, key_hi)
                                 : eng->entries;
    stats->index_entries += n_entries;
    eng->last_sorted = sorted, eng->last_n_entries = n_entries;

    size_t n_jobs = n_entries >= dc_tactical_parallel_min_entries ? n_threads : 1;
    size_t from = 0;
    for (size_t j = 0; j < n_threads; j++) {
        size_t to = j + 1 >= n_jobs ? n_entries : n_entries * (j + 1) / n_jobs;
        while (to < n_entries && to > from &&
               (sorted[to] & CELL_MASK) == (sorted[to - 1] & CELL_MASK))
            to++;
        if (to < from) to = from;
        jobs[j].sorted = sorted, jobs[j].from = from, jobs[j].to = to;
        jobs[j].pp = pp, jobs[j].g = g, jobs[j].slice = s;
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
    for (size_t j = 0; j < n_threads; j++)
        if (jobs[j].nomem) return DC_ERR_NOMEM;
    return DC_OK;
}

/* Puts the records in the order in which the live tracks first appear in the last slice's
 * sorted entries (cell by cell), the others after them, and rebuilds the hash slots. Candidate
 * pairs are then mostly near each other in memory: at 1M tracks their records were 2 cache misses
 * each. Done every REORDER_PASSES passes or when the table grew by a quarter, since aircraft
 * change cells rarely: one reordering costs about a pass. false on OOM (nothing changed). */
static bool reorder_recs(dc_tactical_t *eng)
{
    size_t n = eng->n_recs;
    uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
    uint8_t *placed = calloc(n ? n : 1, 1);
    rec_t *recs = malloc((n ? n : 1) * sizeof(*recs));
    uint32_t *slots = calloc(eng->cap_slots, sizeof(*slots));
    if (!order || !placed || !recs || !slots) {
        free(order), free(placed), free(recs), free(slots);
        return false;
    }
    size_t k = 0;
    for (size_t e = 0; e < eng->last_n_entries; e++) {
        uint32_t r = eng->live[eng->last_sorted[e] & IDX_MASK].rec;
        if (!placed[r]) placed[r] = 1, order[k++] = r;
    }
    for (size_t r = 0; r < n; r++)
        if (!placed[r]) order[k++] = (uint32_t)r;
    for (size_t i = 0; i < n; i++) recs[i] = eng->recs[order[i]];
    free(eng->recs);
    free(eng->slots);
    eng->recs = recs, eng->cap_recs = n ? n : 1;
    eng->slots = slots;
    for (size_t r = 0; r < n; r++) eng->slots[slot_find(eng, eng->recs[r].id)] = r + 1;
    free(order), free(placed);
    return true;
}

/* The index's resolution S: the look-ahead is cut into max(1, round(S)) slices, and cells and
 * bands are sized for T / S (so below 1 they grow beyond one slice's box: sparse traffic wants
 * few, large cells). What the last passes settled on (adapt_resolution), at first one slice per
 * 120 s. Any resolution finds the same conflicts; it only sets the cost. */
static double resolution(dc_tactical_t *eng, double T)
{
    if (dc_tactical_resolution_fixed > 0)
        return fmin(fmin(dc_tactical_resolution_fixed, SLICES_MAX),
                    fmax(1.0, floor(T / SLICE_MIN_S)));
    if (!(eng->resolution > 0)) eng->resolution = fmax(1.0, round(T / 120.0));
    return fmin(eng->resolution, fmax(1.0, floor(T / SLICE_MIN_S)));
}

/* After a pass, the resolution for the next: the pass's cost is about S x A for the index
 * (entries made and sorted) plus B / S for the pairs sharing a cell (cells shrink as S grows),
 * least at S0 sqrt(B' / A') with A' and B' this pass's shares; moved there by at most a factor 2
 * a pass, so that it follows the traffic without swinging. */
static void adapt_resolution(dc_tactical_t *eng, const dc_tactical_stats_t *st, double used)
{
    double index_cost = COST_ENTRY * (double)st->index_entries;
    double pair_cost = COST_CELL_PAIR * (double)st->cell_pairs;
    if (index_cost <= 0 || st->live < 2) return;
    double best = used * sqrt(pair_cost / index_cost);
    best = fmin(fmax(best, 0.5 * used), 2.0 * used);
    eng->resolution = fmin(fmax(best, RESOLUTION_MIN), SLICES_MAX);
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

    /* Step 2: expiry and the live, in one walk over the records (a removal moves the last
     * record, not yet walked, into the place looked at, which is then looked at again). */
    if (!pass_array((void **)&eng->live, &eng->cap_live, eng->n_recs, sizeof(live_t)))
        return DC_ERR_NOMEM;
    size_t n_live = 0;
    for (size_t r = 0; r < eng->n_recs;) {
        double age_s = fabs(now_s - eng->recs[r].k.t_s);
        if (age_s > cfg->expire_s) {
            rec_remove_at(eng, r);
            stats.expired++;
            continue;
        }
        if (age_s > cfg->stale_s)
            stats.stale++;
        else
            eng->live[n_live++].rec = (uint32_t)r;
        r++;
    }
    stats.live = n_live;
    stats.tracks = eng->n_recs;

    pass_params_t pp;
    pass_params_from_config(cfg, &pp);
    const double T = cfg->lookahead_s;
    grid_t g = {.now_s = now_s};
    double res = resolution(eng, T);
    g.n_slices = (size_t)fmax(1.0, round(res));
    g.slice_s = T / g.n_slices;
    /* Half the minima, plus a margin for the difference between the 3-D chord the boxes bound
     * and the tangent-plane separation the exact test uses (metres over tens of kilometres). */
    g.grow_m = (float)(0.5 * pp.r_m + 100.0 + 0.01 * pp.r_m);
    g.grow_ft = (float)(0.5 * pp.h_ft + 0.05); /* floats: 0.01 ft at 100,000 ft */
    /* Cells sized for a slice; below one slice, for the look-ahead's share 1 / res of it. */
    double cell_s = res >= 1 ? g.slice_s : T / res;
    g.inv_cell = (float)(1.0 / fmax(CELL_MIN_M, 2.0 * g.grow_m + CELL_SPEED_MPS * cell_s));
    /* A whole number of vertical minima high, enough for BANDS to span -4,000-110,000 ft. */
    double per_band = fmax(BAND_FACTOR * fmax(1.0, round(1.0 / res)),
                           ceil((110000.0 - BAND_LOW_FT) / BANDS / cfg->hpz_ft));
    g.inv_band = (float)(1.0 / (per_band * cfg->hpz_ft));
    g.band_low_ft = (float)(BAND_LOW_FT - 0.5 * cfg->hpz_ft);

    /* Steps 3 and 4, slice by slice. Each track's boxes for every slice are made first (from
     * its n_slices + 1 ends), and kept for the sweep's question whether a pair met earlier;
     * with one slice the box is made where it is used, and none is kept. */
    if (g.n_slices > 1) {
        size_t stride = g.n_slices + 1;
        if (!pass_array((void **)&eng->boxes, &eng->cap_boxes, n_live * g.n_slices,
                        sizeof(*eng->boxes)) ||
            !pass_array((void **)&eng->ends, &eng->cap_ends, n_live * stride, sizeof(*eng->ends)))
            return DC_ERR_NOMEM;
        for (size_t i = 0; i < n_live; i++) {
            float(*ends)[4] = eng->ends + i * stride;
            slice_ends(&eng->recs[eng->live[i].rec].k, &g, ends);
            for (size_t e = 0; e < g.n_slices; e++)
                slice_box((const float(*)[4])ends, &g, e, &eng->boxes[i * g.n_slices + e]);
        }
    } else {
        free(eng->boxes);
        free(eng->ends);
        eng->boxes = NULL, eng->cap_boxes = 0;
        eng->ends = NULL, eng->cap_ends = 0;
    }
    /* Many conflicts (the last pass had at least one per 4 live tracks): ordering them by the
     * tracks' ranks costs an O(N) radix sort of the ids, and spares a comparison sort of the
     * conflicts by id (and a strcmp per conflict). Both give the same order. */
    eng->ranked_pass = n_live >= 2 &&
                       (double)eng->last_conflicts >= dc_tactical_rank_min_share * (double)n_live &&
                       rank_live(eng, n_live);
    sweep_t jobs[SWEEP_THREADS_MAX];
    size_t n_threads = sweep_threads();
    for (size_t j = 0; j < n_threads; j++) jobs[j] = (sweep_t){.eng = eng};
    for (size_t s = 0; s < g.n_slices && err == DC_OK; s++)
        err = index_slice(eng, n_live, &g, s, &pp, jobs, n_threads, &stats);
    size_t n_conf = 0;
    for (size_t j = 0; j < n_threads; j++) {
        n_conf += jobs[j].n;
        stats.cell_pairs += jobs[j].cell_pairs;
        stats.candidates += jobs[j].candidates;
    }
    /* Step 5: the snapshot, its conflicts gathered from the parts and sorted by id. */
    snap_t *sn =
        err != DC_OK ? NULL : malloc(sizeof(*sn) + (n_conf ? n_conf : 1) * sizeof(dc_conflict_t));
    bool sorted = gather_conflicts(eng, jobs, n_threads, n_conf, n_live, sn ? sn->conflicts : NULL);
    if (!sn || !sorted) {
        free(sn);
        return DC_ERR_NOMEM;
    }
    eng->last_conflicts = n_conf;

    stats.conflicts = n_conf;
    stats.slices = g.n_slices;
    adapt_resolution(eng, &stats, res >= 1 ? (double)g.n_slices : res); /* what was used */
    if (++eng->passes_since_order >= REORDER_PASSES || eng->n_recs > eng->recs_at_order * 5 / 4) {
        if (reorder_recs(eng)) eng->passes_since_order = 0, eng->recs_at_order = eng->n_recs;
    }
    eng->last_sorted = NULL, eng->last_n_entries = 0;
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
