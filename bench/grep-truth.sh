#!/usr/bin/env bash
# Truth check of the grep-impl benchmark: measures the ratio of each grep
# implementation to GNU grep (C locale), per pattern, directly with
# hyperfine (-N, stdout to a pipe) and through benchrig running
# benchmarks/grep-impl.yaml, in one session, and prints both side by side.
# The two must agree within 5% (exit 1 otherwise).
#
#   bash bench/grep-truth.sh [RUNS] [CHUNKS]
#
# RUNS: hyperfine runs per command (default 10). CHUNKS: the grep-impl
# chunks glob (default its own, two 55 MB chunks). Needs hyperfine, the
# data (benchrig data smiles) and busybox/busybox-musl for their rows.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
CHUNKS=${2:-smiles-000[12].smi}
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
			--export-json "$out/hf-$impl-$p.json" "$cmd $files" >/dev/null 2>"$out/hf-$impl-$p.err" ||
			{ echo "hyperfine failed for $impl $p:" >&2; cat "$out/hf-$impl-$p.err" >&2; exit 1; }
	done
done

set_impls=$(echo $impls cat | tr ' ' ',') # cat: the spec's ceiling
bin/benchrig run -q benchmarks/grep-impl.yaml --set "impl=$set_impls" --set "chunks=$CHUNKS" \
	--set "data=$DATA" --json "$out/benchrig.json" >"$out/benchrig.txt"

python3 - "$out" "$impls" "$patterns" <<'PY'
import json, statistics, sys
out, impls, patterns = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
br = json.load(open(f"{out}/benchrig.json"))
med = {c["id"]: c["stats"]["median_s"] for c in br["cases"] if c.get("stats")}
ci = {(c["case"], c["baseline"]): c for c in br["comparisons"]}
def cid(impl, p):
    return [c["id"] for c in br["cases"] if c["params"]["impl"] == impl and c["params"]["pattern"] == p][0]
def hf(impl, p):
    return statistics.median(json.load(open(f"{out}/hf-{impl}-{p}.json"))["results"][0]["times"])
print(f"{'pattern':<13} {'impl':<13} {'hyperfine':>10} {'benchrig':>10} {'hf ratio':>9} {'br ratio':>9} {'br 95% CI':>15} {'diff':>7}")
worst = 0
for p in patterns:
    for impl in impls:
        h, b = hf(impl, p), med[cid(impl, p)]
        if impl == "gnu":
            print(f"{p:<13} {impl:<13} {h*1e3:>8.1f}ms {b*1e3:>8.1f}ms {'1':>9} {'1':>9} {'':>15} {'':>7}")
            continue
        hr = h / hf("gnu", p)
        c = ci[(cid(impl, p), cid("gnu", p))]
        d = c["ratio"] / hr - 1
        worst = max(worst, abs(d))
        print(f"{p:<13} {impl:<13} {h*1e3:>8.1f}ms {b*1e3:>8.1f}ms {hr:>9.2f} {c['ratio']:>9.2f} "
              f"{c['ci95_low']:>7.2f}-{c['ci95_high']:<7.2f} {100*d:>+6.1f}%")
print(f"\nlargest disagreement of the ratios: {100*worst:.1f}% (goal: within 5%)")
sys.exit(0 if worst <= 0.05 else 1)
PY
