/* deconflictd: the service's clock, read only outside core/ (main.c's pass runner, the server
 * stamping a request, the feeds stamping what they receive); the domain takes `now` from them. */
#ifndef DD_CLOCK_H
#define DD_CLOCK_H

#include <time.h>

/* Wall-clock time, Unix seconds UTC. */
static inline double dd_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
