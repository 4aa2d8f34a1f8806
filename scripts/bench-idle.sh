#!/usr/bin/env bash
# The connection-exhaustion figure of docs/performance.md: a throw-away deconflictd on loopback
# with one party (no rate limit: the bench sends 1,000 requests a round), and deconflict-bench
# idle against it (a party's p99 with N idle sockets held, against the baseline measured in
# the same run).
#   scripts/bench-idle.sh [IDLE] [ROUNDS]      (default 5000 sockets, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-5000}
ROUNDS=${2:-3}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
token=$(build/bin/deconflict party add bench --data "$work/data" | tail -n 1)
ulimit -n "$(ulimit -Hn)"
build/bin/deconflictd --data "$work/data" --listen 127.0.0.1:0 --quiet --rate-limit-rps 0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 50); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/out")
build/bin/deconflict-bench idle --url "$url" --token "$token" --idle "$IDLE" --rounds "$ROUNDS"
