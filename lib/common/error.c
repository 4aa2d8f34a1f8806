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
