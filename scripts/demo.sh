#!/usr/bin/env bash
# The README's main job (`make demo`): deconflictd on its embedded store with two demo parties,
# "blue" and "red", fed the real Swiss upper-airspace traffic of 2018-08-01 at SPEED times real
# time, aircraft dealt out alternately between the parties, over HTTPS with a certificate made
# for the demo. Prints where to look (console links that sign in directly), the feed's progress,
# then a summary; the daemon stops at the end unless KEEP=1, and Ctrl-C ends it cleanly at any
# point.
#   DATA (../shared/data)  PORT (8080)  SPEED (20)  FROM/TO (12:00-13:00 UTC)  KEEP (0)
#   TLS (1; 0 serves plain HTTP)  BIN (build/bin: where deconflictd and deconflict are)
set -euo pipefail
cd "$(dirname "$0")/.."
# Ctrl-C: a terminal sends SIGINT to its whole foreground process group, make included, and
# make reports an interrupted recipe as an error whatever the recipe does. So on a terminal the
# demo runs as a job of its own (set -m: its own process group, given the terminal): Ctrl-C
# reaches only the demo, which ends cleanly, and make sees it exit 0.
if [ "${DEMO_JOB:-}" != 1 ] && [ -t 0 ]; then
  set -m
  DEMO_JOB=1 "$0" "$@"
  exit $?
fi
DATA=${DATA:-$(cd .. && pwd)/shared/data}
PORT=${PORT:-8080}
SPEED=${SPEED:-20}
FROM=${FROM:-2018-08-01T12:00:00Z}
TO=${TO:-2018-08-01T13:00:00Z}
KEEP=${KEEP:-0}
TLS=${TLS:-1}
BIN=${BIN:-build/bin}
TRAFFIC=$DATA/traffic/switzerland_2018-08-01.csv
[ -r "$TRAFFIC" ] || { echo "demo: $TRAFFIC not found (set DATA=)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/deconflict-demo.XXXXXX)
STORE=$WORK/data
DAEMON=
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
}
trap cleanup EXIT
# Ctrl-C reaches the whole foreground group (make, this script, the feed): end cleanly, exit 0,
# so that make has nothing to report as an error.
interrupted() {
  trap - INT TERM
  echo
  echo "demo: stopped (Ctrl-C); the service is stopped, its store and log stay in $WORK"
  exit 0
}
trap interrupted INT TERM

BLUE=$("$BIN/deconflict" party add blue --data "$STORE" | tail -1)
RED=$("$BIN/deconflict" party add red --data "$STORE" | tail -1)
# The feed and the audit check read the tokens from files of the user's alone, not from their
# command lines, which every local user can read in the process list.
(umask 077 && echo "$BLUE" >"$WORK/blue.token" && echo "$RED" >"$WORK/red.token")

# A certificate made for this demo: a self-signed one for 127.0.0.1 and localhost, its key the
# owner's alone. The browser will say it does not know the issuer; the fingerprint printed
# below is what to compare with what the browser shows before accepting it.
tls=() cacert=() scheme=http
if [ "$TLS" = 1 ]; then
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
      -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$WORK/demo-key.pem" -out "$WORK/demo-cert.pem" 2>/dev/null)
  tls=(--tls-cert "$WORK/demo-cert.pem" --tls-key "$WORK/demo-key.pem")
  cacert=(--cacert "$WORK/demo-cert.pem")
  scheme=https
fi
"$BIN/deconflictd" --data "$STORE" --listen "127.0.0.1:$PORT" --quiet "${tls[@]}" \
    >"$WORK/daemon.out" 2>"$WORK/daemon.log" &
DAEMON=$!
for _ in $(seq 50); do grep -q listening "$WORK/daemon.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/daemon.out" || { cat "$WORK/daemon.log" >&2; exit 1; }
URL=$scheme://127.0.0.1:$PORT

echo "== deconflictd demo: Swiss upper airspace 2018-08-01, $FROM .. $TO at ${SPEED}x =="
echo "service   $URL   (store $STORE, log $WORK/daemon.log)"
if [ "$TLS" = 1 ]; then
  echo "TLS       a certificate made for this demo: $WORK/demo-cert.pem, SHA-256 fingerprint"
  echo "          $(openssl x509 -in "$WORK/demo-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
  echo "          (the browser warns that it does not know the issuer: compare, then accept)"
fi
cat <<TXT
console   open a link in a browser; it signs in as that party (the token stays in the page,
          after '#', and is never sent to the server in a URL; docs/console.md)
          blue  $URL/#token=$BLUE
          red   $URL/#token=$RED
tokens    blue  $BLUE
          red   $RED
follow blue's alerts in another terminal:
  curl ${cacert[*]} -N -H "Authorization: Bearer $BLUE" $URL/v1/events
look at red's conflicts, and the metrics:
  curl ${cacert[*]} -H "Authorization: Bearer $RED" $URL/v1/conflicts
  curl ${cacert[*]} $URL/metrics
TXT
if [ "$KEEP" = 1 ]; then
  echo "the service keeps running after the feed (KEEP=1); Ctrl-C stops it"
else
  echo "the service stops when the feed ends; KEEP=1 make demo keeps it running; Ctrl-C stops it"
fi
echo "== feeding the recording (its own UTC times shown; ${SPEED}x) =="

"$BIN/deconflict" "${cacert[@]}" feed "$TRAFFIC" --to "$URL" --token-file "$WORK/blue.token" \
    --token-file "$WORK/red.token" \
    --speed "$SPEED" --from "$FROM" --to-time "$TO"
sleep 2 # one more detection pass

api() { # token path [curl args...]
  local token=$1 path=$2
  shift 2
  curl -sf "${cacert[@]}" -H "Authorization: Bearer $token" "$@" "$URL$path"
}
summary() { # party token
  api "$2" /v1/conflicts | python3 -c '
import json, sys
cs = [c for c in json.load(sys.stdin)["conflicts"] if c["kind"] == "tactical"]
adv, warn, loss = (sum(1 for c in cs if c.get("level") == l) for l in ("advisory", "warning", "loss"))
still = sum(1 for c in cs if c["state"] == "open")
print(f"{sys.argv[1]:5s} {len(cs)} tactical conflicts, by their level at the last update: "
      f"{adv} advisory, {warn} warning, {loss} loss; {still} still open")' "$1"
}
echo "== summary =="
summary blue "$BLUE"
summary red "$RED"
curl -s "${cacert[@]}" "$URL/metrics" |
    grep -E '^deconflict_(positions_total|events_total|detection_passes_total|detection_pass_last_seconds|conflict_acks_owed) ' || true
# The hotline: blue tells red about the closest encounter, red acknowledges.
api "$BLUE" /v1/messages -H "Content-Type: application/json" \
    -d '{"to":"red","category":"free_text","priority":"urgent","ack_required":true,
         "fields":{"text":"Demo: please acknowledge the alerts of the last hour."}}' >/dev/null
MSG=$(api "$RED" "/v1/messages?box=in" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["id"])')
api "$RED" "/v1/messages/$MSG/ack" -H "Content-Type: application/json" \
    -d '{"reply":"Принято / acknowledged"}' >/dev/null
echo "hotline   blue -> red message $MSG acknowledged with a reply (GET /v1/messages?box=out as blue)"
# The audit trail, as each party can check it over HTTP.
echo -n "audit     blue: "
"$BIN/deconflict" "${cacert[@]}" audit verify "$URL" --token-file "$WORK/blue.token"
if [ "$KEEP" = 1 ]; then
  echo "the service keeps running on $URL (KEEP=1); Ctrl-C stops it"
  wait "$DAEMON" || true
  DAEMON=
else
  echo "the service stops now; KEEP=1 make demo keeps it running"
fi
