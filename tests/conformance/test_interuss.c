/* Conformance: the ASTM F3548 flight intents of interuss/monitoring, filed pairwise.
 *
 * Loads conflicting_flights.yaml, non_conflicting.yaml and invalid_flight_intents.yaml from the
 * data directory (argv[1]) with libyaml, resolves the intents' deltas the way uss_qualifier does
 * (a mutation merges into its source object by object and list element by list element; a key
 * written "+key" replaces instead of merging; a null value removes), places them in time (both
 * TimeOfEvaluation and StartOfScenario are T0 = 2026-12-01T12:00:00Z), turns each into an ASTM
 * Volume4D JSON document and files every pair into a fresh engine under two parties, both ways
 * round. Every verdict is printed and compared with the expectation below.
 *
 * Expectations come from the geometry in the files (coordinates are ~1 m units near 0,0):
 *  - conflicting_flights.yaml has six footprints. flight1 overlaps flight1c, flight1c_activated,
 *    flight1m and flight2. Gaps: flight1 / flight2m 5 units north (5.5 m: flight2m's lowest
 *    vertex is at lat 0.00015, flight1's top edge at 0.00010); flight1c and flight1c_activated /
 *    flight2 10 units east (11 m); flight1c and flight1m / flight2m 5 units north. The rest
 *    overlap, including flight1c_activated / flight2m (its vertex at lat 0.0005 reaches into
 *    flight2m). equal_prio_flight2m_planned flies at 45.13-50 m, above everyone but
 *    flight2m_activated (up to 50 m). All windows are T0-1s .. T0+45min.
 *  - non_conflicting.yaml: flight_1 and flight_2 interlock without touching (11.7 m apart).
 *  - invalid_flight_intents.yaml: valid_conflict_tiny_overlap overlaps valid_flight by a 1.1 cm
 *    apex (must conflict); invalid_too_far_away starts 32 days later and invalid_recently_ended
 *    ends 5 s before T0, so neither overlaps anything in time. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "deconflict/strategic.h"
#include "deconflict/timefmt.h"

#define T0_S 1796126400.0 /* 2026-12-01T12:00:00Z */

/* ---- YAML -> jansson ---- */

static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0) return json_null();
        if (strcmp(s, "true") == 0) return json_true();
        if (strcmp(s, "false") == 0) return json_false();
        char *end;
        double d = strtod(s, &end);
        if (end != s && *end == '\0') return json_real(d);
    }
    return json_string(s);
}

/* Parses the node starting with event ev (already read). Returns NULL on error. */
static json_t *parse_node(yaml_parser_t *p, yaml_event_t *ev)
{
    if (ev->type == YAML_SCALAR_EVENT) return scalar_value(ev);
    if (ev->type == YAML_SEQUENCE_START_EVENT) {
        json_t *arr = json_array();
        for (;;) {
            yaml_event_t e;
            if (!yaml_parser_parse(p, &e)) return NULL;
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                return arr;
            }
            json_t *item = parse_node(p, &e);
            yaml_event_delete(&e);
            if (!item) return NULL;
            json_array_append_new(arr, item);
        }
    }
    if (ev->type == YAML_MAPPING_START_EVENT) {
        json_t *obj = json_object();
        for (;;) {
            yaml_event_t k, v;
            if (!yaml_parser_parse(p, &k)) return NULL;
            if (k.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&k);
                return obj;
            }
            if (k.type != YAML_SCALAR_EVENT || !yaml_parser_parse(p, &v)) return NULL;
            json_t *val = parse_node(p, &v);
            yaml_event_delete(&v);
            if (!val) return NULL;
            json_object_set_new(obj, (const char *)k.data.scalar.value, val);
            yaml_event_delete(&k);
        }
    }
    return NULL;
}

static json_t *load_yaml(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    json_t *root = NULL;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
            root = parse_node(&p, &ev);
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    fclose(f);
    return root;
}

/* ---- deltas ---- */

static json_t *apply_overrides(json_t *base, json_t *ov)
{
    if (json_is_object(base) && json_is_object(ov)) {
        json_t *out = json_deep_copy(base);
        const char *k;
        json_t *v;
        json_object_foreach(ov, k, v)
        {
            int replace = k[0] == '+';
            const char *key = replace ? k + 1 : k;
            json_t *b = json_object_get(base, key);
            if (json_is_null(v))
                json_object_del(out, key);
            else if (!replace && b && (json_is_object(b) || json_is_array(b)))
                json_object_set_new(out, key, apply_overrides(b, v));
            else
                json_object_set_new(out, key, json_deep_copy(v));
        }
        return out;
    }
    if (json_is_array(base) && json_is_array(ov)) {
        json_t *out = json_deep_copy(base);
        for (size_t i = 0; i < json_array_size(ov); i++) {
            json_t *o = json_array_get(ov, i);
            if (i < json_array_size(base))
                json_array_set_new(out, i, apply_overrides(json_array_get(base, i), o));
            else
                json_array_append_new(out, json_deep_copy(o));
        }
        return out;
    }
    return json_deep_copy(ov);
}

static json_t *resolve(json_t *intents, const char *name, int depth)
{
    json_t *it = json_object_get(intents, name);
    if (!it || depth > 20) return NULL;
    json_t *full = json_object_get(it, "full");
    if (full) return json_deep_copy(full);
    json_t *delta = json_object_get(it, "delta");
    json_t *src = resolve(intents, json_string_value(json_object_get(delta, "source")), depth + 1);
    if (!src) return NULL;
    json_t *out = apply_overrides(src, json_object_get(delta, "mutation"));
    json_decref(src);
    return out;
}

/* ---- time ---- */

static double parse_offset_s(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    switch (*end) {
    case 's':
        return v;
    case 'm':
        return v * 60;
    case 'h':
        return v * 3600;
    case 'd':
        return v * 86400;
    default:
        return 0;
    }
}

/* A TestTime: {time_during_test: ...} or {offset_from: {starting_from: TestTime, offset}}; an
 * "offset" beside time_during_test (as merged deltas produce) is applied too. */
static double test_time(json_t *t)
{
    double s = T0_S;
    json_t *off_from = json_object_get(t, "offset_from");
    if (off_from) {
        s = test_time(json_object_get(off_from, "starting_from"));
        json_t *o = json_object_get(off_from, "offset");
        if (json_is_string(o)) s += parse_offset_s(json_string_value(o));
    }
    json_t *o = json_object_get(t, "offset");
    if (json_is_string(o)) s += parse_offset_s(json_string_value(o));
    return s;
}

/* ---- intent -> Volume4D JSON -> operation ---- */

typedef struct intent {
    char name[64];
    dc_operation_t op;
} intent_t;

static int make_operation(json_t *intent, const char *name, dc_operation_t *op)
{
    json_t *bi = json_object_get(intent, "basic_information");
    json_t *area = json_array_get(json_object_get(bi, "area"), 0);
    double start = test_time(json_object_get(area, "start_time"));
    json_t *end_t = json_object_get(area, "end_time");
    double end = end_t
                     ? test_time(end_t)
                     : start + parse_offset_s(json_string_value(json_object_get(area, "duration")));
    char ts[DC_TIME_RFC3339_MAX], te[DC_TIME_RFC3339_MAX];
    dc_time_format_rfc3339(start, ts, sizeof(ts));
    dc_time_format_rfc3339(end, te, sizeof(te));

    json_t *vol3 = json_object();
    json_object_set(vol3, "outline_polygon", json_object_get(area, "outline_polygon"));
    json_object_set(vol3, "altitude_lower", json_object_get(area, "altitude_lower"));
    json_object_set(vol3, "altitude_upper", json_object_get(area, "altitude_upper"));
    json_t *doc = json_pack("{s:s, s:s, s:I, s:[{s:o, s:{s:s,s:s}, s:{s:s,s:s}}]}", "id", name,
                            "party", "uss", "priority",
                            (json_int_t)json_number_value(json_object_get(
                                json_object_get(intent, "astm_f3548_21"), "priority")),
                            "volumes", "volume", vol3, "time_start", "value", ts, "format",
                            "RFC3339", "time_end", "value", te, "format", "RFC3339");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    dc_strategic_error_t err;
    dc_err_t rc = dc_operation_parse_json(text, strlen(text), op, &err);
    if (rc != DC_OK) fprintf(stderr, "%s: %s: %s\n%s\n", name, err.field, err.message, text);
    free(text);
    const char *state = json_string_value(json_object_get(bi, "usage_state"));
    const char *uas = json_string_value(json_object_get(bi, "uas_state"));
    op->state = state && strcmp(state, "InUse") == 0 ? DC_OP_ACTIVE : DC_OP_PLANNED;
    if (uas && strcmp(uas, "OffNominal") == 0) op->state = DC_OP_NONCONFORMING;
    return rc == DC_OK ? 0 : -1;
}

/* ---- expectations ---- */

static const char *family(const char *name)
{
    static const struct {
        const char *name, *fam;
    } t[] = {
        {"flight1_planned", "F1"},
        {"flight1_activated", "F1"},
        {"flight1c_planned", "F1c"},
        {"flight1c_activated", "F1ca"},
        {"flight1m_planned", "F1m"},
        {"flight1m_activated", "F1m"},
        {"flight2_planned", "F2"},
        {"flight2_activated", "F2"},
        {"equal_prio_flight2_planned", "F2"},
        {"equal_prio_flight2_activated", "F2"},
        {"equal_prio_flight2_nonconforming", "F2"},
        {"flight2m_activated", "F2m"},
        {"equal_prio_flight2m_planned", "F2m_high"},
        {"flight_1", "G1"},
        {"flight_1_planned", "G1"},
        {"flight_1_activated", "G1"},
        {"flight_2", "G2"},
        {"flight_2_planned", "G2"},
        {"flight_2_planned_modified", "G2"},
        {"valid_flight", "V"},
        {"valid_activated", "V"},
        {"valid_conflict_tiny_overlap", "Vtiny"},
        {"invalid_too_far_away", "Vlater"},
        {"invalid_recently_ended", "Vended"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, name) == 0) return t[i].fam;
    return NULL;
}

/* Pairs of families that do NOT conflict, and why; every other pair of known families does. */
static const char *expected_gap(const char *a, const char *b)
{
    static const struct {
        const char *a, *b, *why;
    } gaps[] = {
        {"F1", "F2m", "5.5 m lateral gap"},
        {"F1c", "F2", "11 m lateral gap"},
        {"F1ca", "F2", "11 m lateral gap"},
        {"F1c", "F2m", "5.5 m lateral gap"},
        {"F1m", "F2m", "5.5 m lateral gap"},
        {"F2m_high", "F1", "altitude: 45.13-50 m above 30 m"},
        {"F2m_high", "F1c", "altitude: 45.13-50 m above 35 m"},
        {"F2m_high", "F1ca", "altitude: 45.13-50 m above 35 m"},
        {"F2m_high", "F1m", "altitude: 45.13-50 m above 30 m"},
        {"F2m_high", "F2", "altitude: 45.13-50 m above 28 m"},
        {"G1", "G2", "interlocking, 11.7 m apart"},
        {"Vlater", "V", "time: 32 days later"},
        {"Vlater", "Vtiny", "time: 32 days later"},
        {"Vlater", "Vended", "time: 32 days apart"},
        {"Vended", "V", "time: ended 5 s before the others start"},
        {"Vended", "Vtiny", "time: ended 5 s before the others start"},
    };
    for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++)
        if ((strcmp(gaps[i].a, a) == 0 && strcmp(gaps[i].b, b) == 0) ||
            (strcmp(gaps[i].a, b) == 0 && strcmp(gaps[i].b, a) == 0))
            return gaps[i].why;
    return NULL;
}

/* Files a under party uss1, then b under uss2; returns the number of conflicts b meets, or -1. */
static int file_pair(const dc_operation_t *a, const dc_operation_t *b, double *area_m2)
{
    dc_strategic_t *eng = dc_strategic_new(NULL);
    dc_operation_t oa = *a, ob = *b;
    snprintf(oa.party, sizeof(oa.party), "uss1");
    snprintf(ob.party, sizeof(ob.party), "uss2");
    snprintf(oa.id, sizeof(oa.id), "A");
    snprintf(ob.id, sizeof(ob.id), "B");
    dc_strategic_result_t res;
    int n = -1;
    if (eng && dc_strategic_file(eng, &oa, NULL) == DC_OK &&
        dc_strategic_file(eng, &ob, &res) == DC_OK) {
        n = (int)res.n_conflicts;
        *area_m2 = n ? res.conflicts[0].area_m2 : 0;
        dc_strategic_result_clear(&res);
    }
    dc_strategic_free(eng);
    return n;
}

static int run_file(const char *dir, const char *file, int *pairs)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    json_t *root = load_yaml(path);
    json_t *intents = json_object_get(root, "intents");
    if (!json_is_object(intents)) {
        fprintf(stderr, "%s: no intents\n", path);
        json_decref(root);
        return 1;
    }
    intent_t list[64];
    size_t n = 0;
    int failures = 0;
    const char *name;
    json_t *v;
    json_object_foreach(intents, name, v)
    {
        (void)v;
        json_t *it = resolve(intents, name, 0);
        if (!it || n == 64 || !family(name)) {
            fprintf(stderr, "%s: cannot resolve or classify intent %s\n", file, name);
            failures++;
            json_decref(it);
            continue;
        }
        snprintf(list[n].name, sizeof(list[n].name), "%s", name);
        if (make_operation(it, name, &list[n].op) == 0)
            n++;
        else
            failures++;
        json_decref(it);
    }
    printf("== %s: %zu intents\n", file, n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            double area1 = 0, area2 = 0;
            int ab = file_pair(&list[i].op, &list[j].op, &area1);
            int ba = file_pair(&list[j].op, &list[i].op, &area2);
            const char *gap = expected_gap(family(list[i].name), family(list[j].name));
            int want = gap == NULL;
            int ok = ab >= 0 && ba >= 0 && (ab > 0) == want && (ba > 0) == want;
            printf("%-4s %-34s %-34s %-9s expected %-9s %s", ok ? "ok" : "FAIL", list[i].name,
                   list[j].name, ab > 0 ? "conflict" : "clear", want ? "conflict" : "clear",
                   gap ? gap : "");
            if (ab > 0) printf("area %.6g m2", area1);
            printf("\n");
            failures += !ok;
            (*pairs)++;
        }
    }
    for (size_t i = 0; i < n; i++) dc_operation_clear(&list[i].op);
    json_decref(root);
    return failures;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s INTERUSS_DIR\n", argv[0]);
        return 2;
    }
    int failures = 0, pairs = 0;
    failures += run_file(argv[1], "conflicting_flights.yaml", &pairs);
    failures += run_file(argv[1], "non_conflicting.yaml", &pairs);
    failures += run_file(argv[1], "invalid_flight_intents.yaml", &pairs);
    printf("%d pairs, %d failures\n", pairs, failures);
    return failures ? 1 : 0;
}
