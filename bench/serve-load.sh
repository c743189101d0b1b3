#!/usr/bin/env bash
# The server under load (issue 13's figure): 200 concurrent API clients and
# 100 live-event watchers for 60 s against one `benchrig serve` with a
# fresh store, while a run goes on for the watchers to follow.
#
#   make bench-serve                      # CLIENTS, WATCHERS, DURATION, SERVE_PORT override
#
# The server runs local specs (--allow-local): the watched run is `sleep`,
# so the load measures the server, not a pool. Exit 1 when the load saw any
# error (serveload's own rule).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${SERVE_PORT:-18080}
base=http://127.0.0.1:$port
tmp=$(mktemp -d)
tok=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

BENCHRIG_TOKEN=$tok bin/benchrig serve --listen "127.0.0.1:$port" --store "$tmp/runs.db" \
	--data-dir "$tmp/data" --allow-local >"$tmp/serve.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 100); do
	curl -fsS "$base/healthz" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
	sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { echo "serve did not become healthy"; cat "$tmp/serve.log"; exit 1; }

run=$(curl -fsS -H "Authorization: Bearer $tok" -H 'Content-Type: application/yaml' \
	--data-binary @bench/serveload/testdata/live.yaml "$base/api/v1/runs" |
	sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
[ -n "$run" ] || { echo "submitting the live run failed"; cat "$tmp/serve.log"; exit 1; }
echo "watching run $run"

go run ./bench/serveload -url "$base" -token "$tok" -submit-token "$tok" \
	-spec bench/serveload/testdata/tiny.yaml -run "$run" \
	-clients "${CLIENTS:-200}" -watchers "${WATCHERS:-100}" -duration "${DURATION:-60s}" -think "${THINK:-0s}"
