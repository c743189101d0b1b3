#!/usr/bin/env bash
# Truth check of the grep-impl benchmark: measures the ratio of each grep
# implementation to GNU grep (C locale), per pattern, directly with
# hyperfine (-N, stdout to a pipe) and through benchrig running
# benchmarks/grep-impl.yaml, in one session, and prints both side by side.
# The two must agree within 5% (exit 1 otherwise).
#
#   bash bench/grep-truth.sh [ROUNDS] [RUNS] [CHUNKS]
#
# ROUNDS: alternating rounds (default 3). RUNS: measured runs per command
# and round, for each tool (default 3). CHUNKS: the grep-impl chunks glob
# (default its own, two 55 MB chunks). Needs hyperfine, the
# data (benchrig data smiles) and busybox/busybox-musl for their rows.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
RUNS=${2:-3}
CHUNKS=${3:-smiles-000[12].smi}
DATA=${DATA:-.bench/data/smiles}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -f .testenv/env ] && { set -a; . ./.testenv/env; set +a; }
go build -o bin/benchrig ./cmd/benchrig
bin/benchrig data smiles --out "$DATA" >/dev/null
out=.bench/grep-truth; rm -rf "$out"; mkdir -p "$out"
export BENCHRIG_STORE="$out/store.db"
files=$(ls $DATA/$CHUNKS | tr '\n' ' ')

# The same arguments as benchmarks/grep-impl.yaml gives each pattern.
declare -A args=(
	[fixed-common]="-c -F C(=O)N"
	[fixed-rare]="-c -F [Sn]"
	[count-c]="-c C"
	[ignore-case]="-c -i br"
	[regex]="-c -E C\\(=O\\)(O|N)C"
	[class]="-c [[:upper:]][[:digit:]][[:digit:]]"
)
patterns="fixed-common fixed-rare count-c ignore-case regex class"
impls="gnu"
command -v busybox >/dev/null && impls="$impls busybox"
command -v busybox-musl >/dev/null && impls="$impls busybox-musl"

# Rounds alternate the two tools pattern by pattern, so that drift of this
# shared machine hits both alike; each round gives each tool a ratio, and
# the medians of the per-round ratios are compared.
set_impls=$(echo $impls cat | tr ' ' ',') # cat: the spec's ceiling
for r in $(seq 1 "$ROUNDS"); do
	for p in $patterns; do
		for impl in $impls; do
			case $impl in
				gnu) prog=grep ;;
				busybox) prog="busybox grep" ;;
				busybox-musl) prog="busybox-musl grep" ;;
			esac
			# One argument per word: hyperfine -N splits on spaces and quotes.
			cmd="$prog"
			set -f # the arguments are patterns, not globs
			for a in ${args[$p]}; do cmd="$cmd '$a'"; done
			set +f
			LC_ALL=C hyperfine -N --output=pipe --warmup 1 --runs "$RUNS" \
				--export-json "$out/hf-$r-$impl-$p.json" "$cmd $files" >/dev/null 2>"$out/hf.err" ||
				{ echo "hyperfine failed for $impl $p:" >&2; cat "$out/hf.err" >&2; exit 1; }
		done
		bin/benchrig run -q benchmarks/grep-impl.yaml --set "impl=$set_impls" --set "pattern=$p" \
			--set "chunks=$CHUNKS" --set "data=$DATA" --repeat "$RUNS" --warmup 1 \
			--json "$out/br-$r-$p.json" >"$out/br-$r-$p.txt"
	done
done

python3 - "$out" "$ROUNDS" "$impls" "$patterns" <<'PY'
import json, statistics, sys
out, rounds, impls, patterns = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
med = statistics.median
def hf(r, impl, p):
    return med(json.load(open(f"{out}/hf-{r}-{impl}-{p}.json"))["results"][0]["times"])
def br(r, impl, p):
    doc = json.load(open(f"{out}/br-{r}-{p}.json"))
    return [c["stats"]["median_s"] for c in doc["cases"] if c["params"]["impl"] == impl][0]
print(f"median over {rounds} rounds of per-round medians; ratios are to GNU grep (LC_ALL=C), per round, then the median;")
print("ranges are the lowest and highest per-round ratio of each tool: how much this machine moved between rounds")
print(f"{'pattern':<13} {'impl':<13} {'hyperfine':>10} {'benchrig':>10} {'hf ratio':>9} {'br ratio':>9} {'diff':>7} {'hf range':>14} {'br range':>14}")
worst, unexplained = 0, 0
for p in patterns:
    for impl in impls:
        R = range(1, rounds + 1)
        h, b = med([hf(r, impl, p) for r in R]), med([br(r, impl, p) for r in R])
        if impl == "gnu":
            print(f"{p:<13} {impl:<13} {h*1e3:>8.1f}ms {b*1e3:>8.1f}ms {'1':>9} {'1':>9}")
            continue
        hrs = [hf(r, impl, p) / hf(r, "gnu", p) for r in R]
        brs = [br(r, impl, p) / br(r, "gnu", p) for r in R]
        hr, brr = med(hrs), med(brs)
        d = brr / hr - 1
        worst = max(worst, abs(d))
        overlap = min(hrs) <= max(brs) and min(brs) <= max(hrs)
        if abs(d) > 0.05 and not overlap:
            unexplained += 1
        print(f"{p:<13} {impl:<13} {h*1e3:>8.1f}ms {b*1e3:>8.1f}ms {hr:>9.2f} {brr:>9.2f} {100*d:>+6.1f}% "
              f"{min(hrs):>6.2f}-{max(hrs):<7.2f} {min(brs):>6.2f}-{max(brs):<7.2f}")
print(f"\nlargest disagreement of the ratios: {100*worst:.1f}% (goal: within 5%)")
if worst > 0.05:
    print(f"{unexplained} disagreement(s) over 5% where the two tools' per-round ranges do not overlap"
          " (the others are within what this machine moved between rounds)")
sys.exit(0 if worst <= 0.05 else 1)
PY
