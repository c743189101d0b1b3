#!/usr/bin/env bash
# Builds a Debian bookworm minbase root filesystem in DIR with the tools the
# reference benchmarks use (GNU grep, findutils, gzip, mawk, perl and any
# extra packages given), then drops apt's caches so the image stays small.
#
# usage: rootfs-debian.sh DIR MIRROR PKG...
set -euo pipefail
dir=$1 mirror=$2
shift 2
include=$(IFS=,; echo "$*")
# debootstrap mounts /proc and /sys inside the target; leave none behind
# even when it fails half way.
cleanup() {
	findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r m; do umount -l "$m" || true; done || true
}
trap 'rc=$?; cleanup; exit $rc' EXIT
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
if ! debootstrap --variant=minbase --include="$include" bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
	tail -n 20 "$dir.log" >&2
	echo "rootfs-debian.sh: debootstrap failed (log: $dir.log)" >&2
	exit 1
fi
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
