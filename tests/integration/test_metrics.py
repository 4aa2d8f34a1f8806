#!/usr/bin/env python3
"""deconflictd's /metrics judged by Prometheus's own tools, and the Grafana dashboard against it.

The daemon gets traffic a duty supervisor watches: two parties' aircraft 1 NM apart (a tactical
loss of separation), an event stream open, one party acknowledging and the other late (escalated),
a hotline message awaiting its acknowledgement. Then:

  - `promtool check metrics` over the live text finds nothing (exit 0 and no output: promtool
    2.42 exits 3 on a lint problem, others print and exit 0), and it does complain about the old
    `deconflict_detection_pass_ms`, so its silence means something;
  - every family has HELP and TYPE, `_total` is on counters only, no name has an abbreviated
    unit, and nothing of a party (name, token, track, callsign) is in the text;
  - the values: open conflicts {kind="tactical",level="loss"} 1 and every other (kind, level) 0,
    acknowledgements owed 2, then 1 after one party's, overdue 1 once the other is escalated,
    hotline messages owed 1, subscribers 1 while the stream is open and 0 after, positions 2,
    the pass histogram cumulative with +Inf = count;
  - the dashboard (packaging/grafana/deconflict-dashboard.json) is importable (schemaVersion,
    the ${DS_PROMETHEUS} input every panel uses), has a panel for each figure, uses only metric
    names the daemon serves, and its expressions are valid PromQL (`promtool check rules`);
  - a real Prometheus (the same package's binary, on a temporary port and directory) scrapes the
    daemon with the metrics token (metrics_token_file, as docs/deployment.md configures a remote
    one), and every panel's query returns data, the open conflicts' at level loss 1.

usage: test_metrics.py BIN_DIR OPENAPI_YAML DASHBOARD_JSON"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_record  # noqa: E402
import test_daemon as td  # noqa: E402

check = td.check
DASHBOARD = sys.argv[3]
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
ACK_S = 4  # --conflict-ack-s: short, so that the late party is escalated within the test


METRICS_TOKEN = "m-" + os.urandom(16).hex()  # /metrics asks for it (metrics_token_file), as from afar


def metrics(d):
    s, text, ctype = d.request("GET", "/metrics", token=METRICS_TOKEN)
    assert s == 200 and ctype.startswith("text/plain"), (s, ctype)
    return text


def samples(text):
    """{'name{labels}': value} of a Prometheus text, labels as written."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def promtool_metrics(text):
    """promtool check metrics over text: (exit status, everything it printed)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def wait_value(d, key, want, timeout=10.0):
    end = time.time() + timeout
    while True:
        got = samples(metrics(d)).get(key)
        if got == want or time.time() > end:
            return got
        time.sleep(0.1)


def check_conventions(text, secrets):
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    helps = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
    def family(name):  # a histogram's _bucket, _sum and _count belong to its family
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        return base if types.get(base) == "histogram" else name
    families = {family(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", k).group(0)) for k in samples(text)}
    check(families == set(types) == helps, f"every one of {len(families)} families has HELP and TYPE")
    check(all(n.endswith("_total") == (t == "counter") for n, t in types.items()),
          "_total on counters only, and on every counter")
    check(not [n for n in types if re.search(r"_(ms|millis|milliseconds|kb|mb|minutes|hours)(_|$)", n)],
          "no name with an abbreviated or non-base unit")
    leaked = [s for s in secrets if s in text]
    check(not leaked, "nothing of a party in /metrics (names, tokens, tracks, callsigns)" +
          (f": found {leaked}" if leaked else ""))


def dashboard_exprs(dash):
    """[(panel title, expr)] of every target."""
    return [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]


def as_grafana_would(expr):
    """The expression as Grafana sends it: its variables replaced (the job, the rate interval)."""
    return expr.replace("$__rate_interval", "5s").replace('"$job"', '"deconflict"')


def check_dashboard(dash, live_names, tmp):
    check(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 30
          and dash.get("uid") and dash.get("title"), f"dashboard: schemaVersion {dash.get('schemaVersion')}, uid, title")
    inputs = [i for i in dash.get("__inputs", []) if i.get("name") == "DS_PROMETHEUS"]
    check(len(inputs) == 1 and inputs[0]["type"] == "datasource" and inputs[0]["pluginId"] == "prometheus",
          "dashboard: a Prometheus datasource input DS_PROMETHEUS")
    ds_ok = all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" and
                all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in p["targets"]) for p in dash["panels"])
    check(ds_ok, f"dashboard: all {len(dash['panels'])} panels and their queries use ${{DS_PROMETHEUS}}")
    exprs = dashboard_exprs(dash)
    uses = lambda name: any(name in e for _, e in exprs)  # noqa: E731
    wanted = {"open conflicts by level": "deconflict_open_conflicts",
              "unacknowledged alerts": "deconflict_conflict_acks_owed",
              "pass time": "deconflict_detection_pass_seconds_bucket",
              "ingest rate": "deconflict_positions_total",
              "stream clients": "deconflict_event_subscribers"}
    check(all(uses(m) for m in wanted.values()), "dashboard: a panel for each of " + ", ".join(wanted))
    check(all("by (level)" in e for t, e in exprs if "deconflict_open_conflicts" in e),
          "dashboard: open conflicts shown by level")
    used = set()
    for _, e in exprs:
        used |= set(re.findall(r"\b(deconflict_[a-z0-9_]+)", e))
    # Any other name a query selects (a metric not the daemon's) would be a word followed by { or [.
    others = {w for _, e in exprs for w in re.findall(r"\b([a-z_:][a-z0-9_:]*)\s*[{[]", e)
              if not w.startswith("deconflict_")}
    missing = sorted(used - live_names)
    check(not missing and not others,
          f"dashboard: the {len(used)} metric names its {len(exprs)} queries use are all in the live /metrics"
          + (f"; missing {missing}" if missing else "") + (f"; foreign {sorted(others)}" if others else ""))
    # Valid PromQL: every expression as a recording rule, judged by promtool.
    rules = os.path.join(tmp, "dashboard-rules.yml")
    with open(rules, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (_, e) in enumerate(exprs):
            f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(as_grafana_would(e))}\n")
    p = subprocess.run([PROMTOOL, "check", "rules", rules], capture_output=True, text=True)
    check(p.returncode == 0 and f"SUCCESS: {len(exprs)} rules found" in p.stdout,
          f"promtool check rules: the {len(exprs)} queries are valid PromQL ({p.stdout.strip().splitlines()[-1:]}"
          f"{p.stderr.strip()})")
    # And the same judge says no to a broken one, so its yes means something.
    with open(rules, "w") as f:
        f.write("groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: 'sum by (level (deconflict_open_conflicts)'\n")
    p = subprocess.run([PROMTOOL, "check", "rules", rules], capture_output=True, text=True)
    check(p.returncode != 0, "promtool check rules refuses a broken expression")
    return exprs


def prometheus_queries(d, exprs, tmp, token_file):
    """A real Prometheus scrapes d with the metrics token, as docs/deployment.md configures it;
    every query of the dashboard answered with data."""
    port = td.free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                f"scrape_configs:\n  - job_name: deconflict\n"
                f"    authorization:\n      credentials_file: {token_file}\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{d.port}']\n")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/tsdb",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    td._started.append(proc)
    api_record.not_the_service(port)  # Prometheus's own answers are not deconflictd's

    def query(expr):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    try:
        # Ready, and scraped often enough for a rate over 5 s (at least two samples in it).
        end = time.time() + 30
        while True:
            try:
                n = query("count_over_time(deconflict_uptime_seconds[5s])")
                if n and float(n[0]["value"][1]) >= 3:
                    break
            except (OSError, AssertionError, ValueError):
                pass
            if time.time() > end or proc.poll() is not None:
                raise AssertionError("Prometheus did not scrape the daemon within 30 s: " +
                                     (proc.stderr.read() if proc.poll() is not None else ""))
            time.sleep(0.2)
        empty = []
        for title, e in exprs:
            if not query(as_grafana_would(e)):
                empty.append(f"{title}: {e}")
        check(not empty, f"Prometheus scraping the daemon answers every one of the {len(exprs)} dashboard queries "
              "with data" + (f"; empty: {empty}" if empty else ""))
        by_level = {r["metric"].get("level"): float(r["value"][1]) for r in query(as_grafana_would(
            next(e for t, e in exprs if "deconflict_open_conflicts" in e)))}
        check(by_level.get("loss") == 1 and sum(by_level.values()) == 1,
              f"through Prometheus, open conflicts by level: {by_level}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if not PROMTOOL or not PROMETHEUS:
        print("promtool or prometheus missing: scripts/install-deps.sh installs Debian's prometheus")
        return 1
    t_start = time.time()
    tmp = tempfile.mkdtemp(prefix="dc-metrics-")
    try:
        blue, red = "metricsblue", "metricsred"
        tb, tr = td.add_party(tmp, blue), td.add_party(tmp, red)
        token_file = os.path.join(tmp, "metrics.token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(METRICS_TOKEN + "\n")
        d = td.Daemon(tmp, ["--period-ms", "200", "--conflict-ack-s", str(ACK_S), "--keepalive-s", "1",
                            "--metrics-token-file", token_file])
        check(d.request("GET", "/metrics")[0] == 401, "/metrics without the metrics token: 401")

        # promtool says no to the old name, so its silence below means something.
        rc, said = promtool_metrics("# HELP deconflict_detection_pass_ms x\n# TYPE deconflict_detection_pass_ms gauge\n"
                                    "deconflict_detection_pass_ms 1.5\n")
        check(rc != 0 or said, f"promtool check metrics flags the old deconflict_detection_pass_ms: {said!r}")

        text = metrics(d)
        rc, said = promtool_metrics(text)
        check(rc == 0 and not said, f"promtool check metrics on an idle daemon: exit {rc}, {said!r}")
        m = samples(text)
        zero = [k for k in m if k.startswith("deconflict_open_conflicts{") and m[k] != 0]
        check(not zero and len([k for k in m if k.startswith("deconflict_open_conflicts{")]) == 12
              and m["deconflict_conflict_acks_owed"] == 0 and m["deconflict_event_subscribers"] == 0,
              "idle: 12 (kind, level) series of open conflicts, all 0; nothing owed; no subscriber")

        # A stream client, and two parties' aircraft 1 NM apart at the same level: a loss now.
        stream = td.Stream(d, tb)
        now = time.time()

        def report(tid, lat, cs):
            return {"track_id": tid, "t": now, "lat": lat, "lon": 7.0, "alt_ft": 35000,
                    "gs_kt": 450, "trk_deg": 90, "vs_fpm": 0, "callsign": cs}
        s1 = d.request("POST", "/v1/positions", tb, [report("BLU1", 46.0, "BLUCS1")])[0]
        s2 = d.request("POST", "/v1/positions", tr, [report("RED1", 46.0167, "REDCS1")])[0]
        check(s1 == 200 and s2 == 200, "both parties' positions accepted")
        cf = stream.wait_for("conflict.new", timeout=10)[0][2]
        check(cf["kind"] == "tactical" and cf["level"] == "loss", f"a tactical conflict at level {cf['level']}")
        text = metrics(d)
        m = samples(text)
        others = {k: v for k, v in m.items() if k.startswith("deconflict_open_conflicts{") and v != 0}
        check(others == {'deconflict_open_conflicts{kind="tactical",level="loss"}': 1.0},
              f"open conflicts: tactical/loss 1, every other (kind, level) 0 ({others})")
        check(m["deconflict_conflict_acks_owed"] == 2 and m["deconflict_conflict_acks_overdue"] == 0,
              f"acknowledgements owed 2 (one per party), overdue 0 "
              f"({m['deconflict_conflict_acks_owed']:.0f}, {m['deconflict_conflict_acks_overdue']:.0f})")
        check(m["deconflict_event_subscribers"] == 1, "subscribers 1 while the stream is open")
        check(m["deconflict_positions_total"] == 2, "positions accepted: 2")

        # blue acknowledges; red does not and is escalated after ACK_S.
        s = d.request("POST", f"/v1/conflicts/{cf['id']}/ack", tb, {})[0]
        check(s == 200, "blue acknowledges")
        check(samples(metrics(d))["deconflict_conflict_acks_owed"] == 1, "acknowledgements owed: 1")
        got = wait_value(d, "deconflict_conflict_acks_overdue", 1, timeout=ACK_S + 6)
        check(got == 1, f"red's acknowledgement overdue after {ACK_S} s: 1 (got {got})")
        esc = stream.wait_where("conflict.escalated", lambda v: v["id"] == cf["id"], timeout=5)
        check(esc.get("unacknowledged_by") == red, "and blue is told red is late (conflict.escalated)")

        s, body, _ = d.request("POST", "/v1/messages", tb, {"to": red, "category": "free_text",
                                                            "fields": {"text": "metrics"}, "ack_required": True})
        check(s == 201, "blue sends red a message asking for an acknowledgement")
        check(samples(metrics(d))["deconflict_message_acks_owed"] == 1, "hotline messages owed: 1")

        # The whole text, with everything above in it, judged.
        text = metrics(d)
        rc, said = promtool_metrics(text)
        check(rc == 0 and not said, f"promtool check metrics with traffic: exit {rc}, {said!r}")
        check_conventions(text, [blue, red, tb, tr, METRICS_TOKEN, "BLU1", "RED1", "BLUCS1", "REDCS1"])
        m = samples(text)
        le = sorted(((float(k.split('le="')[1].rstrip('"}')), v) for k, v in m.items()
                     if k.startswith("deconflict_detection_pass_seconds_bucket")))
        count = m["deconflict_detection_pass_seconds_count"]
        check(le[-1][0] == float("inf") and le[-1][1] == count and count >= 5
              and all(a[1] <= b[1] for a, b in zip(le, le[1:])) and m["deconflict_detection_pass_seconds_sum"] > 0
              and m["deconflict_detection_pass_last_seconds"] > 0,
              f"pass histogram: {len(le)} buckets, cumulative, +Inf = count = {count:.0f}, "
              f"mean {m['deconflict_detection_pass_seconds_sum'] / count * 1e3:.2f} ms, "
              f"last {m['deconflict_detection_pass_last_seconds'] * 1e3:.2f} ms")
        live_names = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", k).group(0) for k in m}

        dash = json.load(open(DASHBOARD))
        exprs = check_dashboard(dash, live_names, tmp)
        prometheus_queries(d, exprs, tmp, token_file)

        stream.close()
        got = wait_value(d, "deconflict_event_subscribers", 0, timeout=8)
        check(got == 0, f"subscribers 0 once the stream is closed (got {got})")
        rc = d.stop()
        check(rc == 0, f"the daemon stops cleanly on SIGTERM (exit {rc}; under ASan: no leak reported)")
        print(f"all passed in {time.time() - t_start:.1f} s")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
