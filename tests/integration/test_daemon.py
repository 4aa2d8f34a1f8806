#!/usr/bin/env python3
"""deconflictd over real HTTP: two parties, a strategic overlap at filing seen on both event
streams, need-to-know on every endpoint, acknowledgements, state changes, restart after kill -9,
and bad input of every kind getting its documented error while stored data stays unchanged.

Also: every route the daemon answers (--print-routes) is in docs/openapi.yaml and every
documented route is answered (probed, not 404 "no such resource").

usage: test_daemon.py BUILD_BIN_DIR OPENAPI_YAML
"""
import datetime
import atexit
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import api_record  # records every answer for tests/api/check_responses.mjs when DC_API_RECORD is set

BIN = sys.argv[1]
OPENAPI = sys.argv[2]
DAEMON = os.path.join(BIN, "deconflictd")
CLI = os.path.join(BIN, "deconflict")


# The store the daemons and the CLI use: the SQLite one in each test's data directory, or, when
# DC_TEST_PG_URL names a PostgreSQL server (tests/integration/with_pg.py starts one), a database
# of its own per data directory on that server (--store), so that the same tests cover both
# backends.
PG_URL = os.environ.get("DC_TEST_PG_URL")
_pg_made = set()


def store_args(data):
    """The flags that select the store of data: ["--data", data], or ["--store", URL]."""
    if not PG_URL:
        return ["--data", data]
    name = "dc_" + hashlib.sha1(os.path.realpath(data).encode()).hexdigest()[:20]
    if name not in _pg_made:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_URL, "-c",
                        f"CREATE DATABASE {name}"], check=True, capture_output=True)
        _pg_made.add(name)
    return ["--store", PG_URL.rsplit("/", 1)[0] + "/" + name]


def sqlite_only(what):
    """Whether a check of the SQLite store's own files is to be skipped (the store is PostgreSQL)."""
    if PG_URL:
        print(f"  skipped on PostgreSQL: {what} (the SQLite store's files)")
    return bool(PG_URL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_started = []  # every daemon a test started: none outlives the test, even a failed one


@atexit.register
def _kill_leftovers():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Daemon:
    def __init__(self, data, extra=(), store=None):
        """A daemon on data's store, or on the store flags given (["--store", URL]); --init: the
        store is created when there is none yet (the refusal is test_http_conventions')."""
        self.data = data
        self.port = free_port()
        self.proc = subprocess.Popen(
            [DAEMON, *(store or store_args(data)), "--init", "--listen", f"127.0.0.1:{self.port}", "--quiet",
             "--conformance-s", "1", "--terminal-area", "-40,100,20", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _started.append(self.proc)
        line = self.proc.stdout.readline()
        assert "listening on" in line, line + self.proc.stderr.read()

    def request(self, method, path, token=None, body=None, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        ctype = r.getheader("Content-Type", "")
        parsed = json.loads(text) if "json" in ctype and text else text
        return r.status, parsed, ctype

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        return self.proc.returncode


class Stream:
    """Reads /v1/events in a thread, collecting (id, event, data)."""

    def __init__(self, daemon, token, last_id=None):
        self.events = []
        self.keepalives = 0  # comment lines received: the stream is alive even when it is silent
        self.retry = None  # the retry: field the stream opens with
        self.conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
        h = {"Authorization": "Bearer " + token}
        if last_id is not None:
            h["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/v1/events", headers=h)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        assert self.resp.getheader("Content-Type") == "text/event-stream"
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        ev = {}
        try:
            while True:
                line = self.resp.readline()  # chunked transfer decoded
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line == "":
                    if "id" in ev:
                        api_record.record_event(ev.get("event"), ev["id"], ev.get("data"))
                        self.events.append((int(ev["id"]), ev["event"], json.loads(ev["data"])))
                    elif ev:
                        self.retry = ev.get("retry")  # the stream's first block: retry only
                    ev = {}
                elif line.startswith(":"):
                    self.keepalives += 1
                else:
                    k, _, v = line.partition(": ")
                    ev[k] = v
        except (OSError, ValueError, AttributeError):
            return  # connection closed by the test or the daemon

    def wait_for(self, kind, n=1, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            got = [e for e in self.events if e[1] == kind]
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError(f"no {kind} event within {timeout}s; got {[e[1] for e in self.events]}")

    def wait_where(self, kind, pred, timeout=8.0, what=""):
        """The first event of type kind whose data satisfies pred, waiting up to timeout."""
        end = time.time() + timeout
        while time.time() < end:
            for e in self.events:
                if e[1] == kind and pred(e[2]):
                    return e[2]
            time.sleep(0.02)
        raise AssertionError(f"no matching {kind} within {timeout}s" + (f": {what}" if what else ""))

    def wait_keepalives(self, since, n=2, timeout=10.0, unless=None):
        """Waits until n comment lines (keepalives) have arrived after the first `since` ones, or
        unless() is true. A keepalive is written only when the stream has nothing to deliver: one
        decided after an event was durable means the stream held that event back. The first one
        counted may have been decided before and still be in flight: n >= 2."""
        end = time.time() + timeout
        while self.keepalives < since + n and not (unless and unless()):
            if time.time() > end:
                raise AssertionError(f"{self.keepalives - since} of {n} keepalives within {timeout}s")
            time.sleep(0.02)

    def close(self):
        # Shut the socket down first: the reader thread is blocked in readline holding the
        # response's buffer, and a plain close() would wait for the next keepalive.
        sock = self.conn.sock or getattr(self.resp.fp, "raw", None) and self.resp.fp.raw._sock
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.thread.join(5)
        self.conn.close()


def rfc3339(text):
    """Seconds since the epoch of an RFC 3339 time as the daemon writes it (Z, 0 or 6 decimals)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def metric_value(daemon, name):
    """The value of an unlabelled series in the daemon's GET /metrics."""
    text = daemon.request("GET", "/metrics")[1]
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    assert m, f"no {name} in /metrics"
    return int(m.group(1))


def wait_passes(daemon, n=2, timeout=30.0, after=None):
    """Returns once the detection loop has run n passes since the call (after the wall clock has
    passed `after`, seconds since the epoch, when given), read from
    deconflict_detection_passes_total; fails if it has not within timeout seconds.

    This is what gives an absence check a meaning: "n passes ran and nothing happened", rather
    than "nothing happened during a sleep", which a slow or dead loop passes too. The pass that
    is running at the call may have started before it (before the action whose consequence is
    checked), so only n - 1 of the n passes are sure to have seen the action: n >= 2."""
    if after is not None and time.time() < after:
        time.sleep(after - time.time())
    start = metric_value(daemon, "deconflict_detection_passes_total")
    end = time.time() + timeout
    while True:
        done = metric_value(daemon, "deconflict_detection_passes_total") - start
        if done >= n:
            return
        if time.time() > end:
            raise AssertionError(f"the detection loop ran {done} of {n} passes in {timeout:.0f} s: "
                                 "it is slow or dead, and the absence check that waits for it "
                                 "would mean nothing")
        time.sleep(0.05)


def volume(lat, lon, radius_m, t0="2030-06-01T10:00:00Z", t1="2030-06-01T12:00:00Z", lo=0, hi=1000):
    return {"volume": {"outline_circle": {"center": {"lat": lat, "lng": lon},
                                          "radius": {"value": radius_m, "units": "M"}},
                       "altitude_lower": {"value": lo, "reference": "W84", "units": "M"},
                       "altitude_upper": {"value": hi, "reference": "W84", "units": "M"}},
            "time_start": {"value": t0, "format": "RFC3339"},
            "time_end": {"value": t1, "format": "RFC3339"}}


def health(daemon):
    """Its /healthz answer (node, store, leader...), or None when it does not answer 200."""
    try:
        s, body, _ = daemon.request("GET", "/healthz")
        return body if s == 200 else None
    except OSError:
        return None


def add_party(data, name):
    out = subprocess.run([CLI, "party", "add", name, *store_args(data)], capture_output=True,
                         text=True, check=True).stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("dct_") and len(token) == 47, out
    return token


def documented_routes(path):
    """(METHOD, /path) pairs under `paths:` of the OpenAPI document (2-space YAML indents)."""
    routes, in_paths, cur = set(), False, None
    for line in open(path):
        if line.startswith("paths:"):
            in_paths = True
        elif in_paths and line and not line.startswith(" ") and line.strip():
            break
        elif in_paths and line.startswith("  /") and line.rstrip().endswith(":"):
            cur = line.strip()[:-1]
        elif in_paths and cur and line[:4] == "    " and line[4] != " ":
            method = line.strip().rstrip(":")
            if method in ("get", "post", "put", "delete", "patch"):
                routes.add((method.upper(), cur))
    return routes


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok:", what)


def main():
    tmp = tempfile.mkdtemp(prefix="dc_daemon_test_")
    data = os.path.join(tmp, "data")
    try:
        ta, tb = add_party(data, "alpha"), add_party(data, "bravo")
        tc = add_party(data, "charlie")
        d = Daemon(data)

        # ---- the route list against the OpenAPI document, both ways ----
        served = set(tuple(l.split(" ", 1)) for l in subprocess.run(
            [DAEMON, "--print-routes"], capture_output=True, text=True, check=True).stdout.split("\n") if l)
        documented = documented_routes(OPENAPI)
        check(served - documented == set(), f"every served route is documented ({len(served)})")
        check(documented - served == set(), "every documented route is served")
        asset = re.search(r'"(/assets/[^"]+)"', str(d.request("GET", "/")[1]))  # the console's
        for method, path in sorted(served - {("GET", "/v1/events")}):  # the stream: below
            if path == "/assets/{file}" and not asset:
                print("  skipped: GET /assets/{file} (no web console built here)")
                continue
            path = asset.group(1) if path == "/assets/{file}" else path.replace("{id}", "x")
            s, body, _ = d.request(method, path, ta,
                                   raw=b"{}" if method == "POST" else None,
                                   headers={"Content-Type": "application/json"})
            routed = not (s == 404 and body.get("detail") == "no such resource")
            check(routed, f"{method} {path} is routed (status {s})")
        check(d.request("GET", "/v1/operations/x/y/z", ta)[0] == 404, "an undocumented path is 404")

        # ---- health, metrics, auth ----
        s, body, _ = d.request("GET", "/healthz")
        check(s == 200 and body["status"] == "ok", "GET /healthz")
        heads = [d.request("HEAD", p)[0] for p in ("/healthz", "/metrics")]
        check(heads == [200, 200], f"HEAD /healthz and /metrics are answered as GET is ({heads})")
        s, body, ctype = d.request("GET", "/metrics")
        check(s == 200 and 'deconflict_open_conflicts{kind="strategic",level="none"} 0' in body
              and ctype.startswith("text/plain"),
              "GET /metrics in Prometheus text format")
        for tok in (None, "dct_" + "A" * 43, ta[:-1], "Basic xyz"):
            s, body, ctype = d.request("GET", "/v1/operations", token=tok)
            check(s == 401 and body["code"] == "unauthorized" and ctype == "application/problem+json",
                  f"401 for token {str(tok)[:12]}...")

        # ---- filing: alpha, then bravo overlapping; events on both streams ----
        sa, sb, sc = Stream(d, ta), Stream(d, tb), Stream(d, tc)
        end = time.time() + 5
        while time.time() < end and sa.retry is None:
            time.sleep(0.05)
        check(sa.retry == "3000", "an event stream opens with retry: 3000 (ms a client waits to reconnect)")
        s, opa, _ = d.request("POST", "/v1/operations", ta,
                              {"priority": 1, "volumes": [volume(46.5, 7.5, 5000)]})
        check(s == 201 and opa["state"] == "planned" and opa["version"] == 1 and opa["conflicts"] == [],
              "alpha files an operation, no conflict")
        s, opb, _ = d.request("POST", "/v1/operations", tb,
                              {"priority": 2, "volumes": [volume(46.5, 7.55, 5000),
                                                          volume(47.5, 9.0, 1000)]})
        check(s == 201 and len(opb["conflicts"]) == 1, "bravo files an overlapping operation: 1 conflict")
        cb = opb["conflicts"][0]
        check(cb["other_party"] == "alpha" and cb["own_operation"] == opb["id"]
              and cb["other_operation_ref"] == opa["ref"] and cb["priority"] == "higher",
              "bravo's view: alpha, alpha's opaque ref, priority higher")
        check(len(cb["overlaps"]) == 1 and cb["overlaps"][0]["own_volume_index"] == 0
              and cb["overlaps"][0]["area_m2"] > 1e7, "one overlap, bravo's volume 0, area > 10 km2")
        na = sa.wait_for("conflict.new")[0][2]
        nb = sb.wait_for("conflict.new")[0][2]
        check(na["id"] == nb["id"] == cb["id"], "conflict.new on both parties' streams, same id")
        check(na["own_operation"] == opa["id"] and na["other_party"] == "bravo"
              and na["other_operation_ref"] == opb["ref"] and na["priority"] == "lower",
              "alpha's view: its own operation, bravo's opaque ref, priority lower")
        check(opb["id"] not in json.dumps(na) and opa["id"] not in json.dumps(nb),
              "neither side sees the other's operation id")
        def coords(geom):
            c = geom["coordinates"]
            while isinstance(c[0][0], list):
                c = [p for part in c for p in part]
            return c
        pts = [p for o in na["overlaps"] for p in coords(o["footprint"])]
        check(len(na["overlaps"]) == 1 and pts and all(p[1] < 47 and p[0] < 8 for p in pts),
              "alpha's view does not disclose bravo's other volume (47.5 N 9.0 E)")
        sa.wait_for("operation.created")
        check(not any(e[1] == "operation.created" and e[2]["id"] == opa["id"] for e in sb.events),
              "bravo's stream does not carry alpha's operation.created")
        # A barrier, not a sleep: a message sent to charlie after both filings is streamed to it
        # after anything of theirs would have been (one event sequence, streamed in order).
        s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "charlie", "category": "free_text",
                                                           "fields": {"text": "radio check"}})
        sc.wait_where("message.new", lambda v: v["id"] == body["messages"][0]["id"])
        check([e[1] for e in sc.events] == ["message.new"],
              "charlie's stream carries nothing of alpha or bravo (up to a later message to charlie)")

        # ---- need-to-know on every read endpoint ----
        s, lst, _ = d.request("GET", "/v1/operations", ta)
        check(s == 200 and [o["id"] for o in lst["operations"]] == [opa["id"]], "alpha lists only its operation")
        s, lst, _ = d.request("GET", "/v1/operations", tc)
        check(s == 200 and lst["operations"] == [], "charlie lists no operation")
        s, body, _ = d.request("GET", "/v1/operations/" + opb["id"], ta)
        check(s == 404 and body["code"] == "not_found", "alpha gets 404 for bravo's operation id")
        s, body, _ = d.request("GET", "/v1/operations/" + opa["id"], ta)
        check(s == 200 and body["id"] == opa["id"], "alpha gets its own operation")
        s, lst, _ = d.request("GET", "/v1/conflicts", tc)
        check(s == 200 and lst["conflicts"] == [], "charlie lists no conflict")
        s, body, _ = d.request("GET", "/v1/conflicts/" + cb["id"], tc)
        check(s == 404, "charlie gets 404 for the alpha-bravo conflict")
        s, body, _ = d.request("POST", "/v1/conflicts/" + cb["id"] + "/ack", tc)
        check(s == 404, "charlie cannot acknowledge it")
        s, body, _ = d.request("POST", f"/v1/operations/{opa['id']}/cancel", tb)
        check(s == 404, "bravo cannot cancel alpha's operation")
        s, body, _ = d.request("GET", "/v1/conflicts/" + cb["id"], ta)
        check(s == 200 and body["own_operation"] == opa["id"], "alpha reads the conflict in its own view")
        for tok, name in ((ta, "alpha"), (tb, "bravo"), (tc, "charlie")):
            everything = ""
            for path in ("/v1/operations", "/v1/conflicts"):
                everything += json.dumps(d.request("GET", path, tok)[1])
            # Timestamps hold arbitrary digit runs ("...:46.512Z"): not what is looked for.
            everything = re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '""', everything)
            foreign = {"alpha": [opb["id"], "47.5"],  # bravo's id and its other volume
                       "bravo": [opa["id"]],
                       "charlie": [opa["id"], opb["id"], "alpha", "bravo", opa["ref"], opb["ref"],
                                   "46.5"]}[name]
            check(all(f not in everything for f in foreign),
                  f"nothing foreign in {name}'s listings")

        # ---- acknowledgement: per party ----
        s, body, _ = d.request("POST", f"/v1/conflicts/{cb['id']}/ack", ta)
        check(s == 200 and body["acknowledged"] is True, "alpha acknowledges")
        s, body, _ = d.request("GET", f"/v1/conflicts/{cb['id']}", tb)
        check("acknowledged" not in body, "bravo's view is not acknowledged by alpha's ack")
        sa.wait_for("conflict.acked")

        # ---- bad input: documented errors, nothing stored ----
        s, before, _ = d.request("GET", "/v1/operations", tb)
        bad = [
            (b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json", None),
            (b"[1,2]", {"Content-Type": "application/json"}, 400, "invalid_json", None),
            (json.dumps({"volumes": {}}).encode(), {"Content-Type": "application/json"}, 400,
             "invalid_argument", "volumes"),
            (json.dumps({"volumes": [], "priority": "high"}).encode(), {"Content-Type": "application/json"},
             400, "invalid_argument", "priority"),
            (json.dumps({"volumes": [volume(46, 7, 100, t0="2030-06-01T12:00:00Z",
                                            t1="2030-06-01T10:00:00Z")]}).encode(),
             {"Content-Type": "application/json"}, 400, None, "volumes/0/time_end"),
            (json.dumps({"volumes": [volume(46, 7, 100, lo=500, hi=100)]}).encode(),
             {"Content-Type": "application/json"}, 400, None, "volumes/0/volume/altitude_upper"),
            (b"{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type", "Content-Type"),
        ]
        for raw, headers, status, code, field in bad:
            s, body, ctype = d.request("POST", "/v1/operations", tb, raw=raw, headers=headers)
            ok = s == status and ctype == "application/problem+json" and body["status"] == status
            ok = ok and (code is None or body["code"] == code)
            ok = ok and (field is None or body.get("field", "").startswith(field))
            check(ok, f"{status} {body.get('code')} field={body.get('field')} for {raw[:40]!r}")
        d2 = Daemon(os.path.join(tmp, "small"), ["--max-body-bytes", "2048"])
        tsmall = add_party(d2.data, "x")
        s, body, _ = d2.request("POST", "/v1/operations", tsmall, raw=b"[" + b"0," * 5000 + b"0]",
                                headers={"Content-Type": "application/json"})
        check(s == 413 and body["code"] == "too_large", "413 for a body over --max-body-bytes")
        d2.stop()
        d3 = Daemon(os.path.join(tmp, "rate"), ["--rate-limit-rps", "2", "--rate-limit-burst", "5"])
        t1, t2 = add_party(d3.data, "fast"), add_party(d3.data, "slow")
        codes = [d3.request("GET", "/v1/operations", t1)[0] for _ in range(7)]
        s, body, _ = d3.request("GET", "/v1/operations", t1)
        check(codes[:5] == [200] * 5 and 429 in codes[5:] and s == 429 and body["code"] == "rate_limited"
              and body["retry_after_s"] > 0, "429 rate_limited past the per-party burst, with retry_after_s")
        check(d3.request("GET", "/v1/operations", t2)[0] == 200, "another party is not limited by it")
        d3.stop()
        s, after, _ = d.request("GET", "/v1/operations", tb)
        check(after == before, "bad requests left bravo's operations unchanged")
        s, body, _ = d.request("GET", "/v1/nothing", ta)
        check(s == 404, "404 for an unknown route")

        # ---- idempotency ----
        key = {"Idempotency-Key": "file-1"}
        s1, r1, _ = d.request("POST", "/v1/operations", tc, {"volumes": [volume(10, 10, 100)]}, headers=key)
        s2, r2, _ = d.request("POST", "/v1/operations", tc, {"volumes": [volume(10, 10, 100)]}, headers=key)
        s, lst, _ = d.request("GET", "/v1/operations", tc)
        check(s1 == s2 == 201 and r1["id"] == r2["id"] and len(lst["operations"]) == 1,
              "a repeated Idempotency-Key files once and answers the same")

        # ---- stream limit ----
        extra = []
        try:
            for _ in range(8):
                extra.append(Stream(d, tc))
        except AssertionError:
            pass
        s, body, _ = d.request("GET", "/v1/events", tc)
        check(s == 429 and body["code"] == "too_many_streams", "429 past the per-party stream limit")
        for st in extra:
            st.close()

        # ---- update with optimistic concurrency ----
        s, opd, _ = d.request("POST", "/v1/operations", tc, {"priority": 5, "volumes": [volume(-30, 20, 2000)]})
        check(s == 201 and opd["conflicts"] == [], "charlie files a separate operation")
        s, body, _ = d.request("PUT", "/v1/operations/" + opd["id"], tc, {"priority": 6})
        check(s == 400 and body["field"] == "version", "PUT without version: 400 naming it")
        sb_upd = Stream(d, tb)
        s, upd, _ = d.request("PUT", "/v1/operations/" + opd["id"], tc,
                              {"version": 1, "volumes": [volume(46.5, 7.56, 3000)]})
        check(s == 200 and upd["version"] == 2
              and sorted(c["other_party"] for c in upd["conflicts"]) == ["alpha", "bravo"],
              "moved onto alpha's and bravo's operations: v2, 2 conflicts")
        check(upd["changes"][-1]["fields"] == ["volumes"], "the change log names the field")
        nb_upd = sb_upd.wait_for("conflict.new")[0][2]
        check(nb_upd["other_party"] == "charlie", "bravo is told of the new conflict")
        s, body, _ = d.request("PUT", "/v1/operations/" + opd["id"], tc, {"version": 1, "priority": 9})
        check(s == 409 and body["code"] == "stale_version" and body["current_version"] == 2
              and [c["fields"] for c in body["changes"]] == [["volumes"]],
              "stale version: 409 with the current version and what changed since")
        s, body, _ = d.request("PUT", "/v1/operations/" + opd["id"], tc,
                               {"version": 2, "volumes": [volume(46, 7, 100, lo=500, hi=100)]})
        check(s == 400 and body["field"].startswith("volumes/0/"), "PUT with a bad volume: 400, nothing changed")
        s, upd3, _ = d.request("PUT", "/v1/operations/" + opd["id"], tc,
                               {"version": 2, "volumes": [volume(-30, 20, 2000)], "priority": 7})
        check(s == 200 and upd3["version"] == 3 and upd3["conflicts"] == []
              and sorted(upd3["changes"][-1]["fields"]) == ["priority", "volumes"], "moved away again: v3")
        rb_upd = sb_upd.wait_for("conflict.resolved")[0][2]
        check(rb_upd["id"] == nb_upd["id"], "bravo is told that conflict is resolved")
        s, body, _ = d.request("PUT", "/v1/operations/" + opd["id"], ta, {"version": 3, "priority": 1})
        check(s == 404, "another party cannot update it")
        sb_upd.close()
        s, body, _ = d.request("POST", f"/v1/operations/{opd['id']}/cancel", tc)

        # ---- state change resolves the conflict for both ----
        s, body, _ = d.request("POST", f"/v1/operations/{opa['id']}/activate", ta)
        check(s == 200 and body["state"] == "active", "alpha activates")
        s, body, _ = d.request("POST", f"/v1/operations/{opa['id']}/cancel", ta)
        check(s == 200 and body["state"] == "cancelled", "alpha cancels")
        s, body, _ = d.request("POST", f"/v1/operations/{opa['id']}/activate", ta)
        check(s == 409 and body["code"] == "invalid_transition", "409 for cancelled -> active")
        end = time.time() + 5
        while time.time() < end and not any(e[1] == "conflict.resolved" and e[2]["id"] == cb["id"]
                                            for e in sb.events):
            time.sleep(0.02)
        rb = [e[2] for e in sb.events if e[1] == "conflict.resolved" and e[2]["id"] == cb["id"]]
        check(rb and rb[0]["state"] == "resolved", "bravo is told the alpha-bravo conflict is resolved")
        s, res_, _ = d.request("GET", "/v1/conflicts?state=resolved", tb)
        s2, open_, _ = d.request("GET", "/v1/conflicts?state=open", tb)
        check(cb["id"] in [c["id"] for c in res_["conflicts"]] and all(c["state"] == "resolved" for c in res_["conflicts"])
              and cb["id"] not in [c["id"] for c in open_["conflicts"]] and all(c["state"] == "open" for c in open_["conflicts"]),
              "?state= filters conflicts")
        s, ops_, _ = d.request("GET", "/v1/operations?state=cancelled", ta)
        check([o["id"] for o in ops_["operations"]] == [opa["id"]], "?state= filters operations")
        last_b = max(e[0] for e in sb.events)

        # ---- tactical: positions in, conflict.new to both parties within two periods ----
        now = time.time()
        # Head-on at FL350, 0.3 deg of longitude apart (12.5 NM), closing at 900 kt: separation
        # is lost in ~30 s, inside the 120 s look-ahead.
        def report(tid, lon, trk, cs, t):
            return {"track_id": tid, "t": t, "lat": 46.0, "lon": lon, "alt_ft": 35000,
                    "gs_kt": 450, "trk_deg": trk, "vs_fpm": 0, "callsign": cs}
        sa2, sb2_ = Stream(d, ta), Stream(d, tb)
        s, body, _ = d.request("POST", "/v1/positions", ta,
                               [report("A1", 7.0, 90, "ALPHA1", now),
                                {"track_id": "bad id", "t": now},
                                dict(report("A|9", 7.0, 90, "ALPHA9", now)),
                                dict(report("A2", 7.0, 90, "ALPHA2", now), lat=91),
                                report("A3", 9.0, 0, "ALPHA3", now)])
        check(s == 200 and body["accepted"] == 2
              and [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "track_id"), (2, "track_id"), (3, "lat")],
              "positions: partial acceptance, rejected items named by index and field")
        s, body, _ = d.request("POST", "/v1/positions", tb, [report("B1", 7.3, 270, "BRAVO1", now)])
        check(s == 200 and body["accepted"] == 1, "bravo's aircraft accepted")
        t_sent = time.time()
        ea = sa2.wait_for("conflict.new", timeout=6)[0][2]
        eb = sb2_.wait_for("conflict.new", timeout=6)[0][2]
        check(time.time() - t_sent < 2 * 1.0 + 1.5, "conflict.new within two detection periods (+ slack)")
        check(ea["kind"] == "tactical" and ea["id"] == eb["id"] and ea["own_track"] == "A1"
              and eb["own_track"] == "B1" and ea["other_party"] == "bravo" and eb["other_party"] == "alpha",
              "both parties told, each about its own track and the other party")
        check(ea["level"] in ("advisory", "warning", "loss") and 0 < ea["time_to_loss_s"] < 60,
              f"level {ea['level']}, time to loss {ea['time_to_loss_s']:.0f} s")
        check(abs(ea["other_aircraft"]["lon"] - 7.3) < 1e-6 and abs(eb["other_aircraft"]["lon"] - 7.0) < 1e-6,
              "each sees the other aircraft's position at the alert")
        check("BRAVO1" not in json.dumps(ea) and "B1" not in json.dumps(ea["other_aircraft"])
              and "ALPHA" not in json.dumps(eb), "no callsign or track id of the other party")
        s, body, _ = d.request("GET", "/v1/tracks", tb)
        check(s == 200 and [t["track_id"] for t in body["tracks"]] == ["B1"]
              and body["tracks"][0]["callsign"] == "BRAVO1", "bravo's tracks: only its own")
        s, body, _ = d.request("GET", "/v1/tracks", tc)
        check(body["tracks"] == [] and body["disclosed"] == [], "charlie sees no tracks")
        # The console's picture of the other aircraft: only while in conflict, as disclosed.
        s, body, _ = d.request("GET", "/v1/tracks", tb)
        dis = body["disclosed"]
        check(len(dis) == 1 and dis[0]["conflict_id"] == eb["id"] and abs(dis[0]["lon"] - 7.0) < 1e-6
              and "track_id" not in dis[0] and "callsign" not in dis[0] and "ALPHA" not in json.dumps(body),
              "bravo's tracks disclose alpha's A1 under the conflict's id only (not A3, not its id)")
        # The time slider's history: each party's own samples and events only.
        s, hist, _ = d.request("GET", "/v1/history", ta)
        ids = {x[0] for x in hist["samples"]}
        check(s == 200 and ids == {"A1", "A3"} and not hist["truncated"]
              and any(e["type"] == "conflict.new" and e["data"]["id"] == ea["id"] for e in hist["events"]),
              "alpha's history: its samples (A1, A3) and its conflict.new")
        s, hist_b, _ = d.request("GET", "/v1/history", tb)
        check({x[0] for x in hist_b["samples"]} == {"B1"} and "ALPHA" not in json.dumps(hist_b)
              and "A3" not in {x[0] for x in hist_b["samples"]}, "bravo's history holds none of alpha's")
        s, hist_c, _ = d.request("GET", "/v1/history", tc)
        check(hist_c["samples"] == [] and not any(x in json.dumps(hist_c) for x in
                                                  ("ALPHA1", "ALPHA3", "BRAVO1", ea["id"])),
              "charlie's history holds nothing of their tracks or their conflict")
        s, h2, _ = d.request("GET", f"/v1/history?from={now + 3600:.0f}&to={now + 3700:.0f}", ta)
        check(s == 200 and h2["samples"] == [] and h2["events"] == [], "an empty window is empty")
        for q, field in (("from=yesterday", "from"), ("to=1e99", "to"), ("step_s=-1", "step_s"),
                         (f"from={now:.0f}&to={now - 10:.0f}", "from"),
                         (f"from={now - 90000:.0f}&to={now:.0f}", "from")):
            s, pb, _ = d.request("GET", f"/v1/history?{q}", ta)
            check(s == 400 and pb["field"] == field, f"history ?{q}: 400 naming {field}")
        s, body, _ = d.request("POST", "/v1/positions", ta, {"not": "an array"})
        check(s == 400 and body["code"] == "invalid_json", "positions: 400 for a non-array")
        s, body, _ = d.request("POST", "/v1/positions", ta, [report("X", 7, 0, "X", now)] * 10001)
        check(s == 413 and body["code"] == "limit_exceeded", "positions: 413 past 10,000 reports")
        s, m, _ = d.request("GET", "/metrics")
        check("deconflict_positions_total 3" in m and "deconflict_live_tracks 3" in m,
              "metrics count positions and live tracks")
        s, body, _ = d.request("POST", "/v1/positions", ta,
                               [dict(report("S1", 9.5, 0, "ALPHA4", now), alt_step_ft=600),
                                dict(report("S2", 9.5, 0, "ALPHA4", now), selected_alt_ft=1e9),
                                dict(report("S3", 9.5, 0, "ALPHA4", now), alt_step_ft="25"),
                                dict(report("S4", 9.6, 0, "ALPHA4", now), alt_step_ft=100,
                                     selected_alt_ft=37000)])
        check(s == 200 and body["accepted"] == 1 and [(r["index"], r["field"]) for r in body["rejected"]]
              == [(0, "alt_step_ft"), (1, "selected_alt_ft"), (2, "alt_step_ft")],
              "a report's source: alt_step_ft 0-500 and selected_alt_ft within the altitude range, named when not")

        # ---- missing data: a conflict whose reports stop says so instead of vanishing ----
        t_old = time.time() - 24  # coasting already; the engine stops predicting at 30 s
        d.request("POST", "/v1/positions", ta, [dict(report("S1", 7.0, 90, "ALPHA9", t_old), lat=40.0)])
        d.request("POST", "/v1/positions", tb, [dict(report("S2", 7.3, 270, "BRAVO9", t_old), lat=40.0)])
        new_s = [e for e in sa2.wait_for("conflict.new", n=2, timeout=6) if e[2]["own_track"] == "S1"]
        check(new_s and new_s[0][2]["data"] == "live", "a conflict on coasting tracks is raised")
        s, _, _ = d.request("POST", f"/v1/conflicts/{new_s[0][2]['id']}/ack", tb)
        check(s == 200, "bravo acknowledges it before it goes stale")
        s, body, _ = d.request("GET", "/v1/tracks", ta)
        st = {t["track_id"]: t["status"] for t in body["tracks"]}
        check(st["S1"] == "coasting" and st["A1"] == "live", "tracks report live / coasting by report age")
        end = time.time() + 12
        stale = []
        while time.time() < end and not stale:
            stale = [e for e in sb2_.events if e[1] == "conflict.update" and e[2]["own_track"] == "S2"
                     and e[2]["data"] == "stale"]
            time.sleep(0.05)
        check(stale and stale[0][2]["state"] == "open",
              "when the reports go stale the conflict stays open, marked stale, on the other side too")
        check(stale[0][2].get("acknowledged") is True and stale[0][2].get("acknowledged_at"),
              "the update keeps bravo's acknowledgement (it is not undone by the detection loop)")
        check(not any(e[1] == "conflict.resolved" and e[2]["own_track"] == "S2" for e in sb2_.events),
              "and is not reported resolved")
        # ---- minima by airspace: 2000 ft above FL410, 3 NM in a terminal area ----
        now2 = time.time()
        def rep(tid, lat, lon, trk, alt):
            return {"track_id": tid, "t": now2, "lat": lat, "lon": lon, "alt_ft": alt, "gs_kt": 450,
                    "trk_deg": trk, "vs_fpm": 0}
        off = 4.0 / 60  # 4 NM north: the pair passes 4 NM apart
        d.request("POST", "/v1/positions", ta, [rep("H1", 10, 0.0, 90, 42000), rep("L1", 12, 0.0, 90, 30000),
                                                rep("T1", -40, 100.0, 90, 30000), rep("E1", 20, 0.0, 90, 30000)])
        d.request("POST", "/v1/positions", tb, [rep("H2", 10, 0.3, 270, 43500), rep("L2", 12, 0.3, 270, 31500),
                                                rep("T2", -40 + off, 100.4, 270, 30000),
                                                rep("E2", 20 + off, 0.4, 270, 30000)])
        # H1 and E1 must conflict, L1 and T1 must not. E2 was the last of bravo's reports: a pass
        # that judged the E pair judged the L and T pairs too, so once E1's alert is raised (2
        # passes in conflict) theirs would have been, by the same pass or before. Read back, not
        # streamed.
        for own in ("H1", "E1"):
            sa2.wait_where("conflict.new", lambda v: v["kind"] == "tactical" and v["own_track"] == own,
                           what=f"{own}'s alert, the control for the ones that must not be raised")
        raised = {e[2]["own_track"]: e[2] for e in sa2.events if e[1] == "conflict.new" and e[2]["kind"] == "tactical"}
        held = {c["own_track"] for c in d.request("GET", "/v1/conflicts", ta)[1]["conflicts"] if "own_track" in c}
        check("H1" in raised and raised["H1"]["minima"] == {"profile": "high", "h_nm": 5, "v_ft": 2000},
              "1500 ft apart above FL410: a conflict under the 2000 ft minimum")
        check("L1" not in raised and "L1" not in held,
              "1500 ft apart at FL300: none under the 1000 ft minimum (by the passes that raised E1)")
        check("E1" in raised and raised["E1"]["minima"]["profile"] == "enroute",
              "passing 4 NM apart en route: a conflict under 5 NM")
        check("T1" not in raised and "T1" not in held,
              "the same pass inside a terminal area: none under 3 NM (by the passes that raised E1)")

        # ---- conformance: a track inside another party's active operation, or outside its own ----
        def iso(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        live_vol = volume(-20.0, 30.0, 5000, t0=iso(time.time() - 600), t1=iso(time.time() + 3600), hi=3000)
        s, ope, _ = d.request("POST", "/v1/operations", ta, {"volumes": [live_vol], "state": "active"})
        check(s == 201 and ope["state"] == "active", "alpha flies an active operation (5 km circle, 0-3000 m)")
        s, body, _ = d.request("POST", "/v1/positions", tb,
                               [dict(report("I1", 30.01, 0, "BRAVO7", time.time()), lat=-20.0, alt_ft=3000)])
        check(body["accepted"] == 1, "bravo reports an aircraft 1 km inside it")
        ia = sa2.wait_where("conflict.new", lambda v: v["kind"] == "intrusion")
        ib = sb2_.wait_where("conflict.new", lambda v: v["kind"] == "intrusion")
        check(ia["id"] == ib["id"] and ia["level"] == ib["level"] == "inside" and "ack_due" in ia,
              "intrusion: conflict.new to both parties, level inside, to be acknowledged")
        check(ia["own_operation"] == ope["id"] and ia["other_party"] == "bravo"
              and abs(ia["other_aircraft"]["lon"] - 30.01) < 1e-6 and "BRAVO7" not in json.dumps(ia),
              "alpha: its operation, bravo, the aircraft's position -- no callsign")
        check(ib["own_track"] == "I1" and ib["other_operation_ref"] == ope["ref"]
              and ope["id"] not in json.dumps(ib), "bravo: its track, alpha's operation by ref only")
        d.request("POST", "/v1/positions", tb,
                  [dict(report("I1", 30.2, 0, "BRAVO7", time.time()), lat=-20.0, alt_ft=3000)])
        check(sb2_.wait_where("conflict.resolved", lambda v: v["id"] == ib["id"]) is not None,
              "the aircraft leaves: resolved")
        s, body, _ = d.request("POST", "/v1/positions", ta,
                               [dict(report("N1", 31.0, 0, "ALPHA5", time.time()), lat=-20.0, alt_ft=3000,
                                     operation_id=ope["id"]),
                                dict(report("N2", 31.0, 0, "ALPHA6", time.time()), operation_id=opb["id"])])
        check(body["accepted"] == 1 and body["rejected"][0]["field"] == "operation_id",
              "operation_id must be one of the reporter's own operations")
        na_ = sa2.wait_where("conflict.new", lambda v: v["kind"] == "nonconforming")
        check(na_["own_track"] == "N1" and na_["own_operation"] == ope["id"],
              "own track outside its own active operation: nonconforming, to the owner")
        d.request("POST", "/v1/positions", tb,
                  [dict(report("I2", 30.01, 0, "BRAVO8", time.time()), lat=-20.0, alt_ft=3000)])
        sa2.wait_where("conflict.new", lambda v: v["kind"] == "intrusion" and v["id"] != ia["id"])
        # I2's intrusion is raised in a later pass than N1's nonconformance: on bravo's stream it
        # comes after anything of N1's would have.
        sb2_.wait_where("conflict.new", lambda v: v["kind"] == "intrusion" and v["own_track"] == "I2",
                        what="bravo's I2 intrusion, the barrier for N1's nonconformance")
        check(not any(e[2].get("kind") == "nonconforming" for e in sb2_.events),
              "and to nobody else (bravo's stream, up to its later intrusion alert)")
        # Predicted: P1 heads north toward alpha's operation from 27.8 km south of its centre
        # (22.8 km from its edge at 450 kt: about 99 s, beyond the 90 s warning time).
        d.request("POST", "/v1/positions", tb,
                  [dict(report("P1", 30.0, 0, "BRAVO9", time.time()), lat=-20.25, alt_ft=3000)])
        pa = sa2.wait_where("conflict.new", lambda v: v["kind"] == "intrusion" and v.get("level") != "inside",
                            what="P1's predicted intrusion")
        pb = sb2_.wait_where("conflict.new", lambda v: v["kind"] == "intrusion" and v["own_track"] == "P1")
        check(pa["id"] == pb["id"] and pa["level"] == "advisory" and 90 < pa["time_to_entry_s"] <= 120
              and "ack_due" not in pa and pa["own_operation"] == ope["id"] and "BRAVO9" not in json.dumps(pa),
              f"a predicted intrusion: an advisory to both, {pa.get('time_to_entry_s')} s before entry, "
              "no acknowledgement owed, no callsign")
        # No new report: P1 flies on as extrapolated, and within the warning time it is a warning.
        pw = sa2.wait_where("conflict.update", lambda v: v["id"] == pa["id"] and v["level"] == "warning",
                            timeout=20, what="P1's intrusion becoming a warning")
        check(pw["time_to_entry_s"] <= 90 and "ack_due" in pw,
              "within 90 s of entry: a warning, and now to be acknowledged")
        d.request("POST", "/v1/positions", tb,
                  [dict(report("P1", 30.0, 180, "BRAVO9", time.time()), lat=-20.6, alt_ft=3000)])
        check(sb2_.wait_where("conflict.resolved", lambda v: v["id"] == pa["id"]) is not None,
              "P1 turns away: the predicted intrusion is resolved")
        # An operation still planned whose window is current counts as in force.
        planned_vol = volume(-25.0, 30.0, 5000, t0=iso(time.time() - 600), t1=iso(time.time() + 3600), hi=3000)
        s, opp, _ = d.request("POST", "/v1/operations", ta, {"volumes": [planned_vol]})
        check(s == 201 and opp["state"] == "planned", "alpha files a planned operation, its window current")
        d.request("POST", "/v1/positions", tb,
                  [dict(report("Q1", 30.01, 0, "BRAVO10", time.time()), lat=-25.0, alt_ft=3000)])
        qa = sa2.wait_where("conflict.new", lambda v: v["kind"] == "intrusion" and v.get("own_operation") == opp["id"],
                            what="Q1's intrusion into the planned operation")
        check(qa["level"] == "inside", "an aircraft inside it is an intrusion while the operation is still planned")
        sa2.close(), sb2_.close()

        # ---- concurrent filings: group commit answers each only once it is synced ----
        def metric(name):
            text = d.request("GET", "/metrics")[1]
            return int(re.search(rf"^{name} (\d+)$", text, re.M).group(1))
        syncs0, commits0 = metric("deconflict_store_syncs_total"), metric("deconflict_store_commits_total")
        burst_ids, burst_status = [], []
        def file_burst(k):
            for i in range(10):
                s, body, _ = d.request("POST", "/v1/operations", tc,
                                       {"volumes": [volume(-60 + k, -100 + 2 * i, 500)]})
                burst_status.append(s)
                if s == 201:
                    burst_ids.append(body["id"])
        threads = [threading.Thread(target=file_burst, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(burst_status == [201] * 80, "80 filings on 8 connections at once: all 201")
        syncs1, commits1 = metric("deconflict_store_syncs_total"), metric("deconflict_store_commits_total")
        check(commits1 - commits0 >= 80 and 1 <= syncs1 - syncs0 <= commits1 - commits0,
              f"each filing committed, synced by a shared sync ({commits1 - commits0} commits, "
              f"{syncs1 - syncs0} syncs)")

        # ---- kill -9 and restart: every acknowledged write is there ----
        sa.close(), sb.close(), sc.close()
        def open_conflicts(tok):
            return {(c["id"], c["kind"]) for c in d.request("GET", "/v1/conflicts?state=open", tok)[1]["conflicts"]}
        open_before = open_conflicts(ta) | open_conflicts(tb)
        check({"intrusion", "nonconforming", "tactical"} <= {k for _, k in open_before},
              "before the restart: open intrusion, nonconforming and tactical conflicts")
        d.stop(signal.SIGKILL)
        d = Daemon(data)
        s, lst, _ = d.request("GET", "/v1/operations", tb)
        check(s == 200 and [o["id"] for o in lst["operations"]] == [opb["id"]], "bravo's operation survived kill -9")
        s, body, _ = d.request("GET", "/v1/operations/" + opa["id"], ta)
        check(s == 200 and body["state"] == "cancelled", "alpha's cancellation survived")
        s, body, _ = d.request("GET", f"/v1/conflicts/{cb['id']}", ta)
        check(s == 200 and body["state"] == "resolved" and body.get("acknowledged") is True,
              "the conflict's state and alpha's ack survived")
        s, body, _ = d.request("GET", "/v1/tracks", ta)
        check(sorted(t["track_id"] for t in body["tracks"]) == ["A1", "A3", "E1", "H1", "L1", "N1", "S1", "S4", "T1"],
              "alpha's tracks survived")
        s, lst, _ = d.request("GET", "/v1/operations", tc)
        check(set(burst_ids) <= {o["id"] for o in lst["operations"]},
              "every one of the 80 concurrent filings survived kill -9")
        # Every pass of this daemon ran after the restart; each checks every track (conformance
        # round 1 s = 1 pass), and a tactical pair is raised after m of 4 = 2 passes.
        wait_passes(d, 2)
        open_after = open_conflicts(ta) | open_conflicts(tb)
        check(open_after <= open_before,
              "after the restart the detection loop continues its open conflicts: none raised again "
              f"under a new id ({sorted(k for _, k in open_after - open_before)})")
        sb2 = Stream(d, tb, last_id=0)
        sb2.wait_for("conflict.resolved")
        end = time.time() + 5
        while time.time() < end and max(e[0] for e in sb2.events) < last_b:
            time.sleep(0.02)
        check(max(e[0] for e in sb2.events) >= last_b, "replay from Last-Event-ID 0 reaches the last event seen")
        sb3 = Stream(d, tb, last_id=last_b)
        # A new overlapping filing after the restart: the restored engine still knows bravo's op.
        s, opc, _ = d.request("POST", "/v1/operations", tc, {"volumes": [volume(46.5, 7.56, 3000)]})
        check(s == 201 and len(opc["conflicts"]) == 1 and opc["conflicts"][0]["other_party"] == "bravo",
              "the engine was restored: a new filing conflicts with bravo's operation")
        got = sb3.wait_for("conflict.new")
        check(all(e[0] > last_b for e in sb3.events), "resuming with Last-Event-ID skips what was seen")
        sb2.close(), sb3.close()
        rc = d.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM: clean shutdown, exit 0")
        print("deconflictd integration: all checks passed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
