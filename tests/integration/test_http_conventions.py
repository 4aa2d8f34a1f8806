#!/usr/bin/env python3
"""deconflictd's HTTP conventions, over real HTTP: a 401 carries `WWW-Authenticate: Bearer`
(with error="invalid_token" when a token was given, RFC 6750); the scheme is case-insensitive
(RFC 9110); a 429 carries `Retry-After` in whole seconds; a method a /v1 resource does not
answer is 405 `method_not_allowed` with `Allow` (a path no route has stays 404); HEAD is
answered wherever GET is, with GET's headers and no body. And what a first user meets: a feed
with a token the service refuses stops with the reason and fails, a forwarder that forwards
nothing fails, every binary answers --version.

usage: test_http_conventions.py BIN_DIR OPENAPI_YAML"""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check = td.check


def req(d, method, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def get_status(host, port, path, headers=None, with_headers=False):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    r.read()
    c.close()
    return (r.status, {k.lower(): v for k, v in r.getheaders()}) if with_headers else r.status


def local_address():
    """This host's IPv4 address on its way out (not loopback), or None: no packet is sent."""
    import socket
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


def main():
    tmp = tempfile.mkdtemp(prefix="dc-http-")
    tok = td.add_party(tmp, "alpha")
    tok_b = td.add_party(tmp, "bravo")  # spends its own rate, for the 429
    d = td.Daemon(tmp, ["--rate-limit-rps", "1", "--rate-limit-burst", "20"])
    s, h, b = req(d, "GET", "/v1/tracks")
    check(s == 401 and h.get("www-authenticate") == 'Bearer realm="deconflict"',
          f"no token: 401 with WWW-Authenticate: {h.get('www-authenticate')}")
    s, h, b = req(d, "GET", "/v1/tracks", {"Authorization": "Bearer dct_not_a_token"})
    check(s == 401 and 'error="invalid_token"' in h.get("www-authenticate", ""),
          f"a wrong token: 401 with {h.get('www-authenticate')}")
    for scheme in ("bearer", "BEARER", "Bearer  "):
        s, h, b = req(d, "GET", "/v1/tracks", {"Authorization": f"{scheme} {tok}"})
        check(s == 200, f"the scheme '{scheme.strip()}' is accepted ({s})")
    s, h, b = req(d, "GET", "/v1/tracks", {"Authorization": f"Basic {tok}"})
    check(s == 401, "another scheme is refused")

    auth = {"Authorization": f"Bearer {tok}"}
    s, h, b = req(d, "DELETE", "/v1/operations", auth)
    allow = [m.strip() for m in h.get("allow", "").split(",")]
    body = json.loads(b) if b else {}
    check(s == 405 and set(allow) == {"GET", "HEAD", "POST"} and body.get("code") == "method_not_allowed"
          and body.get("title") == "Method Not Allowed",
          f"DELETE /v1/operations: 405 method_not_allowed, Allow: {h.get('allow')}")
    s, h, b = req(d, "PUT", "/v1/tracks", auth)
    check(s == 405 and "GET" in h.get("allow", ""), f"PUT /v1/tracks: 405, Allow: {h.get('allow')}")
    s, h, b = req(d, "GET", "/v1/no-such-thing", auth)
    check(s == 404, "a path no route has is still 404")

    sg, hg, bg = req(d, "GET", "/v1/tracks", auth)
    s, h, b = req(d, "HEAD", "/v1/tracks", auth)
    check(s == 200 and b == b"" and h.get("content-type") == hg.get("content-type")
          and h.get("content-length") == str(len(bg)),
          f"HEAD /v1/tracks: 200, GET's type and length ({h.get('content-length')}), no body")

    # bravo spends its burst of 20; at 1 request/s the next ones are refused.
    statuses = []
    for _ in range(25):
        s, h, b = req(d, "GET", "/v1/tracks", {"Authorization": f"Bearer {tok_b}"})
        statuses.append(s)
        if s == 429:
            break
    body = json.loads(b) if b else {}
    check(s == 429 and h.get("retry-after", "").isdigit() and int(h["retry-after"]) >= 1
          and body.get("retry_after_s", 0) <= int(h["retry-after"]),
          f"over the rate: 429 with Retry-After: {h.get('retry-after')} (retry_after_s "
          f"{body.get('retry_after_s')}) after {len(statuses) - 1} answered")
    # `deconflict feed` with a token the service does not take says so and fails; a forwarder
    # that forwards nothing fails too.
    csv_path = os.path.join(tmp, "two.csv")
    with open(csv_path, "w") as f:
        f.write("t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n")
        f.write("1000,abc123,TEST1,47.0,8.0,35000,450,90,0\n1001,abc123,TEST1,47.0,8.01,35000,450,90,0\n")
    url = f"http://127.0.0.1:{d.port}"
    p = subprocess.run([td.CLI, "feed", csv_path, "--to", url, "--token", "dct_" + "x" * 43, "--speed", "100"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "refused --token number 1" in p.stderr and "xxxx" not in p.stderr,
          f"feed with a wrong token: exit {p.returncode}, '{p.stderr.strip().splitlines()[-1]}'")
    p = subprocess.run([td.CLI, "feed", csv_path, "--to", url, "--token", tok, "--speed", "100"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f"the same feed with alpha's token: exit 0 ({p.stderr.strip().splitlines()[-1]})")
    closed = td.free_port()
    p = subprocess.run([td.CLI, "feed", "sbs", f"127.0.0.1:{closed}", "--to", url, "--token", tok,
                        "--seconds", "2"], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "nothing was forwarded" in p.stderr,
          f"feed sbs from a source that sends nothing: exit {p.returncode}, says nothing was forwarded")
    # --token-file: the token from a file of its owner's alone, or from standard input, never in
    # the process list; a file others may read, or one whose first line is no token, is refused.
    tok_file = os.path.join(tmp, "alpha.token")
    with open(os.open(tok_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(tok + "\n")
    p = subprocess.run([td.CLI, "feed", csv_path, "--to", url, "--token-file", tok_file, "--speed", "100"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "2 reports sent" in p.stderr, "feed --token-file (mode 600): sent")
    p = subprocess.run([td.CLI, "feed", csv_path, "--to", url, "--token-file", "-", "--speed", "100"],
                       input=tok + "\n", capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "2 reports sent" in p.stderr, "feed --token-file - (standard input): sent")
    live = subprocess.Popen([td.CLI, "feed", "sbs", f"127.0.0.1:{td.free_port()}", "--to", url,
                             "--token-file", tok_file, "--seconds", "3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    with open(f"/proc/{live.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    live.wait(timeout=30)
    check(tok.encode() not in cmdline and b"--token-file" in cmdline,
          "a running feed's command line shows the file, not the token")
    os.chmod(tok_file, 0o644)
    p = subprocess.run([td.CLI, "feed", csv_path, "--to", url, "--token-file", tok_file],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "others may read (chmod 600)" in p.stderr and tok not in p.stderr,
          f"a token file others may read: refused ({p.stderr.strip()})")
    os.chmod(tok_file, 0o600)
    with open(tok_file, "w") as f:
        f.write("not a token\n")
    p = subprocess.run([td.CLI, "audit", "verify", url, "--token-file", tok_file],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "16-127 printable characters" in p.stderr,
          f"a token file without a token: refused, naming the limit ({p.stderr.strip()})")
    # A stray SIGHUP (a closed terminal, a reflexive kill -HUP) must not end the line: said, and
    # ignored.
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    st, body, _ = d.request("GET", "/healthz")
    check(d.proc.poll() is None and st == 200, "SIGHUP: the service goes on")
    rc = d.stop()
    check(rc == 0 and "SIGHUP: nothing is reloaded" in d.proc.stderr.read(),
          f"... says so in its log, and SIGTERM still stops it (exit {rc})")
    # IPv6: a daemon on [::1] answers there.
    p6 = subprocess.Popen([td.DAEMON, *td.store_args(tmp), "--listen", "[::1]:0", "--quiet"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    td._started.append(p6)
    line = p6.stdout.readline()
    port6 = int(line.split("]:")[1].split()[0]) if "http://[::1]:" in line else None
    s6 = None
    if port6:
        c = http.client.HTTPConnection("::1", port6, timeout=10)
        c.request("GET", "/v1/tracks", headers={"Authorization": f"Bearer {tok}"})
        s6 = c.getresponse().status
        c.close()
    p6.terminate()
    p6.wait(10)
    check(s6 == 200, f"--listen [::1]:0: '{line.strip()}', a party's request over IPv6 answered {s6}")
    bad = subprocess.run([td.DAEMON, *td.store_args(tmp), "--listen", "::1:8080"], capture_output=True,
                         text=True, timeout=10)
    check(bad.returncode != 0 and "listen" in bad.stderr, "an IPv6 address without brackets is refused")
    # /metrics: loopback clients only by default; to any with metrics_access = any; with a token
    # file, to the token's bearer only.
    ip = local_address()
    if ip:
        for access, want in (("loopback", 403), ("any", 200)):
            pm = subprocess.Popen([td.DAEMON, *td.store_args(tmp), "--listen", "0.0.0.0:0", "--quiet",
                                   "--metrics-access", access], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
            td._started.append(pm)
            port = int(pm.stdout.readline().split(":")[2].split()[0])
            st_far = get_status(ip, port, "/metrics")
            st_near = get_status("127.0.0.1", port, "/metrics")
            pm.terminate()
            pm.wait(10)
            check(st_far == want and st_near == 200,
                  f"metrics_access = {access}: /metrics from {ip} answers {st_far}, from 127.0.0.1 {st_near}")
    else:
        print("  skipped: no address but loopback here, so no client from elsewhere to refuse")
    token_file = os.path.join(tmp, "metrics.token")
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"m" * 32 + b"\n")
    os.close(fd)
    pm = subprocess.Popen([td.DAEMON, *td.store_args(tmp), "--listen", "127.0.0.1:0", "--quiet",
                           "--metrics-token-file", token_file], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    td._started.append(pm)
    port = int(pm.stdout.readline().split(":")[2].split()[0])
    st_none, h_none = get_status("127.0.0.1", port, "/metrics", with_headers=True)
    st_tok = get_status("127.0.0.1", port, "/metrics", {"Authorization": "Bearer " + "m" * 32})
    st_party = get_status("127.0.0.1", port, "/metrics", {"Authorization": "Bearer " + tok})
    pm.terminate()
    pm.wait(10)
    check(st_none == 401 and "Bearer" in h_none.get("www-authenticate", "") and st_tok == 200 and st_party == 401,
          f"metrics_token_file: /metrics without it {st_none}, with it {st_tok}, with a party's token {st_party}")
    os.chmod(token_file, 0o644)
    bad = subprocess.run([td.DAEMON, *td.store_args(tmp), "--listen", "127.0.0.1:0",
                          "--metrics-token-file", token_file], capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "chmod 600" in bad.stderr, "a token file others may read is refused at start")
    # Every command answers --help with its own usage, exit 0; a bad time names what a time is.
    for cmd in ("detect", "replay", "strategic", "party", "feed", "asterix", "audit", "key"):
        p = subprocess.run([td.CLI, cmd, "--help"], capture_output=True, text=True, timeout=10)
        check(p.returncode == 0 and p.stdout.startswith("usage:") and f"\n  {cmd} " in p.stdout,
              f"deconflict {cmd} --help: exit 0, its usage ({len(p.stdout.splitlines())} lines)")
    p = subprocess.run([td.CLI, "replay", csv_path, "--from", "garbage"], capture_output=True, text=True)
    check(p.returncode == 2 and "not a time" in p.stderr and "Unix seconds" in p.stderr,
          "replay --from garbage: says what a time is")
    # A mistyped --data is said, not served as a new empty store: the daemon and every command
    # that reads a store refuse a directory without one, and create nothing there; party add
    # and deconflictd --init create one.
    if not td.PG_URL:
        missing = os.path.join(tempfile.mkdtemp(prefix="dc-missing-"), "typo")
        p = subprocess.run([td.DAEMON, "--data", missing, "--listen", "127.0.0.1:0", "--quiet"],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and "no store at" in p.stderr and "--init" in p.stderr
              and "deconflict party add NAME --data" in p.stderr and not os.path.exists(missing),
              "deconflictd on a missing --data: exit 1, says how to make a store, creates nothing")
        os.mkdir(missing, 0o700)
        p = subprocess.run([td.DAEMON, "--data", missing, "--listen", "127.0.0.1:0", "--quiet"],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 1 and "holds no deconflict.sqlite3" in p.stderr
              and os.listdir(missing) == [],
              "deconflictd on an empty directory: refused, nothing created in it")
        for args in (["party", "list"], ["party", "disable", "blue"], ["audit", "export"]):
            p = subprocess.run([td.CLI, *args, "--data", missing], capture_output=True, text=True,
                               timeout=10)
            check(p.returncode != 0 and "no store in" in p.stderr and "party add NAME" in p.stderr
                  and os.listdir(missing) == [],
                  f"deconflict {' '.join(args)} on an empty directory: refused, nothing created")
    # A daemon on a store with no party says how to add one (--init made the store).
    empty = tempfile.mkdtemp(prefix="dc-empty-")
    pe = subprocess.Popen([td.DAEMON, *td.store_args(empty), "--init", "--listen", "127.0.0.1:0",
                           "--quiet"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    td._started.append(pe)
    pe.stdout.readline()
    pe.terminate()
    err = pe.communicate(timeout=10)[1]
    check("no party yet" in err and "deconflict party add NAME" in err,
          "a daemon with no party says how to add one")
    # Every binary says its version.
    for name in ("deconflict", "deconflictd", "deconflict-bench"):
        p = subprocess.run([os.path.join(td.BIN, name), "--version"], capture_output=True, text=True, timeout=10)
        words = p.stdout.split()
        check(p.returncode == 0 and len(words) == 2 and words[0] == name and words[1].count(".") == 2,
              f"{name} --version: '{p.stdout.strip()}'")
    p = subprocess.run([os.path.join(td.BIN, "deconflict-bench"), "nonsense"], capture_output=True, text=True)
    check(p.returncode == 2 and "no benchmark 'nonsense'" in p.stderr, "deconflict-bench names an unknown benchmark")
    pan = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "console_pan.mjs")
    p = subprocess.run(["node", pan, "--help"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and p.stdout.startswith("usage:"), "node bench/console_pan.mjs --help: its usage, exit 0")
    print("all passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL", e)
        sys.exit(1)
