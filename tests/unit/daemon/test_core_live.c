/* The domain's live side, driven with a pinned `now` and no HTTP (src/deconflictd/core/):
 * position reports and their time range and sources, tactical detection's graded levels
 * (advisory at once, warning once confirmed, loss; resolved after the hysteresis), what each
 * side's alert discloses, one
 * aircraft seen by two parties' receivers never conflicting with itself, and agreements --
 * proposal over the hotline, acceptance, and the exact check of an operation and of a track
 * on ground the agreement gives another party; what a CAT004 sender reads back after a
 * restart (a track's ASTERIX number, when a conflict's prediction was made). */
#include "core_fixture.h"

#include "core/agreements.h"
#include "core/detection.h"
#include "core/format.h"
#include "core/messages.h"
#include "core/tracks.h"

/* A report of party's track at now: lat/lon in degrees, FL300, 450 kt on trk_deg. */
static dd_report_t report(int64_t party, const char *track, double t_s, double lat, double lon,
                          double trk_deg)
{
    dd_report_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.st.id, sizeof(r.st.id), "%lld/%s", (long long)party, track);
    r.st.t_s = t_s;
    r.st.lat_deg = lat, r.st.lon_deg = lon;
    r.st.alt_ft = 30000;
    r.st.gs_kt = 450;
    r.st.trk_deg = trk_deg;
    r.alt_step_ft = r.selected_alt_ft = NAN; /* the service's step, none selected */
    return r;
}

/* The one pair detection follows, or NULL. */
static const dd_pair_t *only_pair(fixture_t *fx)
{
    for (size_t i = 0; i < fx->svc.pairs.cap; i++)
        if (fx->svc.pairs.slots[i].key) return fx->svc.pairs.slots[i].val;
    return NULL;
}

static void put(fixture_t *fx, int64_t party, const dd_report_t *r, size_t n, double now,
                dd_positions_result_t *res)
{
    dd_fault_t f;
    assert_int_equal(dd_positions_put(&fx->svc, party, r, n, now, res, &f), DC_OK);
}

/* alpha's report a and bravo's b, posted at t, each accepted. */
static void put_both(fixture_t *fx, const dd_report_t *a, const dd_report_t *b, double t)
{
    dd_positions_result_t res;
    put(fx, fx->alpha, a, 1, t, &res);
    assert_int_equal(res.accepted, 1);
    free(res.refused);
    put(fx, fx->bravo, b, 1, t, &res);
    assert_int_equal(res.accepted, 1);
    free(res.refused);
}

/* Two aircraft head-on along the equator, each at 450 kt (0.125 NM/s): alpha's from the west,
 * bravo's from the east, starting gap_nm apart at T0 + 0 and reported every second. */
static void head_on_at(fixture_t *fx, double t, double gap_nm, double t_start)
{
    double moved_deg = (t - t_start) * 0.125 / 60.0;
    double half_deg = gap_nm / 2 / 60.0;
    dd_report_t a = report(fx->alpha, "alpha-7", t, 0, -half_deg + moved_deg, 90);
    dd_report_t b = report(fx->bravo, "bravo-secret-9", t, 0, half_deg - moved_deg, 270);
    put_both(fx, &a, &b, t);
}

static void test_report_time_range(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    dd_report_t r[4] = {
        report(fx->alpha, "a1", T0, 10, 10, 0),
        report(fx->alpha, "a2", T0 * 1000, 10, 10, 0), /* milliseconds */
        report(fx->alpha, "a3", T0 - 3600, 10, 10, 0), /* an hour old */
        report(fx->alpha, "a4", T0 + 5, 10, 10, 0),    /* within the 10 s allowed ahead */
    };
    r[3].bad_field = "lat"; /* the parser refused it */
    dd_positions_result_t res;
    put(fx, fx->alpha, r, 4, T0, &res);
    assert_int_equal(res.accepted, 1);
    assert_int_equal(res.n_refused, 3);
    assert_int_equal(res.refused[0].index, 1);
    assert_string_equal(res.refused[0].field, "t");
    assert_non_null(strstr(res.refused[0].detail, "milliseconds"));
    assert_int_equal(res.refused[1].index, 2);
    assert_non_null(strstr(res.refused[1].detail, "old"));
    assert_int_equal(res.refused[2].index, 3);
    assert_string_equal(res.refused[2].field, "lat");
    free(res.refused);
    assert_int_equal(fx->svc.positions_refused[DD_REFUSED_AHEAD], 1);
    assert_int_equal(fx->svc.positions_refused[DD_REFUSED_OLD], 1);
    assert_int_equal(fx->svc.positions_refused[DD_REFUSED_INVALID], 1);
    /* An operation of someone else's cannot be named. */
    json_t *op;
    assert_int_equal(file_op(fx, fx->bravo, 1, 1, 1000, T0, &op), DC_OK);
    dd_report_t named = report(fx->alpha, "a1", T0 + 1, 10, 10, 0);
    snprintf(named.operation, sizeof(named.operation), "%s",
             json_string_value(json_object_get(op, "id")));
    put(fx, fx->alpha, &named, 1, T0 + 1, &res);
    assert_int_equal(res.accepted, 0);
    assert_string_equal(res.refused[0].field, "operation_id");
    free(res.refused);
    json_decref(op);
    /* An older report than the one held is accepted but is not news. */
    dd_report_t older = report(fx->alpha, "a1", T0 - 1, 20, 20, 0);
    put(fx, fx->alpha, &older, 1, T0 + 2, &res);
    assert_int_equal(res.accepted, 1);
    free(res.refused);
    assert_near(dd_track(&fx->svc, r[0].st.id)->st.lat_deg, 10, 1e-9);
    fixture_free(fx);
}

static void test_tactical_nuisance_control_and_disclosure(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    int64_t seen_a = 0, seen_b = 0;
    /* 40 NM apart, closing at 0.25 NM/s: a loss (5 NM) predicted in 140 s -- within the 120 s
     * look-ahead after 20 s: an advisory at once (shown, owing no acknowledgement); within the
     * 90 s warning time after 50 s: a warning once two updates of the pair 2 s apart predict
     * it; a loss at 140 s. */
    double t = T0;
    for (; t < T0 + 20; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
    }
    json_t *ev_a = events_since(fx, fx->alpha, &seen_a);
    assert_int_equal(count_type(ev_a, "conflict.new"), 0); /* beyond the look-ahead */
    json_decref(ev_a);
    for (; t <= T0 + 21; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
    }
    ev_a = events_since(fx, fx->alpha, &seen_a);
    json_t *ev_b = events_since(fx, fx->bravo, &seen_b);
    json_t *new_a = first_of(ev_a, "conflict.new"), *new_b = first_of(ev_b, "conflict.new");
    assert_non_null(new_a);
    assert_non_null(new_b);
    assert_string_equal(json_string_value(json_object_get(new_a, "level")), "advisory");
    assert_null(json_object_get(new_a, "ack_due")); /* an advisory is not acknowledged */
    assert_string_equal(json_string_value(json_object_get(new_a, "own_track")), "alpha-7");
    assert_string_equal(json_string_value(json_object_get(new_a, "other_party")), "bravo");
    /* alpha sees bravo's aircraft as it is, never its track id. */
    json_t *other = json_object_get(new_a, "other_aircraft");
    assert_near(json_number_value(json_object_get(other, "trk_deg")), 270, 1e-9);
    assert_false(events_mention(ev_a, "bravo-secret-9"));
    assert_true(events_mention(ev_b, "bravo-secret-9"));
    assert_false(events_mention(ev_b, "alpha-7"));
    const char *cid = json_string_value(json_object_get(new_a, "id"));
    assert_string_equal(cid, json_string_value(json_object_get(new_b, "id")));
    char id[40];
    snprintf(id, sizeof(id), "%s", cid);
    json_decref(ev_a), json_decref(ev_b);

    /* Within the warning time: the same conflict becomes a warning, and both owe an
     * acknowledgement from then; not before 50 s, and confirmed within a few updates. */
    double warned_at = 0;
    for (; t <= T0 + 60 && !warned_at; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
        ev_a = events_since(fx, fx->alpha, &seen_a);
        json_t *upd = first_of(ev_a, "conflict.update");
        if (upd) {
            assert_string_equal(json_string_value(json_object_get(upd, "id")), id);
            assert_string_equal(json_string_value(json_object_get(upd, "level")), "warning");
            assert_non_null(json_object_get(upd, "ack_due"));
            warned_at = t;
        }
        json_decref(ev_a);
    }
    assert_true(warned_at >= T0 + 50 && warned_at <= T0 + 53);

    /* Closer: the same conflict goes to "loss" once separation is lost. */
    for (; t <= T0 + 142; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
    }
    ev_a = events_since(fx, fx->alpha, &seen_a);
    json_t *upd = first_of(ev_a, "conflict.update");
    assert_non_null(upd);
    assert_string_equal(json_string_value(json_object_get(upd, "id")), id);
    assert_string_equal(json_string_value(json_object_get(upd, "level")), "loss");
    assert_int_equal(count_type(ev_a, "conflict.new"), 0);
    json_decref(ev_a);

    /* Apart again (they passed each other and flew on): resolved once clear for the
     * hysteresis, not before. */
    double last_in_conflict = 0, clear_from = 0;
    for (t += 1; t <= T0 + 300; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
        const dd_pair_t *p = only_pair(fx);
        if (p && p->seen_pass == fx->svc.passes_total) last_in_conflict = p->last_s;
        json_t *ev = events_since(fx, fx->alpha, &seen_a);
        json_t *res = first_of(ev, "conflict.resolved");
        if (res) {
            assert_string_equal(json_string_value(json_object_get(res, "data")), "live");
            assert_true(t - last_in_conflict >= fx->cfg.hysteresis_s);
            clear_from = t;
        } else if (last_in_conflict) {
            assert_non_null(dd_conflict_open(&fx->svc, id));
        }
        json_decref(ev);
        if (clear_from) break;
    }
    assert_true(clear_from > 0);
    assert_null(dd_conflict_open(&fx->svc, id));
    fixture_free(fx);
}

/* The altitude step each report's source says: two level aircraft read 960 ft apart, head-on,
 * are two adjacent levels for 25 ft sources (the service's default: no conflict) and a loss for
 * exact ones ("alt_step_ft": 0). */
static void test_report_sources(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    for (int exact = 0; exact < 2; exact++) {
        char ta[16], tb[16];
        snprintf(ta, sizeof(ta), "src%d-a", exact), snprintf(tb, sizeof(tb), "src%d-b", exact);
        double lat = 10.0 * exact, t = T0 + 200.0 * exact;
        for (double k = 0; k <= 75; k += 1, t += 1) {
            dd_report_t a = report(fx->alpha, ta, t, lat, -10.0 / 60 + k * 0.125 / 60, 90);
            dd_report_t b = report(fx->bravo, tb, t, lat, 10.0 / 60 - k * 0.125 / 60, 270);
            b.st.alt_ft = 30960;
            if (exact) a.alt_step_ft = b.alt_step_ft = 0;
            put_both(fx, &a, &b, t);
            dd_tick(&fx->svc, t);
        }
        const dd_pair_t *p = only_pair(fx);
        if (exact) {
            assert_non_null(p);
            assert_string_equal(p->level, "loss");
        } else {
            assert_null(p);
            assert_int_equal(fx->svc.open_conflicts, 0);
        }
    }
    fixture_free(fx);
}

/* A conflict whose other side stops reporting stays open marked stale, then is resolved as
 * lost when the engine drops the track; a restart in between continues it under its id. */
static void test_stale_then_lost_across_restart(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    int64_t seen_a = 0;
    double t = T0;
    for (; t <= T0 + 30; t += 1) {
        head_on_at(fx, t, 40, T0);
        dd_tick(&fx->svc, t);
    }
    json_t *ev = events_since(fx, fx->alpha, &seen_a);
    json_t *raised = first_of(ev, "conflict.new");
    assert_non_null(raised);
    char id[40];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(raised, "id")));
    json_decref(ev);
    /* Only alpha reports from now on. */
    double last_b = t - 1;
    dd_service_close(&fx->svc);
    fixture_open(fx, t);
    assert_non_null(dd_conflict_open(&fx->svc, id));
    bool stale = false, lost = false;
    for (; t <= last_b + fx->svc.tactical_cfg.expire_s + 5; t += 1) {
        /* alpha flies on toward bravo's last report, which the engine extrapolates until it
         * is stale_s old: the pair stays in conflict until then. */
        dd_report_t a = report(fx->alpha, "alpha-7", t, 0, -20.0 / 60 + (t - T0) * 0.125 / 60, 90);
        dd_positions_result_t res;
        put(fx, fx->alpha, &a, 1, t, &res);
        free(res.refused);
        dd_tick(&fx->svc, t);
        ev = events_since(fx, fx->alpha, &seen_a);
        assert_int_equal(count_type(ev, "conflict.new"), 0);
        json_t *u = first_of(ev, "conflict.update");
        if (u && strcmp(json_string_value(json_object_get(u, "data")), "stale") == 0) {
            stale = true;
            assert_true(t - last_b > fx->svc.tactical_cfg.stale_s);
        }
        json_t *r = first_of(ev, "conflict.resolved");
        if (r) {
            assert_true(stale);
            assert_string_equal(json_string_value(json_object_get(r, "id")), id);
            assert_string_equal(json_string_value(json_object_get(r, "data")), "lost");
            lost = true;
        }
        json_decref(ev);
        if (lost) break;
    }
    assert_true(stale && lost);
    fixture_free(fx);
}

/* What a CAT004 sender starting anew reads back: the track number an ASTERIX source gave a
 * track (kept through reports that carry none, and through a restart), and when a tactical
 * conflict's prediction was made (an acknowledgement moves the view's updated, not it). */
static void test_source_number_and_prediction_across_restart(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    char text[40];
    double t = T0;
    dc_track_state_t st = report(fx->alpha, "x", t, 1, 1, 90).st;
    snprintf(st.id, sizeof(st.id), "3C6635"); /* as a feed names it */
    char cs[1][9] = {"DLH99P"};
    const int numbers[1] = {4711};
    size_t stored = 0;
    assert_int_equal(dd_track_source_number(&fx->svc, fx->alpha, "3C6635"), 0);
    assert_int_equal(dd_feed_states(&fx->svc, fx->alpha, &st, cs, numbers, 1, t, &stored), DC_OK);
    assert_int_equal(stored, 1);
    assert_int_equal(dd_track_source_number(&fx->svc, fx->alpha, "3C6635"), 4711);
    assert_int_equal(dd_track_source_number(&fx->svc, fx->bravo, "3C6635"), 0); /* alpha's only */
    st.t_s = t += 1; /* a report without a number (an SBS-1 feed) keeps it */
    assert_int_equal(dd_feed_states(&fx->svc, fx->alpha, &st, cs, NULL, 1, t, &stored), DC_OK);
    dd_report_t r = report(fx->alpha, "3C6635", t += 1, 1, 1.01, 90);
    dd_positions_result_t res;
    put(fx, fx->alpha, &r, 1, t, &res); /* nor does one posted */
    free(res.refused);
    assert_int_equal(dd_track_source_number(&fx->svc, fx->alpha, "3C6635"), 4711);

    int64_t seen_a = 0;
    double t_start = t;
    json_t *raised = NULL, *ev = NULL;
    for (; !raised && t <= t_start + 60; t += 1) {
        head_on_at(fx, t, 40, t_start);
        dd_tick(&fx->svc, t);
        json_decref(ev);
        ev = events_since(fx, fx->alpha, &seen_a);
        raised = first_of(ev, "conflict.new");
    }
    assert_non_null(raised);
    char id[40], predicted[40];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(raised, "id")));
    snprintf(predicted, sizeof(predicted), "%s",
             json_string_value(json_object_get(raised, "predicted_at")));
    assert_string_equal(predicted, json_string_value(json_object_get(raised, "updated")));
    json_decref(ev);
    json_t *view = NULL;
    dd_fault_t f;
    assert_int_equal(dd_conflict_ack(&fx->svc, fx->alpha, id, t + 5, &view, &f), DC_OK);
    assert_string_equal(json_string_value(json_object_get(view, "predicted_at")), predicted);
    assert_string_equal(json_string_value(json_object_get(view, "updated")),
                        dd_time_text(t + 5, text));
    json_decref(view);

    dd_service_close(&fx->svc);
    fixture_open(fx, t + 6);
    assert_int_equal(dd_track_source_number(&fx->svc, fx->alpha, "3C6635"), 4711);
    const dd_conflict_t *c = dd_conflict_open(&fx->svc, id);
    assert_non_null(c);
    assert_string_equal(dd_time_text(c->predicted_s, text), predicted);
    fixture_free(fx);
}

/* Two parties' receivers naming the same aircraft (one ICAO address) is one aircraft. */
static void test_same_aircraft_never_conflicts(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    for (double t = T0; t <= T0 + 5; t += 1) {
        dd_report_t a = report(fx->alpha, "4CA2D1", t, 0, 0, 90);
        dd_report_t b = report(fx->bravo, "4CA2D1", t, 0, 0.0005, 90);
        put_both(fx, &a, &b, t);
        dd_tick(&fx->svc, t);
    }
    assert_int_equal(fx->svc.open_conflicts, 0);
    assert_int_equal(fx->svc.pairs.len, 0);
    fixture_free(fx);
}

/* ---- agreements ---- */

/* alpha proposes that the square 0..1 N x 0..1 E is bravo's, FL0-FL400, for a day. */
static void propose_square(fixture_t *fx, char id[64])
{
    dd_agreement_req_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.names[0], DC_PARTY_NAME_MAX, "alpha");
    snprintf(r.names[1], DC_PARTY_NAME_MAX, "bravo");
    r.n_names = 2;
    r.constraint = json_pack("{s:[[f,f],[f,f],[f,f],[f,f]], s:s}", "area", 0.0, 0.0, 0.0, 1.0, 1.0,
                             1.0, 1.0, 0.0, "owner", "bravo");
    dc_strategic_error_t err;
    assert_int_equal(dd_agreement_ground(r.constraint, &r.ground, &err), DC_OK);
    r.alt_lower_ft = 0, r.alt_upper_ft = 40000;
    r.t0_s = T0, r.t1_s = T0 + 86400;
    dc_time_format_rfc3339(r.t0_s, r.time_start, sizeof(r.time_start));
    dc_time_format_rfc3339(r.t1_s, r.time_end, sizeof(r.time_end));
    json_t *out;
    dd_fault_t f;
    assert_int_equal(dd_agreement_propose(&fx->svc, fx->alpha, &r, T0, &out, &f), DC_OK);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "proposed");
    snprintf(id, 64, "%s", json_string_value(json_object_get(out, "id")));
    json_decref(out);
    dd_agreement_req_clear(&r);
}

static void test_agreement_checks(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    int64_t seen_a = 0, seen_b = 0;
    char agr[64];
    propose_square(fx, agr);
    /* bravo is asked over the hotline. */
    json_t *ev_b = events_since(fx, fx->bravo, &seen_b);
    json_t *req = first_of(ev_b, "message.new");
    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req, "category")),
                        "deconfliction_request");
    json_decref(ev_b);
    /* While only proposed it binds nothing: an alpha operation across the square is free. */
    json_t *op;
    assert_int_equal(file_op(fx, fx->alpha, 0.5, 0.5, 1000, T0, &op), DC_OK);
    assert_int_equal(json_array_size(json_object_get(op, "conflicts")), 0);
    json_decref(op);
    json_t *out;
    dd_fault_t f;
    assert_int_equal(dd_agreement_act(&fx->svc, fx->charlie, agr, "accept", T0, &out, &f),
                     DC_ERR_NOT_FOUND);
    assert_int_equal(dd_agreement_act(&fx->svc, fx->bravo, agr, "accept", T0 + 1, &out, &f), DC_OK);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "active");
    json_decref(out);
    assert_int_equal(dd_agreement_act(&fx->svc, fx->bravo, agr, "reject", T0 + 1, &out, &f),
                     DC_ERR_TRANSITION);

    /* An operation covering a corner of the square with its centre outside: met exactly. */
    assert_int_equal(file_op(fx, fx->alpha, -0.01, -0.01, 5000, T0 + 2, &op), DC_OK);
    json_t *cf = json_array_get(json_object_get(op, "conflicts"), 0);
    assert_non_null(cf);
    assert_string_equal(json_string_value(json_object_get(cf, "kind")), "agreement");
    assert_string_equal(json_string_value(json_object_get(cf, "agreement")), agr);
    ev_b = events_since(fx, fx->bravo, &seen_b);
    json_t *told = first_of(ev_b, "conflict.new");
    assert_non_null(told);
    /* bravo sees the operation by its ref only. */
    assert_string_equal(json_string_value(json_object_get(told, "other_operation_ref")),
                        json_string_value(json_object_get(op, "ref")));
    assert_false(events_mention(ev_b, json_string_value(json_object_get(op, "id"))));
    json_decref(ev_b), json_decref(op);
    /* bravo's own operation there is its own ground. */
    assert_int_equal(file_op(fx, fx->bravo, 0.5, 0.5, 1000, T0 + 3, &op), DC_OK);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(op, "conflicts"), i, c)
        assert_string_not_equal(json_string_value(json_object_get(c, "kind")), "agreement");
    json_decref(op);

    /* An alpha aircraft inside the square: an agreement conflict once the conformance round
     * reaches it, resolved when it has left. */
    json_decref(events_since(fx, fx->alpha, &seen_a));
    double t = T0 + 10;
    for (int k = 0; k < 8; k++, t += 1) {
        dd_report_t a = report(fx->alpha, "a-in", t, 0.5, 0.5, 0);
        dd_positions_result_t res;
        put(fx, fx->alpha, &a, 1, t, &res);
        free(res.refused);
        dd_tick(&fx->svc, t);
    }
    json_t *ev_a = events_since(fx, fx->alpha, &seen_a);
    json_t *in = first_of(ev_a, "conflict.new");
    assert_non_null(in);
    assert_string_equal(json_string_value(json_object_get(in, "kind")), "agreement");
    assert_string_equal(json_string_value(json_object_get(in, "own_track")), "a-in");
    json_decref(ev_a);
    for (int k = 0; k < 8; k++, t += 1) {
        dd_report_t a = report(fx->alpha, "a-in", t, 2.5, 2.5, 0);
        dd_positions_result_t res;
        put(fx, fx->alpha, &a, 1, t, &res);
        free(res.refused);
        dd_tick(&fx->svc, t);
    }
    ev_a = events_since(fx, fx->alpha, &seen_a);
    assert_int_equal(count_type(ev_a, "conflict.resolved"), 1);
    json_decref(ev_a);
    fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_time_range),
        cmocka_unit_test(test_tactical_nuisance_control_and_disclosure),
        cmocka_unit_test(test_report_sources),
        cmocka_unit_test(test_stale_then_lost_across_restart),
        cmocka_unit_test(test_source_number_and_prediction_across_restart),
        cmocka_unit_test(test_same_aircraft_never_conflicts),
        cmocka_unit_test(test_agreement_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
