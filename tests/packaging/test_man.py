#!/usr/bin/env python3
"""The man pages deconflict(1) and deconflictd(8), as CMake configured them: each renders
without a warning (groff -ww, and man-db's man --warnings), and each is held to its program's
usage text so the two cannot drift: every option the program's --help prints (deconflict's
top-level text and every command's) is documented in the page, every option the page names is
one the program knows, every command has its section, every configuration key deconflictd
--help lists is in deconflictd(8) and is its option's name with '_' for '-' (the rule the page
states), and the page carries the program's version.

usage: test_man.py BIN_DIR MAN_DIR"""
import os
import re
import subprocess
import sys

BIN, MAN = sys.argv[1], sys.argv[2]
CLI, DAEMON = os.path.join(BIN, "deconflict"), os.path.join(BIN, "deconflictd")
OPT = re.compile(r"--[a-z0-9][a-z0-9-]*")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def plain(roff):
    """The page's source with the escapes that hide an option's characters taken out."""
    roff = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&|\\\||\\%", "", roff)
    return roff.replace("\\-", "-").replace("\\e", "\\")


def options_in(text):
    return set(OPT.findall(text))


def documented(opt, page):
    return re.search(re.escape(opt) + r"(?![a-z0-9-])", page) is not None


def render(path):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    g = run(["groff", "-ww", "-z", "-t", "-man", path])
    check(g.returncode == 0 and g.stderr == "",
          f"{os.path.basename(path)}: groff -ww renders it without a warning{': ' + g.stderr[:300] if g.stderr else ''}")
    m = run(["man", "--warnings", "-l", path], env=env)
    check(m.returncode == 0 and m.stderr == "" and "NAME" in m.stdout and "SYNOPSIS" in m.stdout,
          f"{os.path.basename(path)}: man --warnings -l renders it ({len(m.stdout.splitlines())} lines at 80 columns)"
          f"{': ' + m.stderr[:300] if m.stderr else ''}")
    return m.stdout


def without_examples(page):
    """The page but its EXAMPLES, which may show other programs' options (systemctl --now)."""
    return re.sub(r"^\.SH EXAMPLES$.*?(?=^\.SH )", "", page, flags=re.M | re.S)


def known_to_binary(opt, binary, help_text):
    """The option is one the program knows: in its usage text, or a string of its own."""
    with open(binary, "rb") as f:
        data = f.read()
    return opt in options_in(help_text) or (opt.encode() + b"\0") in data


def main():
    page1, page8 = os.path.join(MAN, "man1", "deconflict.1"), os.path.join(MAN, "man8", "deconflictd.8")
    for p in (page1, page8):
        check(os.path.isfile(p), f"{p} configured")
        if not os.path.isfile(p):
            return 1
    render(page1)
    render(page8)
    src1, src8 = plain(open(page1).read()), plain(open(page8).read())

    # deconflict: the top-level text and every command's own.
    top = run([CLI, "help"]).stdout
    commands = sorted({m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", top, re.M)} - {"help"})
    check(len(commands) >= 8, f"deconflict help lists {len(commands)} commands: {' '.join(commands)}")
    help_text = top
    for c in commands:
        h = run([CLI, c, "--help"])
        check(h.returncode == 0 and h.stdout.startswith("usage:"), f"deconflict {c} --help: its usage")
        help_text += h.stdout
        check(re.search(r"^\.SS " + re.escape(c) + r"\s*$", src1, re.M) is not None,
              f"deconflict(1) has a section for the command {c}")
    opts = options_in(help_text) | {"--help", "--version"}
    missing = sorted(o for o in opts if not documented(o, src1))
    check(not missing, f"every one of the {len(opts)} options deconflict's --help prints is in deconflict(1)"
          + (f"; missing: {' '.join(missing)}" if missing else ""))
    named = options_in(without_examples(src1))
    extra = sorted(o for o in named if not known_to_binary(o, CLI, help_text))
    check(not extra, f"every one of the {len(named)} options deconflict(1) names is one the program knows"
          + (f"; unknown: {' '.join(extra)}" if extra else ""))

    # deconflictd: its options and its configuration keys.
    dh = run([DAEMON, "--help"]).stdout
    dopts = options_in(dh)
    missing = sorted(o for o in dopts if not documented(o, src8))
    check(not missing, f"every one of the {len(dopts)} options deconflictd --help prints is in deconflictd(8)"
          + (f"; missing: {' '.join(missing)}" if missing else ""))
    named = options_in(without_examples(src8))
    extra = sorted(o for o in named if not known_to_binary(o, DAEMON, dh))
    check(not extra, f"every one of the {len(named)} options deconflictd(8) names is one the program knows"
          + (f"; unknown: {' '.join(extra)}" if extra else ""))
    m = re.search(r"Config keys:(.*?)Parties:", dh, re.S)
    keys = sorted(set(re.findall(r"\b([a-z][a-z0-9_]*)\b", m.group(1) if m else "")) - {"repeatable", "true", "false"})
    conf = src8.split(".SH CONFIGURATION FILE", 1)[-1].split(".SH ", 1)[0]
    check(len(keys) >= 30, f"deconflictd --help lists {len(keys)} configuration keys")
    missing = sorted(k for k in keys if not re.search(r"^\.BR? " + re.escape(k) + r"\b", conf, re.M))
    check(not missing, "every configuration key it lists is in deconflictd(8)'s CONFIGURATION FILE"
          + (f"; missing: {' '.join(missing)}" if missing else ""))
    nonrule = sorted(k for k in keys if "--" + k.replace("_", "-") not in dopts)
    check(not nonrule, "each key is its option's name with '_' for '-', as the page says"
          + (f"; not so: {' '.join(nonrule)}" if nonrule else ""))
    page_keys = set(re.findall(r"^\.BR? ([a-z][a-z0-9_]*)\b", conf, re.M)) - {"true", "false"}
    nonrule = sorted(k for k in page_keys if "_" in k and "--" + k.replace("_", "-") not in dopts)
    check(not nonrule, f"each of the {len(page_keys)} keys the page lists is an option's name too"
          + (f"; not so: {' '.join(nonrule)}" if nonrule else ""))

    for page, prog in ((src1, CLI), (src8, DAEMON)):
        v = run([prog, "--version"]).stdout.split()[-1]
        th = re.search(r"^\.TH .*$", page, re.M).group(0)
        check(f'"deconflict {v}"' in th, f"{os.path.basename(prog)}'s page carries its version {v}: {th}")
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
