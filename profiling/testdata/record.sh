#!/bin/sh
# Records the real `perf script` fixtures of this directory (see README.md).
# Run as root on Linux with linux-perf installed, from profiling/testdata:
#
#   sh record.sh            # all of them
#   F=199 sh record.sh      # at a lower frequency, for smaller files
#
# then `go test ./profiling -run Golden -update` and review the .folded diff.
set -eu

F=${F:-499}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Input for the text tools: 300k lines of numbers and words, sorted badly.
seq 1 300000 | awk '{ printf "%d %x line-%d\n", ($1 * 7919) % 1000003, $1, $1 }' >"$work/lines.txt"
gzip -c "$work/lines.txt" >"$work/lines.txt.gz"
cat "$work/lines.txt" "$work/lines.txt" "$work/lines.txt" >"$work/lines3.txt"

# rec NAME CMD...: profile CMD's CPU time with call graphs and keep perf
# script's default output as NAME.perf-script. CMD's output goes to a file:
# GNU grep stops at the first match when its output is /dev/null.
rec() {
	name=$1
	shift
	perf record -q -e cpu-clock -F "$F" -g -o "$work/$name.data" -- "$@" >"$work/out"
	perf script -i "$work/$name.data" >"$name.perf-script" 2>/dev/null
	printf '%s: %s bytes\n' "$name.perf-script" "$(wc -c <"$name.perf-script")"
}

# GNU grep is stripped: its own frames are module+address.
rec grep grep -c -i -E '[0-9]+5 [0-9a-f]*e[0-9a-f] |line-[0-9]*77[0-9]*$' "$work/lines3.txt"
# A pipeline: several processes, for the per-process breakdown.
rec pipeline sh -c "zcat '$work/lines.txt.gz' | sort | uniq -c | sort -rn | head -n 1"
# python3 exports its symbols: named frames from a stripped binary.
rec python3 /usr/bin/python3 -c '
import re
pat = re.compile(r"(\d)\1\d*5 ")
n = 0
for line in open("'"$work"'/lines.txt"):
    if pat.search(line):
        n += 1
print(n)
'
# Without -g: one line per sample, the sampled symbol in the header.
perf record -q -e cpu-clock -F "$F" -o "$work/flat.data" -- gzip -9 -c "$work/lines.txt" >"$work/out"
perf script -i "$work/flat.data" >gzip-nocallchain.perf-script 2>/dev/null
printf '%s: %s bytes\n' gzip-nocallchain.perf-script "$(wc -c <gzip-nocallchain.perf-script)"
