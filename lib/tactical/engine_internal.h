/* Internals of the tactical engine that tests reach (not part of the public API). */
#ifndef DC_TACTICAL_ENGINE_INTERNAL_H
#define DC_TACTICAL_ENGINE_INTERNAL_H

#include <stddef.h>

/* A pass sweeps its cells on several threads (one per core, up to 4) when it has at least this
 * many (cell, track) entries; below, threads cost more than they save. Tests set it to 0 to
 * check that the parallel sweep finds exactly what the single one does. */
extern size_t dc_tactical_parallel_min_entries;

#endif
