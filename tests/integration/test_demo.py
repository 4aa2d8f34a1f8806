#!/usr/bin/env python3
"""`make demo` as a newcomer runs it, on a terminal (a pseudo-terminal here), over a short window
of the real recording: it serves HTTPS with a certificate it made (the fingerprint it prints is
the served certificate's, its key is 0600), prints console links that sign in through the URL
fragment, says how to keep it running, shows the feed's progress in the recording's own time,
and ends cleanly on Ctrl-C -- during the feed, and while KEEP=1 keeps the service up -- with
make exiting 0 and no error, and the daemon gone.

usage: test_demo.py SOURCE_DIR DATA_DIR"""
import hashlib
import os
import pty
import re
import select
import shutil
import signal
import socket
import ssl
import sys
import time
import urllib.request

SRC, DATA = sys.argv[1], sys.argv[2]
failures = []
DEMOS = []  # every demo run: where their work directories are


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal:
    """make demo on a pseudo-terminal: its output, and keys typed at it."""

    def __init__(self, **env):
        self.out = b""
        DEMOS.append(self)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            e = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
            e.update(env)
            os.execvpe("make", ["make", "-C", SRC, "--no-print-directory", "demo", f"DATA={DATA}"], e)

    def text(self):
        return self.out.decode(errors="replace").replace("\r", "")

    def read_until(self, what, timeout_s):
        end = time.time() + timeout_s
        while what not in self.text() and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.out += chunk
        return what in self.text()

    def ctrl_c(self):
        os.write(self.fd, b"\x03")

    def exit_code(self, timeout_s=30):
        self.read_until("\0never\0", timeout_s)  # everything until the terminal closes
        end = time.time() + timeout_s
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        return None


def port_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main():
    # 1. KEEP=1 over two minutes of the recording at 60x: the whole demo, then the service stays.
    port = free_port()
    t = Terminal(PORT=str(port), SPEED="60", FROM="2018-08-01T12:00:00Z", TO="2018-08-01T12:02:00Z",
                 KEEP="1")
    url = f"https://127.0.0.1:{port}"
    kept = t.read_until(f"the service keeps running on {url} (KEEP=1); Ctrl-C stops it", 120)
    out = t.text()
    check(kept, "KEEP=1: the demo ran to its end and says the service keeps running")
    check(f"service   {url}" in out, "the service is served over HTTPS")
    links = dict(re.findall(r"^ +(blue|red) +" + re.escape(url) + r"/#token=(dct_\S+)$", out, re.M))
    check(set(links) == {"blue", "red"}, "a console link per party, the token after '#'")
    check("keeps running after the feed (KEEP=1)" in out, "with KEEP=1 it says so at the start")
    progress = re.findall(r"feed: recording at (\d\d:\d\d:\d\dZ)", out)
    check(len(progress) >= 2 and progress[0] >= "12:00:00Z" and progress[-1] <= "12:02:00Z",
          f"feed progress in the recording's own time ({len(progress)} updates, {progress[:1]} .. "
          f"{progress[-1:]})")
    check("audit     blue: ok" in out and "acknowledged with a reply" in out, "summary, hotline, audit")
    cert = re.search(r"TLS +a certificate made for this demo: (\S+), SHA-256", out)
    fp = re.search(r"^ +((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$", out, re.M)
    if cert and fp:
        key = os.path.join(os.path.dirname(cert.group(1)), "demo-key.pem")
        check(os.stat(key).st_mode & 0o777 == 0o600, "the demo's private key is 0600")
        served = ssl.get_server_certificate(("127.0.0.1", port))
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper()
        check(":".join(digest[i:i + 2] for i in range(0, 64, 2)) == fp.group(1),
              "the printed fingerprint is the served certificate's")
        ctx = ssl.create_default_context(cafile=cert.group(1))
        req = urllib.request.Request(url + "/v1/conflicts",
                                     headers={"Authorization": "Bearer " + links.get("blue", "")})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            check(r.status == 200, "after the feed the service answers blue over verified HTTPS")
    else:
        check(False, "the certificate and its fingerprint are printed")
    t.ctrl_c()
    code = t.exit_code()
    out = t.text()
    check(code == 0 and "demo: stopped (Ctrl-C)" in out and "***" not in out and "Error" not in out,
          f"Ctrl-C while kept: a clean stop, make exits {code}, no make error")
    check(port_closed(port), "... and the daemon is gone")

    # 2. Ctrl-C in the middle of the feed (an hour of the recording at 20x would take 3 minutes).
    port = free_port()
    t = Terminal(PORT=str(port), SPEED="20")
    check(t.read_until("feed: recording at", 60), "the feed shows its progress")
    check("KEEP=1 make demo keeps it running" in t.text(), "without KEEP it says how to keep it")
    t.ctrl_c()
    code = t.exit_code()
    out = t.text()
    check(code == 0 and "demo: stopped (Ctrl-C)" in out and "***" not in out and "summary" not in out,
          f"Ctrl-C during the feed: a clean stop, make exits {code}, no make error")
    check(port_closed(port), "... and the daemon is gone")
    # Each demo keeps its store, log and key in its work directory for its user: not a test's.
    for work in set(re.findall(r"\(store (/tmp/deconflict-demo\.[A-Za-z0-9]+)/data",
                               "".join(t.text() for t in DEMOS))):
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
