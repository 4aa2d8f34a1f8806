/* Open-addressing hash maps: see hashmap.h. Load factor is kept at or below 1/2. */
#include "common/hashmap.h"

#include <stdlib.h>
#include <string.h>

uint64_t dc_hash_u64(uint64_t x)
{
    /* splitmix64 finaliser: every input bit affects every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t dc_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return dc_hash_u64(h);
}

/* ---- u64 ---- */

void dc_u64map_free(dc_u64map_t *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

static size_t u64_find(const dc_u64map_t *m, uint64_t key, bool *found)
{
    size_t mask = m->cap - 1, i = dc_hash_u64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

bool dc_u64map_get(const dc_u64map_t *m, uint64_t key, uint32_t *val)
{
    if (m->cap == 0) return false;
    bool found;
    size_t i = u64_find(m, key, &found);
    if (found) *val = m->vals[i];
    return found;
}

static bool u64_rehash(dc_u64map_t *m, size_t cap)
{
    dc_u64map_t n = {0};
    n.keys = malloc(cap * sizeof(*n.keys));
    n.vals = malloc(cap * sizeof(*n.vals));
    n.used = calloc(cap, 1);
    n.cap = cap;
    if (!n.keys || !n.vals || !n.used) {
        dc_u64map_free(&n);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i]) continue;
        bool found;
        size_t j = u64_find(&n, m->keys[i], &found);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.len = m->len;
    dc_u64map_free(m);
    *m = n;
    return true;
}

bool dc_u64map_put(dc_u64map_t *m, uint64_t key, uint32_t val)
{
    if ((m->len + 1) * 2 > m->cap && !u64_rehash(m, m->cap ? m->cap * 2 : 16)) return false;
    bool found;
    size_t i = u64_find(m, key, &found);
    if (!found) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
    return true;
}

bool dc_u64map_del(dc_u64map_t *m, uint64_t key)
{
    if (m->cap == 0) return false;
    bool found;
    size_t i = u64_find(m, key, &found);
    if (!found) return false;
    /* Backward-shift: move later members of the probe run into the hole when their home slot
     * does not lie strictly between the hole and their current slot. */
    size_t mask = m->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j]) break;
        size_t home = dc_hash_u64(m->keys[j]) & mask;
        bool between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (between) continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->used[i] = 0;
    m->len--;
    return true;
}

/* ---- strings ---- */

void dc_strmap_free(dc_strmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static size_t str_find(const dc_strmap_t *m, const char *key, bool *found)
{
    size_t mask = m->cap - 1, i = dc_hash_str(key) & mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

bool dc_strmap_get(const dc_strmap_t *m, const char *key, uint32_t *val)
{
    if (m->cap == 0) return false;
    bool found;
    size_t i = str_find(m, key, &found);
    if (found) *val = m->vals[i];
    return found;
}

static bool str_rehash(dc_strmap_t *m, size_t cap)
{
    dc_strmap_t n = {0};
    n.keys = calloc(cap, sizeof(*n.keys));
    n.vals = malloc(cap * sizeof(*n.vals));
    n.cap = cap;
    if (!n.keys || !n.vals) {
        dc_strmap_free(&n);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        bool found;
        size_t j = str_find(&n, m->keys[i], &found);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.len = m->len;
    dc_strmap_free(m);
    *m = n;
    return true;
}

bool dc_strmap_put(dc_strmap_t *m, const char *key, uint32_t val)
{
    if ((m->len + 1) * 2 > m->cap && !str_rehash(m, m->cap ? m->cap * 2 : 16)) return false;
    bool found;
    size_t i = str_find(m, key, &found);
    if (!found) m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

bool dc_strmap_del(dc_strmap_t *m, const char *key)
{
    if (m->cap == 0) return false;
    bool found;
    size_t i = str_find(m, key, &found);
    if (!found) return false;
    size_t mask = m->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->keys[j]) break;
        size_t home = dc_hash_str(m->keys[j]) & mask;
        bool between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (between) continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->keys[i] = NULL;
    m->len--;
    return true;
}
