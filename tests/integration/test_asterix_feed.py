#!/usr/bin/env python3
"""deconflictd with ASTERIX in and out, over real UDP on loopback.

Two parties feed their aircraft as ASTERIX: alpha a CAT062 system track (track 4711) by
unicast, bravo a CAT021 ADS-B report (track 99) to a multicast group. The records are written
here, byte by byte from the specifications, not by the library under test. The two aircraft
converge head on at the same level. Listeners take the CAT004 output: alpha's own, every
party's, and charlie's (a bystander). The datagrams each receives are written to a pcap and
decoded by tshark, the independent judge:
- alpha's listener gets STCA messages (type 7) from the configured SAC/SIC naming track 4711 --
  the number its own source gave the aircraft -- and, for the other aircraft, a number of the
  service's own: never bravo's 99, nor its address or callsign;
- the listener of every party gets both sides' STCA messages (4711 and 99);
- charlie's gets alive messages only;
- every listener gets alive messages (type 1) about every second.
Also: alpha's track is held at the position sent; the feeds' datagrams are counted in
/metrics; a malformed datagram is counted and skipped while the feed goes on; a feed whose
address is not IPv4 is refused at start naming the flag.

usage: test_asterix_feed.py BIN_DIR OPENAPI_YAML DATA_DIR"""
import csv
import math
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

DATA = sys.argv[3]
sys.argv = sys.argv[:3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check, Daemon = td.check, td.Daemon
TOOL = os.path.join(DATA, "tools", "asterix_tshark_csv.py")
GROUP = "239.255.77.19"


def udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Listener:
    """Collects the datagrams sent to a UDP port, with their arrival times."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65536)
                self.got.append((time.time(), data))
            except socket.timeout:
                pass

    def pcap(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, data in self.got:
                udp = struct.pack(">HHHH", 8600, 8600, 8 + len(data), 0) + data
                ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                                 socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
                frame = b"\0" * 12 + b"\x08\x00" + ip + udp
                f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame)

    def decoded(self, tmp, name):
        path = os.path.join(tmp, name + ".pcap")
        self.pcap(path)
        out = path + ".csv"
        subprocess.run([sys.executable, TOOL, path, "-o", out], check=True, capture_output=True)
        return list(csv.DictReader(open(out)))


def fspec(frns):
    n = (max(frns) + 6) // 7
    b = [0] * n
    for f in frns:
        b[(f - 1) // 7] |= 0x80 >> ((f - 1) % 7)
    for i in range(n - 1):
        b[i] |= 1
    return bytes(b)


def block(cat, items):
    """One record of the items {FRN: bytes}, as a data block."""
    body = fspec(sorted(items)) + b"".join(items[k] for k in sorted(items))
    return bytes([cat]) + struct.pack(">H", 3 + len(body)) + body


def six_bit(callsign):
    v = 0
    for c in callsign.ljust(8)[:8]:
        v = v << 6 | (ord(c) - 64 if "A" <= c <= "Z" else 32 if c == " " else ord(c))
    return v.to_bytes(6, "big")


def cat062(tod, lat, lon, fl, vx_mps, vy_mps, addr, tn, callsign):
    """CAT062 1.19: 010 070 105 185 245 380(ADR) 040 080 136."""
    return block(62, {
        1: bytes([9, 1]),
        4: round(tod * 128).to_bytes(3, "big"),
        5: struct.pack(">ii", round(lat / (180 / 2**25)), round(lon / (180 / 2**25))),
        7: struct.pack(">hh", round(vx_mps / 0.25), round(vy_mps / 0.25)),
        10: b"\x00" + six_bit(callsign),
        11: b"\x80" + addr.to_bytes(3, "big"),
        12: struct.pack(">H", tn),
        13: b"\x00",
        17: struct.pack(">h", round(fl * 4)),
    })


def cat021(tod, lat, lon, fl, gs_kt, trk_deg, addr, tn, callsign):
    """CAT021 2.x: 010 040 161 071 131 080 073 145 160 170."""
    return block(21, {
        1: bytes([9, 2]),
        2: b"\x00",
        3: struct.pack(">H", tn),
        5: round(tod * 128).to_bytes(3, "big"),
        7: struct.pack(">ii", round(lat / (180 / 2**30)), round(lon / (180 / 2**30))),
        11: addr.to_bytes(3, "big"),
        12: round(tod * 128).to_bytes(3, "big"),
        21: struct.pack(">h", round(fl * 4)),
        26: struct.pack(">HH", round(gs_kt / 3600 * 2**14), round(trk_deg / 360 * 65536) % 65536),
        29: six_bit(callsign),
    })


def main():
    tmp = tempfile.mkdtemp(prefix="dc-asterix-feed-")
    tokens = {p: td.add_party(tmp, p) for p in ("alpha", "bravo", "charlie")}
    pa, pb = udp_port(), udp_port()
    la, lall, lc = Listener(), Listener(), Listener()

    bad = subprocess.run([td.DAEMON, *td.store_args(tmp), "--listen", "127.0.0.1:0", "--feed",
                          "asterix:udp:host.example:5000:alpha"], capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "feed" in bad.stderr and "IPv4" in bad.stderr,
          f"a feed whose address is not IPv4 is refused at start naming the flag ({bad.stderr.strip()[:90]})")

    for value, why in ((f"udp:127.0.0.1:{la.port}", "no party: every party's alerts only with '*'"),
                       (f"udp:127.0.0.1:{la.port}junk:alpha", "a port with junk after it")):
        bad = subprocess.run([td.DAEMON, *td.store_args(tmp), "--listen", "127.0.0.1:0",
                              "--alerts-asterix", value], capture_output=True, text=True, timeout=10)
        check(bad.returncode != 0 and "alerts_asterix" in bad.stderr, f"--alerts-asterix {value} is refused ({why})")
    bad = subprocess.run([td.DAEMON, *td.store_args(tmp), "--listen", "127.0.0.1:0", "--feed",
                          f"asterix:udp:127.0.0.1@127.0.0.1:{pa}:alpha"], capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0, "an interface ('@') is refused on a unicast feed address")
    d = Daemon(tmp, ["--feed", f"asterix:udp:127.0.0.1:{pa}:alpha",
                     "--feed", f"asterix:udp:{GROUP}@127.0.0.1:{pb}:bravo",
                     "--alerts-asterix", f"udp:127.0.0.1:{la.port}:alpha",
                     "--alerts-asterix", f"udp:127.0.0.1:{lall.port}:*",
                     "--alerts-asterix", f"udp:127.0.0.1:{lc.port}:charlie",
                     "--cat004-source", "12/34", "--hysteresis-s", "2"])
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    time.sleep(0.5)  # the feeds bind and join
    tx.sendto(bytes([62, 0, 2, 0x80]), ("127.0.0.1", pa))  # LEN under 3: malformed

    # Head on at FL350: alpha eastbound, bravo westbound 16 NM east of it, 450 kt each.
    lat0, lon0, v_mps = 47.0, 7.0, 450 * 1852 / 3600
    nm_deg = 1 / (60 * math.cos(math.radians(lat0)))
    t0 = time.time()
    sent, fl_b, alerted, ended = None, 350, None, None
    while time.time() - t0 < 45:
        now = time.time()
        dt = now - t0
        tod = now % 86400
        lon_a = lon0 + dt * 450 / 3600 * nm_deg
        lon_b = lon0 + 16 * nm_deg - dt * 450 / 3600 * nm_deg
        tx.sendto(cat062(tod, lat0, lon_a, 350, v_mps, 0, 0x3C6635, 4711, "DLH99P"), ("127.0.0.1", pa))
        tx.sendto(cat021(tod, lat0, lon_b, fl_b, 450, 270, 0x4CA225, 99, "RYR986A"), (GROUP, pb))
        sent = (lat0, lon_a)
        types = {r["msg_type"] for r in la.decoded(tmp, "probe")} if dt > 4 else set()
        if "7" in types and alerted is None:
            alerted = dt
        if alerted is not None and dt - alerted > 4 and fl_b == 350:
            fl_b = 390  # bravo is now 4,000 ft above: the conflict ends
        if "17" in types:  # end of conflict (I004/000 17)
            ended = dt
            break
        time.sleep(1)
    check(alerted is not None and alerted < 15, f"alpha's listener got an STCA message {alerted and round(alerted)} s "
          "after the aircraft were first sent")
    check(ended is not None, f"... and an end-of-conflict message once bravo was 4,000 ft above "
          f"({ended and round(ended - alerted)} s after the alert)")
    status, tracks, _ = d.request("GET", "/v1/tracks", tokens["alpha"])
    own = {t["track_id"]: t for t in tracks.get("tracks", [])} if status == 200 else {}
    a = own.get("3C6635")
    check(a is not None and abs(a["lat"] - sent[0]) < 1e-5 and abs(a["lon"] - sent[1]) < 2e-4
          and abs(a["alt_ft"] - 35000) < 1, f"alpha holds its CAT062 aircraft 3C6635 where it was sent ({a})")
    metrics = d.request("GET", "/metrics")[1]
    sent = re.search(rf'^deconflict_alerts_asterix_messages_total{{target="127.0.0.1:{la.port}"}} (\d+)$', metrics, re.M)
    check(sent and int(sent.group(1)) >= 10, f"/metrics counts the CAT004 messages sent to alpha's listener "
          f"({sent and sent.group(1)})")

    def metric(name, port):
        m = re.search(rf'^{name}{{feed="[^"]*:{port}"}} (\d+)$', metrics, re.M)
        return int(m.group(1)) if m else None

    check(metric("deconflict_feed_lines_total", pa) >= 8 and metric("deconflict_feed_bad_lines_total", pa) == 1
          and metric("deconflict_feed_states_total", pa) >= 5,
          f"alpha's feed: {metric('deconflict_feed_lines_total', pa)} datagrams, 1 malformed skipped, "
          f"{metric('deconflict_feed_states_total', pa)} states")
    check(metric("deconflict_feed_states_total", pb) >= 5 and metric("deconflict_feed_connected", pb) == 1,
          f"bravo's multicast feed ({GROUP}@127.0.0.1): {metric('deconflict_feed_states_total', pb)} states")
    # `deconflict feed` plays an ASTERIX recording into the daemon as it plays a CSV: the first
    # minute of the Swiss day, encoded as CAT062 here, to charlie.
    excerpt, pcap = os.path.join(tmp, "swiss-1min.csv"), os.path.join(tmp, "swiss-1min.pcap")
    with open(os.path.join(DATA, "traffic", "switzerland_2018-08-01.csv")) as f, open(excerpt, "w") as out:
        rows = csv.reader(f)
        head = next(rows)
        out.write(",".join(head) + "\n")
        first, want = None, {}
        for r in rows:
            first = first or float(r[0])
            if float(r[0]) > first + 60:
                break
            out.write(",".join(r) + "\n")
            if r[2]:
                want[r[1].upper()] = r[2].strip()
    subprocess.run([td.CLI, "asterix", "encode", "--cat", "62", excerpt, "--sac", "1", "--sic", "2",
                    "--out", pcap], check=True, capture_output=True)
    fed = subprocess.run([td.CLI, "feed", pcap, "--to", f"http://127.0.0.1:{d.port}", "--token",
                          tokens["charlie"], "--speed", "30"], capture_output=True, text=True, timeout=60)
    status, tracks, _ = d.request("GET", "/v1/tracks", tokens["charlie"])
    held = {t["track_id"]: t.get("callsign", "") for t in tracks.get("tracks", [])} if status == 200 else {}
    check(fed.returncode == 0 and len(held) >= 5 and len(held) == len(want) and all(held.get(k) == v for k, v in want.items() if k in held)
          and set(held) <= set(want),
          f"`deconflict feed` of a CAT062 recording: charlie holds {len(held)} of its {len(want)} aircraft, "
          f"with their callsigns ({fed.stderr.strip().splitlines()[-1] if fed.stderr.strip() else ''})")
    time.sleep(1.5)
    for lst in (la, lall, lc):
        lst.running = False
    d.stop()

    ra, rall, rc = la.decoded(tmp, "alpha"), lall.decoded(tmp, "all"), lc.decoded(tmp, "charlie")
    for name, rows in (("alpha", ra), ("every party", rall), ("charlie", rc)):
        alive = [r for r in rows if r["msg_type"] == "1"]
        check(rows and all(r["malformed"] == "0" and (r["sac"], r["sic"]) == ("12", "34") for r in rows)
              and len(alive) >= 10,
              f"{name}'s listener: {len(rows)} CAT004 messages from 12/34, none malformed, {len(alive)} alive"
              + ("" if rows and all(r["malformed"] == "0" for r in rows) else f": {rows[:3]}"))
    sa = [r for r in ra if r["msg_type"] == "7"]
    check(len(sa) >= 3 and all(r["track_number"] == "4711" for r in sa),
          f"alpha gets {len(sa)} STCA messages naming its own track 4711 (repeated each second)")
    ends = [r for r in ra if r["msg_type"] == "17"]
    check(ends and all(r["track_number"] == "4711" for r in ends) and
          float(ends[0]["tod_s"]) > max(float(r["tod_s"]) for r in sa) - 0.01,
          "the end-of-conflict message names 4711 and comes after the last STCA message")
    others = {r["track_number_2"] for r in sa}
    check(others and "99" not in others and "" not in others,
          f"... and the other aircraft by the service's own number {sorted(others)}, never bravo's 99")
    raw = b"".join(g for _, g in la.got)
    check(b"RYR986A" not in raw and six_bit("RYR986A") not in raw and b"\x4c\xa2\x25" not in raw,
          "nothing of bravo's address or callsign reaches alpha's listener")
    sall = {r["track_number"] for r in rall if r["msg_type"] == "7"}
    check({"4711", "99"} <= sall, f"the listener of every party gets both sides' alerts (tracks {sorted(sall)})")
    check(not [r for r in rc if r["msg_type"] != "1"], "charlie, a bystander, gets alive messages only")
    print("all passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL", e)
        sys.exit(1)
