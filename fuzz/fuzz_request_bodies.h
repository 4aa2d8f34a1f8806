/* Shared by the drivers of the daemon's request bodies: the body read by the daemon's own rule
 * (dd_json_body), and the invariant every refusal keeps -- it names a status, a code and says
 * why. */
#ifndef DC_FUZZ_REQUEST_BODIES_H
#define DC_FUZZ_REQUEST_BODIES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/deconflictd/json_in.h"

static inline void check_problem(const dd_problem_t *pb)
{
    if (pb->status < 400 || pb->status > 599 || !pb->code[0] || !pb->detail[0]) abort();
    json_decref(pb->ext);
}

/* The input as a body of JSON type want, or NULL once its refusal was checked. */
static inline json_t *body_of(const uint8_t *data, size_t size, json_type want)
{
    dd_problem_t pb;
    json_t *body = dd_json_body((const char *)data, size, want, &pb);
    if (!body) check_problem(&pb);
    return body;
}

#endif
