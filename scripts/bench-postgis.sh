#!/usr/bin/env bash
# The strategic benchmark side by side with PostGIS, the tool a user would otherwise reach for.
#
#   scripts/bench-postgis.sh [deconflict-bench strategic options: --sizes, --queries, --seed]
#
# Installs Debian's postgresql + postgresql-15-postgis-3 + libpq-dev if missing, builds
# deconflict-bench with libpq, initdb's a throw-away cluster in a mktemp directory, starts it on a
# free loopback port (the client connects through the unix socket in that directory), creates the
# postgis extension, and runs `deconflict-bench strategic --export DIR --pg CONNINFO`, which for
# each size exports the seeded volumes as CSV, times the engine, COPYs the CSV into PostGIS
# (geometry(Polygon,4326) + tstzrange, GiST on both, ANALYZE) and times the same filings there;
# both are printed side by side with the ratio. The server is stopped and the directory deleted
# on exit. Prints figures only: nothing here is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION=15
PGBIN=/usr/lib/postgresql/$PG_VERSION/bin
PACKAGES=(postgresql "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" libpq-dev)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-postgis: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    "${SUDO[@]}" apt-get update >/dev/null
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Build with libpq (configure again if the cache predates libpq-dev).
if ! grep -q '^PQ_FOUND:INTERNAL=1' build/CMakeCache.txt 2>/dev/null; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDC_DATA_DIR="${DATA:-$(pwd)/../shared/data}" >/dev/null
fi
cmake --build build -j"${JOBS:-2}" --target deconflict-bench >/dev/null

# The server refuses to run as root: run it as the postgres user Debian's package creates.
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); fi

tmp=$(mktemp -d /tmp/dc-bench-pg.XXXXXX)
chmod 755 "$tmp"
mkdir "$tmp/db" "$tmp/sock" "$tmp/data"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp/db" "$tmp/sock"; fi
started=0
cleanup() {
  if [ "$started" = 1 ]; then
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$tmp/db" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${AS_PG[@]}" "$PGBIN/initdb" -D "$tmp/db" -U postgres -A trust -E UTF8 --no-locale >/dev/null

# Settings: what someone tuning a dedicated box would set for a bulk load and read-only queries
# (durability off only speeds up loading; JIT off because it only adds compile time to
# millisecond queries; autovacuum off so it cannot run during the timed queries; we ANALYZE).
opts="-c listen_addresses=127.0.0.1 -k $tmp/sock -c shared_buffers=2GB -c work_mem=64MB"
opts+=" -c maintenance_work_mem=2GB -c fsync=off -c synchronous_commit=off"
opts+=" -c full_page_writes=off -c max_wal_size=16GB -c checkpoint_timeout=1h -c jit=off"
opts+=" -c autovacuum=off"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  port_free "$port" || continue
  if "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$tmp/db" -l "$tmp/db/server.log" -w -t 60 \
    -o "$opts -p $port" start >/dev/null; then
    started=1
    break
  fi
done
if [ "$started" != 1 ]; then
  echo "bench-postgis: could not start PostgreSQL" >&2
  cat "$tmp/db/server.log" >&2 || true
  exit 1
fi

psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$tmp/sock" -p "$port" -U postgres)
"${psql[@]}" -d postgres -c 'CREATE DATABASE bench'
"${psql[@]}" -d bench -c 'CREATE EXTENSION postgis'
echo "PostgreSQL $("${psql[@]}" -d bench -tAc 'SHOW server_version'), PostGIS $("${psql[@]}" -d bench -tAc 'SELECT postgis_lib_version()'), port $port (client over the unix socket)"

build/bin/deconflict-bench strategic --export "$tmp/data" \
  --pg "host=$tmp/sock port=$port user=postgres dbname=bench" "$@"
