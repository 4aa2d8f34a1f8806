/* Parties: see parties.h. */
#include "core/parties.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/commit.h"
#include "core/format.h"

static void cache_name(const dc_party_t *p, void *ctx)
{
    dd_service_t *svc = ctx;
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)p->id);
    if (dd_table_get(&svc->party_names, key)) return;
    char *name = strdup(p->name);
    if (name && !dd_table_put(&svc->party_names, key, name)) free(name);
}

void dd_party_name(dd_service_t *svc, int64_t party, char out[DC_PARTY_NAME_MAX])
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)party);
    const char *name = dd_table_get(&svc->party_names, key);
    if (!name) { /* added since: read the list again */
        dc_store_party_list(svc->store, cache_name, svc);
        name = dd_table_get(&svc->party_names, key);
    }
    snprintf(out, DC_PARTY_NAME_MAX, "%s", name ? name : "");
}

typedef struct by_name {
    const char *name;
    int64_t id;
} by_name_t;

static void match_name(const dc_party_t *p, void *ctx)
{
    by_name_t *b = ctx;
    if (!p->disabled && strcmp(p->name, b->name) == 0) b->id = p->id;
}

int64_t dd_party_id(dd_service_t *svc, const char *name)
{
    by_name_t b = {name, 0};
    if (name) dc_store_party_list(svc->store, match_name, &b);
    return b.id;
}

typedef struct others {
    int64_t except, *ids;
    size_t n, cap;
    bool nomem;
} others_t;

static void add_other(const dc_party_t *p, void *ctx)
{
    others_t *o = ctx;
    if (p->id == o->except || p->disabled || o->nomem) return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        int64_t *ids = realloc(o->ids, cap * sizeof(*ids));
        if (!ids) {
            o->nomem = true;
            return;
        }
        o->ids = ids, o->cap = cap;
    }
    o->ids[o->n++] = p->id;
}

bool dd_parties_others(dd_service_t *svc, int64_t except, int64_t **ids, size_t *n)
{
    others_t o = {.except = except};
    dc_err_t rc = dc_store_party_list(svc->store, add_other, &o);
    if (rc != DC_OK || o.nomem) {
        free(o.ids);
        return false;
    }
    *ids = o.ids, *n = o.n;
    return true;
}

dc_err_t dd_party_authenticate(dd_service_t *svc, const char *token, dc_party_t *out)
{
    pthread_mutex_lock(&svc->auth_lock);
    dc_err_t rc = dc_store_party_by_token(svc->auth_store, token, out);
    pthread_mutex_unlock(&svc->auth_lock);
    if (rc == DC_OK) return DC_OK;
    return rc == DC_ERR_NOT_FOUND ? DC_ERR_UNAUTHORIZED : DC_ERR_UNAVAILABLE;
}

dc_err_t dd_party_set_key(dd_service_t *svc, int64_t party, const uint8_t key[32], dd_fault_t *f)
{
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_start(svc, f);
    if (rc == DC_OK) {
        rc = dc_store_party_set_key(svc->store, party, key);
        if (rc == DC_ERR_CONFLICT)
            rc = dd_fail(f, DC_ERR_KEY_IN_USE, "public_key",
                         "public_key: this key is registered by another party; a key identifies "
                         "one party: generate your own");
        else if (rc != DC_OK)
            rc = dd_fail(f, DC_ERR_STORE, "", "the key could not be stored");
        rc = dd_tx_finish(svc, rc, f);
    }
    dd_write_unlock(svc);
    return rc;
}

json_t *dd_replay_clock_json(const dd_replay_clock_t *c)
{
    char rec[40], svc_t[40];
    return json_pack("{s:s, s:f, s:s, s:f, s:f}", "recording_start",
                     dd_time_text(c->recording_start_s, rec), "recording_start_s",
                     c->recording_start_s, "service_start", dd_time_text(c->service_start_s, svc_t),
                     "service_start_s", c->service_start_s, "speed", c->speed);
}

/* One document per party, kind "replay_clock", id its number; cleared is a state, so that the
 * audit trail keeps when a party stopped replaying. */
dc_err_t dd_party_set_replay_clock(dd_service_t *svc, int64_t party, const dd_replay_clock_t *clock,
                                   double now, dd_fault_t *f)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)party);
    json_t *view = clock ? dd_replay_clock_json(clock) : json_object();
    char *text = view ? dd_json_text(view) : NULL;
    json_decref(view);
    if (!text) return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    dc_doc_t doc = {"replay_clock", id, party, 0, text, NULL, clock ? "set" : "cleared", now,
                    party};
    dd_write_lock(svc);
    dc_err_t rc = dd_tx_start(svc, f);
    if (rc == DC_OK) {
        rc = dc_store_doc_put(svc->store, &doc);
        if (rc != DC_OK) rc = dd_fail(f, DC_ERR_STORE, "", "the replay clock could not be stored");
        rc = dd_tx_finish(svc, rc, f);
    }
    dd_write_unlock(svc);
    free(text);
    return rc;
}

dc_err_t dd_party_replay_clock(dd_service_t *svc, int64_t party, dd_replay_clock_t *clock)
{
    char id[24], *view = NULL, *state = NULL;
    snprintf(id, sizeof(id), "%lld", (long long)party);
    dd_read_lock(svc);
    dc_err_t rc = dc_store_doc_get(svc->store, "replay_clock", id, party, &view, &state);
    dd_read_unlock(svc);
    if (rc == DC_OK && strcmp(state, "set") != 0) rc = DC_ERR_NOT_FOUND;
    json_t *o = rc == DC_OK ? json_loads(view, 0, NULL) : NULL;
    if (rc == DC_OK) {
        clock->recording_start_s = json_number_value(json_object_get(o, "recording_start_s"));
        clock->service_start_s = json_number_value(json_object_get(o, "service_start_s"));
        clock->speed = json_number_value(json_object_get(o, "speed"));
        if (!o || !(clock->speed > 0)) rc = DC_ERR_STORE; /* not a view this code wrote */
    }
    json_decref(o);
    free(view);
    free(state);
    return rc;
}

void dd_parties_close(dd_service_t *svc)
{
    dd_table_free_all(&svc->party_names, free);
}
