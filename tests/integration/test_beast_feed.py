#!/usr/bin/env python3
"""deconflictd's Beast feed against the real producer: Debian's dump1090-mutability, run on
loopback and fed the recorded Beast capture ulss7_2018-04-03.beast, with deconflictd's
--feed beast: connected to dump1090's Beast output port (the 30005 of a receiver). At the end
the tracks the party holds agree with dump1090's own aircraft list: every aircraft it lists with a
position is held, at that position within 0.001 deg, at the same altitude, with the same
callsign -- the check integration_sbs_feed makes through SBS-1, now through Beast and our own
Mode S decoder. Also: `deconflict feed beast` (the forwarder) gives a second party the same
aircraft; the feed reconnects when dump1090 restarts; a source sending garbage, a frame of an
unknown type, one with a bad CRC, one cut short and one with a speed out of range among valid
frames has all five counted while its valid frames still make a track; one with a single flipped
bit is repaired and counted apart.

The capture is played at 4x: our decoder times a live feed's frames by their arrival, and its
speed check (2,000 kt) must not see the recording's longest gap between two positions of one
aircraft (28 s of 424263) squeezed below what the aircraft flew in it.

usage: test_beast_feed.py BIN_DIR OPENAPI_YAML DATA_DIR"""
import json
import math
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(DATA, "tools"))
# test_sbs_feed takes DATA_DIR off the arguments as it is imported, as this test would.
from test_sbs_feed import Dump1090, free_ports, metric, play_and_compare, wait_port  # noqa: E402
import test_daemon as td  # noqa: E402
import beast  # noqa: E402  (the data set's Beast frame reader)

check, Daemon = td.check, td.Daemon
SPEED = 4


# ---- building Beast frames for the malformed source ----

def crc24(msg11):
    """The Mode S parity of 11 bytes (generator 0x1FFF409)."""
    n = int.from_bytes(msg11 + b"\0\0\0", "big")
    for i in range(len(msg11) * 8 + 23, 23, -1):
        if (n >> i) & 1:
            n ^= 0x1FFF409 << (i - 24)
    return n & 0xFFFFFF


def es(icao, me):
    body = bytes([17 << 3 | 5]) + icao.to_bytes(3, "big") + me.to_bytes(7, "big")
    return body + crc24(body).to_bytes(3, "big")


def nl(lat):
    if abs(lat) >= 87:
        return 2 if abs(lat) == 87 else 1
    x = 1 - (1 - math.cos(math.pi / 30)) / math.cos(math.radians(abs(lat))) ** 2
    return int(math.floor(2 * math.pi / math.acos(x)))


def cpr(lat, lon, odd):
    """DO-260B A.1.7.3, airborne."""
    dlat = 360.0 / (59 if odd else 60)
    y = math.floor(131072 * (lat % dlat) / dlat + 0.5)
    rlat = dlat * (y / 131072 + math.floor(lat / dlat))
    ni = max(nl(rlat) - odd, 1)
    dlon = 360.0 / ni
    x = math.floor(131072 * (lon % dlon) / dlon + 0.5)
    return int(y) % 131072, int(x) % 131072


def position(icao, lat, lon, alt_ft, odd):
    n = int((alt_ft + 1000) / 25)
    alt12 = (n >> 4) << 5 | 0x10 | (n & 0xF)
    y, x = cpr(lat, lon, odd)
    return es(icao, 11 << 51 | alt12 << 36 | odd << 34 | y << 17 | x)


def velocity(icao, east_kt, subtype=1):
    k = 4 if subtype == 2 else 1
    return es(icao, 19 << 51 | subtype << 48 | (east_kt // k + 1) << 32 | 1 << 21)


def frame(msg, ticks, typ=0x33):
    body = ticks.to_bytes(6, "big") + b"\x80" + msg
    return b"\x1a" + bytes([typ]) + body.replace(b"\x1a", b"\x1a\x1a")


def bad_source(port, data, ready):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    ready.set()
    conn, _ = srv.accept()
    for k in range(0, len(data), 7):  # in small pieces: frames cut across reads
        conn.sendall(data[k:k + 7])
        time.sleep(0.001)
    time.sleep(3)
    conn.close()
    srv.close()


def main():
    work = tempfile.mkdtemp(prefix="dc_beast_")
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
        bo = ports[4]  # dump1090's Beast output: what a receiver serves on 30005

        # A second source: five malformed things among valid frames of ABC123.
        icao = 0xABC123
        good_vel = frame(velocity(icao, 420), 12_000_000)
        bad_crc = bytearray(position(icao, 46.5, 7.5, 31000, 0))
        bad_crc[6] ^= 0x10
        bad_crc[9] ^= 0x01  # two bits: a single one, from an address heard, would be repaired
        one_bit = bytearray(velocity(icao, 420))
        one_bit[12] ^= 0x04  # a parity bit: repaired, ABC123's position having been heard intact
        cut = frame(position(icao, 46.5, 7.5, 31000, 1), 12_500_000)[:12]
        supersonic = frame(velocity(icao, 4000, subtype=2), 13_000_000)
        stream = (b"garbage\n" + good_vel + b"\x1a\x39" + frame(bytes(bad_crc), 12_300_000) + cut
                  + supersonic + frame(position(icao, 46.5, 7.5, 31000, 0), 14_000_000)
                  + frame(position(icao, 46.5, 7.5, 31000, 1), 15_000_000)
                  + frame(bytes(one_bit), 15_500_000))
        ready = threading.Event()
        threading.Thread(target=bad_source, args=(ports[5], stream, ready), daemon=True).start()
        ready.wait(5)
        feed_a = f"127.0.0.1:{bo}"
        feed_b = f"127.0.0.1:{ports[5]}"
        d = Daemon(data, extra=("--feed", f"beast:{feed_a}:alpha", "--feed", f"beast:{feed_b}:bravo"))

        # charlie gets the same receiver through the forwarder, a separate process.
        fwd = subprocess.Popen([td.CLI, "feed", "beast", feed_a, "--to", f"http://127.0.0.1:{d.port}",
                                "--token", tc, "--seconds", str(61 / SPEED + 6)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        end = time.time() + 5
        while time.time() < end and metric(d, "deconflict_feed_connected", feed_a) != 1:
            time.sleep(0.1)
        time.sleep(0.5)

        # ---- the real producer ----
        tracks = play_and_compare(d, ta, dump, jdir, feed_a, SPEED, "Beast frames")
        fwd_err = fwd.communicate(timeout=30)[1]
        tc_tracks = {t["track_id"]: t for t in d.request("GET", "/v1/tracks", tc)[1]["tracks"]}
        check(fwd.returncode == 0 and set(tc_tracks) == set(tracks)
              and all(abs(tc_tracks[k]["lat"] - tracks[k]["lat"]) < 1e-6 for k in tracks),
              "deconflict feed beast (the forwarder) gives charlie the same aircraft at the same "
              "positions: " + fwd_err.strip().splitlines()[-1])

        # ---- malformed bytes: counted, skipped, the valid frames still make a track ----
        end = time.time() + 5
        while time.time() < end and (metric(d, "deconflict_feed_bad_lines_total", feed_b) != 5
                                     or metric(d, "deconflict_feed_lines_total", feed_b) != 9):
            time.sleep(0.1)
        check(metric(d, "deconflict_feed_bad_lines_total", feed_b) == 5
              and metric(d, "deconflict_feed_lines_total", feed_b) == 9,
              "the second source's 5 malformed things (garbage, an unknown type, a bad CRC, a cut "
              "frame, 4,000 kt) are counted among its 9 frames")
        check(metric(d, "deconflict_feed_corrected_frames_total", feed_b) == 1
              and metric(d, "deconflict_feed_corrected_frames_total", feed_a) == 0,
              "its frame with one flipped bit is repaired, counted apart (dump1090's: none)")
        bt = d.request("GET", "/v1/tracks", tb)[1]["tracks"]
        check([t["track_id"] for t in bt] == ["ABC123"] and bt[0]["alt_ft"] == 31000
              and abs(bt[0]["lat"] - 46.5) < 1e-4 and abs(bt[0]["lon"] - 7.5) < 1e-4
              and abs(bt[0]["gs_kt"] - 420) < 0.5,
              "its valid frames still make bravo's track: 46.5 N 7.5 E, 31,000 ft, 420 kt")

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
        check(d.stop() == 0, "SIGTERM with Beast feeds running: clean shutdown")
        print("Beast feed integration: all checks passed")
    finally:
        if dump:
            try:
                dump.stop()
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
