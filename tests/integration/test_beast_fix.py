#!/usr/bin/env python3
"""Single-bit CRC repair of Beast input (docs/feeds.md, "Error correction"), judged by an
independent decoder: Debian's dump1090-mutability 1.15 and its --fix.

The ulss7 capture has its intact DF17/18 frames given, with probability 10%, one flipped bit
outside the DF field (seeded; the seed is printed): those of an address whose position was heard
in an intact frame less than 50 s before, the frames our guard lets a repair take (what it
refuses, and costs, unit_feeds_beast measures). Then:
- `deconflict replay` of the damaged capture repairs every damaged frame and gives the same
  positions as on the intact capture: the same count, and the same states (aircraft, position,
  altitude, in order);
- dump1090 --fix, fed both captures through its Beast input (the data set's
  tools/dump1090_replay.py, 20x), repairs every damaged frame and gives the same positions on the
  damaged capture as on the intact one, line for line.
Our positions on the intact capture are dump1090's (unit_feeds_beast, integration_replay_beast),
so the two decoders agree on the damaged capture too. About 15 s, most of it dump1090's.

usage: test_beast_fix.py CLI DATA_DIR"""
import csv
import os
import random
import re
import socket
import subprocess
import sys
import tempfile

CLI, DATA = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(DATA, "tools"))
import beast  # noqa: E402  (the data set's Beast frame reader)

CAPTURE = os.path.join(DATA, "captures", "ulss7_2018-04-03.beast")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def crc24(msg):
    """The Mode S CRC remainder of a whole message (generator 0x1FFF409): 0 when intact."""
    n = int.from_bytes(msg, "big")
    for i in range(len(msg) * 8 - 1, 23, -1):
        if (n >> i) & 1:
            n ^= 0x1FFF409 << (i - 24)
    return n & 0xFFFFFF


def damage(src, dst, seed, share):
    """Writes src with one random bit (5..111) flipped in `share` of its intact DF17/18 frames
    from an address whose position was heard in an intact frame less than 50 s (by the 12 MHz
    counter) before; returns (intact DF17/18 frames, damaged)."""
    rng = random.Random(seed)
    out, es, damaged, heard = bytearray(), 0, 0, {}
    for typ, ts, sig, payload, _ in beast.frames(open(src, "rb").read()):
        p = bytearray(payload)
        if typ == 0x33 and (p[0] >> 3) in (17, 18) and crc24(bytes(p)) == 0:
            es += 1
            icao, tc = bytes(p[1:4]), p[4] >> 3
            if rng.random() < share and icao in heard and ts - heard[icao] < 50 * 12_000_000:
                bit = rng.randrange(5, 112)
                p[bit // 8] ^= 0x80 >> (bit % 8)
                damaged += 1
            elif 5 <= tc <= 18 or 20 <= tc <= 22:
                heard[icao] = ts
        body = ts.to_bytes(6, "big") + bytes([sig]) + bytes(p)
        out += b"\x1a" + bytes([typ]) + body.replace(b"\x1a", b"\x1a\x1a")
    open(dst, "wb").write(out)
    return es, damaged


def ours(capture, tmp, tag):
    """`deconflict replay`: (frames refused, repaired, positions, [(icao, lat, lon, alt)])."""
    out = os.path.join(tmp, tag + ".csv")
    p = subprocess.run([CLI, "replay", capture, "--t0", "1522782148", "--states-out", out],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    m = re.search(r"(\d+) refused, (\d+) repaired .*?(\d+) positions", p.stderr)
    if not m:
        raise AssertionError("no counts in: " + p.stderr)
    states = [(r["icao24"], r["lat"], r["lon"], r["alt_ft"]) for r in csv.DictReader(open(out))]
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), states


def free_base():
    """A port p with p+1..p+5 free on loopback (dump1090_replay.py's five)."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        try:
            socks = []
            for k in range(1, 6):
                s = socket.socket()
                s.bind(("127.0.0.1", base + k))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no five free ports")


def dump1090_fix(capture, tmp, tag):
    """dump1090 --fix fed the capture: ([(icao, lat, lon, alt)] of its SBS output, its counts of
    messages accepted with a 1-bit error repaired and of those refused as from an unknown
    address)."""
    wrapper = os.path.join(tmp, "dump1090-fix")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec dump1090-mutability --fix "$@"\n')
    os.chmod(wrapper, 0o755)
    sbs = os.path.join(tmp, tag + ".sbs")
    p = subprocess.run([sys.executable, os.path.join(DATA, "tools", "dump1090_replay.py"),
                        "--dump1090", wrapper, "--beast", capture, "--speed", "20", "--settle", "2",
                        "--base-port", str(free_base()), "--out-sbs", sbs,
                        "--out-json-dir", os.path.join(tmp, tag + ".json")],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"(\d+) accepted with 1-bit error repaired", p.stderr)
    u = re.search(r"(\d+) with unrecognized ICAO address", p.stderr)
    if p.returncode != 0 or not m or not u:
        raise AssertionError("dump1090_replay.py: " + p.stderr[-2000:])
    pos = []
    for line in open(sbs):
        f = line.rstrip("\r\n").split(",")
        if len(f) >= 16 and f[0] == "MSG" and f[1] in ("2", "3") and f[14] and f[15]:
            pos.append((f[4].lower(), f[14], f[15], f[11]))
    return pos, int(m.group(1)), int(u.group(1))


def main():
    seed = int(os.environ.get("DC_TEST_SEED", "1090"))
    print(f"seed: DC_TEST_SEED={seed}")
    with tempfile.TemporaryDirectory() as tmp:
        damaged_path = os.path.join(tmp, "damaged.beast")
        es, damaged = damage(CAPTURE, damaged_path, seed, 0.10)
        check(f"the capture has {es} intact DF17/18 frames, {damaged} of them damaged",
              es == 3436 and 250 < damaged < 450, (es, damaged))

        refused0, repaired0, positions0, states0 = ours(CAPTURE, tmp, "intact")
        refused, repaired, positions, states = ours(damaged_path, tmp, "damaged")
        check(f"deconflict replay repairs the {damaged} damaged frames ({repaired}, {refused} "
              f"refused), none of the intact capture", repaired == damaged and refused == 0
              and refused0 == repaired0 == 0, (repaired, refused, refused0, repaired0))
        check(f"deconflict replay: {positions} positions, as on the intact capture "
              f"({positions0}); the same {len(states)} states in the same order",
              positions == positions0 == 1456 and states == states0,
              (positions, positions0, len(states), len(states0)))

        theirs0, fixed0, unknown0 = dump1090_fix(CAPTURE, tmp, "intact")
        theirs, fixed, unknown = dump1090_fix(damaged_path, tmp, "damaged")
        # Its guard refuses a repair only when the repaired bit is in the address and the address
        # is unknown (its count also has the address/parity replies of unknown aircraft).
        check(f"dump1090 --fix repairs them too ({fixed}; {unknown - unknown0} refused as from an "
              f"unknown address), none of the intact capture", fixed == damaged
              and unknown == unknown0 and fixed0 == 0, (fixed, unknown, unknown0, fixed0))
        check(f"dump1090 --fix: the same {len(theirs)} positions on the damaged capture as on "
              f"the intact one, line for line", theirs == theirs0 and len(theirs) > 1300,
              (len(theirs), len(theirs0)))
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
