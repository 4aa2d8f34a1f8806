#!/usr/bin/env python3
"""deconflictd's SBS-1 feed against the real producer: Debian's dump1090-mutability, run on
loopback and fed the recorded Beast capture ulss7_2018-04-03.beast. At the end the tracks the
party holds agree with dump1090's own aircraft list: every aircraft it lists with a position is
held, at that position within 0.001 deg, at the same altitude. (dump1090's list stops showing a
position after its own validity time, so the party may hold a few more.) Also: the feed reconnects when dump1090 restarts,
and a source sending malformed lines has them counted and skipped while its valid lines still
make tracks.

usage: test_sbs_feed.py BIN_DIR OPENAPI_YAML DATA_DIR"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

DATA = sys.argv[3]
sys.argv = sys.argv[:3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(DATA, "tools"))
import test_daemon as td  # noqa: E402
import beast  # noqa: E402  (the data set's Beast frame reader)

check, Daemon = td.check, td.Daemon


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"port {port} never opened")


class Dump1090:
    def __init__(self, ports, json_dir):
        ri, ro, sbs, bi, bo = ports
        self.sbs, self.bi = sbs, bi
        self.proc = subprocess.Popen(
            ["dump1090-mutability", "--net", "--net-only", "--net-bind-address", "127.0.0.1",
             "--net-ri-port", str(ri), "--net-ro-port", str(ro), "--net-sbs-port", str(sbs),
             "--net-bi-port", str(bi), "--net-bo-port", str(bo), "--write-json", json_dir,
             "--write-json-every", "1", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(sbs).close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def metric(d, name, feed):
    text = d.request("GET", "/metrics")[1]
    m = re.search(rf'^{name}{{feed="{re.escape(feed)}"}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


def play_and_compare(d, token, dump, jdir, feed, speed, units):
    """Plays the ulss7 Beast capture into dump1090 at speed times real time, then checks that the
    party of token holds every aircraft dump1090 lists with a position, where it lists it, at its
    altitude, with its callsign, and that the feed counted its units and refused none. Returns the
    party's tracks by id."""
    raw = open(os.path.join(DATA, "captures", "ulss7_2018-04-03.beast"), "rb").read()
    s_in = wait_port(dump.bi)
    t_wall0, ts0, sent = time.time(), None, 0
    for typ, ts, sig, payload, frame in beast.frames(raw):
        ts0 = ts if ts0 is None else ts0
        wait = t_wall0 + (ts - ts0) / 12e6 / speed - time.time()
        if wait > 0:
            time.sleep(wait)
        s_in.sendall(frame)
        sent += 1
    s_in.close()
    time.sleep(3)  # dump1090 writes its JSON every second; the feed flushes every 0.2 s
    check(sent > 1000, f"the capture was played into dump1090 ({sent} Beast frames, {speed}x)")
    aircraft = json.load(open(os.path.join(jdir, "aircraft.json")))["aircraft"]
    with_pos = [a for a in aircraft if "lat" in a]
    tracks = {t["track_id"]: t for t in d.request("GET", "/v1/tracks", token)[1]["tracks"]}
    check(len(with_pos) >= 5, f"dump1090 lists {len(with_pos)} aircraft with positions")
    theirs = {a["hex"].upper() for a in with_pos}
    check(theirs <= set(tracks),
          f"the party holds every aircraft dump1090 lists with a position ({len(theirs)}; it "
          f"also holds {sorted(set(tracks) - theirs)}, whose positions dump1090's list has "
          f"already let go)")
    worst = 0
    for a in with_pos:
        t = tracks[a["hex"].upper()]
        worst = max(worst, abs(t["lat"] - a["lat"]), abs(t["lon"] - a["lon"]))
        check(t["alt_ft"] == a["altitude"], f"{a['hex']}: altitude {t['alt_ft']} = dump1090's {a['altitude']}")
    check(worst <= 0.001, f"every position within 0.001 deg of dump1090's (worst {worst:.6f})")
    calls = [t for t in tracks.values() if t.get("callsign")]
    check(len(calls) >= 5 and all(t["callsign"] == a["flight"].strip() for a in aircraft
                                  for t in calls if t["track_id"] == a["hex"].upper() and "flight" in a),
          f"callsigns from identification messages, as dump1090 has them ({len(calls)})")
    n = metric(d, "deconflict_feed_lines_total", feed)
    check(n > 1000 and metric(d, "deconflict_feed_bad_lines_total", feed) == 0
          and metric(d, "deconflict_feed_connected", feed) == 1,
          f"metrics: {n} {units} from dump1090, none refused, connected")
    return tracks


def bad_source(port, lines, ready):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    ready.set()
    conn, _ = srv.accept()
    conn.sendall("".join(lines).encode())
    time.sleep(3)
    conn.close()
    srv.close()


def main():
    work = tempfile.mkdtemp(prefix="dc_sbs_")
    data = os.path.join(work, "data")
    jdir = os.path.join(work, "json")
    os.makedirs(jdir)
    dump = None
    try:
        ta = td.add_party(data, "alpha")
        tb = td.add_party(data, "bravo")
        tc = td.add_party(data, "charlie")
        ports = free_ports(6)
        dump = Dump1090(ports[:5], jdir)
        # A second source: a fake server with malformed lines among valid ones.
        now = time.gmtime()
        stamp = time.strftime("%Y/%m/%d,%H:%M:%S.000", now)
        bad = ["garbage\n", "MSG,3,1,1,ZZZZZZ,1," + stamp + "," + stamp + ",,1000,,,1,2,,,,,,0\n",
               "MSG,3,1,1,ABC123,1," + stamp + "," + stamp + ",,99999999,,,1,2,,,,,,0\n",
               "A" * 3000 + "\n", "\x00\x01\x02\n"]
        good = ["MSG,4,1,1,ABC123,1," + stamp + "," + stamp + ",,,420,90,,,0,,,,,0\n",
                "MSG,3,1,1,ABC123,1," + stamp + "," + stamp + ",,31000,,,46.5,7.5,,,,,,0\n"]
        ready = threading.Event()
        threading.Thread(target=bad_source, args=(ports[5], bad + good, ready), daemon=True).start()
        ready.wait(5)
        feed_a = f"127.0.0.1:{dump.sbs}"
        feed_b = f"127.0.0.1:{ports[5]}"
        d = Daemon(data, extra=("--feed", f"sbs:{feed_a}:alpha", "--feed", f"sbs:{feed_b}:bravo"))

        # charlie gets the same receiver through the forwarder, a separate process.
        fwd = subprocess.Popen([td.CLI, "feed", "sbs", feed_a, "--to", f"http://127.0.0.1:{d.port}",
                                "--token", tc, "--seconds", "9"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)

        # ---- the real producer ----
        tracks = play_and_compare(d, ta, dump, jdir, feed_a, 20, "lines")
        fwd_err = fwd.communicate(timeout=20)[1]
        tc_tracks = {t["track_id"]: t for t in d.request("GET", "/v1/tracks", tc)[1]["tracks"]}
        check(fwd.returncode == 0 and set(tc_tracks) == set(tracks)
              and all(abs(tc_tracks[k]["lat"] - tracks[k]["lat"]) < 1e-6 for k in tracks),
              "deconflict feed sbs (the forwarder) gives charlie the same aircraft at the same positions: "
              + fwd_err.strip().splitlines()[-1])
        # alpha (the daemon's feed) and charlie (the forwarder) hold the same aircraft under the
        # same ICAO addresses: one aircraft never conflicts with itself across two parties.
        # The copies have been held for seconds: two passes after the last report (the first may
        # have begun before it), and the pairs have been judged with their final positions too.
        td.wait_passes(d, 2)
        tac = [c for c in d.request("GET", "/v1/conflicts", ta)[1]["conflicts"] if c["kind"] == "tactical"]
        selfish = [c for c in tac if abs(c["other_aircraft"]["lat"] - tracks[c["own_track"]]["lat"]) < 1e-6
                   and abs(c["other_aircraft"]["lon"] - tracks[c["own_track"]]["lon"]) < 1e-6]
        check(selfish == [], f"no conflict between alpha's and charlie's copies of the same aircraft "
                             f"({len(tac)} conflicts between different aircraft)")
        check(d.request("GET", "/v1/tracks", tb)[1]["tracks"] == [] or
              all(t["track_id"] == "ABC123" for t in d.request("GET", "/v1/tracks", tb)[1]["tracks"]),
              "bravo holds none of alpha's feed")

        # ---- malformed lines: counted, skipped, the valid ones still make a track ----
        end = time.time() + 5
        while time.time() < end and metric(d, "deconflict_feed_bad_lines_total", feed_b) != 5:
            time.sleep(0.1)
        check(metric(d, "deconflict_feed_bad_lines_total", feed_b) == 5,
              "the second source's 5 malformed lines (incl. one of 3000 bytes) are counted")
        bt = d.request("GET", "/v1/tracks", tb)[1]["tracks"]
        check([t["track_id"] for t in bt] == ["ABC123"] and bt[0]["alt_ft"] == 31000,
              "its valid lines still make bravo's track, with the valid altitude")

        # ---- the producer restarts: the feed reconnects ----
        dump.stop()
        end = time.time() + 5
        while time.time() < end and metric(d, "deconflict_feed_connected", feed_a) != 0:
            time.sleep(0.1)
        check(metric(d, "deconflict_feed_connected", feed_a) == 0, "dump1090 stopped: disconnected")
        dump = Dump1090(ports[:5], jdir)
        end = time.time() + 8
        while time.time() < end and metric(d, "deconflict_feed_connected", feed_a) != 1:
            time.sleep(0.2)
        check(metric(d, "deconflict_feed_connected", feed_a) == 1, "dump1090 back: the feed reconnects")
        # replay --daemon: a recording into this daemon, split between two parties.
        n_a = len(d.request("GET", "/v1/tracks", ta)[1]["tracks"])
        n_b = len(d.request("GET", "/v1/tracks", tb)[1]["tracks"])
        traffic = os.path.join(DATA, "traffic", "switzerland_2018-08-01.csv")
        p = subprocess.run([td.CLI, "replay", traffic, "--from", "2018-08-01T12:00:00Z", "--to",
                            "2018-08-01T12:01:00Z", "--daemon", f"http://127.0.0.1:{d.port}",
                            "--token", ta, "--token", tb, "--speed", "60"], capture_output=True, text=True)
        more_a = len(d.request("GET", "/v1/tracks", ta)[1]["tracks"]) - n_a
        more_b = len(d.request("GET", "/v1/tracks", tb)[1]["tracks"]) - n_b
        check(p.returncode == 0 and more_a > 10 and more_b > 10,
              f"replay --daemon: a minute of the Swiss day into the daemon, split ({more_a} and {more_b} aircraft)")
        p = subprocess.run([td.CLI, "replay", os.path.join(DATA, "dump1090", "ulss7_sbs_output.txt"),
                            "--daemon", f"http://127.0.0.1:{d.port}", "--token", ta], capture_output=True, text=True)
        check(p.returncode == 2 and "feed sbs" in p.stderr, "replay --daemon of an SBS log points to feed sbs")
        check(d.stop() == 0, "SIGTERM with feeds running: clean shutdown")
        print("SBS feed integration: all checks passed")
    finally:
        if dump:
            try:
                dump.stop()
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
