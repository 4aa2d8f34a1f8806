#!/usr/bin/env bash
# The README's main job (`make demo`): deconflictd on its embedded store with two demo parties,
# "blue" and "red", fed the real Swiss upper-airspace traffic of 2018-08-01 at SPEED times real
# time, aircraft dealt out alternately between the parties. Prints where to look while it runs,
# then a summary; the daemon stops at the end (KEEP=1 keeps it running until Ctrl-C).
#   DATA (../shared/data)  PORT (8080)  SPEED (20)  FROM/TO (12:00-13:00 UTC)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-$(cd .. && pwd)/shared/data}
PORT=${PORT:-8080}
SPEED=${SPEED:-20}
FROM=${FROM:-2018-08-01T12:00:00Z}
TO=${TO:-2018-08-01T13:00:00Z}
TRAFFIC=$DATA/traffic/switzerland_2018-08-01.csv
[ -r "$TRAFFIC" ] || { echo "demo: $TRAFFIC not found (set DATA=)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/deconflict-demo.XXXXXX)
STORE=$WORK/data
BLUE=$(build/bin/deconflict party add blue --data "$STORE" | tail -1)
RED=$(build/bin/deconflict party add red --data "$STORE" | tail -1)
build/bin/deconflictd --data "$STORE" --listen "127.0.0.1:$PORT" --quiet >"$WORK/daemon.out" \
    2>"$WORK/daemon.log" &
DAEMON=$!
cleanup() {
  kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q listening "$WORK/daemon.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/daemon.out" || { cat "$WORK/daemon.log" >&2; exit 1; }
URL=http://127.0.0.1:$PORT

cat <<TXT
== deconflictd demo: Swiss upper airspace 2018-08-01, $FROM .. $TO at ${SPEED}x ==
service   $URL   (store $STORE, log $WORK/daemon.log)
console   $URL/   open it in a browser and sign in with a token below (docs/console.md)
parties   blue  token $BLUE
          red   token $RED
follow blue's alerts in another terminal:
  curl -N -H "Authorization: Bearer $BLUE" $URL/v1/events
look at red's conflicts, and the metrics:
  curl -H "Authorization: Bearer $RED" $URL/v1/conflicts
  curl $URL/metrics
TXT

build/bin/deconflict feed "$TRAFFIC" --to "$URL" --token "$BLUE" --token "$RED" \
    --speed "$SPEED" --from "$FROM" --to-time "$TO"
sleep 2 # one more detection pass

summary() { # party token
  curl -s -H "Authorization: Bearer $2" "$URL/v1/conflicts" | python3 -c '
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
curl -s "$URL/metrics" | grep -E '^deconflict_(positions_total|events_total|detection_passes_total|detection_pass_ms) '
# The hotline: blue tells red about the closest encounter, red acknowledges.
curl -s -H "Authorization: Bearer $BLUE" -H "Content-Type: application/json" "$URL/v1/messages" \
    -d '{"to":"red","category":"free_text","priority":"urgent","ack_required":true,
         "fields":{"text":"Demo: please acknowledge the alerts of the last hour."}}' >/dev/null
MSG=$(curl -s -H "Authorization: Bearer $RED" "$URL/v1/messages?box=in" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["id"])')
curl -s -H "Authorization: Bearer $RED" -H "Content-Type: application/json" \
    "$URL/v1/messages/$MSG/ack" -d '{"reply":"Принято / acknowledged"}' >/dev/null
echo "hotline   blue -> red message $MSG acknowledged with a reply (GET /v1/messages?box=out as blue)"
# The audit trail, as each party can check it over HTTP.
echo -n "audit     blue: "
build/bin/deconflict audit verify "$URL" --token "$BLUE"
if [ "${KEEP:-0}" = 1 ]; then
  echo "the daemon keeps running on $URL; Ctrl-C stops it"
  wait "$DAEMON"
fi
