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
    /* The service's refusals, one code each so that the domain never names an HTTP status:
     * only the API layer turns these into one, through this table. */
    DC_ERR_STALE_VERSION = 8,       /* an update named a version that is not the current one */
    DC_ERR_TRANSITION = 9,          /* an object cannot go from its state to the one asked */
    DC_ERR_FORBIDDEN = 10,          /* the caller may see the object but not do that to it */
    DC_ERR_UNAUTHORIZED = 11,       /* no valid credentials */
    DC_ERR_BAD_SIGNATURE = 12,      /* a request's signature does not verify */
    DC_ERR_SIGNATURE_REQUIRED = 13, /* a write had to be signed and was not */
    DC_ERR_NO_KEY = 14,             /* a signature from a party that registered no key */
    DC_ERR_KEY_IN_USE = 15,         /* a public key another party holds */
    DC_ERR_RATE = 16,               /* over a rate limit */
    DC_ERR_TOO_MANY_STREAMS = 17,   /* over the open event streams allowed */
    DC_ERR_MEDIA_TYPE = 18,         /* a body that is not JSON by its declared type */
    DC_ERR_TOO_LARGE = 19,          /* a request body over the size limit */
    DC_ERR_JSON = 20,               /* a body that is not the JSON expected */
    DC_ERR_STORE = 21,              /* the store refused a read or a write */
    DC_ERR_UNAVAILABLE = 22,        /* the store was lost: a write's outcome is not known */
    DC_ERR_METHOD = 23,             /* a resource that does not answer this method */
} dc_err_t;

/* Returns a static English sentence describing err; never NULL, even for unknown values. */
const char *dc_strerror(dc_err_t err);

/* Returns a static stable token such as "invalid_argument"; "unknown_error" for unknown values. */
const char *dc_err_code(dc_err_t err);

/* Returns the HTTP status a service answers with for err (200 for DC_OK, 500 for unknown). */
int dc_err_http_status(dc_err_t err);

#endif
