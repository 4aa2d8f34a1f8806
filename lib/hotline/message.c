/* The hotline's message templates: one table row per field of each category says its type,
 * whether it is required, and its label in English and Russian; validation and rendering both
 * walk that table, so a field cannot be accepted without being rendered or the reverse. */
#include "deconflict/hotline.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/timefmt.h"

typedef enum field_type {
    F_TIME,
    F_LAT,
    F_LON,
    F_ALT_FT,
    F_RADIUS_NM,
    F_TEXT,
    F_LIST
} field_type_t;

typedef struct field_def {
    const char *name;
    field_type_t type;
    bool required;
    const char *en, *ru; /* labels */
} field_def_t;

typedef struct category_def {
    const char *name;
    const char *title_en, *title_ru;
    field_def_t fields[10];
} category_def_t;

#define END                                                                                        \
    {                                                                                              \
        NULL, 0, false, NULL, NULL                                                                 \
    }

static const category_def_t categories[DC_MSG_CATEGORY_COUNT] = {
    [DC_MSG_OPERATION_NOTICE] =
        {"operation_notice",
         "OPERATION NOTICE",
         "УВЕДОМЛЕНИЕ ОБ ОПЕРАЦИИ",
         {{"time_start", F_TIME, true, "From", "С"},
          {"time_end", F_TIME, true, "Until", "До"},
          {"alt_lower_ft", F_ALT_FT, true, "Lower altitude", "Нижняя высота"},
          {"alt_upper_ft", F_ALT_FT, true, "Upper altitude", "Верхняя высота"},
          {"lat", F_LAT, false, "Centre latitude", "Широта центра"},
          {"lon", F_LON, false, "Centre longitude", "Долгота центра"},
          {"radius_nm", F_RADIUS_NM, false, "Radius", "Радиус"},
          {"remarks", F_TEXT, false, "Remarks", "Примечания"},
          END}},
    [DC_MSG_DECONFLICTION_REQUEST] =
        {"deconfliction_request",
         "DECONFLICTION REQUEST",
         "ЗАПРОС НА РАЗВЕДЕНИЕ",
         {{"request", F_TEXT, true, "Request", "Запрос"},
          {"time_start", F_TIME, false, "From", "С"},
          {"time_end", F_TIME, false, "Until", "До"},
          {"alt_lower_ft", F_ALT_FT, false, "Lower altitude", "Нижняя высота"},
          {"alt_upper_ft", F_ALT_FT, false, "Upper altitude", "Верхняя высота"},
          {"lat", F_LAT, false, "Centre latitude", "Широта центра"},
          {"lon", F_LON, false, "Centre longitude", "Долгота центра"},
          {"radius_nm", F_RADIUS_NM, false, "Radius", "Радиус"},
          END}},
    [DC_MSG_INCIDENT] = {"incident",
                         "INCIDENT",
                         "ИНЦИДЕНТ",
                         {{"time", F_TIME, true, "Time", "Время"},
                          {"lat", F_LAT, true, "Latitude", "Широта"},
                          {"lon", F_LON, true, "Longitude", "Долгота"},
                          {"alt_ft", F_ALT_FT, true, "Altitude", "Высота"},
                          {"tracks", F_LIST, false, "Tracks involved", "Борта"},
                          {"description", F_TEXT, true, "Description", "Описание"},
                          END}},
    [DC_MSG_SUSPENSION] = {"suspension",
                           "SUSPENSION OF THE CHANNEL",
                           "ПРИОСТАНОВКА КАНАЛА",
                           {{"reason", F_TEXT, true, "Reason", "Причина"},
                            {"until", F_TIME, false, "Until", "До"},
                            END}},
    [DC_MSG_RESUMPTION] = {"resumption",
                           "RESUMPTION OF THE CHANNEL",
                           "ВОЗОБНОВЛЕНИЕ КАНАЛА",
                           {{"remarks", F_TEXT, false, "Remarks", "Примечания"}, END}},
    [DC_MSG_DEBRIEF] = {"debrief",
                        "DEBRIEF",
                        "РАЗБОР",
                        {{"period_start", F_TIME, true, "Period from", "Период с"},
                         {"period_end", F_TIME, true, "Period until", "Период до"},
                         {"summary", F_TEXT, true, "Summary", "Итоги"},
                         END}},
    [DC_MSG_FREE_TEXT] = {"free_text",
                          "MESSAGE",
                          "СООБЩЕНИЕ",
                          {{"text", F_TEXT, true, "Text", "Текст"}, END}},
};

static const char *const priority_names[] = {"routine", "urgent", "flash"};

const char *dc_msg_category_name(dc_msg_category_t c)
{
    return (unsigned)c < DC_MSG_CATEGORY_COUNT ? categories[c].name : "?";
}

dc_err_t dc_msg_category_parse(const char *name, dc_msg_category_t *c)
{
    for (int i = 0; i < DC_MSG_CATEGORY_COUNT; i++)
        if (name && strcmp(name, categories[i].name) == 0) {
            *c = (dc_msg_category_t)i;
            return DC_OK;
        }
    return DC_ERR_INVALID;
}

const char *dc_msg_priority_name(dc_msg_priority_t p)
{
    return (unsigned)p <= DC_MSG_FLASH ? priority_names[p] : "?";
}

dc_err_t dc_msg_priority_parse(const char *name, dc_msg_priority_t *p)
{
    for (int i = 0; i <= DC_MSG_FLASH; i++)
        if (name && strcmp(name, priority_names[i]) == 0) {
            *p = (dc_msg_priority_t)i;
            return DC_OK;
        }
    return DC_ERR_INVALID;
}

int dc_msg_text_ok(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n > max) return 0;
    /* jansson has already refused invalid UTF-8; still check, the function is public. */
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)text[i];
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)text[i + k] >> 6) != 2) return 0;
        if (len == 1 && ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7f)) return 0;
        i += len;
    }
    return 1;
}

/* ---- rendering ---- */

typedef struct out {
    char *s;
    size_t len, cap;
    bool failed;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || o->failed) {
        o->failed = true;
        return;
    }
    if (o->len + (size_t)n + 1 > o->cap) {
        size_t cap = (o->len + (size_t)n + 1) * 2;
        char *p = realloc(o->s, cap);
        if (!p) {
            o->failed = true;
            return;
        }
        o->s = p, o->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

/* One field's value as text in language ru (false: English). */
static void put_value(out_t *o, const field_def_t *f, json_t *v, bool ru)
{
    double x = json_is_number(v) ? json_number_value(v) : 0;
    switch (f->type) {
    case F_TIME: {
        double t;
        char buf[DC_TIME_RFC3339_MAX];
        dc_time_parse_rfc3339(json_string_value(v), &t);
        dc_time_format_rfc3339(t, buf, sizeof(buf));
        put(o, "%s", buf);
        break;
    }
    case F_LAT:
        put(o, "%.4f %s", fabs(x), ru ? (x < 0 ? "ю.ш." : "с.ш.") : (x < 0 ? "S" : "N"));
        break;
    case F_LON:
        put(o, "%.4f %s", fabs(x), ru ? (x < 0 ? "з.д." : "в.д.") : (x < 0 ? "W" : "E"));
        break;
    case F_ALT_FT:
        put(o, "%.0f %s", x, ru ? "футов" : "ft");
        break;
    case F_RADIUS_NM:
        put(o, "%g %s", x, ru ? "м. миль" : "NM");
        break;
    case F_TEXT:
        put(o, "%s", json_string_value(v));
        break;
    case F_LIST: {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) put(o, "%s%s", i ? ", " : "", json_string_value(item));
        break;
    }
    }
}

static char *render(const category_def_t *cat, json_t *fields, bool ru)
{
    out_t o = {0};
    put(&o, "%s", ru ? cat->title_ru : cat->title_en);
    for (const field_def_t *f = cat->fields; f->name; f++) {
        json_t *v = json_object_get(fields, f->name);
        if (!v) continue;
        put(&o, "\n%s: ", ru ? f->ru : f->en);
        put_value(&o, f, v, ru);
    }
    if (o.failed) {
        free(o.s);
        return NULL;
    }
    return o.s;
}

/* ---- validation ---- */

static dc_err_t bad(char field[DC_MSG_FIELD_MAX], const char *name, char *msg, size_t len,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static dc_err_t bad(char field[DC_MSG_FIELD_MAX], const char *name, char *msg, size_t len,
                    const char *fmt, ...)
{
    snprintf(field, DC_MSG_FIELD_MAX, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return DC_ERR_INVALID;
}

static bool in_range(json_t *v, double lo, double hi)
{
    if (!json_is_number(v)) return false;
    double x = json_number_value(v);
    return isfinite(x) && x >= lo && x <= hi;
}

/* A list item (a track id): 1-31 bytes of text on one line. */
static bool list_item_ok(json_t *item)
{
    return json_is_string(item) && json_string_length(item) >= 1 &&
           dc_msg_text_ok(json_string_value(item), 31) && !strchr(json_string_value(item), '\n');
}

/* NULL when v is a good value of f, else what is wrong. */
static const char *check_value(const field_def_t *f, json_t *v)
{
    double t;
    switch (f->type) {
    case F_TIME:
        return json_is_string(v) && dc_time_parse_rfc3339(json_string_value(v), &t) == DC_OK
                   ? NULL
                   : "expected an RFC 3339 time";
    case F_LAT:
        return in_range(v, -90, 90) ? NULL : "expected degrees in [-90, 90]";
    case F_LON:
        return in_range(v, -180, 180) ? NULL : "expected degrees in [-180, 180]";
    case F_ALT_FT:
        return in_range(v, -2000, 100000) ? NULL : "expected feet in [-2000, 100000]";
    case F_RADIUS_NM:
        return in_range(v, 0.01, 1000) ? NULL : "expected nautical miles in [0.01, 1000]";
    case F_TEXT:
        if (!json_is_string(v) || json_string_length(v) == 0) return "expected non-empty text";
        return dc_msg_text_ok(json_string_value(v), DC_MSG_TEXT_MAX)
                   ? NULL
                   : "text too long (4000 bytes at most) or with control characters";
    case F_LIST: {
        if (!json_is_array(v) || json_array_size(v) > DC_MSG_LIST_MAX)
            return "expected an array of at most 32 strings";
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!list_item_ok(item)) return "expected strings of 1-31 bytes on one line";
        }
        return NULL;
    }
    }
    return "unknown field type";
}

dc_err_t dc_msg_render(dc_msg_category_t c, const char *fields_json, size_t len, char **text_en,
                       char **text_ru, char field[DC_MSG_FIELD_MAX], char *msg, size_t msg_len)
{
    *text_en = *text_ru = NULL;
    field[0] = '\0';
    if ((unsigned)c >= DC_MSG_CATEGORY_COUNT)
        return bad(field, "category", msg, msg_len, "unknown category");
    const category_def_t *cat = &categories[c];
    json_error_t jerr;
    json_t *fields = json_loadb(fields_json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(fields)) {
        json_decref(fields);
        return bad(field, "", msg, msg_len, "fields: expected a JSON object");
    }
    dc_err_t rc = DC_OK;
    const char *key;
    json_t *v;
    json_object_foreach(fields, key, v)
    {
        const field_def_t *f = cat->fields;
        while (f->name && strcmp(f->name, key) != 0) f++;
        if (!f->name) {
            rc =
                bad(field, key, msg, msg_len, "%.60s: not a field of a %s message", key, cat->name);
            break;
        }
        const char *why = check_value(f, v);
        if (why) {
            rc = bad(field, key, msg, msg_len, "%s: %s", f->name, why);
            break;
        }
    }
    for (const field_def_t *f = cat->fields; rc == DC_OK && f->name; f++)
        if (f->required && !json_object_get(fields, f->name))
            rc = bad(field, f->name, msg, msg_len, "%s: required in a %s message", f->name,
                     cat->name);
    if (rc == DC_OK) {
        *text_en = render(cat, fields, false);
        *text_ru = render(cat, fields, true);
        if (!*text_en || !*text_ru) {
            free(*text_en), free(*text_ru);
            *text_en = *text_ru = NULL;
            rc = DC_ERR_NOMEM;
        }
    }
    json_decref(fields);
    return rc;
}
