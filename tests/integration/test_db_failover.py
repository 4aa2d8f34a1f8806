#!/usr/bin/env python3
"""The database itself fails over (docs/deployment.md): a PostgreSQL primary with a synchronous
streaming standby, two deconflictd nodes on a multi-host connection string
(target_session_attrs=read-write). Filings flow through both nodes; the primary is killed with
SIGKILL and the standby promoted. Checked:

  - the service answers again after the promotion (the nodes reconnect by themselves), and how
    long the gap was;
  - no filing answered 201 before or after the kill is missing afterwards (synchronous
    replication: every acknowledged commit was on the standby too);
  - one node leads again, and a conflict filed after the failover reaches both parties.

usage: test_db_failover.py BUILD_BIN_DIR OPENAPI_YAML
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_daemon as td  # noqa: E402
from pgserver import PgServer, multi_host_url  # noqa: E402

check, Daemon, Stream = td.check, td.Daemon, td.Stream


def add_party(url, name):
    out = subprocess.run([td.CLI, "party", "add", name, "--store", url], capture_output=True,
                         text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def volume(lat, lon, radius_m):
    return td.volume(lat, lon, radius_m, t0="2030-06-01T10:00:00Z", t1="2030-06-01T12:00:00Z")


class Load(threading.Thread):
    """Files operations through the nodes in turn, as fast as they answer, keeping the ids of
    those answered 201 and the times of the failures."""

    def __init__(self, nodes, token):
        super().__init__(daemon=True)
        self.nodes, self.token = nodes, token
        self.acked, self.failed_at, self.ok_at = [], [], []
        self.statuses = {}
        self.stop = False

    def run(self):
        k = 0
        while not self.stop:
            node = self.nodes[k % len(self.nodes)]
            k += 1
            try:
                s, body, _ = node.request("POST", "/v1/operations", self.token,
                                          {"volumes": [volume(-40 + (k % 80), (k * 7) % 170, 300)]})
            except OSError:
                s, body = 0, None
            self.statuses[s] = self.statuses.get(s, 0) + 1
            if s == 201:
                self.acked.append(body["id"])
                self.ok_at.append(time.time())
            else:
                self.failed_at.append(time.time())
                time.sleep(0.05)


def main():
    work = tempfile.mkdtemp(prefix="dc_dbfo_")
    primary = PgServer("deconflict-primary")
    primary.create_db("fo")
    standby = primary.make_standby("deconflict-standby")
    primary.set_synchronous_standby(standby)
    url = multi_host_url([primary, standby], "fo")
    check("target_session_attrs=read-write" in url, f"the nodes' store: {url}")
    ta, tb = add_party(url, "alpha"), add_party(url, "bravo")
    extra = ("--period-ms", "200", "--leader-lease-s", "2")
    nodes = [Daemon(work, extra=(*extra, "--node", f"n{i}"), store=["--store", url]) for i in range(2)]
    try:
        load = Load(nodes, ta)
        load.start()
        time.sleep(2.0)
        before = len(load.acked)
        check(before > 10, f"filings flow through both nodes: {before} answered in 2 s")

        t_kill = time.time()
        primary.kill9()
        time.sleep(0.5)  # what an operator or pg_auto_failover takes to decide
        standby.promote()
        t_promoted = time.time()
        end = time.time() + 30
        while time.time() < end and not any(t > t_promoted for t in load.ok_at):
            time.sleep(0.05)
        back = [t for t in load.ok_at if t > t_kill]
        check(back, "the service answers filings again after the promotion")
        gap = back[0] - t_kill
        check(True, f"filings answered again {gap:.2f} s after the kill ({back[0] - t_promoted:.2f} s "
                    f"after the promotion); {len([t for t in load.failed_at if t > t_kill])} refused meanwhile")
        time.sleep(1.0)
        load.stop = True
        load.join(10)

        dead = [f"n{k}" for k, n in enumerate(nodes) if n.proc.poll() is not None]
        check(not dead and set(load.statuses) <= {201, 503},
              f"both nodes stayed up through the failover (answers: {load.statuses}; a write "
              f"whose sync the lost server could not confirm is answered 503)")
        s, ops, _ = nodes[0].request("GET", "/v1/operations", ta)
        have = {o["id"] for o in ops["operations"]}
        missing = [i for i in load.acked if i not in have]
        check(s == 200 and not missing,
              f"all {len(load.acked)} filings answered 201 are in the store after the failover "
              f"({before} of them before the kill)")
        end = time.time() + 10
        while time.time() < end:
            lead = [n for n in nodes if n.request("GET", "/healthz")[1].get("leader")]
            if len(lead) == 1:
                break
            time.sleep(0.1)
        check(len(lead) == 1, "one node leads the periodic pass after the failover")
        sa, sb = Stream(nodes[1], ta), Stream(nodes[1], tb)
        s, opa, _ = nodes[0].request("POST", "/v1/operations", ta, {"volumes": [volume(46.5, 7.56, 3000)]})
        s2, opb, _ = nodes[1].request("POST", "/v1/operations", tb, {"volumes": [volume(46.5, 7.57, 3000)]})
        check(s == 201 and s2 == 201 and len(opb["conflicts"]) == 1,
              "a conflict filed after the failover is found across the nodes")
        cid = opb["conflicts"][0]["id"]
        sa.wait_where("conflict.new", lambda v: v["id"] == cid, timeout=5)
        sb.wait_where("conflict.new", lambda v: v["id"] == cid, timeout=5)
        check(True, "and reaches both parties' streams")
        sa.close(), sb.close()
        print("database failover integration: all checks passed")
    finally:
        for k, n in enumerate(nodes):
            if n.proc.poll() is not None:  # a node that died: say how, for the log
                print(f"node n{k} exited with {n.proc.returncode}:\n{n.proc.stderr.read()[-4000:]}")
            elif n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
        standby.stop("immediate")


if __name__ == "__main__":
    main()
