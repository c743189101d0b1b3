#!/usr/bin/env bash
# The regression gate's figures (issue 14), through the CLI as a user runs
# it: a baseline run, then a candidate run gated against it
# (benchrig run SPEC --baseline RUN --max-regression 5% --json F), on this
# host, with the local executor and a store of its own.
#
# The workload is CPU-bound and its work scales exactly with one number:
# awk summing ITER integers (ITER=10000000 takes about 190 ms with mawk on
# a 2-vCPU Xeon VM). A candidate "X% slower" runs the same spec (same name,
# same case) with ITER*(1+X/100): the gate matches cases by their params,
# so the slowdown is in the command, as a code change would be. Every run
# uses the spec format's default repeat (10 measured trials, 1 warmup).
#
# Experiments, interleaved pair by pair so drift on a shared machine hits
# them alike (and within a pair the baseline and the candidate alternate):
#   aa        A/A: the candidate is the same spec; gate at 5% with
#             confirmation (the default). Goal: no failed build.
#   aa-nc     the same with --no-confirm: what the confirmation buys.
#   slow10    the candidate does 10% more work. Goal: at least 19 in 20 caught.
#   slowX     the sweep (SWEEP, in %): the smallest slowdown caught 19 in 20.
# Prints, per experiment, the builds failed (exit 1), the verdicts, the
# suspected cases (first evidence) and confirmations, the measured ratio,
# and what the confirmation re-runs cost in wall time.
#
#   bash bench/gate-figures.sh [PAIRS] [SWEEP_PAIRS]
#   ITER=10000000 SWEEP="6 8 15 20 30" MAX_REGRESSION=5% bash bench/gate-figures.sh 20 20
#   EXPERIMENTS="slow10" REPEAT=30 bash bench/gate-figures.sh 20 0   # 10% at 30 trials a side
# EXPERIMENTS (default "aa aa-nc slow10"; "" for none) picks the paired experiments; REPEAT
# (default: the spec's, 10) sets --repeat on every run.
# OUT (default .bench/gate-figures) is where the runs' JSON and logs go (emptied first).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-20}
SWEEP_PAIRS=${2:-$PAIRS}
ITER=${ITER:-10000000}
SWEEP=${SWEEP-6 8 15 20 30}
MAXREG=${MAX_REGRESSION:-5%}
EXPERIMENTS=${EXPERIMENTS-aa aa-nc slow10}
repeat=()
[ -n "${REPEAT:-}" ] && repeat=(--repeat "$REPEAT")

t0=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${OUT:-.bench/gate-figures}; rm -rf "$out"; mkdir -p "$out"
go build -o "$tmp/benchrig" ./cmd/benchrig
export BENCHRIG_STORE="$tmp/store.db"
echo "load at start: $(uptime)"
echo "benchrig $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+dirty'), ITER=$ITER, threshold $MAXREG, repeat ${REPEAT:-the spec default}, pairs $PAIRS of $EXPERIMENTS, sweep ${SWEEP// /,}% x $SWEEP_PAIRS"

# spec PCT writes the spec of a candidate PCT% slower (0: the baseline's).
spec() {
	local f="$tmp/work-$1.yaml"
	if [ ! -f "$f" ]; then
		local n=$((ITER * (100 + $1) / 100))
		printf "name: gate-work\ncommand: [awk, 'BEGIN{for(i=0;i<%s;i++)s+=i; print s}']\n" "$n" >"$f"
	fi
	echo "$f"
}

# pair EXP I PCT [FLAGS...]: a baseline run, then a candidate PCT% slower
# gated against it; appends "exp i pct rc wall_ns base.json cand.json".
pair() {
	local exp=$1 i=$2 pct=$3; shift 3
	local b="$out/$exp-$i-base.json" c="$out/$exp-$i-cand.json" rc=0
	"$tmp/benchrig" run -q "$(spec 0)" "${repeat[@]}" --json "$b" >"$out/$exp-$i-base.log" 2>&1
	local id
	id=$(jq -r .run_id "$b")
	local s e
	s=$(date +%s%N)
	"$tmp/benchrig" run -q "$(spec "$pct")" "${repeat[@]}" --baseline "$id" --max-regression "$MAXREG" "$@" \
		--json "$c" >"$out/$exp-$i-cand.log" 2>&1 || rc=$?
	e=$(date +%s%N)
	if [ "$rc" -gt 1 ]; then
		echo "$exp pair $i: exit $rc (not a verdict):" >&2
		tail -5 "$out/$exp-$i-cand.log" >&2
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$exp" "$i" "$pct" "$rc" "$((e - s))" "$b" "$c" >>"$out/pairs.tsv"
}

for i in $(seq 1 "$PAIRS"); do
	for exp in $EXPERIMENTS; do
		case $exp in
		aa) pair aa "$i" 0 ;;
		aa-nc) pair aa-nc "$i" 0 --no-confirm ;;
		slow*) pair "$exp" "$i" "${exp#slow}" ;;
		*) echo "unknown experiment $exp" >&2; exit 2 ;;
		esac
	done
	if [ "$i" -le "$SWEEP_PAIRS" ]; then
		for p in $SWEEP; do pair "slow$p" "$i" "$p"; done
	fi
	echo "pair $i of $PAIRS done, $(($(date +%s) - t0)) s" >&2
done

python3 - "$out/pairs.tsv" <<'PY'
import json, os, statistics, sys
from collections import defaultdict

rows = defaultdict(list)
for line in open(sys.argv[1]):
    exp, i, pct, rc, wall, b, c = line.rstrip("\n").split("\t")
    rows[exp].append(dict(pct=int(pct), rc=int(rc), wall=int(wall) / 1e9, base=b, cand=c))

def load(path):
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else None

def median_wall(doc, key="wall_s"):
    return statistics.median(t[key] for c in doc["cases"] for t in c["trials"] if not t["warmup"] and not t["failed"])

def med(xs):
    return statistics.median(xs) if xs else float("nan")

order = sorted(rows, key=lambda e: (e != "aa", e != "aa-nc", rows[e][0]["pct"]))
print()
print(f"{'experiment':10} {'pairs':>5} {'failed':>6} {'other':>5} "
      f"{'suspected':>9} {'confirmed':>9} {'med A':>8} {'med B/A':>7} {'cpu B/A':>7} {'gate ratio':>10} {'CI low':>6}  verdicts")
test, conf_all, total_all, gate_missing, susp = "", [], [], 0, {}
for exp in order:
    rs = rows[exp]
    failed = sum(r["rc"] == 1 for r in rs)
    other = sum(r["rc"] > 1 for r in rs)
    verdicts = defaultdict(int)
    suspected = held = 0
    ratio_ab, cpu_ab, med_a, gate_ratio, ci_low = [], [], [], [], []
    for r in rs:
        b, c = load(r["base"]), load(r["cand"])
        if not b or not c:
            continue
        med_a.append(median_wall(b))
        ratio_ab.append(median_wall(c) / median_wall(b))
        cpu_ab.append(median_wall(c, "user_s") / median_wall(b, "user_s"))
        g = c.get("gate")
        if not g:
            gate_missing += 1
            continue
        test = test or g.get("test", "")
        verdicts[g["verdict"]] += 1
        for cg in g["cases"]:
            suspected += bool(cg.get("suspected"))
            held += bool((cg.get("confirmation") or {}).get("held"))
            if cg.get("ratio"):
                gate_ratio.append(cg["ratio"])
                ci_low.append(cg.get("ci_low", 0))
        if g.get("confirmation_run"):
            conf_all.append((exp, g.get("confirm_time_ns", 0) / 1e9, r["wall"]))
        total_all.append(r["wall"])
    susp[exp] = (suspected, held)
    print(f"{exp:10} {len(rs):5} {failed:6} {other:5} "
          f"{suspected:9} {held:9} {med(med_a)*1e3:5.1f} ms {med(ratio_ab):7.3f} {med(cpu_ab):7.3f} {med(gate_ratio):10.3f} {med(ci_low):6.3f}  "
          + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
print("failed: builds that exited 1 (a regression or failed trials); other: exit 2 or 3, no verdict; suspected:")
print("cases the first evidence flagged; confirmed: those the pooled evidence held; med A: median trial of the")
print("baselines; med B/A, cpu B/A: medians of the per-pair ratios of the runs' median wall and user CPU times (cpu:")
print("the work done); gate ratio, CI low: medians of the gate's time ratio and of its 95% interval's low end;")
print("verdicts: the gate's, per candidate run.")
if test:
    print(f"test: {test}")
if gate_missing:
    print(f"WARNING: {gate_missing} candidate runs had no gate in their JSON")

aa = rows.get("aa", [])
aanc = rows.get("aa-nc", [])
if aa and aanc:
    print(f"\nfalse alarms at {len(aa)} A/A pairs: {sum(r['rc'] == 1 for r in aa)} failed builds with confirmation, "
          f"{sum(r['rc'] == 1 for r in aanc)} with --no-confirm; with confirmation {susp['aa'][0]} suspected at first, "
          f"{susp['aa'][0] - susp['aa'][1]} of them removed by the confirmation re-run")
print("smallest slowdown caught:", ", ".join(
    f"{rows[e][0]['pct']}%: {sum(r['rc'] == 1 for r in rows[e])}/{len(rows[e])}" for e in order if rows[e][0]["pct"] > 0))
if conf_all:
    ct = [c for _, c, _ in conf_all]
    tt = [t for _, _, t in conf_all]
    print(f"confirmation re-runs: {len(conf_all)} (of {len(total_all)} gated runs); "
          f"time median {med(ct):.2f} s of a median {med(tt):.2f} s candidate command ({med([c / t for _, c, t in conf_all]):.0%}); "
          f"sum {sum(ct):.1f} s of {sum(tt):.1f} s in those commands, {sum(ct) / sum(total_all):.1%} of all {sum(total_all):.1f} s gated")
    per = defaultdict(int)
    for e, _, _ in conf_all:
        per[e] += 1
    print("confirmations per experiment:", ", ".join(f"{e} {n}" for e, n in per.items()))
else:
    print("confirmation re-runs: none")
PY
echo "load at end: $(uptime)"
echo "elapsed: $(($(date +%s) - t0)) s"
