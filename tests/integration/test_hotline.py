#!/usr/bin/env python3
"""The hotline over HTTP: messages with templates in two languages, delivery (streamed or
fetched), acknowledgement with a threaded reply, escalation past the deadline (also after
kill -9), the whole escalation ladder of messages and conflicts (every step to both sides, the
priority capped at flash, the deadline after each step, the end on acknowledgement), broadcast,
references shown by opaque ref, bad inputs refused by field with nothing stored, and
need-to-know: a third party sees nothing of a conversation between two others.

usage: test_hotline.py BIN_DIR OPENAPI_YAML"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402  (its helpers: Daemon, Stream, add_party, check)

check, Daemon, Stream = td.check, td.Daemon, td.Stream

INCIDENT = {"time": "2015-10-20T09:15:00+03:00", "lat": 35.5, "lon": 36.25, "alt_ft": 25000,
            "tracks": ["A1"], "description": "Сближение до 1 NM"}


# The ladder's daemon: 100 ms passes, conflicts escalated every second; messages with 1 s deadlines.
LADDER_PERIOD_S, LADDER_DEADLINE_S = 0.1, 1
# An escalation comes at the first pass that starts at or after the deadline: within a period of
# it, plus what a loaded machine adds to a pass's start (generous: a bound, not a measurement).
LADDER_LATE_S = LADDER_PERIOD_S + 1.0


def wait_events(stream, kind, pred, n, what, timeout=10.0):
    """The first n events (id, type, data) of type kind whose data satisfies pred, waiting for them."""
    end = time.time() + timeout
    while True:
        got = [e for e in list(stream.events) if e[1] == kind and pred(e[2])]
        if len(got) >= n:
            return got[:n]
        if time.time() > end:
            raise AssertionError(f"{what}: {len(got)} of {n} {kind} events within {timeout:.0f} s")
        time.sleep(0.02)


def ladder(work):
    """The whole escalation ladder, for messages and for conflicts, on a daemon of its own with
    1 s deadlines: each step to both sides; the priority after each (routine -> urgent -> flash,
    then flash while the counter keeps counting); the next deadline after each (escalated_at +
    the deadline, and the next step neither before it nor long after it); and the end of it on
    acknowledgement, while a control message and a control conflict, left unacknowledged, go on
    escalating in the same window (so that the absence means something)."""
    data = os.path.join(work, "data")
    ta, tb = td.add_party(data, "alpha"), td.add_party(data, "bravo")
    d = Daemon(data, extra=("--period-ms", str(int(LADDER_PERIOD_S * 1000)),
                            "--conflict-ack-s", str(LADDER_DEADLINE_S)))
    sa, sb = Stream(d, ta), Stream(d, tb)

    # Two conflicts between alpha and bravo: bravo acknowledges both at once, alpha neither (yet).
    s, opa, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(20, 20, 1000)]})
    cids, due = [], {}
    for lon in (20.001, 20.002):
        t0 = time.time()
        s, opb, _ = d.request("POST", "/v1/operations", tb, {"volumes": [td.volume(20, lon, 1000)]})
        check(s == 201 and [c["other_party"] for c in opb["conflicts"]] == ["alpha"],
              "ladder: bravo files over alpha's operation, a conflict")
        cids.append(opb["conflicts"][0]["id"])
        due[cids[-1]] = t0 + LADDER_DEADLINE_S  # its first deadline: at least this
        s, _, _ = d.request("POST", f"/v1/conflicts/{cids[-1]}/ack", tb)
        check(s == 200, "ladder: bravo acknowledges it at once, alpha does not")
    # Two messages from alpha to bravo: routine, 1 s to acknowledge.
    msgs = []
    for text in ("ladder", "control"):
        s, body, _ = d.request("POST", "/v1/messages", ta, {
            "to": "bravo", "category": "free_text", "priority": "routine", "fields": {"text": text},
            "ack_required": True, "ack_deadline_s": LADDER_DEADLINE_S})
        m = body["messages"][0]
        check(s == 201 and m["priority"] == "routine", f"ladder: alpha sends bravo '{text}', routine, 1 s")
        msgs.append(m["id"])
        due[m["id"]] = td.rfc3339(m["ack_due"])
    name = {msgs[0]: "message 1", msgs[1]: "message 2 (control)",
            cids[0]: "conflict 1", cids[1]: "conflict 2 (control)"}
    priority = {1: "urgent", 2: "flash", 3: "flash", 4: "flash"}

    def deadline_kept(x, k, ev):
        """Step k came at or after x's deadline, and not long after; it set the next one."""
        check(ev.get("escalated_at") and ev.get("ack_due"), f"{name[x]} escalation {k}: escalated_at, ack_due")
        at, nxt = td.rfc3339(ev["escalated_at"]), td.rfc3339(ev["ack_due"])
        check(abs(nxt - at - LADDER_DEADLINE_S) < 1e-3 and due[x] - 1e-3 <= at <= due[x] + LADDER_LATE_S,
              f"{name[x]} escalation {k}: {at - due[x]:+.3f} s from its deadline, "
              f"ack_due = escalated_at + {nxt - at:.3f} s")
        due[x] = nxt

    def message_step(mid, k):
        what = f"{name[mid]} escalation {k}"
        ea = wait_events(sa, "message.escalated", lambda v: v["id"] == mid and v["escalations"] == k, 1,
                         what + " to alpha")[0]
        eb = wait_events(sb, "message.escalated", lambda v: v["id"] == mid and v["escalations"] == k, 1,
                         what + " to bravo")[0]
        check(ea[2]["priority"] == eb[2]["priority"] == priority[k]
              and all(ea[2][f] == eb[2][f] for f in ("escalated_at", "ack_due")),
              f"{name[mid]} escalation {k}: to alpha and bravo, {priority[k]}")
        deadline_kept(mid, k, ea[2])
        return ea[2]

    def conflict_step(cid, k):
        what = f"{name[cid]} escalation {k}"
        ea = wait_events(sa, "conflict.escalated", lambda v: v["id"] == cid and "unacknowledged_by" not in v
                         and v["escalations"] == k, 1, what + " to alpha")[0]
        copies = wait_events(sb, "conflict.escalated", lambda v: v["id"] == cid, k, what + ", bravo's copies")
        check(all(c[2].get("unacknowledged_by") == "alpha" and "escalations" not in c[2] for c in copies)
              and [c[0] < ea[0] for c in copies] == [True] * (k - 1) + [False],
              f"{name[cid]} escalation {k}: to alpha; bravo's copy {k} (naming alpha) follows it, "
              f"its earlier copies each came before this step; bravo is not escalated itself")
        deadline_kept(cid, k, ea[2])
        return ea[2]

    # Three steps of each: the messages past the cap (routine -> urgent -> flash -> flash).
    for k in (1, 2, 3):
        for x in msgs:
            message_step(x, k)
        for x in cids:
            conflict_step(x, k)
    # Now message 1 and conflict 1 are acknowledged; the controls are not.
    acked_due = (due[msgs[0]], due[cids[0]])
    s, _, _ = d.request("POST", f"/v1/messages/{msgs[0]}/ack", tb)
    s2, _, _ = d.request("POST", f"/v1/conflicts/{cids[0]}/ack", ta)
    check(s == s2 == 200, "ladder: bravo acknowledges message 1, alpha conflict 1")
    m4, c4 = message_step(msgs[1], 4), conflict_step(cids[1], 4)
    # Those fourth steps came at or after the deadlines the acknowledged ones had (they were due
    # no later than their controls): that pass would have escalated them too. A message sent after
    # it is streamed to both after anything that pass wrote.
    check(td.rfc3339(m4["escalated_at"]) >= acked_due[0] - 1e-3
          and td.rfc3339(c4["escalated_at"]) >= acked_due[1] - 1e-3,
          "ladder: the controls escalated again, past the acknowledged ones' deadlines")
    s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "bravo", "category": "free_text",
                                                       "fields": {"text": "barrier"}})
    sb.wait_where("message.new", lambda v: v["id"] == body["messages"][0]["id"])
    sa.wait_where("message.delivered", lambda v: v["id"] == body["messages"][0]["id"])
    for st, who in ((sa, "alpha"), (sb, "bravo")):
        steps = {x: [e[2].get("escalations") for e in st.events if e[1].endswith(".escalated")
                     and e[2]["id"] == x] for x in msgs + cids}
        want = {msgs[0]: [1, 2, 3], msgs[1]: [1, 2, 3, 4], cids[0]: [1, 2, 3], cids[1]: [1, 2, 3, 4]}
        if who == "bravo":  # bravo's copies of the conflicts' escalations carry bravo's own view
            want[cids[0]], want[cids[1]] = [None] * 3, [None] * 4
        check(steps == want, f"ladder: {who}'s stream: each step once, none after acknowledgement "
                             f"({ {name[x]: len(v) for x, v in steps.items()} })")
    s, m1, _ = d.request("GET", f"/v1/messages/{msgs[0]}", ta)
    s, c1, _ = d.request("GET", f"/v1/conflicts/{cids[0]}", ta)
    check(m1["state"] == "acknowledged" and m1["escalations"] == 3 and m1["priority"] == "flash"
          and c1["escalations"] == 3 and c1.get("acknowledged") is True,
          "ladder: stored, message 1 and conflict 1 stopped at 3 escalations, acknowledged")
    sa.close(), sb.close()
    check(d.stop() == 0, "ladder: clean shutdown")


def main():
    data = tempfile.mkdtemp(prefix="dc_hotline_")
    try:
        ladder_dir = tempfile.mkdtemp(prefix="dc_ladder_")
        try:
            ladder(ladder_dir)
        finally:
            shutil.rmtree(ladder_dir, ignore_errors=True)
        ta, tb, tc = (td.add_party(data, n) for n in ("alpha", "bravo", "charlie"))
        extra = ("--period-ms", "200", "--conflict-ack-s", "2", "--keepalive-s", "1")
        d = Daemon(data, extra=extra)
        sa, sb, sc = Stream(d, ta), Stream(d, tb), Stream(d, tc)
        s, op, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(10, 10, 1000)]})
        check(s == 201, "alpha has an operation to refer to")

        # ---- send, stream, delivered ----
        s, body, _ = d.request("POST", "/v1/messages", ta, {
            "to": "bravo", "category": "incident", "priority": "routine", "fields": INCIDENT,
            "references": {"operations": [op["id"]]}, "ack_required": True, "ack_deadline_s": 2})
        check(s == 201 and len(body["messages"]) == 1, "alpha sends bravo an incident: 201")
        m = body["messages"][0]
        check(m["to"] == "bravo" and m["state"] == "sent" and m["priority"] == "routine"
              and m["text"]["en"].startswith("INCIDENT\nTime: 2015-10-20T06:15:00Z")
              and m["text"]["ru"].startswith("ИНЦИДЕНТ\nВремя: 2015-10-20T06:15:00Z")
              and "Сближение до 1 NM" in m["text"]["ru"], "rendered in English and Russian, free text as written")
        nb = sb.wait_where("message.new", lambda v: v["id"] == m["id"])
        check(nb["from"] == "alpha" and nb["fields"] == INCIDENT and "to" not in nb,
              "bravo's stream: message.new from alpha")
        check(nb["references"] == {"operation_refs": [op["ref"]]} and op["id"] not in json.dumps(nb),
              "bravo sees alpha's operation by its opaque ref, never its id")
        dv = sa.wait_where("message.delivered", lambda v: v["id"] == m["id"])
        check(dv["state"] == "delivered" and dv["delivered_at"], "streamed to bravo: alpha sees delivered")

        # ---- bad inputs: refused by field, nothing stored ----
        out_before = d.request("GET", "/v1/messages?box=out", ta)[1]["messages"]
        bad = [
            ({"to": "bravo", "category": "gossip", "fields": {}}, "category"),
            ({"to": "bravo", "category": "incident", "fields": dict(INCIDENT, lat=95)}, "fields/lat"),
            ({"to": "bravo", "category": "incident", "fields": dict(INCIDENT, colour="red")}, "fields/colour"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "x" * 4001}}, "fields/text"),
            ({"to": "nobody", "category": "free_text", "fields": {"text": "hi"}}, "to"),
            ({"to": "alpha", "category": "free_text", "fields": {"text": "hi"}}, "to"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "hi"}, "priority": "high"}, "priority"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "hi"}, "ack_deadline_s": 5}, "ack_deadline_s"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "hi"}, "colour": 1}, "colour"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "hi"},
              "references": {"operations": ["op_not_mine"]}}, "references"),
            ({"to": "bravo", "category": "free_text", "fields": {"text": "hi"}, "in_reply_to": "msg_x"}, "in_reply_to"),
        ]
        for req, field in bad:
            s, pb, ctype = d.request("POST", "/v1/messages", ta, req)
            check(s == 400 and pb["field"] == field and ctype == "application/problem+json",
                  f"400 naming {field}")
        s, pb, _ = d.request("POST", "/v1/messages", ta, raw=b"{not json", headers={"Content-Type": "application/json"})
        check(s == 400 and pb["code"] == "invalid_json", "400 for a body that is not JSON")
        check(d.request("GET", "/v1/messages?box=out", ta)[1]["messages"] == out_before,
              "after the bad requests alpha's sent messages are unchanged")
        check(d.request("GET", "/v1/messages?box=sideways", ta)[0] == 400, "box: in or out only")

        # ---- escalation past the deadline, to both sides, one priority step up ----
        ea = sa.wait_where("message.escalated", lambda v: v["id"] == m["id"], timeout=6)
        eb = sb.wait_where("message.escalated", lambda v: v["id"] == m["id"], timeout=6)
        check(ea["priority"] == eb["priority"] == "urgent" and ea["escalations"] == 1,
              "not acknowledged in 2 s: message.escalated to both, routine -> urgent")

        # ---- acknowledgement with a reply ----
        s, pb, _ = d.request("POST", f"/v1/messages/{m['id']}/ack", ta)
        check(s == 403, "the sender cannot acknowledge its own message")
        s, pb, _ = d.request("POST", f"/v1/messages/{m['id']}/ack", tb, {"reply": "Принято, uniform 12"})
        check(s == 200 and pb["state"] == "acknowledged" and pb["acknowledged_at"]
              and pb["reply"]["in_reply_to"] == m["id"], "bravo acknowledges with a reply")
        ack = sa.wait_where("message.acked", lambda v: v["id"] == m["id"])
        check(ack["reply_text"] == "Принято, uniform 12" and ack["acknowledged_at"] >= ack["delivered_at"] >= ack["sent_at"],
              "alpha: message.acked with the reply and ordered timestamps")
        rep = sa.wait_where("message.new", lambda v: v.get("in_reply_to") == m["id"])
        check(rep["from"] == "bravo" and rep["category"] == "free_text", "the reply arrives threaded to the original")
        n_esc = len([e for e in sa.events if e[1] == "message.escalated"])
        s, got, _ = d.request("GET", f"/v1/messages/{m['id']}", ta)
        td.wait_passes(d, 2, after=td.rfc3339(got["ack_due"]))  # past the deadline it had, 2 passes
        s, now_, _ = d.request("GET", f"/v1/messages/{m['id']}", ta)
        check(len([e for e in sa.events if e[1] == "message.escalated"]) == n_esc
              and now_["escalations"] == got["escalations"] and now_["state"] == "acknowledged",
              "acknowledged: no more escalation (2 passes after the next deadline)")
        s, again, _ = d.request("POST", f"/v1/messages/{m['id']}/ack", tb, {"reply": "second"})
        check(s == 200 and again["acknowledged_at"] == pb["acknowledged_at"] and "second" not in json.dumps(again),
              "a second acknowledgement keeps the first")

        # ---- conflict alerts need an acknowledgement from each party ----
        s, opb, _ = d.request("POST", "/v1/operations", tb, {"volumes": [td.volume(10, 10.01, 1000)]})
        cid = opb["conflicts"][0]["id"]
        s, _, _ = d.request("POST", f"/v1/conflicts/{cid}/ack", tb)
        check(s == 200, "a strategic conflict between alpha and bravo; bravo acknowledges at once")
        ea = sa.wait_where("conflict.escalated", lambda v: v["id"] == cid and "unacknowledged_by" not in v, timeout=6)
        eb = sb.wait_where("conflict.escalated", lambda v: v["id"] == cid, timeout=6)
        check(ea["escalations"] == 1 and ea["ack_due"] and eb["unacknowledged_by"] == "alpha",
              "alpha did not acknowledge in 2 s: escalated to alpha, and bravo told whose ack is missing")
        check(not any(e[1] == "conflict.escalated" and e[2]["id"] == cid and "unacknowledged_by" not in e[2]
                      for e in sb.events), "bravo, who acknowledged, is not escalated itself")
        d.request("POST", f"/v1/conflicts/{cid}/ack", ta)
        n_esc = [len([e for e in s_.events if e[1] == "conflict.escalated"]) for s_ in (sa, sb)]
        s, got, _ = d.request("GET", f"/v1/conflicts/{cid}", ta)
        td.wait_passes(d, 2, after=td.rfc3339(got["ack_due"]))  # past alpha's deadline, 2 passes
        s, now_, _ = d.request("GET", f"/v1/conflicts/{cid}", ta)
        check([len([e for e in s_.events if e[1] == "conflict.escalated"]) for s_ in (sa, sb)] == n_esc
              and now_["escalations"] == got["escalations"],
              "acknowledged by both: no more escalation (2 passes after alpha's next deadline)")

        # ---- broadcast, and delivery by fetching the in box ----
        check(not any(e[1].startswith(("message.", "conflict.")) for e in sc.events),
              "charlie's stream carried nothing of alpha's and bravo's messages and conflicts")
        sc.close()
        s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "*", "category": "operation_notice",
                                                           "priority": "flash", "fields": {
                                                               "time_start": "2030-01-01T00:00:00Z",
                                                               "time_end": "2030-01-01T02:00:00Z",
                                                               "alt_lower_ft": 0, "alt_upper_ft": 20000}})
        check(s == 201 and sorted(x["to"] for x in body["messages"]) == ["bravo", "charlie"],
              "to '*': one message to each other party")
        mc = [x for x in body["messages"] if x["to"] == "charlie"][0]
        s, inbox, _ = d.request("GET", "/v1/messages", tc)
        check(s == 200 and [x["id"] for x in inbox["messages"]] == [mc["id"]] and inbox["messages"][0]["from"] == "alpha",
              "charlie's in box (default box=in): alpha's broadcast only")
        check("bravo" not in json.dumps(inbox), "charlie's copy does not name the other recipients")
        sa.wait_where("message.delivered", lambda v: v["id"] == mc["id"])
        check(True, "fetched by charlie: alpha sees it delivered")

        # ---- degraded mode: bravo suspends the channel; nothing is dropped ----
        s, body, _ = d.request("POST", "/v1/messages", tb, {"to": "alpha", "category": "suspension",
                                                           "fields": {"reason": "политическое решение"}})
        check(s == 201, "bravo declares a suspension")
        sa.wait_where("message.new", lambda v: v["category"] == "suspension")
        seen_b = max(e[0] for e in sb.events)
        s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "bravo", "category": "free_text",
                                                           "fields": {"text": "are you there?"}})
        held = body["messages"][0]
        check(held["state"] == "queued" and held["recipient_suspended"] is True,
              "alpha's message to the suspended bravo: queued, alpha told the recipient is suspended")
        s, opx, _ = d.request("POST", "/v1/operations", ta, {"volumes": [td.volume(10, 10.012, 800)]})
        check(len(opx["conflicts"]) == 1, "an alert arises meanwhile (alpha files over bravo's operation)")
        # Alpha's copy of the alert streamed: it is durable. Two keepalives on bravo's stream after
        # that: bravo's stream had it to deliver, and held it back.
        sa.wait_where("conflict.new", lambda v: v["id"] == opx["conflicts"][0]["id"])
        sb.wait_keepalives(sb.keepalives, 2, unless=lambda: any(e[0] > seen_b for e in sb.events))
        check([e for e in sb.events if e[0] > seen_b] == [],
              "bravo's stream is paused while suspended (keepalives only, while the alert was there)")
        s, body, _ = d.request("POST", "/v1/messages", tb, {"to": "alpha", "category": "resumption"})
        check(s == 201, "bravo resumes")
        mnew = sb.wait_where("message.new", lambda v: v["id"] == held["id"])
        cnew = sb.wait_where("conflict.new", lambda v: v["id"] == opx["conflicts"][0]["id"])
        order = [e[2]["id"] for e in sb.events if e[0] > seen_b and e[1] in ("message.new", "conflict.new")]
        check(order[:2] == [held["id"], opx["conflicts"][0]["id"]],
              "on resumption bravo gets the queued message and the alert, in the order they happened")
        sa.wait_where("message.delivered", lambda v: v["id"] == held["id"])
        s, mine, _ = d.request("GET", f"/v1/messages/{held['id']}", ta)
        check(mine["state"] == "delivered" and "recipient_suspended" not in mine,
              "alpha's view: delivered, no longer marked suspended")
        d.request("POST", f"/v1/conflicts/{cnew['id']}/ack", tb)
        d.request("POST", f"/v1/conflicts/{cnew['id']}/ack", ta)

        # ---- need-to-know: charlie and the alpha-bravo conversation ----
        s, pb, _ = d.request("GET", f"/v1/messages/{m['id']}", tc)
        check(s == 404, "charlie gets 404 for alpha's message to bravo")
        s, pb, _ = d.request("POST", f"/v1/messages/{m['id']}/ack", tc)
        check(s == 404, "and cannot acknowledge it")
        out_c = d.request("GET", "/v1/messages?box=out", tc)[1]["messages"]
        check(out_c == [], "charlie has sent nothing")
        s, mine, _ = d.request("GET", f"/v1/messages/{m['id']}", ta)
        check(s == 200 and mine["to"] == "bravo" and mine["references"] == {"operations": [op["id"]]},
              "alpha's own view keeps its operation id")

        # ---- kill -9: a pending deadline survives and still escalates ----
        s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "bravo", "category": "free_text",
                                                           "fields": {"text": "radio check"},
                                                           "ack_required": True, "ack_deadline_s": 3})
        m2 = body["messages"][0]
        s, opb2, _ = d.request("POST", "/v1/operations", tb, {"volumes": [td.volume(10, 10.005, 1000)]})
        cid2 = opb2["conflicts"][0]["id"]
        d.request("POST", "/v1/messages", tc, {"to": "alpha", "category": "suspension", "fields": {"reason": "x"}})
        sa.close(), sb.close()
        d.stop(signal.SIGKILL)
        d = Daemon(data, extra=extra)
        sb2 = Stream(d, tb, last_id=0)
        sb2.wait_where("message.new", lambda v: v["id"] == m2["id"])
        e2 = sb2.wait_where("message.escalated", lambda v: v["id"] == m2["id"], timeout=8)
        check(e2["priority"] == "urgent", "after kill -9 the unacknowledged message still escalates")
        sb2.wait_where("conflict.escalated", lambda v: v["id"] == cid2 and "unacknowledged_by" not in v, timeout=8)
        check(True, "and so does the unacknowledged conflict")
        s, body, _ = d.request("POST", "/v1/messages", ta, {"to": "charlie", "category": "free_text",
                                                           "fields": {"text": "still there?"}})
        check(body["messages"][0]["state"] == "queued", "charlie's suspension survived kill -9")
        s, got, _ = d.request("GET", f"/v1/messages/{m['id']}", ta)
        check(got["state"] == "acknowledged" and got["reply_text"] == "Принято, uniform 12",
              "the acknowledgement and reply survived kill -9")
        sb2.close()
        check(d.stop(signal.SIGTERM) == 0, "SIGTERM: clean shutdown")
        print("hotline integration: all checks passed")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
