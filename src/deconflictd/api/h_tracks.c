/* GET /v1/tracks: the caller's tracks (latest report each, with its age and status) and, under
 * each of its open tactical conflicts' ids, the other aircraft as the conflict discloses it:
 * position, altitude, velocity and time -- no track id, no callsign (docs/service.md,
 * "Need-to-know"). */
#include "api/api.h"
#include "core/format.h"
#include "core/tracks.h"

typedef struct out {
    json_t *tracks, *disclosed;
} out_t;

static void own(const dd_track_t *t, double age_s, const char *status, void *ctx)
{
    out_t *o = ctx;
    json_t *r = dd_state_json(&t->st);
    if (!r) return;
    json_object_set_new(r, "track_id", json_string(dd_track_own_id(t)));
    if (t->callsign[0]) json_object_set_new(r, "callsign", json_string(t->callsign));
    if (t->operation[0]) json_object_set_new(r, "operation_id", json_string(t->operation));
    json_object_set_new(r, "age_s", json_real(age_s));
    json_object_set_new(r, "status", json_string(status));
    json_array_append_new(o->tracks, r);
}

static void disclosed(const char *conflict_id, const dc_track_state_t *st, void *ctx)
{
    out_t *o = ctx;
    json_t *d = dd_state_json(st);
    if (!d) return;
    json_object_set_new(d, "conflict_id", json_string(conflict_id));
    json_array_append_new(o->disclosed, d);
}

void dd_h_tracks_get(dd_request_t *rq, dd_response_t *rs)
{
    out_t o = {json_array(), json_array()};
    dd_tracks_visit_t v = {own, disclosed, &o};
    dd_tracks_visit(rq->svc, rq->party, rq->now, &v);
    dd_respond_json(
        rs, 200,
        json_pack("{s:o, s:o, s:f}", "tracks", o.tracks, "disclosed", o.disclosed, "now", rq->now));
}
