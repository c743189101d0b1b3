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
#
# shared/ENVIRONMENT.md explains the choices (nsenter --net rather than
# `ip netns exec`, --tls=false, hand-written docker-archives).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
here=$root/scripts/lab
lab=$root/.testenv/lab
images=$lab/images
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
node_pid() {
	# The pid from the pid file when that process is still a dockerd, so a
	# recycled pid is never mistaken for (or killed as) our daemon.
	local f=$lab/$1/dockerd.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
	# A killed daemon stays a zombie until reaped: not running.
	[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
	echo "$pid"
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
	cp "$images/rootfs-busybox-$arch/bin/busybox" "$images/busybox-$arch.bin"
	bash "$here/mkimage.sh" "$images/rootfs-busybox-$arch" "$arch" "$out" "benchrig/busybox:$arch" benchrig/busybox:latest
	echo "$key" >"$out.key"
	rm -rf "$images/dl-$arch" "$images/rootfs-busybox-$arch"
}

build_debian() {
	local out=$images/debian-amd64.tar key mirror pkgs=(grep findutils gzip mawk perl)
	# openbabel is large (~60 MB with its libraries) but the reference
	# benchmarks need it; LAB_OPENBABEL=0 leaves it out.
	[ "${LAB_OPENBABEL:-1}" = 1 ] && pkgs+=(openbabel)
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	key="bookworm minbase ${pkgs[*]} $(cat "$here/rootfs-debian.sh" "$here/mkimage.sh" | sha256sum | cut -c1-16)"
	if cached "$out" "$key"; then return; fi
	log "building benchrig/debian:amd64 (debootstrap minbase bookworm + ${pkgs[*]})"
	bash "$here/rootfs-debian.sh" "$images/rootfs-debian-amd64" "$mirror" "${pkgs[@]}"
	bash "$here/mkimage.sh" "$images/rootfs-debian-amd64" amd64 "$out" benchrig/debian:amd64 benchrig/debian:latest
	echo "$key" >"$out.key"
	rm -rf "$images/rootfs-debian-amd64"
}

declare -A bb_versions
build_images() {
	mkdir -p "$images"
	# One apt-cache call for both architectures: without a kept pkgcache.bin
	# each call costs about a second.
	local a v
	while read -r a v; do bb_versions[$a]=$v; done < <(apt-cache policy busybox-static:amd64 busybox-static:arm64 |
		awk -v native="$(dpkg --print-architecture)" \
		'/^busybox-static/ {sub(":$", ""); n = split($1, p, ":"); a = n > 1 ? p[2] : native} /Candidate:/ {print a, $2}')
	build_busybox amd64
	build_busybox arm64
	[ "$("$images/busybox-arm64.bin" uname -m)" = aarch64 ] || die "an arm64 static binary does not run under qemu-user (binfmt_misc)"
	build_debian
}

node_images() { # the archives a node holds: its own architecture only
	if [ "$(node_arch "$1")" = arm64 ]; then echo "$images/busybox-arm64.tar"; else echo "$images/busybox-amd64.tar $images/debian-amd64.tar"; fi
}

# --- 3. network and daemons ----------------------------------------------------
start_network() {
	if ! ip link show "$bridge" >/dev/null 2>&1; then
		ip link add "$bridge" type bridge
		ip addr add 10.99.0.1/24 dev "$bridge"
	fi
	ip link set "$bridge" up
	local n
	for n in "${nodes[@]}"; do
		[ -e "/run/netns/$n" ] || ip netns add "$n"
		if ! ip link show "v$n" >/dev/null 2>&1; then
			ip link add "v$n" type veth peer name eth0 netns "$n"
			ip -n "$n" addr add "$(node_ip "$n")/24" dev eth0
		fi
		ip link set "v$n" master "$bridge" up
		ip -n "$n" link set lo up
		ip -n "$n" link set eth0 up
	done
}

start_daemon() {
	local n=$1 d=$lab/$1 arch
	node_pid "$n" >/dev/null && return
	arch=$(node_arch "$n")
	mkdir -p "$d/data"
	log "starting dockerd on $n ($(node_ip "$n"), $arch)"
	# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: Swarm workers must not try a
	# pull first (no registry here). --shutdown-timeout=5: `down` waits at
	# most that long for containers left running (default 15 s).
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nsenter --net="/run/netns/$n" unshare --uts sh -c "hostname $n; exec dockerd \
		--data-root $d/data --exec-root /run/benchrig-$n --pidfile $d/dockerd.pid \
		-H unix:///run/benchrig-$n.sock -H $(node_host "$n") --tls=false \
		--storage-driver=overlay2 --iptables=false --bridge=none --shutdown-timeout=5 \
		--cgroup-parent=/benchrig-$n --label benchrig.node=$n --label benchrig.arch=$arch" \
		>"$d/dockerd.log" 2>&1 </dev/null &
}

wait_daemon() {
	local n=$1 i
	for i in $(seq 1 120); do
		ndocker "$n" version >/dev/null 2>&1 && return
		sleep 0.5
	done
	echo "lab: dockerd on $n does not answer at $(node_host "$n") after 60 s; the end of $lab/$n/dockerd.log:" >&2
	tail -n 20 "$lab/$n/dockerd.log" >&2 || true
	exit 1
}

load_images() {
	local n=$1 a want
	for a in $(node_images "$n"); do
		want=$(cat "$a.id")
		# Every tag must point at this build, else load (again).
		local ok=1 t
		for t in $(tar -xOf "$a" manifest.json | sed 's/.*"RepoTags":\[\([^]]*\)\].*/\1/' | tr -d '"' | tr , ' '); do
			[ "$(ndocker "$n" image inspect -f '{{.Id}}' "$t" 2>/dev/null)" = "$want" ] || ok=
		done
		[ -n "$ok" ] && continue
		log "loading $(basename "$a") into $n"
		ndocker "$n" load -q -i "$a" >/dev/null
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
	got=$(ndocker lab3 info -f '{{.Name}}')
	[ "$got" = lab3 ] || die "lab3: engine name is $got, want lab3 (the UTS namespace's hostname)"
}

write_pools() {
	local f=$root/.testenv/pools.yaml
	{
		echo "# Written by scripts/lab.sh up: the Docker test lab."
		echo "pools:"
		echo "  lab:"
		echo "    nodes:"
		echo "      - name: lab1"
		echo "        host: $(node_host lab1)"
		echo "      - name: lab2"
		echo "        host: $(node_host lab2)"
		echo "      - name: lab3"
		echo "        host: $(node_host lab3)"
		echo "        arch: arm64                 # emulated by qemu-user: declared, the engine says x86_64"
		echo "        labels: {emulated: qemu}"
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
	start_network
	local n
	for n in "${nodes[@]}"; do start_daemon "$n"; done
	for n in "${nodes[@]}"; do wait_daemon "$n"; load_images "$n"; done
	verify
	write_pools
	check_pools
	log "ready: ${nodes[*]} ($(for n in "${nodes[@]}"; do printf '%s ' "$(node_host "$n")"; done | sed 's/ $//'))"
}

# --- down and status ------------------------------------------------------------
# stop_daemons NODE...: SIGTERM to every node's dockerd first, then wait for
# each, so stopping three nodes costs one daemon's shutdown time, not three.
stop_daemons() {
	local n pid cpid i pids=() cpids=()
	for n in "$@"; do
		# The daemon's own containerd normally exits with it; note its pid
		# now, while the pid file still exists.
		cpid=$(cat "/run/benchrig-$n/containerd/containerd.pid" 2>/dev/null || true)
		[ -n "$cpid" ] && cpids+=("$cpid")
		if pid=$(node_pid "$n"); then
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
		fi
	done
	for pid in ${pids[@]+"${pids[@]}"}; do
		# --shutdown-timeout=5 bounds how long it waits for containers.
		for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
		if [ -d "/proc/$pid" ]; then
			log "dockerd pid $pid ignored SIGTERM for 20 s: SIGKILL"
			kill -KILL "$pid" || true
		fi
	done
	for cpid in ${cpids[@]+"${cpids[@]}"}; do
		if [ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = containerd ]; then
			kill -TERM "$cpid" || true
			for i in $(seq 1 50); do [ -d "/proc/$cpid" ] || break; sleep 0.2; done
		fi
	done
	for n in "$@"; do rm -f "$lab/$n/dockerd.pid" "/run/benchrig-$n.sock"; done
}

down() {
	local n m
	stop_daemons "${nodes[@]}"
	# Mounts a dead daemon (or debootstrap) left behind, deepest first.
	findmnt -rn -o TARGET | grep -E "^($lab/|/run/benchrig-lab[0-9]+(/|$))" | sort -r | while read -r m; do
		umount -l "$m" || true
	done || true
	for n in "${nodes[@]}"; do
		rm -rf "/run/benchrig-$n"
		[ -e "/run/netns/$n" ] && ip netns delete "$n" # takes its veth peer with it
		ip link show "v$n" >/dev/null 2>&1 && ip link delete "v$n"
		rmdir /sys/fs/cgroup/*/"benchrig-$n" 2>/dev/null || true
	done
	ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge"
	log "down"
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
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
