#!/usr/bin/env bash
# Installs, with apt-get, exactly the Debian 12 packages that building and testing deconflict need.
# Idempotent: packages already installed are skipped, and apt-get is not called at all when nothing
# is missing. Run as root (or with sudo available).
#   --fuzz   also clang (libFuzzer), for `make fuzz`; not needed by `make test`
#   --bench  also python3-numpy, for BlueSky's detection beside ours (scripts/bench-bluesky.sh)
set -euo pipefail

packages=(
  build-essential   # gcc, make, libc headers
  cmake             # the build
  pkg-config        # locating libraries for cmake
  libcmocka-dev     # unit-test framework
  libproj-dev       # PROJ: geodesic routines (polygon areas; reference geometry in tests)
  libgeos-dev       # GEOS: polygon predicates and intersections (strategic engine)
  libjansson-dev    # jansson: JSON parsing and writing
  libyajl-dev       # yajl: streaming JSON, deconflictd's read of position batches
  libyaml-dev       # libyaml: reads the InterUSS conformance intents in a test
  libmicrohttpd-dev # libmicrohttpd: deconflictd's HTTP/1.1 server
  libsqlite3-dev    # SQLite: deconflictd's embedded store
  libpq-dev         # libpq: PostgreSQL client library, linked by the store's PostgreSQL backend
  postgresql-15     # PostgreSQL server, for tests: throw-away servers (tests/integration/pgserver.py)
  libsodium-dev     # libsodium: token generation and hashing, constant-time comparison
  libcurl4-openssl-dev # libcurl: the CLI's HTTP client (deconflict feed)
  curl              # the demo and docs show the API with curl
  clang-format      # style check in `make test`
  python3           # integration test scripts (standard library only)
  openssl           # an Ed25519 signer independent of libsodium, in the audit test
  dump1090-mutability # the real SBS-1 producer the feed test runs against a recorded capture
  tshark            # Wireshark's ASTERIX dissector: the independent judge of what we decode and encode
  chromium          # the real browser the web console's tests drive (through npm playwright-core)
  prometheus        # promtool judges /metrics and the Grafana dashboard's queries, and the test runs the
                    # prometheus binary itself on a temporary port (integration_metrics); the package's
                    # service is not used (see the end of this script)
  groff-base        # groff: the man pages rendered with every warning on, in a test
  man-db            # man: the same as a user reads them, and man -w finds the installed ones
  bash-completion   # the completion tested as an interactive shell loads it
  systemd           # systemd-analyze: the unit verified and its exposure scored, offline
  debhelper         # dh: the Debian package (debian/, make deb)
  dpkg-dev          # dpkg-buildpackage
  adduser           # the package's postinst makes the system user deconflict
  lintian           # the Debian package checked for errors and warnings
)
# The web console is built with Node.js and npm (console/package-lock.json, `npm ci`). The
# machine's own Node.js is used when there is one; Debian's otherwise.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang)
fi
if [ "${1:-}" = "--bench" ]; then
  packages+=(python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: missing ${missing[*]} and not root (no sudo)" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's prometheus enables and starts its own server (port 9090) where systemd runs; the tests
# only need the binaries, so a server this script brought is stopped and disabled again. Without
# systemd (a container) invoke-rc.d starts nothing (no runlevel, or policy-rc.d says no).
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus.service || true
fi
