#!/usr/bin/env bash
# Does the collector disturb what it measures? The grep benchmark's trials
# (GNU grep -c over one 55 MB SMILES chunk, ~40 ms here) with the collector
# off (A) and sampling at 10 Hz (B), alternating A B B A round by round in
# one session so drift hits both alike. Prints the median trial time of
# each, the ratio B/A with a bootstrap 95% CI over the pooled trials, the
# median of the per-round ratios, and what the collector itself cost.
#
#   bash bench/collector-ab.sh [ROUNDS] [RUNS]
#
# ROUNDS: alternating rounds (default 8). RUNS: measured trials per run
# (default 15). Goal: under 1% apart and not significant (the CI holds 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-8}
RUNS=${2:-15}
out=.bench/collector-ab; rm -rf "$out"; mkdir -p "$out"
go build -o bin/benchrig ./cmd/benchrig
data=.bench/data/smiles-ab
bin/benchrig data smiles --out "$data" --chunk 55MB --size 55MB >/dev/null
chunk=$(ls "$data"/*.smi | head -1)
printf 'name: collector-ab\ncommand: [grep, -c, -F, "C(=O)N", %s]\nrepeat: %s\nwarmup: 2\n' "$chunk" "$RUNS" >"$out/grep.yaml"
export BENCHRIG_STORE="$out/store.db"
unset BENCHRIG_ES_URL
run() { # variant round
	local flags=(--no-collect)
	[ "$1" = b ] && flags=(--collect-interval 100ms)
	bin/benchrig run -q "$out/grep.yaml" "${flags[@]}" --json "$out/$1-$2.json" >/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then run a "$r"; run b "$r"; else run b "$r"; run a "$r"; fi
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, random, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(v, r):
    doc = json.load(open(f"{out}/{v}-{r}.json"))
    walls = [t["wall_s"] for c in doc["cases"] for t in c["trials"] if not t["warmup"]]
    return walls, doc.get("collection") or {}
A, B, ratios, shares = [], [], [], []
for r in range(1, rounds + 1):
    a, _ = load("a", r)
    b, coll = load("b", r)
    A += a; B += b
    ratios.append(statistics.median(b) / statistics.median(a))
    for c in coll.get("collectors", []):
        shares.append(c["cpu_share"])
ma, mb = statistics.median(A), statistics.median(B)
random.seed(1)
boot = sorted(statistics.median(random.choices(B, k=len(B))) / statistics.median(random.choices(A, k=len(A))) for _ in range(4000))
lo, hi = boot[int(0.025 * len(boot))], boot[int(0.975 * len(boot))]
print(f"collector off (A): median {ma*1e3:.2f} ms over {len(A)} trials")
print(f"collector 10 Hz (B): median {mb*1e3:.2f} ms over {len(B)} trials")
print(f"B/A {mb/ma:.4f}  95% CI {lo:.4f}-{hi:.4f}  ({'not significant' if lo <= 1 <= hi else 'SIGNIFICANT'})")
print(f"median of per-round ratios {statistics.median(ratios):.4f} (range {min(ratios):.4f}-{max(ratios):.4f})")
if shares:
    print(f"collector's own CPU at 10 Hz: median {statistics.median(shares)*100:.2f}% of one core")
PY
