/* libFuzzer driver: GET /v1/history's query parameters as deconflictd reads them
 * (dd_history_query_parse). The input's lines are from, to and step_s (a missing line: the
 * parameter absent). Beyond "no crash": an accepted query is a window of at most 24 h with a
 * step of 0-3600 s. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *arg[3] = {NULL, NULL, NULL}, *p = copy;
    for (int i = 0; i < 3 && p && (size_t)(p - copy) < size; i++) {
        arg[i] = p;
        p = strchr(p, '\n');
        if (p) *p++ = '\0';
    }
    dd_config_t cfg;
    dd_config_default(&cfg);
    dd_history_query_t q;
    dd_fault_t f;
    if (dd_history_query_parse(&cfg, 1796126400.0, arg[0], arg[1], arg[2], &q, &f) == DC_OK) {
        if (!(q.t0 <= q.t1) || q.t1 - q.t0 > 86400 || !(q.step_s >= 0 && q.step_s <= 3600)) abort();
    } else if (dc_err_http_status(f.err) != 400 || !f.field[0]) {
        abort();
    }
    free(copy);
    return 0;
}
