/* A table of values by string key: see table.h. */
#include "core/table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then a mix for the low bits */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 32;
    return (size_t)(h * 0x9E3779B97F4A7C15ull >> 7);
}

static size_t find(const dd_table_t *t, const char *key)
{
    size_t i = hash_of(key) & (t->cap - 1);
    while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0) i = (i + 1) & (t->cap - 1);
    return i;
}

void *dd_table_get(const dd_table_t *t, const char *key)
{
    if (!t->cap) return NULL;
    size_t i = find(t, key);
    return t->slots[i].key ? t->slots[i].val : NULL;
}

static bool grow(dd_table_t *t)
{
    size_t cap = t->cap ? 2 * t->cap : 16;
    dd_table_slot_t *s = calloc(cap, sizeof(*s));
    if (!s) return false;
    dd_table_t n = {s, cap, 0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key) {
            size_t j = find(&n, t->slots[i].key);
            n.slots[j] = t->slots[i];
            n.len++;
        }
    free(t->slots);
    *t = n;
    return true;
}

bool dd_table_put(dd_table_t *t, const char *key, void *val)
{
    if ((t->len + 1) * 4 > t->cap * 3 && !grow(t)) return false;
    size_t i = find(t, key);
    if (t->slots[i].key) {
        t->slots[i].val = val;
        return true;
    }
    char *k = strdup(key);
    if (!k) return false;
    t->slots[i] = (dd_table_slot_t){k, val};
    t->len++;
    return true;
}

void *dd_table_del(dd_table_t *t, const char *key)
{
    if (!t->cap) return NULL;
    size_t i = find(t, key);
    if (!t->slots[i].key) return NULL;
    void *val = t->slots[i].val;
    free(t->slots[i].key);
    t->slots[i].key = NULL;
    t->len--;
    /* Backward shift: move up every following entry that would otherwise be unreachable. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & (t->cap - 1);
        if (!t->slots[j].key) break;
        size_t home = hash_of(t->slots[j].key) & (t->cap - 1);
        bool reachable = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (reachable) continue;
        t->slots[i] = t->slots[j];
        t->slots[j].key = NULL;
        i = j;
    }
    return val;
}

void dd_table_free(dd_table_t *t)
{
    for (size_t i = 0; i < t->cap; i++) free(t->slots[i].key);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

void dd_table_free_all(dd_table_t *t, void (*free_val)(void *val))
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key) free_val(t->slots[i].val);
    dd_table_free(t);
}
