/* deconflictd: every conflict alert needs an acknowledgement from each party it involves
 * (acks.c). A party that has not acknowledged within conflict_ack_s gets conflict.escalated,
 * and so does the other party, told who has not answered; the escalation repeats every
 * conflict_ack_s until the party acknowledges or the conflict is over. All calls with svc->lock
 * held, inside a write section where they write. */
#ifndef DC_DAEMON_ACKS_H
#define DC_DAEMON_ACKS_H

#include "daemon.h"

/* A new conflict cid between party_a and party_b (0: one party only): both owe an ack. */
void dd_acks_expect(dd_service_t *svc, const char *cid, int64_t party_a, int64_t party_b,
                    double now);
/* party acknowledged cid. */
void dd_acks_done(dd_service_t *svc, const char *cid, int64_t party);
/* Escalates what is past its deadline (the detection loop, every pass). */
void dd_acks_escalate(dd_service_t *svc, double now);
/* Restores the deadlines of open, unacknowledged conflicts at start. */
bool dd_acks_open(dd_service_t *svc);

#endif
