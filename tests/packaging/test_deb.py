#!/usr/bin/env python3
"""The Debian package, built, installed on this machine, run, and purged, as an operator would:

1. scripts/build-deb.sh: dpkg-buildpackage -b -us -uc -j2 in a temporary copy of the tree (the
   working tree gets nothing); lintian on the .deb when it is installed (no error or warning);
2. apt-get install /path/X.deb, as docs/deployment.md says (every dependency is here already):
   the files where Debian puts them, the conffile, the system user deconflict and its
   data directory (0700), the unit enabled and clean under systemd-analyze verify, the man pages
   where man finds them, the bash completion where bash-completion loads it;
3. the daemon started as the unit starts it: the ExecStart line read from the installed unit,
   run as its User=/Group= with its UMask=, no capabilities and no new privileges (PID 1 here
   need not be systemd, so the rest of the sandbox is not applied), on a port the operator sets
   in the conffile; it says how to add a party; root's `party add` is refused (the store is the
   service user's) and the service user's is taken by the running daemon at once: /healthz, an
   authenticated request, the console; SIGTERM stops it with exit status 0;
4. dpkg --remove keeps the configuration and the store; dpkg --purge removes them, the unit's
   enablement and every file; what remains is the system user, which the test then deletes
   when it created it.

It installs system-wide, so it needs root (else it is skipped, exit 77), runs one at a time (a
lock), leaves the machine as it found it, and refuses to touch a deconflict package, a
/var/lib/deconflict or an /etc/deconflict it did not make (skipped, saying so). A run that was
killed leaves a marker, and the next run purges what it left first.

usage: test_deb.py SOURCE_DIR"""
import fcntl
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(sys.argv[1])
PKG = "deconflict"
LOCK = "/run/lock/deconflict-packaging-test.lock"
MARKER = "/var/tmp/deconflict-packaging-test.installed"
UNIT = "/lib/systemd/system/deconflictd.service"
STATE, CONF_DIR = "/var/lib/deconflict", "/etc/deconflict"
CONF = CONF_DIR + "/deconflictd.conf"
WANTS = "/etc/systemd/system/multi-user.target.wants/deconflictd.service"
SKIP = 77
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(args, **kw):
    kw.setdefault("timeout", 600)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def installed():
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PKG])
    return p.returncode == 0 and p.stdout not in ("", "not-installed")


def user_exists():
    try:
        pwd.getpwnam("deconflict")
        return True
    except KeyError:
        return False


def purge_and_forget():
    """Purges the package and deletes the user when the marker says this test created it."""
    created_user = "created_user=1" in open(MARKER).read() if os.path.exists(MARKER) else False
    if installed():
        run(["dpkg", "--purge", PKG])
    if created_user and user_exists():
        run(["userdel", "deconflict"])
        run(["groupdel", "deconflict"])
    if os.path.exists(MARKER):
        os.unlink(MARKER)


def service_section(text):
    """The [Service] section's settings: each key's values in order (ExecStart= may repeat)."""
    out, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), body


def untracked():
    """The tree's untracked and ignored paths outside the build directories (which the other
    tests write to meanwhile), as git sees them; empty without git."""
    p = run(["git", "-C", SRC, "status", "--porcelain", "--ignored", "--untracked-files=all"]) if shutil.which("git") else None
    # What other tests write meanwhile is not this build's: bytecode caches, npm ci's lock.
    theirs = ("build/", "build-", "console/node_modules/", "console/.npm-ci.lock")
    return {l for l in p.stdout.splitlines() if l[:2] in ("??", "!!") and not l[3:].startswith(theirs)
            and "__pycache__/" not in l} if p and p.returncode == 0 else set()


def build(out):
    before = untracked()
    t0 = time.monotonic()
    p = run([os.path.join(SRC, "scripts", "build-deb.sh"), out], env=dict(os.environ, JOBS="2"))
    took = time.monotonic() - t0
    print(p.stdout.strip())
    debs = [f for f in os.listdir(out) if re.fullmatch(r"deconflict_[^_]+_[a-z0-9]+\.deb", f)] if p.returncode == 0 else []
    check(p.returncode == 0 and len(debs) == 1, f"dpkg-buildpackage -b -us -uc -j2 in a copy of the tree: {took:.0f} s"
          + ("" if p.returncode == 0 else ": " + p.stderr[-3000:]))
    new = sorted(untracked() - before)
    check(not new, "the working tree got no build product (git status, untracked and ignored files)"
          + (f": {new[:10]}" if new else ""))
    if not debs:
        return None
    deb = os.path.join(out, debs[0])
    log = open(os.path.join(out, "build.log")).read()
    if os.path.isdir(os.path.join(SRC, "console", "node_modules")):
        check("npm ci" not in log and "bundling the web console" in log,
              "the console bundled from console/node_modules as npm ci left it: no npm ci, no network")
    warnings = [l for l in log.splitlines() if ": warning:" in l]
    check(not warnings, f"the build, with Debian's hardening flags, has no compiler warning ({len(warnings)})"
          + ("".join("\n     " + w for w in warnings[:5])))
    return deb


def lint(deb):
    if not shutil.which("lintian"):
        print("note: lintian not installed: not run")
        return
    t0 = time.monotonic()
    p = run(["lintian", "--tag-display-limit", "0", "-I", deb])
    tags = [l for l in p.stdout.splitlines() if re.match(r"[EWIPX]: ", l)]
    bad = [l for l in tags if l[0] in "EW"]
    check(not bad, f"lintian: no error or warning ({len(tags) - len(bad)} informational tags; "
          f"{time.monotonic() - t0:.1f} s)" + "".join("\n     " + l for l in bad))


def check_installed(deb, created_user):
    version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    cli_version = run(["/usr/bin/deconflict", "--version"]).stdout.strip()
    check(cli_version == f"deconflict {version}", f"/usr/bin/deconflict --version is the package's: {cli_version} = {version}")
    files = set(run(["dpkg", "-L", PKG]).stdout.split())
    man_excluded = any("path-exclude" in l and "/usr/share/man" in l for f in os.listdir("/etc/dpkg/dpkg.cfg.d")
                       for l in open(os.path.join("/etc/dpkg/dpkg.cfg.d", f), errors="replace"))
    want = ["/usr/bin/deconflict", "/usr/bin/deconflictd", "/usr/share/deconflict/console/index.html", CONF, UNIT,
            "/usr/share/bash-completion/completions/deconflict", "/usr/share/bash-completion/completions/deconflictd",
            "/usr/share/doc/deconflict/copyright", "/usr/share/man/man1/deconflict.1.gz",
            "/usr/share/man/man8/deconflictd.8.gz"]
    missing = [f for f in want if f not in files or not os.path.exists(f)]
    if man_excluded:
        print("note: this machine's dpkg excludes /usr/share/man (path-exclude): the man pages are not checked")
        missing = [f for f in missing if "/man/" not in f]
    check(not missing, f"installed: the programs, console, conffile, unit, completion, man pages ({len(files)} paths)"
          + (f"; missing: {missing}" if missing else ""))
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PKG]).stdout
    check(CONF in conffiles, f"{CONF} is a conffile (an operator's edits survive upgrades)")
    try:
        u = pwd.getpwnam("deconflict")
        check(u.pw_uid < 1000 and u.pw_dir == STATE and u.pw_shell.endswith("nologin"),
              f"postinst made the system user deconflict: uid {u.pw_uid}, home {u.pw_dir}, shell {u.pw_shell}"
              + ("" if created_user else " (it existed before)"))
    except KeyError:
        check(False, "postinst made the system user deconflict")
        return
    st = os.stat(STATE) if os.path.isdir(STATE) else None
    check(st is not None and st.st_uid == u.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
          f"{STATE}: the user's alone ({oct(stat.S_IMODE(st.st_mode)) if st else 'absent'})")
    check(os.path.islink(WANTS), f"deb-systemd-helper enabled the unit ({WANTS})")
    p = run(["systemd-analyze", "verify", UNIT])
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          f"systemd-analyze verify {UNIT}: clean (its binary, its man pages found)" + (p.stdout + p.stderr)[:500])
    p = run(["systemd-analyze", "security", "--offline=true", UNIT])
    m = re.search(r"Overall exposure level for deconflictd.service: ([0-9.]+ \w+)", p.stdout)
    check(m is not None, f"systemd-analyze security --offline=true: exposure {m.group(1) if m else '?'}")
    if not man_excluded:
        w = run(["man", "-w", "8", "deconflictd"]).stdout.strip()
        check(w == "/usr/share/man/man8/deconflictd.8.gz", f"man -w 8 deconflictd: {w}")
    bc = "/usr/share/bash-completion/bash_completion"
    if os.path.exists(bc):
        p = run(["bash", "--norc", "-c", f"source {bc}; _completion_loader deconflict; complete -p deconflict"])
        check("-F _deconflict deconflict" in p.stdout, f"bash-completion loads it by name: {p.stdout.strip()}")


def start_as_unit(port):
    """deconflictd as the installed unit runs it: its ExecStart, User=, Group=, UMask=, no
    capabilities, no new privileges, / as working directory, a clean environment."""
    svc = service_section(open(UNIT).read())
    argv = shlex.split(svc["ExecStart"][0])
    user, group = svc["User"][0], svc["Group"][0]
    umask = int(svc.get("UMask", ["0022"])[0], 8)
    check(argv[0] == "/usr/bin/deconflictd" and user == "deconflict" and svc.get("StateDirectory") == ["deconflict"]
          and svc.get("NoNewPrivileges") == ["yes"] and svc.get("ProtectSystem") == ["strict"]
          and svc.get("CapabilityBoundingSet") == [""],
          f"the unit: ExecStart={' '.join(argv)}, User={user}, StateDirectory=deconflict, NoNewPrivileges, "
          "ProtectSystem=strict, no capabilities")
    # The operator's edit of the conffile: a port of its own (8080 may be taken here).
    text = open(CONF).read()
    edited = re.sub(r"^listen = .*$", f"listen = 127.0.0.1:{port}", text, count=1, flags=re.M)
    check(edited != text, f"{CONF} sets listen; set to 127.0.0.1:{port} as an operator would")
    with open(CONF, "w") as f:
        f.write(edited)
    setpriv = ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", "--no-new-privs",
               "--inh-caps=-all", "--bounding-set=-all", "--"]
    err = tempfile.TemporaryFile(mode="w+")
    d = subprocess.Popen(setpriv + argv, stdout=subprocess.PIPE, stderr=err, text=True, cwd="/",
                         env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
                         preexec_fn=lambda: os.umask(umask))
    return d, err


def stderr_text(err):
    err.seek(0)
    return err.read()


def exercise(port):
    d, err = start_as_unit(port)
    try:
        line = d.stdout.readline().strip()
        check(line == f"deconflictd listening on http://127.0.0.1:{port} (data {STATE})",
              f"it starts from {CONF}: {line}")
        time.sleep(0.2)
        hint = f"deconflict party add NAME --data {STATE}"
        check(hint in stderr_text(err), f"with no party it says how to add one: `{hint}`")
        p = run(["/usr/bin/deconflict", "party", "add", "alpha", "--data", STATE])
        check(p.returncode != 0 and "belongs to uid" in p.stderr,
              f"root's party add is refused: {p.stderr.strip()[:120]}")
        p = run(["runuser", "-u", "deconflict", "--", "/usr/bin/deconflict", "party", "add", "alpha", "--data", STATE])
        token = p.stdout.strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else ""
        check(p.returncode == 0 and token.startswith("dct_"),
              "runuser -u deconflict -- deconflict party add alpha --data /var/lib/deconflict: a token")
        s, _, body = get(port, "/healthz")
        health = json.loads(body) if s == 200 else {}
        check(s == 200 and health.get("status") == "ok", f"GET /healthz: {s} {body[:120].decode(errors='replace')}")
        s, _, body = get(port, "/v1/tracks", token)
        check(s == 200, f"the running daemon took the new party at once: GET /v1/tracks as alpha {s}")
        s, _, _ = get(port, "/v1/tracks", "dct_not_a_token")
        check(s == 401, f"a wrong token: {s}")
        admin = ["runuser", "-u", "deconflict", "--", "/usr/bin/deconflict", "party"]
        p = run(admin + ["rotate-token", "alpha", "--data", STATE])
        new_token = p.stdout.strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else ""
        old_s, new_s = get(port, "/v1/tracks", token)[0], get(port, "/v1/tracks", new_token)[0]
        check(old_s == 401 and new_s == 200, f"party rotate-token, taken at once: the old token {old_s}, the new {new_s}")
        run(admin + ["disable", "alpha", "--data", STATE])
        dis = get(port, "/v1/tracks", new_token)[0]
        run(admin + ["enable", "alpha", "--data", STATE])
        check(dis == 401 and get(port, "/v1/tracks", new_token)[0] == 200,
              f"party disable and enable, taken at once: {dis} while disabled, then 200")
        s, ctype, body = get(port, "/")
        check(s == 200 and ctype.startswith("text/html"), f"the console from /usr/share/deconflict/console: {s}")
        files = [os.path.join(STATE, f) for f in os.listdir(STATE)]
        bad = [f for f in files if os.stat(f).st_uid != pwd.getpwnam("deconflict").pw_uid
               or stat.S_IMODE(os.stat(f).st_mode) & 0o077]
        check(files and not bad, f"the store's {len(files)} files are the service user's, 0600: "
              + " ".join(sorted(os.path.basename(f) for f in files)) + (f"; not so: {bad}" if bad else ""))
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        rc = d.wait(20)
        check(rc == 0, f"SIGTERM (systemctl stop): exit {rc} in {time.monotonic() - t0:.1f} s")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        tail = stderr_text(err).strip().splitlines()
        if failures:
            print("daemon's stderr (last lines):\n  " + "\n  ".join(tail[-10:]))


def remove_and_purge():
    p = run(["dpkg", "--remove", PKG])
    check(p.returncode == 0 and not os.path.exists("/usr/bin/deconflictd") and os.path.exists(CONF)
          and os.path.isdir(STATE), "dpkg --remove: the programs gone, the configuration and the store kept")
    p = run(["dpkg", "--purge", PKG])
    left = [f for f in ("/usr/bin/deconflict", "/usr/bin/deconflictd", "/usr/share/deconflict", UNIT, CONF_DIR, STATE,
                        WANTS, "/usr/share/bash-completion/completions/deconflict") if os.path.lexists(f)]
    check(p.returncode == 0 and not installed() and not left,
          "dpkg --purge: the configuration (edited), the store, the unit's enablement and every file gone"
          + (f"; left: {left}" if left else "") + (p.stderr[-500:] if p.returncode else ""))
    print(f"what remains: the system user deconflict ({'present' if user_exists() else 'absent'}): "
          "Debian leaves system users on purge")


def main():
    if os.geteuid() != 0:
        print("skipped: installing a package needs root")
        return SKIP
    for tool in ("dpkg-buildpackage", "dh", "setpriv", "runuser", "systemd-analyze"):
        if not shutil.which(tool):
            check(False, f"{tool} is installed (scripts/install-deps.sh)")
            return 1
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if os.path.exists(MARKER):
        print("note: a run that was interrupted left its package installed: purging it first")
        purge_and_forget()
    if installed() or os.path.exists(STATE) or os.path.exists(CONF_DIR):
        print(f"skipped: this machine has a {PKG} package, {STATE} or {CONF_DIR} that this test did not make; "
              "not touching them")
        return SKIP
    t_all = time.monotonic()
    out = tempfile.mkdtemp(prefix="dc-deb-out-")
    try:
        deb = build(out)
        if not deb:
            return 1
        lint(deb)
        created_user = not user_exists()
        with open(MARKER, "w") as f:
            f.write(f"created_user={int(created_user)}\n")
        # On a host whose PID 1 is systemd, installing would start the unit, which would take the
        # store and port 8080 before this test's own run of its ExecStart: policy-rc.d (101:
        # action forbidden) keeps it from starting, as it does in build chroots.
        policy = "/usr/sbin/policy-rc.d"
        made_policy = not os.path.exists(policy)
        if made_policy:
            with open(policy, "w") as f:
                f.write("#!/bin/sh\n# made by deconflict's tests/packaging/test_deb.py for one installation\nexit 101\n")
            os.chmod(policy, 0o755)
        t0 = time.monotonic()
        try:
            p = run(["apt-get", "install", "-y", "-o", "Dpkg::Use-Pty=0", deb],
                    env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        finally:
            if made_policy:
                os.unlink(policy)
        if not check(p.returncode == 0, f"apt-get install {os.path.basename(deb)}: {time.monotonic() - t0:.1f} s"
                     + ("" if p.returncode == 0 else ": " + (p.stdout + p.stderr)[-1500:])):
            return 1
        check_installed(deb, created_user)
        exercise(free_port())
        remove_and_purge()
    finally:
        purge_and_forget()
        shutil.rmtree(out, ignore_errors=True)
        lock.close()
    print(f"{time.monotonic() - t_all:.0f} s in all")
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
