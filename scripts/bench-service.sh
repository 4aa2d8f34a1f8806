#!/usr/bin/env bash
# The service benchmark: for each size, a fresh store with two parties and a daemon on a free
# loopback port, then `deconflict-bench service`:
#   - ingest: reports/s in batches of BATCH, on 2 connections, each batch durable;
#   - filings/s with the conflict check (sequential, one connection);
#   - alert latency with SIZE live background tracks.
# The daemon runs with --period-ms $PERIOD_MS --m-of-4 1: an alert is raised by the first pass
# that sees the pair. With the defaults (1000 ms, 2 of 4) latency is ~2 s by design.
#   SIZES (1000 10000 100000)  BATCH (5000)  DURATION_S (10)  FILINGS (2000)  ALERTS (100)
#   PERIOD_MS (50)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 100000"}
BATCH=${BATCH:-5000}
DURATION_S=${DURATION_S:-10} # not SECONDS: bash keeps its own clock in that name
FILINGS=${FILINGS:-2000}
ALERTS=${ALERTS:-100}
PERIOD_MS=${PERIOD_MS:-50}
for n in $SIZES; do
  work=$(mktemp -d /tmp/deconflict-bench.XXXXXX)
  a=$(build/bin/deconflict party add a --data "$work/data" | tail -1)
  b=$(build/bin/deconflict party add b --data "$work/data" | tail -1)
  build/bin/deconflictd --data "$work/data" --listen 127.0.0.1:0 --quiet \
      --period-ms "$PERIOD_MS" --m-of-4 1 --rate-limit-rps 0 >"$work/out" 2>"$work/log" &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/out")
  echo "== $n tracks (daemon $url, period ${PERIOD_MS} ms, 1 of 4) =="
  build/bin/deconflict-bench service --url "$url" --token "$a" --token "$b" --tracks "$n" \
      --batch "$BATCH" --seconds "$DURATION_S" --filings "$FILINGS" --alerts "$ALERTS" || true
  curl -s "$url/metrics" | grep -E '^deconflict_(live_tracks|detection_pass_ms|open_conflicts) ' || true
  kill "$pid"; wait "$pid" || true
  rm -rf "$work"
done
