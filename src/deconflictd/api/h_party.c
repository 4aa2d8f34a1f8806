/* /v1/party: who the caller is; registering its Ed25519 public key, with which it then signs
 * its requests (docs/audit.md); its replay clock, with which its console shows a recording's
 * times (docs/service.md, "Replays"). */
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "api/parse.h"
#include "core/parties.h"

/* The caller as GET /v1/party answers it: id, name, the public key it registered (key, NULL:
 * none) and its replay clock when it has one. NULL when the store could not be read. */
static json_t *party_json(dd_request_t *rq, const uint8_t *key, dd_response_t *rs)
{
    dd_replay_clock_t clock;
    dc_err_t rc = dd_party_replay_clock(rq->svc, rq->party, &clock);
    if (rc != DC_OK && rc != DC_ERR_NOT_FOUND) {
        dd_respond_problem(rs, DC_ERR_STORE, "", "the party's replay clock could not be read");
        return NULL;
    }
    json_t *me = json_pack("{s:I, s:s}", "id", (json_int_t)rq->party, "name", rq->party_name);
    if (me && key) {
        char k64[64];
        sodium_bin2base64(k64, sizeof(k64), key, 32, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(me, "public_key", json_string(k64));
    }
    if (me && rc == DC_OK) json_object_set_new(me, "replay_clock", dd_replay_clock_json(&clock));
    return me;
}

void dd_h_party_get(dd_request_t *rq, dd_response_t *rs)
{
    json_t *me = party_json(rq, rq->has_key ? rq->public_key : NULL, rs);
    if (me) dd_respond_json(rs, 200, me);
}

dc_err_t dd_replay_clock_parse(json_t *body, double now, dd_replay_clock_t *c, dd_fault_t *f)
{
    const struct {
        const char *name;
        double lo, hi;
        const char *limit;
        double *out;
    } fields[] = {
        {"recording_start_s", 0, now, "Unix seconds from 1970 to now", &c->recording_start_s},
        {"service_start_s", now - 86400, now + 86400,
         "Unix seconds within a day of the service's clock", &c->service_start_s},
        {"speed", 0.01, 1000,
         "how many seconds of the recording a second of the service's clock carries, 0.01-1000",
         &c->speed},
    };
    enum { N_FIELDS = sizeof(fields) / sizeof(fields[0]) };
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        size_t i = 0;
        while (i < N_FIELDS && strcmp(key, fields[i].name) != 0) i++;
        if (i == N_FIELDS)
            return dd_fail(f, DC_ERR_INVALID, key[0] ? key : "body",
                           "'%.60s': not a member of a replay clock (recording_start_s, "
                           "service_start_s, speed)",
                           key);
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        json_t *n = json_object_get(body, fields[i].name);
        double x = json_is_number(n) ? json_number_value(n) : NAN;
        if (!(x >= fields[i].lo && x <= fields[i].hi))
            return dd_fail(f, DC_ERR_INVALID, fields[i].name, "%s: %s", fields[i].name,
                           fields[i].limit);
        *fields[i].out = x;
    }
    /* What a document's 12 digits keep of Unix seconds. */
    c->recording_start_s = round(c->recording_start_s * 100) / 100;
    c->service_start_s = round(c->service_start_s * 100) / 100;
    return DC_OK;
}

void dd_h_party_replay_clock_put(dd_request_t *rq, dd_response_t *rs)
{
    json_t *body = dd_request_json(rq, JSON_OBJECT, rs);
    if (!body) return;
    dd_replay_clock_t clock;
    dd_fault_t f;
    dc_err_t rc = dd_replay_clock_parse(body, rq->now, &clock, &f);
    json_decref(body);
    if (rc == DC_OK) rc = dd_party_set_replay_clock(rq->svc, rq->party, &clock, rq->now, &f);
    if (rc != DC_OK)
        dd_respond_fault(rs, &f);
    else
        dd_respond_json(rs, 200, dd_replay_clock_json(&clock));
}

void dd_h_party_replay_clock_delete(dd_request_t *rq, dd_response_t *rs)
{
    dd_fault_t f;
    if (dd_party_set_replay_clock(rq->svc, rq->party, NULL, rq->now, &f) != DC_OK) {
        dd_respond_fault(rs, &f);
        return;
    }
    json_t *me = party_json(rq, rq->has_key ? rq->public_key : NULL, rs);
    if (me) dd_respond_json(rs, 200, me);
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
    else {
        json_t *me = party_json(rq, key, rs);
        if (me) dd_respond_json(rs, 200, me);
    }
}
