/* deconflict — strategic de-confliction: planned operations as 4D volumes.
 *
 * Parties file operations before flying. An operation is 1..N 4D volumes, each a footprint
 * (polygon or circle, WGS84 degrees) x an altitude band x a UTC time window, after ASTM F3548-21
 * (`Volume4D`). Two volumes of different parties conflict when their time windows overlap, their
 * altitude bands overlap and their footprints overlap or come within DC_STRATEGIC_TOUCH_M of
 * each other. The engine indexes every live volume, so filing one operation examines only
 * nearby ones, and each conflict it reports carries only the overlap: the intersection
 * footprint, altitude band and time window, the other party's name and the other operation's
 * opaque reference -- nothing else of the other operation. docs/strategic.md gives the geometry
 * (projection, circles, tolerances), the altitude-reference assumption and the index.
 *
 * Units: altitudes in metres, radii in metres, times in Unix seconds UTC, after normalisation at
 * the boundary (dc_volume4d_parse_json accepts ft, m, NM, flight levels). One engine is not
 * thread-safe: the caller serialises calls (the service holds one lock around it). */
#ifndef DECONFLICT_STRATEGIC_H
#define DECONFLICT_STRATEGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deconflict/error.h"

/* Limits on everything that comes from outside. Each has a test that goes over it. */
#define DC_STRATEGIC_VERTICES_MIN    3
#define DC_STRATEGIC_VERTICES_MAX    1000
#define DC_STRATEGIC_VOLUMES_MAX     200      /* per operation */
#define DC_STRATEGIC_ID_MAX          64       /* id, party, ref: bytes including the NUL */
#define DC_STRATEGIC_EXTENT_MAX_M    500000.0 /* footprint: every point this close to its centre */
#define DC_STRATEGIC_ALT_MIN_M       -1000.0
#define DC_STRATEGIC_ALT_MAX_M       100000.0
#define DC_STRATEGIC_WINDOW_MAX_S    (31.0 * 86400.0) /* one volume's time window */
#define DC_STRATEGIC_TOUCH_M         0.01             /* footprints this close count as touching */
#define DC_STRATEGIC_ALT_EPSILON_M   0.001 /* altitude overlap must exceed this (unit rounding) */
#define DC_STRATEGIC_CIRCLE_SEGMENTS 64    /* circles become circumscribed 64-gons */

typedef enum dc_op_state {
    DC_OP_PLANNED = 0,
    DC_OP_ACTIVE = 1,
    DC_OP_ENDED = 2,
    DC_OP_CANCELLED = 3,
    DC_OP_NONCONFORMING = 4, /* airborne off its plan: still occupies its volumes */
    DC_OP_CONTINGENT = 5,    /* airborne, contingency declared: still occupies its volumes */
} dc_op_state_t;

/* Returns "planned", "active", ... ; "unknown" for other values. */
const char *dc_op_state_name(dc_op_state_t state);

/* Parses a state name (lower case, as dc_op_state_name writes it). */
dc_err_t dc_op_state_parse(const char *name, dc_op_state_t *state);

/* Whether an operation in this state occupies airspace and takes part in conflict checks. */
bool dc_op_state_is_live(dc_op_state_t state);

typedef enum dc_alt_ref {
    DC_ALT_REF_W84 = 0, /* height above the WGS84 ellipsoid */
    DC_ALT_REF_FL = 1,  /* barometric: pressure altitude (flight level x 100 ft) */
} dc_alt_ref_t;

typedef enum dc_footprint_kind {
    DC_FOOTPRINT_POLYGON = 0,
    DC_FOOTPRINT_CIRCLE = 1,
} dc_footprint_kind_t;

typedef struct dc_latlon {
    double lat_deg, lon_deg;
} dc_latlon_t;

/* One 4D volume, normalised. A polygon's edges are great-circle arcs; it has no holes, either
 * orientation is accepted, a repeated closing vertex is dropped. */
typedef struct dc_volume4d {
    dc_footprint_kind_t kind;
    dc_latlon_t *vertices; /* polygon: n_vertices of them, owned by the volume */
    size_t n_vertices;
    dc_latlon_t center; /* circle */
    double radius_m;    /* circle, geodesic radius on the ellipsoid */
    double alt_lower_m, alt_upper_m;
    dc_alt_ref_t alt_lower_ref, alt_upper_ref;
    double t_start_s, t_end_s; /* Unix seconds UTC, start < end */
} dc_volume4d_t;

typedef struct dc_operation {
    char id[DC_STRATEGIC_ID_MAX];    /* unique within the engine; the owner's name for it */
    char party[DC_STRATEGIC_ID_MAX]; /* owning party */
    char ref[DC_STRATEGIC_ID_MAX];   /* what other parties are shown; "" means use id */
    dc_op_state_t state;
    int64_t priority;       /* higher number = higher priority, as in ASTM F3548 */
    uint64_t version;       /* set by the engine: 1 when filed, +1 per update */
    dc_volume4d_t *volumes; /* n_volumes of them, owned by the operation */
    size_t n_volumes;
} dc_operation_t;

/* Where a parse or validation error is: the operation (index in its list and id, when known),
 * the volume index, a JSON-pointer-like path to the field inside the volume or operation
 * ("volume/altitude_upper/units") and a sentence. Unknown parts are -1 / "". */
typedef struct dc_strategic_error {
    long op_index;
    char op_id[DC_STRATEGIC_ID_MAX];
    long volume_index;
    char field[128];
    char message[192];
} dc_strategic_error_t;

/* Frees what vol owns and zeroes it; NULL is a no-op. */
void dc_volume4d_clear(dc_volume4d_t *vol);

/* Frees the volumes op owns and zeroes the list; NULL is a no-op. */
void dc_operation_clear(dc_operation_t *op);

/* Checks one normalised volume against every rule and limit (vertex count, coordinates, no
 * self-intersection, extent, lower < upper, start < end, window length). Returns DC_OK, or
 * DC_ERR_INVALID / DC_ERR_LIMIT with err naming the field (relative to the volume). */
dc_err_t dc_volume4d_validate(const dc_volume4d_t *vol, dc_strategic_error_t *err);

/* Parses one ASTM F3548 Volume4D JSON object (text of len bytes) into *vol, normalising units
 * (altitude M/FT or FL units with reference W84/FL; radius M/FT/NM; times RFC3339), then
 * validates it. On error *vol is left empty and err says where. Caller frees with
 * dc_volume4d_clear(). */
dc_err_t dc_volume4d_parse_json(const char *text, size_t len, dc_volume4d_t *vol,
                                dc_strategic_error_t *err);

/* Parses a JSON array of operations {"id","party","priority","volumes":[Volume4D...]} with
 * optional "state" (default planned) and "ref". On success *ops holds *n_ops operations the
 * caller frees with dc_operation_list_free(). On error nothing is returned and err locates the
 * problem. Duplicate ids are an error. max_ops bounds the array (DC_ERR_LIMIT). */
dc_err_t dc_operation_list_parse_json(const char *text, size_t len, size_t max_ops,
                                      dc_operation_t **ops, size_t *n_ops,
                                      dc_strategic_error_t *err);

/* Parses one operation object as above (without the array). */
dc_err_t dc_operation_parse_json(const char *text, size_t len, dc_operation_t *op,
                                 dc_strategic_error_t *err);

/* The same from an object already parsed by jansson (a json_t *, which this header does not
 * name so that it needs no jansson): for a service that holds the request as JSON already and
 * would otherwise serialise it only to parse it again. */
struct json_t;
dc_err_t dc_operation_parse_jansson(struct json_t *object, dc_operation_t *op,
                                    dc_strategic_error_t *err);

void dc_operation_list_free(dc_operation_t *ops, size_t n_ops);

/* ---- the engine ---- */

typedef struct dc_strategic dc_strategic_t;

typedef struct dc_strategic_config {
    bool include_same_party; /* report overlaps between one party's own operations */
    /* How far a flight-level altitude may lie from the W84 height it is equated with. Pairs
     * whose verdict changes within this margin are reported, flagged alt_assumption, with the
     * band within which they may overlap. */
    double fl_w84_margin_m;
    double cell_m;   /* index: edge of a spatial cell */
    double bucket_s; /* index: length of a time bucket */
} dc_strategic_config_t;

/* Defaults: same-party off, 300 m FL/W84 margin, 64 km cells, 4 h buckets (docs/strategic.md). */
void dc_strategic_config_default(dc_strategic_config_t *cfg);

/* Returns DC_OK or DC_ERR_INVALID with *field naming the offending member. */
dc_err_t dc_strategic_config_validate(const dc_strategic_config_t *cfg, const char **field);

typedef enum dc_priority_cmp {
    DC_PRIORITY_LOWER = -1, /* the filed operation has lower priority than the other */
    DC_PRIORITY_EQUAL = 0,
    DC_PRIORITY_HIGHER = 1,
} dc_priority_cmp_t;

/* One conflict between a volume of the filed operation and a volume of another party's
 * operation: the overlap and nothing more. */
typedef struct dc_strategic_conflict {
    size_t volume_index;                   /* which volume of the filed operation */
    char other_ref[DC_STRATEGIC_ID_MAX];   /* the other operation's opaque reference */
    char other_party[DC_STRATEGIC_ID_MAX]; /* the other operation's party */
    dc_priority_cmp_t priority;            /* filed operation vs the other */
    /* Altitude band, never inverted (alt_upper_m - alt_lower_m > DC_STRATEGIC_ALT_EPSILON_M).
     * Without alt_assumption, the overlap, nominal under the stated assumption (FL = W84).
     * With it, the band within which the two may overlap, in W84 heights: the intersection of
     * the two bands with every FL-referenced end widened outward by fl_w84_margin_m. */
    double alt_lower_m, alt_upper_m;
    double t_start_s, t_end_s; /* time overlap */
    double area_m2;            /* intersection area on the ellipsoid; 0 when touching */
    bool touching;             /* footprints touch or nearly (<= 1 cm) without area */
    bool alt_assumption;       /* FL vs W84 pair that overlaps or not depending on the offset
                                  between FL and W84 within fl_w84_margin_m: may conflict */
    char *footprint_geojson;   /* intersection (or contact) as a GeoJSON geometry, WGS84 */
} dc_strategic_conflict_t;

typedef struct dc_strategic_result {
    dc_strategic_conflict_t *conflicts;
    size_t n_conflicts;
    size_t candidates; /* volumes the index handed to the exact test */
} dc_strategic_result_t;

/* Frees what res owns and zeroes it; NULL is a no-op. */
void dc_strategic_result_clear(dc_strategic_result_t *res);

/* Creates an engine; cfg NULL means defaults. Returns NULL on an invalid cfg or no memory. */
dc_strategic_t *dc_strategic_new(const dc_strategic_config_t *cfg);

/* Frees eng and everything it holds; NULL is a no-op. */
void dc_strategic_free(dc_strategic_t *eng);

/* An operation made ready for the engine: its volumes validated and their footprints built and
 * checked, once (the most expensive part of a filing), with no state of the engine touched --
 * so a service prepares outside the lock it holds around the engine, and files under it.
 * dc_strategic_prepare reads only eng's configuration and may run on any thread, concurrently
 * with any other call on eng. op is borrowed and must outlive the prepared operation. On error
 * err (may be NULL) says where, as the parser does. Free with dc_strategic_prepared_free(). */
typedef struct dc_strategic_prepared dc_strategic_prepared_t;
dc_err_t dc_strategic_prepare(const dc_strategic_t *eng, const dc_operation_t *op,
                              dc_strategic_prepared_t **out, dc_strategic_error_t *err);
void dc_strategic_prepared_free(dc_strategic_prepared_t *p);

/* The parser (dc_operation_parse_jansson) without the footprints' geometry, which
 * dc_strategic_prepare then builds and checks: a filing parses and prepares its volumes once. */
dc_err_t dc_operation_parse_unprepared(struct json_t *object, dc_operation_t *op,
                                       dc_strategic_error_t *err);

/* Checks op against every live operation (other parties' only, unless include_same_party)
 * without storing it. op must be valid (its volumes validated). res is filled (caller clears),
 * conflicts sorted by (volume_index, other_ref). */
dc_err_t dc_strategic_check(dc_strategic_t *eng, const dc_operation_t *op,
                            dc_strategic_result_t *res);

/* Files a new operation: checks it, then stores what the checks need (version 1). Its state must
 * be live (planned, active, nonconforming, contingent). DC_ERR_CONFLICT if the id exists,
 * DC_ERR_INVALID if the state is not live or a volume fails validation. res may be NULL when the
 * caller does not want the conflicts. */
dc_err_t dc_strategic_file(dc_strategic_t *eng, const dc_operation_t *op,
                           dc_strategic_result_t *res);

/* dc_strategic_file and dc_strategic_update with the operation prepared beforehand: the
 * footprints pass to the engine (free p afterwards all the same). */
dc_err_t dc_strategic_file_prepared(dc_strategic_t *eng, dc_strategic_prepared_t *p,
                                    dc_strategic_result_t *res);
dc_err_t dc_strategic_update_prepared(dc_strategic_t *eng, dc_strategic_prepared_t *p,
                                      uint64_t expected_version, dc_strategic_result_t *res);

/* Replaces stored operation op->id (party must match) if its current version equals
 * expected_version; the new version is expected_version + 1. DC_ERR_NOT_FOUND, DC_ERR_CONFLICT
 * (stale version or other party). Returns the new conflicts in res. */
dc_err_t dc_strategic_update(dc_strategic_t *eng, const dc_operation_t *op,
                             uint64_t expected_version, dc_strategic_result_t *res);

/* Changes the state of a stored operation. Ended or cancelled operations leave the engine.
 * DC_ERR_NOT_FOUND if absent, DC_ERR_INVALID for a transition ASTM F3548 does not allow
 * (e.g. ended -> active). */
dc_err_t dc_strategic_set_state(dc_strategic_t *eng, const char *id, dc_op_state_t state);

/* Returns the stored version of id, or 0 if absent. */
uint64_t dc_strategic_version(const dc_strategic_t *eng, const char *id);

/* Drops every volume whose time window ended at or before now_s. An operation left with no
 * volume has ended and leaves the engine; on_ended (may be NULL) is called with its id.
 * Returns the number of volumes dropped. */
size_t dc_strategic_expire(dc_strategic_t *eng, double now_s,
                           void (*on_ended)(const char *id, void *ctx), void *ctx);

typedef struct dc_strategic_stats {
    size_t operations;
    size_t volumes;
    size_t index_cells;
    size_t index_entries;
    size_t memory_bytes; /* heap held by the engine, counted by the engine */
} dc_strategic_stats_t;

void dc_strategic_stats(const dc_strategic_t *eng, dc_strategic_stats_t *stats);

/* ---- regions: ground that an agreement gives a party ----
 * An area (a polygon with great-circle edges, under the same rules as a volume's footprint), or
 * one side of a line: the points within a distance of the line on its left or right, looking
 * along it from its first point -- the one-sided buffer of the line on the sphere, square at
 * its ends. Points and footprints are tested exactly, never at sample points: an operation
 * covering an area whole, or a corridor crossing a line with every vertex outside, meets it.
 * The side region errs outward by under 2 m (docs/strategic.md). */

#define DC_REGION_WIDTH_MAX_M       926000.0  /* a side reaches at most 500 NM from its line */
#define DC_REGION_LINE_EXTENT_MAX_M 2000000.0 /* every point of a line this close to its centre */

typedef struct dc_region dc_region_t;

/* The area inside the polygon pts[0..n) (either orientation; validated as a volume's footprint
 * is). DC_ERR_INVALID / DC_ERR_LIMIT with err naming the field ("area", "area/<i>"),
 * DC_ERR_NOMEM. Free with dc_region_free(). */
dc_err_t dc_region_area_new(const dc_latlon_t *pts, size_t n, dc_region_t **out,
                            dc_strategic_error_t *err);

/* One side of the line pts[0..n) (2 or more points, not crossing itself, every point within
 * DC_REGION_LINE_EXTENT_MAX_M of its centre): side > 0 the left, side < 0 the right, up to
 * width_m (0 < width_m <= DC_REGION_WIDTH_MAX_M) from the line. Errors as above ("line",
 * "within"). */
dc_err_t dc_region_side_new(const dc_latlon_t *pts, size_t n, double width_m, int side,
                            dc_region_t **out, dc_strategic_error_t *err);

/* NULL is a no-op. */
void dc_region_free(dc_region_t *region);

/* Whether the point (WGS84 degrees) is in the region (false for a NULL region). */
bool dc_region_contains(const dc_region_t *region, double lat_deg, double lon_deg);

/* Whether the footprint of volume i of prepared operation p (as built once for its filing)
 * meets the region; as dc_region_meets_footprint. */
int dc_region_meets_prepared(const dc_region_t *region, const dc_strategic_prepared_t *p, size_t i);

/* Whether the footprint of vol (polygon or circle; its band and window are not looked at)
 * overlaps the region or comes within DC_STRATEGIC_TOUCH_M of it: 1 or 0, or -1 when the
 * geometry could not be decided (callers count it as meeting, on the safe side). */
int dc_region_meets_footprint(const dc_region_t *region, const dc_volume4d_t *vol);

#endif
