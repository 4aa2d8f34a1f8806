/* ASTM F3548-21 Volume4D JSON and our operation list, parsed with jansson and normalised once:
 * altitudes to metres (M, FT, or FL units meaning flight level x 100 ft), radii to metres (M,
 * FT, NM), times to Unix seconds (RFC 3339). Unknown members are ignored, as ASTM extensions
 * would be; missing or mistyped ones are errors naming the field. */
#include "deconflict/strategic.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hashmap.h"
#include "deconflict/geo.h"
#include "deconflict/timefmt.h"
#include "strategic/footprint.h"
#include "strategic/strategic_internal.h"

static dc_err_t bad(dc_strategic_error_t *err, const char *field, const char *what)
{
    dc_strategic_error_set(err, field, "%s", what);
    return DC_ERR_INVALID;
}

static dc_err_t get_object(json_t *parent, const char *key, const char *field, json_t **out,
                           dc_strategic_error_t *err)
{
    *out = json_object_get(parent, key);
    if (!*out) return bad(err, field, "missing");
    if (!json_is_object(*out)) return bad(err, field, "must be an object");
    return DC_OK;
}

static dc_err_t get_number(json_t *parent, const char *key, const char *field, double *out,
                           dc_strategic_error_t *err)
{
    json_t *v = json_object_get(parent, key);
    if (!v) return bad(err, field, "missing");
    if (!json_is_number(v)) return bad(err, field, "must be a number");
    *out = json_number_value(v);
    if (!isfinite(*out)) return bad(err, field, "must be finite");
    return DC_OK;
}

/* A bounded, printable identifier: 1..DC_STRATEGIC_ID_MAX-1 bytes, no control characters. */
static dc_err_t get_id(json_t *parent, const char *key, bool required, char *out,
                       dc_strategic_error_t *err)
{
    json_t *v = json_object_get(parent, key);
    if (!v) return required ? bad(err, key, "missing") : DC_OK;
    if (!json_is_string(v)) return bad(err, key, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0) return bad(err, key, "must not be empty");
    if (n >= DC_STRATEGIC_ID_MAX) {
        dc_strategic_error_set(err, key, "is %zu bytes; the limit is %d", n,
                               DC_STRATEGIC_ID_MAX - 1);
        return DC_ERR_LIMIT;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return bad(err, key, "must not contain control characters");
    memcpy(out, s, n + 1);
    return DC_OK;
}

static dc_err_t parse_latlon(json_t *o, const char *field, dc_latlon_t *p,
                             dc_strategic_error_t *err)
{
    char f[96];
    if (!json_is_object(o)) return bad(err, field, "must be an object {lat, lng}");
    snprintf(f, sizeof(f), "%s/lat", field);
    dc_err_t rc = get_number(o, "lat", f, &p->lat_deg, err);
    if (rc != DC_OK) return rc;
    snprintf(f, sizeof(f), "%s/lng", field);
    const char *lon_key = json_object_get(o, "lng") || !json_object_get(o, "lon") ? "lng" : "lon";
    return get_number(o, lon_key, f, &p->lon_deg, err);
}

static dc_err_t parse_polygon(json_t *poly, dc_volume4d_t *vol, dc_strategic_error_t *err)
{
    const char *field = "volume/outline_polygon/vertices";
    json_t *verts = json_object_get(poly, "vertices");
    if (!verts) return bad(err, field, "missing");
    if (!json_is_array(verts)) return bad(err, field, "must be an array of {lat, lng}");
    size_t n = json_array_size(verts);
    if (n > DC_STRATEGIC_VERTICES_MAX) {
        dc_strategic_error_set(err, field, "a polygon may have at most %d vertices, got %zu",
                               DC_STRATEGIC_VERTICES_MAX, n);
        return DC_ERR_LIMIT;
    }
    if (n < DC_STRATEGIC_VERTICES_MIN) {
        dc_strategic_error_set(err, field, "a polygon needs at least %d vertices, got %zu",
                               DC_STRATEGIC_VERTICES_MIN, n);
        return DC_ERR_INVALID;
    }
    vol->kind = DC_FOOTPRINT_POLYGON;
    vol->vertices = calloc(n, sizeof(*vol->vertices));
    if (!vol->vertices) return DC_ERR_NOMEM;
    vol->n_vertices = n;
    for (size_t i = 0; i < n; i++) {
        char f[80];
        snprintf(f, sizeof(f), "%s/%zu", field, i);
        dc_err_t rc = parse_latlon(json_array_get(verts, i), f, &vol->vertices[i], err);
        if (rc != DC_OK) return rc;
    }
    return DC_OK;
}

static dc_err_t parse_circle(json_t *circ, dc_volume4d_t *vol, dc_strategic_error_t *err)
{
    json_t *center, *radius;
    dc_err_t rc;
    vol->kind = DC_FOOTPRINT_CIRCLE;
    if ((rc = get_object(circ, "center", "volume/outline_circle/center", &center, err)) != DC_OK)
        return rc;
    if ((rc = parse_latlon(center, "volume/outline_circle/center", &vol->center, err)) != DC_OK)
        return rc;
    if ((rc = get_object(circ, "radius", "volume/outline_circle/radius", &radius, err)) != DC_OK)
        return rc;
    double v;
    if ((rc = get_number(radius, "value", "volume/outline_circle/radius/value", &v, err)) != DC_OK)
        return rc;
    json_t *u = json_object_get(radius, "units");
    const char *units = json_is_string(u) ? json_string_value(u) : NULL;
    if (!units) return bad(err, "volume/outline_circle/radius/units", "missing (M, FT or NM)");
    if (strcasecmp(units, "M") == 0)
        vol->radius_m = v;
    else if (strcasecmp(units, "FT") == 0)
        vol->radius_m = v * DC_M_PER_FT;
    else if (strcasecmp(units, "NM") == 0)
        vol->radius_m = v * DC_M_PER_NM;
    else {
        dc_strategic_error_set(err, "volume/outline_circle/radius/units",
                               "unknown units '%.32s' (expected M, FT or NM)", units);
        return DC_ERR_INVALID;
    }
    if (!(vol->radius_m > 0))
        return bad(err, "volume/outline_circle/radius/value", "radius must be positive");
    return DC_OK;
}

static dc_err_t parse_altitude(json_t *vol3, const char *key, double *alt_m, dc_alt_ref_t *ref,
                               dc_strategic_error_t *err)
{
    char f[64], fv[80];
    json_t *a;
    snprintf(f, sizeof(f), "volume/%s", key);
    dc_err_t rc = get_object(vol3, key, f, &a, err);
    if (rc != DC_OK) return rc;
    snprintf(fv, sizeof(fv), "%s/value", f);
    double v;
    if ((rc = get_number(a, "value", fv, &v, err)) != DC_OK) return rc;

    json_t *r = json_object_get(a, "reference"), *u = json_object_get(a, "units");
    snprintf(fv, sizeof(fv), "%s/reference", f);
    if (!json_is_string(r)) return bad(err, fv, "missing or not a string (W84 or FL)");
    const char *refs = json_string_value(r);
    if (strcasecmp(refs, "W84") == 0)
        *ref = DC_ALT_REF_W84;
    else if (strcasecmp(refs, "FL") == 0)
        *ref = DC_ALT_REF_FL;
    else {
        dc_strategic_error_set(err, fv, "unknown reference '%.32s' (expected W84 or FL)", refs);
        return DC_ERR_INVALID;
    }
    snprintf(fv, sizeof(fv), "%s/units", f);
    if (!json_is_string(u)) return bad(err, fv, "missing or not a string (M, FT or FL)");
    const char *units = json_string_value(u);
    if (strcasecmp(units, "M") == 0)
        *alt_m = v;
    else if (strcasecmp(units, "FT") == 0)
        *alt_m = v * DC_M_PER_FT;
    else if (strcasecmp(units, "FL") == 0) {
        if (*ref != DC_ALT_REF_FL) return bad(err, fv, "units FL need reference FL");
        *alt_m = v * 100.0 * DC_M_PER_FT;
    } else {
        dc_strategic_error_set(err, fv, "unknown units '%.32s' (expected M, FT or FL)", units);
        return DC_ERR_INVALID;
    }
    return DC_OK;
}

static dc_err_t parse_time(json_t *vol4, const char *key, double *t_s, dc_strategic_error_t *err)
{
    char f[64];
    json_t *t;
    dc_err_t rc = get_object(vol4, key, key, &t, err);
    if (rc != DC_OK) return rc;
    json_t *fmt = json_object_get(t, "format");
    snprintf(f, sizeof(f), "%s/format", key);
    if (fmt && (!json_is_string(fmt) || strcmp(json_string_value(fmt), "RFC3339") != 0))
        return bad(err, f, "must be \"RFC3339\"");
    json_t *v = json_object_get(t, "value");
    snprintf(f, sizeof(f), "%s/value", key);
    if (!json_is_string(v)) return bad(err, f, "missing or not a string");
    if (dc_time_parse_rfc3339(json_string_value(v), t_s) != DC_OK) {
        dc_strategic_error_set(err, f, "'%.40s' is not an RFC 3339 UTC time", json_string_value(v));
        return DC_ERR_INVALID;
    }
    return DC_OK;
}

static dc_err_t parse_volume(json_t *vol4, dc_volume4d_t *vol, dc_strategic_error_t *err)
{
    memset(vol, 0, sizeof(*vol));
    if (!json_is_object(vol4)) return bad(err, "", "a volume must be a JSON object (Volume4D)");
    json_t *vol3;
    dc_err_t rc = get_object(vol4, "volume", "volume", &vol3, err);
    if (rc != DC_OK) return rc;
    json_t *poly = json_object_get(vol3, "outline_polygon");
    json_t *circ = json_object_get(vol3, "outline_circle");
    if (json_is_null(poly)) poly = NULL;
    if (json_is_null(circ)) circ = NULL;
    if (poly && circ)
        return bad(err, "volume", "has both outline_polygon and outline_circle; give one");
    if (!poly && !circ) return bad(err, "volume", "needs outline_polygon or outline_circle");
    if (poly && !json_is_object(poly))
        return bad(err, "volume/outline_polygon", "must be an object");
    if (circ && !json_is_object(circ))
        return bad(err, "volume/outline_circle", "must be an object");
    if ((rc = poly ? parse_polygon(poly, vol, err) : parse_circle(circ, vol, err)) != DC_OK)
        return rc;
    if ((rc = parse_altitude(vol3, "altitude_lower", &vol->alt_lower_m, &vol->alt_lower_ref,
                             err)) != DC_OK)
        return rc;
    if ((rc = parse_altitude(vol3, "altitude_upper", &vol->alt_upper_m, &vol->alt_upper_ref,
                             err)) != DC_OK)
        return rc;
    if ((rc = parse_time(vol4, "time_start", &vol->t_start_s, err)) != DC_OK) return rc;
    if ((rc = parse_time(vol4, "time_end", &vol->t_end_s, err)) != DC_OK) return rc;
    return DC_OK;
}

static json_t *load(const char *text, size_t len, dc_strategic_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        dc_strategic_error_set(err, "", "not valid JSON: %s (line %d, column %d)", jerr.text,
                               jerr.line, jerr.column);
    return root;
}

dc_err_t dc_volume4d_parse_json(const char *text, size_t len, dc_volume4d_t *vol,
                                dc_strategic_error_t *err)
{
    dc_strategic_error_init(err);
    memset(vol, 0, sizeof(*vol));
    json_t *root = load(text, len, err);
    if (!root) return DC_ERR_INVALID;
    dc_err_t rc = parse_volume(root, vol, err);
    if (rc == DC_OK) rc = dc_volume4d_validate(vol, err);
    if (rc != DC_OK) dc_volume4d_clear(vol);
    json_decref(root);
    return rc;
}

/* ctx NULL: the footprints' geometry is left to dc_strategic_prepare. */
static dc_err_t parse_operation(json_t *o, dc_operation_t *op, GEOSContextHandle_t ctx,
                                dc_strategic_error_t *err)
{
    memset(op, 0, sizeof(*op));
    if (!json_is_object(o)) return bad(err, "", "an operation must be a JSON object");
    dc_err_t rc;
    if ((rc = get_id(o, "id", true, op->id, err)) != DC_OK) return rc;
    if (err) snprintf(err->op_id, sizeof(err->op_id), "%s", op->id);
    if ((rc = get_id(o, "party", true, op->party, err)) != DC_OK) return rc;
    if ((rc = get_id(o, "ref", false, op->ref, err)) != DC_OK) return rc;
    json_t *prio = json_object_get(o, "priority");
    if (prio && !json_is_integer(prio)) return bad(err, "priority", "must be an integer");
    op->priority = prio ? (int64_t)json_integer_value(prio) : 0;
    json_t *st = json_object_get(o, "state");
    op->state = DC_OP_PLANNED;
    if (st) {
        if (!json_is_string(st) || dc_op_state_parse(json_string_value(st), &op->state) != DC_OK)
            return bad(err, "state",
                       "must be one of planned, active, ended, cancelled, nonconforming, "
                       "contingent");
    }
    json_t *vols = json_object_get(o, "volumes");
    if (!json_is_array(vols)) return bad(err, "volumes", "missing or not an array of Volume4D");
    size_t n = json_array_size(vols);
    if (n == 0) return bad(err, "volumes", "an operation needs at least one volume");
    if (n > DC_STRATEGIC_VOLUMES_MAX) {
        dc_strategic_error_set(err, "volumes", "an operation may have at most %d volumes, got %zu",
                               DC_STRATEGIC_VOLUMES_MAX, n);
        return DC_ERR_LIMIT;
    }
    op->volumes = calloc(n, sizeof(*op->volumes));
    if (!op->volumes) return DC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        op->n_volumes = i + 1;
        if (err) err->volume_index = (long)i;
        if ((rc = parse_volume(json_array_get(vols, i), &op->volumes[i], err)) != DC_OK) return rc;
        rc = ctx ? dc_volume4d_validate_with(ctx, &op->volumes[i], err)
                 : dc_volume4d_check_fields(&op->volumes[i], err);
        if (rc != DC_OK) return rc;
    }
    if (err) err->volume_index = -1;
    return DC_OK;
}

static dc_err_t parse_one(json_t *o, dc_operation_t *op, GEOSContextHandle_t ctx,
                          dc_strategic_error_t *err)
{
    dc_err_t rc = parse_operation(o, op, ctx, err);
    if (rc != DC_OK) dc_operation_clear(op);
    return rc;
}

dc_err_t dc_operation_parse_json(const char *text, size_t len, dc_operation_t *op,
                                 dc_strategic_error_t *err)
{
    dc_strategic_error_init(err);
    memset(op, 0, sizeof(*op));
    json_t *root = load(text, len, err);
    if (!root) return DC_ERR_INVALID;
    GEOSContextHandle_t ctx = fp_geos_new();
    dc_err_t rc = ctx ? parse_one(root, op, ctx, err) : DC_ERR_NOMEM;
    if (ctx) GEOS_finish_r(ctx);
    json_decref(root);
    return rc;
}

dc_err_t dc_operation_parse_object(struct json_t *object, dc_operation_t *op, bool footprints,
                                   dc_strategic_error_t *err)
{
    dc_strategic_error_init(err);
    memset(op, 0, sizeof(*op));
    if (!footprints) return parse_one(object, op, NULL, err);
    GEOSContextHandle_t ctx = fp_geos_new();
    dc_err_t rc = ctx ? parse_one(object, op, ctx, err) : DC_ERR_NOMEM;
    if (ctx) GEOS_finish_r(ctx);
    return rc;
}

dc_err_t dc_operation_parse_jansson(struct json_t *object, dc_operation_t *op,
                                    dc_strategic_error_t *err)
{
    return dc_operation_parse_object(object, op, true, err);
}

dc_err_t dc_operation_parse_unprepared(struct json_t *object, dc_operation_t *op,
                                       dc_strategic_error_t *err)
{
    return dc_operation_parse_object(object, op, false, err);
}

dc_err_t dc_operation_list_parse_json(const char *text, size_t len, size_t max_ops,
                                      dc_operation_t **ops, size_t *n_ops,
                                      dc_strategic_error_t *err)
{
    dc_strategic_error_init(err);
    *ops = NULL;
    *n_ops = 0;
    json_t *root = load(text, len, err);
    if (!root) return DC_ERR_INVALID;
    dc_err_t rc = DC_OK;
    dc_operation_t *list = NULL;
    size_t n = 0;
    dc_strmap_t seen = {0};
    GEOSContextHandle_t ctx = NULL; /* one for the whole list: validation checks polygons */
    if (!json_is_array(root)) {
        rc = bad(err, "", "the document must be a JSON array of operations");
        goto out;
    }
    if (json_array_size(root) > max_ops) {
        dc_strategic_error_set(err, "", "%zu operations; the limit is %zu", json_array_size(root),
                               max_ops);
        rc = DC_ERR_LIMIT;
        goto out;
    }
    list = calloc(json_array_size(root) + 1, sizeof(*list));
    ctx = fp_geos_new();
    if (!list || !ctx) {
        rc = DC_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(root); i++) {
        if (err) err->op_index = (long)i;
        if ((rc = parse_one(json_array_get(root, i), &list[i], ctx, err)) != DC_OK) goto out;
        n = i + 1;
        uint32_t prev;
        if (dc_strmap_get(&seen, list[i].id, &prev)) {
            dc_strategic_error_set(err, "id", "duplicate id (also operation %u)", prev);
            rc = DC_ERR_INVALID;
            goto out;
        }
        if (!dc_strmap_put(&seen, list[i].id, (uint32_t)i)) {
            rc = DC_ERR_NOMEM;
            goto out;
        }
    }
    if (err) dc_strategic_error_init(err);
    *ops = list;
    *n_ops = n;
    list = NULL;
out:
    if (ctx) GEOS_finish_r(ctx);
    dc_strmap_free(&seen);
    dc_operation_list_free(list, n);
    json_decref(root);
    return rc;
}
