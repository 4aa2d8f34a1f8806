#!/usr/bin/env python3
"""bash completion for deconflict and deconflictd (packaging/bash-completion/deconflict),
sourced into a real bash and asked as bash asks it (COMP_WORDS, COMP_CWORD, the function
complete -F names): it offers deconflict's commands, each command's subcommands, and for each
command exactly the options its --help prints (plus --help and the options that go with any
command, from the top-level text); within a subcommand only that synopsis's options; the values
an option lists (--format table|csv|json); directories for a DIR, files for a FILE; and every
option deconflictd --help prints. Run in plain bash, then again with bash-completion's own
helpers loaded when the machine has them (as an interactive shell on Debian has).

usage: test_completion.py BIN_DIR COMPLETION_FILE"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

BIN, COMPLETION = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CLI, DAEMON = os.path.join(BIN, "deconflict"), os.path.join(BIN, "deconflictd")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
OPT = re.compile(r"--[a-z0-9][a-z0-9-]*")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def complete_all(cases, preamble, cwd):
    """What the registered completion function offers for each case (a list of words, the last
    the one being completed), asked in one bash process."""
    script = [preamble, f"source {shlex.quote(COMPLETION)}"]
    for words in cases:
        quoted = " ".join(shlex.quote(w) for w in words)
        script.append(f"""COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()
COMP_LINE={shlex.quote(' '.join(words))}; COMP_POINT=${{#COMP_LINE}}
spec=$(complete -p {shlex.quote(os.path.basename(words[0]))}); fn=${{spec#*-F }}; fn=${{fn%% *}}
$fn {shlex.quote(words[0])} {shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else '')}
printf '%s\\n' "${{COMPREPLY[@]}}"; echo '@@end'""")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)], capture_output=True,
                       text=True, timeout=120, cwd=cwd)
    if p.returncode != 0 or p.stderr:
        print(p.stderr[:2000])
    out = p.stdout.split("@@end\n")
    return [set(x for x in o.split("\n") if x) for o in out[:len(cases)]]


def main():
    run = lambda *a: subprocess.run(list(a), capture_output=True, text=True, timeout=30).stdout
    top = run(CLI, "help")
    commands = {m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", top, re.M)}
    globs = set(OPT.findall("\n".join(l for l in top.splitlines() if l and not l.startswith((" ", "usage:")))))
    globs |= {"--help"}
    helps = {c: run(CLI, c, "--help") for c in sorted(commands - {"help"})}
    # Subcommands as each command's synopsis lines show them ("  party add|rotate-token NAME",
    # "| key public KEYFILE"), written out by hand to hold the completion to them.
    subs = {"party": {"add", "rotate-token", "disable", "enable", "signatures", "list"},
            "feed": {"sbs", "beast"}, "asterix": {"dump", "encode"}, "audit": {"export", "verify"},
            "key": {"generate", "public", "sign"}}
    work = tempfile.mkdtemp(prefix="dc-completion-")
    os.mkdir(os.path.join(work, "somedir"))
    open(os.path.join(work, "somefile.csv"), "w").close()

    cases, expect = [], []

    def case(words, want, what, exact=True):
        cases.append([CLI if w == "@" else DAEMON if w == "@d" else w for w in words])
        expect.append((want, what, exact))

    case(["@", ""], commands, "deconflict <TAB>: the commands")
    case(["@", "-"], globs | {"--version"}, "deconflict -<TAB>: --help, --version and the options of any command")
    for c, h in helps.items():
        case(["@", c, "--"], set(OPT.findall(h)) | globs,
             f"deconflict {c} --<TAB>: exactly the options `deconflict {c} --help` prints, and {' '.join(sorted(globs))}")
    for c, s in subs.items():
        case(["@", c, ""], s | ({"somedir", "somefile.csv"} if c == "feed" else set()),
             f"deconflict {c} <TAB>: its subcommands" + (" and files (feed RECORDING)" if c == "feed" else ""))
    case(["@", "party", "add", "alpha", "--"], {"--data", "--store"} | globs, "party add NAME --<TAB>: --data, --store")
    case(["@", "audit", "verify", "x.json", "--"], {"--token", "--since-head"} | globs,
         "audit verify FILE --<TAB>: its own options only, not export's --out or --data")
    case(["@", "audit", "export", "--"], {"--data", "--store", "--out"} | globs, "audit export --<TAB>: its own")
    case(["@", "key", "sign", "k", "--"], {"--party"} | globs, "key sign --<TAB>: --party")
    case(["@", "feed", "sbs", "h:30003", "--"], {"--to", "--token", "--seconds"} | globs,
         "feed sbs HOST:PORT --<TAB>: the forwarder's options")
    case(["@", "feed", "t.csv", "--"], set(OPT.findall(helps["feed"].split("  feed sbs")[0])) | globs,
         "feed RECORDING --<TAB>: the recording's options, not --seconds")
    case(["@", "--cacert", "ca.pem", "audit", "verify", "f", "--s"], {"--since-head"},
         "--cacert FILE before the command is stepped over")
    case(["@", "replay", "t.csv", "--format", ""], {"table", "csv", "json"}, "replay --format <TAB>: table csv json")
    case(["@", "asterix", "encode", "--cat", ""], {"21", "62"}, "asterix encode --cat <TAB>: 21 62")
    case(["@", "feed", "t.csv", "--split", ""], {"alternate", "prefix"}, "feed --split <TAB>: alternate prefix")
    case(["@", "party", "list", "--data", "some"], {"somedir"}, "--data <TAB>: directories only")
    case(["@", "audit", "export", "--out", "some"], {"somedir", "somefile.csv"}, "--out <TAB>: files")
    case(["@", "feed", "t.csv", "--token", ""], set(), "--token <TAB>: nothing to offer")
    case(["@", "replay", ""], {"somedir", "somefile.csv"}, "replay <TAB>: files")
    dopts = set(OPT.findall(run(DAEMON, "--help")))
    case(["@d", "--"], dopts, f"deconflictd --<TAB>: the {len(dopts)} options its --help prints")
    case(["@d", "--config", "some"], {"somedir", "somefile.csv"}, "deconflictd --config <TAB>: files")
    case(["@d", "--console-dir", "some"], {"somedir"}, "deconflictd --console-dir <TAB>: directories")

    modes = [("plain bash", "")]
    if os.path.isfile(BASH_COMPLETION):
        modes.append(("with bash-completion", f"shopt -s extglob progcomp; source {BASH_COMPLETION}"))
    else:
        print(f"note: {BASH_COMPLETION} absent: plain bash only")
    for mode, preamble in modes:
        got = complete_all(cases, preamble, work)
        for g, (want, what, exact) in zip(got, expect):
            # bash-completion's _filedir marks directories itself; plain compgen lists names.
            g = {x.rstrip("/") for x in g}
            ok = g == want if exact else want <= g
            check(ok, f"[{mode}] {what}" + ("" if ok else f": offered {sorted(g)}, expected {sorted(want)}"))
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
