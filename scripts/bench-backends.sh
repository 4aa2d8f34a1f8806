#!/usr/bin/env bash
# The service benchmark (scripts/bench-service.sh) on each store, side by side in one run: the
# SQLite store with one node, a PostgreSQL store with one node, and the same with three nodes
# (docs/deployment.md), alternated ROUNDS times. One throw-away PostgreSQL server for the whole
# run (tests/integration/with_pg.py: initdb into a temporary directory, a free loopback port).
#   ROUNDS (3), and SIZES, DURATION_S, FILINGS, ALERTS, REPORTS ... as bench-service.sh takes them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
export SIZES=${SIZES:-"1000 10000 100000"}
exec python3 tests/integration/with_pg.py --db bench -- bash -c '
  for r in $(seq '"$ROUNDS"'); do
    echo "######## round $r sqlite, 1 node";     DC_TEST_PG_URL= NODES=1 scripts/bench-service.sh
    echo "######## round $r postgresql, 1 node"; NODES=1 scripts/bench-service.sh
    echo "######## round $r postgresql, 3 nodes"; NODES=3 scripts/bench-service.sh
  done'
