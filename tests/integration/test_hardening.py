#!/usr/bin/env python3
"""The rules an outside review made deconflictd follow (issue 14), each against the real daemon:

- one process serves a store (a second daemon on the same directory is refused, naming the
  holder's pid; the claim dies with its process);
- the data directory and the files holding secrets are closed to other users (created 0700 and
  0600, tightened when found open, refused when owned by someone else or a symbolic link);
- a signature policy: under `signatures: required` unsigned writes are refused (401
  signature_required), service-wide or per party;
- one set of input rules: every endpoint that takes a body wants application/json (415) and
  refuses duplicate keys; agreements get the same window and geometry checks as operations;
- report times have a range against the service's clock, and a track stored ahead of the clock
  never freezes later reports out;
- a full disk fails the writes of the moment (503), not the line, and loses nothing stored.

usage: test_hardening.py BIN_DIR OPENAPI_YAML"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check, Daemon, Stream = td.check, td.Daemon, td.Stream
DAEMON, CLI = td.DAEMON, td.CLI


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def start_fails(data, *extra):
    """Runs a daemon that must refuse to start: its exit status and what it said."""
    p = subprocess.run([DAEMON, *td.store_args(data), "--listen", f"127.0.0.1:{td.free_port()}", "--quiet",
                        *extra], capture_output=True, text=True, timeout=20)
    return p.returncode, p.stderr


def one_process_per_store(tmp):
    if td.sqlite_only("one process per store (on PostgreSQL several nodes are the point)"):
        return
    data = os.path.join(tmp, "claim")
    td.add_party(data, "alpha")
    first = Daemon(data)
    rc, err = start_fails(data)
    check(rc == 1 and "already served" in err and str(first.proc.pid) in err,
          f"a second daemon on the same store is refused, naming the holder's pid: {err.strip()}")
    s, body, _ = first.request("GET", "/healthz")
    check(s == 200, "the first daemon still serves")
    first.stop(signal.SIGKILL)
    second = Daemon(data)  # asserts it is listening
    check(second.request("GET", "/healthz")[0] == 200, "after kill -9 of the holder, a new daemon claims the store")
    second.stop()


def secrets_closed(tmp):
    if td.sqlite_only("directory and file modes"):
        return
    old = os.umask(0o022)
    try:
        # A directory made beforehand with a plain mkdir (0755), and a store an older build
        # created 0644.
        data = os.path.join(tmp, "open")
        os.mkdir(data, 0o755)
        td.add_party(data, "alpha")  # the CLI opens the store: tightened there already
        check(mode(data) == 0o700, "a data directory made 0755 is tightened to 0700 by the first command")
        os.chmod(data, 0o755)
        db = os.path.join(data, "deconflict.sqlite3")
        os.chmod(db, 0o644)
        d = Daemon(data)
        d.request("GET", "/healthz")
        d.stop()
        err = d.proc.stderr.read()
        check(mode(data) == 0o700 and "tightened to 0700" in err, "the daemon tightens it too, and says so")
        check("deconflict.sqlite3 was readable" in err and mode(db) == 0o600,
              "a store file found 0644 is tightened to 0600, and said")
        for name in ("deconflict.sqlite3", "deconflict.sqlite3-wal", "deconflict.sqlite3-shm", "deconflictd.pid"):
            path = os.path.join(data, name)
            if os.path.exists(path):
                check(mode(path) == 0o600, f"{name} is 0600")
        fresh = os.path.join(tmp, "fresh")
        td.add_party(fresh, "alpha")
        check(mode(fresh) == 0o700 and mode(os.path.join(fresh, "deconflict.sqlite3")) == 0o600,
              "a new store: directory 0700, database 0600 (umask 022)")
        # Refused: a symbolic link, and (as root) a directory another user owns.
        link = os.path.join(tmp, "link")
        os.symlink(fresh, link)
        rc, err = start_fails(link)
        check(rc == 1 and "symbolic link" in err, f"a data directory that is a symbolic link is refused: {err.strip()}")
        if os.geteuid() == 0:
            theirs = os.path.join(tmp, "theirs")
            os.mkdir(theirs, 0o700)
            os.chown(theirs, 65534, 65534)
            rc, err = start_fails(theirs)
            check(rc == 1 and "belongs to uid 65534" in err, f"a directory owned by another user is refused: {err.strip()}")
            check(os.listdir(theirs) == [], "... and nothing was written into it")
        else:
            print("  skipped: the foreign-owner case needs root to chown")
    finally:
        os.umask(old)


def signature_policy(tmp):
    data = os.path.join(tmp, "sig")
    ta, tb = td.add_party(data, "alpha"), td.add_party(data, "bravo")
    d = Daemon(data, extra=("--signatures", "required"))
    vol = {"volumes": [td.volume(46.5, 7.5, 500)]}
    s, pb, _ = d.request("POST", "/v1/operations", ta, vol)
    check(s == 401 and pb["code"] == "signature_required" and "register a key" in pb["detail"],
          "signatures: required: an unsigned filing is 401 signature_required, saying how to start")
    check(d.request("GET", "/v1/operations", ta)[1]["operations"] == [], "... and nothing was filed")
    check(d.request("GET", "/v1/conflicts", ta)[0] == 200, "reads need no signature")
    keyfile = os.path.join(tmp, "alpha.key")
    pub = subprocess.run([CLI, "key", "generate", "--out", keyfile], capture_output=True, text=True,
                         check=True).stdout.strip()
    check(mode(keyfile) == 0o600, "a generated key file is 0600")
    s, _, _ = d.request("PUT", "/v1/party/key", ta, {"public_key": pub})
    check(s == 200, "registering the first key needs no signature (or no party could start)")
    s, pb, _ = d.request("POST", "/v1/operations", ta, vol)
    check(s == 401 and pb["code"] == "signature_required", "with a key, an unsigned filing is still refused")
    raw = json.dumps(vol).encode()
    sig = subprocess.run([CLI, "key", "sign", keyfile, "--party", "1", "POST", "/v1/operations"], input=raw,
                         capture_output=True, check=True).stdout.decode().strip()
    s, op, _ = d.request("POST", "/v1/operations", ta, raw=raw,
                         headers={"Content-Type": "application/json", "Deconflict-Signature": sig})
    check(s == 201, "a signed filing is accepted")
    s, pb, _ = d.request("PUT", "/v1/party/key", ta, {"public_key": pub})
    check(s == 401 and pb["code"] == "signature_required", "changing a registered key must be signed")
    d.stop()
    # Per party: the service optional, bravo required by the administrator while it runs.
    d = Daemon(data)
    s, _, _ = d.request("POST", "/v1/operations", tb, vol)
    check(s == 201, "signatures optional: bravo's unsigned filing is accepted")
    out = subprocess.run([CLI, "party", "signatures", "bravo", "required", *td.store_args(data)],
                         capture_output=True, text=True)
    check(out.returncode == 0, "deconflict party signatures bravo required (daemon running)")
    s, pb, _ = d.request("POST", "/v1/operations", tb, vol)
    check(s == 401 and pb["code"] == "signature_required", "... takes effect at bravo's next write")
    s, _, _ = d.request("POST", "/v1/operations", ta, vol)
    check(s == 201, "alpha, still optional, files unsigned")
    bad = subprocess.run([CLI, "party", "signatures", "bravo", "maybe", *td.store_args(data)], capture_output=True, text=True)
    check(bad.returncode == 2 and "required" in bad.stderr, "a bad policy word is a usage error")
    d.stop()


def one_set_of_input_rules(tmp):
    data = os.path.join(tmp, "input")
    ta, tb = td.add_party(data, "alpha"), td.add_party(data, "bravo")
    d = Daemon(data)
    now = time.time()
    report = {"track_id": "A1", "t": now, "lat": 46.5, "lon": 7.5, "alt_ft": 20000, "gs_kt": 300,
              "trk_deg": 90, "vs_fpm": 0}
    agreement = {"parties": ["bravo"], "constraint": {"area": [[46, 7], [47, 7], [47, 8]], "owner": "alpha"},
                 "alt_lower_ft": 0, "alt_upper_ft": 60000,
                 "time_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                 "time_end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))}
    bodies = [("POST", "/v1/operations", {"volumes": [td.volume(46.5, 7.5, 500)]}),
              ("POST", "/v1/positions", [report]),
              ("POST", "/v1/messages", {"to": "bravo", "category": "free_text", "fields": {"text": "hi"}}),
              ("POST", "/v1/agreements", agreement),
              ("PUT", "/v1/party/key", {"public_key": "x"})]
    for method, path, body in bodies:
        raw = json.dumps(body).encode()
        for headers, why in (({}, "no Content-Type"), ({"Content-Type": "text/plain"}, "text/plain"),
                             ({"Content-Type": "application/jsonx"}, "application/jsonx")):
            s, pb, _ = d.request(method, path, ta, raw=raw, headers=headers)
            check(s == 415 and pb["code"] == "unsupported_media_type" and pb["field"] == "Content-Type",
                  f"{method} {path} with {why}: 415")
    s, _, _ = d.request("POST", "/v1/positions", ta, raw=json.dumps([report]).encode(),
                        headers={"Content-Type": "Application/JSON; charset=utf-8"})
    check(s == 200, "media type case-insensitive, with parameters: accepted")
    dup = b'[{"track_id": "A2", "t": %f, "lat": 46.5, "lat": 10, "lon": 7.5, "alt_ft": 20000, ' \
          b'"gs_kt": 300, "trk_deg": 90, "vs_fpm": 0}]' % now
    s, pb, _ = d.request("POST", "/v1/positions", ta, raw=dup, headers={"Content-Type": "application/json"})
    check(s == 400 and pb["code"] == "invalid_json" and "duplicate" in pb["detail"],
          "positions: a duplicate key is refused (which lat would it be?)")
    check(all(t["track_id"] != "A2" for t in d.request("GET", "/v1/tracks", ta)[1]["tracks"]),
          "... and nothing of that batch was stored")
    s, pb, _ = d.request("POST", "/v1/messages", ta, {"to": "bravo", "category": "free_text", "fields": "urgent"})
    check(s == 400 and pb["field"] == "fields", "a message whose fields are not an object: 400 naming fields "
                                                "(found by fuzz_messages: it was a 500 out_of_memory)")
    for (method, path, body), again in zip(bodies[2:4], (b'"to": "x"', b'"parties": ["x"]')):
        raw = json.dumps(body).encode()[:-1] + b", " + again + b"}"
        s, pb, _ = d.request(method, path, ta, raw=raw, headers={"Content-Type": "application/json"})
        check(s == 400 and pb["code"] == "invalid_json", f"{path}: a duplicate key is refused")
    d.stop()


def metric(d, name):
    """The value of one /metrics series, e.g. 'deconflict_positions_refused_total{reason="time_ahead"}'."""
    text = d.request("GET", "/metrics")[1]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no metric {name}")


def head_on(track, east, t, lat=0.0):
    """Half of a head-on pair at FL350, 0.3 degrees apart on a parallel, closing at 960 kt."""
    return {"track_id": track, "t": t, "lat": lat, "lon": 0.3 if east else 0.0, "alt_ft": 35000,
            "gs_kt": 480, "trk_deg": 270 if east else 90, "vs_fpm": 0}


def report_times_have_a_range(tmp):
    data = os.path.join(tmp, "times")
    ta, tb = td.add_party(data, "alpha"), td.add_party(data, "bravo")
    d = Daemon(data, extra=("--period-ms", "200"))
    now = time.time()
    batch = [head_on("MS", False, now * 1000), head_on("FAST", False, now + 3600),
             head_on("OLD", False, now - 3600), head_on("OK", False, now, lat=30)]
    s, out, _ = d.request("POST", "/v1/positions", ta, batch)
    rej = {r["index"]: r for r in out["rejected"]}
    check(s == 200 and out["accepted"] == 1 and sorted(rej) == [0, 1, 2], "three reports out of range refused, one accepted")
    check(rej[0]["field"] == "t" and "ahead" in rej[0]["detail"] and "milliseconds" in rej[0]["detail"]
          and "at most 10 s" in rej[0]["detail"], f"t in milliseconds: named, with the limit: {rej[0]['detail']}")
    check(rej[1]["field"] == "t" and "at most 10 s ahead" in rej[1]["detail"], f"an hour ahead: {rej[1]['detail']}")
    check(rej[2]["field"] == "t" and "at most 300 s old" in rej[2]["detail"], f"an hour old: {rej[2]['detail']}")
    check(metric(d, 'deconflict_positions_refused_total{reason="time_ahead"}') == 2
          and metric(d, 'deconflict_positions_refused_total{reason="time_old"}') == 1,
          "refusals counted in /metrics by reason")
    tracks = d.request("GET", "/v1/tracks", ta)[1]["tracks"]
    check([t["track_id"] for t in tracks] == ["OK"] and tracks[0]["age_s"] >= 0, "only the report in range is a track")
    d.stop()
    # A track stored ahead of the clock (a wide tolerance, then the default again): it never
    # freezes the track's later, correct reports out of detection.
    d = Daemon(data, extra=("--period-ms", "200", "--report-ahead-max-s", "3600"))
    sa, sb = Stream(d, ta), Stream(d, tb)
    now = time.time()
    s, out, _ = d.request("POST", "/v1/positions", ta, [head_on("A1", False, now + 1800)])
    check(s == 200 and out["accepted"] == 1, "with --report-ahead-max-s 3600 a report 30 min ahead is taken")
    for k in range(4):  # the correct reports of a head-on encounter
        t = time.time()
        d.request("POST", "/v1/positions", ta, [head_on("A1", False, t)])
        d.request("POST", "/v1/positions", tb, [head_on("B1", True, t)])
        time.sleep(0.25)
    ca = sa.wait_where("conflict.new", lambda v: v["kind"] == "tactical", timeout=10)
    cb = sb.wait_where("conflict.new", lambda v: v["kind"] == "tactical", timeout=10)
    check(ca["own_track"] == "A1" and cb["own_track"] == "B1" and ca["id"] == cb["id"],
          "the track held 30 min ahead is replaced by its correct reports: the head-on is alerted to both")
    a1 = [t for t in d.request("GET", "/v1/tracks", ta)[1]["tracks"] if t["track_id"] == "A1"][0]
    check(abs(a1["t"] - time.time()) < 30 and a1["status"] == "live", "GET /v1/tracks shows the correct report, live")
    s, out, _ = d.request("POST", "/v1/positions", ta, [head_on("A2", False, time.time() + 1800)])
    sa.close(), sb.close()
    d.stop()
    d = Daemon(data, extra=("--period-ms", "200"))
    names = [t["track_id"] for t in d.request("GET", "/v1/tracks", ta)[1]["tracks"]]
    check("A2" not in names and "A1" in names,
          "after a restart with the default range, a track stored 30 min ahead is not restored")
    d.stop()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def polygon(ring, t0, t1, lo=0, hi=3000):
    """A Volume4D polygon of (lat, lon) pairs, W84 metres."""
    return {"volume": {"outline_polygon": {"vertices": [{"lat": a, "lng": b} for a, b in ring]},
                       "altitude_lower": {"value": lo, "reference": "W84", "units": "M"},
                       "altitude_upper": {"value": hi, "reference": "W84", "units": "M"}},
            "time_start": {"value": iso(t0), "format": "RFC3339"},
            "time_end": {"value": iso(t1), "format": "RFC3339"}}


def agreements_checked_exactly(tmp):
    data = os.path.join(tmp, "agr")
    ta, tb = td.add_party(data, "alpha"), td.add_party(data, "bravo")
    d = Daemon(data)
    now = time.time()
    base = {"parties": ["bravo"], "alt_lower_ft": 0, "alt_upper_ft": 60000,
            "time_start": iso(now), "time_end": iso(now + 7200)}
    # One set of limits for every document: what an operation's volume may not be, an
    # agreement may not be either.
    refused = [
        (dict(base, constraint={"area": [[10, 20], [10, 20.5], [10.5, 20.5], [10.5, 20]], "owner": "alpha"},
              time_end=iso(now + 100 * 365 * 86400)), "time_end", "31 days"),
        (dict(base, constraint={"area": [[10, 20], [10.5, 20.5], [10.5, 20], [10, 20.5]], "owner": "alpha"}),
         "constraint/area", "not simple"),
        (dict(base, constraint={"line": [[35, 38], [36, 38.5], [36, 38], [35, 38.5]], "left": "alpha",
                                "right": "bravo"}), "constraint/line", "crosses itself"),
        (dict(base, constraint={"area": [[0, 0], [0, 20], [20, 20], [20, 0]], "owner": "alpha"}),
         "constraint/area", "limit"),
        (dict(base, alt_upper_ft=400000, constraint={"area": [[10, 20], [10, 20.5], [10.5, 20.5]], "owner": "alpha"}),
         "alt_upper_ft", "altitude"),
    ]
    for body, field, words in refused:
        s, pb, _ = d.request("POST", "/v1/agreements", ta, body)
        check(s == 400 and pb["field"] == field and words in pb["detail"],
              f"agreement refused like an operation would be: {field}: {pb.get('detail')}")
    # An area of alpha's, and a river line (alpha west, bravo east, 30 NM), both accepted.
    s, area, _ = d.request("POST", "/v1/agreements", ta, dict(base, constraint={
        "area": [[10, 20], [10, 20.5], [10.5, 20.5], [10.5, 20]], "owner": "alpha"}))
    check(s == 201, "alpha proposes an area of its own")
    s, river, _ = d.request("POST", "/v1/agreements", ta, dict(base, constraint={
        "line": [[35.0, 38.0], [36.5, 38.0]], "left": "alpha", "right": "bravo", "within_nm": 30}))
    check(s == 201, "and a river line")
    for a in (area, river):
        check(d.request("POST", f"/v1/agreements/{a['id']}/accept", tb)[1]["state"] == "active", "bravo accepts")
    # Bravo covers alpha's area whole, every vertex outside it, for a window whose start, middle
    # and end all fall outside the agreement's: the sampled check saw nothing of it.
    cover = polygon([(9, 19), (9, 21.5), (11.5, 21.5), (11.5, 19)], now - 5 * 3600, now + 3 * 3600)
    s, op, _ = d.request("POST", "/v1/operations", tb, {"volumes": [cover]})
    got = [c for c in op.get("conflicts", []) if c["kind"] == "agreement"]
    check(s == 201 and len(got) == 1 and got[0]["agreement"] == area["id"],
          "an operation covering an agreed area whole (vertices and sampled times outside): agreement conflict")
    # Alpha's corridor across the river, every vertex 90 km from it.
    corridor = polygon([(35.5, 37.0), (35.5, 39.0), (35.51, 39.0), (35.51, 37.0)], now, now + 1800)
    s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [corridor]})
    got = [c for c in op.get("conflicts", []) if c["kind"] == "agreement"]
    check(s == 201 and len(got) == 1 and got[0]["agreement"] == river["id"],
          "a corridor crossing the line with every vertex outside its 30 NM: agreement conflict")
    west = polygon([(35.5, 37.6), (35.5, 37.9), (35.6, 37.9), (35.6, 37.6)], now, now + 1800)
    s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [west]})
    check(s == 201 and not any(c["kind"] == "agreement" for c in op.get("conflicts", [])),
          "alpha's operation on its own side of the line: none")
    later = polygon([(35.5, 38.1), (35.5, 38.3), (35.6, 38.3), (35.6, 38.1)], now + 7300, now + 9000)
    s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [later]})
    check(s == 201 and not any(c["kind"] == "agreement" for c in op.get("conflicts", [])),
          "on bravo's side but after the agreement's window: none")
    d.stop()


def thousands_of_idle_sockets(tmp):
    """Idle and slow strangers cannot deny a party: 2,000 idle sockets held (past the 1,024 a
    select()-based server could take at all), a flood from one address, a client that never
    finishes its headers."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    data = os.path.join(tmp, "idle")
    ta = td.add_party(data, "alpha")
    d = Daemon(data, extra=("--header-timeout-s", "3"))
    held = []
    try:
        # 2,000 from 100 addresses (127.0.0.2-101), 20 each: within every share, all held.
        for i in range(2000):
            sk = socket.socket()
            sk.bind((f"127.0.0.{2 + i % 100}", 0))
            sk.connect(("127.0.0.1", d.port))
            held.append(sk)
        end = time.time() + 10
        while metric(d, "deconflict_http_connections") < 2000 and time.time() < end:
            time.sleep(0.1)
        check(metric(d, "deconflict_http_connections") >= 2000, "the server holds 2,000 idle connections")
        ok = sum(d.request("GET", "/v1/conflicts", ta)[0] == 200 for _ in range(100))
        check(ok == 100, "a party's 100 requests meanwhile: all answered")
        # One address opens 500 more: past its share (64) its oldest give way, the party's
        # connection from the same address is never one of them.
        keep = http_client(d.port)
        keep.request("GET", "/v1/conflicts", headers={"Authorization": "Bearer " + ta})
        check(keep.getresponse().read() is not None, "a party's keep-alive connection from 127.0.0.1")
        for _ in range(500):
            sk = socket.socket()
            sk.connect(("127.0.0.1", d.port))
            held.append(sk)
        time.sleep(0.5)
        evicted = metric(d, "deconflict_http_connections_evicted_total")
        check(evicted >= 400, f"a flood of 500 from one address: past its share of 64, its oldest "
                              f"unproven connections give way ({evicted:.0f} evicted)")
        keep.request("GET", "/v1/conflicts", headers={"Authorization": "Bearer " + ta})
        check(keep.getresponse().status == 200, "the party's own connection from that address was kept")
        keep.close()
        # A client that never finishes its headers is closed after header_timeout_s (3 s).
        slow = socket.socket()
        slow.connect(("127.0.0.1", d.port))
        slow.sendall(b"GET /v1/conflicts HTTP/1.1\r\nHost: x\r\n")
        slow.settimeout(10)
        t0 = time.time()
        try:
            closed = slow.recv(1024) == b""
        except OSError:
            closed = True
        check(closed and 2 <= time.time() - t0 <= 9, f"headers unfinished: closed after {time.time() - t0:.1f} s")
        slow.close()
    finally:
        for sk in held:
            sk.close()
        d.stop()


def http_client(port):
    import http.client
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def alerting_settings_have_a_range(tmp):
    """warning_s and alt_step_ft (graded alerting, docs/service.md): a flag or a config line out
    of range stops the daemon before it serves, naming the key and its range."""
    conf = os.path.join(tmp, "alerting.conf")
    for args, key, rng in ((["--warning-s", "3601"], "warning_s", "0-3600"),
                           (["--warning-s", "-5"], "warning_s", "0-3600"),
                           (["--alt-step-ft", "501"], "alt_step_ft", "0-500"),
                           (["--alt-step-ft", "12.5"], "alt_step_ft", "0-500"),
                           (["--config", conf], "alt_step_ft", "0-500")):
        with open(conf, "w") as f:
            f.write("alt_step_ft = 9999\n")
        p = subprocess.run([DAEMON, "--data", os.path.join(tmp, "alerting-data"), "--listen",
                            "127.0.0.1:0", *args], capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and key in p.stderr and rng in p.stderr,
              f"deconflictd {' '.join(args)}: refused, naming {key} and {rng}")


def a_full_disk_keeps_the_line_up(tmp):
    """Answers wait for their group's sync without holding a server thread, and a group that
    cannot be written (the file size limit standing in for a full disk) is answered 503 and
    forgotten, while the line stays up and nothing stored before is lost."""
    if td.sqlite_only("a full disk under the embedded store"):
        return
    import resource
    import threading
    data = os.path.join(tmp, "disk")
    ta = td.add_party(data, "alpha")
    d = Daemon(data, extra=["--http-threads", "1"])
    # One server thread, 8 connections filing at once: none waits for another's sync.
    kept, lock = [], threading.Lock()

    def filer(k):
        conn = http_client(d.port)
        for i in range(8):
            body = json.dumps({"volumes": [td.volume(40 + k, 5 + i, 500)]})
            conn.request("POST", "/v1/operations", body=body,
                         headers={"Authorization": "Bearer " + ta, "Content-Type": "application/json"})
            r = conn.getresponse()
            answer = json.loads(r.read())
            if r.status == 201:
                with lock:
                    kept.append(answer["id"])
        conn.close()
    threads = [threading.Thread(target=filer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    check(len(kept) == 64, f"8 connections on one server thread: all 64 filings answered 201 ({len(kept)})")
    # No write can reach a file any more: as with a full disk, the group's commit fails.
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    s, pb, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(30, 5, 500)]})
    check(s == 503 and "retry" in pb["detail"], f"a filing whose group cannot be written: 503, retry ({s})")
    report = {"track_id": "D1", "t": time.time(), "lat": 30.0, "lon": 5.0, "alt_ft": 20000, "gs_kt": 300,
              "trk_deg": 90, "vs_fpm": 0}
    s, _, _ = d.request("POST", "/v1/positions", ta, [report])
    check(s == 503, f"positions that cannot be written: 503 ({s})")
    check(d.request("GET", "/healthz")[0] == 200, "the line stays up meanwhile")
    # Reads are answered 503 until the next pass has read the state anew (within a period).
    deadline = time.time() + 10
    while (s := d.request("GET", "/v1/operations", ta))[0] == 503 and time.time() < deadline:
        time.sleep(0.1)
    s, lst, _ = s
    ids = sorted(o["id"] for o in lst["operations"]) if s == 200 else None
    check(ids == sorted(kept), "what was answered 201 before is all there, and the failed filing is not")
    check(all(t["track_id"] != "D1" for t in d.request("GET", "/v1/tracks", ta)[1]["tracks"]),
          "... nor the failed positions")
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(30, 5, 500)]})
    check(s == 201, "space again: the same filing is accepted")
    kept.append(op["id"])
    d.stop(signal.SIGKILL)
    err = d.proc.stderr.read()
    check("could not be committed" in err and "reading the store's state anew" in err,
          "the daemon said why, and read its state anew")
    d = Daemon(data)
    s, lst, _ = d.request("GET", "/v1/operations", ta)
    check(sorted(o["id"] for o in lst["operations"]) == sorted(kept),
          "after kill -9: exactly the filings answered 201")
    d.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="dc_hardening_")
    try:
        one_process_per_store(tmp)
        secrets_closed(tmp)
        signature_policy(tmp)
        one_set_of_input_rules(tmp)
        report_times_have_a_range(tmp)
        alerting_settings_have_a_range(tmp)
        agreements_checked_exactly(tmp)
        thousands_of_idle_sockets(tmp)
        a_full_disk_keeps_the_line_up(tmp)
        print("hardening integration: all checks passed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
