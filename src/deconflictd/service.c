/* deconflictd's state: the store, the strategic engine, and what filing an operation does —
 * store it, find its conflicts, write each party's view of each conflict, append the events.
 * Everything here runs under svc->lock (taken by the HTTP handlers). */
#include "service.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acks.h"
#include "agreements.h"
#include "commit.h"
#include "messages.h"
#include "deconflict/timefmt.h"

/* Remembers who owns an operation ref, and which conflicts an operation is in. */
static void note_ref(dd_service_t *svc, const char *ref, const char *id, int64_t party)
{
    json_object_set_new(svc->refs, ref,
                        json_pack("{s:s, s:I}", "id", id, "party", (json_int_t)party));
}

/* Remembers an operation's owner and state (as committed), for the checks of the detection
 * pass and of position reports, which must not read the store per track. */
static void note_op(dd_service_t *svc, const char *id, int64_t party, const char *state)
{
    json_object_set_new(svc->op_states, id,
                        json_pack("{s:I, s:s}", "party", (json_int_t)party, "state", state));
}

const char *dd_operation_state(dd_service_t *svc, const char *id, int64_t *party)
{
    json_t *o = json_object_get(svc->op_states, id);
    if (!o) return NULL;
    *party = json_integer_value(json_object_get(o, "party"));
    return json_string_value(json_object_get(o, "state"));
}

static void note_conflict_of(dd_service_t *svc, const char *op_id, const char *cid)
{
    json_t *list = json_object_get(svc->op_conflicts, op_id);
    if (!list) {
        list = json_array();
        json_object_set_new(svc->op_conflicts, op_id, list);
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), cid) == 0) return;
    json_array_append_new(list, json_string(cid));
}

static void restore_operation(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    dc_op_state_t state;
    note_op(svc, doc->id, doc->party_a, doc->state);
    if (dc_op_state_parse(doc->state, &state) != DC_OK || !dc_op_state_is_live(state)) return;
    json_t *v = json_loads(doc->view_a, 0, NULL);
    if (!v) return;
    dc_operation_t op;
    if (dd_operation_from_view(v, doc->party_a, &op) == DC_OK) {
        op.state = state;
        note_ref(svc, op.ref, doc->id, doc->party_a);
        if (dc_strategic_file(svc->strategic, &op, NULL) != DC_OK)
            fprintf(stderr, "deconflictd: could not restore operation %s\n", doc->id);
        dc_operation_clear(&op);
    }
    json_decref(v);
}

static void restore_conflict(const dc_doc_t *doc, void *ctx)
{
    dd_service_t *svc = ctx;
    if (strcmp(doc->state, "open") != 0) return;
    svc->open_conflicts++;
    const char *views[2] = {doc->view_a, doc->view_b};
    for (int k = 0; k < 2; k++) {
        json_t *v = views[k] ? json_loads(views[k], 0, NULL) : NULL;
        const char *op = v ? json_string_value(json_object_get(v, "own_operation")) : NULL;
        if (op) note_conflict_of(svc, op, doc->id);
        json_decref(v);
    }
}

bool dd_service_open(dd_service_t *svc, const dd_config_t *cfg, char *err, size_t len)
{
    memset(svc, 0, sizeof(*svc));
    svc->cfg = *cfg;
    pthread_mutex_init(&svc->lock, NULL);
    pthread_cond_init(&svc->events_cond, NULL);
    pthread_mutex_init(&svc->sync_lock, NULL);
    pthread_cond_init(&svc->sync_cond, NULL);
    svc->started_s = dd_now_s();
    svc->period_s = cfg->period_s;
    svc->m_of_n = cfg->m_of_n;
    svc->hysteresis_s = cfg->hysteresis_s;
    svc->store = dc_store_open(cfg->data_dir, err, len); /* checks the directory first */
    if (!svc->store) return false;
    /* One process serves a store: a second daemon on the same directory would keep half the
     * live picture and miss the other half's conflicts. */
    svc->claim = dc_store_claim(cfg->data_dir, err, len);
    if (!svc->claim) return false;
    pthread_mutex_init(&svc->auth_lock, NULL);
    svc->auth_store = dc_store_open(cfg->data_dir, err, len);
    if (!svc->auth_store) return false;
    pthread_mutex_init(&svc->history_lock, NULL);
    svc->history_store = dc_store_open(cfg->data_dir, err, len);
    if (!svc->history_store) return false;
    /* The event streams read on a connection of their own too: a stream never waits for the
     * service lock (a detection pass, a large batch) to read its party's events. */
    pthread_mutex_init(&svc->events_lock, NULL);
    pthread_mutex_init(&svc->marks_mu, NULL);
    svc->events_store = dc_store_open(cfg->data_dir, err, len);
    if (!svc->events_store) return false;
    svc->strategic = dc_strategic_new(NULL);
    if (!svc->strategic) {
        snprintf(err, len, "out of memory");
        return false;
    }
    svc->refs = json_object();
    svc->op_states = json_object();
    svc->op_conflicts = json_object();
    svc->party_names = json_object();
    if (dc_store_doc_each(svc->store, "operation", restore_operation, svc) != DC_OK ||
        dc_store_doc_each(svc->store, "conflict", restore_conflict, svc) != DC_OK) {
        snprintf(err, len, "restoring from the store: %s", dc_store_last_error(svc->store));
        return false;
    }
    if (dc_store_audit_key(svc->store, svc->audit_pk, svc->audit_sk) != DC_OK) {
        snprintf(err, len, "the audit key: %s", dc_store_last_error(svc->store));
        return false;
    }
    if (!dd_messages_open(svc) || !dd_acks_open(svc) || !dd_agreements_open(svc)) {
        snprintf(err, len, "restoring messages: %s", dc_store_last_error(svc->store));
        return false;
    }
    /* Commits do not sync; commit.c syncs outside the lock, one sync for many commits. What
     * a previous run committed but never synced is synced now, before anything is served. */
    if (dc_store_defer_sync(svc->store) != DC_OK || dc_store_sync(svc->store, err, len) != DC_OK) {
        if (!*err) snprintf(err, len, "store: %s", dc_store_last_error(svc->store));
        return false;
    }
    svc->durable_seq = svc->committed_seq = dc_store_event_last_seq(svc->store);
    /* Every party's mark starts at the last event there is: streams compare against it. */
    for (size_t i = 0; i < svc->n_marks; i++) svc->marks[i].last_seq = svc->durable_seq;
    svc->marks_floor = svc->durable_seq;
    return true;
}

void dd_service_close(dd_service_t *svc)
{
    json_decref(svc->refs);
    json_decref(svc->op_states);
    json_decref(svc->op_conflicts);
    json_decref(svc->party_names);
    json_decref(svc->msg_pending);
    free(svc->marks);
    pthread_mutex_destroy(&svc->marks_mu);
    dc_store_close(svc->events_store);
    pthread_mutex_destroy(&svc->events_lock);
    dd_agreements_close(svc);
    json_decref(svc->ack_pending);
    sodium_memzero(svc->audit_sk, sizeof(svc->audit_sk));
    dc_strategic_free(svc->strategic);
    char err[256];
    if (svc->store && dc_store_sync(svc->store, err, sizeof(err)) != DC_OK)
        fprintf(stderr, "deconflictd: %s\n", err);
    dc_store_close(svc->store);
    dc_store_close(svc->auth_store);
    pthread_mutex_destroy(&svc->auth_lock);
    dc_store_close(svc->history_store);
    pthread_mutex_destroy(&svc->history_lock);
    dc_store_release(svc->claim);
    pthread_cond_destroy(&svc->sync_cond);
    pthread_mutex_destroy(&svc->sync_lock);
    pthread_cond_destroy(&svc->events_cond);
    pthread_mutex_destroy(&svc->lock);
}

/* ---- names and ids ---- */

void dd_random_id(const char *prefix, char *out, size_t len)
{
    unsigned char raw[12];
    randombytes_buf(raw, sizeof(raw));
    char hex[2 * sizeof(raw) + 1];
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    snprintf(out, len, "%s%s", prefix, hex);
}

/* The party id behind a party name in the engine: deconflictd files operations with the
 * party's numeric id as the engine's party name, so names can change without re-filing. */
static void party_key(int64_t party, char out[DC_STRATEGIC_ID_MAX])
{
    snprintf(out, DC_STRATEGIC_ID_MAX, "p%lld", (long long)party);
}

static void cache_party_name(const dc_party_t *p, void *ctx)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)p->id);
    json_object_set_new(ctx, key, json_string(p->name));
}

/* Names never change, but parties are added while the daemon runs (deconflict party add on
 * the same store): an unknown id reloads the list. */
void dd_party_name(dd_service_t *svc, int64_t party, char out[DC_PARTY_NAME_MAX])
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)party);
    json_t *name = json_object_get(svc->party_names, key);
    if (!name) {
        dc_store_party_list(svc->store, cache_party_name, svc->party_names);
        name = json_object_get(svc->party_names, key);
    }
    snprintf(out, DC_PARTY_NAME_MAX, "%s", name ? json_string_value(name) : "");
}

static char *time_text(double t_s, char buf[40])
{
    if (dc_time_format_rfc3339(t_s, buf, 40) != DC_OK) snprintf(buf, 40, "%.3f", t_s);
    return buf;
}

/* ---- events ---- */

/* The marks' slot of party, added in order when absent; NULL only without memory. Called with
 * marks_mu held. */
static dd_party_mark_t *mark_of(dd_service_t *svc, int64_t party)
{
    size_t lo = 0, hi = svc->n_marks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (svc->marks[mid].party < party)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < svc->n_marks && svc->marks[lo].party == party) return &svc->marks[lo];
    if (svc->n_marks == svc->cap_marks) {
        size_t cap = svc->cap_marks ? 2 * svc->cap_marks : 16;
        dd_party_mark_t *m = realloc(svc->marks, cap * sizeof(*m));
        if (!m) return NULL;
        svc->marks = m, svc->cap_marks = cap;
    }
    memmove(&svc->marks[lo + 1], &svc->marks[lo], (svc->n_marks - lo) * sizeof(*svc->marks));
    svc->n_marks++;
    svc->marks[lo] = (dd_party_mark_t){party, svc->marks_floor, false};
    return &svc->marks[lo];
}

int64_t dd_events_durable(dd_service_t *svc)
{
    return __atomic_load_n(&svc->durable_seq, __ATOMIC_ACQUIRE);
}

int64_t dd_events_mark(dd_service_t *svc, int64_t party)
{
    int64_t durable = dd_events_durable(svc), last = INT64_MAX;
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    if (m) last = m->last_seq; /* without memory: "something may be new", never "nothing" */
    pthread_mutex_unlock(&svc->marks_mu);
    return last < durable ? last : durable;
}

bool dd_channel_suspended(dd_service_t *svc, int64_t party)
{
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    bool s = m && m->suspended;
    pthread_mutex_unlock(&svc->marks_mu);
    return s;
}

void dd_channel_set_suspended(dd_service_t *svc, int64_t party, bool suspended)
{
    pthread_mutex_lock(&svc->marks_mu);
    dd_party_mark_t *m = mark_of(svc, party);
    if (m) m->suspended = suspended;
    pthread_mutex_unlock(&svc->marks_mu);
}

static dc_err_t event_text(dd_service_t *svc, int64_t party, const char *type, const char *text)
{
    int64_t seq = 0;
    dc_err_t rc = dc_store_event_append(svc->store, party, type, text, dd_now_s(), &seq);
    if (rc == DC_OK) {
        svc->events_total++;
        /* Marked before it is durable: a stream that looks early finds nothing up to the durable
         * seq and waits for the sync's wake-up; one rolled back costs a stream one empty read. */
        pthread_mutex_lock(&svc->marks_mu);
        dd_party_mark_t *m = mark_of(svc, party);
        if (m && seq > m->last_seq) m->last_seq = seq;
        pthread_mutex_unlock(&svc->marks_mu);
    }
    return rc;
}

dc_err_t dd_event(dd_service_t *svc, int64_t party, const char *type, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (!text) return DC_ERR_NOMEM;
    dc_err_t rc = event_text(svc, party, type, text);
    free(text);
    return rc;
}

/* ---- operations ---- */

/* The engine's operation for (party, id, ref, priority, volumes): our JSON through the
 * library's parser, which normalises units and validates every volume. */
static dc_err_t engine_operation(int64_t party, const char *id, const char *ref,
                                 json_int_t priority, json_t *volumes, dc_operation_t *op,
                                 dc_strategic_error_t *err)
{
    char key[DC_STRATEGIC_ID_MAX];
    party_key(party, key);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:O}", "id", id, "party", key, "ref", ref,
                          "priority", priority, "volumes", volumes);
    if (!o) return DC_ERR_NOMEM;
    dc_err_t rc = dc_operation_parse_jansson(o, op, err);
    json_decref(o);
    return rc;
}

/* A parse or validation error of an operation's volumes as a problem naming the field. */
static dc_err_t volume_problem(dd_problem_t *pb, dc_err_t rc, const dc_strategic_error_t *err)
{
    if (rc == DC_ERR_NOMEM) return dd_problem(pb, 500, "out_of_memory", "", "out of memory");
    char field[200];
    if (err->volume_index >= 0)
        snprintf(field, sizeof(field), "volumes/%ld/%s", err->volume_index, err->field);
    else
        snprintf(field, sizeof(field), "%s", err->field);
    return dd_problem(pb, rc == DC_ERR_LIMIT ? 413 : 400, dc_err_code(rc), field, "%s: %s", field,
                      err->message);
}

dc_err_t dd_operation_from_view(json_t *view, int64_t party, dc_operation_t *op)
{
    dc_strategic_error_t err;
    return engine_operation(party, json_string_value(json_object_get(view, "id")),
                            json_string_value(json_object_get(view, "ref")),
                            json_integer_value(json_object_get(view, "priority")),
                            json_object_get(view, "volumes"), op, &err);
}

/* Writes the operation's document and the owner's event of the given type with the same view
 * (serialised once), and returns the view (new reference). */
static json_t *put_operation(dd_service_t *svc, int64_t party, const char *id, const char *ref,
                             dc_op_state_t state, json_int_t priority, uint64_t version,
                             json_t *volumes, double created_s, json_t *changes,
                             const char *event_type, dc_err_t *rc)
{
    double now = dd_now_s();
    char c[40], u[40];
    json_t *view =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:o}", "id", id, "ref", ref, "state",
                  dc_op_state_name(state), "priority", priority, "version", (json_int_t)version,
                  "volumes", volumes, "created", time_text(created_s, c), "updated",
                  time_text(now, u), "changes", changes ? json_incref(changes) : json_array());
    char *text = view ? json_dumps(view, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    if (!text) {
        json_decref(view);
        *rc = DC_ERR_NOMEM;
        return NULL;
    }
    dc_doc_t doc = {"operation", id, party, 0, text, NULL, dc_op_state_name(state), now, party};
    *rc = dc_store_doc_put(svc->store, &doc);
    if (*rc == DC_OK) *rc = event_text(svc, party, event_type, text);
    free(text);
    if (*rc != DC_OK) {
        json_decref(view);
        return NULL;
    }
    return view;
}

static const char *priority_word(dc_priority_cmp_t p)
{
    return p == DC_PRIORITY_LOWER ? "lower" : p == DC_PRIORITY_HIGHER ? "higher" : "equal";
}

typedef struct ref_owner {
    char id[DC_STRATEGIC_ID_MAX];
    int64_t party;
} ref_owner_t;

/* One overlap as both sides may see it. */
static json_t *overlap_json(const dc_strategic_conflict_t *c, bool with_volume_index)
{
    char a[40], b[40];
    json_t *fp = c->footprint_geojson ? json_loads(c->footprint_geojson, 0, NULL) : json_null();
    json_t *o =
        json_pack("{s:o, s:f, s:f, s:s, s:s, s:f, s:b, s:b}", "footprint", fp ? fp : json_null(),
                  "alt_lower_m", c->alt_lower_m, "alt_upper_m", c->alt_upper_m, "time_start",
                  time_text(c->t_start_s, a), "time_end", time_text(c->t_end_s, b), "area_m2",
                  c->area_m2, "touching", c->touching, "alt_assumption", c->alt_assumption);
    if (o && with_volume_index)
        json_object_set_new(o, "own_volume_index", json_integer((json_int_t)c->volume_index));
    return o;
}

/* The conflict id of an operation pair: the same whichever side files, and opaque. */
static void conflict_id(const char *op1, const char *op2, char out[40])
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

/* Writes one strategic conflict between op (filed by party) and the other operation, from the
 * engine's result rows [from, to) that concern it, and appends both parties' events. */
static dc_err_t put_strategic_conflict(dd_service_t *svc, int64_t party, const char *op_id,
                                       const char *op_ref, const ref_owner_t *other,
                                       const dc_strategic_conflict_t *rows, size_t n,
                                       json_t *conflicts_out)
{
    char id[40], now_text[40], mine[DC_PARTY_NAME_MAX], theirs[DC_PARTY_NAME_MAX];
    conflict_id(op_id, other->id, id);
    dd_party_name(svc, party, mine);
    dd_party_name(svc, other->party, theirs);
    double now = dd_now_s();
    char *old_view = NULL, *old_state = NULL;
    bool existed =
        dc_store_doc_get(svc->store, "conflict", id, party, &old_view, &old_state) == DC_OK;
    free(old_view), free(old_state);
    json_t *ov_a = json_array(), *ov_b = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(ov_a, overlap_json(&rows[i], true));
        json_array_append_new(ov_b, overlap_json(&rows[i], false));
    }
    dc_priority_cmp_t pr = rows[0].priority;
    json_t *va =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", id, "kind", "strategic",
                  "state", "open", "own_operation", op_id, "other_party", theirs,
                  "other_operation_ref", rows[0].other_ref, "priority", priority_word(pr),
                  "overlaps", ov_a, "updated", time_text(now, now_text));
    json_t *vb = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", id, "kind", "strategic", "state",
        "open", "own_operation", other->id, "other_party", mine, "other_operation_ref", op_ref,
        "priority", priority_word((dc_priority_cmp_t)-pr), "overlaps", ov_b, "updated", now_text);
    if (!va || !vb) {
        json_decref(va), json_decref(vb);
        return DC_ERR_NOMEM;
    }
    char *ta = json_dumps(va, JSON_COMPACT | JSON_REAL_PRECISION(12)),
         *tb = json_dumps(vb, JSON_COMPACT | JSON_REAL_PRECISION(12));
    /* Each side sees the other operation by its engine reference, never by its id. */
    dc_doc_t doc = {"conflict", id, party, other->party, ta, tb, "open", now, party};
    dc_err_t rc = ta && tb ? dc_store_doc_put(svc->store, &doc) : DC_ERR_NOMEM;
    const char *type = existed ? "conflict.update" : "conflict.new";
    if (rc == DC_OK) rc = dd_event(svc, party, type, va);
    if (rc == DC_OK) rc = dd_event(svc, other->party, type, vb);
    if (rc == DC_OK && !existed) {
        dd_acks_expect(svc, id, party, other->party, now);
        svc->open_conflicts++;
        note_conflict_of(svc, op_id, id);
        note_conflict_of(svc, other->id, id);
    }
    if (rc == DC_OK) json_array_append(conflicts_out, va);
    free(ta), free(tb);
    json_decref(va), json_decref(vb);
    return rc;
}

/* Turns the engine's rows (sorted by volume, then other_ref) into one conflict per other
 * operation. */
static dc_err_t record_conflicts(dd_service_t *svc, int64_t party, const char *op_id,
                                 const char *op_ref, dc_strategic_result_t *res,
                                 json_t *conflicts_out)
{
    /* Group by other_ref: a small quadratic pass, results are short. */
    bool *done = calloc(res->n_conflicts ? res->n_conflicts : 1, sizeof(bool));
    dc_strategic_conflict_t *rows =
        malloc((res->n_conflicts ? res->n_conflicts : 1) * sizeof(*rows));
    if (!done || !rows) {
        free(done), free(rows);
        return DC_ERR_NOMEM;
    }
    dc_err_t rc = DC_OK;
    for (size_t i = 0; i < res->n_conflicts && rc == DC_OK; i++) {
        if (done[i]) continue;
        size_t n = 0;
        for (size_t j = i; j < res->n_conflicts; j++)
            if (!done[j] && strcmp(res->conflicts[j].other_ref, res->conflicts[i].other_ref) == 0)
                rows[n++] = res->conflicts[j], done[j] = true;
        json_t *owner = json_object_get(svc->refs, res->conflicts[i].other_ref);
        if (!owner) continue; /* cannot happen: every engine operation has a document */
        ref_owner_t other = {.party = json_integer_value(json_object_get(owner, "party"))};
        snprintf(other.id, sizeof(other.id), "%s", json_string_value(json_object_get(owner, "id")));
        rc = put_strategic_conflict(svc, party, op_id, op_ref, &other, rows, n, conflicts_out);
    }
    free(done), free(rows);
    return rc;
}

/* An operation filed on ground an active agreement gives another party: a conflict (kind
 * "agreement") for both, the other party seeing the operation by its ref. */
static dc_err_t record_agreement_conflict(dd_service_t *svc, int64_t party,
                                          const dc_operation_t *op, json_t *conflicts_out)
{
    const char *agr = NULL;
    int64_t q = dd_agreement_violated_by(svc, party, op, &agr);
    if (!q) return DC_OK;
    char cid[40], t[40], mine[DC_PARTY_NAME_MAX], theirs[DC_PARTY_NAME_MAX];
    dd_random_id("cf_", cid, sizeof(cid));
    double now = dd_now_s();
    time_text(now, t);
    dd_party_name(svc, party, mine);
    dd_party_name(svc, q, theirs);
    json_t *va = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", cid, "kind", "agreement",
                           "state", "open", "agreement", agr, "own_operation", op->id,
                           "other_party", theirs, "updated", t);
    json_t *vb = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", cid, "kind", "agreement",
                           "state", "open", "agreement", agr, "other_operation_ref", op->ref,
                           "other_party", mine, "updated", t);
    char *ta = json_dumps(va, JSON_COMPACT), *tb = json_dumps(vb, JSON_COMPACT);
    dc_doc_t doc = {"conflict", cid, party, q, ta, tb, "open", now, party};
    dc_err_t rc = ta && tb ? dc_store_doc_put(svc->store, &doc) : DC_ERR_NOMEM;
    if (rc == DC_OK) rc = dd_event(svc, party, "conflict.new", va);
    if (rc == DC_OK) rc = dd_event(svc, q, "conflict.new", vb);
    if (rc == DC_OK) {
        svc->open_conflicts++;
        note_conflict_of(svc, op->id, cid);
        dd_acks_expect(svc, cid, party, q, now);
        json_array_append(conflicts_out, va);
    }
    free(ta), free(tb);
    json_decref(va), json_decref(vb);
    return rc;
}

/* An updated operation against the agreements: an agreement conflict it is still in is kept
 * (listed in conflicts_out, so that resolve_conflicts_of leaves it open), a new one is raised,
 * and one it has left is resolved with the rest. */
static dc_err_t recheck_agreements(dd_service_t *svc, int64_t party, const dc_operation_t *op,
                                   json_t *conflicts_out)
{
    const char *agr = NULL;
    if (!dd_agreement_violated_by(svc, party, op, &agr)) return DC_OK;
    size_t i;
    json_t *cid;
    json_array_foreach(json_object_get(svc->op_conflicts, op->id), i, cid)
    {
        char *view = NULL, *state = NULL;
        if (dc_store_doc_get(svc->store, "conflict", json_string_value(cid), party, &view,
                             &state) != DC_OK)
            continue;
        json_t *v = strcmp(state, "open") == 0 ? json_loads(view, 0, NULL) : NULL;
        free(view), free(state);
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *a = json_string_value(json_object_get(v, "agreement"));
        bool same = kind && a && strcmp(kind, "agreement") == 0 && strcmp(a, agr) == 0;
        if (same) json_array_append(conflicts_out, v);
        json_decref(v);
        if (same) return DC_OK;
    }
    return record_agreement_conflict(svc, party, op, conflicts_out);
}

dc_err_t dd_operation_prepare(int64_t party, json_t *body, dd_new_operation_t *n, dd_problem_t *pb)
{
    memset(n, 0, sizeof(*n));
    json_t *vols = json_object_get(body, "volumes");
    json_t *prio = json_object_get(body, "priority");
    json_t *st = json_object_get(body, "state");
    if (!json_is_array(vols))
        return dd_problem(pb, 400, "invalid_argument", "volumes",
                          "volumes: expected an array of Volume4D");
    if (prio && !json_is_integer(prio))
        return dd_problem(pb, 400, "invalid_argument", "priority", "priority: expected an integer");
    n->state = DC_OP_PLANNED;
    if (st &&
        (!json_is_string(st) || dc_op_state_parse(json_string_value(st), &n->state) != DC_OK ||
         (n->state != DC_OP_PLANNED && n->state != DC_OP_ACTIVE)))
        return dd_problem(pb, 400, "invalid_argument", "state",
                          "state: a new operation is 'planned' or 'active'");
    dd_random_id("op_", n->id, sizeof(n->id));
    dd_random_id("ref_", n->ref, sizeof(n->ref));
    n->priority = prio ? json_integer_value(prio) : 0;
    n->volumes = vols;
    dc_strategic_error_t err;
    dc_err_t rc = engine_operation(party, n->id, n->ref, n->priority, vols, &n->op, &err);
    if (rc != DC_OK) return volume_problem(pb, rc, &err);
    n->op.state = n->state;
    n->ready = true;
    return DC_OK;
}

void dd_operation_prepared_clear(dd_new_operation_t *n)
{
    if (n->ready) dc_operation_clear(&n->op);
    n->ready = false;
}

dc_err_t dd_operation_create(dd_service_t *svc, int64_t party, dd_new_operation_t *n,
                             const char *idem_key, json_t **out, dd_problem_t *pb)
{
    const char *id = n->id, *ref = n->ref;
    dc_op_state_t state = n->state;
    json_int_t priority = n->priority;
    json_t *vols = n->volumes;
    dc_strategic_result_t res;
    dc_err_t rc = dc_strategic_file(svc->strategic, &n->op, &res);
    if (rc != DC_OK) {
        return dd_problem(pb, dc_err_http_status(rc), dc_err_code(rc), "volumes",
                          "the operation could not be filed: %s", dc_strerror(rc));
    }
    /* Durable before we answer: the operation, its conflicts, every event and the idempotency
     * record, in one section. If the store fails, the engine forgets the operation again. The
     * owner is noted before the section ends: a filing that runs while this one waits for its
     * group's commit may conflict with it. */
    json_t *conflicts = json_array();
    rc = dd_tx_begin(svc);
    json_t *opview = NULL;
    if (rc == DC_OK)
        opview = put_operation(svc, party, id, ref, state, priority, 1, vols, dd_now_s(), NULL,
                               "operation.created", &rc);
    if (rc == DC_OK) rc = record_conflicts(svc, party, id, ref, &res, conflicts);
    dc_strategic_result_clear(&res);
    if (rc == DC_OK) rc = record_agreement_conflict(svc, party, &n->op, conflicts);
    if (rc == DC_OK) json_object_set_new(opview, "conflicts", conflicts), conflicts = NULL;
    if (rc == DC_OK && idem_key) {
        char *text = json_dumps(opview, JSON_COMPACT | JSON_REAL_PRECISION(12));
        rc = text ? dc_store_idem_put(svc->store, party, idem_key, 201, text, dd_now_s())
                  : DC_ERR_NOMEM;
        free(text);
    }
    if (rc == DC_OK) {
        note_ref(svc, ref, id, party);
        note_op(svc, id, party, dc_op_state_name(state));
        rc = dd_tx_end(svc);
        if (rc != DC_OK) json_object_del(svc->refs, ref), json_object_del(svc->op_states, id);
    } else {
        dd_tx_abort(svc);
    }
    if (rc != DC_OK) {
        dc_strategic_set_state(svc->strategic, id, DC_OP_CANCELLED);
        json_decref(opview), json_decref(conflicts);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the write: %s",
                          dc_store_last_error(svc->store));
    }
    *out = opview;
    return DC_OK;
}

static char *with_state(const char *view, const char *state, json_t **as_json)
{
    json_t *v = json_loads(view, 0, NULL);
    if (!v) return NULL;
    json_object_set_new(v, "state", json_string(state));
    char t[40];
    json_object_set_new(v, "updated", json_string(time_text(dd_now_s(), t)));
    char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12));
    *as_json = v;
    return text;
}

/* Marks conflict cid resolved for both parties, with their events, if it is open; actor: the
 * party whose change resolves it. */
static dc_err_t resolve_conflict(dd_service_t *svc, const char *cid, int64_t actor)
{
    dc_doc_t doc;
    if (dc_store_doc_fetch(svc->store, "conflict", cid, &doc) != DC_OK) return DC_OK;
    dc_err_t rc = DC_OK;
    if (strcmp(doc.state, "open") == 0) {
        json_t *ja = NULL, *jb = NULL;
        char *ta = with_state(doc.view_a, "resolved", &ja);
        char *tb = with_state(doc.view_b ? doc.view_b : "{}", "resolved", &jb);
        dc_doc_t upd = {"conflict", doc.id,     doc.party_a, doc.party_b, ta,
                        tb,         "resolved", dd_now_s(),  actor};
        rc = ta && tb ? dc_store_doc_put(svc->store, &upd) : DC_ERR_NOMEM;
        if (rc == DC_OK) rc = dd_event(svc, doc.party_a, "conflict.resolved", ja);
        if (rc == DC_OK) rc = dd_event(svc, doc.party_b, "conflict.resolved", jb);
        if (rc == DC_OK && svc->open_conflicts) svc->open_conflicts--;
        free(ta), free(tb);
        json_decref(ja), json_decref(jb);
    }
    dc_doc_release(&doc);
    return rc;
}

/* Resolves every open conflict of operation op_id except those listed in keep (conflict views
 * with an "id"; NULL keeps none). */
static dc_err_t resolve_conflicts_of(dd_service_t *svc, const char *op_id, json_t *keep,
                                     int64_t actor)
{
    json_t *list = json_object_get(svc->op_conflicts, op_id);
    size_t i, j;
    json_t *cid, *k;
    dc_err_t rc = DC_OK;
    json_array_foreach(list, i, cid)
    {
        bool kept = false;
        json_array_foreach(keep, j, k) kept |= json_equal(json_object_get(k, "id"), cid);
        if (!kept && rc == DC_OK) rc = resolve_conflict(svc, json_string_value(cid), actor);
    }
    return rc;
}

dc_err_t dd_operation_set_state(dd_service_t *svc, int64_t party, const char *id,
                                const char *action, json_t **out, dd_problem_t *pb)
{
    dc_op_state_t to;
    if (strcmp(action, "activate") == 0)
        to = DC_OP_ACTIVE;
    else if (strcmp(action, "end") == 0)
        to = DC_OP_ENDED;
    else if (strcmp(action, "cancel") == 0)
        to = DC_OP_CANCELLED;
    else
        return dd_problem(pb, 404, "not_found", "", "no such action '%s'", action);
    char *view = NULL, *state = NULL;
    if (dc_store_doc_get(svc->store, "operation", id, party, &view, &state) != DC_OK)
        return dd_problem(pb, 404, "not_found", "id", "no operation '%s'", id);
    json_t *v = json_loads(view, 0, NULL);
    free(view);
    dc_op_state_t from;
    dc_op_state_parse(state, &from);
    free(state);
    dc_err_t rc =
        dc_op_state_is_live(from) ? dc_strategic_set_state(svc->strategic, id, to) : DC_ERR_INVALID;
    if (rc != DC_OK) {
        json_decref(v);
        return dd_problem(pb, 409, "invalid_transition", "state",
                          "an operation cannot go from %s to %s", dc_op_state_name(from),
                          dc_op_state_name(to));
    }
    rc = dd_tx_begin(svc);
    json_int_t version = json_integer_value(json_object_get(v, "version"));
    double created = 0;
    dc_time_parse_rfc3339(json_string_value(json_object_get(v, "created")), &created);
    json_t *nv = NULL;
    if (rc == DC_OK)
        nv = put_operation(svc, party, id, json_string_value(json_object_get(v, "ref")), to,
                           json_integer_value(json_object_get(v, "priority")), (uint64_t)version,
                           json_object_get(v, "volumes"), created, json_object_get(v, "changes"),
                           "operation.state", &rc);
    if (rc == DC_OK && !dc_op_state_is_live(to)) rc = resolve_conflicts_of(svc, id, NULL, party);
    if (rc == DC_OK) {
        note_op(svc, id, party, dc_op_state_name(to));
        rc = dd_tx_end(svc);
        if (rc != DC_OK) note_op(svc, id, party, dc_op_state_name(from));
    } else {
        dd_tx_abort(svc);
    }
    json_decref(v);
    if (rc != DC_OK) {
        json_decref(nv);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the write: %s",
                          dc_store_last_error(svc->store));
    }
    *out = nv;
    return DC_OK;
}

dc_err_t dd_operation_update(dd_service_t *svc, int64_t party, const char *id, json_t *body,
                             json_t **out, dd_problem_t *pb)
{
    json_t *ver = json_object_get(body, "version"), *vols = json_object_get(body, "volumes"),
           *prio = json_object_get(body, "priority");
    if (!json_is_integer(ver))
        return dd_problem(pb, 400, "invalid_argument", "version",
                          "version: the operation's current version is required");
    if (vols && !json_is_array(vols))
        return dd_problem(pb, 400, "invalid_argument", "volumes",
                          "volumes: expected an array of Volume4D");
    if (prio && !json_is_integer(prio))
        return dd_problem(pb, 400, "invalid_argument", "priority", "priority: expected an integer");
    char *text = NULL, *state_name = NULL;
    if (dc_store_doc_get(svc->store, "operation", id, party, &text, &state_name) != DC_OK)
        return dd_problem(pb, 404, "not_found", "id", "no operation '%s'", id);
    json_t *cur = json_loads(text, 0, NULL);
    free(text);
    dc_op_state_t state = DC_OP_PLANNED;
    dc_op_state_parse(state_name, &state);
    free(state_name);
    if (!cur) return dd_problem(pb, 500, "store_failed", "", "unreadable operation");
    json_int_t cur_version = json_integer_value(json_object_get(cur, "version"));
    json_t *changes = json_object_get(cur, "changes");
    if (json_integer_value(ver) != cur_version) {
        /* Stale: say what changed since the caller's version. */
        json_t *since = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(changes, i, c) if (json_integer_value(json_object_get(c, "version")) >
                                              json_integer_value(ver)) json_array_append(since, c);
        dd_problem(pb, 409, "stale_version", "version",
                   "version %lld is not the current one (%lld): read the operation again",
                   (long long)json_integer_value(ver), (long long)cur_version);
        pb->ext = json_pack("{s:I, s:o}", "current_version", cur_version, "changes", since);
        json_decref(cur);
        return DC_ERR_CONFLICT;
    }
    if (!dc_op_state_is_live(state)) {
        json_decref(cur);
        return dd_problem(pb, 409, "invalid_transition", "state",
                          "a %s operation cannot be updated", dc_op_state_name(state));
    }
    json_t *new_vols = vols ? vols : json_object_get(cur, "volumes");
    json_int_t new_prio =
        prio ? json_integer_value(prio) : json_integer_value(json_object_get(cur, "priority"));
    const char *ref = json_string_value(json_object_get(cur, "ref"));
    dc_operation_t op;
    dc_strategic_error_t err;
    dc_err_t rc = engine_operation(party, id, ref, new_prio, new_vols, &op, &err);
    if (rc != DC_OK) {
        json_decref(cur);
        return volume_problem(pb, rc, &err);
    }
    op.state = state;
    dc_strategic_result_t res;
    rc = dc_strategic_update(svc->strategic, &op, (uint64_t)cur_version, &res);
    if (rc != DC_OK) {
        dc_operation_clear(&op);
        json_decref(cur);
        return dd_problem(pb, 409, "stale_version", "version", "the engine refused the update: %s",
                          dc_strerror(rc));
    }
    json_t *fields = json_array();
    if (vols && !json_equal(vols, json_object_get(cur, "volumes")))
        json_array_append_new(fields, json_string("volumes"));
    if (prio && new_prio != json_integer_value(json_object_get(cur, "priority")))
        json_array_append_new(fields, json_string("priority"));
    char t[40];
    json_t *all = json_copy(changes ? changes : json_array());
    json_array_append_new(all, json_pack("{s:I, s:o, s:s}", "version", cur_version + 1, "fields",
                                         fields, "at", time_text(dd_now_s(), t)));
    double created = 0;
    dc_time_parse_rfc3339(json_string_value(json_object_get(cur, "created")), &created);
    json_t *conflicts = json_array(), *nv = NULL;
    rc = dd_tx_begin(svc);
    if (rc == DC_OK)
        nv = put_operation(svc, party, id, ref, state, new_prio, (uint64_t)cur_version + 1,
                           new_vols, created, all, "operation.updated", &rc);
    if (rc == DC_OK) rc = record_conflicts(svc, party, id, ref, &res, conflicts);
    if (rc == DC_OK) rc = recheck_agreements(svc, party, &op, conflicts);
    dc_operation_clear(&op);
    if (rc == DC_OK) rc = resolve_conflicts_of(svc, id, conflicts, party);
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    dc_strategic_result_clear(&res);
    json_decref(all);
    json_decref(cur);
    if (rc != DC_OK) {
        /* The engine already holds the new version; the store does not. Say so plainly: the
         * next restart restores the stored one. */
        json_decref(nv), json_decref(conflicts);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the write: %s",
                          dc_store_last_error(svc->store));
    }
    json_object_set_new(nv, "conflicts", conflicts);
    *out = nv;
    return DC_OK;
}

dc_err_t dd_conflict_ack(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                         dd_problem_t *pb)
{
    char *view = NULL, *state = NULL;
    if (dc_store_doc_get(svc->store, "conflict", id, party, &view, &state) != DC_OK)
        return dd_problem(pb, 404, "not_found", "id", "no conflict '%s'", id);
    free(state);
    json_t *v = json_loads(view, 0, NULL);
    free(view);
    if (!v) return dd_problem(pb, 500, "store_failed", "", "unreadable conflict");
    /* Only this party's view changes: the other side sees its own acknowledgement state. */
    char t[40];
    json_object_set_new(v, "acknowledged", json_true());
    json_object_set_new(v, "acknowledged_at", json_string(time_text(dd_now_s(), t)));
    dc_err_t rc = dd_tx_begin(svc);
    if (rc == DC_OK) rc = dd_conflict_put_view(svc, id, party, v);
    if (rc == DC_OK) rc = dd_event(svc, party, "conflict.acked", v);
    if (rc == DC_OK)
        rc = dd_tx_end(svc);
    else
        dd_tx_abort(svc);
    if (rc == DC_OK) dd_acks_done(svc, id, party);
    if (rc != DC_OK) {
        json_decref(v);
        return dd_problem(pb, 500, "store_failed", "", "the store refused the write: %s",
                          dc_store_last_error(svc->store));
    }
    *out = v;
    return DC_OK;
}

/* Replaces party's view of conflict id, keeping the other side's. */
dc_err_t dd_conflict_put_view(dd_service_t *svc, const char *id, int64_t party, json_t *view)
{
    dc_doc_t doc;
    dc_err_t rc = dc_store_doc_fetch(svc->store, "conflict", id, &doc);
    if (rc != DC_OK) return rc;
    char *text = json_dumps(view, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (text) {
        dc_doc_t upd = doc;
        upd.updated_s = dd_now_s();
        upd.actor = party;
        if (doc.party_a == party)
            upd.view_a = text;
        else
            upd.view_b = text;
        rc = dc_store_doc_put(svc->store, &upd);
    } else {
        rc = DC_ERR_NOMEM;
    }
    free(text);
    dc_doc_release(&doc);
    return rc;
}
