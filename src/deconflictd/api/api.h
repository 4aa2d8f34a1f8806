/* deconflictd's HTTP/JSON API over the domain (docs/openapi.yaml): a table of routes, a handler
 * per resource (h_*.c) that reads a request into the domain's structures, calls core/ and
 * writes the answer, and the one mapping of domain faults to RFC 9457 problems (problem.c).
 * Knows nothing of the server: http/ hands it a request with the party already authenticated
 * and the clock already read, and sends the response it gets back. */
#ifndef DD_API_H
#define DD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/fault.h"
#include "core/state.h"

/* A request as the server passes it on: who, what, the body and the clock. */
typedef struct dd_request {
    dd_service_t *svc;
    int64_t party;
    const char *party_name;
    bool has_key;
    const uint8_t *public_key; /* 32 bytes, when has_key */
    const char *method, *path;
    const char *id;     /* the {id} of the path, or NULL */
    const char *action; /* the segment after {id} (activate, ack, ...), or NULL */
    const char *body;   /* len bytes, not NUL-terminated; NULL when empty */
    size_t len;
    double now; /* the service's clock when the request arrived, Unix seconds */
    /* The request's query arguments and headers, by name (NULL when absent). */
    const char *(*arg)(void *conn, const char *name);
    const char *(*header)(void *conn, const char *name);
    void *conn;
} dd_request_t;

/* An answer: status, content type and a body of its own. A handler may leave the domain's
 * result and fault in out and fault and answer with dd_reply. */
typedef struct dd_response {
    int status;
    const char *type;
    char *body; /* malloc'd; the server takes it */
    size_t len;
    json_t *out;
    dd_fault_t fault;
} dd_response_t;

typedef void (*dd_handler_fn)(dd_request_t *rq, dd_response_t *rs);

enum {
    DD_ROUTE_WRITES = 1,   /* changes state: under a signature policy it must be signed */
    DD_ROUTE_STREAM = 2,   /* the event stream: the server serves it itself */
    DD_ROUTE_FIRST_KEY = 4 /* registering a party's first key: needs no signature */
};

typedef struct dd_route {
    const char *method;
    const char *pattern; /* "/v1/operations/{id}/activate" */
    dd_handler_fn handler;
    unsigned flags;
} dd_route_t;

/* Splits a path into up to 4 segments (repeated slashes count as one); -1 when it has more, or
 * a segment of 128 bytes or more. */
int dd_api_split(const char *path, char seg[4][128]);

/* The route for method and path (every /v1 route needs an authenticated party), capturing the
 * {id} and action segments into seg; NULL when none. */
const dd_route_t *dd_api_route(const char *method, const char *path, char seg[4][128],
                               const char **id, const char **action);

/* The methods the routes answer on path (HEAD with GET), as an Allow header's value ("GET, HEAD,
 * POST"), into out; "" when no route matches path whatever the method (then it is a 404). */
void dd_api_allowed(const char *path, char *out, size_t len);

/* Prints "METHOD /pattern" per line for every route of the table. */
void dd_api_print_routes(FILE *out);

/* Whether the request's Content-Type says JSON; false with 415 in rs when not. */
bool dd_request_says_json(dd_request_t *rq, dd_response_t *rs);

/* The request's body as JSON of type want: Content-Type must say JSON (415 otherwise) and the
 * body parse by dd_json_body (400). NULL with the problem in rs. */
json_t *dd_request_json(dd_request_t *rq, json_type want, dd_response_t *rs);

/* {key: [party's view of each document of kind, in ?state=]} and one of them by {id}
 * (h_operations.c; /v1/conflicts reads the same way). */
void dd_api_list(dd_request_t *rq, dd_response_t *rs, const char *kind, const char *key);
void dd_api_get(dd_request_t *rq, dd_response_t *rs, const char *kind);

/* ---- answers (problem.c) ---- */

/* j as the body (compact JSON), taking the reference; 500 when it cannot be written. */
void dd_respond_json(dd_response_t *rs, int status, json_t *j);
/* text (NUL-terminated, malloc'd) as a JSON body, taken over. */
void dd_respond_text(dd_response_t *rs, int status, char *text);
/* rc's answer: rs->out as JSON with status when DC_OK, else rs->fault as a problem. */
void dd_reply(dd_response_t *rs, dc_err_t rc, int status);
/* The fault as an RFC 9457 problem: status and code from the library's error table. */
void dd_respond_fault(dd_response_t *rs, dd_fault_t *f);
/* The same from its parts. */
void dd_respond_problem(dd_response_t *rs, dc_err_t err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The handlers, one file per resource. */
void dd_h_operations_list(dd_request_t *rq, dd_response_t *rs);
void dd_h_operations_create(dd_request_t *rq, dd_response_t *rs);
void dd_h_operations_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_operations_update(dd_request_t *rq, dd_response_t *rs);
void dd_h_operations_state(dd_request_t *rq, dd_response_t *rs);
void dd_h_conflicts_list(dd_request_t *rq, dd_response_t *rs);
void dd_h_conflicts_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_conflicts_ack(dd_request_t *rq, dd_response_t *rs);
void dd_h_positions_post(dd_request_t *rq, dd_response_t *rs);
void dd_h_tracks_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_history_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_messages_send(dd_request_t *rq, dd_response_t *rs);
void dd_h_messages_list(dd_request_t *rq, dd_response_t *rs);
void dd_h_messages_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_messages_ack(dd_request_t *rq, dd_response_t *rs);
void dd_h_agreements_propose(dd_request_t *rq, dd_response_t *rs);
void dd_h_agreements_list(dd_request_t *rq, dd_response_t *rs);
void dd_h_agreements_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_agreements_act(dd_request_t *rq, dd_response_t *rs);
void dd_h_party_get(dd_request_t *rq, dd_response_t *rs);
void dd_h_party_key(dd_request_t *rq, dd_response_t *rs);
void dd_h_party_replay_clock_put(dd_request_t *rq, dd_response_t *rs);
void dd_h_party_replay_clock_delete(dd_request_t *rq, dd_response_t *rs);
void dd_h_audit_get(dd_request_t *rq, dd_response_t *rs);

#endif
