#!/usr/bin/env python3
"""CAT004 alerts that stand across a restart and a change of leader (docs/feeds.md, "Alerts out:
CAT004").

alpha feeds a CAT062 system track (track 4711, address 3C6635), bravo a CAT021 ADS-B report
(track 99, address 4CA225), over real UDP, 3 NM apart side by side at FL350: separation is lost
now, and the conflict stays at one level ("loss"), so nothing in the event log moves while no
position comes in. A listener takes alpha's CAT004 alerts, another every party's ('*'); tshark
decodes what they receive (the alert identifier I004/040 too).

One node (the store of test_daemon.store_args: SQLite, or PostgreSQL with DC_TEST_PG_URL):
  - the conflict raised, the feeds stop; SIGTERM, and the daemon is started again on the same
    store with the same flags: within a few seconds, with no position sent, alpha's listener gets
    STCA messages again for that conflict -- the same alert number, track 4711 (its own
    source's number), never bravo's 99, address or callsign -- and the listener of every party
    gets both sides' (4711 and 99);
  - the same after kill -9;
  - bravo then climbs to FL390: an end-of-conflict message with the same alert number.
Several nodes on one PostgreSQL store (tests/integration/pgserver.py), leader lease 2 s:
  - node 1 leads and takes the feeds; node 2 was running before the conflict, node 3 starts
    after it was raised, neither ever hears alpha's feed;
  - kill -9 of node 1, then of whichever node took over: each new leader sends the conflict's
    STCA messages within about a second of taking the lead, the same alert number and track
    4711, with no position sent meanwhile; the last one sends the end of the conflict.

usage: test_alerts_restart.py BIN_DIR OPENAPI_YAML DATA_DIR"""
import importlib.util
import math
import os
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_asterix_feed as af  # noqa: E402  (takes DATA_DIR off sys.argv)
import test_daemon as td  # noqa: E402
from pgserver import PgServer  # noqa: E402

check, Daemon = td.check, td.Daemon
ALPHA, BRAVO = 0x3C6635, 0x4CA225
LAT0, LON0 = 47.0, 7.0
LEASE_S = 2.0


def judge():
    """The tshark reference decoder (../shared/data/tools), with the alert identifier (I004/040)
    added to each CAT004 row."""
    spec = importlib.util.spec_from_file_location("asterix_tshark_csv", af.TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    row = mod.record_row

    def with_alert(cat, d):
        r = row(cat, d)
        r["alert_id"] = mod.fmt(mod.num(mod.first(d, cat, ["040_VALUE"])), 0) if cat == 4 else ""
        return r

    mod.record_row = with_alert
    return mod


JUDGE = judge()


def decoded(listener, tmp, name, since=0.0):
    """The CAT004 records the listener received at or after since (Unix s), decoded by tshark."""
    path = os.path.join(tmp, name + ".pcap")
    listener.pcap(path)
    rows, _ = JUDGE.decode(path, [8600], [], False)
    return [r for r in rows if float(r["pcap_time"]) >= since]


def stca(rows):
    return [r for r in rows if r["msg_type"] == "7"]


def raw_since(listener, since):
    return b"".join(d for t, d in list(listener.got) if t >= since)


class Traffic:
    """The two aircraft, side by side eastbound at 450 kt, 3 NM apart; bravo's level can change."""

    def __init__(self):
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.t0 = time.time()
        self.fl_b = 350

    def send(self, pa, pb):
        now = time.time()
        tod = now % 86400
        nm_deg = 1 / (60 * math.cos(math.radians(LAT0)))
        lon = LON0 + (now - self.t0) * 450 / 3600 * nm_deg
        v_mps = 450 * 1852 / 3600
        self.tx.sendto(af.cat062(tod, LAT0, lon, 350, v_mps, 0, ALPHA, 4711, "DLH99P"), ("127.0.0.1", pa))
        self.tx.sendto(af.cat021(tod, LAT0 + 3 / 60, lon, self.fl_b, 450, 90, BRAVO, 99, "RYR986A"),
                       ("127.0.0.1", pb))


def open_tactical(node, token):
    try:
        s, body, _ = node.request("GET", "/v1/conflicts?state=open", token)
    except OSError:
        return []
    return [c for c in body.get("conflicts", []) if c["kind"] == "tactical"] if s == 200 else []


def raise_conflict(node, token, traffic, pa, pb, listener, tmp, what):
    """Feeds the two aircraft until alpha's conflict is at "loss" and its listener has STCA
    messages for it; returns (the conflict, the alert number)."""
    end = time.time() + 30
    while time.time() < end:
        traffic.send(pa, pb)
        cs = open_tactical(node, token)
        if cs and cs[0]["level"] == "loss":
            rows = stca(decoded(listener, tmp, "raise"))
            if rows:
                traffic.send(pa, pb)
                return cs[0], rows[-1]["alert_id"], rows
        time.sleep(0.5)
    raise AssertionError(f"{what}: no conflict at level loss with an STCA message in 30 s")


def seeded(listener, tmp, since, until):
    """Waits (until at most) for the first STCA message after since; returns (its time, the
    STCA rows after since, a second later)."""
    while time.time() < until:
        rows = stca(decoded(listener, tmp, "seeded", since))
        if rows:
            time.sleep(1.2)  # the next repeat too
            rows = stca(decoded(listener, tmp, "seeded", since))
            return float(rows[0]["pcap_time"]), rows
        time.sleep(0.2)
    return None, []


def check_seeded(listener, lall, tmp, since, since_what, ref, alert, limit_s, what):
    """The STCA messages after since: the first at most limit_s after ref (the start, or when
    the new leader was seen leading)."""
    first, rows = seeded(listener, tmp, since, ref + limit_s + 3)
    took = first - ref if first else None
    check(took is not None and took <= limit_s,
          f"{what}: alpha's listener gets STCA again, the first {took and round(took, 2)} s after "
          f"that ({round(first - since, 2) if first else None} s after {since_what}), no position "
          f"sent (within {limit_s} s)")
    check(all(r["alert_id"] == alert for r in rows) and len(rows) >= 2,
          f"... {len(rows)} of them, repeated, all with the alert number it had before ({alert})")
    check(all(r["track_number"] == "4711" for r in rows),
          f"... naming track 4711, alpha's own source's number ({sorted({r['track_number'] for r in rows})})")
    check(all(r["track_number_2"] not in ("", "99", "4711") for r in rows),
          f"... and the other aircraft by the service's number ({sorted({r['track_number_2'] for r in rows})}), "
          "never bravo's 99")
    raw = raw_since(listener, since)
    check(b"RYR986A" not in raw and af.six_bit("RYR986A") not in raw and b"\x4c\xa2\x25" not in raw,
          "... nothing of bravo's address or callsign")
    if lall is not None:
        end = time.time() + 3
        both = set()
        while time.time() < end and not {"4711", "99"} <= both:
            both = {r["track_number"] for r in stca(decoded(lall, tmp, "seeded-all", since))}
            time.sleep(0.3)
        check({"4711", "99"} <= both, f"... and the listener of every party gets both sides' again ({sorted(both)})")


def ended(listener, tmp, since, alert, traffic, pa, pb, what):
    """Bravo climbs to FL390; returns the end-of-conflict rows received after since."""
    traffic.fl_b = 390
    end = time.time() + 20
    while time.time() < end:
        traffic.send(pa, pb)
        rows = [r for r in decoded(listener, tmp, what, since) if r["msg_type"] == "17"]
        if rows:
            return rows
        time.sleep(0.5)
    return []


def one_node(tmp):
    tokens = {p: td.add_party(tmp, p) for p in ("alpha", "bravo")}
    pa, pb = af.udp_port(), af.udp_port()
    la, lall = af.Listener(), af.Listener()
    flags = ["--feed", f"asterix:udp:127.0.0.1:{pa}:alpha", "--feed", f"asterix:udp:127.0.0.1:{pb}:bravo",
             "--alerts-asterix", f"udp:127.0.0.1:{la.port}:alpha",
             "--alerts-asterix", f"udp:127.0.0.1:{lall.port}:*",
             "--cat004-source", "12/34", "--hysteresis-s", "2"]
    d = Daemon(tmp, flags)
    time.sleep(0.5)  # the feeds bind
    traffic = Traffic()
    conflict, alert, before = raise_conflict(d, tokens["alpha"], traffic, pa, pb, la, tmp, "one node")
    check(alert and all(r["track_number"] == "4711" for r in before),
          f"one node: the conflict at loss, alpha's listener has STCA messages (alert {alert}, track 4711)")
    # alpha acknowledges: its view is written again (updated), the prediction is not; the
    # times a sender counts down run from predicted_at, read back after the restart too.
    s, ack, _ = d.request("POST", f"/v1/conflicts/{conflict['id']}/ack", tokens["alpha"])
    check(s == 200 and conflict.get("predicted_at") and ack.get("predicted_at") == conflict["predicted_at"]
          and td.rfc3339(ack["updated"]) > td.rfc3339(ack["predicted_at"]),
          f"an acknowledgement moves the view's updated ({ack.get('updated')}), not its predicted_at "
          f"({ack.get('predicted_at')})")

    for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGKILL, "kill -9")):
        rc = d.stop(sig)
        if sig == signal.SIGTERM:
            stopped_cleanly(d, rc)
        d = Daemon(tmp, flags)
        up = time.time()
        check([c["id"] for c in open_tactical(d, tokens["alpha"])] == [conflict["id"]],
              f"after {name}: the conflict is open under its id")
        check_seeded(la, lall, tmp, up, "the start", up, alert, 2.0, f"{name}, then a start on the same store (listening)")

    since = time.time()
    ends = ended(la, tmp, since, alert, traffic, pa, pb, "end")
    check(ends and ends[0]["alert_id"] == alert and ends[0]["track_number"] == "4711",
          f"bravo climbs to FL390: an end-of-conflict message, alert {ends and ends[0]['alert_id']}, "
          f"track {ends and ends[0]['track_number']}")
    la.running = lall.running = False
    stopped_cleanly(d, d.stop())


def stopped_cleanly(d, rc):
    """SIGTERM: exit 0 (under the sanitizers, nothing leaked)."""
    check(rc == 0, f"the daemon stops on SIGTERM with exit 0 ({rc}{': ' + d.proc.stderr.read()[-400:] if rc else ''})")


def wait_leader(nodes, timeout):
    end = time.time() + timeout
    while time.time() < end:
        lead = [n for n in nodes if n.proc.poll() is None and (td.health(n) or {}).get("leader")]
        if len(lead) == 1:
            return lead[0], time.time()
        time.sleep(0.05)
    raise AssertionError(f"no single leader within {timeout} s")


def several_nodes(tmp):
    server = PgServer("deconflict-alerts")
    try:
        url = server.create_db("alerts")
        store = ["--store", url]
        tokens = {}
        for p in ("alpha", "bravo"):
            out = td.subprocess.run([td.CLI, "party", "add", p, "--store", url], capture_output=True,
                                    text=True, check=True).stdout
            tokens[p] = out.strip().splitlines()[-1]
        listener = af.Listener()
        ports = [(af.udp_port(), af.udp_port()) for _ in range(3)]

        def node(i):
            pa, pb = ports[i]
            return Daemon(tmp, store=store, extra=(
                "--node", f"n{i + 1}", "--period-ms", "200", "--leader-lease-s", str(LEASE_S),
                "--feed", f"asterix:udp:127.0.0.1:{pa}:alpha", "--feed", f"asterix:udp:127.0.0.1:{pb}:bravo",
                "--alerts-asterix", f"udp:127.0.0.1:{listener.port}:alpha",
                "--cat004-source", "12/34", "--hysteresis-s", "2"))

        n1 = node(0)
        wait_leader([n1], 10)
        n2 = node(1)
        time.sleep(0.5)
        traffic = Traffic()
        conflict, alert, _ = raise_conflict(n1, tokens["alpha"], traffic, *ports[0], listener, tmp, "nodes")
        n3 = node(2)
        check(alert and not (td.health(n2) or {}).get("leader") and not (td.health(n3) or {}).get("leader"),
              f"nodes: node 1 leads and is fed, the conflict at loss (alert {alert}); node 2 was "
              "running before it, node 3 starts after it")
        alive, lead = [n1, n2, n3], n1
        for k in range(2):
            killed = time.time()
            lead.proc.send_signal(signal.SIGKILL)
            lead.proc.wait()
            alive.remove(lead)
            lead, took = wait_leader(alive, LEASE_S + 6)
            name = "node 2" if lead is n2 else "node 3"
            check([c["id"] for c in open_tactical(lead, tokens["alpha"])] == [conflict["id"]],
                  f"kill -9 of the leader ({k + 1}): {name} leads {took - killed:.2f} s later; the "
                  "conflict is open under its id")
            check_seeded(listener, None, tmp, killed, "the kill", took, alert, 1.5,
                         f"{name} ({'started after the conflict' if lead is n3 else 'running before it'}) "
                         "is seen leading")
        since = time.time()
        i = 1 if lead is n2 else 2
        ends = ended(listener, tmp, since, alert, traffic, *ports[i], "nodes-end")
        check(ends and ends[0]["alert_id"] == alert and ends[0]["track_number"] == "4711",
              f"bravo climbs (fed to the last node): an end-of-conflict message, alert "
              f"{ends and ends[0]['alert_id']}, track {ends and ends[0]['track_number']}")
        listener.running = False
        stopped_cleanly(lead, lead.stop())
    finally:
        server.stop("immediate")


def main():
    started = time.time()
    one_node(tempfile.mkdtemp(prefix="dc-alerts-restart-"))
    several_nodes(tempfile.mkdtemp(prefix="dc-alerts-nodes-"))
    print(f"all passed ({time.time() - started:.1f} s)")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL", e)
        sys.exit(1)
