#!/usr/bin/env bash
# Compares benchrig's measurements with hyperfine's on the same command, in
# one session, alternating the two tools round by round so machine drift
# hits both alike. Prints the ratio of the medians (goal: within 1%) and
# benchrig's own overhead per trial (goal: under 1 ms).
#
#   make bench            # or: bash bench/overhead.sh [ROUNDS] [RUNS_PER_ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-12}
RUNS=${2:-10}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -x bin/benchrig ] || go build -o bin/benchrig ./cmd/benchrig
out=.bench/overhead; rm -rf "$out"; mkdir -p "$out"
export BENCHRIG_STORE="$out/store.db"

# A CPU-bound command of about 50 ms here, and `true` for the floor.
# Both tools run it directly (no shell) with stdout to a pipe.
ITER=${ITER:-1000000}
prog="BEGIN{for(i=0;i<$ITER;i++)s+=i; print s}"
for name in work true; do
	if [ $name = work ]; then
		hf_cmd="awk '$prog'" spec_cmd="[awk, '$prog']"
	else
		hf_cmd=true spec_cmd="[true]"
	fi
	printf 'name: overhead-%s\ncommand: %s\nrepeat: %s\nwarmup: 3\n' "$name" "$spec_cmd" "$RUNS" >"$out/$name.yaml"
	for r in $(seq 1 "$ROUNDS"); do
		hyperfine -N --output=pipe --warmup 3 --runs "$RUNS" --export-json "$out/$name-hf-$r.json" "$hf_cmd" >/dev/null 2>&1
		bin/benchrig run -q "$out/$name.yaml" --json "$out/$name-br-$r.json" >/dev/null
		bin/benchrig run -q --cgroups off "$out/$name.yaml" --json "$out/$name-brnocg-$r.json" >/dev/null
	done
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, statistics, sys, datetime
out, rounds = sys.argv[1], int(sys.argv[2])
def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
def p10(xs):
    return sorted(xs)[len(xs) // 10]
print(f"{'command':8} {'tool':23} {'median':>10} {'p10':>10} {'n':>5}")
summary = []
for name in ("work", "true"):
    hf = []
    br = {"br": [], "brnocg": []}
    ratios = {"br": [], "brnocg": []}
    gaps = {"br": [], "brnocg": []}
    for r in range(1, rounds + 1):
        h = json.load(open(f"{out}/{name}-hf-{r}.json"))["results"][0]["times"]
        hf += h
        for kind in br:
            doc = json.load(open(f"{out}/{name}-{kind}-{r}.json"))
            trials = [t for c in doc["cases"] for t in c["trials"]]
            b = [t["wall_s"] for t in trials if not t["warmup"]]
            br[kind] += b
            ratios[kind].append(statistics.median(b) / statistics.median(h))
            # benchrig's own cost per trial outside the timed command: the
            # run's duration over its trial count minus the mean command time.
            span = (ts(doc["finished"]) - ts(doc["started"])).total_seconds()
            gaps[kind].append(span / len(trials) - statistics.fmean(t["wall_s"] for t in trials))
    labels = {"br": "benchrig", "brnocg": "benchrig --cgroups off"}
    for tool, xs in (("hyperfine", hf), (labels["br"], br["br"]), (labels["brnocg"], br["brnocg"])):
        print(f"{name:8} {tool:23} {statistics.median(xs)*1e3:7.3f} ms {p10(xs)*1e3:7.3f} ms {len(xs):5}")
    for kind in br:
        b = br[kind]
        summary.append((name + " " + labels[kind], statistics.median(b) / statistics.median(hf), statistics.median(ratios[kind]),
                        p10(b) / p10(hf), (statistics.median(b) - statistics.median(hf)) * 1e3, statistics.median(gaps[kind]) * 1e3))
print()
print(f"{'command and tool':31} {'ratio of medians':>17} {'median per-round ratio':>23} {'ratio of p10':>13} {'diff':>10} {'between trials':>15}")
for name, rm, rr, rp, diff, gap in summary:
    print(f"{name:31} {rm:17.4f} {rr:23.4f} {rp:13.4f} {diff:+8.3f}ms {gap:12.3f} ms")
print(f"(benchrig / hyperfine, {rounds} alternating rounds; 'diff' is benchrig's median minus hyperfine's;")
print(" 'between trials' is benchrig's own per-trial cost outside the timed command: cgroup setup, store write, bookkeeping)")
PY
