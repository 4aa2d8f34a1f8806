#!/usr/bin/env python3
"""Self-test of pgserver.py against real PostgreSQL: a server, a database, a query; a streaming
standby that sees a write made on the primary; a synchronous standby; kill -9 of the primary,
promotion of the standby, a write on the promoted server; a multi-host URL that finds it; and
everything deleted at exit. Prints "ok:" lines; exits non-zero on the first failure.

usage: test_pgserver.py
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402
from pgserver import PgServer, multi_host_url  # noqa: E402

T0 = time.monotonic()


def ok(msg):
    print(f"ok: {msg} ({time.monotonic() - T0:.2f}s)", flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main():
    pg = PgServer()
    check(os.path.isdir(pg.datadir) and pg.port > 0, "datadir and port")
    check(pg.url() == f"postgresql://deconflict@127.0.0.1:{pg.port}/postgres", pg.url())
    check(pg.psql("SHOW fsync") == "on", "fsync must stay on")
    check(pg.psql("SHOW wal_level") == "replica", "wal_level")
    check(pg.psql("SELECT current_user") == "deconflict", "superuser name")
    check(pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "t",
          "deconflict is superuser")
    check(pg.psql("SHOW server_encoding") == "UTF8", "encoding")
    if os.geteuid() == 0:
        owner = os.stat(pg.datadir).st_uid
        check(owner != 0, "server files must not be root's")
    ok(f"server on port {pg.port}, {pg.psql('SHOW server_version')}, datadir {pg.datadir}")

    url = pg.create_db("Store Test-1")
    check(url == f"postgresql://deconflict@127.0.0.1:{pg.port}/store_test_1", url)
    db = "store_test_1"
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')", db)
    check(pg.psql("SELECT id, v FROM t", db) == "1|one", "query result")
    try:
        pg.psql("SELECT * FROM no_such_table", db)
        raise AssertionError("an SQL error must raise")
    except pgserver.PgError as e:
        check("no_such_table" in str(e), str(e))
    ok(f"create_db -> {url}; query; SQL errors raise")

    # The URL works for a libpq client other than our psql wrapper (the server's own psql).
    r = subprocess.run([pgserver._bin("psql"), "-X", "-A", "-t", "-c", "SELECT count(*) FROM t",
                        url], capture_output=True, text=True, env=pgserver._clean_env())
    check(r.returncode == 0 and r.stdout.strip() == "1", r.stderr)
    ok("libpq connects with url()")

    # Stop and start again: the data survives.
    pg.stop()
    pg.start()
    check(pg.psql("SELECT v FROM t WHERE id = 1", db) == "one", "data after restart")
    ok("stop(fast) + start()")

    sb = pg.make_standby("sb1")
    check(sb.port != pg.port and sb.datadir != pg.datadir, "standby has its own port and dir")
    check(sb.psql("SELECT pg_is_in_recovery()") == "t", "standby in recovery")
    check(sb.app_name == "sb1", sb.app_name)
    pg.psql("INSERT INTO t VALUES (2, 'two')", db)
    pg.wait_replayed(sb)
    check(sb.psql("SELECT v FROM t WHERE id = 2", db) == "two", "standby sees the write")
    try:
        sb.psql("INSERT INTO t VALUES (99, 'no')", db)
        raise AssertionError("a standby must refuse writes")
    except pgserver.PgError as e:
        check("read-only" in str(e), str(e))
    ok(f"standby on port {sb.port} streams from the primary and refuses writes")

    pg.set_synchronous_standby(sb)
    state = pg.psql("SELECT application_name, sync_state FROM pg_stat_replication")
    check(state == "sb1|sync", state)
    pg.psql("INSERT INTO t VALUES (3, 'three')", db)  # returns once sb1 has flushed it
    ok("synchronous standby: " + state)

    pg.kill9()
    check(not pgserver._alive(pgserver._postmaster_pid(pg.datadir)), "postmaster gone")
    sb.promote()
    check(sb.psql("SELECT pg_is_in_recovery()") == "f", "promoted")
    # Row 3 was committed synchronously: it is on the standby even though the primary died.
    check(sb.psql("SELECT string_agg(v, ',' ORDER BY id) FROM t", db) == "one,two,three",
          "rows on the promoted server")
    sb.psql("INSERT INTO t VALUES (4, 'four')", db)
    check(sb.psql("SELECT count(*) FROM t", db) == "4", "write on promoted server")
    # A copied synchronous_standby_names would have made that INSERT hang; check it's unset.
    check(sb.psql("SHOW synchronous_standby_names") == "", "no sync standby on promoted")
    ok("kill9 primary, promote standby, write on the promoted server")

    murl = multi_host_url([pg, sb], db)
    check(murl == f"postgresql://deconflict@127.0.0.1:{pg.port},127.0.0.1:{sb.port}/{db}"
          "?target_session_attrs=read-write", murl)
    r = subprocess.run([pgserver._bin("psql"), "-X", "-A", "-t", "-c",
                        "SELECT inet_server_port(), count(*) FROM t", murl],
                       capture_output=True, text=True, env=pgserver._clean_env())
    check(r.returncode == 0 and r.stdout.strip() == f"{sb.port}|4", r.stdout + r.stderr)
    ok(f"multi_host_url skips the dead primary: {murl}")

    # The old primary restarts after kill -9 (crash recovery), as a server of its own.
    pg.start()
    check(pg.psql("SELECT count(*) FROM t", db) == "3", "old primary after crash recovery")
    ok("start() after kill9: crash recovery")

    dirs = [pg.dir, sb.dir]
    pgserver._cleanup_all()
    check(not any(os.path.exists(d) for d in dirs), "temp dirs deleted")
    ok("cleanup stops both servers and deletes their dirs")

    # with_pg.py: the URL reaches the command, the command's status comes back.
    here = os.path.dirname(os.path.abspath(__file__))
    probe = ("import os, subprocess, sys; u = os.environ['DC_TEST_PG_URL'];"
             "assert u.endswith('/wp_db'), u;"
             f"r = subprocess.run([{pgserver._bin('psql')!r}, '-X', '-tAc', 'SELECT 1', u],"
             " capture_output=True, text=True); assert r.stdout.strip() == '1', r.stderr;"
             "sys.exit(7)")
    r = subprocess.run([sys.executable, os.path.join(here, "with_pg.py"), "--db", "wp_db", "--",
                        sys.executable, "-c", probe], capture_output=True, text=True)
    check(r.returncode == 7, f"with_pg.py exit {r.returncode}: {r.stderr}")
    ok("with_pg.py passes DC_TEST_PG_URL and the command's exit status")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, pgserver.PgError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"all ok in {time.monotonic() - T0:.1f}s")
