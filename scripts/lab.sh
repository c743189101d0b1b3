#!/usr/bin/env bash
# The Docker test lab: three "nodes" on this machine, each a dockerd in its
# own network namespace with its own address on a host bridge (brlab0,
# 10.99.0.0/24), and local images built without a registry. lab3 is an arm64
# node: it holds only arm64 images, which run under qemu-user (binfmt_misc).
# Writes .testenv/pools.yaml with the nodes in pool `lab`.
#
#   lab.sh up      install, build images (cached), start, load, verify
#                  (idempotent: a second call only checks)
#   lab.sh down    stop the daemons by pid, remove namespaces and the bridge,
#                  unmount what is left; the image cache stays
#   lab.sh status  print what runs
#   lab.sh swarm   form the 3-node swarm (lab1 the manager; lab3 labelled
#                  benchrig.arch=arm64) and add pool `swarm` to the pools
#                  file; `up` does it too
#   lab.sh images  only build (or find cached) the image archives
#
# Image archives are cached per machine, not per clone, in
# ${BENCHRIG_CACHE:-/var/cache/benchrig}/lab-images, keyed by their inputs, so
# a fresh clone (CI) reuses them. Environment switches:
#   LAB_OPENBABEL=0       leave openbabel out of the Debian images
#   LAB_DEBIAN_ARM64=0    no benchrig/debian:arm64 (built under qemu-user)
#
# Global state: the node names, addresses, exec-roots (/run/benchrig-labN),
# sockets and the bridge are the same for every clone on the machine, so one
# lab runs at a time. `up` reclaims what a dead lab of any clone left behind
# (daemons SIGKILLed: namespaces, veths, exec-roots, mounts, containerd) and
# refuses to touch a node whose dockerd is alive but belongs to another
# clone; `down` likewise leaves such a node alone.
#
# shared/ENVIRONMENT.md explains the choices (nsenter --net rather than
# `ip netns exec`, --tls=false, hand-written docker-archives).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
here=$root/scripts/lab
lab=$root/.testenv/lab
cache=${BENCHRIG_CACHE:-/var/cache/benchrig}
images=$cache/lab-images
bridge=brlab0
nodes=(lab1 lab2 lab3)
# The engine's CLI: any docker client on PATH negotiates down to the
# daemon's API (1.41).
docker=(docker)

log() { echo "lab: $*"; }
die() { echo "lab: $*" >&2; exit 1; }

node_ip() { echo "10.99.0.1${1#lab}"; }
node_arch() { [ "$1" = lab3 ] && echo arm64 || echo amd64; }
node_host() { echo "tcp://$(node_ip "$1"):2375"; }
alive() { # PID COMM: PID runs COMM and is not a zombie
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }
node_pid() {
	# The pid from this clone's pid file when that process is still a
	# dockerd started with this pid file, so neither a recycled pid nor
	# another clone's daemon is mistaken for (or killed as) ours. A killed
	# daemon stays a zombie until reaped: not running.
	local f=$lab/$1/dockerd.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	alive "$pid" dockerd || return 1
	[[ " $(cmdline "$pid")" == *" --pidfile $f "* ]] || return 1
	echo "$pid"
}
foreign_pid() {
	# A live dockerd serving node $1 that is not ours: another clone's lab.
	# Found by its exec-root, which every clone gives the node. Builtins
	# only in the loop: one fork per process would cost a second.
	local n=$1 own d c st
	own=$(node_pid "$n" || true)
	for d in /proc/[0-9]*; do
		read -r c <"$d/comm" 2>/dev/null || continue
		[ "$c" = dockerd ] && [ "${d#/proc/}" != "$own" ] || continue
		read -r st <"$d/stat" 2>/dev/null || continue
		st=${st##*) }
		[ "${st%% *}" != Z ] || continue
		[[ " $(cmdline "${d#/proc/}")" == *" --exec-root /run/benchrig-$n "* ]] && { echo "${d#/proc/}"; return 0; }
	done
	return 1
}
node_containerd() {
	# The containerd a dockerd started for node $1, from the pid file in
	# the node's exec-root, checked by command line (a recycled pid, or
	# another node's containerd, is not it). Prints nothing if none runs.
	local pid
	pid=$(cat "/run/benchrig-$1/containerd/containerd.pid" 2>/dev/null || true)
	alive "$pid" containerd || return 0
	[[ " $(cmdline "$pid")" == *" --config /run/benchrig-$1/containerd/containerd.toml "* ]] && echo "$pid"
	return 0
}
kill_wait() { # PID COMM SECONDS: SIGTERM, wait, then SIGKILL
	local i
	alive "$1" "$2" || return 0
	kill -TERM "$1" 2>/dev/null || true
	for i in $(seq 1 $(($3 * 5))); do alive "$1" "$2" || return 0; sleep 0.2; done
	log "$2 pid $1 ignored SIGTERM for $3 s: SIGKILL"
	kill -KILL "$1" 2>/dev/null || true
	for i in $(seq 1 25); do alive "$1" "$2" || return 0; sleep 0.2; done
}
foreign_msg() {
	local p=$1 dr
	dr=$(cmdline "$p" | sed -n 's/.*--data-root \([^ ]*\).*/\1/p')
	echo "$2 is served by dockerd pid $p of another lab (data root $dr); stop that lab first: bash ${dr%/.testenv/lab/*}/scripts/lab.sh down"
}
ndocker() { local n=$1; shift; "${docker[@]}" -H "$(node_host "$n")" "$@"; }

# --- 1. packages and binfmt ---------------------------------------------------
install_packages() {
	local pkgs=(docker.io iptables iproute2 qemu-user-static binfmt-support debootstrap)
	local need=() installed update=
	installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${pkgs[@]}" 2>/dev/null || true)"
	for p in "${pkgs[@]}"; do [[ $installed == *" installed:$p "* ]] || need+=("$p"); done
	# arm64 package lists, for `apt-get download busybox-static:arm64`.
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		update=1
	fi
	[ ${#need[@]} -gt 0 ] && update=1
	export DEBIAN_FRONTEND=noninteractive
	if [ -n "$update" ]; then
		log "apt-get update"
		apt-get update -qq
	fi
	if [ ${#need[@]} -gt 0 ]; then
		log "installing ${need[*]}"
		mkdir -p "$lab"
		if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>"$lab/apt.err"; then
			cat "$lab/apt.err" >&2
			die "apt-get install failed"
		fi
		grep -v '^debconf: delaying package configuration' "$lab/apt.err" >&2 || true
	fi
}

enable_binfmt() {
	local bm=/proc/sys/fs/binfmt_misc
	[ -e "$bm/register" ] || mount -t binfmt_misc binfmt_misc "$bm"
	if ! grep -qx enabled "$bm/qemu-aarch64" 2>/dev/null; then
		update-binfmts --enable qemu-aarch64 2>/dev/null || update-binfmts --enable
	fi
	grep -qx enabled "$bm/qemu-aarch64" 2>/dev/null || die "binfmt_misc: qemu-aarch64 is not enabled"
	# Containers run the interpreter from the host only when the kernel
	# opened it at registration (flag F).
	grep -q '^flags:.*F' "$bm/qemu-aarch64" || die "binfmt_misc: qemu-aarch64 lacks the F (fix binary) flag, containers cannot use it"
}

# --- 2. images ------------------------------------------------------------------
# cached ARCHIVE KEY: true when ARCHIVE exists and was built from inputs KEY.
cached() { [ -f "$1" ] && [ -f "$1.id" ] && [ "$(cat "$1.key" 2>/dev/null)" = "$2" ]; }
# set_key ARCHIVE KEY: record the inputs, last, so a build cut short is
# never taken for a cached one.
set_key() { echo "$2" >"$1.key.tmp" && mv "$1.key.tmp" "$1.key"; }

build_busybox() {
	local arch=$1 out=$images/busybox-$1.tar ver key deb
	ver=${bb_versions[$arch]:-}
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no busybox-static:$arch candidate (apt-get update after dpkg --add-architecture arm64?)"
	key="busybox-static $ver $arch $(cat "$here/rootfs-busybox.sh" "$here/mkimage.sh" | sha256sum | cut -c1-16)"
	if cached "$out" "$key" && [ -x "$images/busybox-$arch.bin" ]; then return; fi
	log "building benchrig/busybox:$arch (busybox-static $ver)"
	rm -rf "$images/dl-$arch" && mkdir -p "$images/dl-$arch"
	(cd "$images/dl-$arch" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static:$arch=$ver" >/dev/null)
	deb=$(ls "$images/dl-$arch"/busybox-static_*.deb)
	bash "$here/rootfs-busybox.sh" "$deb" "$images/rootfs-busybox-$arch"
	cp "$images/rootfs-busybox-$arch/bin/busybox" "$images/busybox-$arch.bin.tmp"
	mv "$images/busybox-$arch.bin.tmp" "$images/busybox-$arch.bin"
	bash "$here/mkimage.sh" "$images/rootfs-busybox-$arch" "$arch" "$out" "benchrig/busybox:$arch" benchrig/busybox:latest
	set_key "$out" "$key"
	rm -rf "$images/dl-$arch" "$images/rootfs-busybox-$arch"
}

build_debian() {
	local arch=$1 out=$images/debian-$1.tar key mirror pkgs=(grep findutils gzip mawk perl) start
	# openbabel is large (~60 MB with its libraries) but the reference
	# benchmarks need it; LAB_OPENBABEL=0 leaves it out.
	[ "${LAB_OPENBABEL:-1}" = 1 ] && pkgs+=(openbabel)
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	key="bookworm minbase $arch ${pkgs[*]} $(cat "$here/rootfs-debian.sh" "$here/mkimage.sh" | sha256sum | cut -c1-16)"
	if cached "$out" "$key"; then return; fi
	start=$(date +%s)
	log "building benchrig/debian:$arch (debootstrap minbase bookworm + ${pkgs[*]}$([ "$arch" = "$(dpkg --print-architecture)" ] || echo ', second stage under qemu-user: minutes'))"
	bash "$here/rootfs-debian.sh" "$images/rootfs-debian-$arch" "$mirror" "$arch" "${pkgs[@]}"
	bash "$here/mkimage.sh" "$images/rootfs-debian-$arch" "$arch" "$out" "benchrig/debian:$arch" benchrig/debian:latest
	set_key "$out" "$key"
	rm -rf --one-file-system "$images/rootfs-debian-$arch"
	log "built benchrig/debian:$arch in $(($(date +%s) - start)) s"
}

# benchrig/perf:ARCH is the image of benchrig's profiler container on a
# node (pool policy profiler: true): Debian's perf. Engines here are all
# amd64 (lab3 emulates arm64 containers), so only amd64 is built.
build_perf() {
	local arch=$1 out=$images/perf-$1.tar key mirror pkgs=(linux-perf) start
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	key="bookworm minbase $arch ${pkgs[*]} $(cat "$here/rootfs-debian.sh" "$here/mkimage.sh" | sha256sum | cut -c1-16)"
	if cached "$out" "$key"; then return; fi
	start=$(date +%s)
	log "building benchrig/perf:$arch (debootstrap minbase bookworm + ${pkgs[*]})"
	bash "$here/rootfs-debian.sh" "$images/rootfs-perf-$arch" "$mirror" "$arch" "${pkgs[@]}"
	bash "$here/mkimage.sh" "$images/rootfs-perf-$arch" "$arch" "$out" "benchrig/perf:$arch"
	set_key "$out" "$key"
	rm -rf --one-file-system "$images/rootfs-perf-$arch"
	log "built benchrig/perf:$arch in $(($(date +%s) - start)) s"
}

# benchrig/collector:amd64 is this checkout's benchrig, static, and its
# timing shims, alone in an image: what a run on pool `swarm` starts as its
# collector service on every node, and as the helper of a profiled trial. Rebuilt when the binary changes (kept in this clone's lab
# directory, not the shared cache: it is this checkout's code).
build_collector() {
	local out=$lab/collector-amd64.tar rootfs=$lab/collector-rootfs key
	mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp"
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$rootfs/usr/local/bin/benchrig.new" ./cmd/benchrig ||
		die "go build of the collector image's benchrig failed"
	mv "$rootfs/usr/local/bin/benchrig.new" "$rootfs/usr/local/bin/benchrig"
	# The timing shims beside it: a profiled trial's helper runs trials
	# on its node's engine (runner/docker's swarm_profile.go).
	local a
	for a in amd64 arm64; do
		CGO_ENABLED=0 GOOS=linux GOARCH=$a go build -trimpath -ldflags='-s -w' -o "$rootfs/usr/local/bin/benchrig-shim-linux-$a" ./runner/docker/shim ||
			die "go build of the $a shim for the collector image failed"
	done
	key=$(sha256sum "$rootfs"/usr/local/bin/* "$here/mkimage.sh" | sha256sum | cut -c1-16)
	if cached "$out" "$key"; then return; fi
	log "building benchrig/collector:amd64 (this checkout's benchrig)"
	bash "$here/mkimage.sh" "$rootfs" amd64 "$out" "benchrig/collector:amd64"
	set_key "$out" "$key"
}

debian_arm64() { [ "${LAB_DEBIAN_ARM64:-1}" = 1 ]; }

declare -A bb_versions
build_images() {
	mkdir -p "$images"
	# The cache is shared by every clone on the machine: one builder at a
	# time; a second waits and then finds the archives built.
	exec 8>"$images/.lock"
	if ! flock -n 8; then
		log "waiting for another lab.sh building images in $images"
		flock 8
	fi
	# One apt-cache call for both architectures: without a kept pkgcache.bin
	# each call costs about a second.
	local a v
	while read -r a v; do bb_versions[$a]=$v; done < <(apt-cache policy busybox-static:amd64 busybox-static:arm64 |
		awk -v native="$(dpkg --print-architecture)" \
		'/^busybox-static/ {sub(":$", ""); n = split($1, p, ":"); a = n > 1 ? p[2] : native} /Candidate:/ {print a, $2}')
	build_busybox amd64
	build_busybox arm64
	[ "$("$images/busybox-arm64.bin" uname -m)" = aarch64 ] || die "an arm64 static binary does not run under qemu-user (binfmt_misc)"
	build_debian amd64
	if debian_arm64; then build_debian arm64; fi
	build_perf amd64
	exec 8>&-
}

node_images() { # the archives a node holds: its own architecture only, and the profiler's (its engine's: amd64)
	if [ "$(node_arch "$1")" = arm64 ]; then
		echo "$images/busybox-arm64.tar"
		if debian_arm64; then echo "$images/debian-arm64.tar"; fi
	else
		echo "$images/busybox-amd64.tar $images/debian-amd64.tar"
	fi
	echo "$images/perf-amd64.tar"
	[ -f "$lab/collector-amd64.tar" ] && echo "$lab/collector-amd64.tar"
	return 0
}

# --- 3. network and daemons ----------------------------------------------------
umount_under() { # DIR: unmount everything mounted below DIR (and DIR), deepest first
	findmnt -rn -o TARGET | grep -E "^$1(/|$)" | sort -r | while read -r m; do
		umount -l "$m" || true
	done || true
}

# clean_node NODE [quiet]: removes what a dead dockerd for NODE left behind, whoever
# started it (this clone or another, killed by SIGKILL or crashed): its
# containerd, container shims and container processes, mounts and state in
# the exec-root, the socket, the network namespace and veth, empty cgroups,
# and this clone's stale pid file. Dies when a live dockerd of another lab
# serves NODE. Never touches a process that is not verified, by pid and
# command line or by the node's own cgroup, to belong to NODE.
clean_node() {
	local n=$1 p c stale='' f pids
	if p=$(foreign_pid "$n"); then die "$(foreign_msg "$p" "$n")"; fi
	c=$(node_containerd "$n")
	if [ -n "$c" ]; then
		log "$n: stopping containerd pid $c left by a dead dockerd"
		kill_wait "$c" containerd 10
		stale=1
	fi
	# Shims and containers outlive a SIGKILLed daemon: shims are found by
	# their containerd address, containers by the node's cgroup parent.
	pids=$(for d in /proc/[0-9]*; do
		read -r c <"$d/comm" 2>/dev/null || continue
		[[ $c == containerd-shim* ]] || continue
		[[ " $(cmdline "${d#/proc/}")" == *" -address /run/benchrig-$n/containerd/"* ]] && echo "${d#/proc/}"
	done)
	pids+=" $({ cat /sys/fs/cgroup/benchrig-"$n"/*/cgroup.procs /sys/fs/cgroup/*/benchrig-"$n"/*/cgroup.procs 2>/dev/null || true; } | sort -u | tr '\n' ' ')"
	if [ -n "${pids// /}" ]; then
		log "$n: killing $(echo $pids | wc -w) shim and container process(es) left by a dead dockerd"
		kill -KILL $pids 2>/dev/null || true
		stale=1
	fi
	if [ -z "$stale" ] && [ -z "${2:-}" ] && { [ -e "/run/benchrig-$n" ] || [ -e "/run/netns/$n" ]; }; then
		log "$n: removing what a stopped lab left (exec-root, network namespace)"
	fi
	umount_under "/run/benchrig-$n"
	rm -rf --one-file-system "/run/benchrig-$n" "/run/benchrig-$n.sock"
	f=$lab/$n/dockerd.pid
	rm -f "$f"
	# A fresh namespace, so nothing a dead daemon created in it (bridges,
	# Swarm's interfaces) meets the next one. Deleting the namespace takes
	# its veth peer with it unless a leftover process still holds it: delete
	# the host end too.
	if [ -e "/run/netns/$n" ]; then ip netns delete "$n" || umount -l "/run/netns/$n" 2>/dev/null || true; rm -f "/run/netns/$n"; fi
	if ip link show "v$n" >/dev/null 2>&1; then ip link delete "v$n" || true; fi
	# Empty container cgroups; rmdir fails on a cgroup still in use.
	find /sys/fs/cgroup -maxdepth 3 -type d -name "benchrig-$n" 2>/dev/null | while read -r c; do
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

start_network() {
	if ! ip link show "$bridge" >/dev/null 2>&1; then
		ip link add "$bridge" type bridge
	fi
	# Output captured first: grep -q closing the pipe early fails `ip` with
	# SIGPIPE under pipefail.
	local addrs
	addrs=$(ip -4 -o addr show dev "$bridge")
	[[ $addrs == *" 10.99.0.1/24 "* ]] || ip addr add 10.99.0.1/24 dev "$bridge"
	ip link set "$bridge" up
	local n
	for n in "${nodes[@]}"; do
		[ -e "/run/netns/$n" ] || ip netns add "$n"
		if ! ip link show "v$n" >/dev/null 2>&1; then
			ip link add "v$n" type veth peer name eth0 netns "$n"
		fi
		addrs=$(ip -4 -o -n "$n" addr show dev eth0)
		[[ $addrs == *" $(node_ip "$n")/24 "* ]] || ip -n "$n" addr add "$(node_ip "$n")/24" dev eth0
		ip link set "v$n" master "$bridge" up
		ip -n "$n" link set lo up
		ip -n "$n" link set eth0 up
	done
}

declare -A starter
start_daemon() {
	local n=$1 d=$lab/$1 arch
	node_pid "$n" >/dev/null && return
	arch=$(node_arch "$n")
	mkdir -p "$d/data"
	log "starting dockerd on $n ($(node_ip "$n"), $arch)"
	# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: Swarm workers must not try a
	# pull first (no registry here). --shutdown-timeout=5: `down` waits at
	# most that long for containers left running (default 15 s).
	# setsid -w: $! lives exactly as long as dockerd, so wait_daemon sees a
	# daemon that died at start at once.
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid -w nsenter --net="/run/netns/$n" unshare --uts sh -c "hostname $n; exec dockerd \
		--data-root $d/data --exec-root /run/benchrig-$n --pidfile $d/dockerd.pid \
		-H unix:///run/benchrig-$n.sock -H $(node_host "$n") --tls=false \
		--storage-driver=overlay2 --iptables=false --bridge=none --shutdown-timeout=5 \
		--cgroup-parent=/benchrig-$n --label benchrig.node=$n --label benchrig.arch=$arch" \
		>"$d/dockerd.log" 2>&1 </dev/null &
	starter[$n]=$!
}

wait_daemon() {
	local n=$1 _ why
	why="does not answer at $(node_host "$1") after 60 s"
	for _ in $(seq 1 120); do
		ndocker "$n" version >/dev/null 2>&1 && return
		if [ -n "${starter[$n]:-}" ] && ! kill -0 "${starter[$n]}" 2>/dev/null; then
			why="exited at start"
			break
		fi
		sleep 0.5
	done
	echo "lab: dockerd on $n $why; the end of $lab/$n/dockerd.log:" >&2
	tail -n 20 "$lab/$n/dockerd.log" >&2 || true
	exit 1
}

load_images() {
	local n=$1 a want id old
	for a in $(node_images "$n"); do
		want=$(cat "$a.id")
		# Every tag must point at this build, else load (again).
		local ok=1 t
		old=()
		for t in $(tar -xOf "$a" manifest.json | sed 's/.*"RepoTags":\[\([^]]*\)\].*/\1/' | tr -d '"' | tr , ' '); do
			id=$(ndocker "$n" image inspect -f '{{.Id}}' "$t" 2>/dev/null || true)
			[ "$id" = "$want" ] && continue
			ok=
			[ -n "$id" ] && old+=("$id")
		done
		[ -n "$ok" ] && continue
		log "loading $(basename "$a") into $n"
		ndocker "$n" load -q -i "$a" >/dev/null
		# The builds the tags pointed at before, now untagged: remove them
		# (quietly kept while a container still uses one).
		[ ${#old[@]} -gt 0 ] && ndocker "$n" image rm $(printf '%s\n' "${old[@]}" | sort -u) >/dev/null 2>&1 || true
	done
}

# --- 4. verify, 5. pools file ---------------------------------------------------
verify() {
	local got
	got=$(ndocker lab1 run --rm --network none benchrig/busybox:amd64 uname -m)
	[ "$got" = x86_64 ] || die "lab1: uname -m in benchrig/busybox:amd64 printed $got, want x86_64"
	got=$(ndocker lab3 run --rm --platform linux/arm64 --network none benchrig/busybox:arm64 uname -m)
	[ "$got" = aarch64 ] || die "lab3: uname -m in benchrig/busybox:arm64 printed $got, want aarch64"
	got=$(ndocker lab3 image inspect -f '{{.Os}}/{{.Architecture}}' benchrig/busybox:arm64)
	[ "$got" = linux/arm64 ] || die "lab3: benchrig/busybox:arm64 says $got, want linux/arm64"
	if debian_arm64; then
		got=$(ndocker lab3 image inspect -f '{{.Os}}/{{.Architecture}}' benchrig/debian:arm64)
		[ "$got" = linux/arm64 ] || die "lab3: benchrig/debian:arm64 says $got, want linux/arm64"
	fi
	got=$(ndocker lab3 info -f '{{.Name}}')
	[ "$got" = lab3 ] || die "lab3: engine name is $got, want lab3 (the UTS namespace's hostname)"
}

write_pools() {
	local f=$root/.testenv/pools.yaml
	{
		echo "# Written by scripts/lab.sh up: the Docker test lab."
		echo "pools:"
		echo "  lab:"
		echo "    # Tests mount their data read-only from the host's temporary directory."
		echo "    policy: {host_mounts: [${TMPDIR:-/tmp}]}"
		echo "    nodes:"
		echo "      - name: lab1"
		echo "        host: $(node_host lab1)"
		echo "        max_trials: 2               # so tests see a node running two trials at once"
		echo "      - name: lab2"
		echo "        host: $(node_host lab2)"
		echo "      - name: lab3"
		echo "        host: $(node_host lab3)"
		echo "        arch: arm64                 # emulated by qemu-user: declared, the engine says x86_64"
		echo "        labels: {emulated: qemu}"
		echo "  swarm:"
		echo "    # The same three engines as one Swarm cluster (lab.sh swarm): lab1 is"
		echo "    # its manager, lab3 carries the node label benchrig.arch=arm64."
		echo "    policy: {host_mounts: [${TMPDIR:-/tmp}], profiler: true}"
		echo "    swarm:"
		echo "      manager: $(node_host lab1)"
		echo "      max_trials: 1"
		echo "      # A run's collectors: benchrig/collector:amd64 (this checkout's benchrig) on"
		echo "      # every node; each lab engine's socket is named after its node."
		echo "      collector: {image: benchrig/collector:amd64, docker_socket: '/run/benchrig-{{.Node.Hostname}}.sock'}"
	} >"$f.tmp"
	cmp -s "$f.tmp" "$f" 2>/dev/null && { rm -f "$f.tmp"; return; }
	mv "$f.tmp" "$f"
	log "wrote $f"
}

check_pools() {
	# The pools package validates the file; skip quietly when the CLI does
	# not build right now (other packages may be mid-change).
	if [ ! -x bin/benchrig ] || [ -n "$(find cmd pools -name '*.go' -newer bin/benchrig 2>/dev/null | head -1)" ]; then
		go build -o bin/benchrig ./cmd/benchrig 2>"$lab/build.err" || { log "warning: bin/benchrig does not build, pools file not checked ($lab/build.err)"; return; }
	fi
	bin/benchrig pool list --pools .testenv/pools.yaml >/dev/null || die ".testenv/pools.yaml is invalid"
}

up() {
	install_packages
	enable_binfmt
	build_images
	local n
	# A node not running as ours starts from a clean slate, whatever a dead
	# lab (this clone's or another's) left.
	for n in "${nodes[@]}"; do node_pid "$n" >/dev/null || clean_node "$n"; done
	mkdir -p "$lab"
	build_collector
	start_network
	for n in "${nodes[@]}"; do start_daemon "$n"; done
	for n in "${nodes[@]}"; do wait_daemon "$n"; load_images "$n"; done
	verify
	form_swarm
	write_pools
	check_pools
	log "ready: ${nodes[*]} ($(for n in "${nodes[@]}"; do printf '%s ' "$(node_host "$n")"; done | sed 's/ $//'))"
}

# --- 6. the swarm ------------------------------------------------------------------
# swarm_state NODE: the engine's LocalNodeState (inactive, active, ...).
swarm_state() { ndocker "$1" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# form_swarm: lab1 is the manager, lab2 and lab3 join as workers; lab3
# gets the node label that declares its emulated architecture (Swarm
# reports the engine's, x86_64). Idempotent: nodes already in lab1's swarm
# are left alone, one in another swarm leaves it first.
form_swarm() {
	local n token id ids
	if [ "$(swarm_state lab1)" != active ]; then
		log "forming the swarm: lab1 is the manager"
		ndocker lab1 swarm init --advertise-addr "$(node_ip lab1)" --listen-addr "$(node_ip lab1):2377" >/dev/null
	fi
	token=$(ndocker lab1 swarm join-token -q worker)
	ids=$(ndocker lab1 node ls -q | tr '\n' ' ')
	for n in lab2 lab3; do
		if [ "$(swarm_state "$n")" = active ]; then
			id=$(ndocker "$n" info -f '{{.Swarm.NodeID}}')
			case " $ids " in *" $id "*) continue ;; esac
			log "$n is in another swarm: leaving it"
			ndocker "$n" swarm leave -f >/dev/null
		fi
		log "$n joins the swarm"
		ndocker "$n" swarm join --token "$token" --advertise-addr "$(node_ip "$n")" --listen-addr "$(node_ip "$n"):2377" "$(node_ip lab1):2377" >/dev/null
	done
	# Nodes of earlier joins that are down for good (a wiped data root
	# joins as a new node) would stay listed: remove them.
	for id in $(ndocker lab1 node ls -q -f role=worker); do
		if [ "$(ndocker lab1 node inspect -f '{{.Status.State}}' "$id")" = down ]; then
			ndocker lab1 node rm -f "$id" >/dev/null 2>&1 || true
		fi
	done
	ndocker lab1 node update --label-add benchrig.arch=arm64 lab3 >/dev/null
	for _ in $(seq 1 60); do
		[ "$(ndocker lab1 node ls -f role=worker --format '{{.Status}}' | grep -c Ready)" -ge 2 ] && break
		sleep 0.5
	done
	[ "$(ndocker lab1 node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | grep -c 'Ready Active')" -eq 3 ] ||
		die "the swarm does not have 3 ready, active nodes: $(ndocker lab1 node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | tr '\n' ';')"
	log "swarm: lab1 (manager), lab2, lab3 (benchrig.arch=arm64)"
}

# --- down and status ------------------------------------------------------------
# stop_daemons NODE...: SIGTERM to every node's dockerd first, then wait for
# each, so stopping three nodes costs one daemon's shutdown time, not three.
# Only daemons this clone started (node_pid); clean_node handles the rest.
stop_daemons() {
	local n pid cpid pids=() cpids=()
	for n in "$@"; do
		pid=$(node_pid "$n") || continue
		# The daemon's own containerd normally exits with it; note its pid
		# now, while the pid file still exists.
		cpid=$(node_containerd "$n")
		[ -n "$cpid" ] && cpids+=("$cpid")
		# Containers left behind would each hold the daemon's shutdown
		# for their stop timeout (10 s) and would still be there at the
		# next `up`: remove them first.
		local left
		left=$(ndocker "$n" ps -aq 2>/dev/null || true)
		if [ -n "$left" ]; then
			log "$n: removing $(echo "$left" | wc -l) container(s) left behind"
			ndocker "$n" rm -f $left >/dev/null 2>&1 || true
		fi
		log "stopping dockerd on $n (pid $pid)"
		kill -TERM "$pid"
		pids+=("$pid")
	done
	# --shutdown-timeout=5 bounds how long dockerd waits for containers.
	for pid in ${pids[@]+"${pids[@]}"}; do kill_wait "$pid" dockerd 20; done
	for cpid in ${cpids[@]+"${cpids[@]}"}; do kill_wait "$cpid" containerd 10; done
}

down() {
	local n p kept=()
	stop_daemons "${nodes[@]}"
	# This clone's data roots stay mounted after a daemon died.
	umount_under "$lab"
	for n in "${nodes[@]}"; do
		if p=$(foreign_pid "$n"); then
			log "leaving $n alone: $(foreign_msg "$p" "$n")"
			kept+=("$n")
			continue
		fi
		clean_node "$n" quiet
	done
	if [ ${#kept[@]} -eq 0 ]; then
		ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge"
		log "down"
	else
		log "down, except ${kept[*]} (another lab's) and the bridge"
	fi
}

status() {
	local n pid
	ip link show "$bridge" >/dev/null 2>&1 && echo "bridge $bridge: up" || echo "bridge $bridge: absent"
	for n in "${nodes[@]}"; do
		if pid=$(node_pid "$n"); then
			if ndocker "$n" version -f '{{.Server.Version}}' >/dev/null 2>&1; then
				echo "$n: dockerd pid $pid at $(node_host "$n"), $(node_arch "$n"), rss $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status"), images: $(ndocker "$n" images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')"
			else
				echo "$n: dockerd pid $pid, not answering at $(node_host "$n")"
			fi
		else
			echo "$n: stopped$([ -e "/run/netns/$n" ] && echo ' (netns present)')"
		fi
	done
}

case "${1:-up}" in
up) up ;;
down) down ;;
status) status ;;
swarm)
	mkdir -p "$lab"
	build_collector
	for n in "${nodes[@]}"; do load_images "$n"; done
	form_swarm
	write_pools
	check_pools
	;;
images)
	install_packages
	enable_binfmt
	build_images
	;;
*) echo "usage: $0 up|down|status|swarm|images" >&2; exit 2 ;;
esac
