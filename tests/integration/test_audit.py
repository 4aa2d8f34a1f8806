#!/usr/bin/env python3
"""The audit trail: every change is chained and the head signed; `deconflict audit verify`
accepts the real log (exported by the administrator, or read over HTTP by a party that sees
other parties' entries as hashes only) and names the first bad entry after each kind of
tampering: a changed byte, a deleted entry, two entries swapped, a replaced head, and a
consistent rewrite that only an earlier signed head exposes. Nothing of another party's private
content is readable through /v1/audit.

usage: test_audit.py BIN_DIR OPENAPI_YAML"""
import base64
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check, Daemon = td.check, td.Daemon
CLI = td.CLI


def openssl_sign(keyfile, text, work):
    """The Ed25519 signature of text by the key in keyfile (libsodium's 64-byte secret key in
    base64: the seed, then the public key), made by OpenSSL, as the Deconflict-Signature value."""
    with open(keyfile) as f:
        seed = base64.b64decode(f.read().strip())[:32]
    der = bytes.fromhex("302e020100300506032b657004220420") + seed  # PKCS#8 for Ed25519
    pem = os.path.join(work, "k.pem")
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n")
    msg = os.path.join(work, "msg.bin")
    with open(msg, "wb") as f:
        f.write(text)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", pem, "-in", msg],
                         capture_output=True, check=True).stdout
    os.unlink(pem)
    return "ed25519 " + base64.b64encode(sig).decode()


def H(b):
    return hashlib.blake2b(b, digest_size=32).digest()


def link(prev, seq, body_hash):
    return H(b"deconflict-audit-v1" + prev + seq.to_bytes(8, "big") + body_hash)


def export(data, path):
    subprocess.run([CLI, "audit", "export", *td.store_args(data), "--out", path], check=True)
    with open(path) as f:
        return json.load(f)


def verify(*args):
    r = subprocess.run([CLI, "audit", "verify", *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def tampered(data, work, name, sql_fn):
    """A copy of the data directory changed by sql_fn(connection), exported."""
    copy = os.path.join(work, name)
    shutil.copytree(data, copy)
    db = sqlite3.connect(os.path.join(copy, "deconflict.sqlite3"))
    sql_fn(db)
    db.commit()
    db.close()
    path = os.path.join(work, name + ".json")
    export(copy, path)
    return path


def main():
    work = tempfile.mkdtemp(prefix="dc_audit_")
    data = os.path.join(work, "data")
    try:
        ta, tb, tc = (td.add_party(data, n) for n in ("alpha", "bravo", "charlie"))
        d = Daemon(data)
        # ---- activity of every kind ----
        s, opa, _ = d.request("POST", "/v1/operations", ta, {"priority": 1, "volumes": [td.volume(46.5, 7.5, 5000)]})
        s, opb, _ = d.request("POST", "/v1/operations", tb, {"priority": 2, "volumes": [td.volume(46.5, 7.55, 5000)]})
        cid = opb["conflicts"][0]["id"]
        s, opc, _ = d.request("POST", "/v1/operations", tc, {"volumes": [td.volume(-30, 120, 2000)]})
        d.request("POST", f"/v1/conflicts/{cid}/ack", ta)
        s, m, _ = d.request("POST", "/v1/messages", ta, {"to": "bravo", "category": "free_text",
                                                        "fields": {"text": "alpha to bravo, private"}})
        mid = m["messages"][0]["id"]
        d.request("POST", f"/v1/messages/{mid}/ack", tb, {"reply": "bravo's private reply"})
        d.request("POST", f"/v1/operations/{opc['id']}/activate", tc)
        d.request("POST", "/v1/messages", tb, {"to": "alpha", "category": "suspension", "fields": {"reason": "bravo's secret reason"}})
        d.request("POST", "/v1/messages", tb, {"to": "alpha", "category": "resumption"})
        s, agr, _ = d.request("POST", "/v1/agreements", ta, {
            "parties": ["bravo"], "constraint": {"area": [[40, 20], [41, 20], [41, 21]], "owner": "alpha"},
            "alt_lower_ft": 0, "alt_upper_ft": 10000, "time_start": "2030-01-01T00:00:00Z",
            "time_end": "2030-01-02T00:00:00Z", "text": "alpha and bravo's private area"})
        d.request("POST", f"/v1/agreements/{agr['id']}/accept", tb)
        check(s == 201, "activity: filings with a conflict, an ack, a message with a reply, a state change, "
                        "a suspension and resumption, an agreement")

        # ---- the administrator's export verifies ----
        log1 = export(data, os.path.join(work, "log1.json"))
        n1 = len(log1["entries"])
        kinds = {json.loads(e["body"])["kind"] for e in log1["entries"]}
        check(kinds == {"party", "operation", "conflict", "message", "channel", "agreement"} and n1 >= 12,
              f"every kind of change is in the log ({n1} entries)")
        rc, out = verify(os.path.join(work, "log1.json"))
        check(rc == 0 and f"ok: {n1} entries chained ({n1} bodies checked, 0 party signatures), head {n1}" in out,
              "the export verifies: " + out.strip())
        prev = bytes(32)  # our own reading of the format, independent of the C code
        for e in log1["entries"]:
            bh = H(e["body"].encode())
            prev = link(prev, e["seq"], bh)
            if bh.hex() != e["body_hash"] or prev.hex() != e["hash"]:
                raise AssertionError(f"entry {e['seq']} does not follow docs/audit.md")
        check(prev.hex() == log1["head"]["hash"], "a Python verifier written from docs/audit.md agrees on every link")
        with open(os.path.join(work, "head1.json"), "w") as f:
            json.dump(log1["head"], f)

        # ---- need-to-know: each party reads its own entries in full, others' as hashes ----
        ids = {"alpha": 1, "bravo": 2, "charlie": 3}
        # What each party alone may read (ids, refs, texts); alpha and bravo share their message.
        private = {"alpha": [opa["id"]], "bravo": [opb["id"]],
                   "charlie": [opc["id"], opc["ref"], "charlie"]}
        shared = ["alpha to bravo, private", "bravo's private reply", "bravo's secret reason",
                  "alpha and bravo's private area", agr["id"]]
        for name, tok in (("alpha", ta), ("bravo", tb), ("charlie", tc)):
            s, page, _ = d.request("GET", "/v1/audit", tok)
            check(s == 200 and [e["seq"] for e in page["entries"]] == list(range(1, n1 + 1)),
                  f"{name}: GET /v1/audit lists every entry")
            text = json.dumps(page, ensure_ascii=False)
            leaks = [p for other, ps in private.items() if other != name for p in ps if p in text]
            if name == "charlie":
                leaks += [p for p in shared if p in text]
            check(leaks == [], f"{name} reads nothing private of the others ({leaks})")
            mine = 0
            for e in page["entries"]:
                if "body" not in e:
                    if "view" in e:
                        raise AssertionError(f"entry {e['seq']}: a view without its body")
                    continue
                body = json.loads(e["body"])
                check(str(ids[name]) in body["parts"], f"{name} gets a body only where it is a part (entry {e['seq']})")
                if H(e["view"].encode()).hex() != body["parts"][str(ids[name])]:
                    raise AssertionError(f"{name}'s view in entry {e['seq']} does not match its hash")
                mine += 1
            check(mine > 0 and mine < len(page["entries"]),
                  f"{name}: {mine} of {len(page['entries'])} entries in full, each own view matching its hash")
            rc, out = verify(f"http://127.0.0.1:{d.port}", "--token", tok)
            check(rc == 0 and "ok:" in out, f"{name} verifies the log over HTTP: " + out.strip())
        s, pb, _ = d.request("GET", "/v1/audit?after=-1", ta)
        check(s == 400 and pb["field"] == "after", "after: a bad value is 400")
        s, pb, _ = d.request("GET", "/v1/audit?limit=0", ta)
        check(s == 400 and pb["field"] == "limit", "limit: a bad value is 400")
        s, page, _ = d.request("GET", "/v1/audit?after=3&limit=2", ta)
        check([e["seq"] for e in page["entries"]] == [4, 5], "paging: after and limit")

        # ---- signed requests: non-repudiation ----
        keyfile = os.path.join(work, "alpha.key")
        pub = subprocess.run([CLI, "key", "generate", "--out", keyfile], capture_output=True,
                             text=True, check=True).stdout.strip()
        def sign(raw, method="POST", path="/v1/operations", key=None, party="alpha"):
            return subprocess.run([CLI, "key", "sign", key or keyfile, "--party", str(ids[party]), method, path],
                                  input=raw, capture_output=True, check=True).stdout.decode().strip()
        op_body = json.dumps({"priority": 3, "volumes": [td.volume(46.5, 7.52, 2000)]}).encode()
        s, pb, _ = d.request("POST", "/v1/operations", ta, raw=op_body,
                             headers={"Content-Type": "application/json", "Deconflict-Signature": sign(op_body)})
        check(s == 400 and pb["code"] == "no_key", "a signature before any key is registered: 400 no_key")
        s, me, _ = d.request("PUT", "/v1/party/key", ta, {"public_key": pub})
        check(s == 200 and me["public_key"] == pub and d.request("GET", "/v1/party", ta)[1]["public_key"] == pub,
              "alpha registers its public key (PUT /v1/party/key, shown by GET /v1/party)")
        s, pb, _ = d.request("PUT", "/v1/party/key", tb, {"public_key": "c2hvcnQ="})
        check(s == 400 and pb["field"] == "public_key", "a key that is not 32 bytes is refused")
        # A key identifies one party: bravo cannot take alpha's (issue 14 item 8).
        s, pb, _ = d.request("PUT", "/v1/party/key", tb, {"public_key": pub})
        check(s == 409 and pb["code"] == "key_in_use" and pb["field"] == "public_key",
              "bravo registering alpha's public key: 409 key_in_use")
        check("public_key" not in d.request("GET", "/v1/party", tb)[1], "... and bravo holds no key after it")
        # Points that would let anyone forge signatures (issue 14 item 9): the all-zero encoding,
        # the identity, a point of order 8, and a y that is on no point of the curve.
        small = {"all-zero": bytes(32), "identity": bytes([1]) + bytes(31),
                 "order 8": bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
                 "off the curve": bytes([2]) + bytes(31)}
        for why, raw_key in small.items():
            s, pb, _ = d.request("PUT", "/v1/party/key", tb, {"public_key": base64.b64encode(raw_key).decode()})
            check(s == 400 and pb["field"] == "public_key", f"an invalid Ed25519 key ({why}) is refused")

        n_ops = len(d.request("GET", "/v1/operations", ta)[1]["operations"])
        other = json.dumps({"priority": 9, "volumes": [td.volume(46.5, 7.52, 2000)]}).encode()
        for header, code, why in ((sign(other), 401, "a signature of another body"),
                                  (sign(op_body, path="/v1/messages"), 401, "a signature for another path"),
                                  (sign(op_body, method="PUT"), 401, "a signature for another method"),
                                  ("ed25519 AAAA", 400, "a malformed signature"),
                                  ("rsa " + sign(op_body)[8:], 400, "another algorithm")):
            s, pb, _ = d.request("POST", "/v1/operations", ta, raw=op_body,
                                 headers={"Content-Type": "application/json", "Deconflict-Signature": header})
            check(s == code and pb["field"] == "Deconflict-Signature", f"{why}: {code}")
        check(len(d.request("GET", "/v1/operations", ta)[1]["operations"]) == n_ops,
              "refused signed requests stored nothing")
        s, signed_op, _ = d.request("POST", "/v1/operations", ta, raw=op_body,
                                    headers={"Content-Type": "application/json", "Deconflict-Signature": sign(op_body)})
        check(s == 201 and len(signed_op["conflicts"]) == 1, "alpha files a signed operation (it conflicts with bravo's)")
        # The first request format named no signer: refused, and the refusal says why. Signed by
        # OpenSSL, an Ed25519 implementation independent of the service's libsodium.
        v1_text = b"deconflict-request-v1\nPOST\n/v1/operations\n" + op_body
        s, pb, _ = d.request("POST", "/v1/operations", ta, raw=op_body, headers={
            "Content-Type": "application/json", "Deconflict-Signature": openssl_sign(keyfile, v1_text, work)})
        check(s == 401 and pb["code"] == "bad_signature" and "old format" in pb["detail"],
              "a signature of the first format (no signer named): 401, saying so")
        v2_text = b"deconflict-request-v2\n1\nPOST\n/v1/operations\n" + op_body
        check(openssl_sign(keyfile, v2_text, work) == sign(op_body),
              "the CLI signs exactly the documented text (OpenSSL's signature of it is the same)")
        s, pb, _ = d.request("POST", "/v1/operations", tb, raw=op_body,
                             headers={"Content-Type": "application/json", "Deconflict-Signature": sign(op_body)})
        check(s == 400 and pb["code"] == "no_key", "bravo cannot sign with alpha's key (no key of its own)")
        page = d.request("GET", "/v1/audit", ta)[1]
        signed_text = "deconflict-request-v2\n1\nPOST\n/v1/operations\n" + op_body.decode()
        mine = [e for e in page["entries"] if e.get("request") == signed_text]
        check(len(mine) == 2, "alpha's own entries of that filing (operation, conflict) keep the signed request")
        page_b = d.request("GET", "/v1/audit", tb)[1]
        check(not any("request" in e for e in page_b["entries"]) and op_body.decode() not in json.dumps(page_b)
              and "priority\\\": 3" not in json.dumps(page_b),
              "bravo sees the conflict entry's signature and hash, never alpha's request")
        rc, out = verify(f"http://127.0.0.1:{d.port}", "--token", ta)
        check(rc == 0 and "2 party signatures" in out, "alpha verifies its signatures over HTTP: " + out.strip())
        # A new key, registered by a request signed with the old one.
        key2 = os.path.join(work, "alpha2.key")
        pub2 = subprocess.run([CLI, "key", "generate", "--out", key2], capture_output=True, text=True,
                              check=True).stdout.strip()
        kbody = json.dumps({"public_key": pub2}).encode()
        s, _, _ = d.request("PUT", "/v1/party/key", ta, raw=kbody, headers={
            "Content-Type": "application/json", "Deconflict-Signature": sign(kbody, "PUT", "/v1/party/key")})
        check(s == 200, "alpha changes its key by a request signed with the old one")
        # Alpha's old key is free again; bravo takes it and replays alpha's old signed filing as
        # its own: the signed text names alpha, so it does not verify for bravo (item 8).
        n_ops_b = len(d.request("GET", "/v1/operations", tb)[1]["operations"])
        s, _, _ = d.request("PUT", "/v1/party/key", tb, {"public_key": pub})
        check(s == 200, "bravo registers the key alpha gave up")
        s, pb, _ = d.request("POST", "/v1/operations", tb, raw=op_body,
                             headers={"Content-Type": "application/json", "Deconflict-Signature": sign(op_body)})
        check(s == 401 and pb["code"] == "bad_signature", "alpha's signed request replayed by bravo: 401")
        check(len(d.request("GET", "/v1/operations", tb)[1]["operations"]) == n_ops_b,
              "... and nothing was filed for bravo")
        s, _, _ = d.request("POST", "/v1/operations", tb, raw=op_body, headers={
            "Content-Type": "application/json", "Deconflict-Signature": sign(op_body, party="bravo")})
        check(s == 201, "bravo's own signature with that key, naming bravo, is accepted")
        log_s = export(data, os.path.join(work, "log_signed.json"))
        check(os.stat(os.path.join(work, "log_signed.json")).st_mode & 0o777 == 0o600,
              "the export (every party's bodies) is created 0600 whatever the umask")
        rc, out = verify(os.path.join(work, "log_signed.json"))
        n_req = sum(1 for e in log_s["entries"] if "request" in e)
        check(rc == 0 and n_req >= 4 and f"{n_req} party signatures" in out and "first request format" not in out,
              "the export verifies every signature: " + out.strip())
        signed_seq = min(e["seq"] for e in log_s["entries"] if "request" in e)

        # ---- more activity; the earlier head still matches ----
        d.request("POST", f"/v1/operations/{opa['id']}/cancel", ta)
        log2 = export(data, os.path.join(work, "log2.json"))
        rc, out = verify(os.path.join(work, "log2.json"), "--since-head", os.path.join(work, "head1.json"))
        check(rc == 0 and "consistent with the earlier head" in out and len(log2["entries"]) > n1,
              "a later log verifies against the earlier signed head")
        check(d.stop(signal.SIGTERM) == 0, "daemon stopped for the tamper tests")

        # ---- tampering ----
        # The verifier's catches do not depend on the backend (it reads the export); the
        # tampering itself edits the SQLite file, so it runs on the SQLite store only.
        if td.sqlite_only("tampering with the stored log"):
            print("audit integration: all checks passed")
            return
        k = 5
        def change_byte(db):
            body = db.execute("SELECT body FROM audit WHERE seq = ?", (k,)).fetchone()[0]
            db.execute("UPDATE audit SET body = ? WHERE seq = ?", (body.replace('"t":"2', '"t":"1', 1), k))
        def delete(db):
            db.execute("DELETE FROM audit WHERE seq = ?", (k,))
        def swap(db):
            db.execute("UPDATE audit SET seq = -1 WHERE seq = ?", (k,))
            db.execute("UPDATE audit SET seq = ? WHERE seq = ?", (k, k + 1))
            db.execute("UPDATE audit SET seq = ? WHERE seq = -1", (k + 1,))
        def change_hash(db):
            db.execute("UPDATE audit SET hash = zeroblob(32) WHERE seq = ?", (k + 2,))
        for name, fn, bad in (("byte", change_byte, k), ("delete", delete, k), ("swap", swap, k),
                              ("hash", change_hash, k + 2)):
            rc, out = verify(tampered(data, work, name, fn))
            check(rc == 1 and f"FAILED at entry {bad}:" in out, f"tamper ({name}): {out.strip()}")
        # The head replaced: an earlier entry's hash under the last head's signature.
        with open(os.path.join(work, "log2.json")) as f:
            forged = json.load(f)
        forged["head"]["hash"] = forged["entries"][k - 1]["hash"]
        forged["head"]["seq"] = k
        with open(os.path.join(work, "forged.json"), "w") as f:
            json.dump(forged, f)
        rc, out = verify(os.path.join(work, "forged.json"))
        check(rc == 1 and "FAILED" in out and "head" in out, f"tamper (head replaced): {out.strip()}")
        forged["entries"] = forged["entries"][:k]  # a truncated log under a replaced head
        with open(os.path.join(work, "forged.json"), "w") as f:
            json.dump(forged, f)
        rc, out = verify(os.path.join(work, "forged.json"))
        check(rc == 1 and "signature" in out, f"tamper (log truncated, head replaced): {out.strip()}")
        # A consistent rewrite by someone holding the store (and so the key): entry k changed and
        # every later link recomputed. The new export verifies on its own; the head a party kept
        # before exposes it.
        def rewrite(db):
            rows = db.execute("SELECT seq, body FROM audit ORDER BY seq").fetchall()
            prev = bytes(32)
            for seq, body in rows:
                if seq == k:
                    body = body.replace('"t":"2', '"t":"1', 1)
                bh = H(body.encode())
                prev = link(prev, seq, bh)
                db.execute("UPDATE audit SET body = ?, body_hash = ?, hash = ? WHERE seq = ?", (body, bh, prev, seq))
        path = tampered(data, work, "rewrite", rewrite)
        rc, out = verify(path)
        check(rc == 0, "a consistent rewrite with the key verifies on its own (as it must)")
        rc, out = verify(path, "--since-head", os.path.join(work, "head1.json"))
        check(rc == 1 and f"FAILED at entry {n1}:" in out and "rewritten" in out,
              f"but not against the earlier signed head, at its entry: {out.strip()}")
        # A signed operation whose body is altered after filing: the stored request changed...
        def alter_request(db):
            db.execute("UPDATE audit_requests SET body = replace(body, '\"priority\": 3', '\"priority\": 0') "
                       "WHERE seq = ?", (signed_seq,))
        rc, out = verify(tampered(data, work, "request", alter_request))
        check(rc == 1 and f"FAILED at entry {signed_seq}:" in out and "does not match" in out,
              f"tamper (signed request altered): {out.strip()}")
        # ... and also its hash in the entry, with every later link recomputed and the head
        # re-signed: only the party's signature, which no one else can make, still catches it.
        def alter_request_consistently(db):
            alter_request(db)
            req = db.execute("SELECT body FROM audit_requests WHERE seq = ?", (signed_seq,)).fetchone()[0]
            rows = db.execute("SELECT seq, body FROM audit ORDER BY seq").fetchall()
            prev = bytes(32)
            for seq, body in rows:
                if seq == signed_seq:
                    b = json.loads(body)
                    old = b["request"]["hash"]
                    body = body.replace(old, H(req.encode()).hex())
                bh = H(body.encode())
                prev = link(prev, seq, bh)
                db.execute("UPDATE audit SET body = ?, body_hash = ?, hash = ? WHERE seq = ?", (body, bh, prev, seq))
        rc, out = verify(tampered(data, work, "request2", alter_request_consistently))
        check(rc == 1 and f"FAILED at entry {signed_seq}:" in out and "signature does not verify" in out,
              f"tamper (signed request and chain rewritten): {out.strip()}")
        rc, out = verify(os.path.join(work, "nonexistent.json"))
        check(rc == 1 and "cannot read" in out, "verify: a missing file is an error")
        print("audit integration: all checks passed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
