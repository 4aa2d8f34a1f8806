/* deconflictd: a table of values by string key (the keys copied, the values borrowed), open
 * addressing with backward-shift deletion. Knows nothing about aviation. Not thread-safe: the
 * service's lock guards every table of the domain. */
#ifndef DD_CORE_TABLE_H
#define DD_CORE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dd_table_slot {
    char *key;
    void *val;
} dd_table_slot_t;

typedef struct dd_table {
    dd_table_slot_t *slots;
    size_t cap, len; /* cap a power of two, or 0 */
} dd_table_t;

/* The value under key, or NULL. */
void *dd_table_get(const dd_table_t *t, const char *key);

/* Sets key's value (copying key). false when memory ran out (the table unchanged). */
bool dd_table_put(dd_table_t *t, const char *key, void *val);

/* Removes key; returns its value (the caller frees it), or NULL. */
void *dd_table_del(dd_table_t *t, const char *key);

/* Frees the slots and keys (not the values) and empties t. */
void dd_table_free(dd_table_t *t);

/* The same, freeing each value with free_val first. */
void dd_table_free_all(dd_table_t *t, void (*free_val)(void *val));

/* Iteration: for (size_t i = 0; i < t->cap; i++) if (t->slots[i].key) ... -- never while
 * putting or deleting; collect the keys first. */

#endif
