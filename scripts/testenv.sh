#!/usr/bin/env bash
# Installs and starts what benchrig's tests need. Idempotent: a second call
# does nothing that is already done. `down` stops what `up` started.
#
# Today the tests need only the tools below (the local executor runs real
# processes in real cgroups). The Docker engine and Elasticsearch join here
# when the executor and collector that need them land.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .testenv

need_pkgs=()
for tool in hyperfine:hyperfine busybox:busybox-static git:git; do
	bin=${tool%%:*} pkg=${tool#*:}
	command -v "$bin" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done

case "${1:-up}" in
up)
	if [ ${#need_pkgs[@]} -gt 0 ]; then
		echo "testenv: installing ${need_pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
	fi
	# Variables the tests read; `make test` sources this file.
	: >.testenv/env
	echo "testenv: ready"
	;;
down)
	echo "testenv: nothing running"
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
