/* deconflictd: request bodies as JSON, read by one rule for every endpoint. */
#ifndef DC_DAEMON_JSON_IN_H
#define DC_DAEMON_JSON_IN_H

#include <jansson.h>
#include <stddef.h>

#include "service.h"

/* The body (len bytes, not NUL-terminated) as JSON of type want (JSON_OBJECT or JSON_ARRAY):
 * no duplicate key anywhere in it (one member, one meaning), no trailing text. NULL with a 400
 * invalid_json problem in pb otherwise. Caller decrefs. */
json_t *dd_json_body(const char *body, size_t len, json_type want, dd_problem_t *pb);

#endif
