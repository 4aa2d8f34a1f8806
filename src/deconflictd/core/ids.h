/* deconflictd: the ids it gives out -- random ones (operations, refs, conflicts, messages,
 * agreements), and the id of an operation pair's strategic conflict, the same whichever side
 * files and opaque to both. */
#ifndef DD_CORE_IDS_H
#define DD_CORE_IDS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "deconflict/tactical.h"

#define DD_ID_MAX 64 /* bytes of any id the service gives out, with the NUL */

/* prefix + 24 random hex digits. */
void dd_random_id(const char *prefix, char *out, size_t len);

/* "cf_" + a 96-bit BLAKE2b hash of the two operation ids in order. */
void dd_pair_conflict_id(const char *op1, const char *op2, char out[40]);

/* The engine's id of party's track ("<party>/<track>") into out; false when it does not fit. */
bool dd_engine_id(int64_t party, const char *track, char out[DC_TRACK_ID_MAX]);

/* The party id behind engine track id "<party>/<track>". */
int64_t dd_party_of(const char *engine_id);

#endif
