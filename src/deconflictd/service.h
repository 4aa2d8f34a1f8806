/* deconflictd's service operations, called by the HTTP handlers with svc->lock held (taken with
 * dd_write_lock for those that write: each write is a group-commit section, see commit.h). Each
 * returns DC_OK with a JSON result in *out (new reference), or fills a problem (RFC 9457) and
 * returns its error. */
#ifndef DC_DAEMON_SERVICE_H
#define DC_DAEMON_SERVICE_H

#include <jansson.h>

#include "daemon.h"

typedef struct dd_problem {
    int status;
    char code[48];
    char field[200];
    char detail[512];
    json_t *ext; /* extension members merged into the problem document (owned), or NULL */
} dd_problem_t;

/* Fills pb; returns DC_ERR_INVALID (or the error matching the status) for chaining. */
dc_err_t dd_problem(dd_problem_t *pb, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

void dd_random_id(const char *prefix, char *out, size_t len);
void dd_party_name(dd_service_t *svc, int64_t party, char out[DC_PARTY_NAME_MAX]);

/* ---- what the event streams read without the service lock ----
 * Per party: the seq of its last event appended, and whether it has suspended its side of the
 * channel; with the durable seq, under the marks' own mutex, so that a stream never waits for
 * a detection pass to know whether it has something to send. */

/* The seq up to which events are durable (streams deliver up to it). */
int64_t dd_events_durable(dd_service_t *svc);
/* The seq below which party's stream has nothing new: min(its last event, the durable seq). */
int64_t dd_events_mark(dd_service_t *svc, int64_t party);
/* Whether party has suspended its side of the channel (its event streams pause), and setting
 * it (messages.c, once the change is committed). */
bool dd_channel_suspended(dd_service_t *svc, int64_t party);
void dd_channel_set_suspended(dd_service_t *svc, int64_t party, bool suspended);

/* Appends an event for party (data serialised compactly), inside a write section; streams see
 * it once its group commits. */
dc_err_t dd_event(dd_service_t *svc, int64_t party, const char *type, json_t *data);

/* The committed state of operation id ("planned", ...) and its owner, or NULL if unknown. */
const char *dd_operation_state(dd_service_t *svc, const char *id, int64_t *party);

/* The engine operation stored in an operation view. */
dc_err_t dd_operation_from_view(json_t *view, int64_t party, dc_operation_t *op);

/* A new operation checked and converted for the engine, before the service lock is taken:
 * parsing and validating volumes is a large share of a filing and needs no shared state. */
typedef struct dd_new_operation {
    char id[DC_STRATEGIC_ID_MAX], ref[DC_STRATEGIC_ID_MAX];
    dc_op_state_t state;
    json_int_t priority;
    json_t *volumes; /* borrowed from the request body */
    dc_operation_t op;
    bool ready;
} dd_new_operation_t;

/* POST /v1/operations, first half (no lock): the body's fields and volumes. */
dc_err_t dd_operation_prepare(int64_t party, json_t *body, dd_new_operation_t *n, dd_problem_t *pb);
void dd_operation_prepared_clear(dd_new_operation_t *n);

/* Second half (lock held): files it, stores it with its conflicts; with idem_key, the answer
 * is stored under it in the same transaction. */
dc_err_t dd_operation_create(dd_service_t *svc, int64_t party, dd_new_operation_t *n,
                             const char *idem_key, json_t **out, dd_problem_t *pb);
/* PUT /v1/operations/{id}: body {version, volumes?, priority?}; 409 stale_version lists the
 * changes since the caller's version. */
dc_err_t dd_operation_update(dd_service_t *svc, int64_t party, const char *id, json_t *body,
                             json_t **out, dd_problem_t *pb);
dc_err_t dd_operation_set_state(dd_service_t *svc, int64_t party, const char *id,
                                const char *action, json_t **out, dd_problem_t *pb);
dc_err_t dd_conflict_ack(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                         dd_problem_t *pb);
dc_err_t dd_conflict_put_view(dd_service_t *svc, const char *id, int64_t party, json_t *view);

#endif
