/* deconflictd: operations -- filing, updating and ending them, and the strategic conflicts
 * they make (docs/service.md). An operation is a document of its owner's (one writer:
 * put_operation in operations.c); the strategic engine holds the live ones, indexed; the
 * registry (svc->ops, svc->refs) tells who owns what the engine reports and in which state,
 * without reading the store. Each volume's footprint is built once per filing, by
 * dd_operation_prepare, before the service lock is taken. */
#ifndef DD_CORE_OPERATIONS_H
#define DD_CORE_OPERATIONS_H

#include "core/ids.h"
#include "core/state.h"

/* An operation as the registry knows it. */
typedef struct dd_op {
    char id[DD_ID_MAX], ref[DD_ID_MAX];
    int64_t party;
    dc_op_state_t state; /* as committed */
    int64_t version;     /* as committed (the engine holds the same) */
} dd_op_t;

/* A filing as the body states it (api/h_operations.c): JSON borrowed from the body. */
typedef struct dd_op_request {
    json_t *volumes; /* an array of Volume4D */
    int64_t priority;
    dc_op_state_t state; /* planned or active */
} dd_op_request_t;

/* A new operation made ready before the lock: its engine operation, its volumes validated and
 * their footprints built (dc_strategic_prepare). */
typedef struct dd_new_operation {
    char id[DD_ID_MAX], ref[DD_ID_MAX];
    dc_op_state_t state;
    int64_t priority;
    json_t *volumes; /* borrowed from the request */
    dc_operation_t op;
    dc_strategic_prepared_t *prepared;
} dd_new_operation_t;

/* POST /v1/operations, first half (no lock): a new id and ref, the engine's operation and its
 * footprints. DC_OK, or the fault naming the volume field. */
dc_err_t dd_operation_prepare(dd_service_t *svc, int64_t party, const dd_op_request_t *req,
                              dd_new_operation_t *n, dd_fault_t *f);
void dd_operation_prepared_clear(dd_new_operation_t *n);

/* Second half: files it (conflicts found, stored with the operation and every event in one
 * write section) and answers its view with "conflicts" (*out, new reference). With idem_key:
 * a repeat answers the first answer instead (*stored: its status and text; *out NULL). */
typedef struct dd_idem_answer {
    int status;
    char *text; /* the caller frees it */
} dd_idem_answer_t;
dc_err_t dd_operation_create(dd_service_t *svc, int64_t party, dd_new_operation_t *n,
                             const char *idem_key, double now, json_t **out,
                             dd_idem_answer_t *stored, dd_fault_t *f);

/* PUT /v1/operations/{id}: the caller's version, new volumes (NULL: kept) and priority. A
 * stale version is DC_ERR_STALE_VERSION with the changes since in f->ext. */
typedef struct dd_op_update {
    int64_t version;
    json_t *volumes; /* borrowed, or NULL */
    bool has_priority;
    int64_t priority;
} dd_op_update_t;
dc_err_t dd_operation_update(dd_service_t *svc, int64_t party, const char *id,
                             const dd_op_update_t *req, double now, json_t **out, dd_fault_t *f);

/* POST /v1/operations/{id}/activate|end|cancel. */
dc_err_t dd_operation_set_state(dd_service_t *svc, int64_t party, const char *id,
                                const char *action, double now, json_t **out, dd_fault_t *f);

/* The operation with this id or ref, or NULL. */
dd_op_t *dd_operation(dd_service_t *svc, const char *id);
dd_op_t *dd_operation_by_ref(dd_service_t *svc, const char *ref);

/* Restores the registry and refiles the live operations into the engine. */
bool dd_operations_open(dd_service_t *svc);

/* An operation document another node wrote (a shared store): the registry and the engine made
 * to match it -- filed when new, updated when its version moved, out of the engine once it
 * ended. Under the service lock. */
void dd_operations_apply(dd_service_t *svc, const dc_doc_t *doc);
void dd_operations_close(dd_service_t *svc);

#endif
