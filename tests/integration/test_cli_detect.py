#!/usr/bin/env python3
"""The `deconflict detect` contract: CSV in, sorted CSV of conflicting pairs out, and bad input
rejected with the line and field named and a non-zero exit. Standard library only."""
import math
import os
import subprocess
import sys
import tempfile

CLI = sys.argv[1]
HEADER = "id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n"
EQ_M_PER_DEG = 6378137.0 * math.pi / 180.0
failures = []


def east(nm):
    return nm * 1852.0 / EQ_M_PER_DEG


def run(body, *flags):
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write(body)
        path = f.name
    try:
        p = subprocess.run([CLI, "detect", path, *flags], capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr.replace(path, "FILE")
    finally:
        os.unlink(path)


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


# Head-on on the equator (closing 960 kt from 20 NM), a pair 3 NM apart in formation, and a
# far-away aircraft. Ids are given out of order to check sorting and id1 < id2.
scene = HEADER + "".join([
    f"zulu,0,0,35000,480,90,0\n",
    f"alpha,0,{east(20):.9f},35000,480,270,0\n",
    f"Mike,10,10,30000,400,0,0\n",
    f"bravo,10,{10 + east(3) / math.cos(math.radians(10)):.9f},30000,400,0,0\n",
    f"far,-40,100,35000,480,90,0\n",
])
rc, out, err = run(scene)
lines = out.strip().split("\n")
check("exit 0 on good input", rc == 0, err)
check("header", lines[0] == "id1,id2,tcpa_s,dcpa_nm,tin_s,tout_s", lines[0])
rows = [l.split(",") for l in lines[1:]]
check("two conflicts", len(rows) == 2, out)
check("sorted by (id1, id2), id1 < id2 in byte order",
      [(r[0], r[1]) for r in rows] == [("Mike", "bravo"), ("alpha", "zulu")], out)
if len(rows) == 2:
    hd = [float(x) for x in rows[1][2:]]
    check("head-on tcpa 75 s, dcpa 0, tin 56.25, tout 93.75",
          abs(hd[0] - 75) < 0.1 and hd[1] < 0.002 and abs(hd[2] - 56.25) < 0.1
          and abs(hd[3] - 93.75) < 0.1, rows[1])
    fm = [float(x) for x in rows[0][2:]]
    check("formation 3 NM: lost now for the whole look-ahead",
          abs(fm[1] - 3) < 0.01 and fm[2] == 0 and abs(fm[3] - 120) < 1e-6, rows[0])

rc, out, err = run(scene, "--lookahead-s", "50")
check("--lookahead-s 50 drops the head-on (loss at 56 s)", rc == 0 and "zulu" not in out, out)
rc, out, err = run(scene, "--rpz-nm", "2.5")
check("--rpz-nm 2.5 drops the 3 NM formation", rc == 0 and "bravo" not in out, out)
rc, out, err = run(scene, "--hpz-ft", "abc")
check("bad flag value: usage error", rc == 2 and "--hpz-ft" in err, err)
rc, out, err = run(scene, "--rpz-nm", "-1")
check("out-of-range setting: named", rc == 2 and "rpz_nm" in err, err)
rc, out, err = run(HEADER)
check("no rows: header only", rc == 0 and out == "id1,id2,tcpa_s,dcpa_nm,tin_s,tout_s\n", out)

# Vertical cut-offs (include/deconflict/tactical.h: exactly the minimum is not a loss; the
# comparison is |dz| < H - vtol_ft, 999 ft by default). Each pair flies north in formation 2 NM
# apart on the equator (horizontally lost throughout), pairs 10 degrees apart from each other.
# The altitudes are exact as float and 960 ft/min is exactly 16 ft/s, so every "on the cut-off"
# case is exactly on it: vertical loss ending at t = 0 or beginning at T = 120 s.
def cutoff_scene(pairs):
    rows = []
    for i, (name, alt_b, vs_b, _) in enumerate(pairs):
        lon = -170 + 10 * i
        rows.append(f"{name}-a,0,{lon},35000,450,0,0\n")
        rows.append(f"{name}-b,0,{lon + east(2):.9f},{alt_b},450,0,{vs_b}\n")
    return HEADER + "".join(rows)


for flags, pairs in [
    ((), [("lvl999", 35999, 0, False), ("lvl998.75", 35998.75, 0, True),
          ("away999", 35999, 960, False), ("toward999", 35999, -960, True),
          ("away998.75", 35998.75, 960, True),
          ("below2919", 35000 - 2919, 960, False), ("below2918.75", 35000 - 2918.75, 960, True)]),
    (("--vtol-ft", "0"), [("lvl1000", 36000, 0, False), ("lvl999.75", 35999.75, 0, True),
                          ("away1000", 36000, 960, False), ("below2920", 35000 - 2920, 960, False),
                          ("below2919.75", 35000 - 2919.75, 960, True)]),
]:
    rc, out, err = run(cutoff_scene(pairs), *flags)
    got = {l.split(",")[0][:-2] for l in out.strip().split("\n")[1:] if l}
    for name, alt_b, vs_b, want in pairs:
        check(f"cut-off {' '.join(flags) or 'default'}: {name} ({alt_b} ft, {vs_b} ft/min) "
              f"{'in conflict' if want else 'separated'}",
              rc == 0 and (name in got) == want, out + err)

bad_cases = [
    ("latitude out of range", HEADER + "a,0,0,35000,480,90,0\nb,91,0,35000,480,90,0\n",
     "FILE:3: field 'lat': '91' out of range"),
    ("not a number", HEADER + "a,0,0,35000,fast,90,0\n", "FILE:2: field 'gs_kt': 'fast' is not a number"),
    ("missing field", HEADER + "a,0,0,35000,480,90\n", "FILE:2: 6 fields, want 7"),
    ("empty field", HEADER + "a,0,0,,480,90,0\n", "FILE:2: field 'alt_ft' is empty"),
    ("duplicate id", HEADER + "a,0,0,35000,480,90,0\nb,0,1,35000,480,90,0\na,0,2,1000,1,1,0\n",
     "FILE:4: field 'id': 'a' repeats line 2"),
    ("wrong header", "id,lat,lon\n", "FILE:1: header must be"),
    ("NaN", HEADER + "a,nan,0,35000,480,90,0\n", "FILE:2: field 'lat': 'nan' is not a number"),
]
for name, body, want in bad_cases:
    rc, out, err = run(body)
    check(f"bad input ({name}): exit 1 and '{want}'", rc == 1 and want in err and out == "",
          f"rc={rc} err={err!r} out={out!r}")

p = subprocess.run([CLI, "detect", "/nonexistent/x.csv"], capture_output=True, text=True)
check("missing file: exit 1, named", p.returncode == 1 and "cannot open" in p.stderr, p.stderr)
p = subprocess.run([CLI, "frobnicate"], capture_output=True, text=True)
check("unknown command: exit 2", p.returncode == 2, p.stderr)

print(f"{len(failures) == 0 and 'all' or len(failures)} {'passed' if not failures else 'failed'}")
sys.exit(1 if failures else 0)
