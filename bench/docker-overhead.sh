#!/usr/bin/env bash
# What a trial in a container costs a whole `benchrig run`, against the
# docker CLI running the same container: ROUNDS rounds, each timing N
# trials of `true` in benchrig/busybox through `benchrig run` on one lab
# node (store writes, reports and all) and N `docker run --rm` of the same
# image, alternating the two. Prints per-trial medians and their ratio.
#
#   bash bench/docker-overhead.sh [ROUNDS] [N]      (make testenv first)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} n=${2:-20}
set -a; . .testenv/env; set +a
host=tcp://10.99.0.11:2375
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/true.yaml" <<SPEC
name: docker-overhead
command: ["true"]
repeat: $n
warmup: 0
image: benchrig/busybox:amd64
placement: {nodes: [lab1]}
SPEC
now() { date +%s.%N; }
br=() cli=()
for r in $(seq 1 "$rounds"); do
	t0=$(now)
	bin/benchrig run -q "$work/true.yaml" --pools "$BENCHRIG_LAB_POOLS" --pool lab --store "$work/db.sqlite" >/dev/null
	t1=$(now)
	for i in $(seq 1 "$n"); do docker -H "$host" run --rm --network none benchrig/busybox:amd64 true; done
	t2=$(now)
	br+=("$(echo "($t1 - $t0) / $n" | bc -l)")
	cli+=("$(echo "($t2 - $t1) / $n" | bc -l)")
	printf 'round %d: benchrig run %.1f ms/trial, docker run --rm %.1f ms/trial\n' "$r" "$(echo "${br[-1]} * 1000" | bc -l)" "$(echo "${cli[-1]} * 1000" | bc -l)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mb=$(median "${br[@]}") mc=$(median "${cli[@]}")
printf 'median per trial: benchrig run %.1f ms, docker run --rm %.1f ms, ratio %.2fx (goal <= 0.7x)\n' \
	"$(echo "$mb * 1000" | bc -l)" "$(echo "$mc * 1000" | bc -l)" "$(echo "$mb / $mc" | bc -l)"
