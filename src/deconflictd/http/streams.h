/* deconflictd: the event streams (GET /v1/events, Server-Sent Events; docs/service.md,
 * "Events").
 *
 * A stream never holds a thread while it waits: its reader runs on the server's pool threads
 * and, with nothing to send, suspends its connection. The registry holds every stream; a waker
 * thread resumes a suspended one when its party has events it has not seen up to the durable
 * seq, or a keepalive is due, or the service stops. Events are read on the domain's own events
 * connection (core/events.h), never under the service lock, and a party that has suspended its
 * side of the channel gets nothing until it resumes (then everything, in order). */
#ifndef DD_HTTP_STREAMS_H
#define DD_HTTP_STREAMS_H

#include <microhttpd.h>

#include "core/state.h"
#include "http/access.h"

typedef struct dd_streams dd_streams_t;

/* The registry and its waker thread; NULL with err on failure. */
dd_streams_t *dd_streams_new(dd_service_t *svc, dd_access_t *access, char *err, size_t len);

/* Opens party's stream on connection c after Last-Event-ID last_id (NULL: from now on) and
 * queues its response in *queued. DC_OK, or a fault for the caller to answer: the header
 * malformed (DC_ERR_INVALID), or the party at its open streams' limit
 * (DC_ERR_TOO_MANY_STREAMS). */
dc_err_t dd_stream_open(dd_streams_t *reg, struct MHD_Connection *c, int64_t party,
                        const char *last_id, enum MHD_Result *queued, dd_fault_t *f);

/* Open streams now. */
size_t dd_streams_count(dd_streams_t *reg);

/* Ends every stream and the waker (before the server stops: MHD must hold none suspended),
 * then, once the server has stopped, frees the registry. */
void dd_streams_close(dd_streams_t *reg);
void dd_streams_free(dd_streams_t *reg);

#endif
