#!/usr/bin/env bash
# Submit a benchmark spec to a benchrig server with curl alone, follow its
# run, and exit as `benchrig submit --wait` does: 0 passed, 1 a regression
# or failed trials, 2 bad input or a refused token, 3 could not run (the
# server unreachable, the run could not start), 130 cancelled.
#
#   BENCHRIG_SERVER=http://bench:8080 BENCHRIG_TOKEN=... \
#     examples/ci/curl.sh SPEC [BASELINE [MAX_REGRESSION [MAX_BASELINE_CV]]]
#
# BASELINE is last (default), a run ID or label:branch=main; MAX_REGRESSION
# a fraction (0.05: 5%, the default); MAX_BASELINE_CV a fraction too (the
# robust CV above which a baseline case is too noisy to judge; default 0.10). Writes benchrig.xml (JUnit) and
# summary.md beside it, or where BENCHRIG_JUNIT and BENCHRIG_MD say.
# Needs bash, curl and jq.
set -euo pipefail

spec=${1:?usage: curl.sh SPEC [BASELINE [MAX_REGRESSION [MAX_BASELINE_CV]]]}
baseline=${2:-last}
max=${3:-0.05}
maxcv=${4:-0.10}
server=${BENCHRIG_SERVER:?set BENCHRIG_SERVER to the server URL, e.g. http://bench:8080}
server=${server%/}
token=${BENCHRIG_TOKEN:?set BENCHRIG_TOKEN to a submit token of the server}
junit=${BENCHRIG_JUNIT:-benchrig.xml}
md=${BENCHRIG_MD:-summary.md}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# call METHOD PATH FILE [curl args...] writes the answer's body to FILE and
# its HTTP status to $status. No answer at all (could not connect, timed
# out) is exit 3.
call() {
	local method=$1 path=$2 out=$3
	shift 3
	if ! status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $token" "$@" "$server$path"); then
		echo "curl.sh: cannot reach the benchrig server at $server" >&2
		exit 3
	fi
}

# The labels say where the run came from; the gate compares it with the
# baseline when it ends.
body=$(jq -n --rawfile spec "$spec" --arg name "$spec" --arg baseline "$baseline" --argjson max "$max" --argjson maxcv "$maxcv" \
	--arg commit "${GIT_COMMIT:-${GITHUB_SHA:-}}" --arg branch "${GIT_BRANCH:-${GITHUB_REF_NAME:-}}" \
	'{spec: $spec, name: $name, gate: {baseline: $baseline, max_regression: $max, max_baseline_cv: $maxcv},
	  labels: ({commit: $commit, branch: $branch} | with_entries(select(.value != "")))}')
call POST /api/v1/runs "$tmp/answer" -H 'Content-Type: application/json' --data-binary "$body"
answer=$(cat "$tmp/answer")
case $status in
201) ;;
400 | 401 | 403 | 413 | 415)
	echo "curl.sh: the server refused the submission ($status): $(jq -r 'if (.error.errors // []) == [] then .error.message else .error.errors[].text end' <<<"$answer")" >&2
	exit 2 ;;
*)
	echo "curl.sh: the server answered $status: $answer" >&2
	exit 3 ;;
esac
id=$(jq -r .id <<<"$answer")
echo "run $id: $(jq -r .url <<<"$answer")" >&2

# The event stream: one `event:` and one `data:` line per event, until the
# server says end (for a gated run: after the gate's verdict). Show each
# finished trial and what else happened (notes, warnings, the gate).
curl -sS -N -H "Authorization: Bearer $token" -H 'Accept: text/event-stream' "$server/api/v1/runs/$id/events" |
	while IFS= read -r line; do
		case $line in
		data:*) jq -r 'select(.kind != null and .kind != "trial-planned" and .kind != "trial-started") |
			if .kind == "trial-finished" then "[\(.done)/\(.total)] \(.trial.case) \(if .warmup then "warmup" else "trial" end) \(.number): \(.duration_ns / 1e6 | round) ms"
			else "\(.kind)\(if .case then " " + .case else "" end)\(if .msg then ": " + .msg else "" end)" end' \
			<<<"${line#data: }" >&2 2>/dev/null || true ;;
		esac
	done

call GET "/api/v1/runs/$id" "$tmp/run"
[ "$status" = 200 ] || { echo "curl.sh: GET run $id: $status $(cat "$tmp/run")" >&2; exit 3; }
run=$(cat "$tmp/run")
call GET "/api/v1/runs/$id/junit" "$junit"
call GET "/api/v1/runs/$id/summary.md" "$md"
call GET "/api/v1/runs/$id/report" "$tmp/report"
cat "$tmp/report"

state=$(jq -r .status <<<"$run")
passed=$(jq -r 'if .gate == null then "none" else (.gate.passed | tostring) end' <<<"$run")
echo "run $id: $state, gate passed: $passed ($(jq -r '.gate.summary // "not judged"' <<<"$run"))" >&2
trials=$(jq '[.cases[]?.trials[]?] | length' <<<"$run")
case $state in
cancelled) exit 130 ;;
finished) ;;
failed) if [ "$trials" = 0 ]; then exit 3; else exit 1; fi ;; # could not start, or trials failed
*) exit 3 ;;                                                  # interrupted: the server stopped
esac
case $passed in
true) exit 0 ;;
*) exit 1 ;; # a regression, or a gate that did not judge: never a silent pass
esac
