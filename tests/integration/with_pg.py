#!/usr/bin/env python3
"""Runs a command against a throw-away PostgreSQL server.

usage: with_pg.py [--db NAME] -- COMMAND ARGS...

Starts one PgServer (pgserver.py), creates database NAME (default deconflict_test), runs
COMMAND with DC_TEST_PG_URL=postgresql://deconflict@127.0.0.1:PORT/NAME in its environment,
stops the server and deletes it, and exits with COMMAND's exit status (128+N if a signal N
ended it). When COMMAND fails, the tail of the server's log goes to stderr. CTest uses it to run
the store's unit tests and the integration tests against PostgreSQL.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgserver import PgServer, PgError  # noqa: E402


def usage(msg):
    print(f"with_pg.py: {msg}\nusage: with_pg.py [--db NAME] -- COMMAND ARGS...",
          file=sys.stderr)
    sys.exit(2)


def main(argv):
    db = "deconflict_test"
    if "--" not in argv:
        usage("no -- before the command")
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    while opts:
        o = opts.pop(0)
        if o == "--db" and opts:
            db = opts.pop(0)
        elif o.startswith("--db="):
            db = o[len("--db="):]
        else:
            usage(f"unknown option {o}")
    if not cmd:
        usage("no command after --")

    # SIGTERM/SIGHUP (not only SIGINT) end us through Python's exit path, so the server is
    # stopped and deleted; the reaper covers SIGKILL.
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        pg = PgServer("deconflict-with-pg")
        url = pg.create_db(db)
    except PgError as e:
        print(f"with_pg.py: could not start PostgreSQL: {e}", file=sys.stderr)
        return 1
    env = dict(os.environ, DC_TEST_PG_URL=url)
    proc = subprocess.Popen(cmd, env=env)
    try:
        rc = proc.wait()
    except BaseException:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
    if rc != 0:
        print(f"with_pg.py: {' '.join(cmd)} exited {rc}; server log ({pg.logfile}) tail:\n"
              f"{pg.log_tail(30)}", file=sys.stderr)
    try:
        pg.stop("fast")
    except PgError as e:
        print(f"with_pg.py: stopping PostgreSQL: {e}", file=sys.stderr)
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
