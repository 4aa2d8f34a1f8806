/* POST /v1/positions' body: a batch of reports, read by the one rule of the API (parse.h) and
 * judged field by field by one function (judge), whether the report came as a jansson value
 * (dd_position_parse) or from yajl's stream (dd_positions_read).
 *
 * Why a stream: at 100k live tracks, building a jansson tree for every batch and freeing it was
 * a third of the daemon's CPU while ingesting (docs/performance.md). yajl, the packaged streaming
 * JSON parser, hands each value to a callback; the reader keeps only the fields a report has
 * and skips the rest, and refuses what jansson refuses -- malformed JSON, a duplicate key at any
 * depth, "\u0000" in a string, an integer beyond 64 bits or a number beyond a double -- so that
 * the two ways agree on every body; what it does not follow (UTF-8 yajl lets through and RFC
 * 3629 does not, a lone UTF-16 surrogate, a form feed, vertical tab or NUL byte, a number of 400
 * characters or more, nesting deeper than 32, objects wider than 64 members) it hands to the
 * tree
 * (tests/unit/daemon/test_positions_in.c holds them to it, as does the fuzz driver). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "api/parse.h"
#include "deconflict/timefmt.h"

/* ---- a report's fields, as read ---- */

enum {
    F_TRACK_ID,
    F_T,
    F_LAT,
    F_LON,
    F_ALT_FT,
    F_GS_KT,
    F_TRK_DEG,
    F_VS_FPM,
    F_CALLSIGN,
    F_OPERATION_ID,
    F_ALT_STEP_FT,
    F_SELECTED_ALT_FT,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "track_id", "t",      "lat",      "lon",          "alt_ft",      "gs_kt",
    "trk_deg",  "vs_fpm", "callsign", "operation_id", "alt_step_ft", "selected_alt_ft",
};

#define RAW_STR_MAX 72 /* longer than any valid value of any field (RFC 3339: 35 bytes) */

typedef enum { V_ABSENT, V_NULL, V_NUMBER, V_STRING, V_OTHER } value_kind_t;

typedef struct raw_value {
    value_kind_t kind;
    double num;
    size_t len;            /* a string's whole length */
    char str[RAW_STR_MAX]; /* its first RAW_STR_MAX - 1 bytes */
} raw_value_t;

typedef struct raw_report {
    bool is_object;
    raw_value_t v[F_COUNT];
} raw_report_t;

static int field_of(const char *key, size_t len)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(field_names[i]) == len && memcmp(field_names[i], key, len) == 0) return i;
    return -1;
}

static void set_string(raw_value_t *v, const char *s, size_t len)
{
    v->kind = V_STRING, v->len = len;
    size_t n = len < RAW_STR_MAX - 1 ? len : RAW_STR_MAX - 1;
    memcpy(v->str, s, n);
    v->str[n] = '\0';
}

/* ---- judging a report: the one place its rules are ---- */

/* A party's own track id: 1-24 printable bytes without '/' (it parts the engine id) or '|'
 * (it parts a pair's key). */
static bool track_id_ok(const raw_value_t *v)
{
    if (v->kind != V_STRING || v->len == 0 || v->len > DD_TRACK_ID_MAX) return false;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->str[i];
        if (c <= ' ' || c >= 127 || c == '/' || c == '|') return false;
    }
    return true;
}

static bool callsign_ok(const raw_value_t *v)
{
    if (v->kind != V_STRING || v->len == 0 || v->len > 8) return false;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->str[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

static bool num_ok(const raw_value_t *v, double *out)
{
    if (v->kind != V_NUMBER || !isfinite(v->num)) return false;
    *out = v->num;
    return true;
}

static bool given(const raw_value_t *v)
{
    return v->kind != V_ABSENT && v->kind != V_NULL;
}

/* The first field of raw that is missing or out of range, or NULL (r filled). */
static const char *judge(const raw_report_t *raw, int64_t party, dd_report_t *r)
{
    dc_track_state_t *st = &r->st;
    const raw_value_t *v = raw->v;
    if (!raw->is_object) return "";
    if (!track_id_ok(&v[F_TRACK_ID])) return "track_id";
    snprintf(st->id, sizeof(st->id), "%lld/%.*s", (long long)party, DD_TRACK_ID_MAX,
             v[F_TRACK_ID].str);
    if (v[F_T].kind == V_STRING) {
        if (v[F_T].len >= RAW_STR_MAX || dc_time_parse_rfc3339(v[F_T].str, &st->t_s) != DC_OK)
            return "t";
    } else if (!num_ok(&v[F_T], &st->t_s)) {
        return "t";
    }
    double *nums[] = {&st->lat_deg, &st->lon_deg, &st->alt_ft,
                      &st->gs_kt,   &st->trk_deg, &st->vs_fpm};
    for (int i = F_LAT; i <= F_VS_FPM; i++)
        if (!num_ok(&v[i], nums[i - F_LAT])) return field_names[i];
    if (given(&v[F_CALLSIGN])) {
        if (!callsign_ok(&v[F_CALLSIGN])) return "callsign";
        snprintf(r->callsign, sizeof(r->callsign), "%.8s", v[F_CALLSIGN].str);
    }
    if (given(&v[F_OPERATION_ID])) {
        /* Whose operation it is, the domain judges; here only its shape. */
        if (v[F_OPERATION_ID].kind != V_STRING || v[F_OPERATION_ID].len >= sizeof(r->operation))
            return "operation_id";
        snprintf(r->operation, sizeof(r->operation), "%.*s", (int)sizeof(r->operation) - 1,
                 v[F_OPERATION_ID].str);
    }
    /* The source's altitude resolution and the selected altitude, when it says them. */
    r->alt_step_ft = r->selected_alt_ft = NAN;
    if (given(&v[F_ALT_STEP_FT]) &&
        (!num_ok(&v[F_ALT_STEP_FT], &r->alt_step_ft) || r->alt_step_ft < 0 || r->alt_step_ft > 500))
        return "alt_step_ft";
    if (given(&v[F_SELECTED_ALT_FT]) &&
        (!num_ok(&v[F_SELECTED_ALT_FT], &r->selected_alt_ft) ||
         r->selected_alt_ft < DC_ALT_FT_MIN || r->selected_alt_ft > DC_ALT_FT_MAX))
        return "selected_alt_ft";
    const char *field = NULL;
    if (dc_track_state_validate(st, &field) != DC_OK) return field ? field : "";
    return NULL;
}

static void judged(const raw_report_t *raw, int64_t party, dd_report_t *r)
{
    memset(r, 0, sizeof(*r));
    r->bad_field = judge(raw, party, r);
}

/* ---- from a jansson value ---- */

void dd_position_parse(json_t *o, int64_t party, dd_report_t *r)
{
    raw_report_t raw;
    memset(&raw, 0, sizeof(raw));
    raw.is_object = json_is_object(o);
    for (int i = 0; raw.is_object && i < F_COUNT; i++) {
        json_t *v = json_object_get(o, field_names[i]);
        raw_value_t *rv = &raw.v[i];
        if (!v)
            rv->kind = V_ABSENT;
        else if (json_is_null(v))
            rv->kind = V_NULL;
        else if (json_is_number(v))
            rv->kind = V_NUMBER, rv->num = json_number_value(v);
        else if (json_is_string(v))
            set_string(rv, json_string_value(v), json_string_length(v));
        else
            rv->kind = V_OTHER;
    }
    judged(&raw, party, r);
}

/* ---- from yajl's stream ---- */

#define DEPTH_MAX 32 /* nesting the reader follows */
#define KEYS_MAX  64 /* members of one object it checks for duplicates */

/* One open object: the keys it has had (for duplicates), in one buffer. */
typedef struct open_object {
    char *keys; /* NUL-separated */
    size_t len, cap, n;
} open_object_t;

typedef struct reader {
    int64_t party;
    dd_report_t *out;
    size_t n;
    size_t beyond;  /* reports past DD_POSITIONS_MAX, counted, not kept */
    bool not_array; /* the top level is an object: read through, then refused */
    bool fall_back; /* a body the reader hands to the tree (the list at the top) */
    yajl_handle h;
    size_t end_at;                /* where the body's value ended, bytes from its start */
    int depth;                    /* 0 outside the top array, 1 in it, 2 in a report... */
    bool in_array;                /* the top level is an array */
    open_object_t obj[DEPTH_MAX]; /* the open objects, by depth */
    raw_report_t raw;             /* the report being read (depth 2) */
    int field;                    /* the field the next value at depth 2 is, or -1 */
    char err[200];                /* why the body is refused, when the reader refuses it */
    dc_err_t err_code;
} reader_t;

static int refuse(reader_t *rd, dc_err_t code, const char *fmt, const char *what)
{
    rd->err_code = code;
    snprintf(rd->err, sizeof(rd->err), fmt, what);
    return 0; /* yajl: stop */
}

/* A value at the current depth: a report's field, a report itself, or inside something else. */
static int value(reader_t *rd, value_kind_t kind, double num, const char *s, size_t len)
{
    if (rd->depth == 0) /* a scalar body: jansson refuses it as not JSON */
        return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "'[' or '{' expected");
    if (rd->not_array) return 1;
    if (rd->depth == 1) { /* a report that is not an object */
        if (rd->n == DD_POSITIONS_MAX) {
            rd->beyond++;
            return 1;
        }
        memset(&rd->raw, 0, sizeof(rd->raw));
        rd->raw.is_object = false;
        judged(&rd->raw, rd->party, &rd->out[rd->n++]);
        return 1;
    }
    if (rd->depth == 2 && rd->field >= 0) {
        raw_value_t *v = &rd->raw.v[rd->field];
        if (kind == V_STRING)
            set_string(v, s, len);
        else
            v->kind = kind, v->num = num;
    }
    return 1;
}

static int on_null(void *ctx)
{
    return value(ctx, V_NULL, 0, NULL, 0);
}

static int on_boolean(void *ctx, int b)
{
    (void)b;
    return value(ctx, V_OTHER, 0, NULL, 0);
}

/* A number as jansson reads it: an integer (no '.', 'e' or 'E') must fit 64 bits, a real must
 * not overflow a double. */
static int on_number(void *ctx, const char *s, size_t len)
{
    reader_t *rd = ctx;
    char buf[400];
    if (len >= sizeof(buf)) { /* 400 digits: the tree reads such a number */
        rd->fall_back = true;
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double d;
    if (!strpbrk(buf, ".eE")) {
        long long i = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "too big integer");
        d = (double)i;
    } else {
        d = strtod(buf, NULL);
        if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
            return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "real number overflow");
    }
    return value(rd, V_NUMBER, d, NULL, 0);
}

/* Whether s is UTF-8 as RFC 3629 and jansson have it: no overlong forms (C0, C1, E0 80-9F,
 * F0 80-8F), no surrogates (ED A0-BF), nothing past U+10FFFF. yajl checks only the shape. */
static bool utf8_strict(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (!n || i + n > len) return false;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        unsigned char d = s[i + 1];
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0) || (c == 0xF0 && d < 0x90) ||
            (c == 0xF4 && d >= 0x90))
            return false;
        i += n;
    }
    return true;
}

/* A string or key the tree should judge: one that is not strict UTF-8 (jansson's error). */
static bool odd_text(reader_t *rd, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0x80) {
            if (!utf8_strict(s + i, len - i)) rd->fall_back = true;
            return rd->fall_back;
        }
    return false;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    reader_t *rd = ctx;
    if (odd_text(rd, s, len)) return 0;
    if (memchr(s, 0, len))
        return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "\\u0000 is not allowed");
    return value(rd, V_STRING, 0, (const char *)s, len);
}

static int open_container(reader_t *rd, bool object)
{
    if (rd->depth == DEPTH_MAX) {
        rd->fall_back = true;
        return 0;
    }
    if (rd->depth == 0 && !object) {
        rd->in_array = true;
    } else if (rd->depth == 0) {
        rd->not_array = true;
    } else if (rd->not_array) {
        /* read through: only duplicates matter */
    } else if (rd->depth == 1) {
        memset(&rd->raw, 0, sizeof(rd->raw));
        rd->raw.is_object = object;
        rd->field = -1;
    } else if (rd->depth == 2 && rd->field >= 0) {
        rd->raw.v[rd->field].kind = V_OTHER;
    }
    rd->obj[rd->depth].len = rd->obj[rd->depth].n = 0;
    rd->depth++;
    return 1;
}

static int close_container(reader_t *rd)
{
    rd->depth--;
    if (rd->depth == 0) rd->end_at = yajl_get_bytes_consumed(rd->h); /* just past it */
    if (rd->depth == 1 && !rd->not_array) {
        if (rd->n == DD_POSITIONS_MAX)
            rd->beyond++;
        else
            judged(&rd->raw, rd->party, &rd->out[rd->n++]);
    }
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, true);
}

static int on_end_map(void *ctx)
{
    return close_container(ctx);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, false);
}

static int on_end_array(void *ctx)
{
    return close_container(ctx);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    reader_t *rd = ctx;
    if (odd_text(rd, key, len)) return 0;
    if (memchr(key, 0, len))
        return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "\\u0000 is not allowed");
    open_object_t *o = &rd->obj[rd->depth - 1];
    /* A duplicate key, at any depth, is refused: one member, one meaning. */
    for (size_t at = 0, k = 0; k < o->n; k++) {
        size_t kl = strlen(o->keys + at);
        if (kl == len && memcmp(o->keys + at, key, len) == 0)
            return refuse(rd, DC_ERR_JSON, "request body is not JSON: %s", "duplicate object key");
        at += kl + 1;
    }
    if (o->n == KEYS_MAX) { /* checking more for duplicates one by one would be quadratic */
        rd->fall_back = true;
        return 0;
    }
    if (o->len + len + 1 > o->cap) {
        size_t cap = (o->len + len + 1) * 2;
        char *k = realloc(o->keys, cap);
        if (!k) return refuse(rd, DC_ERR_NOMEM, "%s", "out of memory");
        o->keys = k, o->cap = cap;
    }
    memcpy(o->keys + o->len, key, len);
    o->keys[o->len + len] = '\0';
    o->len += len + 1, o->n++;
    if (rd->depth == 2 && !rd->not_array) rd->field = field_of((const char *)key, len);
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Whether the body escapes a UTF-16 surrogate that is not half of a pair ("\ud800" alone):
 * jansson refuses it, yajl lets it through as a replacement. Backslashes are rare in position
 * reports, so this is one memchr over most bodies. (In valid JSON a backslash is only ever in a
 * string; outside one, both parsers refuse the body anyway.) */
static bool lone_surrogate(const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (end - p < 2) return false;
        if (p[1] != 'u') {
            p += 2; /* \\, \", \n ... */
            continue;
        }
        int c = end - p >= 6 ? hex4(p + 2) : -1;
        if (c < 0) return false; /* malformed: both refuse it */
        p += 6;
        if (c >= 0xDC00 && c <= 0xDFFF) return true; /* a low half first */
        if (c >= 0xD800 && c <= 0xDBFF) {
            int lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF) return true;
            p += 6;
        }
    }
    return false;
}

/* The body read the other way: a jansson tree, each element judged (what dd_positions_read does
 * with the bodies its stream does not follow). */
static dc_err_t read_tree(const char *body, size_t len, int64_t party, dd_report_t **out, size_t *n,
                          dd_fault_t *f)
{
    json_t *batch;
    dc_err_t rc = dd_json_body(body, len, JSON_ARRAY, &batch, f);
    if (rc != DC_OK) return rc;
    size_t k = json_array_size(batch);
    if (k > DD_POSITIONS_MAX) {
        json_decref(batch);
        return dd_fail(f, DC_ERR_LIMIT, "", "a batch holds at most %d reports (got %zu)",
                       DD_POSITIONS_MAX, k);
    }
    *out = malloc((k ? k : 1) * sizeof(**out));
    if (!*out) {
        json_decref(batch);
        return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    }
    for (size_t i = 0; i < k; i++) dd_position_parse(json_array_get(batch, i), party, &(*out)[i]);
    *n = k;
    json_decref(batch);
    return DC_OK;
}

dc_err_t dd_positions_read(const char *body, size_t len, int64_t party, dd_report_t **out,
                           size_t *n, dd_fault_t *f)
{
    *out = NULL, *n = 0;
    reader_t *rd = calloc(1, sizeof(*rd));
    /* Room for as many reports as the body can hold (an element and a comma are at least two
     * bytes), up to the batch limit. */
    size_t cap = len / 2 + 1 < DD_POSITIONS_MAX ? len / 2 + 1 : DD_POSITIONS_MAX;
    if (rd) rd->out = malloc(cap * sizeof(*rd->out));
    yajl_handle h = rd && rd->out ? yajl_alloc(&callbacks, NULL, rd) : NULL;
    if (!h) {
        if (rd) free(rd->out);
        free(rd);
        return dd_fail(f, DC_ERR_NOMEM, "", "out of memory");
    }
    rd->party = party;
    rd->h = h;
    /* yajl also takes form feed and vertical tab for white space, which JSON does not, and a
     * NUL byte in the body is something jansson reads its own way: those go to the tree. */
    rd->fall_back = body && (lone_surrogate(body, len) || memchr(body, '\f', len) ||
                             memchr(body, '\v', len) || memchr(body, '\0', len));
    yajl_status s = rd->fall_back ? yajl_status_error
                                  : yajl_parse(h, (const unsigned char *)(body ? body : ""), len);
    if (s == yajl_status_ok) s = yajl_complete_parse(h);
    /* yajl ends a body whose array is followed by the start of a string ("...]\"") as if the
     * array were all of it: anything but white space after it goes to the tree, which says. */
    for (size_t i = rd->end_at; s == yajl_status_ok && i < len; i++)
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r')
            rd->fall_back = true;
    dc_err_t rc = DC_OK;
    if (rd->fall_back) {
        free(rd->out);
        rd->out = NULL;
        rc = read_tree(body, len, party, out, n, f);
    } else if (s != yajl_status_ok) {
        if (rd->err_code != DC_OK) {
            rc = dd_fail(f, rd->err_code, "", "%s", rd->err);
        } else {
            unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)body, len);
            rc = dd_fail(f, DC_ERR_JSON, "", "request body is not JSON: %s (byte %zu)",
                         (const char *)msg, yajl_get_bytes_consumed(h));
            yajl_free_error(h, msg);
        }
    } else if (!rd->in_array) {
        rc = dd_fail(f, DC_ERR_JSON, "", "request body: expected a JSON array");
    } else if (rd->beyond) {
        rc = dd_fail(f, DC_ERR_LIMIT, "", "a batch holds at most %d reports (got %zu)",
                     DD_POSITIONS_MAX, rd->n + rd->beyond);
    }
    yajl_free(h);
    for (int d = 0; d < DEPTH_MAX; d++) free(rd->obj[d].keys);
    if (rc == DC_OK && !rd->fall_back)
        *out = rd->out, *n = rd->n;
    else if (!rd->fall_back)
        free(rd->out);
    free(rd);
    return rc;
}
