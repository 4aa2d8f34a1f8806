#!/usr/bin/env python3
"""A party's replay clock (docs/service.md, "Replays"): PUT/DELETE /v1/party/replay-clock and
GET /v1/party, the party's own only; every member's range refused by name, nothing stored lost;
and `deconflict feed` of the real Swiss recording sets each party's clock so that mapping every
track's service time back through it gives the recording's own time of that aircraft's last
report.

usage: test_replay_clock.py BIN_DIR OPENAPI DATA_DIR"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

DATA = sys.argv[3]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    tmp = tempfile.mkdtemp(prefix="dc-replay-clock-")
    alpha, bravo = td.add_party(tmp, "alpha"), td.add_party(tmp, "bravo")
    d = td.Daemon(tmp)
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check(st == 200 and "replay_clock" not in me, "a party without a replay clock: none shown")

    now = time.time()
    clock = {"recording_start_s": 1533124800, "service_start_s": round(now, 3), "speed": 20}
    st, got, _ = d.request("PUT", "/v1/party/replay-clock", alpha, body=clock)
    check(st == 200 and got.get("recording_start") == "2018-08-01T12:00:00Z"
          and got.get("speed") == 20 and abs(got.get("service_start_s", 0) - now) < 0.01,
          f"PUT: 200, the clock as set ({got.get('recording_start')}, x{got.get('speed')})")
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check(st == 200 and me.get("replay_clock") == got, "GET /v1/party shows it to its party")
    st, other, _ = d.request("GET", "/v1/party", bravo)
    check(st == 200 and "replay_clock" not in other, "... and never to another party")

    bad = [
        ({**clock, "recording_start_s": now + 3600}, "recording_start_s", "1970 to now"),
        ({**clock, "recording_start_s": -1}, "recording_start_s", "1970 to now"),
        ({**clock, "recording_start_s": "2018-08-01"}, "recording_start_s", "Unix seconds"),
        ({**clock, "service_start_s": now - 2 * 86400}, "service_start_s", "within a day"),
        ({k: v for k, v in clock.items() if k != "service_start_s"}, "service_start_s", "within a day"),
        ({**clock, "speed": 0}, "speed", "0.01-1000"),
        ({**clock, "speed": 5000}, "speed", "0.01-1000"),
        ({**clock, "offset": 3}, "offset", "not a member"),
    ]
    for body, field, limit in bad:
        st, p, _ = d.request("PUT", "/v1/party/replay-clock", alpha, body=body)
        check(st == 400 and isinstance(p, dict) and p.get("field") == field and limit in p.get("detail", ""),
              f"refused: {field} ({p.get('detail') if isinstance(p, dict) else p})")
    st, p, _ = d.request("PUT", "/v1/party/replay-clock", alpha, raw=b"[1,2]",
                         headers={"Content-Type": "application/json"})
    check(st == 400, f"refused: a body that is not an object ({st})")
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check(me.get("replay_clock") == got, "after the refusals the clock is the one set")
    st, p, _ = d.request("PUT", "/v1/party/replay-clock", None, body=clock)
    check(st == 401, "without a token: 401")

    st, me, _ = d.request("DELETE", "/v1/party/replay-clock", alpha)
    check(st == 200 and "replay_clock" not in me and me.get("name") == "alpha", "DELETE clears it")
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check("replay_clock" not in me, "... and GET shows none")

    # The feed sets both parties' clocks; each track's time maps back to its last report's.
    traffic = os.path.join(DATA, "traffic", "switzerland_2018-08-01.csv")
    t0, t1, speed = 1533124800, 1533124800 + 150, 30
    last = {}
    with open(traffic) as f:
        for row in csv.DictReader(f):
            t = float(row["t_unix"])
            if t0 <= t <= t1:
                last[row["icao24"].upper()] = t
            elif t > t1:
                break
    url = f"http://127.0.0.1:{d.port}"
    started = time.time()
    p = subprocess.run([td.CLI, "feed", traffic, "--to", url, "--token", alpha, "--token", bravo,
                        "--speed", str(speed), "--from", str(t0), "--to-time", str(t1)],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "feed: replay clock: the recording's 2018-08-01T12:00:00Z" in p.stderr,
          "feed: sets the replay clock and says so")
    clocks = {n: d.request("GET", "/v1/party", tok)[1].get("replay_clock") for n, tok in
              (("alpha", alpha), ("bravo", bravo))}
    check(all(c and c["recording_start_s"] == t0 and c["speed"] == speed
              and started - 2 <= c["service_start_s"] <= started + 2 for c in clocks.values()),
          f"both parties' clocks: recording from 12:00:00Z at x{speed}, service start at the feed's")
    worst, n = 0.0, 0
    for name, tok in (("alpha", alpha), ("bravo", bravo)):
        c = clocks[name] or {"recording_start_s": 0, "service_start_s": 0, "speed": 1}
        st, body, _ = d.request("GET", "/v1/tracks", tok)
        for tr in body["tracks"]:
            t_service = body["now"] - tr["age_s"]
            t_rec = c["recording_start_s"] + (t_service - c["service_start_s"]) * c["speed"]
            want = last.get(tr["track_id"].upper())
            if want is None:
                worst = float("inf")
                continue
            worst = max(worst, abs(t_rec - want))
            n += 1
    # The feed's mapping is the clock kept, exactly; what this reads back is not: the API's
    # times have 12 significant digits, so /v1/tracks' `now` is Unix seconds to 0.01 s (off by
    # at most 0.005 s), and the feed sends a report's time to the millisecond (0.0005 s); the
    # clock multiplies both by the speed.
    tolerance = speed * 0.0055 + 0.04
    check(n >= 20 and worst < tolerance,
          f"{n} tracks: each one's time through the clock is its last report's in the recording "
          f"(worst {worst:.3f} s, within {tolerance:.2f} s: the 0.01 s of the API's times x{speed})")

    d.request("DELETE", "/v1/party/replay-clock", alpha)
    p = subprocess.run([td.CLI, "feed", traffic, "--to", url, "--token", alpha, "--speed", "50",
                        "--from", str(t0), "--to-time", str(t0 + 20), "--no-replay-clock"],
                       capture_output=True, text=True, timeout=60)
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check(p.returncode == 0 and "replay_clock" not in me, "feed --no-replay-clock leaves none set")
    # A live feed clears it: the party's console shows the service's times again.
    d.request("PUT", "/v1/party/replay-clock", alpha, body=clock)
    p = subprocess.run([td.CLI, "feed", "sbs", f"127.0.0.1:{td.free_port()}", "--to", url, "--token",
                        alpha, "--seconds", "1"], capture_output=True, text=True, timeout=30)
    st, me, _ = d.request("GET", "/v1/party", alpha)
    check("replay_clock" not in me, "a live feed (feed sbs) clears the party's replay clock")
    check(alpha[4:12] not in p.stderr, "... and never prints any of the token")
    rc = d.stop()
    check(rc == 0, f"the daemon stops cleanly (exit {rc})")
    shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
