# benchrig's profile of one trial, run by sh -c in the node's profiler
# container (PID namespace of the host): profile.sh PID PERF-RECORD-OPTIONS...
# See nodeProfileScript in profiler_node.go for the protocol.
set -u
pid=$1
shift
d=$(mktemp -d /tmp/benchrig-perf.XXXXXX) || { echo "error: mktemp failed"; exit 1; }
perf_pid=
cleanup() {
	if [ -n "$perf_pid" ]; then kill -9 "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null; fi
	rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE
mkfifo "$d/ctl" "$d/ack" || { echo "error: mkfifo failed"; exit 1; }
threads() { ls "/proc/$pid/task" 2>/dev/null | sort; }
[ -d "/proc/$pid" ] || { echo "error: no process $pid in the node's PID namespace"; exit 1; }
try=1
while :; do
	threads >"$d/before"
	perf record "$@" -o "$d/perf.data" -p "$pid" --control "fifo:$d/ctl,$d/ack" 2>"$d/err" &
	perf_pid=$!
	exec 7<>"$d/ctl" 8<>"$d/ack"
	echo ping >&7
	# perf answers from its main loop, once its events are open.
	ack=$(timeout 15 head -n 1 <&8)
	exec 7>&- 8>&-
	if [ "$ack" != ack ]; then
		echo "error: perf record -p $pid did not attach: $(tail -n 1 "$d/err")"
		exit 1
	fi
	threads >"$d/after"
	[ -z "$(comm -13 "$d/before" "$d/after")" ] && break
	kill -9 "$perf_pid"
	wait "$perf_pid" 2>/dev/null
	perf_pid=
	if [ "$try" -ge 5 ]; then
		echo "error: process $pid started threads while perf attached, $try times: not all would be sampled"
		exit 1
	fi
	try=$((try + 1))
done
echo attached
read -r _ || exit 1
kill -INT "$perf_pid"
wait "$perf_pid"
perf_pid=
mkdir "$d/sym"
perf script -F comm --show-mmap-events -i "$d/perf.data" 2>/dev/null |
	sed -n 's/.* PERF_RECORD_MMAP.*\]: [^ ]* \(\/.*\)$/\1/p' | sort -u |
	while IFS= read -r f; do
		case $f in *" (deleted)" | */../* | */./* | *//*) continue ;; esac
		t=/proc/$pid/root$f
		[ -e "$t" ] || t=/proc/1/root$f
		[ -e "$t" ] || continue
		mkdir -p "$d/sym${f%/*}" && ln -sf "$t" "$d/sym$f"
	done
echo "--- perf script"
perf script --no-inline --show-lost-events --show-task-events --symfs "$d/sym" --kallsyms /proc/kallsyms -i "$d/perf.data" 2>"$d/err" ||
	{ echo "error: perf script: $(tail -n 1 "$d/err")"; exit 1; }
