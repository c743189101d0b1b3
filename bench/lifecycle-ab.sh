#!/usr/bin/env bash
# What the run lifecycle (event log, journal, heartbeat, subscribers) costs:
# the same specs run by benchrig built from a base commit (A, default the
# commit before the lifecycle landed) and from the work tree (B), alternating
# A and B round by round in one session so drift hits both alike. Prints,
# per command, the median of the per-round ratios B/A of (1) the median
# trial wall time (does measuring change what is measured?) and (2)
# benchrig's own cost per trial outside the timed command.
#
#   bash bench/lifecycle-ab.sh [ROUNDS] [RUNS] [BASE_COMMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-8}
RUNS=${2:-20}
BASE=${3:-cb51de4}
out=.bench/lifecycle-ab; rm -rf "$out"; mkdir -p "$out"
base_tree=$(mktemp -d)
trap 'git worktree remove --force "$base_tree" >/dev/null 2>&1 || true' EXIT
git worktree add -q --detach "$base_tree" "$BASE"
(cd "$base_tree" && go build -o "$OLDPWD/$out/benchrig-a" ./cmd/benchrig)
go build -o "$out/benchrig-b" ./cmd/benchrig

ITER=${ITER:-1000000}
prog="BEGIN{for(i=0;i<$ITER;i++)s+=i; print s}"
printf "name: ab-work\ncommand: [awk, '%s']\nrepeat: %s\nwarmup: 3\n" "$prog" "$RUNS" >"$out/work.yaml"
printf 'name: ab-true\ncommand: [true]\nrepeat: %s\nwarmup: 3\n' "$RUNS" >"$out/true.yaml"
for r in $(seq 1 "$ROUNDS"); do
	for name in work true; do
		for v in a b; do
			BENCHRIG_STORE="$out/store-$v.db" "$out/benchrig-$v" run -q "$out/$name.yaml" --json "$out/$name-$v-$r.json" >/dev/null
		done
	done
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, statistics, sys, datetime
out, rounds = sys.argv[1], int(sys.argv[2])
def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
def figures(path):
    doc = json.load(open(path))
    trials = [t for c in doc["cases"] for t in c["trials"]]
    walls = [t["wall_s"] for t in trials if not t["warmup"]]
    span = (ts(doc["finished"]) - ts(doc["started"])).total_seconds()
    own = span / len(trials) - statistics.mean(t["wall_s"] for t in trials)
    return statistics.median(walls), own
print(f"{'command':8} {'median wall A':>14} {'B/A':>6} {'own cost/trial A':>17} {'B':>9} {'B/A':>6}")
for name in ("work", "true"):
    wall_r, own_r, wa, oa, ob = [], [], [], [], []
    for r in range(1, rounds + 1):
        a_wall, a_own = figures(f"{out}/{name}-a-{r}.json")
        b_wall, b_own = figures(f"{out}/{name}-b-{r}.json")
        wall_r.append(b_wall / a_wall)
        own_r.append(b_own / a_own)
        wa.append(a_wall); oa.append(a_own); ob.append(b_own)
    print(f"{name:8} {statistics.median(wa)*1e3:11.3f} ms {statistics.median(wall_r):6.3f} "
          f"{statistics.median(oa)*1e3:14.3f} ms {statistics.median(ob)*1e3:6.3f} ms {statistics.median(own_r):6.3f}"
          f"   (per-round B/A of wall: {min(wall_r):.3f}-{max(wall_r):.3f})")
PY
