/* The domain's conflicts, driven with a pinned `now` and no HTTP (src/deconflictd/core/): a
 * strategic conflict's lifecycle (raised at filing for both parties, each told only what the
 * conflict discloses, resolved when an operation ends), acknowledgement deadlines and the
 * escalation ladder (pressed every conflict_ack_s until acknowledged, the other side told who
 * is late, nothing pressed once acknowledged or resolved), deadlines surviving a restart, and a
 * stale update refused with what changed. */
#include "core_fixture.h"

#include "core/conflicts.h"

/* alpha and bravo file overlapping operations at T0: the conflict's id (from bravo's answer),
 * and both operations' views. */
static void overlapping(fixture_t *fx, char cid[40], json_t **op_a, json_t **op_b)
{
    assert_int_equal(file_op(fx, fx->alpha, 46.5, 7.56, 3000, T0, op_a), DC_OK);
    assert_int_equal(json_array_size(json_object_get(*op_a, "conflicts")), 0);
    assert_int_equal(file_op(fx, fx->bravo, 46.5, 7.57, 3000, T0, op_b), DC_OK);
    json_t *cf = json_array_get(json_object_get(*op_b, "conflicts"), 0);
    assert_non_null(cf);
    snprintf(cid, 40, "%s", json_string_value(json_object_get(cf, "id")));
}

static void test_strategic_lifecycle_and_disclosure(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    int64_t seen_a = 0, seen_b = 0;
    json_t *op_a, *op_b;
    char cid[40];
    overlapping(fx, cid, &op_a, &op_b);
    const char *id_a = json_string_value(json_object_get(op_a, "id"));
    const char *id_b = json_string_value(json_object_get(op_b, "id"));
    const char *ref_a = json_string_value(json_object_get(op_a, "ref"));
    const char *ref_b = json_string_value(json_object_get(op_b, "ref"));

    /* bravo's answer: its own operation by id, alpha's only by ref. */
    json_t *cf_b = json_array_get(json_object_get(op_b, "conflicts"), 0);
    assert_string_equal(json_string_value(json_object_get(cf_b, "kind")), "strategic");
    assert_string_equal(json_string_value(json_object_get(cf_b, "own_operation")), id_b);
    assert_string_equal(json_string_value(json_object_get(cf_b, "other_operation_ref")), ref_a);
    assert_string_equal(json_string_value(json_object_get(cf_b, "other_party")), "alpha");

    /* alpha is told on its stream, and nothing of bravo's but the ref and the overlap. */
    json_t *ev_a = events_since(fx, fx->alpha, &seen_a);
    json_t *new_a = first_of(ev_a, "conflict.new");
    assert_non_null(new_a);
    assert_string_equal(json_string_value(json_object_get(new_a, "id")), cid);
    assert_string_equal(json_string_value(json_object_get(new_a, "own_operation")), id_a);
    assert_string_equal(json_string_value(json_object_get(new_a, "other_operation_ref")), ref_b);
    assert_false(events_mention(ev_a, id_b));
    json_t *ev_b = events_since(fx, fx->bravo, &seen_b);
    assert_false(events_mention(ev_b, id_a));
    /* charlie hears nothing of it. */
    int64_t seen_c = 0;
    json_t *ev_c = events_since(fx, fx->charlie, &seen_c);
    assert_int_equal(json_array_size(ev_c), 0);
    json_decref(ev_c);

    /* Open in the table, both sides owing an acknowledgement from T0. */
    dd_conflict_t *c = dd_conflict_open(&fx->svc, cid);
    assert_non_null(c);
    assert_near(c->side[0].ack_due, T0 + fx->cfg.conflict_ack_s, 1e-6);
    assert_near(c->side[1].ack_due, T0 + fx->cfg.conflict_ack_s, 1e-6);
    assert_int_equal(fx->svc.open_conflicts, 1);

    /* alpha ends its operation: resolved for both, gone from the table. */
    json_t *out;
    dd_fault_t f;
    assert_int_equal(dd_operation_set_state(&fx->svc, fx->alpha, id_a, "end", T0 + 60, &out, &f),
                     DC_OK);
    json_decref(out);
    json_decref(ev_a), json_decref(ev_b);
    ev_a = events_since(fx, fx->alpha, &seen_a);
    ev_b = events_since(fx, fx->bravo, &seen_b);
    assert_int_equal(count_type(ev_a, "conflict.resolved"), 1);
    assert_int_equal(count_type(ev_b, "conflict.resolved"), 1);
    assert_null(dd_conflict_open(&fx->svc, cid));
    assert_int_equal(fx->svc.open_conflicts, 0);

    /* Ending it again is not a transition; someone else's operation is not found. */
    assert_int_equal(dd_operation_set_state(&fx->svc, fx->alpha, id_a, "end", T0 + 61, &out, &f),
                     DC_ERR_TRANSITION);
    assert_int_equal(dd_operation_set_state(&fx->svc, fx->bravo, id_a, "end", T0 + 61, &out, &f),
                     DC_ERR_NOT_FOUND);
    json_decref(ev_a), json_decref(ev_b), json_decref(op_a), json_decref(op_b);
    fixture_free(fx);
}

/* The escalation ladder: nothing before the deadline; past it each late side is pressed and
 * the other told who is late; an acknowledgement stops it for that side only; a resolved
 * conflict is pressed no more. */
static void test_acknowledgement_deadlines_and_escalation(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    const double ack = fx->cfg.conflict_ack_s;
    int64_t seen_a = 0, seen_b = 0;
    json_t *op_a, *op_b, *ev;
    char cid[40];
    overlapping(fx, cid, &op_a, &op_b);
    json_decref(events_since(fx, fx->alpha, &seen_a));
    json_decref(events_since(fx, fx->bravo, &seen_b));
    /* /metrics' counts: one strategic conflict (not graded), both sides owing, none late. */
    dd_conflict_counts_t n;
    dd_conflicts_count(&fx->svc, T0 + ack - 1, &n);
    assert_int_equal(n.open[DD_CF_STRATEGIC][DD_CF_LEVEL_NONE], 1);
    assert_int_equal(n.acks_owed, 2);
    assert_int_equal(n.acks_overdue, 0);
    /* Late at the deadline already, before a pass has escalated. */
    dd_conflicts_count(&fx->svc, T0 + ack, &n);
    assert_int_equal(n.acks_overdue, 2);

    dd_tick(&fx->svc, T0 + ack - 1);
    ev = events_since(fx, fx->alpha, &seen_a);
    assert_int_equal(count_type(ev, "conflict.escalated"), 0);
    json_decref(ev);

    dd_tick(&fx->svc, T0 + ack + 1);
    /* Escalated: the next deadline is ahead, and both are still late. */
    dd_conflicts_count(&fx->svc, T0 + ack + 1, &n);
    assert_int_equal(n.acks_owed, 2);
    assert_int_equal(n.acks_overdue, 2);
    ev = events_since(fx, fx->alpha, &seen_a);
    /* alpha: its own escalation, and the note that bravo has not answered either. */
    assert_int_equal(count_type(ev, "conflict.escalated"), 2);
    bool told_of_bravo = false;
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        const char *by =
            json_string_value(json_object_get(json_object_get(e, "data"), "unacknowledged_by"));
        told_of_bravo |= by && strcmp(by, "bravo") == 0;
    }
    assert_true(told_of_bravo);
    json_decref(ev);
    json_decref(events_since(fx, fx->bravo, &seen_b));

    /* alpha acknowledges: its view says so, its next deadline is gone. */
    json_t *view;
    dd_fault_t f;
    assert_int_equal(dd_conflict_ack(&fx->svc, fx->alpha, cid, T0 + ack + 2, &view, &f), DC_OK);
    assert_true(json_is_true(json_object_get(view, "acknowledged")));
    assert_int_equal(json_integer_value(json_object_get(view, "escalations")), 1);
    json_decref(view);
    /* bravo may not acknowledge for alpha, nor a conflict that is not its own. */
    assert_int_equal(dd_conflict_ack(&fx->svc, fx->charlie, cid, T0 + ack + 2, &view, &f),
                     DC_ERR_NOT_FOUND);
    dd_conflicts_count(&fx->svc, T0 + ack + 2, &n);
    assert_int_equal(n.acks_owed, 1);
    assert_int_equal(n.acks_overdue, 1);

    /* One allowance later: bravo is pressed again, alpha is not. */
    dd_tick(&fx->svc, T0 + 2 * ack + 2);
    json_t *ev_a = events_since(fx, fx->alpha, &seen_a);
    json_t *ev_b = events_since(fx, fx->bravo, &seen_b);
    json_t *esc_b = first_of(ev_b, "conflict.escalated");
    assert_non_null(esc_b);
    assert_int_equal(json_integer_value(json_object_get(esc_b, "escalations")), 2);
    /* alpha hears only that bravo is late, about its own (acknowledged) view. */
    assert_int_equal(count_type(ev_a, "conflict.escalated"), 1);
    json_t *note = first_of(ev_a, "conflict.escalated");
    assert_string_equal(json_string_value(json_object_get(note, "unacknowledged_by")), "bravo");
    assert_true(json_is_true(json_object_get(note, "acknowledged")));
    json_decref(ev_a), json_decref(ev_b);

    /* Resolved: pressed no more, however late. */
    json_t *out;
    assert_int_equal(dd_operation_set_state(&fx->svc, fx->bravo,
                                            json_string_value(json_object_get(op_b, "id")),
                                            "cancel", T0 + 2 * ack + 3, &out, &f),
                     DC_OK);
    json_decref(out);
    json_decref(events_since(fx, fx->bravo, &seen_b));
    /* Resolved: counted nowhere, owed by nobody. */
    dd_conflicts_count(&fx->svc, T0 + 2 * ack + 3, &n);
    assert_int_equal(n.open[DD_CF_STRATEGIC][DD_CF_LEVEL_NONE], 0);
    assert_int_equal(n.acks_owed, 0);
    dd_tick(&fx->svc, T0 + 10 * ack);
    ev = events_since(fx, fx->bravo, &seen_b);
    assert_int_equal(count_type(ev, "conflict.escalated"), 0);
    json_decref(ev);
    /* A resolved conflict may still be acknowledged. */
    assert_int_equal(dd_conflict_ack(&fx->svc, fx->bravo, cid, T0 + 10 * ack, &view, &f), DC_OK);
    assert_string_equal(json_string_value(json_object_get(view, "state")), "resolved");
    json_decref(view);
    json_decref(op_a), json_decref(op_b);
    fixture_free(fx);
}

/* A restart keeps the open conflict under its id with its deadlines: pressed on time after it,
 * not raised again. */
static void test_deadlines_survive_restart(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    const double ack = fx->cfg.conflict_ack_s;
    int64_t seen_b = 0;
    json_t *op_a, *op_b;
    char cid[40];
    overlapping(fx, cid, &op_a, &op_b);
    json_t *view;
    dd_fault_t f;
    assert_int_equal(dd_conflict_ack(&fx->svc, fx->alpha, cid, T0 + 5, &view, &f), DC_OK);
    json_decref(view);
    json_decref(events_since(fx, fx->bravo, &seen_b));

    dd_service_close(&fx->svc);
    fixture_open(fx, T0 + 30);
    dd_conflict_t *c = dd_conflict_open(&fx->svc, cid);
    assert_non_null(c);
    assert_int_equal(fx->svc.open_conflicts, 1);
    int a = c->side[0].party == fx->alpha ? 0 : 1;
    assert_true(c->side[a].acknowledged);
    assert_near(c->side[1 - a].ack_due, T0 + ack, 1e-3);

    dd_tick(&fx->svc, T0 + ack - 1);
    json_t *ev = events_since(fx, fx->bravo, &seen_b);
    assert_int_equal(count_type(ev, "conflict.escalated"), 0);
    json_decref(ev);
    dd_tick(&fx->svc, T0 + ack + 1);
    ev = events_since(fx, fx->bravo, &seen_b);
    assert_int_equal(count_type(ev, "conflict.escalated"), 1);
    assert_int_equal(count_type(ev, "conflict.new"), 0);
    json_decref(ev);
    json_decref(op_a), json_decref(op_b);
    fixture_free(fx);
}

/* An update from a stale version is refused with the changes since; a current one moves the
 * operation away and resolves the conflict, keeping what the other party acknowledged. */
static void test_update_versions(void **state)
{
    (void)state;
    fixture_t *fx = fixture_new();
    int64_t seen_a = 0;
    json_t *op_a, *op_b;
    char cid[40];
    overlapping(fx, cid, &op_a, &op_b);
    const char *id_b = json_string_value(json_object_get(op_b, "id"));
    json_t *out = NULL;
    dd_fault_t f;
    dd_op_update_t up = {.version = 1, .has_priority = true, .priority = 3};
    assert_int_equal(dd_operation_update(&fx->svc, fx->bravo, id_b, &up, T0 + 10, &out, &f), DC_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 2);
    /* Still overlapping: the same conflict, updated, not raised again. */
    json_t *cf = json_array_get(json_object_get(out, "conflicts"), 0);
    assert_string_equal(json_string_value(json_object_get(cf, "id")), cid);
    json_decref(out);
    json_t *ev = events_since(fx, fx->alpha, &seen_a);
    assert_int_equal(count_type(ev, "conflict.new"), 1);
    assert_int_equal(count_type(ev, "conflict.update"), 1);
    json_decref(ev);

    up.version = 1; /* stale */
    assert_int_equal(dd_operation_update(&fx->svc, fx->bravo, id_b, &up, T0 + 11, &out, &f),
                     DC_ERR_STALE_VERSION);
    assert_string_equal(f.field, "version");
    assert_int_equal(json_integer_value(json_object_get(f.ext, "current_version")), 2);
    assert_int_equal(json_array_size(json_object_get(f.ext, "changes")), 1);
    dd_fault_clear(&f);

    json_t *away = json_pack("[o]", circle_volume(-30, 20, 1000, T0 + 3600, T0 + 7200));
    dd_op_update_t move = {.version = 2, .volumes = away};
    assert_int_equal(dd_operation_update(&fx->svc, fx->bravo, id_b, &move, T0 + 12, &out, &f),
                     DC_OK);
    assert_int_equal(json_array_size(json_object_get(out, "conflicts")), 0);
    json_decref(out), json_decref(away);
    assert_null(dd_conflict_open(&fx->svc, cid));
    ev = events_since(fx, fx->alpha, &seen_a);
    assert_int_equal(count_type(ev, "conflict.resolved"), 1);
    json_decref(ev);
    json_decref(op_a), json_decref(op_b);
    fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategic_lifecycle_and_disclosure),
        cmocka_unit_test(test_acknowledgement_deadlines_and_escalation),
        cmocka_unit_test(test_deadlines_survive_restart),
        cmocka_unit_test(test_update_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
