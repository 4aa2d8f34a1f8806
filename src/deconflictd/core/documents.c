/* A party's documents: see documents.h. */
#include "core/documents.h"

#include <stdlib.h>

#include "core/commit.h"

dc_err_t dd_documents_list(dd_service_t *svc, const char *kind, int64_t party, const char *state,
                           void (*fn)(const char *id, const char *view, void *ctx), void *ctx,
                           dd_fault_t *f)
{
    dd_read_lock(svc);
    /* The store filters on the document's state, which is also each view's. */
    dc_err_t rc = dc_store_doc_list(svc->store, kind, party, state, fn, ctx);
    dd_read_unlock(svc);
    return rc == DC_OK ? DC_OK : dd_fail(f, DC_ERR_STORE, "", "the store could not be read");
}

dc_err_t dd_documents_list_committed(dd_service_t *svc, const char *kind, int64_t party,
                                     const char *state,
                                     void (*fn)(const char *id, const char *view, void *ctx),
                                     void *ctx)
{
    pthread_mutex_lock(&svc->events_lock);
    dc_err_t rc = dc_store_doc_list(svc->events_store, kind, party, state, fn, ctx);
    pthread_mutex_unlock(&svc->events_lock);
    return rc;
}

dc_err_t dd_document_get(dd_service_t *svc, const char *kind, const char *id, int64_t party,
                         char **view, dd_fault_t *f)
{
    char *state = NULL;
    *view = NULL;
    dd_read_lock(svc);
    dc_err_t rc = dc_store_doc_get(svc->store, kind, id, party, view, &state);
    dd_read_unlock(svc);
    free(state);
    return rc == DC_OK ? DC_OK : dd_fail(f, DC_ERR_NOT_FOUND, "id", "no %s '%.80s'", kind, id);
}
