#!/usr/bin/env bash
# Writes a docker-archive (the format `docker save` writes and `docker load`
# reads) holding one image of one layer: the root filesystem ROOTFS, with an
# image config that declares ARCH. `docker import` would record the host's
# architecture whatever --platform says, and no registry is reachable, so
# writing the archive ourselves is the simple way to get an arm64 image whose
# metadata says arm64.
#
# usage: mkimage.sh ROOTFS ARCH OUT.tar TAG...
# Also writes OUT.tar.id holding the image ID (sha256 of the config), which
# lab.sh compares with `docker image inspect` to skip loads already done.
set -euo pipefail
rootfs=$1 arch=$2 out=$3
shift 3
[ $# -gt 0 ] || { echo "mkimage.sh: no tag given" >&2; exit 2; }
work=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

# /dev, /proc and /sys are mounted by the runtime; debootstrap leaves device
# nodes in /dev that a layer does not need. Sorted names make the layer (and
# so the image ID) depend only on the files.
tar --sort=name --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
	-C "$rootfs" -cf "$work/layer.tar" .
diff=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$diff"
mv "$work/layer.tar" "$work/$diff/layer.tar"
echo 1.0 >"$work/$diff/VERSION"

variant=
[ "$arch" = arm64 ] && variant='"variant":"v8",'
created=1970-01-01T00:00:00Z
printf '{"architecture":"%s",%s"os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"benchrig scripts/lab/mkimage.sh"}]}' \
	"$arch" "$variant" "$created" "$diff" "$created" >"$work/config.json"
cfg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$cfg.json"

tags=
for t in "$@"; do tags+="${tags:+,}\"$t\""; done
printf '[{"Config":"%s.json","RepoTags":[%s],"Layers":["%s/layer.tar"]}]' "$cfg" "$tags" "$diff" >"$work/manifest.json"

tar -C "$work" -cf "$out.tmp" manifest.json "$cfg.json" "$diff"
mv "$out.tmp" "$out"
echo "sha256:$cfg" >"$out.id"
