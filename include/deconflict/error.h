/* deconflict — error codes shared by every module.
 *
 * One enum for the whole library. Values are only ever appended, never renumbered, so that
 * integrators can store them. dc_strerror() gives a human sentence, dc_err_code() a stable
 * snake_case token for JSON, dc_err_http_status() the HTTP status the service answers with. */
#ifndef DECONFLICT_ERROR_H
#define DECONFLICT_ERROR_H

typedef enum dc_err {
    DC_OK = 0,
    DC_ERR_INVALID = 1,    /* an argument or input value is malformed or out of range */
    DC_ERR_NOMEM = 2,      /* an allocation failed; nothing was changed */
    DC_ERR_NOT_FOUND = 3,  /* the named object does not exist */
    DC_ERR_LIMIT = 4,      /* a named bound (count, length, size) would be exceeded */
    DC_ERR_INCOMPLETE = 5, /* a parser needs more input; what it saw so far is valid */
    DC_ERR_IO = 6,         /* reading or writing a file or socket failed */
    DC_ERR_CONFLICT = 7,   /* the request contradicts the current state (e.g. a stale version) */
} dc_err_t;

/* Returns a static English sentence describing err; never NULL, even for unknown values. */
const char *dc_strerror(dc_err_t err);

/* Returns a static stable token such as "invalid_argument"; "unknown_error" for unknown values. */
const char *dc_err_code(dc_err_t err);

/* Returns the HTTP status a service answers with for err (200 for DC_OK, 500 for unknown). */
int dc_err_http_status(dc_err_t err);

#endif
