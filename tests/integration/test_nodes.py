#!/usr/bin/env python3
"""Several deconflictd nodes on one PostgreSQL store act as one service (docs/deployment.md):

  - three nodes start on one database; exactly one leads the periodic pass (GET /healthz);
  - filings on two different nodes meet: the strategic conflict reaches both parties, each on a
    stream held on a third node;
  - positions split across nodes (alpha's to one, bravo's to another) reach the leader's engine:
    the tactical conflict reaches both parties; an acknowledgement on another node holds;
  - kill -9 of the leader while traffic flows: another node leads within the lease (+ one pass),
    the open conflicts stay open under the same ids, a new encounter is alerted, no filing that
    was answered is missing, and a stream resumes on a survivor from its Last-Event-ID with no
    event lost or repeated;
  - a client given several node URLs (deconflict feed --to A,B) keeps feeding when one dies.

A real PostgreSQL server on loopback (tests/integration/pgserver.py).
usage: test_nodes.py BUILD_BIN_DIR OPENAPI_YAML
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_daemon as td  # noqa: E402
from pgserver import PgServer  # noqa: E402

check, Daemon, Stream = td.check, td.Daemon, td.Stream
LEASE_S = 2.0
PERIOD_MS = 200


def add_party(url, name):
    out = subprocess.run([td.CLI, "party", "add", name, "--store", url], capture_output=True,
                         text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def leaders(nodes):
    return [n for n in nodes if n.proc.poll() is None and (td.health(n) or {}).get("leader")]


def wait_one_leader(nodes, timeout):
    end = time.time() + timeout
    while time.time() < end:
        lead = leaders(nodes)
        if len(lead) == 1:
            return lead[0]
        time.sleep(0.05)
    raise AssertionError(f"no single leader within {timeout} s: {[td.health(n) for n in nodes]}")


def volume(lat, lon, radius_m):
    return td.volume(lat, lon, radius_m, t0="2030-06-01T10:00:00Z", t1="2030-06-01T12:00:00Z")


def report(tid, lat, lon, trk, t):
    return {"track_id": tid, "t": t, "lat": lat, "lon": lon, "alt_ft": 35000, "gs_kt": 450,
            "trk_deg": trk, "vs_fpm": 0}


def head_on(node_a, node_b, ta, tb, lat, tag, t):
    """alpha's aircraft from the west posted to node_a, bravo's from the east to node_b: 12.5 NM
    apart, closing at 900 kt."""
    sa, _, _ = node_a.request("POST", "/v1/positions", ta, [report("A" + tag, lat, 7.0, 90, t)])
    sb, _, _ = node_b.request("POST", "/v1/positions", tb, [report("B" + tag, lat, 7.3, 270, t)])
    return sa == 200 and sb == 200


def main():
    work = tempfile.mkdtemp(prefix="dc_nodes_")
    server = PgServer("deconflict-nodes")
    url = server.create_db("nodes")
    store = ["--store", url]
    ta, tb = add_party(url, "alpha"), add_party(url, "bravo")
    extra = ("--period-ms", str(PERIOD_MS), "--leader-lease-s", str(LEASE_S))
    nodes = [Daemon(work, extra=(*extra, "--node", f"n{i}"), store=store) for i in range(3)]
    try:
        lead = wait_one_leader(nodes, 10)
        check(True, f"three nodes on one store, one leader: {td.health(lead)['node']}")
        h = td.health(nodes[0])
        check(h["store"] == "postgresql" and "last_pass" in h and isinstance(h["leader"], bool),
              "GET /healthz says the store, whether the node leads and its last pass")
        others = [n for n in nodes if n is not lead]
        check(all(not td.health(n)["leader"] for n in others), "the other two do not lead")

        # ---- strategic: filings on two nodes, streams on the third ----
        n1, n2, n3 = nodes
        sa, sb = Stream(n3, ta), Stream(n3, tb)
        s, opa, _ = n1.request("POST", "/v1/operations", ta, {"volumes": [volume(46.5, 7.56, 3000)]})
        check(s == 201 and opa["conflicts"] == [], "alpha files on node 1")
        s, opb, _ = n2.request("POST", "/v1/operations", tb, {"volumes": [volume(46.5, 7.57, 3000)]})
        check(s == 201 and len(opb["conflicts"]) == 1 and opb["conflicts"][0]["other_party"] == "alpha",
              "bravo files an overlapping operation on node 2: node 2 knew alpha's filing")
        cid = opb["conflicts"][0]["id"]
        ea = sa.wait_where("conflict.new", lambda v: v["id"] == cid, timeout=5)
        sb.wait_where("conflict.new", lambda v: v["id"] == cid, timeout=5)
        check(ea["own_operation"] == opa["id"] and opb["id"] not in json.dumps(ea),
              "both parties told on streams held on node 3; alpha sees bravo's operation by ref only")
        filed = [opa["id"]]
        for i in range(6):  # filings spread over the nodes, all answered
            s, op, _ = nodes[i % 3].request("POST", "/v1/operations", ta,
                                            {"volumes": [volume(-30 + i, 20, 500)]})
            check(s == 201, f"filing {i} on node {i % 3 + 1}")
            filed.append(op["id"])

        # ---- tactical: positions split across nodes ----
        now = time.time()
        check(head_on(n1, n2, ta, tb, 46.0, "1", now), "alpha's positions to node 1, bravo's to node 2")
        tac_a = sa.wait_where("conflict.new", lambda v: v["kind"] == "tactical", timeout=6)
        tac_b = sb.wait_where("conflict.new", lambda v: v["kind"] == "tactical", timeout=6)
        check(tac_a["id"] == tac_b["id"] and tac_a["own_track"] == "A1" and tac_b["own_track"] == "B1",
              f"the leader's engine had both: a tactical conflict to both parties ({time.time() - now:.2f} s)")
        s, ack, _ = n3.request("POST", f"/v1/conflicts/{cid}/ack", ta)
        check(s == 200 and ack["acknowledged"], "alpha acknowledges the strategic conflict on node 3")
        s, got, _ = n1.request("GET", f"/v1/conflicts/{cid}", ta)
        check(s == 200 and got.get("acknowledged"), "node 1 reads the acknowledgement")

        # ---- failover: kill -9 the leader while traffic flows ----
        keep = [n for n in nodes if n is not lead]
        last_a = max(e[0] for e in sa.events)
        if lead is n3:  # the streams go with it: re-held on a survivor, from where they were
            sa.close(), sb.close()
        t_kill = time.time()
        lead.proc.send_signal(signal.SIGKILL)
        lead.proc.wait()
        while time.time() - t_kill < 1.0:  # traffic while the lead is vacant
            head_on(keep[0], keep[1], ta, tb, 46.0, "1", time.time())
            time.sleep(PERIOD_MS / 1000)
        new_lead = wait_one_leader(keep, LEASE_S + 5)
        took = time.time() - t_kill
        check(took <= LEASE_S + 2.0, f"another node leads {took:.2f} s after kill -9 (lease {LEASE_S} s)")
        s, open_, _ = new_lead.request("GET", "/v1/conflicts?state=open", ta)
        ids = {c["id"] for c in open_["conflicts"]}
        check(cid in ids and tac_a["id"] in ids, "the open conflicts are still open, under the same ids")
        s, ops_, _ = keep[0].request("GET", "/v1/operations", ta)
        check(set(filed) <= {o["id"] for o in ops_["operations"]}, "every filing answered before the kill is there")
        s2 = Stream(keep[0], ta, last_id=last_a)
        now = time.time()
        check(head_on(keep[0], keep[1], ta, tb, 47.0, "2", now), "a new encounter, posted to the survivors")
        new_tac = s2.wait_where("conflict.new", lambda v: v["kind"] == "tactical" and v["own_track"] == "A2",
                                timeout=8)
        check(new_tac["id"] != tac_a["id"], f"the new leader alerts it ({time.time() - now:.2f} s)")
        seqs = [e[0] for e in s2.events]
        check(seqs == sorted(set(seqs)) and seqs[0] > last_a,
              "the stream resumed on a survivor from its Last-Event-ID: in order, none repeated")
        check(not any(e[1] == "conflict.new" and e[2]["id"] == tac_a["id"] for e in s2.events),
              "the surviving tactical conflict was not raised again")
        for st in (sa, sb, s2):
            st.close()

        # ---- a client with several node URLs: the dead node first ----
        csv = os.path.join(work, "one.csv")
        t0 = 1533124800
        with open(csv, "w") as f:
            f.write("t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n")
            for k in range(5):
                f.write(f"{t0 + k},3c6444,DLH1,48.0,{11.0 + 0.002 * k:.3f},30000,420,90,0\n")
        urls = ",".join(f"http://127.0.0.1:{n.port}" for n in (lead, keep[0]))
        fed = subprocess.run([td.CLI, "feed", csv, "--to", urls, "--token", ta, "--speed", "5"],
                             capture_output=True, text=True, timeout=60)
        check(fed.returncode == 0 and "0 refused" in fed.stderr and "on to" in fed.stderr,
              f"deconflict feed --to DEAD,ALIVE moves on to the live node, nothing refused: "
              f"{fed.stderr.strip().splitlines()[-1]}")
        s, tracks, _ = keep[1].request("GET", "/v1/tracks", ta)
        check(s == 200 and any(t["track_id"] == "3c6444" for t in tracks["tracks"]),
              "... and every node knows the track by its next pass")
        print("nodes integration: all checks passed")
    finally:
        for n in nodes:
            if n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
        server.stop("immediate")


if __name__ == "__main__":
    main()
