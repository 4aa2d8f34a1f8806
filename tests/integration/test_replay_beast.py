#!/usr/bin/env python3
"""`deconflict replay` on the recorded Beast captures (../shared/data/captures/*.beast) against
Debian's dump1090-mutability fed the same capture, aircraft by aircraft.

The reference is dump1090's SBS-1 output for the capture: the data set's own for ulss7
(../shared/data/dump1090/), and for a capture it has none of, dump1090 run here on loopback by
the data set's tools/dump1090_replay.py, in real time (faster, dump1090's own speed check
refuses positions whose gaps the replay squeezes). `deconflict replay --states-out` writes every state the capture gave us. Then:
- every aircraft we make states of is one dump1090 located, and every aircraft dump1090 lists
  with a position, an altitude and a speed, we make states of;
- every position of ours is one of dump1090's for that aircraft (within 1e-5 deg: it prints
  five decimals), at dump1090's altitude on that line;
- each aircraft's last position is dump1090's last one, and its callsign is dump1090's.

usage: test_replay_beast.py CLI DATA_DIR"""
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

CLI, DATA = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


RECORDED = {"ulss7_2018-04-03.beast": ("ulss7_sbs_output.txt", "ulss7_aircraft.json")}


def dump1090(capture, tmp):
    """dump1090's positions {icao: [(lat, lon, alt)]}, callsigns and aircraft list."""
    name = os.path.basename(capture)
    if name in RECORDED:
        sbs, listing = (os.path.join(DATA, "dump1090", f) for f in RECORDED[name])
    else:
        sbs, jdir = os.path.join(tmp, "out.sbs"), os.path.join(tmp, "json")
        subprocess.run([sys.executable, os.path.join(DATA, "tools", "dump1090_replay.py"), "--beast",
                        capture, "--speed", "1", "--out-sbs", sbs, "--out-json-dir", jdir],
                       check=True, capture_output=True, timeout=120)
        listing = os.path.join(jdir, "aircraft.json")
    pos, calls = defaultdict(list), {}
    for line in open(sbs):
        f = line.rstrip("\r\n").split(",")
        if len(f) < 22 or f[0] != "MSG":
            continue
        icao = f[4].lower()
        if f[1] in ("2", "3") and f[14] and f[15]:
            pos[icao].append((float(f[14]), float(f[15]), float(f[11]) if f[11] else None))
        if f[1] == "1" and f[10].strip():
            calls[icao] = f[10].strip()
    aircraft = json.load(open(listing))["aircraft"]
    return pos, calls, aircraft


def ours(capture, tmp):
    out = os.path.join(tmp, "states.csv")
    p = subprocess.run([CLI, "replay", capture, "--t0", "1500000000", "--states-out", out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    states = defaultdict(list)
    for r in csv.DictReader(open(out)):
        states[r["icao24"]].append(r)
    return states


def main():
    captures = sorted(glob.glob(os.path.join(DATA, "captures", "*.beast")))
    check("the data set has Beast captures", len(captures) >= 2, captures)
    for cap in captures:
        name = os.path.basename(cap)
        with tempfile.TemporaryDirectory() as tmp:
            pos, calls, aircraft = dump1090(cap, tmp)
            st = ours(cap, tmp)
        located = {k for k, v in pos.items() if v}
        full = {a["hex"] for a in aircraft if "lat" in a and "altitude" in a and "speed" in a}
        check(f"{name}: the {len(st)} aircraft we make states of are among the {len(located)} "
              f"dump1090 located, and include the {len(full)} it lists with position, altitude "
              f"and speed", set(st) <= located and full <= set(st), (sorted(set(st) - located), sorted(full - set(st))))
        worst, unmatched, alt_diff, n = 0.0, [], [], 0
        for icao, rows in st.items():
            theirs = pos.get(icao, [])
            for r in rows:
                n += 1
                lat, lon = float(r["lat"]), float(r["lon"])
                # The lines at that position (a frame is often heard twice, and a position can
                # repeat with the altitude moving on).
                at = [p for p in theirs if abs(p[0] - lat) <= 1e-5 and abs(p[1] - lon) <= 1e-5]
                if not at:
                    unmatched.append((icao, lat, lon))
                    continue
                worst = max(worst, min(max(abs(p[0] - lat), abs(p[1] - lon)) for p in at))
                alts = {p[2] for p in at if p[2] is not None}
                if alts and not any(abs(a - float(r["alt_ft"])) <= 0.5 for a in alts):
                    alt_diff.append((icao, sorted(alts), r["alt_ft"]))
        check(f"{name}: each of our {n} states is at one of dump1090's positions for that aircraft "
              f"(worst {worst:.1e} deg), at its altitude", n > 0 and not unmatched and not alt_diff,
              (unmatched[:3], alt_diff[:3]))
        last_off = [(k, rows[-1]["lat"], rows[-1]["lon"], pos[k][-1]) for k, rows in st.items()
                    if abs(float(rows[-1]["lat"]) - pos[k][-1][0]) > 1e-5 or abs(float(rows[-1]["lon"]) - pos[k][-1][1]) > 1e-5]
        check(f"{name}: each aircraft's last position is dump1090's last", not last_off, last_off[:3])
        wrong_cs = [(k, rows[-1]["callsign"], calls.get(k)) for k, rows in st.items()
                    if (rows[-1]["callsign"] or None) != calls.get(k)]
        check(f"{name}: callsigns are dump1090's ({sum(1 for k in st if calls.get(k))} with one)", not wrong_cs, wrong_cs[:3])
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
