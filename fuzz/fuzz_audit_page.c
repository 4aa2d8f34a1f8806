/* libFuzzer driver: the audit verifier reading untrusted GET /v1/audit pages, as `deconflict
 * audit verify URL` does with what a service sends it. The input is split at NUL bytes: up to
 * three pages, then an earlier head. Beyond "no crash": a log found bad says why, and one found
 * good has its head at its last entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *parts[4] = {NULL};
    size_t lens[4] = {0}, n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 4; i++)
        if (i == size || copy[i] == '\0') {
            parts[n] = copy + start, lens[n] = i - start, n++;
            start = i + 1;
        }
    const char *since = n == 4 ? parts[3] : NULL;
    size_t pages = n == 4 ? 3 : n;
    dc_audit_report_t rep;
    if (dc_audit_verify_pages(parts, lens, pages, since, &rep) != DC_OK) abort();
    if (!rep.ok && !rep.why[0]) abort();
    if (rep.ok && rep.head_seq != rep.entries) abort();
    (void)dc_audit_page_last_seq(parts[0], lens[0]);
    free(copy);
    return 0;
}
