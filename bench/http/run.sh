#!/usr/bin/env bash
# Measures the two candidate HTTP/1.1 server libraries (libmicrohttpd, h2o)
# on the daemon's three request shapes and prints a table of medians; the
# figures and the choice are recorded in docs/dependencies.md.
#
# Everything runs on 127.0.0.1: one server at a time, http_load as client.
# Nothing is pinned, and on a small shared machine server and loader compete
# for the same cores, so the figures compare the libraries here; they are
# not capacity numbers. Repetitions are interleaved (rep 1 of every server,
# then rep 2, ...) so that a noisy period does not hit one server only.
#
# Usage: bench/http/run.sh            (as root if packages are missing)
# Environment: REPS (3), DUR_S (3), WARM_S (0.5), PORT (18180),
#              SERVERS (all of: mhd-epoll mhd-pool2 mhd-tpc h2o-1t h2o-2t),
#              OUT (a fresh temporary directory; binaries, raw results, logs)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
REPS=${REPS:-3}
DUR_S=${DUR_S:-3}
WARM_S=${WARM_S:-0.5}
PORT=${PORT:-18180}
SERVERS=${SERVERS:-"mhd-epoll mhd-pool2 mhd-tpc h2o-1t h2o-2t"}
OUT=${OUT:-$(mktemp -d /tmp/bench-http.XXXXXX)}
mkdir -p "$OUT"

# libssl-dev: h2o.h includes <openssl/ssl.h>, but Debian's libh2o packages
# do not depend on it.
pkgs="libmicrohttpd-dev libh2o-evloop-dev libssl-dev pkg-config gcc"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

CFLAGS="-std=c17 -O2 -Wall -Wextra"
cc $CFLAGS -o "$OUT/mhd_server" "$here/mhd_server.c" \
    $(pkg-config --cflags --libs libmicrohttpd) -lpthread
cc $CFLAGS -o "$OUT/h2o_server" "$here/h2o_server.c" \
    $(pkg-config --cflags --libs libh2o-evloop) -lpthread
cc $CFLAGS -o "$OUT/http_load" "$here/http_load.c"

server_cmd() {
    case "$1" in
    mhd-epoll) echo "$OUT/mhd_server -p $PORT -m epoll" ;;
    mhd-pool2) echo "$OUT/mhd_server -p $PORT -m pool" ;;
    mhd-tpc) echo "$OUT/mhd_server -p $PORT -m tpc" ;;
    h2o-1t) echo "$OUT/h2o_server -p $PORT -t 1" ;;
    h2o-2t) echo "$OUT/h2o_server -p $PORT -t 2" ;;
    *) echo "unknown server $1" >&2; return 1 ;;
    esac
}

# mode and connection count of each measurement
TESTS="healthz:1 healthz:8 healthz:64 post:1 post:4 sse:100"

srv_pid=""
stop_server() {
    if [ -n "$srv_pid" ]; then
        kill "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
        srv_pid=""
    fi
}
trap stop_server EXIT

wait_ready() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            return 0
        fi
        kill -0 "$srv_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

raw="$OUT/results.txt"
: >"$raw"
echo "raw results, logs and binaries in $OUT"
for rep in $(seq "$REPS"); do
    for s in $SERVERS; do
        $(server_cmd "$s") 2>>"$OUT/$s.log" &
        srv_pid=$!
        if ! wait_ready; then
            echo "$s did not start; see $OUT/$s.log" >&2
            exit 1
        fi
        for t in $TESTS; do
            line=$("$OUT/http_load" -m "${t%:*}" -c "${t#*:}" -d "$DUR_S" -w "$WARM_S" \
                -p "$PORT" -P "$srv_pid")
            echo "server=$s rep=$rep $line" >>"$raw"
            printf '.'
        done
        stop_server
    done
done
echo

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -sr), $(nproc) cores;" \
    "$(dpkg-query -W -f='${Package} ${Version}  ' libmicrohttpd-dev libh2o-evloop-dev)"
echo "# medians of $REPS runs of ${DUR_S}s (after ${WARM_S}s warm-up), each column on its own;" \
    "errors = worst run"
# One row per test and server. rate is requests/s, bodies/s or events/s.
awk -v servers="$SERVERS" -v tests="$TESTS" '
function median(key,    n, i, j, t, a) {
    n = split(vals[key], a, " ")
    for (i = 2; i <= n; i++)        # insertion sort; n is the repetition count
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n ? a[int((n + 1) / 2)] : "-"
}
{
    delete f
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    id = f["mode"] ":" f["conns"] SUBSEP f["server"]
    for (k in f) vals[id, k] = vals[id, k] " " f[k]
    if (f["errors"] + 0 > worst[id] + 0) worst[id] = f["errors"]
}
END {
    printf "%-11s %-10s %9s %7s %7s %7s %8s %6s  %s\n",
        "test", "server", "rate/s", "MB/s", "p50_us", "p99_us", "srv_cpu%", "errors", "sse: served/min/gaps"
    nt = split(tests, T, " "); ns = split(servers, S, " ")
    for (i = 1; i <= nt; i++) for (j = 1; j <= ns; j++) {
        id = T[i] SUBSEP S[j]
        if (!((id, "per_s") in vals)) continue
        split(T[i], mc, ":")
        mb = ((id, "mb_per_s") in vals) ? median(id SUBSEP "mb_per_s") : "-"
        sse = mc[1] == "sse" ? median(id SUBSEP "subs_served") "/" median(id SUBSEP "min_events") "/" median(id SUBSEP "gaps") : ""
        printf "%-11s %-10s %9s %7s %7s %7s %8s %6d  %s\n",
            mc[1] " c=" mc[2], S[j], median(id SUBSEP "per_s"), mb, median(id SUBSEP "p50_us"),
            median(id SUBSEP "p99_us"), median(id SUBSEP "srv_cpu_pct"), worst[id], sse
    }
}' "$raw"
