#!/usr/bin/env bash
# What a trial costs on the lab's Swarm pool against the same node as a
# plain Docker node: ROUNDS rounds, each running N trials of `true` in
# benchrig/busybox on lab1 through pool `lab` and through pool `swarm`
# (alternating which goes first), no collector. Prints, per pool, the
# median wall time of a whole trial as benchrig saw it (trial_total_s:
# create call to result) and of the command as the shim timed it, and the
# ratio of the trial medians.
#
#   bash bench/swarm-overhead.sh [ROUNDS] [N]      (make testenv first)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} n=${2:-20}
set -a; . .testenv/env; set +a
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/true.yaml" <<SPEC
name: swarm-overhead
command: ["true"]
repeat: $n
warmup: 1
image: benchrig/busybox:amd64
placement: {nodes: [lab1]}
SPEC
run() { # POOL ROUND
	bin/benchrig run -q "$work/true.yaml" --pools "$BENCHRIG_LAB_POOLS" --pool "$1" --no-collect \
		--store "$work/db.sqlite" --json "$work/$1-$2.json" >/dev/null
}
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run lab "$r"; run swarm "$r"; else run swarm "$r"; run lab "$r"; fi
done
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
declare -A trial
for p in lab swarm; do
	trial[$p]=$(jq -r '.cases[].trials[] | select(.warmup|not) | .metrics.trial_total_s' "$work"/$p-*.json | median)
	cmd=$(jq -r '.cases[].trials[] | select(.warmup|not) | .wall_s' "$work"/$p-*.json | median)
	printf '%-6s trials %4d  trial (create to result) median %.1f ms  command (shim) median %.3f ms\n' \
		"$p" "$(jq -r '.cases[].trials[] | select(.warmup|not) | .wall_s' "$work"/$p-*.json | wc -l)" \
		"$(echo "${trial[$p]} * 1000" | bc -l)" "$(echo "$cmd * 1000" | bc -l)"
done
printf 'swarm/lab trial ratio %.2f\n' "$(echo "${trial[swarm]} / ${trial[lab]}" | bc -l)"
