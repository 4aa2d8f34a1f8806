/* Internal: growing a heap array geometrically. Knows nothing about aviation. */
#ifndef DC_COMMON_ARRAY_H
#define DC_COMMON_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/* Ensures *arr (capacity *cap elements of elem bytes; NULL/0 when empty) holds at least need
 * elements, growing by half again plus 16 until it does. Contents are kept. Returns false on
 * allocation failure or size overflow, leaving *arr and *cap unchanged. */
bool dc_array_grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif
