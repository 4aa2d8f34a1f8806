/* deconflictd: the hotline (docs/hotline.md). A message is one document per recipient (kind
 * "message", party_a the sender, party_b the recipient), each side with its own view, written
 * by one function (put_message in messages.c); states queued -> sent -> delivered ->
 * acknowledged, with their times. Past its deadline an unacknowledged message is escalated by
 * the periodic pass. A party may suspend its side of the channel (its streams pause; what is
 * sent to it is queued). Entry points take the lock themselves, except those marked "in a
 * write section". */
#ifndef DD_CORE_MESSAGES_H
#define DD_CORE_MESSAGES_H

#include "core/state.h"
#include "deconflict/hotline.h"

#define DD_MSG_DEADLINE_MAX_S 86400 /* ack_deadline_s at most one day */

/* A message as the body states it (api/h_messages.c checks its shape); JSON borrowed. */
typedef struct dd_message_req {
    const char *to; /* a party's name, or "*" for every other party */
    dc_msg_category_t cat;
    dc_msg_priority_t priority;
    bool ack_required;
    double deadline_s;
    json_t *fields;      /* the category's fields (an object) */
    json_t *in_reply_to; /* a message id of the sender's, or NULL */
    json_t *references;  /* {"operations": [...], "conflicts": [...]} or NULL */
} dd_message_req_t;

/* The fields rendered by the category's template in English and Russian (*en, *ru: the
 * caller frees them); the fault names the field ("fields/<name>"). No state: the request
 * checks as the hotline's templates read them. */
dc_err_t dd_message_render(const dd_message_req_t *m, char **en, char **ru, dd_fault_t *f);

/* POST /v1/messages: {"messages": [the sender's view of each message sent]} in *out. */
dc_err_t dd_message_send(dd_service_t *svc, int64_t party, const dd_message_req_t *m, double now,
                         json_t **out, dd_fault_t *f);

/* GET /v1/messages?box=in|out ("in": received, "out": sent). Fetching the in box delivers. */
dc_err_t dd_message_list(dd_service_t *svc, int64_t party, bool in, double now, json_t **out,
                         dd_fault_t *f);

/* GET /v1/messages/{id}: the caller's view; the recipient's read delivers. */
dc_err_t dd_message_get(dd_service_t *svc, int64_t party, const char *id, double now, json_t **out,
                        dd_fault_t *f);

/* POST /v1/messages/{id}/ack: the recipient acknowledges; a reply (NULL: none) is sent back as
 * a free_text message threaded to the original (in_reply_to). */
dc_err_t dd_message_ack(dd_service_t *svc, int64_t party, const char *id, const char *reply,
                        double now, json_t **out, dd_fault_t *f);

/* Marks the messages ids (an array of strings) delivered to party: it saw them on its event
 * stream. */
void dd_message_delivered(dd_service_t *svc, int64_t party, json_t *ids, double now);

/* The pass, in its write section: messages past their acknowledgement deadline escalate. */
void dd_messages_escalate(dd_service_t *svc, double now);

/* Restores the pending deadlines and the channels' states at start. */
bool dd_messages_open(dd_service_t *svc);

/* A message or channel document another node wrote (a shared store): its acknowledgement
 * deadline, or the party's channel state, as it says. Under the service lock. */
void dd_messages_apply(dd_service_t *svc, const dc_doc_t *doc);
void dd_messages_close(dd_service_t *svc);

#endif
