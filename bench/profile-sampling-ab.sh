#!/usr/bin/env bash
# What perf's sampling itself costs a command, outside benchrig: busybox
# grep -c -i over one 55 MB SMILES chunk, run ROUNDS times in each mode,
# the modes interleaved (their order reversed every other round):
#
#   plain  the command alone, its wall time around the process
#   99g    under perf record -F 99 -g (benchrig's default)
#   99     the same without call graphs
#   1g     at 1 Hz (perf attached, next to no samples)
#
# Under perf the command's time is its exec to its exit as perf's task
# events have them (perf script --show-task-events), as benchrig times a
# profiled local trial: perf's own start-up and tear-down are left out.
# Prints each mode's median and its ratio to plain.
#
#   bash bench/profile-sampling-ab.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./cmd/benchrig data smiles --out .bench/data/smiles --size 110MB --chunk 55MB >/dev/null
echo "load at start: $(uptime)"
python3 - "$ROUNDS" .bench/data/smiles/smiles-0001.smi "$tmp/perf.data" <<'PY'
import re, statistics, subprocess, sys, time
rounds, data, rec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmd = ["busybox", "grep", "-c", "-i", "br", data]

def plain():
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t

def under_perf(*args):
    def run():
        subprocess.run(["perf", "record", "-q", "--no-bpf-event", "-B", "-N", "-e", "cpu-clock", *args, "-o", rec, "--", *cmd],
                       stdout=subprocess.DEVNULL, check=True)
        out = subprocess.run(["perf", "script", "--show-task-events", "-F", "comm,pid,time", "-i", rec],
                             capture_output=True, text=True, check=True).stdout
        pid = start = end = None
        for line in out.splitlines():
            t = re.search(r"(\d+\.\d+):", line)
            if pid is None and "PERF_RECORD_COMM exec" in line:
                pid, start = line.split()[1], float(t.group(1))
            elif pid is not None and f"PERF_RECORD_EXIT({pid}:{pid})" in line:
                end = float(t.group(1))
        return end - start
    return run

modes = {"plain": plain, "99g": under_perf("-F", "99", "-g"), "99": under_perf("-F", "99"), "1g": under_perf("-F", "1", "-g")}
times = {m: [] for m in modes}
for r in range(rounds):
    order = list(modes) if r % 2 == 0 else list(reversed(modes))
    for m in order:
        times[m].append(modes[m]())
base = statistics.median(times["plain"])
for m, ts in times.items():
    print(f"{m:6} median {statistics.median(ts) * 1e3:8.1f} ms  ratio {statistics.median(ts) / base:.4f}  (n={len(ts)})")
PY
echo "load at end: $(uptime)"
