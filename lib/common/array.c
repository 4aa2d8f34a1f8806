/* Geometric growth of heap arrays (see array.h). */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

bool dc_array_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    if (elem == 0 || need > SIZE_MAX / elem) return false;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        size_t next = n + n / 2 + 16;
        n = next > SIZE_MAX / elem ? need : next; /* near the limit, take exactly what is needed */
    }
    void *p = realloc(*arr, n * elem);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}
