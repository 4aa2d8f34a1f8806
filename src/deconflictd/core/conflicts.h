/* deconflictd: conflicts, of every kind, as one structure and one writer.
 *
 * A conflict has one or two sides, each a party; each side has its own view, written when the
 * conflict is written, so what a party may see is decided there and only there. Kinds:
 *   strategic      two operations' volumes overlap (operations.c)
 *   tactical       two parties' aircraft are predicted to lose separation (detection.c)
 *   intrusion      an aircraft inside another party's active operation (conformance.c)
 *   nonconforming  an aircraft outside its own active operation (one side)
 *   agreement      an aircraft or an operation on ground an agreement gives another party
 * Open conflicts are kept in svc->conflicts; dd_conflict_write() is the only function that
 * writes a conflict's document, its views, its events and its audit entry (through the
 * store), and the acknowledgement state lives in the structure, so no rewrite can lose it.
 * Calls inside a write section. */
#ifndef DD_CORE_CONFLICTS_H
#define DD_CORE_CONFLICTS_H

#include "core/ids.h"
#include "core/state.h"

typedef enum dd_cf_kind {
    DD_CF_STRATEGIC,
    DD_CF_TACTICAL,
    DD_CF_INTRUSION,
    DD_CF_NONCONFORMING,
    DD_CF_AGREEMENT,
} dd_cf_kind_t;

/* One side: its party, what it owns in the conflict, what it is shown of the other, and its
 * acknowledgement. */
typedef struct dd_cf_side {
    int64_t party;             /* 0: no such side (a one-party conflict) */
    char track[32];            /* its own track, "" when none */
    char operation[DD_ID_MAX]; /* its own operation, "" when none */
    char other_ref[DD_ID_MAX]; /* the other side's operation, by its ref, "" when none */
    const char *priority;      /* strategic: its operation's priority vs the other's */
    json_t *overlaps;          /* strategic: the overlaps as it sees them (owned) */
    bool sees_aircraft;        /* it is shown the other aircraft ... */
    dc_track_state_t aircraft; /* ... as disclosed (position, altitude, velocity, time) */
    bool acknowledged;         /* it acknowledged the alert ... */
    char acknowledged_at[40];  /* ... then */
    int escalations;           /* times it was escalated for not acknowledging */
    char escalated_at[40];     /* the last time */
    double ack_due;            /* when it must acknowledge by (0: nothing owed) */
    double ack_due_shown;      /* once acknowledged: the deadline it had (kept in view) */
} dd_cf_side_t;

typedef struct dd_conflict {
    char id[40];
    dd_cf_kind_t kind;
    bool open;
    char agreement[DD_ID_MAX]; /* agreement conflicts: which agreement */
    /* tactical: "advisory", "warning" or "loss"; intrusion: "advisory" or "warning" (predicted
     * to enter, eval.tin_s from now) or "inside"; static strings; an advisory owes no
     * acknowledgement */
    const char *level;
    /* tactical: */
    const char *data;    /* "live", "stale" or "lost" */
    const char *profile; /* "enroute", "terminal" or "high" */
    dd_minima_t minima;
    dc_pair_eval_t eval;
    double predicted_s;   /* when eval was written: the conflict's last new, update or resolution
                           * (an acknowledgement or escalation writes the view, not eval) */
    dd_cf_side_t side[2]; /* side[0] is the document's party_a */
} dd_conflict_t;

/* The number of kinds, and the levels a conflict may be at, for counting them. A strategic or
 * nonconforming conflict (and an agreement conflict of an operation) is not graded: level
 * "none". */
#define DD_CF_KINDS 5
typedef enum dd_cf_level {
    DD_CF_LEVEL_NONE,
    DD_CF_LEVEL_ADVISORY,
    DD_CF_LEVEL_WARNING,
    DD_CF_LEVEL_LOSS,   /* tactical */
    DD_CF_LEVEL_INSIDE, /* intrusion, agreement */
} dd_cf_level_t;
#define DD_CF_LEVELS 5

/* The names the API uses: "strategic", ...; "none", "advisory", .... */
const char *dd_cf_kind_name(dd_cf_kind_t kind);
const char *dd_cf_level_name(dd_cf_level_t level);

/* Whether a conflict of kind may be at level (what /metrics lists even at 0). */
bool dd_cf_kind_has_level(dd_cf_kind_t kind, dd_cf_level_t level);

/* Service-wide counts of the open conflicts (what /metrics shows: no party's name, nothing a
 * party could not count from the service's activity). An acknowledgement is owed by each side
 * that has not acknowledged a conflict past the advisory level; it is overdue once its deadline
 * is at or before now or it has been escalated (an escalation sets the next deadline). */
typedef struct dd_conflict_counts {
    size_t open[DD_CF_KINDS][DD_CF_LEVELS];
    size_t acks_owed, acks_overdue;
} dd_conflict_counts_t;

/* Counts the open conflicts at now into *out. Under the service lock. */
void dd_conflicts_count(const dd_service_t *svc, double now, dd_conflict_counts_t *out);

/* What a write records, for the events it appends. */
typedef enum dd_cf_change {
    DD_CF_NEW,       /* conflict.new to both sides; acknowledgements owed from now (a tactical
                      * conflict's from its first warning) */
    DD_CF_UPDATE,    /* conflict.update to both */
    DD_CF_RESOLVED,  /* conflict.resolved to both; it leaves the open table */
    DD_CF_ACKED,     /* conflict.acked to the side that acknowledged */
    DD_CF_ESCALATED, /* conflict.escalated to the late side, and to the other saying who */
} dd_cf_change_t;

/* A new conflict structure (zeroed, one reference for the caller); NULL without memory. */
dd_conflict_t *dd_conflict_new(dd_cf_kind_t kind, const char *id);
void dd_conflict_free(dd_conflict_t *c);

/* The open conflict id, or NULL. */
dd_conflict_t *dd_conflict_open(dd_service_t *svc, const char *id);

/* Writes c as of now: both views from the structure, the document (and with it the audit
 * entry), the events of change (side: the side acknowledging or escalated), the open table
 * and counters (a new conflict is taken into the table: the caller no longer frees it; a
 * resolved one leaves it and is freed). actor: the party whose request caused it, 0: the
 * service. */
dc_err_t dd_conflict_write(dd_service_t *svc, dd_conflict_t *c, dd_cf_change_t change, int side,
                           int64_t actor, double now);

/* Party's view of c as written now (new reference); NULL when party is not a side. */
json_t *dd_conflict_view(dd_service_t *svc, const dd_conflict_t *c, int64_t party, double now);

/* party acknowledges conflict id (open or not), inside a write section: its view as written in
 * *out (new reference). DC_ERR_NOT_FOUND when it is not party's. */
dc_err_t dd_conflict_ack_in(dd_service_t *svc, int64_t party, const char *id, double now,
                            json_t **out, dd_fault_t *f);

/* The same in a write section of its own (the API's POST /v1/conflicts/{id}/ack). */
dc_err_t dd_conflict_ack(dd_service_t *svc, int64_t party, const char *id, double now, json_t **out,
                         dd_fault_t *f);

/* Escalates every open conflict a side has not acknowledged by its deadline (the pass). */
void dd_conflicts_escalate(dd_service_t *svc, double now);

/* The open conflicts restored from the store at start; calls back each (for the modules
 * that follow them: detection's pairs, conformance). */
bool dd_conflicts_open(dd_service_t *svc,
                       void (*each)(dd_service_t *svc, const dd_conflict_t *c, void *ctx),
                       void *ctx);
/* A conflict document another node wrote (a shared store): the open table made to match it. The
 * structure of an open one is replaced (the modules that follow it know it by id); a resolved
 * one leaves the table. Under the service lock. */
void dd_conflicts_apply(dd_service_t *svc, const dc_doc_t *doc);

void dd_conflicts_close(dd_service_t *svc);

#endif
