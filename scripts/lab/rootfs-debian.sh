#!/usr/bin/env bash
# Builds a Debian bookworm minbase root filesystem for ARCH in DIR with the
# tools the reference benchmarks use (GNU grep, findutils, gzip, mawk, perl
# and any extra packages given), then drops apt's caches so the image stays
# small. A foreign ARCH (arm64 on an amd64 host) is bootstrapped in two
# stages: debootstrap --foreign unpacks on the host, the second stage runs
# inside the tree under qemu-user (binfmt_misc with the F flag, so no qemu
# binary is copied into the tree).
#
# usage: rootfs-debian.sh DIR MIRROR ARCH PKG...
set -euo pipefail
dir=$1 mirror=$2 arch=$3
shift 3
include=$(IFS=,; echo "$*")
# debootstrap mounts /proc and /sys inside the target; leave none behind
# even when it fails half way.
cleanup() {
	findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r m; do umount -l "$m" || true; done || true
}
trap 'rc=$?; cleanup; exit $rc' EXIT
fail() {
	tail -n 20 "$dir.log" >&2
	echo "rootfs-debian.sh: $1 failed (log: $dir.log)" >&2
	exit 1
}
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	debootstrap --variant=minbase --include="$include" bookworm "$dir" "$mirror" >"$dir.log" 2>&1 || fail debootstrap
else
	debootstrap --variant=minbase --arch="$arch" --foreign --include="$include" bookworm "$dir" "$mirror" >"$dir.log" 2>&1 ||
		fail "debootstrap --foreign"
	LC_ALL=C chroot "$dir" /debootstrap/debootstrap --second-stage >>"$dir.log" 2>&1 || fail "debootstrap --second-stage (under qemu-user)"
fi
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
