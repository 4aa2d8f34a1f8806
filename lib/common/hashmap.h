/* Internal: two small open-addressing hash maps with linear probing and backward-shift deletion
 * (no tombstones, so a map that churns does not slow down). Knows nothing about aviation.
 *
 *   dc_u64map  uint64 key -> uint32 value
 *   dc_strmap  NUL-terminated string key -> uint32 value; keys are borrowed, not copied: the
 *              caller keeps each key alive and unchanged while it is in the map.
 *
 * Neither is thread-safe; callers serialise access. */
#ifndef DC_COMMON_HASHMAP_H
#define DC_COMMON_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dc_u64map {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t cap; /* a power of two, or 0 */
    size_t len;
} dc_u64map_t;

/* An empty map is all zeroes; dc_u64map_free() releases the slots and leaves it empty. */
void dc_u64map_free(dc_u64map_t *m);

/* Returns true and sets *val if key is present. */
bool dc_u64map_get(const dc_u64map_t *m, uint64_t key, uint32_t *val);

/* Inserts or overwrites key. Returns false on allocation failure (map unchanged). */
bool dc_u64map_put(dc_u64map_t *m, uint64_t key, uint32_t val);

/* Removes key; returns false if it was absent. */
bool dc_u64map_del(dc_u64map_t *m, uint64_t key);

typedef struct dc_strmap {
    const char **keys;
    uint32_t *vals;
    size_t cap;
    size_t len;
} dc_strmap_t;

void dc_strmap_free(dc_strmap_t *m);
bool dc_strmap_get(const dc_strmap_t *m, const char *key, uint32_t *val);
bool dc_strmap_put(dc_strmap_t *m, const char *key, uint32_t val);
bool dc_strmap_del(dc_strmap_t *m, const char *key);

/* 64-bit mixers, exposed for callers that build composite keys. */
uint64_t dc_hash_u64(uint64_t x);
uint64_t dc_hash_str(const char *s);

#endif
