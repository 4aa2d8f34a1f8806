/* Encounter log: opening, folding later passes, loss of separation and warning time, closing
 * after the gap and reopening as a new encounter. */
#include "testutil.h"

#include <math.h>

#include "deconflict/encounters.h"

static dc_tactical_snapshot_t snap_of(double now, dc_conflict_t *c, size_t n)
{
    dc_tactical_snapshot_t s;
    memset(&s, 0, sizeof(s));
    s.now_s = now;
    s.conflicts = c;
    s.n_conflicts = n;
    return s;
}

static dc_conflict_t conflict(const char *a, const char *b, double hsep, double tin, bool los)
{
    dc_conflict_t c;
    memset(&c, 0, sizeof(c));
    strcpy(c.id1, a);
    strcpy(c.id2, b);
    c.eval.conflict = true;
    c.eval.hsep_nm = hsep;
    c.eval.vsep_ft = 500;
    c.eval.dcpa_nm = hsep / 2;
    c.eval.tin_s = tin;
    c.eval.los_now = los;
    return c;
}

static void test_lifecycle(void **state)
{
    (void)state;
    dc_encounters_t *enc = dc_encounters_new(20);
    dc_conflict_t p1[] = {conflict("A", "B", 9, 60, false), conflict("C", "D", 7, 30, false)};
    dc_tactical_snapshot_t s = snap_of(100, p1, 2);
    assert_int_equal(dc_encounters_observe(enc, &s), DC_OK);
    dc_conflict_t p2[] = {conflict("A", "B", 4, 0, true)};
    s = snap_of(110, p2, 1);
    assert_int_equal(dc_encounters_observe(enc, &s), DC_OK);
    s = snap_of(140, NULL, 0); /* 30 s > gap: both close */
    assert_int_equal(dc_encounters_observe(enc, &s), DC_OK);
    dc_conflict_t p3[] = {conflict("A", "B", 8, 50, false)};
    s = snap_of(150, p3, 1); /* a new encounter of the same pair */
    assert_int_equal(dc_encounters_observe(enc, &s), DC_OK);
    assert_int_equal(dc_encounters_count(enc), 3);
    const dc_encounter_t *ab = dc_encounters_get(enc, 0), *cd = dc_encounters_get(enc, 1);
    assert_string_equal(ab->id1, "A");
    assert_true(ab->first_alert_s == 100 && ab->first_tin_s == 160 && ab->los_start_s == 110);
    assert_true(ab->min_hsep_nm == 4 && ab->passes == 2 && !ab->open);
    assert_string_equal(cd->id1, "C");
    assert_true(isnan(cd->los_start_s) && cd->last_seen_s == 100 && !cd->open);
    const dc_encounter_t *ab2 = dc_encounters_get(enc, 2);
    assert_true(ab2->first_alert_s == 150 && ab2->open);
    assert_null(dc_encounters_get(enc, 3));
    s = snap_of(149, NULL, 0); /* time going backwards is refused */
    assert_int_equal(dc_encounters_observe(enc, &s), DC_ERR_INVALID);
    dc_encounters_free(enc);
    assert_null(dc_encounters_new(-1));
    dc_encounters_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lifecycle)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
