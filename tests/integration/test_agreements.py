#!/usr/bin/env python3
"""Agreements over HTTP: a river line proposed by one party (with a deconfliction request over
the hotline), inactive until the other accepts, then checked live — a track, or an operation
filed, on the other party's side raises an agreement conflict for both — and withdrawn only
when both agree. Bad proposals are refused by field; a third party sees none of it.

usage: test_agreements.py BIN_DIR OPENAPI_YAML"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check, Daemon, Stream = td.check, td.Daemon, td.Stream

# The daemon below: --period-ms 200 and (td.Daemon's) --conformance-s 1, so a pass checks a slice of
# the tracks and every track is checked once in any ROUND consecutive passes. An absence waits for
# a round after the report, plus the pass that may have been running when it came, plus one.
ROUND = 5


def agreement_conflicts(d, token, tracks):
    """Agreement conflicts stored for the party whose own tracks are named (read, not streamed)."""
    return [c for c in d.request("GET", "/v1/conflicts", token)[1]["conflicts"]
            if c["kind"] == "agreement" and c.get("own_track") in tracks]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def report(track, lat, lon, alt_ft=20000):
    return {"track_id": track, "t": time.time(), "lat": lat, "lon": lon, "alt_ft": alt_ft,
            "gs_kt": 0, "trk_deg": 0, "vs_fpm": 0}


def main():
    data = tempfile.mkdtemp(prefix="dc_agreements_")
    try:
        ta, tb, tc = (td.add_party(data, n) for n in ("alpha", "bravo", "charlie"))
        d = Daemon(data, extra=("--period-ms", "200"))
        sa, sb, sc = Stream(d, ta), Stream(d, tb), Stream(d, tc)
        now = time.time()
        # The river runs north along 38 E: west of it (left, looking north) is alpha's side,
        # east of it bravo's, within 30 NM of the river, at any altitude, for the next hours.
        river = {"parties": ["bravo"],
                 "constraint": {"line": [[35.0, 38.0], [36.5, 38.0]], "left": "alpha", "right": "bravo",
                                "within_nm": 30},
                 "alt_lower_ft": 0, "alt_upper_ft": 60000,
                 "time_start": iso(now - 3600), "time_end": iso(now + 7200),
                 "text": "Euphrates line"}
        bad = [
            (dict(river, parties=["nobody"]), "parties"),
            (dict(river, parties=["alpha"]), "parties"),
            (dict(river, constraint={"line": [[35, 38]], "left": "alpha", "right": "bravo"}), "constraint/line"),
            (dict(river, constraint={"line": [[35, 38], [36, 38.5], [36, 38], [35, 38.5]], "left": "alpha",
                                     "right": "bravo"}), "constraint/line"),
            (dict(river, constraint={"line": [[35, 38], [36, 38]], "left": "alpha", "right": "alpha"}), "constraint/left"),
            (dict(river, constraint={"area": [[35, 38], [36, 38]], "owner": "alpha"}), "constraint/area"),
            (dict(river, constraint={"area": [[35, 38], [36, 38], [36, 39]], "owner": "charlie"}), "constraint/owner"),
            (dict(river, alt_lower_ft=5000, alt_upper_ft=1000), "alt_lower_ft"),
            (dict(river, time_end=iso(now - 7200)), "time_start"),
            ({k: v for k, v in river.items() if k != "constraint"}, "constraint"),
        ]
        for body, field in bad:
            s, pb, _ = d.request("POST", "/v1/agreements", ta, body)
            check(s == 400 and pb["field"] == field, f"a bad proposal: 400 naming {field}")
        check(d.request("GET", "/v1/agreements", ta)[1]["agreements"] == [], "nothing was stored")

        s, agr, _ = d.request("POST", "/v1/agreements", ta, river)
        check(s == 201 and agr["state"] == "proposed" and agr["accepted"] == ["alpha"],
              "alpha proposes the river line: proposed, accepted by alpha")
        req = sb.wait_where("message.new", lambda v: v["category"] == "deconfliction_request")
        check(agr["id"] in req["fields"]["request"] and req["ack_required"],
              "bravo gets the proposal over the hotline as a deconfliction request")
        sb.wait_where("agreement.proposed", lambda v: v["id"] == agr["id"])
        # Not yet active: a bravo aircraft on alpha's side raises nothing.
        d.request("POST", "/v1/positions", tb, [report("B1", 35.5, 37.8)])
        td.wait_passes(d, ROUND + 2)
        check(not any(e[1] == "conflict.new" for e in sa.events + sb.events)
              and agreement_conflicts(d, tb, ("B1",)) == [],
              "while only proposed, nothing is checked (a conformance round of passes)")

        s, act, _ = d.request("POST", f"/v1/agreements/{agr['id']}/accept", tb)
        check(s == 200 and act["state"] == "active", "bravo accepts: active")
        sa.wait_where("agreement.active", lambda v: v["id"] == agr["id"])
        d.request("POST", "/v1/positions", tb, [report("B1", 35.5, 37.8)])
        ca = sa.wait_where("conflict.new", lambda v: v["kind"] == "agreement", timeout=10)
        cb = sb.wait_where("conflict.new", lambda v: v["kind"] == "agreement", timeout=10)
        check(ca["id"] == cb["id"] and ca["agreement"] == agr["id"] and ca["other_party"] == "bravo"
              and ca["other_aircraft"]["lat"] == 35.5 and cb["own_track"] == "B1" and cb["other_party"] == "alpha"
              and ca["level"] == "inside" and "ack_due" in ca,
              "a bravo aircraft west of the river: an agreement conflict for both")
        d.request("POST", "/v1/positions", tb, [report("B1", 35.5, 38.2)])
        sa.wait_where("conflict.resolved", lambda v: v["id"] == ca["id"], timeout=10)
        check(True, "back east of the river: resolved")
        # Predicted: B6 flies west at 450 kt from 12.2 NM east of the river, about 98 s from
        # alpha's side -- beyond the 90 s warning time, within the 120 s look-ahead.
        d.request("POST", "/v1/positions", tb, [dict(report("B6", 35.5, 38.25), gs_kt=450, trk_deg=270)])
        pa = sa.wait_where("conflict.new", lambda v: v["kind"] == "agreement" and v.get("level") != "inside",
                           timeout=10, what="B6's predicted agreement breach")
        pb = sb.wait_where("conflict.new", lambda v: v["kind"] == "agreement" and v.get("own_track") == "B6")
        check(pa["id"] == pb["id"] and pa["level"] == "advisory" and 90 < pa["time_to_entry_s"] <= 120
              and "ack_due" not in pa and pa["agreement"] == agr["id"],
              f"predicted onto alpha's side: an advisory to both, {pa.get('time_to_entry_s')} s ahead, "
              "no acknowledgement owed")
        pw = sa.wait_where("conflict.update", lambda v: v["id"] == pa["id"] and v["level"] == "warning",
                           timeout=20, what="B6's breach becoming a warning")
        check(pw["time_to_entry_s"] <= 90 and "ack_due" in pw, "within 90 s of it: a warning, to be acknowledged")
        d.request("POST", "/v1/positions", tb, [dict(report("B6", 35.5, 38.2), gs_kt=450, trk_deg=90)])
        sa.wait_where("conflict.resolved", lambda v: v["id"] == pa["id"], timeout=10)
        check(True, "B6 turns back east: resolved")
        d.request("POST", "/v1/positions", tb, [report("B2", 35.5, 37.0)])  # 48 NM west: beyond 30 NM
        d.request("POST", "/v1/positions", tb, [report("B3", 34.0, 37.9)])  # south of the line's end, 60 NM
        td.wait_passes(d, ROUND + 2)
        check(not any(e[1] == "conflict.new" and e[2].get("own_track") in ("B2", "B3") for e in sb.events)
              and agreement_conflicts(d, tb, ("B2", "B3")) == [],
              "beyond within_nm of the river the line does not apply (a conformance round of passes)")

        s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(35.5, 38.2, 2000,
                             t0=iso(now), t1=iso(now + 1800), hi=3000)]})
        oc = [c for c in op["conflicts"] if c["kind"] == "agreement"]
        check(s == 201 and len(oc) == 1 and oc[0]["agreement"] == agr["id"],
              "alpha files an operation east of the river: an agreement conflict in the answer")
        ob = sb.wait_where("conflict.new", lambda v: v["kind"] == "agreement" and "other_operation_ref" in v)
        check(ob["other_operation_ref"] == op["ref"] and op["id"] not in json.dumps(ob),
              "bravo is told, seeing the operation by its ref only")
        s, up, _ = d.request("PUT", f"/v1/operations/{op['id']}", ta, {"version": 1, "priority": 5})
        check(s == 200 and [c["id"] for c in up["conflicts"] if c["kind"] == "agreement"] == [oc[0]["id"]],
              "an update that stays east of the river keeps the same agreement conflict")
        s, up, _ = d.request("PUT", f"/v1/operations/{op['id']}", ta, {"version": 2, "volumes": [
            td.volume(35.5, 37.8, 2000, t0=iso(now), t1=iso(now + 1800), hi=3000)]})
        check(s == 200 and not any(c["kind"] == "agreement" for c in up["conflicts"]),
              "moved west of the river, on alpha's own side: no agreement conflict")
        sb.wait_where("conflict.resolved", lambda v: v["id"] == oc[0]["id"])
        check(True, "and bravo sees it resolved")

        # Need-to-know: charlie.
        s, _, _ = d.request("GET", f"/v1/agreements/{agr['id']}", tc)
        check(s == 404 and d.request("GET", "/v1/agreements", tc)[1]["agreements"] == [],
              "charlie neither lists nor reads the agreement")
        s, _, _ = d.request("POST", f"/v1/agreements/{agr['id']}/accept", tc)
        check(s == 404, "nor can act on it")
        check(not any(e[1].startswith("agreement.") or e[2].get("kind") == "agreement" for e in sc.events),
              "charlie's stream carries none of it")

        # Withdrawal needs both.
        s, w, _ = d.request("POST", f"/v1/agreements/{agr['id']}/withdraw", ta)
        check(s == 200 and w["state"] == "withdrawal_proposed" and w["withdrawal_proposed_by"] == "alpha",
              "alpha proposes to withdraw it")
        d.request("POST", "/v1/positions", tb, [report("B4", 35.6, 37.8)])
        sa.wait_where("conflict.new", lambda v: v["kind"] == "agreement"
                      and v.get("other_aircraft", {}).get("lat") == 35.6, timeout=10)
        check(True, "still in force until bravo agrees")
        s, w, _ = d.request("POST", f"/v1/agreements/{agr['id']}/accept", tb)
        check(s == 200 and w["state"] == "withdrawn", "bravo agrees: withdrawn")
        s, pb, _ = d.request("POST", f"/v1/agreements/{agr['id']}/withdraw", ta)
        check(s == 409 and pb["code"] == "invalid_transition", "a withdrawn agreement cannot be withdrawn again")
        n = len([e for e in sa.events if e[1] == "conflict.new" and e[2].get("kind") == "agreement"])
        d.request("POST", "/v1/positions", tb, [report("B5", 35.4, 37.8)])
        td.wait_passes(d, ROUND + 2)
        check(len([e for e in sa.events if e[1] == "conflict.new" and e[2].get("kind") == "agreement"]) == n
              and agreement_conflicts(d, tb, ("B5",)) == [],
              "withdrawn: no longer checked (a conformance round of passes)")
        lst = d.request("GET", "/v1/agreements", tb)[1]["agreements"]
        check([a["state"] for a in lst] == ["withdrawn"], "bravo lists it, withdrawn")

        # A hovering aircraft and an agreement whose window opens in 100 s: predicted too, since
        # time moves even where the aircraft does not.
        now = time.time()
        hover = {"parties": ["bravo"],
                 "constraint": {"area": [[40.0, 40.0], [40.0, 40.2], [40.2, 40.2], [40.2, 40.0]],
                                "owner": "alpha"},
                 "alt_lower_ft": 0, "alt_upper_ft": 10000,
                 "time_start": iso(now + 100), "time_end": iso(now + 3600), "text": "hover box"}
        s, hv, _ = d.request("POST", "/v1/agreements", ta, hover)
        check(s == 201, "alpha proposes an area of its own from 100 s on")
        s, hv, _ = d.request("POST", f"/v1/agreements/{hv['id']}/accept", tb)
        check(s == 200 and hv["state"] == "active", "bravo accepts it")
        d.request("POST", "/v1/positions", tb, [dict(report("H1", 40.1, 40.1, alt_ft=2000))])
        ha = sa.wait_where("conflict.new", lambda v: v["kind"] == "agreement" and v.get("agreement") == hv["id"],
                           timeout=10, what="the hovering aircraft's predicted breach")
        check(ha["level"] == "advisory" and 90 < ha["time_to_entry_s"] <= 120 and "ack_due" not in ha,
              f"a still aircraft in the area before its window opens: an advisory, "
              f"{ha.get('time_to_entry_s')} s ahead")
        for s_ in (sa, sb, sc):
            s_.close()
        check(d.stop() == 0, "clean shutdown")
        print("agreements integration: all checks passed")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
