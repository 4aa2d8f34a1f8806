#!/usr/bin/env python3
"""`cmake --install` (what `make install PREFIX=...` runs) into a temporary prefix, then the
installed programs used as an operator would: the installed CLI adds a party, the installed
daemon starts from the installed example configuration (flags over it), serves the installed
web console from ../share/deconflict/console beside itself, and answers the party. The Grafana
dashboard is installed in share/deconflict/grafana. The man
pages are where man finds them, the bash completion where bash-completion looks, and the
systemd unit runs the installed daemon and passes `systemd-analyze verify`; its exposure score
(`systemd-analyze security --offline=true`) is printed.

usage: test_install.py BUILD_DIR"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import api_record  # noqa: F401  records every answer when DC_API_RECORD is set (tests/api/)

BUILD = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def check_packaging(prefix):
    """The man pages, the bash completion and the systemd unit, where the system looks."""
    man = os.path.join(prefix, "share", "man")
    env = dict(os.environ, MANPATH=man)
    for section, page in (("1", "deconflict"), ("8", "deconflictd")):
        w = subprocess.run(["man", "-w", section, page], capture_output=True, text=True, env=env).stdout.strip()
        check(w == os.path.join(man, f"man{section}", f"{page}.{section}"), f"man -w {section} {page}: {w}")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging", "bash-completion",
                          "deconflict")
    for program in ("deconflict", "deconflictd"):
        f = os.path.join(prefix, "share", "bash-completion", "completions", program)
        check(os.path.isfile(f) and open(f).read() == open(source).read(),
              f"share/bash-completion/completions/{program}, where bash-completion looks for {program}'s")
    unit = os.path.join(prefix, "lib", "systemd", "system", "deconflictd.service")
    text = open(unit).read() if os.path.isfile(unit) else ""
    execstart = [l for l in text.splitlines() if l.startswith("ExecStart=")]
    want = f"ExecStart={prefix}/bin/deconflictd --config /etc/deconflict/deconflictd.conf --init"
    check(execstart == [want], f"lib/systemd/system/deconflictd.service runs the installed daemon: {execstart}")
    # systemd-analyze verify: the unit's syntax, ExecStart executable, the man pages of
    # Documentation= found (through MANPATH). PID 1 need not be systemd.
    p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, env=env)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
          f"systemd-analyze verify: clean (exit {p.returncode}) {p.stdout.strip()} {p.stderr.strip()}")
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", unit], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for deconflictd.service: ([0-9.]+) (\w+)", p.stdout)
    exposure = float(m.group(1)) if m else 99.0
    check(exposure <= 2.0, f"systemd-analyze security --offline=true: exposure {m.group(1) + ' ' + m.group(2) if m else p.stdout[-200:] + p.stderr[-200:]} (at most 2.0)")


def main():
    prefix = tempfile.mkdtemp(prefix="dc-install-")
    p = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
    check(p.returncode == 0, f"cmake --install into {prefix}")
    cli, daemon = os.path.join(prefix, "bin", "deconflict"), os.path.join(prefix, "bin", "deconflictd")
    example = os.path.join(prefix, "share", "deconflict", "deconflictd.conf.example")
    check(all(os.access(f, os.X_OK) for f in (cli, daemon)) and os.path.isfile(example)
          and os.path.isfile(os.path.join(prefix, "share", "deconflict", "console", "index.html")),
          "bin/deconflict, bin/deconflictd, share/deconflict/console and the example configuration")
    dashboard = os.path.join(prefix, "share", "deconflict", "grafana", "deconflict-dashboard.json")
    try:
        with open(dashboard) as f:
            panels = json.load(f)["panels"]
    except (OSError, ValueError, KeyError):
        panels = []
    check(len(panels) > 0, f"share/deconflict/grafana/deconflict-dashboard.json, {len(panels)} panels")
    data = os.path.join(prefix, "data")
    out = subprocess.run([cli, "party", "add", "alpha", "--data", data], capture_output=True, text=True).stdout
    token = out.strip().splitlines()[-1] if out.strip() else ""
    d = subprocess.Popen([daemon, "--config", example, "--data", data, "--listen", "127.0.0.1:0", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = d.stdout.readline()
        check("listening on http://127.0.0.1:" in line, f"the installed daemon starts from the example: {line.strip()}")
        port = int(line.split(":")[2].split()[0])

        def get(path, headers=None):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, r.getheader("Content-Type", ""), body

        s, ctype, body = get("/")
        check(s == 200 and ctype.startswith("text/html") and b"<html" in body.lower(),
              f"it serves the installed web console at / ({s}, {ctype})")
        s, _, _ = get("/v1/tracks", {"Authorization": f"Bearer {token}"})
        check(s == 200, f"it answers the party the installed CLI added ({s})")
    finally:
        d.terminate()
        d.wait(10)
    v = subprocess.run([daemon, "--version"], capture_output=True, text=True).stdout.strip()
    check(v.startswith("deconflictd "), f"installed --version: {v}")
    check_packaging(prefix)
    shutil.rmtree(prefix, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
