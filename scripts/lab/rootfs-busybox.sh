#!/usr/bin/env bash
# Builds a busybox root filesystem in DIR from a busybox-static .deb: the
# static binary plus a symlink per applet, at the paths busybox itself lists
# (--list-full), and the few files a container expects. For a foreign
# architecture busybox runs under qemu-user via binfmt_misc to list its
# applets, so binfmt must be enabled first.
#
# usage: rootfs-busybox.sh DEB DIR
set -euo pipefail
deb=$1 dir=$2
rm -rf "$dir"
mkdir -p "$dir"
dpkg-deb -x "$deb" "$dir"
bb=$dir/bin/busybox
[ -x "$bb" ] || { echo "rootfs-busybox.sh: no bin/busybox in $deb" >&2; exit 1; }
"$bb" --list-full | while read -r p; do
	[ -e "$dir/$p" ] || [ -L "$dir/$p" ] && continue
	mkdir -p "$dir/$(dirname "$p")"
	ln -s /bin/busybox "$dir/$p"
done
rm -rf "$dir/usr/share/doc" "$dir/usr/share/man"
mkdir -p "$dir"/{etc,root,tmp,proc,sys,dev,var/tmp}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
echo 'root:x:0:' >"$dir/etc/group"
