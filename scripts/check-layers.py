#!/usr/bin/env python3
"""Checks deconflictd's layering (docs/architecture.md) from its sources:

  - dependencies point one way, main -> http/feeds -> api -> core -> include/deconflict: no
    folder includes a header of a folder above it;
  - no include cycle among the daemon's modules (a module is a .c and its .h; module A depends on
    B when A.c or A.h includes B.h);
  - core/ includes neither libmicrohttpd nor the clock, and never reads the clock itself;
  - no .c file of the daemon is over 700 lines.

Prints every violation and exits 1 when there is one; with --graph, prints the module graph.
usage: check-layers.py [--graph] [SRC_DIR]   (default: src/deconflictd beside this script)
"""
import os
import re
import sys

MAX_LINES = 700
# The rank of each layer: a file may include headers of its own rank or below only. The
# top-level helpers beside main.c (the clock, the configuration's reader) serve the transport
# layers and main, never the API or the domain.
RANK = {"core": 0, "api": 1, "http": 2, "feeds": 2, "": 2, "main": 3}
# What the domain may not touch: the server library, and the clock.
CORE_FORBIDDEN_INCLUDES = re.compile(r"#\s*include\s*[<\"](microhttpd\.h|clock\.h|sys/time\.h)[>\"]")
CORE_FORBIDDEN_CALLS = re.compile(r"\b(clock_gettime|gettimeofday|dd_now_s|time\s*\(\s*(NULL|0)?\s*\))")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def layer_of(rel):
    if rel == "main.c":
        return "main"
    return rel.split("/", 1)[0] if "/" in rel else ""


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    graph_wanted = "--graph" in sys.argv
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src", "deconflictd")
    src = os.path.normpath(src)
    files = []
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, n), src))
    known = set(files)
    problems = []
    deps = {}  # module -> set of modules
    for rel in sorted(files):
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        module = rel[:-2]
        deps.setdefault(module, set())
        layer = layer_of(rel)
        for inc in INCLUDE.findall(text):
            if inc.startswith("deconflict/") or inc not in known:
                continue  # the library's public headers, or a test-local one
            target = inc[:-2]
            if target != module:
                deps[module].add(target)
            if RANK[layer_of(inc)] > RANK[layer]:
                problems.append(f"{rel}: includes {inc}, a layer above {layer or 'main'}/")
        if layer == "core":
            code = strip_comments(text)
            for m in CORE_FORBIDDEN_INCLUDES.finditer(code):
                problems.append(f"{rel}: core/ includes {m.group(1)}")
            for m in CORE_FORBIDDEN_CALLS.finditer(code):
                problems.append(f"{rel}: core/ reads the clock ({m.group(1)}): take now from the caller")
        if rel.endswith(".c"):
            n = text.count("\n")
            if n > MAX_LINES:
                problems.append(f"{rel}: {n} lines (at most {MAX_LINES})")
    # Cycles among modules: Tarjan's strongly connected components.
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    for comp in sccs:
        problems.append("include cycle: " + " <-> ".join(comp))
    if graph_wanted:
        for m in sorted(deps):
            print(f"{m}: {' '.join(sorted(deps[m]))}")
    for p in problems:
        print(p)
    print(f"layers: {len(deps)} modules, {sum(len(d) for d in deps.values())} dependencies, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
