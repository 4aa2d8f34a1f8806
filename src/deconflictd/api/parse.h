/* deconflictd's API: reading requests into the domain's structures, by one rule for every
 * endpoint -- a body is JSON of the type expected, with no duplicate key anywhere (one member,
 * one meaning) and no trailing text; every value has a range, and a refusal names the field
 * and the limit. No state is read: each parser is a pure function (the fuzz drivers in fuzz/
 * call them as the handlers do). */
#ifndef DD_API_PARSE_H
#define DD_API_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "core/agreements.h"
#include "core/fault.h"
#include "core/messages.h"
#include "core/operations.h"
#include "core/parties.h"
#include "core/tracks.h"

/* The body (len bytes, not NUL-terminated) as JSON of type want (JSON_OBJECT or JSON_ARRAY) in
 * *out (the caller decrefs); DC_ERR_JSON otherwise. */
dc_err_t dd_json_body(const char *body, size_t len, json_type want, json_t **out, dd_fault_t *f);

/* Whether a Content-Type names JSON: application/json, any case, with or without parameters. */
bool dd_is_json_type(const char *content_type);

/* One report of a POST /v1/positions body into r (engine id "<party>/<track_id>"): r->bad_field
 * is NULL when it is valid, else the offending field. Its time's range against the clock is the
 * domain's to judge (core/tracks.c). */
void dd_position_parse(json_t *o, int64_t party, dd_report_t *r);

/* A whole POST /v1/positions body (len bytes) read as a stream, without a tree: its reports,
 * each judged as dd_position_parse judges it, in *out (n of them, the caller frees), or the
 * refusal of the body -- the same as dd_json_body and dd_position_parse give for every body
 * (DC_ERR_JSON; DC_ERR_LIMIT beyond DD_POSITIONS_MAX reports). */
dc_err_t dd_positions_read(const char *body, size_t len, int64_t party, dd_report_t **out,
                           size_t *n, dd_fault_t *f);

/* POST /v1/operations: volumes (an array), priority (an integer, default 0), state ("planned",
 * default, or "active"). Borrows from body. */
dc_err_t dd_operation_body_parse(json_t *body, dd_op_request_t *req, dd_fault_t *f);

/* PUT /v1/operations/{id}: version (required), volumes and priority (each optional). */
dc_err_t dd_operation_update_parse(json_t *body, dd_op_update_t *req, dd_fault_t *f);

/* POST /v1/messages: its members, category, priority, deadline, the fields rendered in both
 * languages (dd_message_render), the references' shape. Borrows from body; a body without
 * fields gets an empty object added, which m->fields then names. */
dc_err_t dd_message_parse(json_t *body, dd_message_req_t *m, dd_fault_t *f);

/* POST /v1/agreements by the party named me: the parties' names, the constraint (normalised,
 * its ground built), the band and window under the volumes' limits, the text. DC_OK with r
 * filled (free with dd_agreement_req_clear). */
dc_err_t dd_agreement_parse(json_t *body, const char *me, dd_agreement_req_t *r, dd_fault_t *f);

/* GET /v1/history's query: from and to (RFC 3339 or Unix seconds; default the last
 * history_keep_s before now), at most 24 h apart; step_s 0-3600 (default history_s). */
typedef struct dd_history_query {
    double t0, t1, step_s;
} dd_history_query_t;
dc_err_t dd_history_query_parse(const dd_config_t *cfg, double now, const char *from,
                                const char *to, const char *step, dd_history_query_t *q,
                                dd_fault_t *f);

/* PUT /v1/party/replay-clock at the service's time now: recording_start_s (Unix seconds, from
 * 1970 to now: a recording is of the past), service_start_s (within a day of now), speed
 * (0.01-1000); no other member. The times are kept to the hundredth of a second. */
dc_err_t dd_replay_clock_parse(json_t *body, double now, dd_replay_clock_t *c, dd_fault_t *f);

#endif
