#!/usr/bin/env bash
# Installs and starts what benchrig's tests need. Idempotent: a second call
# does nothing that is already done. `down` stops what `up` started.
#
# Today the tests need only the tools below (the local executor runs real
# processes in real cgroups) plus what the reference benchmarks run: real
# molecules (rdkit-data, openbabel), the extractors (mawk, perl, the
# compressors) and an Alpine-like busybox built against musl, which is the
# seed experiments' slow grep. The Docker test lab (scripts/lab.sh: three
# dockerd nodes, one arm64 under qemu) serves the container executors'
# integration tests; Elasticsearch (scripts/es.sh) the collector's and the
# shipper's. The server's tests need Debian's chromium and docker-compose,
# profiling's Linux perf.
#
# Built artifacts that do not depend on the clone (lab images, the musl
# busybox) are cached per machine in ${BENCHRIG_CACHE:-/var/cache/benchrig},
# so a fresh clone (CI) does not rebuild them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .testenv/bin
root=$(pwd -P)

need_pkgs=()
# Tools checked by command, as before.
for tool in hyperfine:hyperfine busybox:busybox-static git:git; do
	bin=${tool%%:*} pkg=${tool#*:}
	command -v "$bin" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
# Packages checked by dpkg status (some ship only data, e.g. rdkit-data): one
# dpkg-query call, so the second run stays quick.
# The server's tests add two: Debian's chromium (headless, the dashboards'
# browser tests through chromedp) and docker-compose (docker-compose.yml
# validated and its services run on the lab). Profiling's tests need
# Linux perf (Debian's linux-perf: the perf binary for the running kernel's
# major version, which works on newer kernels too).
bench_pkgs=(rdkit-data openbabel musl-tools mawk perl gzip findutils bzip2 xz-utils patch file chromium docker-compose linux-perf)
installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${bench_pkgs[@]}" 2>/dev/null || true)"
for pkg in "${bench_pkgs[@]}"; do
	[[ $installed == *" installed:$pkg "* ]] || need_pkgs+=("$pkg")
done

case "${1:-up}" in
up)
	if [ ${#need_pkgs[@]} -gt 0 ]; then
		echo "testenv: installing ${need_pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# debconf's "delaying package configuration" note is noise; real
		# errors still reach stderr.
		if ! apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>.testenv/apt.err; then
			cat .testenv/apt.err >&2
			exit 1
		fi
		grep -v '^debconf: delaying package configuration' .testenv/apt.err >&2 || true
		rm -f .testenv/apt.err
	fi
	# Alpine-like busybox (musl, static, grep applets only); cached, so this
	# is silent and quick once built.
	bash scripts/build-musl-busybox.sh "$root/.testenv/bin"
	# The Docker test lab; writes .testenv/pools.yaml.
	bash scripts/lab.sh up
	# Variables the tests read; `make test` sources this file with `set -a`,
	# so plain assignments are exported. Written to a temporary file and
	# moved, so a reader never sees half of it.
	{
		printf 'BENCHRIG_BUSYBOX_MUSL=%q\n' "$root/.testenv/bin/busybox-musl"
		printf 'PATH=%q:$PATH\n' "$root/.testenv/bin"
		# The lab: lab1 (amd64) is the default engine, lab3 the arm64 one;
		# the pools file names all three. The in-container timing shims are
		# built by `make build` into bin/.
		printf 'DOCKER_HOST=%q\n' tcp://10.99.0.11:2375
		printf 'BENCHRIG_LAB_ARM64_HOST=%q\n' tcp://10.99.0.13:2375
		# The same three engines form a Swarm cluster; lab1 is its manager.
		printf 'BENCHRIG_LAB_SWARM=%q\n' tcp://10.99.0.11:2375
		printf 'BENCHRIG_LAB_POOLS=%q\n' "$root/.testenv/pools.yaml"
		printf 'BENCHRIG_SHIM_DIR=%q\n' "$root/bin"
	} >.testenv/env.tmp
	mv .testenv/env.tmp .testenv/env
	bash scripts/es.sh up
	echo "testenv: ready"
	;;
down)
	bash scripts/es.sh down
	bash scripts/lab.sh down
	rm -f .testenv/env
	echo "testenv: down"
	;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
