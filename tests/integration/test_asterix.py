#!/usr/bin/env python3
"""ASTERIX against an independent judge, Wireshark's tshark (Debian's), on real recordings.

1. `deconflict asterix dump` matches tshark's decode (the committed FILE.tshark.csv of the data
   folder, made by tools/asterix_tshark_csv.py) of every file there, record for record: category,
   SAC/SIC, time of day, address, track number, position within 1e-5 deg, FL within 0.25, ground
   speed and heading, callsign. CAT048 plots: slant range and azimuth as tshark reads them now.
2. The real Swiss day (139,098 states of 842 aircraft) encoded as CAT021 and as CAT062 decodes in
   tshark to the source positions within each format's resolution, and `deconflict replay` on
   each encoded file gives the same encounters as on the CSV (same pairs, first alerts, levels,
   warnings, losses; the predicted miss distance within what the velocity's resolution moves).
3. `deconflict replay --cat004` writes alerts that tshark decodes as STCA messages naming the
   track numbers the CAT062 source gave those aircraft, with end-of-conflict messages after.
4. Malformed recordings are refused with the item named, and never crash.

usage: test_asterix.py CLI DATA_DIR"""
import csv
import io
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

CLI, DATA = sys.argv[1], sys.argv[2]
AX = os.path.join(DATA, "asterix")
TOOL = os.path.join(DATA, "tools", "asterix_tshark_csv.py")
TRAFFIC = os.path.join(DATA, "traffic", "switzerland_2018-08-01.csv")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def run(*args, ok=True):
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"{args}: exit {p.returncode}: {p.stderr}")
    return p


def dump(path, *extra):
    return list(csv.DictReader(io.StringIO(run("asterix", "dump", path, "--format", "csv-full", *extra).stdout)))


def num(s):
    return float(s) if s not in ("", None) else None


def near(a, b, tol):
    a, b = num(a), num(b)
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def angle_near(a, b, tol):
    a, b = num(a), num(b)
    if a is None or b is None:
        return a is None and b is None
    d = abs(a - b) % 360
    return min(d, 360 - d) <= tol


def compare_rows(name, ours, ref):
    """ours: dump rows; ref: tshark CSV rows (same order)."""
    bad = []
    if len(ours) != len(ref):
        check(f"{name}: {len(ref)} records", False, f"we decode {len(ours)}")
        return
    for i, (o, r) in enumerate(zip(ours, ref)):
        problems = []
        for col in ("cat", "sac", "sic", "target_addr", "track_number", "callsign"):
            if o[col] != r[col]:
                problems.append(f"{col} {o[col]!r} != {r[col]!r}")
        if not near(o["tod_s"], r["tod_s"], 6e-5):
            problems.append(f"tod {o['tod_s']} != {r['tod_s']}")
        if not (near(o["lat"], r["lat"], 1e-5) and near(o["lon"], r["lon"], 1e-5)):
            problems.append(f"position {o['lat']},{o['lon']} != {r['lat']},{r['lon']}")
        # I048/090 is a two's complement level (the specification); tshark 4.0 reads it unsigned,
        # so a level of -1 is its 4095.
        tshark_unsigned = r["cat"] == "48" and near(o["fl"], num(r["fl"]) - 4096 if r["fl"] else None, 0.25)
        if not near(o["fl"], r["fl"], 0.25) and not tshark_unsigned:
            problems.append(f"fl {o['fl']} != {r['fl']}")
        if not (near(o["gs_kt"], r["gs_kt"], 0.011) and angle_near(o["hdg_deg"], r["hdg_deg"], 0.011)):
            problems.append(f"velocity {o['gs_kt']}/{o['hdg_deg']} != {r['gs_kt']}/{r['hdg_deg']}")
        if r["cat"] == "4" and (o["msg_type"] != r["msg_type"] or o["track_number_2"] != r["track_number_2"]):
            problems.append(f"CAT004 type/track 2 {o['msg_type']}/{o['track_number_2']} != "
                            f"{r['msg_type']}/{r['track_number_2']}")
        if problems:
            bad.append(f"record {i + 1}: " + "; ".join(problems))
    check(f"{name}: {len(ref)} records agree with tshark field for field", not bad, "; ".join(bad[:3]))


def tshark_fields(path, *fields):
    """Fields of every packet, every UDP port decoded as ASTERIX (as the tools script does)."""
    ports = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "udp.dstport"],
                           capture_output=True, text=True, check=True).stdout.split()
    decode_as = sum((["-d", f"udp.port=={p},asterix"] for p in sorted(set(ports))), [])
    out = subprocess.run(["tshark", "-r", path, *decode_as, "-T", "fields", "-E", "separator=,", "-E",
                          "occurrence=a", "-E", "aggregator=;", *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    return [line.split(",") for line in out.splitlines()]


def tshark_csv(path, tmp):
    out = os.path.join(tmp, os.path.basename(path) + ".tshark.csv")
    subprocess.run([sys.executable, TOOL, path, "-o", out], check=True, capture_output=True)
    return list(csv.DictReader(open(out)))


def part_reference_decodes():
    refs = sorted(f for f in os.listdir(AX) if f.endswith(".tshark.csv"))
    refs += sorted("jasterix_vectors/" + f for f in os.listdir(os.path.join(AX, "jasterix_vectors"))
                   if f.endswith(".tshark.csv"))
    check("the data folder has its reference decodes", len(refs) >= 8, refs)
    for ref in refs:
        data = os.path.join(AX, ref[: -len(".tshark.csv")])
        compare_rows(ref[: -len(".tshark.csv")], dump(data), list(csv.DictReader(open(os.path.join(AX, ref)))))
    # CAT048: range and azimuth, which the committed CSV leaves out, straight from tshark.
    pcap = os.path.join(AX, "croatiacontrol_cat_034_048.pcap")
    ours = {}
    for r in dump(pcap):
        if r["cat"] == "48" and r["rho_nm"]:
            ours.setdefault(round(float(r["t_s"]), 6), []).append((float(r["rho_nm"]), float(r["theta_deg"])))
    theirs = {}
    for t, rho, theta in tshark_fields(pcap, "frame.time_epoch", "asterix.048_040_RHO", "asterix.048_040_THETA"):
        if rho:
            theirs[round(float(t), 6)] = list(zip(map(float, rho.split(";")), map(float, theta.split(";"))))
    n = sum(len(v) for v in theirs.values())
    same_packets = sorted(ours) == sorted(theirs) and all(len(ours[k]) == len(theirs[k]) for k in theirs)
    worst = max((max(abs(a[0] - b[0]), abs(a[1] - b[1])) for k in theirs if k in ours
                 for a, b in zip(ours[k], theirs[k])), default=1)
    check(f"CAT048: the range and azimuth of {n} plots agree with tshark (worst {worst:.2g})",
          n > 100 and same_packets and worst < 1e-6, f"{len(ours)} vs {len(theirs)} packets")
    # Placed at a radar site, a plot lies at its slant range (a straight line in 3D, on the
    # sphere the decoder places plots on) and on its azimuth (the initial bearing) from it.
    site = (45.5, 16.0, 500.0)
    placed = dump(pcap, "--radar", f"25/13:{site[0]},{site[1]},{site[2]}")
    errs = []
    for r in placed:
        if r["cat"] == "48" and r["sic"] == "13" and r["lat"] and r["fl"]:
            a = xyz(site[0], site[1], site[2])
            b = xyz(float(r["lat"]), float(r["lon"]), float(r["fl"]) * 100)
            rho = math.dist(a, b) / 1852
            brg = bearing(site[0], site[1], float(r["lat"]), float(r["lon"]))
            d = abs(brg - float(r["theta_deg"])) % 360
            errs.append((abs(rho - float(r["rho_nm"])), min(d, 360 - d)))
    worst = (max((e[0] for e in errs), default=1), max((e[1] for e in errs), default=1))
    check(f"CAT048 with --radar: {len(errs)} plots of SIC 13 placed at their slant range and azimuth "
          f"(worst {worst[0]:.1e} NM, {worst[1]:.1e} deg)", len(errs) >= 10 and worst[0] < 1e-6 and worst[1] < 1e-6,
          errs[:3])
    # The 0.26 vector, which tshark cannot decode, against jASTERIX's own test values.
    r = dump(os.path.join(AX, "jasterix_vectors", "cat021ed0.26.bin"), "--cat021-edition", "0.26")
    check("CAT021 0.26: the vector decodes to jASTERIX's values",
          len(r) == 1 and r[0]["sic"] == "5" and r[0]["target_addr"] == "496c2e" and
          near(r[0]["lat"], 38.777323365211487, 1e-7) and near(r[0]["lon"], -9.131237268447876, 1e-7) and
          near(r[0]["tod_s"], 14418.484375, 1e-9), r)


def xyz(lat, lon, alt_ft):
    """A point on (or above) the sphere of radius 6,371,008.8 m, in metres."""
    r = 6371008.8 + alt_ft * 0.3048
    la, lo = math.radians(lat), math.radians(lon)
    return (r * math.cos(la) * math.cos(lo), r * math.cos(la) * math.sin(lo), r * math.sin(la))


def bearing(la1, lo1, la2, lo2):
    la1, lo1, la2, lo2 = map(math.radians, (la1, lo1, la2, lo2))
    y = math.sin(lo2 - lo1) * math.cos(la2)
    x = math.cos(la1) * math.sin(la2) - math.sin(la1) * math.cos(la2) * math.cos(lo2 - lo1)
    return math.degrees(math.atan2(y, x)) % 360


def replay_rows(path, *extra):
    p = run("replay", path, "--format", "csv", *extra)
    return [[c.lower() for c in row] for row in csv.reader(io.StringIO(p.stdout))]


def part_swiss_day(tmp):
    src = list(csv.DictReader(open(TRAFFIC)))
    # Source states by (address, time of day), as the encoder writes them.
    by_key = {}
    for s in src:
        if s["gs_kt"] and s["trk_deg"] and s["alt_ft"]:
            by_key[(s["icao24"], round(float(s["t_unix"]) % 86400, 3))] = s
    reference = replay_rows(TRAFFIC)
    numbers = {}
    for cat, pos_tol, gs_tol, trk_tol in (("21", 180 / 2**30 / 2 + 6e-8, 0.12, 0.01),
                                          ("62", 180 / 2**25 / 2 + 6e-8, 0.4, 0.1)):
        pcap = os.path.join(tmp, f"swiss{cat}.pcap")
        p = run("asterix", "encode", "--cat", cat, TRAFFIC, "--sac", "1", "--sic", cat, "--out", pcap)
        decoded = tshark_csv(pcap, tmp)
        worst = [0.0, 0.0, 0.0, 0.0]
        missing = malformed = 0
        for d in decoded:
            malformed += d["malformed"] != "0"
            s = by_key.get((d["target_addr"], round(float(d["tod_s"]), 3)))
            if s is None:
                missing += 1
                continue
            worst[0] = max(worst[0], abs(float(d["lat"]) - float(s["lat"])), abs(float(d["lon"]) - float(s["lon"])))
            worst[1] = max(worst[1], abs(float(d["fl"]) * 100 - float(s["alt_ft"])))
            worst[2] = max(worst[2], abs(float(d["gs_kt"]) - float(s["gs_kt"])))
            dt = abs(float(d["hdg_deg"]) - float(s["trk_deg"])) % 360
            if float(s["gs_kt"]) > 50:
                worst[3] = max(worst[3], min(dt, 360 - dt))
            if d["callsign"] != s["callsign"].strip()[:8]:
                missing += 1
            if cat == "62":
                numbers[d["target_addr"]] = d["track_number"]
        check(f"Swiss day as CAT{cat:0>3}: tshark decodes all {len(src)} states ({p.stderr.strip()})",
              len(decoded) == len(src) and missing == 0 and malformed == 0,
              f"{len(decoded)} decoded, {missing} unmatched, {malformed} malformed")
        check(f"CAT{cat:0>3}: positions within the format's resolution (worst {worst[0]:.2e} deg, "
              f"limit {pos_tol:.2e}), FL within 12.5 ft (worst {worst[1]:.1f}), ground speed within "
              f"{gs_tol} kt (worst {worst[2]:.3f}), track within {trk_tol} deg (worst {worst[3]:.4f})",
              worst[0] <= pos_tol and worst[1] <= 12.5 + 1e-6 and worst[2] <= gs_tol and worst[3] <= trk_tol,
              worst)
        got = replay_rows(pcap)
        same_cols = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # all but the separations' third decimal
        diffs = [(a, b) for a, b in zip(reference, got) if [a[i] for i in same_cols] != [b[i] for i in same_cols]]
        dcpa = max((abs(float(a[12]) - float(b[12])) for a, b in zip(reference[1:], got[1:])), default=0)
        check(f"replay of the CAT{cat:0>3} file: the same {len(reference) - 1} encounters as the CSV "
              f"(predicted miss distance within {dcpa:.3f} NM)",
              len(got) == len(reference) and not diffs and dcpa < 0.05, diffs[:2])
    return numbers


def part_cat004(tmp, numbers):
    pcap62 = os.path.join(tmp, "swiss62.pcap")
    out = os.path.join(tmp, "alerts.pcap")
    p = run("replay", pcap62, "--format", "csv", "--cat004", out, "--cat004-source", "7/9")
    encounters = list(csv.DictReader(io.StringIO(p.stdout)))
    decoded = tshark_csv(out, tmp)
    stca = [d for d in decoded if d["msg_type"] == "7"]
    alive = [d for d in decoded if d["msg_type"] == "1"]
    ended = [d for d in decoded if d["msg_type"] == "17"]
    check(f"CAT004: tshark decodes {len(decoded)} messages, none malformed, all from 7/9",
          decoded and all(d["malformed"] == "0" and d["sac"] == "7" and d["sic"] == "9" for d in decoded))
    check(f"CAT004: {len(stca)} STCA messages, {len(ended)} end-of-conflict, {len(alive)} alive",
          len(stca) > 0 and len(ended) > 0 and len(alive) > 1000)
    # Each encounter's first alert is an STCA message at that time naming the two aircraft by
    # the track numbers their CAT062 source gave them.
    by_tod = {}
    for d in stca:
        by_tod.setdefault(round(float(d["tod_s"])), []).append(d)
    missing = []
    for e in encounters:
        h, m, s = map(int, e["first_alert_utc"].split(" ")[1].split(":"))
        tn1, tn2 = numbers.get(e["id1"].lower()), numbers.get(e["id2"].lower())
        msgs = by_tod.get(h * 3600 + m * 60 + s, [])
        if not any(d["track_number"] == tn1 and d["track_number_2"] == tn2 and
                   d["callsign"] == e["callsign1"][:7] for d in msgs):
            missing.append((e["first_alert_utc"], e["id1"], tn1, e["id2"], tn2))
    check(f"CAT004: every one of the {len(encounters)} encounters opens with an STCA message naming "
          f"the CAT062 track numbers of its two aircraft", encounters and not missing, missing[:3])


def part_malformed(tmp):
    src = os.path.join(AX, "asterix4py_cat062.ast")
    blob = open(src, "rb").read()
    cut = os.path.join(tmp, "cut.ast")
    open(cut, "wb").write(blob[:400])
    p = run("asterix", "dump", cut, ok=False)
    check("a recording cut short is refused (exit 1) with the reason", p.returncode == 1 and
          "runs past the end" in p.stderr, p.stderr)
    bad = bytearray(blob)
    bad[3] |= 0x40  # FRN 2 of CAT062 is spare
    path = os.path.join(tmp, "spare.ast")
    open(path, "wb").write(bytes(bad))
    p = run("asterix", "dump", path, ok=False)
    check("a record announcing a spare item is refused, the block named, no record printed",
          p.returncode == 1 and "spare" in p.stderr and p.stdout.count("\n") == 1, p.stderr + p.stdout)
    p = run("asterix", "dump", src, "--radar", "1/2:91,0", ok=False)
    check("--radar out of range is refused naming the flag", p.returncode == 2 and "--radar" in p.stderr)
    p = run("asterix", "encode", "--cat", "48", TRAFFIC, "--sac", "1", "--sic", "1", "--out",
            os.path.join(tmp, "x.ast"), ok=False)
    check("encode refuses a category it does not write", p.returncode == 2 and "--cat" in p.stderr)


def main():
    if not shutil.which("tshark"):
        print("FAIL tshark is not installed (scripts/install-deps.sh installs it)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        part_reference_decodes()
        numbers = part_swiss_day(tmp)
        part_cat004(tmp, numbers)
        part_malformed(tmp)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
