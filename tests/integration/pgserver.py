#!/usr/bin/env python3
"""Throw-away PostgreSQL servers for the tests: each one initdb'd into its own temp dir, on its
own free port on 127.0.0.1 and its own unix socket dir, run with pg_ctl (no system service), and
stopped and deleted when the process exits, even after a failed test.

    from pgserver import PgServer, multi_host_url
    pg = PgServer()                      # initdb + start; superuser "deconflict", trust auth
    url = pg.create_db("store_test")     # postgresql://deconflict@127.0.0.1:PORT/store_test
    pg.psql("SELECT 1", db="store_test") # -> "1"
    sb = pg.make_standby("sb1")          # streaming standby (pg_basebackup -R)
    pg.set_synchronous_standby(sb)       # commits on pg now wait for sb
    pg.kill9(); sb.promote()             # fail over
    multi_host_url([pg, sb], "store_test")

The binaries are the newest /usr/lib/postgresql/*/bin (DC_TEST_PG_BINDIR overrides). PostgreSQL
refuses to run as root: when this process is root, initdb, pg_ctl and pg_basebackup run as the
unprivileged `postgres` user (subprocess's user=/group=, i.e. setuid in the child before exec)
and the temp dirs are chowned to it; otherwise everything runs as the current user. The client
side (psql, the tests' own connections) stays as the current user and connects over TCP.

fsync stays on: durability is what several tests check. Only initdb runs with --no-sync.

Cleanup: an atexit hook stops every server still running (immediate mode) and deletes its dir.
A process killed with SIGKILL (a CTest timeout) runs no atexit hook, so a small reaper process,
detached from this one and from its process tree, holds the read end of a pipe: when this
process is gone, however it went, the reaper stops whatever servers are left and deletes their
dirs.

Standard library only. Running this file with --reap is the reaper (internal).
"""
import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
SUPERUSER = "deconflict"
_MARK = "# ---- pgserver.py settings (later lines win) ----"


class PgError(RuntimeError):
    """A PostgreSQL tool failed; the message has its output (and the server log's tail)."""


# ---------------------------------------------------------------------------------------------
# Where the binaries are, who runs the server


def _bindir():
    env = os.environ.get("DC_TEST_PG_BINDIR")
    if env:
        return env
    best = None
    root = "/usr/lib/postgresql"
    for v in os.listdir(root) if os.path.isdir(root) else []:
        d = os.path.join(root, v, "bin")
        if os.path.exists(os.path.join(d, "initdb")):
            key = tuple(int(x) for x in re.findall(r"\d+", v)) or (0,)
            if best is None or key > best[0]:
                best = (key, d)
    if best is None:
        raise PgError("no PostgreSQL server under /usr/lib/postgresql/*/bin "
                      "(scripts/install-deps.sh installs postgresql-15)")
    return best[1]


BINDIR = None  # resolved on first use, so that importing this module never fails


def _bin(tool):
    global BINDIR
    if BINDIR is None:
        BINDIR = _bindir()
    return os.path.join(BINDIR, tool)


def _psql_path():
    # The brief's /usr/bin/psql (Debian's pg_wrapper, which runs the newest psql); the server's
    # own psql where there is no wrapper.
    return "/usr/bin/psql" if os.path.exists("/usr/bin/psql") else _bin("psql")


def _server_user():
    """(uid, gid) the server runs as: the postgres user when we are root, else None (us)."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise PgError("running as root but there is no `postgres` user to run the server as "
                      "(Debian's postgresql-common creates it)") from None
    return pw.pw_uid, pw.pw_gid


def _clean_env(extra=None):
    """Our environment without PG* variables (a stray PGDATA/PGPORT/PGHOST must not steer the
    tools), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.update(extra or {})
    return env


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _safe_ident(name, what="name"):
    """A name that needs no quoting anywhere (SQL identifier, URL path, conninfo value)."""
    s = re.sub(r"[^a-z0-9_]", "_", str(name).lower())
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "x_" + s
    s = s[:63]
    if not s.strip("_"):
        raise PgError(f"unusable {what}: {name!r}")
    return s


def _proc_stat(pid):
    """(state, ppid) of a process, or None when it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data.rsplit(")", 1)[1].split()
    return rest[0], int(rest[1])


def _alive(pid):
    try:  # our own child (see _become_subreaper) that has exited: reap it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie nobody reaps is dead enough


_subreaper = False


def _become_subreaper():
    """pg_ctl start daemonizes the postmaster: it is orphaned when pg_ctl exits. Orphans go to
    PID 1, and in a container PID 1 is often no init and reaps nothing; a postmaster killed
    with SIGKILL then stays a zombie, kill(pid, 0) still succeeds on it, and start() refuses
    ("lock file postmaster.pid already exists ... another postmaster running"). As a child
    subreaper (prctl PR_SET_CHILD_SUBREAPER) we get the orphans ourselves and reap them
    (_alive). Done after the reaper process is detached, so that the reaper is not ours."""
    global _subreaper
    if _subreaper:
        return
    _subreaper = True
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: orphans go to an init that reaps, as on any ordinary machine


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _proc_stat(int(d))
            if st and st[1] == pid:
                out.append(int(d))
    return out


def _wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        if not pids:
            return []
        time.sleep(0.02)
    return [p for p in pids if _alive(p)]


def _postmaster_pid(datadir):
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (FileNotFoundError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Cleanup: atexit for ordinary exits, the reaper for SIGKILL


_live = []  # PgServer objects whose dir still exists, in creation order
_reaper = None  # the pipe to the reaper (a writable file), or False when it could not start


def _reaper_send(line):
    global _reaper
    if _reaper is None:
        try:
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--reap"],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, text=True, cwd="/")
            p.wait()  # the intermediate process exits at once; the reaper lives on, detached
            _reaper = p.stdin
        except OSError:
            _reaper = False
    if _reaper:
        try:
            _reaper.write(line + "\n")
            _reaper.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass


@atexit.register
def _cleanup_all():
    for srv in reversed(list(_live)):
        try:
            srv._destroy()
        except Exception as e:  # keep going: every other server must go too
            print(f"pgserver: cleanup of {srv.dir}: {e}", file=sys.stderr)


def _reap_main():
    """The reaper: detach, read "add DIR"/"del DIR" lines until EOF (our creator is gone), then
    stop the servers under every DIR still registered and delete the DIRs."""
    if os.fork():
        os._exit(0)
    os.setsid()
    for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(s, signal.SIG_IGN)
    dirs = []
    for line in sys.stdin:
        cmd, _, d = line.rstrip("\n").partition(" ")
        if cmd == "add":
            dirs.append(d)
        elif cmd == "del" and d in dirs:
            dirs.remove(d)
    for d in dirs:
        pid = _postmaster_pid(os.path.join(d, "data"))
        if pid and _alive(pid):
            try:
                os.kill(pid, signal.SIGQUIT)  # what pg_ctl stop -m immediate sends
            except OSError:
                pass
            if _wait_gone([pid], 15):
                kids = _children(pid)
                for p in [pid] + kids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------


class PgServer:
    """One PostgreSQL server in a temp dir of its own (DIR/data, DIR/sock, DIR/log)."""

    def __init__(self, name="deconflict-test", *, _primary=None):
        self.name = name
        self.host = HOST
        self.user = SUPERUSER
        self.is_standby = _primary is not None
        self.app_name = _safe_ident(name, "standby name") if self.is_standby else None
        self._owner = _server_user()
        self._running = False
        self._reg = False

        prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] + "."
        base = tempfile.gettempdir()
        if self._owner and not self._traversable_by_others(base):
            base = "/tmp"  # the postgres user must be able to reach its dir
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=base)
        self.datadir = os.path.join(self.dir, "data")
        self.sockdir = os.path.join(self.dir, "sock")
        self.logfile = os.path.join(self.dir, "log")
        _live.append(self)
        self._reg = True
        _reaper_send("add " + self.dir)
        if len(os.path.join(self.sockdir, ".s.PGSQL.65535")) > 107:
            raise PgError(f"temp dir path too long for a unix socket: {self.sockdir} "
                          "(set TMPDIR to a shorter dir)")
        os.mkdir(self.sockdir, 0o700)
        if self._owner:
            for d in (self.dir, self.sockdir):
                os.chown(d, *self._owner)
        self.port = _free_port()

        if _primary is None:
            self._run([_bin("initdb"), "-D", self.datadir, "-U", SUPERUSER, "-A", "trust",
                       "-E", "UTF8", "--no-locale", "--no-sync"], "initdb")
        else:
            # -R: standby.signal + primary_conninfo; -X stream: the WAL the backup needs comes
            # along; -c fast: checkpoint now instead of waiting for a spread one.
            self._run([_bin("pg_basebackup"), "-D", self.datadir, "-h", HOST,
                       "-p", str(_primary.port), "-U", SUPERUSER, "-R", "-X", "stream",
                       "-c", "fast", "--no-sync"], "pg_basebackup")
            self._fix_standby_auto_conf(_primary)
        self._write_conf()
        self._start_on_free_port()

    # -- properties ---------------------------------------------------------------------------

    def url(self, db="postgres"):
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{db}"

    def __repr__(self):
        role = "standby" if self.is_standby else "server"
        return f"<PgServer {role} {self.name} port={self.port} dir={self.dir}>"

    # -- SQL ----------------------------------------------------------------------------------

    def psql(self, sql, db="postgres", timeout=60):
        """Runs sql (any number of statements, each its own transaction unless it says BEGIN)
        and returns psql's stdout: unaligned, tuples only, no command tags (-q), "|" between
        columns, one row a line, the final newline removed. Raises PgError on any SQL error."""
        cmd = [_psql_path(), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
               "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", db, "-f", "-"]
        r = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout,
                           env=_clean_env({"PGCONNECT_TIMEOUT": "10"}))
        if r.returncode != 0:
            raise PgError(f"psql on port {self.port} db {db} failed ({r.returncode}):\n"
                          f"{r.stderr.strip()}\nSQL: {sql.strip()[:500]}")
        return r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout

    def create_db(self, name):
        """CREATE DATABASE (the name lowercased, [a-z0-9_] only); returns its url."""
        db = _safe_ident(name, "database name")
        self.psql(f'CREATE DATABASE "{db}"')
        return self.url(db)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self):
        """Starts the server again (after stop() or kill9(); crash recovery runs after kill9),
        on the same port, and waits until it accepts connections."""
        if self._running:
            raise PgError(f"{self!r} is already running")
        self._pg_ctl_start()

    def stop(self, mode="fast"):
        """pg_ctl stop -m smart|fast|immediate, waiting until it is down. No-op if not running."""
        if not self._running:
            return
        pid = _postmaster_pid(self.datadir)
        self._run([_bin("pg_ctl"), "-D", self.datadir, "-m", mode, "-w", "-t", "60", "stop"],
                  "pg_ctl stop")
        self._running = False
        if pid:
            _wait_gone([pid], 10)  # pg_ctl waits for postmaster.pid to go; reap the process

    def kill9(self):
        """SIGKILL the postmaster (a crash, not a shutdown). Its children (backends,
        walsenders, checkpointer...) notice the postmaster's death and exit on their own; this
        waits until they have (SIGKILLs any still there after 10 s), so that start() finds no
        process attached to the old shared memory."""
        pid = _postmaster_pid(self.datadir)
        if not pid or not _alive(pid):
            raise PgError(f"{self!r}: no running postmaster to kill")
        kids = _children(pid)
        os.kill(pid, signal.SIGKILL)
        _wait_gone([pid], 10)
        for p in _wait_gone(kids, 10):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        _wait_gone(kids, 5)
        self._running = False

    def make_standby(self, name="deconflict-standby"):
        """A streaming hot standby of this server (pg_basebackup -R from it into a new temp
        dir, started on its own free port); its application_name is the safe form of name
        (see .app_name), for set_synchronous_standby. Returns a PgServer."""
        if not self._running:
            raise PgError(f"{self!r} is not running")
        return PgServer(name, _primary=self)

    def promote(self, timeout=60):
        """pg_ctl promote on a standby; waits until pg_is_in_recovery() is false."""
        self._run([_bin("pg_ctl"), "-D", self.datadir, "-w", "-t", str(int(timeout)),
                   "promote"], "pg_ctl promote")
        deadline = time.monotonic() + timeout
        while self.psql("SELECT pg_is_in_recovery()") != "f":
            if time.monotonic() > deadline:
                raise PgError(f"{self!r} still in recovery {timeout}s after promote"
                              + self._log_tail())
            time.sleep(0.05)
        self.is_standby = False

    def set_synchronous_standby(self, standby, wait=True, timeout=30):
        """On a primary: synchronous_standby_names = standby (a PgServer from make_standby or
        an application_name; None or "" turns synchronous replication off), reloaded. With
        wait, returns once pg_stat_replication shows that standby as 'sync' (from then on a
        commit here returns only after the standby has flushed it)."""
        app = standby.app_name if isinstance(standby, PgServer) else standby
        value = f'"{_safe_ident(app, "standby name")}"' if app else ""
        self.psql(f"ALTER SYSTEM SET synchronous_standby_names = '{value}'; "
                  "SELECT pg_reload_conf();")
        if not (wait and app):
            return
        deadline = time.monotonic() + timeout
        q = ("SELECT sync_state FROM pg_stat_replication WHERE application_name = "
             f"'{_safe_ident(app)}'")
        while self.psql(q) != "sync":
            if time.monotonic() > deadline:
                raise PgError(f"standby {app} not synchronous after {timeout}s: "
                              f"{self.psql('TABLE pg_stat_replication')!r}")
            time.sleep(0.05)

    def wait_replayed(self, standby, timeout=30):
        """On a primary: waits until standby has replayed all WAL written here so far (so a
        read there sees every commit made here before the call)."""
        lsn = self.psql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        q = f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"
        while standby.psql(q) != "t":
            if time.monotonic() > deadline:
                raise PgError(f"{standby!r} has not replayed {lsn} after {timeout}s"
                              + standby._log_tail())
            time.sleep(0.02)

    def log_tail(self, lines=40):
        """The last lines of the server's log (for a failing test's output)."""
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _traversable_by_others(path):
        p = os.path.abspath(path)
        while True:
            try:
                if not os.stat(p).st_mode & 0o001:
                    return False
            except OSError:
                return False
            if p == "/":
                return True
            p = os.path.dirname(p)

    def _log_tail(self):
        t = self.log_tail()
        return f"\n--- {self.logfile} (tail) ---\n{t}" if t else ""

    def _run(self, cmd, what, timeout=120):
        """Runs a server-side tool as the server's user, in our dir; raises PgError with its
        output on failure."""
        kw = {}
        if self._owner:
            kw = dict(user=self._owner[0], group=self._owner[1], extra_groups=[])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir,
                           stdin=subprocess.DEVNULL,
                           env=_clean_env({"HOME": self.dir, "TZ": "UTC"}), **kw)
        if r.returncode != 0:
            raise PgError(f"{what} failed ({r.returncode}): {' '.join(cmd)}\n"
                          f"{r.stdout.strip()}\n{r.stderr.strip()}" + self._log_tail())
        return r.stdout

    def _write_conf(self):
        """Our settings at the end of postgresql.conf (a standby's copy of the primary's block
        is replaced). Later lines win over initdb's defaults; postgresql.auto.conf (ALTER
        SYSTEM) still wins over these."""
        path = os.path.join(self.datadir, "postgresql.conf")
        with open(path) as f:
            text = f.read().split("\n" + _MARK + "\n")[0]
        settings = {
            "port": str(self.port),
            "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{self.sockdir}'",
            "wal_level": "replica",
            "max_wal_senders": "10",
            "hot_standby": "on",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "log_line_prefix": "'%m [%p] %q%a '",
            "cluster_name": f"'{_safe_ident(self.name)}'",
        }
        block = "".join(f"{k} = {v}\n" for k, v in settings.items())
        with open(path, "w") as f:
            f.write(text.rstrip("\n") + "\n\n" + _MARK + "\n" + block)

    def _fix_standby_auto_conf(self, primary):
        """pg_basebackup copied the primary's postgresql.auto.conf and -R appended a
        primary_conninfo to it. Replace that conninfo with one naming this standby
        (application_name, matched by synchronous_standby_names), and drop a copied
        synchronous_standby_names: after a promotion it would make every commit wait for a
        standby that does not exist."""
        path = os.path.join(self.datadir, "postgresql.auto.conf")
        with open(path) as f:
            lines = [ln for ln in f.read().splitlines()
                     if not re.match(r"\s*(primary_conninfo|synchronous_standby_names)\b", ln)]
        conninfo = (f"host={HOST} port={primary.port} user={SUPERUSER} "
                    f"application_name={self.app_name}")
        lines.append(f"primary_conninfo = '{conninfo}'")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _start_on_free_port(self):
        # The port was free when chosen; someone may have taken it since. Then try another.
        for attempt in range(5):
            try:
                self._pg_ctl_start()
                return
            except PgError:
                log = self.log_tail(15)
                if attempt == 4 or not re.search(r"could not (bind|create any TCP)", log):
                    raise
                self.port = _free_port()
                self._write_conf()

    def _pg_ctl_start(self):
        _become_subreaper()
        self._run([_bin("pg_ctl"), "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60",
                   "start"], "pg_ctl start")
        self._running = True
        # pg_ctl -w returns once the postmaster says it is ready (for a standby: accepting
        # read-only connections); check that a client really gets in over TCP.
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run([_bin("pg_isready"), "-q", "-h", HOST, "-p", str(self.port),
                                "-U", SUPERUSER, "-d", "postgres", "-t", "5"],
                               env=_clean_env(), capture_output=True)
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PgError(f"{self!r} started but does not accept connections"
                              + self._log_tail())
            time.sleep(0.05)

    def _destroy(self):
        """Stop (immediate) if running, delete the dir. Used by the atexit hook."""
        pid = _postmaster_pid(self.datadir)
        if pid and _alive(pid):
            try:
                self._run([_bin("pg_ctl"), "-D", self.datadir, "-m", "immediate", "-w",
                           "-t", "30", "stop"], "pg_ctl stop", timeout=40)
                _wait_gone([pid], 10)
            except (PgError, subprocess.TimeoutExpired, OSError):
                kids = _children(pid)
                for p in [pid] + kids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                _wait_gone([pid] + kids, 10)
        self._running = False
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._reg:
            _live.remove(self)
            self._reg = False
            _reaper_send("del " + self.dir)


def multi_host_url(servers, db="postgres"):
    """One URL naming every server, for libpq to try in order and keep the one that accepts
    writes: postgresql://deconflict@127.0.0.1:P1,127.0.0.1:P2/DB?target_session_attrs=read-write
    """
    hosts = ",".join(f"{s.host}:{s.port}" for s in servers)
    return f"postgresql://{SUPERUSER}@{hosts}/{db}?target_session_attrs=read-write"


if __name__ == "__main__":
    if sys.argv[1:] == ["--reap"]:
        _reap_main()
    else:
        print(__doc__)
