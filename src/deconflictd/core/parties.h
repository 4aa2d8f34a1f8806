/* deconflictd: parties as the domain sees them -- names by id (cached: names never change,
 * but parties are added while the service runs, by `deconflict party add` on the same store),
 * ids by name, every other enabled party (calls with the service lock held); authentication and
 * keys (calls that take what they need themselves). */
#ifndef DD_CORE_PARTIES_H
#define DD_CORE_PARTIES_H

#include <jansson.h>

#include "core/state.h"

/* party's name into out ("" when unknown). */
void dd_party_name(dd_service_t *svc, int64_t party, char out[DC_PARTY_NAME_MAX]);

/* The enabled party called name, or 0. */
int64_t dd_party_id(dd_service_t *svc, const char *name);

/* Every enabled party but `except`, as a new array (*n of them; the caller frees it). false
 * when memory ran out. */
bool dd_parties_others(dd_service_t *svc, int64_t except, int64_t **ids, size_t *n);

/* The enabled party holding token (on the authentication connection: never waits for the
 * service lock). DC_ERR_UNAUTHORIZED when none; DC_ERR_UNAVAILABLE when the store could not be
 * asked (a token is never called invalid because the store is down). */
dc_err_t dd_party_authenticate(dd_service_t *svc, const char *token, dc_party_t *out);

/* Registers party's Ed25519 public key (checked by the caller to be a valid point), in a write
 * section of its own. DC_ERR_KEY_IN_USE when another party holds it. */
dc_err_t dd_party_set_key(dd_service_t *svc, int64_t party, const uint8_t key[32], dd_fault_t *f);

/* A party's replay clock: how the times of a recording it feeds faster than real time map onto
 * the service's clock -- at the service's time t the recording's is
 * recording_start_s + (t - service_start_s) * speed -- so that its console can show the
 * recording's times (docs/service.md, "Replays"). The party's own: never shown to another. */
typedef struct dd_replay_clock {
    double recording_start_s, service_start_s, speed;
} dd_replay_clock_t;

/* The one writer of a replay clock's JSON (what is stored and what the API answers). */
json_t *dd_replay_clock_json(const dd_replay_clock_t *clock);

/* Sets party's replay clock, or clears it (clock NULL), in a write section of its own; now:
 * the service's time of the change. */
dc_err_t dd_party_set_replay_clock(dd_service_t *svc, int64_t party, const dd_replay_clock_t *clock,
                                   double now, dd_fault_t *f);

/* party's replay clock into *clock, in a read section of its own: DC_OK, DC_ERR_NOT_FOUND when
 * it has none, or the store's error. */
dc_err_t dd_party_replay_clock(dd_service_t *svc, int64_t party, dd_replay_clock_t *clock);

void dd_parties_close(dd_service_t *svc);

#endif
