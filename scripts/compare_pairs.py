#!/usr/bin/env python3
"""One row of scripts/bench-bluesky.sh: deconflict's and BlueSky's timings of one scenario and
whether their conflict pairs agree. The pairs only one of the two finds are listed with how far
they are from the definition's edges (the two compute the geometry differently: deconflict on
the WGS84 ellipsoid, BlueSky on a flat-earth approximation with a 6,371 km sphere), so that a
disagreement can be told from a boundary case.

Every pair found by one only is classified by the edge it lies on: level at exactly H apart
(BlueSky's vertical test divides by a zero rate: two aircraft level 1,000 ft apart are in
conflict for it or not as its rounding of 1,000 ft to metres falls); a closest approach within
1% of R plus 0.5% of the pair's distance now (BlueSky's sphere of 6,371 km against the WGS84
ellipsoid's radii of curvature, 6,375-6,391 km here: a scale difference of up to 0.5% in where
the two are, which moves their closest approach by as much); an entry within 10 s of T (a slow
closure turns small differences in where the two are and where they head into seconds:
BlueSky's flat earth also ignores the convergence of meridians, 0.2 degree of heading between
two aircraft 17 km apart east-west at 51 N); a conflict window under 4 s long (the horizontal
entry where the vertical exit is). Any other is a disagreement and is listed.

usage: compare_pairs.py STATES.csv OURS.csv BLUESKY.csv BLUESKY.log --ours 'pass_ms_median=...'
                        --n N --rpz-nm R --hpz-ft H --lookahead-s T"""
import argparse
import math
import re
import statistics


def pairs(path, header):
    out = {}
    with open(path) as f:
        for k, line in enumerate(f):
            if header and k == 0:
                continue
            p = line.rstrip("\n").split(",")
            tout = float(p[5]) if len(p) > 5 and p[5] else float("nan")
            out[(p[0], p[1])] = (float(p[3]), float(p[4]), tout)  # dcpa_nm, tin_s, tout_s
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("states")
    a.add_argument("ours_csv")
    a.add_argument("bs_csv")
    a.add_argument("bs_log")
    a.add_argument("--ours", required=True)
    a.add_argument("--n", type=int, required=True)
    a.add_argument("--rpz-nm", type=float, required=True)
    a.add_argument("--hpz-ft", type=float, required=True)
    a.add_argument("--lookahead-s", type=float, required=True)
    o = a.parse_args()
    ours = dict(kv.split("=") for kv in o.ours.split())
    with open(o.bs_log) as f:
        times = re.search(r"detect_pass_s=([0-9.,]+)", f.read()).group(1)
    bs_ms = 1000 * statistics.median(float(x) for x in times.split(","))
    states = {}
    with open(o.states) as f:
        next(f)
        for line in f:
            p = line.split(",")
            states[p[0]] = (float(p[3]), float(p[6]), float(p[1]), float(p[2]))
    us, bs = pairs(o.ours_csv, True), pairs(o.bs_csv, False)
    only_us = sorted(set(us) - set(bs))
    only_bs = sorted(set(bs) - set(us))

    def dist_nm(a, b):
        la1, lo1, la2, lo2 = (math.radians(x) for x in (a[2], a[3], b[2], b[3]))
        h = math.sin((la2 - la1) / 2) ** 2 + \
            math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(h)) / 1.852

    def edge(p, src):
        sa, sb = states[p[0]], states[p[1]]
        dcpa, tin, tout = src[p]
        if sa[1] == sb[1] and abs(abs(sa[0] - sb[0]) - o.hpz_ft) < 1e-6:
            return "level, exactly H apart"
        if abs(dcpa - o.rpz_nm) < 0.01 * o.rpz_nm + 0.005 * dist_nm(sa, sb):
            return "closest approach within 1% of R + 0.5% of the distance now"
        if abs(tin - o.lookahead_s) < 10:
            return "entry within 10 s of T"
        if tout - max(tin, 0) < 4:
            return "conflict window under 4 s"
        return None

    ms = float(ours["pass_ms_median"])
    print("%8d %12.2f %14.1f %9.0fx %12s %10s %8d %8d %8d" % (
        o.n, ms, bs_ms, bs_ms / ms, ours["candidate_pairs"], ours["conflicts"],
        len(set(us) & set(bs)), len(only_us), len(only_bs)))
    for name, only, src in (("only deconflict", only_us, us), ("only BlueSky", only_bs, bs)):
        kinds = {}
        for p in only:
            e = edge(p, src)
            kinds[e] = kinds.get(e, 0) + 1
            if e is None:
                dcpa, tin, tout = src[p]
                print("    %s, not at an edge: %s,%s dcpa %.4f NM, tin %.1f s, tout %.1f s, "
                      "%.1f NM apart, alt/vs %s / %s" % (
                          name, p[0], p[1], dcpa, tin, tout, dist_nm(states[p[0]], states[p[1]]),
                          states[p[0]][:2], states[p[1]][:2]))
        for e, k in sorted(kinds.items(), key=lambda x: str(x[0])):
            if e is not None:
                print("    %s: %d pairs %s" % (name, k, e))


if __name__ == "__main__":
    main()
