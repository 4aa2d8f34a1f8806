/* Internal: the store's backend table and what every backend shares.
 *
 * include/deconflict/store.h is the contract; store.c implements each public function by
 * calling the store's backend through this table (curl's vtls, readsb's sdr_handlers[]), so a
 * second backend is a new file filling the table, never an edit of the callers. A backend's
 * store embeds `struct dc_store` as its first member. */
#ifndef DC_STORE_INT_H
#define DC_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "deconflict/audit.h"
#include "deconflict/store.h"
#include "store/audit_entry.h"

typedef struct dc_store_backend dc_store_backend_t;

/* What every backend's store starts with. */
struct dc_store {
    const dc_store_backend_t *be;
    /* The signed request being served (dc_store_set_request): entries its party causes carry
     * its hash and signature, and keep its body. */
    struct {
        int64_t party;
        const char *body;
        size_t len;
        char sig64[96];
    } req;
    char err[256];       /* the last failure, for logs (dc_store_last_error) */
    uint64_t reconnects; /* connections lost and made again (dc_store_reconnects) */
    bool disconnected;   /* the connection is lost now (dc_store_disconnected) */
    char notice[600];    /* what opening tightened (dc_store_notice) */
};

/* One function per public operation, with the public function's contract (store.h). */
struct dc_store_backend {
    const char *name;
    void (*close)(dc_store_t *st);
    int (*schema_version)(dc_store_t *st);
    dc_err_t (*begin)(dc_store_t *st);
    dc_err_t (*commit)(dc_store_t *st);
    void (*rollback)(dc_store_t *st);
    dc_err_t (*defer_sync)(dc_store_t *st);
    dc_err_t (*flush)(dc_store_t *st, char *err, size_t len);
    dc_err_t (*sync)(dc_store_t *st, char *err, size_t len);
    dc_err_t (*party_add)(dc_store_t *st, const char *name, double now_s,
                          char token_out[DC_TOKEN_MAX], dc_party_t *out);
    dc_err_t (*party_rotate_token)(dc_store_t *st, const char *name, char token_out[DC_TOKEN_MAX]);
    dc_err_t (*party_set_disabled)(dc_store_t *st, const char *name, bool disabled);
    dc_err_t (*party_set_signatures)(dc_store_t *st, const char *name, bool required);
    dc_err_t (*party_list)(dc_store_t *st, void (*fn)(const dc_party_t *p, void *ctx), void *ctx);
    dc_err_t (*party_by_token)(dc_store_t *st, const char *token, dc_party_t *out);
    dc_err_t (*party_set_key)(dc_store_t *st, int64_t party, const uint8_t public_key[32]);
    dc_err_t (*doc_put)(dc_store_t *st, const dc_doc_t *doc);
    dc_err_t (*doc_each)(dc_store_t *st, const char *kind,
                         void (*fn)(const dc_doc_t *doc, void *ctx), void *ctx);
    dc_err_t (*doc_fetch)(dc_store_t *st, const char *kind, const char *id, dc_doc_t *out);
    dc_err_t (*doc_get)(dc_store_t *st, const char *kind, const char *id, int64_t party,
                        char **view, char **state);
    dc_err_t (*doc_list)(dc_store_t *st, const char *kind, int64_t party, const char *state,
                         void (*fn)(const char *id, const char *view, void *ctx), void *ctx);
    dc_err_t (*event_append)(dc_store_t *st, int64_t party, const char *type, const char *data,
                             double t_s, int64_t *seq_out);
    int64_t (*event_last_seq)(dc_store_t *st);
    dc_err_t (*event_since)(dc_store_t *st, int64_t party, int64_t after, int64_t upto, size_t max,
                            void (*fn)(int64_t seq, const char *type, const char *data, double t_s,
                                       void *ctx),
                            void *ctx, int64_t *last);
    dc_err_t (*event_between)(dc_store_t *st, int64_t party, double t0_s, double t1_s, int64_t upto,
                              size_t max,
                              void (*fn)(int64_t seq, const char *type, const char *data,
                                         double t_s, void *ctx),
                              void *ctx, bool *more);
    dc_err_t (*track_put)(dc_store_t *st, int64_t party, const char *id, const char *state,
                          double t_s);
    dc_err_t (*track_each)(dc_store_t *st,
                           void (*fn)(int64_t party, const char *id, const char *state, void *ctx),
                           void *ctx);
    dc_err_t (*history_put)(dc_store_t *st, int64_t party, const dc_track_state_t *s);
    dc_err_t (*history_between)(dc_store_t *st, int64_t party, double t0_s, double t1_s, size_t max,
                                void (*fn)(const char *track_id, double t_s, double lat_deg,
                                           double lon_deg, double alt_ft, double trk_deg,
                                           double gs_kt, void *ctx),
                                void *ctx, bool *more);
    dc_err_t (*history_oldest)(dc_store_t *st, double *t_s);
    dc_err_t (*history_prune)(dc_store_t *st, double before_s, int64_t *deleted);
    dc_err_t (*idem_get)(dc_store_t *st, int64_t party, const char *key, int *status, char **body);
    dc_err_t (*idem_put)(dc_store_t *st, int64_t party, const char *key, int status,
                         const char *body, double t_s);
    dc_err_t (*audit_key)(dc_store_t *st, uint8_t pk[32], uint8_t sk[64]);
    dc_err_t (*audit_head)(dc_store_t *st, int64_t *seq, uint8_t hash[32]);
    dc_err_t (*audit_each)(dc_store_t *st, int64_t after, size_t max, int64_t party,
                           void (*fn)(const dc_audit_row_t *row, void *ctx), void *ctx);
    dc_err_t (*changes)(dc_store_t *st, int64_t after, size_t max,
                        void (*fn)(int64_t seq, const char *kind, const char *id, void *ctx),
                        void *ctx, int64_t *last);
    dc_err_t (*tracks_since)(dc_store_t *st, int64_t after, size_t max,
                             void (*fn)(int64_t party, const char *id, const char *state,
                                        void *ctx),
                             void *ctx, int64_t *last);
    dc_err_t (*lead)(dc_store_t *st, const char *node, double lease_s, bool *leader);
    dc_err_t (*heads)(dc_store_t *st, int64_t *changes, int64_t *tracks);
};

/* The backends. */
extern const dc_store_backend_t dc_store_sqlite_backend;
dc_store_t *dc_store_sqlite_open(const char *dir, bool create, char *err, size_t len);
extern const dc_store_backend_t dc_store_pg_backend;
dc_store_t *dc_store_pg_open(const char *conninfo, char *err, size_t len);

/* A new party token (NUL-terminated, "dct_" + 43 base64url characters) and its hash, the only
 * form a backend keeps. */
#define DC_STORE_TOKEN_HASH_BYTES 32
void dc_store_new_token(char out[DC_TOKEN_MAX], uint8_t hash[DC_STORE_TOKEN_HASH_BYTES]);

/* The hash of token, for a lookup; false when it is not of the shape tokens have (then it
 * matches no party). */
bool dc_store_token_hash(const char *token, uint8_t hash[DC_STORE_TOKEN_HASH_BYTES]);

/* Appends a sentence to st's notices. */
void dc_store_add_notice(dc_store_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
