/* Internals of the tactical engine that tests reach (not part of the public API). */
#ifndef DC_TACTICAL_ENGINE_INTERNAL_H
#define DC_TACTICAL_ENGINE_INTERNAL_H

#include <stddef.h>

/* A pass sweeps its cells on several threads (one per core, up to 4) when it has at least this
 * many (cell, track) entries; below, threads cost more than they save. Tests set it to 0 to
 * check that the parallel sweep finds exactly what the single one does. */
extern size_t dc_tactical_parallel_min_entries;

/* At most this many sweep threads (0: one per core, up to 4); the benchmark sets 1 to time one
 * core. */
extern size_t dc_tactical_threads_max;

/* A pass orders its conflicts by the tracks' ranks (a radix sort of the ids, O(N)) instead of
 * comparing ids when the last pass found at least this many conflicts per live track (0.25);
 * tests set 0 to take that path on every pass. Both give the same order. */
extern double dc_tactical_rank_min_share;

/* When positive, every pass indexes at this resolution (slices, and cells and bands sized for
 * T / resolution) instead of the one it adapts; tests set it to check that every resolution
 * finds exactly the same. */
extern double dc_tactical_resolution_fixed;

#endif
