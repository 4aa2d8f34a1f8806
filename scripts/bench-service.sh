#!/usr/bin/env bash
# The service benchmark. For each size, two fresh stores, each with two parties and a daemon on
# a free loopback port, driven by `deconflict-bench service`:
#   1. the daemon as shipped (detection every 1 s, 2 of 4):
#      - ingest: reports/s in batches of BATCH, on 2 connections, each batch durable;
#      - filings/s with the conflict check, on 1, 4 and 16 connections;
#   2. the daemon tuned for alert latency (--period-ms $PERIOD_MS --m-of-4 1: the first pass
#      that sees a pair raises it; with the defaults latency is ~2 s by design):
#      - ingest again, for INGEST2_S seconds (detection passes back to back at 100k tracks);
#      - alert latency with SIZE live background tracks.
#   SIZES (1000 10000 100000)  BATCH (5000)  DURATION_S (10)  FILINGS (4000)  ALERTS (100)
#   PERIOD_MS (50)  INGEST2_S (5)  REPORTS (0: none): the first ingest ends after that many
#   reports, so builds that ingest at different rates leave equal stores for the filings
#   DC_TEST_PG_URL: a PostgreSQL server (scripts/bench-backends.sh starts one): each run gets a
#   database of its own there (--store) instead of a SQLite data directory; NODES (1): daemons
#   on that one store, the load spread over them (deconflict-bench service --url per node)
#   DAEMON_BIN (build/bin): where deconflictd and deconflict come from, to measure another build
#   with the same load generator (build/bin/deconflict-bench); DAEMON_ARGS: more daemon flags
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 100000"}
BATCH=${BATCH:-5000}
DURATION_S=${DURATION_S:-10} # not SECONDS: bash keeps its own clock in that name
FILINGS=${FILINGS:-4000}
ALERTS=${ALERTS:-100}
PERIOD_MS=${PERIOD_MS:-50}
INGEST2_S=${INGEST2_S:-5}
REPORTS=${REPORTS:-0}
DAEMON_BIN=${DAEMON_BIN:-build/bin}
NODES=${NODES:-1}
PG_URL=${DC_TEST_PG_URL:-}
read -r -a extra_args <<<"${DAEMON_ARGS:-}"

# run SIZE LABEL BENCH-ARGS... -- DAEMON-ARGS...
run() {
  local n=$1 label=$2; shift 2
  local bench=() daemon=()
  while [ "$1" != "--" ]; do bench+=("$1"); shift; done
  shift; daemon=("$@")
  local work a b url store i pids=() urls=()
  work=$(mktemp -d /tmp/deconflict-bench.XXXXXX)
  if [ -n "$PG_URL" ]; then
    local db="bench_$(basename "$work" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')"
    psql -X -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null
    store=(--store "${PG_URL%/*}/$db")
  else
    store=(--data "$work/data")
  fi
  a=$("$DAEMON_BIN/deconflict" party add a "${store[@]}" | tail -1)
  b=$("$DAEMON_BIN/deconflict" party add b "${store[@]}" | tail -1)
  for i in $(seq "$NODES"); do
    local node=()
    [ "$NODES" -gt 1 ] && node=(--node "n$i")
    "$DAEMON_BIN/deconflictd" "${store[@]}" "${node[@]}" --listen 127.0.0.1:0 --quiet \
        --rate-limit-rps 0 ${extra_args[@]+"${extra_args[@]}"} "${daemon[@]}" \
        >"$work/out$i" 2>"$work/log$i" &
    pids+=($!)
    for _ in $(seq 50); do grep -q listening "$work/out$i" 2>/dev/null && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/out$i")
    urls+=(--url "$url")
  done
  echo "== $n tracks, $label (${store[0]#--} ${NODES} node(s) ${urls[*]} ${daemon[*]}) =="
  build/bin/deconflict-bench service "${urls[@]}" --token "$a" --token "$b" --tracks "$n" \
      --batch "$BATCH" "${bench[@]}" || true
  for i in $(seq 0 $((NODES - 1))); do
    # The last pass, the mean over the run (_sum / _count), and the open conflicts at their
    # levels (the ones not 0).
    curl -s "${urls[$((2 * i + 1))]}/metrics" |
        grep -E '^deconflict_(live_tracks|detection_pass_last_seconds|detection_pass_seconds_(sum|count)|open_conflicts|store_commits_total|store_syncs_total)[ {]' |
        grep -vE '^deconflict_open_conflicts\{.*\} 0$' || true
  done
  kill "${pids[@]}"; wait "${pids[@]}" || true
  rm -rf "$work"
}

for n in $SIZES; do
  run "$n" "as shipped" --seconds "$DURATION_S" --reports "$REPORTS" --filings "$FILINGS" \
      --alerts 0 --
  run "$n" "tuned for alert latency" --seconds "$INGEST2_S" --filings 0 --alerts "$ALERTS" -- \
      --period-ms "$PERIOD_MS" --m-of-4 1
done
