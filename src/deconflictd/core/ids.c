/* Ids: see ids.h. */
#include "core/ids.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_random_id(const char *prefix, char *out, size_t len)
{
    unsigned char raw[12];
    randombytes_buf(raw, sizeof(raw));
    char hex[2 * sizeof(raw) + 1];
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    snprintf(out, len, "%s%s", prefix, hex);
}

void dd_pair_conflict_id(const char *op1, const char *op2, char out[40])
{
    const char *lo = strcmp(op1, op2) < 0 ? op1 : op2, *hi = lo == op1 ? op2 : op1;
    unsigned char h[12];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)lo, strlen(lo) + 1);
    crypto_generichash_update(&st, (const unsigned char *)hi, strlen(hi) + 1);
    crypto_generichash_final(&st, h, sizeof(h));
    char hex[25];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(out, 40, "cf_%s", hex);
}

int64_t dd_party_of(const char *engine_id)
{
    return strtoll(engine_id, NULL, 10);
}

bool dd_engine_id(int64_t party, const char *track, char out[DC_TRACK_ID_MAX])
{
    char id[DC_TRACK_ID_MAX + 24];
    int n = snprintf(id, sizeof(id), "%lld/%s", (long long)party, track);
    if (n < 0 || n >= DC_TRACK_ID_MAX) return false;
    memcpy(out, id, (size_t)n + 1);
    return true;
}
