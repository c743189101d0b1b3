#!/usr/bin/env bash
# Compares benchrig's measurements with hyperfine's on the same command, in
# one session, alternating the two tools round by round so machine drift
# hits both alike. Prints the ratio of the medians (goal: within 1%) and
# benchrig's own overhead per trial (goal: under 1 ms).
#
#   make bench            # or: bash bench/overhead.sh [ROUNDS] [RUNS_PER_ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
RUNS=${2:-20}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -x bin/benchrig ] || go build -o bin/benchrig ./cmd/benchrig
out=.bench/overhead; rm -rf "$out"; mkdir -p "$out"
export BENCHRIG_STORE="$out/store.db"

# A CPU-bound command of about 50 ms here, and `true` for the floor.
# Both tools run it directly (no shell) with stdout to a pipe.
ITER=${ITER:-120000}
prog="BEGIN{for(i=0;i<$ITER;i++)s+=i; print s}"
for name in work true; do
	if [ $name = work ]; then
		hf_cmd="awk '$prog'" spec_cmd="[awk, '$prog']"
	else
		hf_cmd=true spec_cmd="[true]"
	fi
	printf 'name: overhead-%s\ncommand: %s\nrepeat: %s\nwarmup: 3\n' "$name" "$spec_cmd" "$RUNS" >"$out/$name.yaml"
	for r in $(seq 1 "$ROUNDS"); do
		hyperfine -N --output=pipe --warmup 3 --runs "$RUNS" --export-json "$out/$name-hf-$r.json" "$hf_cmd" >/dev/null
		bin/benchrig run -q "$out/$name.yaml" --json "$out/$name-br-$r.json" >/dev/null
	done
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, statistics, sys, datetime
out, rounds = sys.argv[1], int(sys.argv[2])
def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
print(f"{'command':8} {'hyperfine median':>17} {'benchrig median':>16} {'ratio':>7} {'diff':>9} {'between trials':>15}")
for name in ("work", "true"):
    hf, br, gaps = [], [], []
    for r in range(1, rounds + 1):
        hf += json.load(open(f"{out}/{name}-hf-{r}.json"))["results"][0]["times"]
        doc = json.load(open(f"{out}/{name}-br-{r}.json"))
        trials = [t for c in doc["cases"] for t in c["trials"]]
        br += [t["wall_s"] for t in trials if not t["warmup"]]
        # Time benchrig spends per trial outside the command: run duration
        # over trial count, minus the mean command wall time.
        span = (parse_ts(doc["finished"]) - parse_ts(doc["started"])).total_seconds()
        gaps.append(span / len(trials) - statistics.fmean(t["wall_s"] for t in trials))
    mh, mb = statistics.median(hf), statistics.median(br)
    print(f"{name:8} {mh*1e3:14.3f} ms {mb*1e3:13.3f} ms {mb/mh:7.4f} {(mb-mh)*1e3:+7.3f}ms {statistics.median(gaps)*1e3:12.3f} ms")
print(f"(medians over {rounds} alternating rounds; 'diff' is benchrig's recorded wall minus hyperfine's;")
print(" 'between trials' is benchrig's own per-trial cost outside the timed command: start-up checks, store write, bookkeeping)")
PY
