/* deconflictd: reading a party's documents (operations, conflicts) as it may see them: its own
 * view of each, never another party's. Each call takes a read section of its own. */
#ifndef DD_CORE_DOCUMENTS_H
#define DD_CORE_DOCUMENTS_H

#include "core/state.h"

/* Calls fn with party's view of every document of kind (in state, NULL: any). */
dc_err_t dd_documents_list(dd_service_t *svc, const char *kind, int64_t party, const char *state,
                           void (*fn)(const char *id, const char *view, void *ctx), void *ctx,
                           dd_fault_t *f);

/* The same as far as it is committed, on the event streams' own store connection (never the
 * service lock): what a reader that goes on with the event log after dd_events_mark() may take
 * as the state its later events change. */
dc_err_t dd_documents_list_committed(dd_service_t *svc, const char *kind, int64_t party,
                                     const char *state,
                                     void (*fn)(const char *id, const char *view, void *ctx),
                                     void *ctx);

/* party's view of document (kind, id) in *view (the caller frees it). Someone else's document
 * and no document at all answer the same: DC_ERR_NOT_FOUND. */
dc_err_t dd_document_get(dd_service_t *svc, const char *kind, const char *id, int64_t party,
                         char **view, dd_fault_t *f);

#endif
