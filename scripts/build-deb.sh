#!/usr/bin/env bash
# Builds the Debian package deconflict (debian/) with dpkg-buildpackage -b -us -uc, in a
# temporary copy of the tree so the working tree gets no build products, and puts the .deb
# (with its -dbgsym .ddeb, .buildinfo and .changes) in OUTDIR (default build/deb).
#   scripts/build-deb.sh [OUTDIR]          (make deb; JOBS=2 by default)
# The copy is the files git knows (tracked, and new ones not ignored) as they are in the
# working tree, plus console/node_modules as `npm ci` left it, so the console is bundled
# without the network (without node_modules, the build runs npm ci, which needs it).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$src/build/deb}")
jobs=${JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/dc-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT

tree="$work/deconflict"
mkdir -p "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$tree" -xf -
else
    tar -C "$src" --exclude='./build' --exclude='./build-*' --exclude='./console/node_modules' \
        -cf - . | tar -C "$tree" -xf -
fi
if [ -d "$src/console/node_modules" ]; then
    cp -a "$src/console/node_modules" "$tree/console/"
fi

# Build-Depends are checked as dpkg-buildpackage would, with one allowance: a machine whose
# Node.js is not Debian's (nodesource's provides npm; nvm's is no package at all) builds the
# console with the node and npm on its PATH.
flags=()
if ! unmet=$(cd "$tree" && dpkg-checkbuilddeps 2>&1); then
    rest=$(echo "$unmet" | sed -n 's/.*Unmet build dependencies: //p' | tr ' ' '\n' |
        grep -v -x -e nodejs -e npm -e '' || true)
    if [ -z "$rest" ] && command -v node >/dev/null && command -v npm >/dev/null; then
        echo "build-deb: Node.js and npm are not Debian's packages here; using $(command -v npm)"
        flags+=(-d)
    else
        echo "$unmet" >&2
        exit 1
    fi
fi

start=$(date +%s)
(cd "$tree" && dpkg-buildpackage -b -us -uc -j"$jobs" "${flags[@]}") >"$work/build.log" 2>&1 || {
    tail -n 60 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}
mkdir -p "$out"
cp "$work/build.log" "$out/build.log"
for f in "$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes; do
    [ -e "$f" ] && cp "$f" "$out/"
done
echo "build-deb: $(cd "$out" && ls deconflict_*.deb) in $out ($(($(date +%s) - start)) s)"
