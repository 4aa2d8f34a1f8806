#!/usr/bin/env bash
# deconflict's tactical pass and BlueSky's own state-based detection (StateBased.detect, run by
# ../shared/data/tools/bluesky_statebased.py under its MIT licence: run, never copied) side by
# side on the same BlueSky-style dense scenarios (deconflict-bench dense: N aircraft in a 500 km
# box, FL100-FL400), R 5 NM, H 1,000 ft, T 300 s; and whether the two find the same pairs.
#   SIZES ("1000 5000 10000 20000"), REPS (our passes per size, 9), BS_REPEAT (BlueSky's, 3),
#   DATA (../shared/data), OUT (a temporary directory; kept when given).
# Needs python3-numpy (scripts/install-deps.sh --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --bench >/dev/null
DATA=${DATA:-../shared/data}
SIZES=${SIZES:-"1000 5000 10000 20000"}
REPS=${REPS:-9}
BS_REPEAT=${BS_REPEAT:-3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
BIN=build/bin
T=300
printf '%8s %12s %14s %10s %12s %10s %8s %8s %8s\n' N ours_ms bluesky_ms ratio candidates \
    conflicts same only_us only_bs
for n in $SIZES; do
    f=$OUT/dense_$n.csv
    $BIN/deconflict-bench dense --n "$n" > "$f"
    ours=$($BIN/deconflict-bench tactical --input "$f" --lookahead-s $T --reps "$REPS" \
        --threads 1 | tail -1)
    $BIN/deconflict detect "$f" --lookahead-s $T > "$OUT/ours_$n.csv"
    /usr/bin/python3 "$DATA/tools/bluesky_statebased.py" "$f" --lookahead-s $T \
        --repeat "$BS_REPEAT" -o "$OUT/bs_$n.csv" 2> "$OUT/bs_$n.log"
    python3 scripts/compare_pairs.py "$f" "$OUT/ours_$n.csv" "$OUT/bs_$n.csv" "$OUT/bs_$n.log" \
        --ours "$ours" --n "$n" --rpz-nm 5 --hpz-ft 1000 --lookahead-s $T
done
echo "files: $OUT"
