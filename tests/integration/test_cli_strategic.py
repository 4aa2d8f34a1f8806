#!/usr/bin/env python3
"""`deconflict strategic OPS.json`: the CSV contract and the input errors.

Builds operation files in a temporary directory, runs the real binary, and checks the output
against values computed here independently (overlaps of axis-aligned boxes and windows; areas
by a spherical-excess formula), plus the error contract: exit 2, message naming the operation,
the volume and the field. Usage: test_cli_strategic.py PATH/TO/deconflict
"""
import json
import math
import os
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
R_AREA_M = 6371007.2  # authalic radius: areas below agree with the ellipsoid to ~0.3%


def box(lat0, lon0, lat1, lon1, lo_m, hi_m, t0, t1, units="M", ref="W84"):
    return {
        "volume": {
            "outline_polygon": {"vertices": [
                {"lat": lat0, "lng": lon0}, {"lat": lat0, "lng": lon1},
                {"lat": lat1, "lng": lon1}, {"lat": lat1, "lng": lon0}]},
            "altitude_lower": {"value": lo_m, "reference": ref, "units": units},
            "altitude_upper": {"value": hi_m, "reference": ref, "units": units},
        },
        "time_start": {"value": t0, "format": "RFC3339"},
        "time_end": {"value": t1, "format": "RFC3339"},
    }


def run(ops, *args):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ops.json")
        with open(path, "w") as f:
            f.write(ops if isinstance(ops, str) else json.dumps(ops))
        p = subprocess.run([BIN, "strategic", path, *args], capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr


def box_area_m2(lat0, lon0, lat1, lon1):
    return (R_AREA_M ** 2 * math.radians(lon1 - lon0)
            * (math.sin(math.radians(lat1)) - math.sin(math.radians(lat0))))


failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


T = "2026-12-01T%02d:00:00Z"
ops = [
    # z-op (party A) and a-op (party B) overlap: 0.01 x 0.01 deg, 200 m, 1 h.
    {"id": "z-op", "party": "A", "priority": 1,
     "volumes": [box(46.00, 7.00, 46.02, 7.02, 100, 500, T % 10, T % 12)]},
    {"id": "a-op", "party": "B", "priority": 2,
     "volumes": [box(46.01, 7.01, 46.03, 7.03, 300, 900, T % 11, T % 13),
                 box(40, 7, 40.01, 7.01, 0, 100, T % 10, T % 12)]},
    # Same party as z-op, overlapping it (and below a-op's band): not reported.
    {"id": "m-op", "party": "A", "priority": 0,
     "volumes": [box(46.00, 7.00, 46.02, 7.02, 100, 250, T % 10, T % 12)]},
    # Party C, two volumes both touching a-op's first volume: one line, largest figures.
    {"id": "c-op", "party": "C", "priority": 0,
     "volumes": [box(46.025, 7.025, 46.04, 7.04, 850, 1000, T % 12, T % 14),
                 box(46.02, 7.02, 46.04, 7.04, 0, 2000, T % 12, T % 15)]},
    # Cancelled: takes no part.
    {"id": "b-op", "party": "D", "state": "cancelled",
     "volumes": [box(46.00, 7.00, 46.03, 7.03, 0, 2000, T % 10, T % 15)]},
    # Party D, in feet, inside z-op's footprint and band but in the hour before it.
    {"id": "f-op", "party": "D",
     "volumes": [box(46.005, 7.005, 46.006, 7.006, 400, 2000, T % 9, T % 10, units="FT")]},
]
rc, out, err = run(ops)
check(rc == 0, "valid file exits 0 (%d: %s)" % (rc, err.strip()))
lines = out.strip().split("\n")
check(lines[0] == "op1,op2,alt_overlap_m,time_overlap_s,area_m2", "header")
rows = {(r[0], r[1]): [float(x) for x in r[2:]] for r in (l.split(",") for l in lines[1:])}
print("     rows: %s" % sorted(rows))
check(sorted(rows) == [("a-op", "c-op"), ("a-op", "z-op")], "exactly the cross-party pairs")
check([l.split(",")[:2] for l in lines[1:]] == sorted(l.split(",")[:2] for l in lines[1:]),
      "sorted, op1 < op2")
alt, tim, area = rows[("a-op", "z-op")]
want = box_area_m2(46.01, 7.01, 46.02, 7.02)
check(abs(alt - 200) < 1e-6 and abs(tim - 3600) < 1e-6, "a/z overlaps 200 m, 3600 s")
check(abs(area - want) / want < 0.005, "a/z area %.0f m2 vs %.0f m2 by spherical excess"
      % (area, want))
alt, tim, area = rows[("a-op", "c-op")]
want = box_area_m2(46.02, 7.02, 46.03, 7.03)
check(abs(alt - 600) < 1e-6, "a/c: largest altitude overlap over the volume pairs (600 m)")
check(abs(tim - 3600) < 1e-6, "a/c: 1 h overlap")
check(abs(area - want) / want < 0.005, "a/c: largest area over the volume pairs")
# f-op ends at 10:00 when z-op starts: windows that meet do not conflict.
check(("f-op", "z-op") not in rows, "windows meeting end-to-start do not conflict")

rc, out, _ = run(ops, "--same-party")
check(("m-op", "z-op") in {tuple(l.split(",")[:2]) for l in out.strip().split("\n")[1:]},
      "--same-party reports the same-party pair")

# ---- flight levels against W84 heights (default margin 300 m) ----
# The review's case: W84 100-200 m against FL000-FL003 (0-91.44 m), a nominal gap of 8.56 m,
# within the margin: a conflict, reported with the band in which the two may overlap, W84
# 100-200 m (FL000-FL003 raised by up to 300 m covers it), never a negative overlap; clear with
# a 5 m margin. Then FL066-FL100 against a half-mixed band, FL062 up to W84 1950 m: FL066 sits
# 61.68 m above that W84 top.
def fl_case(vol_a, vol_b, *args):
    rc, out, err = run([{"id": "fl-a", "party": "A", "volumes": [vol_a]},
                        {"id": "fl-b", "party": "B", "volumes": [vol_b]}], *args)
    rows = [l.split(",") for l in out.strip().split("\n")[1:]]
    return rc, {(r[0], r[1]): float(r[2]) for r in rows}, err


w84 = box(46, 7, 46.01, 7.01, 100, 200, T % 10, T % 11)
fl = box(46, 7, 46.01, 7.01, 0, 3, T % 10, T % 11, units="FL", ref="FL")
rc, rows, err = fl_case(w84, fl)
alt = rows.get(("fl-a", "fl-b"))
check(rc == 0 and alt is not None and abs(alt - 100) < 1e-6,
      "W84 100-200 m vs FL000-FL003 (8.56 m gap): conflict, may-overlap band 100 m, not "
      "negative (got %s)" % alt)
rc, rows, err = fl_case(fl, w84)
check(rc == 0 and abs(rows.get(("fl-a", "fl-b"), -1) - 100) < 1e-6, "the same, filed the other "
      "way round")
rc, rows, err = fl_case(w84, fl, "--fl-margin-m", "5")
check(rc == 0 and rows == {}, "the same with a 5 m margin: clear (%s)" % rows)
half = box(46, 7, 46.01, 7.01, 66, 100, T % 10, T % 11, units="FL", ref="FL")
other = box(46, 7, 46.01, 7.01, 62, 1950, T % 10, T % 11)
other["volume"]["altitude_lower"] = {"value": 62, "reference": "FL", "units": "FL"}
rc, rows, err = fl_case(half, other)
alt = rows.get(("fl-a", "fl-b"))
# FL066-FL100 vs FL062/W84 1950 m: the FL ends may lie 300 m lower, FL066 at 1711.68 m.
check(rc == 0 and alt is not None and abs(alt - (1950 - (66 * 30.48 - 300))) < 1e-6,
      "FL066-FL100 vs FL062/W84 1950 m (61.68 m gap): may-overlap band 238.32 m (got %s)" % alt)

# ---- errors: exit 2, operation index and id, volume index, field ----
good = box(46, 7, 46.01, 7.01, 0, 100, T % 10, T % 11)


def bad_case(name, mutate, expect):
    doc = [{"id": "ok-1", "party": "A", "volumes": [good]},
           {"id": "bad-1", "party": "B", "volumes": [json.loads(json.dumps(good)),
                                                     json.loads(json.dumps(good))]}]
    mutate(doc[1])
    rc, out, err = run(doc)
    ok = rc == 2 and out == "" and all(e in err for e in expect)
    check(ok, "%-34s exit %d: %s" % (name, rc, err.strip()))


def setv(path, value):
    def f(op):
        o = op["volumes"][1]
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = value
    return f


V = ["volume"]
bad_case("bow-tie polygon", setv(V + ["outline_polygon", "vertices"],
         [{"lat": 0, "lng": 0}, {"lat": 0.01, "lng": 0.01}, {"lat": 0, "lng": 0.01},
          {"lat": 0.01, "lng": 0}]),
         ["operation 1", "'bad-1'", "volume 1", "volume/outline_polygon", "not simple"])
bad_case("upper <= lower", setv(V + ["altitude_upper", "value"], -5),
         ["operation 1", "volume 1", "volume/altitude_upper/value"])
bad_case("end <= start", setv(["time_end", "value"], T % 9),
         ["volume 1", "time_end/value", "after start"])
bad_case("unknown altitude units", setv(V + ["altitude_lower", "units"], "furlong"),
         ["volume 1", "volume/altitude_lower/units", "furlong"])
bad_case("unknown reference", setv(V + ["altitude_lower", "reference"], "AGL"),
         ["volume/altitude_lower/reference"])
bad_case("too many vertices", setv(V + ["outline_polygon", "vertices"],
         [{"lat": 0.01 * math.sin(i / 1001 * 6.283), "lng": 0.01 * math.cos(i / 1001 * 6.283)}
          for i in range(1001)]),
         ["volume 1", "volume/outline_polygon/vertices", "at most 1000"])
bad_case("latitude out of range", setv(V + ["outline_polygon", "vertices"],
         [{"lat": 95, "lng": 0}, {"lat": 0, "lng": 1}, {"lat": 1, "lng": 1}]),
         ["volume/outline_polygon/vertices/0/lat"])
bad_case("bad time", setv(["time_start", "value"], "yesterday"),
         ["time_start/value", "yesterday"])
bad_case("circle radius units", lambda op: op["volumes"][1]["volume"].update(
    {"outline_polygon": None,
     "outline_circle": {"center": {"lat": 0, "lng": 0}, "radius": {"value": 5, "units": "mi"}}}),
    ["volume/outline_circle/radius/units"])
bad_case("missing party", lambda op: op.pop("party"), ["operation 1", "field party"])
rc, out, err = run("[{\"id\": ")
check(rc == 2 and "not valid JSON" in err, "truncated JSON: exit 2 (%s)" % err.strip())
rc, out, err = run([{"id": "x", "party": "A", "volumes": [good]},
                    {"id": "x", "party": "B", "volumes": [good]}])
check(rc == 2 and "duplicate id" in err, "duplicate ids: exit 2 (%s)" % err.strip())
p = subprocess.run([BIN, "strategic", "/nonexistent/ops.json"], capture_output=True, text=True)
check(p.returncode == 2 and "/nonexistent/ops.json" in p.stderr, "missing file: exit 2")
p = subprocess.run([BIN, "strategic"], capture_output=True, text=True)
check(p.returncode == 2 and "usage" in p.stderr, "no argument: usage, exit 2")

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
