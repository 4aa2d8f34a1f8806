/* The one table that maps dc_err_t to text, a stable token and an HTTP status. */
#include "deconflict/error.h"

#include <stddef.h>

static const struct {
    const char *message;
    const char *code;
    int http_status;
} err_table[] = {
    [DC_OK] = {"success", "ok", 200},
    [DC_ERR_INVALID] = {"invalid argument or input", "invalid_argument", 400},
    [DC_ERR_NOMEM] = {"out of memory", "out_of_memory", 503},
    [DC_ERR_NOT_FOUND] = {"not found", "not_found", 404},
    [DC_ERR_LIMIT] = {"limit exceeded", "limit_exceeded", 413},
    [DC_ERR_INCOMPLETE] = {"incomplete input", "incomplete_input", 400},
    [DC_ERR_IO] = {"input/output error", "io_error", 500},
    [DC_ERR_CONFLICT] = {"conflicts with current state", "state_conflict", 409},
    [DC_ERR_STALE_VERSION] = {"not the current version", "stale_version", 409},
    [DC_ERR_TRANSITION] = {"not a transition from the current state", "invalid_transition", 409},
    [DC_ERR_FORBIDDEN] = {"not allowed to this party", "forbidden", 403},
    [DC_ERR_UNAUTHORIZED] = {"no valid credentials", "unauthorized", 401},
    [DC_ERR_BAD_SIGNATURE] = {"the signature does not verify", "bad_signature", 401},
    [DC_ERR_SIGNATURE_REQUIRED] = {"a signature is required", "signature_required", 401},
    [DC_ERR_NO_KEY] = {"no key is registered", "no_key", 400},
    [DC_ERR_KEY_IN_USE] = {"the key is another party's", "key_in_use", 409},
    [DC_ERR_RATE] = {"over the rate limit", "rate_limited", 429},
    [DC_ERR_TOO_MANY_STREAMS] = {"too many open streams", "too_many_streams", 429},
    [DC_ERR_MEDIA_TYPE] = {"unsupported media type", "unsupported_media_type", 415},
    [DC_ERR_TOO_LARGE] = {"request body too large", "too_large", 413},
    [DC_ERR_JSON] = {"not the JSON expected", "invalid_json", 400},
    [DC_ERR_STORE] = {"the store refused it", "store_failed", 500},
    [DC_ERR_UNAVAILABLE] = {"the store is unavailable", "store_unavailable", 503},
    [DC_ERR_METHOD] = {"the resource does not answer this method", "method_not_allowed", 405},
};

#define ERR_COUNT (sizeof(err_table) / sizeof(err_table[0]))

static int known(dc_err_t err)
{
    return (unsigned)err < ERR_COUNT && err_table[err].message != NULL;
}

const char *dc_strerror(dc_err_t err)
{
    return known(err) ? err_table[err].message : "unknown error";
}

const char *dc_err_code(dc_err_t err)
{
    return known(err) ? err_table[err].code : "unknown_error";
}

int dc_err_http_status(dc_err_t err)
{
    return known(err) ? err_table[err].http_status : 500;
}
