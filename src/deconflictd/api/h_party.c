/* /v1/party: who the caller is, and registering its Ed25519 public key, with which it then
 * signs its requests (docs/audit.md). */
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "core/parties.h"

static json_t *party_json(dd_request_t *rq, const uint8_t *key)
{
    json_t *me = json_pack("{s:I, s:s}", "id", (json_int_t)rq->party, "name", rq->party_name);
    if (me && key) {
        char k64[64];
        sodium_bin2base64(k64, sizeof(k64), key, 32, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(me, "public_key", json_string(k64));
    }
    return me;
}

void dd_h_party_get(dd_request_t *rq, dd_response_t *rs)
{
    dd_respond_json(rs, 200, party_json(rq, rq->has_key ? rq->public_key : NULL));
}

void dd_h_party_key(dd_request_t *rq, dd_response_t *rs)
{
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    uint8_t key[32];
    size_t got = 0;
    const char *k64 = json_string_value(json_object_get(body, "public_key"));
    bool decoded = k64 &&
                   sodium_base642bin(key, sizeof(key), k64, strlen(k64), NULL, &got, NULL,
                                     sodium_base64_VARIANT_ORIGINAL) == 0 &&
                   got == sizeof(key);
    json_decref(body);
    if (!decoded) {
        dd_respond_problem(rs, DC_ERR_INVALID, "public_key",
                           "public_key: an Ed25519 public key, 32 bytes in base64");
        return;
    }
    /* A point off the curve or of small order (the all-zero key among them) would let anyone
     * forge "valid" signatures. */
    if (!crypto_core_ed25519_is_valid_point(key)) {
        dd_respond_problem(rs, DC_ERR_INVALID, "public_key",
                           "public_key: not a valid Ed25519 public key (a point of small order "
                           "or off the curve)");
        return;
    }
    dd_fault_t f;
    if (dd_party_set_key(rq->svc, rq->party, key, &f) != DC_OK)
        dd_respond_fault(rs, &f);
    else
        dd_respond_json(rs, 200, party_json(rq, key));
}
