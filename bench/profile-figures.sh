#!/usr/bin/env bash
# Profiling's figures (issue 15), through the CLI as a user runs it, on
# this host with the local executor and a store of its own:
#
#   overhead  the grep-implementations benchmark (GNU grep and busybox grep,
#             -c -i and -c -E over one 55 MB SMILES chunk: 20 ms to 1.3 s a
#             trial here; cat, the spec's ceiling, comes along), run ROUNDS times without
#             profiling and ROUNDS times with its measured trials profiled
#             (profile: {in: measured, freq: FREQ}), the two alternating
#             run by run so drift hits both alike. Prints per case the
#             median of all measured trials of each mode and their ratio
#             (goal: under 2% at 99 Hz), and the median of the per-round
#             ratios.
#   graphs    from the last profiled run: each case's flame graph, the
#             differential one (busybox against GNU grep, -i: 40x apart
#             here), the folded stacks,
#             the per-process breakdown, and the frames that take the most
#             samples in each case (what the differential graph shows).
#
#   lab       with LAB_POOLS set (the lab's pools file, .testenv/pools.yaml
#             after make testenv): the same two cases in containers on
#             every node of pool lab, profiled by this host's perf from
#             outside the containers (999 Hz: the trials are short), and
#             the flame graphs of the arm64 node's (qemu) and an amd64
#             node's busybox grep, with their top frames.
#
#   bash bench/profile-figures.sh [ROUNDS] [REPEAT]
#   FREQ=99 OUT=.bench/profile-figures bash bench/profile-figures.sh 6 5
#   LAB_POOLS=.testenv/pools.yaml bash bench/profile-figures.sh 6 5
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
REPEAT=${2:-5}
FREQ=${FREQ:-99}
out=${OUT:-.bench/profile-figures}
rm -rf "$out"
mkdir -p "$out"
t0=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/benchrig" ./cmd/benchrig
br() { "$tmp/benchrig" "$@"; }
export BENCHRIG_STORE="$tmp/store.db"
echo "load at start: $(uptime)"
echo "benchrig $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+dirty'), $ROUNDS rounds of $REPEAT trials a case, $FREQ Hz, $(perf --version)"

data=.bench/data/smiles
br data smiles --out "$data" --size 110MB --chunk 55MB >/dev/null
sets=(--set impl=gnu,busybox --set pattern=ignore-case,regex --set chunks=smiles-0001.smi --repeat "$REPEAT")

# The same spec twice: as it is, and with its measured trials profiled.
cp benchmarks/grep-impl.yaml "$tmp/plain.yaml"
{ cat benchmarks/grep-impl.yaml; printf '\nprofile: {in: measured, freq: %s}\n' "$FREQ"; } >"$tmp/profiled.yaml"

: >"$out/runs.tsv"
for i in $(seq 1 "$ROUNDS"); do
	for mode in plain profiled; do
		# Alternate which goes first, so neither always follows the other.
		[ $((i % 2)) = 0 ] && mode=$([ "$mode" = plain ] && echo profiled || echo plain)
		br run -q "$tmp/$mode.yaml" "${sets[@]}" --json "$out/$mode-$i.json" >"$out/$mode-$i.log" 2>&1
		printf '%s\t%s\t%s\n' "$i" "$mode" "$out/$mode-$i.json" >>"$out/runs.tsv"
	done
	echo "round $i of $ROUNDS done, $(($(date +%s) - t0)) s" >&2
done

python3 - "$out/runs.tsv" <<'PY'
import json, statistics, sys
from collections import defaultdict
times = defaultdict(lambda: defaultdict(list))   # case -> mode -> [s]
rounds = defaultdict(lambda: defaultdict(dict))  # case -> round -> mode -> median
profiling = None
for line in open(sys.argv[1]):
    i, mode, path = line.rstrip("\n").split("\t")
    doc = json.load(open(path))
    if mode == "profiled" and doc.get("profiling"):
        profiling = doc["profiling"]
    for c in doc["cases"]:
        name = ",".join(f"{k}={v}" for k, v in c["params"].items() if k in ("impl", "pattern"))
        ts = [t["wall_s"] for t in c["trials"] if not t["warmup"] and not t["failed"] and not t.get("profile_only")]
        if mode == "profiled" and not all(t.get("profiled") for t in c["trials"] if not t["warmup"]):
            print(f"WARNING: {path}: case {name} has measured trials that were not profiled")
        times[name][mode] += ts
        rounds[name][i][mode] = statistics.median(ts)
print()
print(f"{'case':30} {'n':>3} {'plain':>9} {'profiled':>9} {'ratio':>7} {'per-round ratios (median, min..max)':>36}")
for case in sorted(times):
    p, q = times[case]["plain"], times[case]["profiled"]
    rr = [r["profiled"] / r["plain"] for r in rounds[case].values() if "plain" in r and "profiled" in r]
    print(f"{case:32} {len(p):3} {statistics.median(p)*1e3:6.1f} ms {statistics.median(q)*1e3:6.1f} ms "
          f"{statistics.median(q)/statistics.median(p):7.4f} {statistics.median(rr):14.4f} ({min(rr):.4f}..{max(rr):.4f})")
print("plain, profiled: medians of every measured trial of the runs of each mode; ratio: profiled/plain")
if profiling:
    print("the profiled runs' own account:", json.dumps(profiling, sort_keys=True))
PY

last=$(jq -r .run_id "$out/profiled-$ROUNDS.json")
echo
br runs profile "$last" | tee "$out/breakdown.txt"
gnu=$(jq -r '.cases[] | select(.params.impl == "gnu" and .params.pattern == "ignore-case") | .id' "$out/profiled-$ROUNDS.json")
bb=$(jq -r '.cases[] | select(.params.impl == "busybox" and .params.pattern == "ignore-case") | .id' "$out/profiled-$ROUNDS.json")
br runs profile "$last" --case "$gnu" --svg "$out/grep-gnu.svg" --folded "$out/grep-gnu.folded" >/dev/null
br runs profile "$last" --case "$bb" --svg "$out/grep-busybox.svg" --folded "$out/grep-busybox.folded" >/dev/null
br runs profile "$last" --diff "$gnu" "$bb" --svg "$out/grep-diff.svg" >/dev/null
# The frames that take the most samples (self time: the leaf of each stack).
for f in "$out/grep-gnu.folded" "$out/grep-busybox.folded"; do
	echo "top frames (self) of $(basename "$f" .folded):"
	awk '{n=$NF; $NF=""; sub(/ $/, ""); k=split($0, a, ";"); leaf[a[k]] += n; total += n}
	     END {for (l in leaf) printf "  %6.1f%%  %s\n", 100*leaf[l]/total, l}' "$f" | sort -rn | head -8
done
echo "flame graphs: $out/grep-gnu.svg $out/grep-busybox.svg $out/grep-diff.svg"

if [ -n "${LAB_POOLS:-}" ]; then
	# The pool's policy allows host mounts under /tmp only.
	labdata="$tmp/smiles"
	br data smiles --out "$labdata" --size 20MB --chunk 10MB >/dev/null
	echo
	echo "lab: pool lab of $LAB_POOLS, 999 Hz, profiled from this host"
	BENCHRIG_POOLS="$LAB_POOLS" BENCHRIG_SHIM_DIR="${BENCHRIG_SHIM_DIR:-bin}" br run -q benchmarks/grep-impl.yaml --pool lab \
		--set impl=gnu,busybox --set pattern=ignore-case --set data="$labdata" --set chunks=smiles-0001.smi \
		--repeat 3 --warmup 0 --profile cpu --profile-freq 999 --json "$out/lab.json" >"$out/lab.log" 2>&1
	lab=$(jq -r .run_id "$out/lab.json")
	br runs profile "$lab" | tee "$out/lab-breakdown.txt"
	for node in lab1 lab3; do
		c=$(jq -r --arg n "$node" '.cases[] | select(.params.node == $n and .params.impl == "busybox") | .id' "$out/lab.json")
		br runs profile "$lab" --case "$c" --svg "$out/lab-$node-busybox.svg" --folded "$out/lab-$node-busybox.folded" >/dev/null
		echo "top frames (self) of busybox grep on $node ($(jq -r --arg n "$node" '.nodes[]? | select(.name == $n) | .arch' "$out/lab.json")):"
		awk '{n=$NF; $NF=""; sub(/ $/, ""); k=split($0, a, ";"); leaf[a[k]] += n; total += n}
		     END {for (l in leaf) printf "  %6.1f%%  %s\n", 100*leaf[l]/total, l}' "$out/lab-$node-busybox.folded" | sort -rn | head -6
	done
	echo "flame graphs: $out/lab-lab1-busybox.svg $out/lab-lab3-busybox.svg"
fi
echo "load at end: $(uptime)"
echo "elapsed: $(($(date +%s) - t0)) s"
