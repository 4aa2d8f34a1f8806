/* The operation and volume model: states, ownership, validation of normalised volumes. */
#include "deconflict/strategic.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategic/footprint.h"
#include "strategic/strategic_internal.h"

static const char *const state_names[] = {"planned",   "active",        "ended",
                                          "cancelled", "nonconforming", "contingent"};

const char *dc_op_state_name(dc_op_state_t state)
{
    if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0])) return "unknown";
    return state_names[state];
}

dc_err_t dc_op_state_parse(const char *name, dc_op_state_t *state)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *state = (dc_op_state_t)i;
            return DC_OK;
        }
    }
    return DC_ERR_INVALID;
}

bool dc_op_state_is_live(dc_op_state_t state)
{
    return state == DC_OP_PLANNED || state == DC_OP_ACTIVE || state == DC_OP_NONCONFORMING ||
           state == DC_OP_CONTINGENT;
}

void dc_volume4d_clear(dc_volume4d_t *vol)
{
    if (!vol) return;
    free(vol->vertices);
    memset(vol, 0, sizeof(*vol));
}

void dc_operation_clear(dc_operation_t *op)
{
    if (!op) return;
    for (size_t i = 0; i < op->n_volumes; i++) dc_volume4d_clear(&op->volumes[i]);
    free(op->volumes);
    op->volumes = NULL;
    op->n_volumes = 0;
}

void dc_operation_list_free(dc_operation_t *ops, size_t n_ops)
{
    if (!ops) return;
    for (size_t i = 0; i < n_ops; i++) dc_operation_clear(&ops[i]);
    free(ops);
}

void dc_strategic_error_set(dc_strategic_error_t *err, const char *field, const char *fmt, ...)
{
    if (!err) return;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void dc_strategic_error_init(dc_strategic_error_t *err)
{
    if (!err) return;
    memset(err, 0, sizeof(*err));
    err->op_index = -1;
    err->volume_index = -1;
}

static dc_err_t check_latlon(const dc_latlon_t *p, const char *field, dc_strategic_error_t *err)
{
    char f[96];
    if (!isfinite(p->lat_deg) || p->lat_deg < -90.0 || p->lat_deg > 90.0) {
        snprintf(f, sizeof(f), "%s/lat", field);
        dc_strategic_error_set(err, f, "latitude %g is outside [-90, 90] degrees", p->lat_deg);
        return DC_ERR_INVALID;
    }
    if (!isfinite(p->lon_deg) || p->lon_deg < -180.0 || p->lon_deg > 180.0) {
        snprintf(f, sizeof(f), "%s/lng", field);
        dc_strategic_error_set(err, f, "longitude %g is outside [-180, 180] degrees", p->lon_deg);
        return DC_ERR_INVALID;
    }
    return DC_OK;
}

static dc_err_t check_alt(double v, const char *field, dc_strategic_error_t *err)
{
    if (!isfinite(v) || v < DC_STRATEGIC_ALT_MIN_M || v > DC_STRATEGIC_ALT_MAX_M) {
        dc_strategic_error_set(err, field, "altitude %g m is outside [%g, %g] m", v,
                               DC_STRATEGIC_ALT_MIN_M, DC_STRATEGIC_ALT_MAX_M);
        return DC_ERR_INVALID;
    }
    return DC_OK;
}

dc_err_t dc_volume4d_validate_with(GEOSContextHandle_t ctx, const dc_volume4d_t *vol,
                                   dc_strategic_error_t *err)
{
    dc_err_t rc = dc_volume4d_check_fields(vol, err);
    if (rc != DC_OK) return rc;
    fp_t fp;
    rc = dc_volume4d_footprint(ctx, vol, &fp, err);
    fp_clear(&fp);
    return rc;
}

dc_err_t dc_volume4d_footprint(GEOSContextHandle_t ctx, const dc_volume4d_t *vol, fp_t *fp,
                               dc_strategic_error_t *err)
{
    const char *outline =
        vol->kind == DC_FOOTPRINT_CIRCLE ? "volume/outline_circle" : "volume/outline_polygon";
    dc_err_t rc = fp_init(fp, vol);
    if (rc == DC_ERR_INVALID) {
        dc_strategic_error_set(err, "volume/outline_polygon/vertices",
                               "a polygon needs at least 3 distinct vertices");
        return rc;
    }
    if (rc != DC_OK) return rc;
    char msg[160];
    rc = fp_validate(ctx, fp, msg, sizeof(msg));
    if (rc != DC_OK) {
        fp_clear(fp);
        dc_strategic_error_set(err, outline, "%s", msg);
    }
    return rc;
}

dc_err_t dc_volume4d_check_fields(const dc_volume4d_t *vol, dc_strategic_error_t *err)
{
    dc_err_t rc;
    if (vol->kind == DC_FOOTPRINT_POLYGON) {
        if (vol->n_vertices < DC_STRATEGIC_VERTICES_MIN) {
            dc_strategic_error_set(err, "volume/outline_polygon/vertices",
                                   "a polygon needs at least %d vertices, got %zu",
                                   DC_STRATEGIC_VERTICES_MIN, vol->n_vertices);
            return DC_ERR_INVALID;
        }
        if (vol->n_vertices > DC_STRATEGIC_VERTICES_MAX) {
            dc_strategic_error_set(err, "volume/outline_polygon/vertices",
                                   "a polygon may have at most %d vertices, got %zu",
                                   DC_STRATEGIC_VERTICES_MAX, vol->n_vertices);
            return DC_ERR_LIMIT;
        }
        for (size_t i = 0; i < vol->n_vertices; i++) {
            char f[64];
            snprintf(f, sizeof(f), "volume/outline_polygon/vertices/%zu", i);
            if ((rc = check_latlon(&vol->vertices[i], f, err)) != DC_OK) return rc;
        }
    } else if (vol->kind == DC_FOOTPRINT_CIRCLE) {
        if ((rc = check_latlon(&vol->center, "volume/outline_circle/center", err)) != DC_OK)
            return rc;
        if (!isfinite(vol->radius_m) || vol->radius_m <= 0) {
            dc_strategic_error_set(err, "volume/outline_circle/radius/value",
                                   "radius must be a positive number of metres, got %g",
                                   vol->radius_m);
            return DC_ERR_INVALID;
        }
    } else {
        dc_strategic_error_set(err, "volume", "unknown footprint kind %d", (int)vol->kind);
        return DC_ERR_INVALID;
    }

    if ((rc = check_alt(vol->alt_lower_m, "volume/altitude_lower/value", err)) != DC_OK) return rc;
    if ((rc = check_alt(vol->alt_upper_m, "volume/altitude_upper/value", err)) != DC_OK) return rc;
    if (vol->alt_upper_m - vol->alt_lower_m <= DC_STRATEGIC_ALT_EPSILON_M) {
        dc_strategic_error_set(err, "volume/altitude_upper/value",
                               "upper altitude (%.3f m) must be above lower altitude (%.3f m)",
                               vol->alt_upper_m, vol->alt_lower_m);
        return DC_ERR_INVALID;
    }
    if (!isfinite(vol->t_start_s) || vol->t_start_s < 0) {
        dc_strategic_error_set(err, "time_start/value", "start time is not a valid UTC time");
        return DC_ERR_INVALID;
    }
    if (!isfinite(vol->t_end_s) || vol->t_end_s <= vol->t_start_s) {
        dc_strategic_error_set(err, "time_end/value", "end time must be after start time");
        return DC_ERR_INVALID;
    }
    if (vol->t_end_s - vol->t_start_s > DC_STRATEGIC_WINDOW_MAX_S) {
        dc_strategic_error_set(err, "time_end/value",
                               "time window of %.0f s is longer than the limit of %.0f s (31 days)",
                               vol->t_end_s - vol->t_start_s, DC_STRATEGIC_WINDOW_MAX_S);
        return DC_ERR_LIMIT;
    }
    return DC_OK;
}

dc_err_t dc_volume4d_validate(const dc_volume4d_t *vol, dc_strategic_error_t *err)
{
    GEOSContextHandle_t ctx = fp_geos_new();
    if (!ctx) return DC_ERR_NOMEM;
    dc_err_t rc = dc_volume4d_validate_with(ctx, vol, err);
    GEOS_finish_r(ctx);
    return rc;
}
