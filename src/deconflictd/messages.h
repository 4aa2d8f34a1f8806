/* deconflictd: the hotline (messages.c). A message is one document per recipient (kind
 * "message", party_a the sender, party_b the recipient), each side with its own view; states
 * sent -> delivered -> acknowledged, with their times. Handlers take svc->lock through
 * dd_write_lock (every call here may write). See docs/hotline.md. */
#ifndef DC_DAEMON_MESSAGES_H
#define DC_DAEMON_MESSAGES_H

#include <jansson.h>

#include "daemon.h"
#include "service.h"

#define DD_MSG_DEADLINE_MAX_S 86400 /* ack_deadline_s at most one day */

#include "deconflict/hotline.h"

/* A message request as the body states it, checked on its own (no party or document looked
 * up): the recipient's name, category, priority, acknowledgement, fields rendered in both
 * languages, the reference lists' shape. Strings and JSON are borrowed from the body, except
 * en, ru and no_fields (dd_message_req_clear). */
typedef struct dd_message_req {
    const char *to;
    dc_msg_category_t cat;
    dc_msg_priority_t priority;
    bool ack_required;
    double deadline_s;
    json_t *fields, *in_reply_to, *references;
    char *en, *ru;
    json_t *no_fields; /* the empty fields of a body without any (owned) */
} dd_message_req_t;

/* Parses and checks a POST /v1/messages body; DC_OK, or the error with pb naming the field. */
dc_err_t dd_message_parse(json_t *body, dd_message_req_t *m, dd_problem_t *pb);
void dd_message_req_clear(dd_message_req_t *m);

/* POST /v1/messages: {"messages": [the sender's view of each message sent]}. */
dc_err_t dd_message_send(dd_service_t *svc, int64_t party, json_t *body, json_t **out,
                         dd_problem_t *pb);

/* GET /v1/messages?box=in|out (in: received, out: sent). Fetching the in box delivers. */
dc_err_t dd_message_list(dd_service_t *svc, int64_t party, const char *box, json_t **out,
                         dd_problem_t *pb);

/* GET /v1/messages/{id}: the caller's view; the recipient's read delivers. */
dc_err_t dd_message_get(dd_service_t *svc, int64_t party, const char *id, json_t **out,
                        dd_problem_t *pb);

/* POST /v1/messages/{id}/ack: body {reply?}: the recipient acknowledges; a reply is sent back
 * as a free_text message threaded to the original (in_reply_to). */
dc_err_t dd_message_ack(dd_service_t *svc, int64_t party, const char *id, json_t *body,
                        json_t **out, dd_problem_t *pb);

/* Marks messages delivered to party (it saw them on its event stream). */
void dd_message_delivered(dd_service_t *svc, int64_t party, json_t *ids);

/* Called by the detection loop every pass (lock held, in its write section): messages past
 * their acknowledgement deadline are escalated. */
void dd_message_escalate(dd_service_t *svc, double now);

/* Restores the deadlines of unacknowledged messages and the channels' states at start. */
bool dd_messages_open(dd_service_t *svc);

#endif
