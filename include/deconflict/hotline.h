/* deconflict — the hotline's message model: categories, priorities, and the structured template
 * of each category, validated and rendered in English and Russian (the 2015 line worked in
 * both). Transport, delivery states and escalation belong to the service (deconflictd); this
 * module only knows what a well-formed message says and how it reads.
 *
 * A message's category-specific content is a JSON object of fields ("fields"); each category
 * has a fixed set (docs/hotline.md). Times are RFC 3339, positions WGS84 degrees, altitudes
 * feet. Free-text fields are carried as written (UTF-8, at most DC_MSG_TEXT_MAX bytes, no
 * control characters but tab and newline) and are not translated. */
#ifndef DECONFLICT_HOTLINE_H
#define DECONFLICT_HOTLINE_H

#include <stddef.h>

#include "deconflict/error.h"

typedef enum dc_msg_category {
    DC_MSG_OPERATION_NOTICE,
    DC_MSG_DECONFLICTION_REQUEST,
    DC_MSG_INCIDENT,
    DC_MSG_SUSPENSION,
    DC_MSG_RESUMPTION,
    DC_MSG_DEBRIEF,
    DC_MSG_FREE_TEXT,
    DC_MSG_CATEGORY_COUNT
} dc_msg_category_t;

typedef enum dc_msg_priority { DC_MSG_ROUTINE, DC_MSG_URGENT, DC_MSG_FLASH } dc_msg_priority_t;

#define DC_MSG_TEXT_MAX  4000 /* bytes of one free-text field */
#define DC_MSG_LIST_MAX  32   /* items of a list field (tracks) */
#define DC_MSG_FIELD_MAX 64   /* bytes of a field name in an error */

const char *dc_msg_category_name(dc_msg_category_t c);
dc_err_t dc_msg_category_parse(const char *name, dc_msg_category_t *c);
const char *dc_msg_priority_name(dc_msg_priority_t p);
dc_err_t dc_msg_priority_parse(const char *name, dc_msg_priority_t *p);

/* Checks fields_json (a JSON object) against category c's template and renders it. On success
 * *text_en and *text_ru are new strings (free()). On a bad field returns DC_ERR_INVALID with the
 * field's name in field ("" for the object itself) and a sentence in msg. */
dc_err_t dc_msg_render(dc_msg_category_t c, const char *fields_json, size_t len, char **text_en,
                       char **text_ru, char field[DC_MSG_FIELD_MAX], char *msg, size_t msg_len);

/* True when text is at most max bytes of UTF-8 without control characters other than tab and
 * newline: what a free-text field may carry. */
int dc_msg_text_ok(const char *text, size_t max);

#endif
