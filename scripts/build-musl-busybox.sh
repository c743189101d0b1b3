#!/usr/bin/env bash
# Builds an Alpine-like busybox: Debian bookworm's busybox source, compiled
# with musl-gcc, static, with only the grep applets (grep, egrep, fgrep).
# This is the seed experiments' slow grep (busybox in an Alpine container):
# Debian's own busybox-static links glibc and uses glibc's regex, so it is
# not a stand-in for it.
#
# usage: scripts/build-musl-busybox.sh [OUTDIR]   (default .testenv/bin)
#
# Installs OUTDIR/busybox-musl (run as `busybox-musl grep ...`) and records
# how it was built in OUTDIR/busybox-musl.txt. Cached: when the recorded
# stamp (source hashes, patches, config, flags, compiler) matches, it exits
# at once and prints nothing. Sources and built binaries are also kept per
# machine in ${BENCHRIG_CACHE:-/var/cache/benchrig}/busybox-musl (by stamp),
# so a fresh clone copies the binary instead of building it. Needs musl-tools, curl, bzip2, xz-utils, patch,
# file, make and gcc (scripts/testenv.sh installs them).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
outdir=${1:-$root/.testenv/bin}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd -P)
bin=$outdir/busybox-musl
info=$outdir/busybox-musl.txt
work=$root/.testenv/build/busybox-musl
cache=${BENCHRIG_CACHE:-/var/cache/benchrig}/busybox-musl

# The version apt shows for busybox on bookworm (1:1.35.0-4+deb12u1+b1; the
# +b1 is a binary rebuild, the source is 1.35.0-4+deb12u1). Hashes from the
# signed .dsc.
upstream=1.35.0
debrev=4+deb12u1
pool=http://deb.debian.org/debian/pool/main/b/busybox
orig=busybox_${upstream}.orig.tar.bz2
orig_sha256=faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694
debtar=busybox_${upstream}-${debrev}.debian.tar.xz
debtar_sha256=1cacbe095ef4880ea7879933c8e3c5075d1527cd6fbcb626a9b41e5daefd1a46

# Options set on top of `make allnoconfig` (NAME=n: not set). The grep
# applets and their context option (-A/-B/-C) as Alpine's busyboxconfig has
# them, plus the general settings Alpine enables that reach grep's code: long
# options, setlocale() at start (musl's regex then runs multibyte in a UTF-8
# locale, as in an Alpine container) and Unicode with Alpine's limits.
# EXTRA_COMPAT stays off as in Alpine: it switches grep to glibc's
# re_search(), which musl lacks. allnoconfig picks ash for the `sh` choice;
# SH_IS_NONE keeps the shell out. STATIC because the binary must run outside
# an Alpine root (Alpine links busybox dynamically, PIE). Every other option
# keeps its allnoconfig value.
config=(
	STATIC=y
	BUSYBOX=y
	LONG_OPTS=y
	LOCALE_SUPPORT=y
	UNICODE_SUPPORT=y
	UNICODE_USING_LOCALE=y
	SUBST_WCHAR=63
	LAST_SUPPORTED_WCHAR=1114111
	GREP=y
	EGREP=y
	FGREP=y
	FEATURE_GREP_CONTEXT=y
	EXTRA_COMPAT=n
	FEATURE_CLEAN_UP=n
	SH_IS_NONE=y
	SH_IS_ASH=n
	SHELL_ASH=n
)
# busybox's own default is -Os (as Alpine's build); nothing added.
extra_cflags=""

die() {
	echo "build-musl-busybox: $*" >&2
	exit 1
}

command -v musl-gcc >/dev/null 2>&1 ||
	die "musl-gcc not found: install musl-tools (scripts/testenv.sh does)"

compiler="musl-gcc (gcc $(gcc -dumpfullversion), musl $(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown))"
stamp=$(printf '%s\n' "$orig_sha256" "$debtar_sha256" "${config[*]}" \
	"$extra_cflags" "$compiler" "patches:all-that-apply" | sha256sum | cut -c1-16)

if [ -x "$bin" ] && [ -f "$info" ] && grep -qx "stamp: $stamp" "$info"; then
	exit 0
fi

# One build at a time per machine (the cache is shared by every clone); the
# loser of the race finds the winner's binary and stops.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$bin" ] && [ -f "$info" ] && grep -qx "stamp: $stamp" "$info"; then
	exit 0
fi
# Built before, by any clone on this machine: install that one.
built_dir=$cache/$stamp
install_from() { # DIR: copy DIR's binary and record into OUTDIR, atomically each
	cp "$1/busybox-musl" "$bin.tmp"
	mv "$bin.tmp" "$bin"
	sed "1s|.*|# $bin: how it was built (scripts/build-musl-busybox.sh)|" "$1/busybox-musl.txt" >"$info.tmp"
	mv "$info.tmp" "$info"
}
if [ -x "$built_dir/busybox-musl" ] && [ -f "$built_dir/busybox-musl.txt" ] &&
	grep -qx "stamp: $stamp" "$built_dir/busybox-musl.txt"; then
	install_from "$built_dir"
	exit 0
fi

start=$(date +%s)
fetch() { # name sha256
	local f=$cache/$1
	if [ -f "$f" ] && echo "$2  $f" | sha256sum -c --status; then
		return
	fi
	curl -fsSL --retry 3 -o "$f.part" "$pool/$1" || die "download $pool/$1 failed"
	echo "$2  $f.part" | sha256sum -c --status ||
		die "$1: sha256 $(sha256sum "$f.part" | cut -d' ' -f1), want $2"
	mv "$f.part" "$f"
}
fetch "$orig" "$orig_sha256"
fetch "$debtar" "$debtar_sha256"

rm -rf "$work"
mkdir -p "$work"
log=$work/build.log
src=$work/busybox-$upstream
tar -xjf "$cache/$orig" -C "$work"
tar -xJf "$cache/$debtar" -C "$src"

# Debian's patches, in series order; a patch that does not apply is skipped
# and named in the record rather than failing the build.
applied=() skipped=()
while read -r p _; do
	case "$p" in '' | '#'*) continue ;; esac
	if patch -d "$src" -p1 -s -f --dry-run <"$src/debian/patches/$p" >>"$log" 2>&1; then
		patch -d "$src" -p1 -s -f <"$src/debian/patches/$p" >>"$log" 2>&1
		applied+=("$p")
	else
		skipped+=("$p")
	fi
done <"$src/debian/patches/series"

# musl-gcc searches only musl's headers; libbb (compiled whole, linked by
# need) includes a few kernel headers, so expose those and nothing else of
# glibc's include tree.
kinc=$work/kernel-include
mkdir -p "$kinc"
[ -d /usr/include/linux ] || die "kernel headers missing: install linux-libc-dev"
for d in linux asm-generic mtd; do
	if [ -d /usr/include/$d ]; then ln -sfn /usr/include/$d "$kinc/$d"; fi
done
ln -sfn "/usr/include/$(gcc -dumpmachine)/asm" "$kinc/asm"

run() { # run a build step, its output to the log; show the log's tail on failure
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "failed: $* (full log: $log)"
	fi
}

mk=(make -C "$src" CC=musl-gcc HOSTCC=gcc BB_EXTRA_VERSION="Debian $upstream-$debrev, musl")
run "${mk[@]}" allnoconfig
cfg=$src/.config
for kv in "${config[@]}"; do
	o=${kv%%=*}
	sed -i -e "/^CONFIG_$o=/d" -e "/^# CONFIG_$o is not set/d" "$cfg"
	case "$kv" in
	*=n) echo "# CONFIG_$o is not set" ;;
	*) echo "CONFIG_$kv" ;;
	esac >>"$cfg"
done
sed -i -e '/^CONFIG_EXTRA_CFLAGS=/d' "$cfg"
echo "CONFIG_EXTRA_CFLAGS=\"${extra_cflags:+$extra_cflags }-isystem $kinc\"" >>"$cfg"
# oldconfig settles dependencies; at end of input every newly visible option
# takes its default. Then check nothing asked for was dropped.
run "${mk[@]}" oldconfig </dev/null
for kv in "${config[@]}"; do
	o=${kv%%=*}
	case "$kv" in
	*=n) ! grep -q "^CONFIG_$o=" "$cfg" || die "CONFIG_$o is set, want it off" ;;
	*) grep -qx "CONFIG_$kv" "$cfg" || die "CONFIG_$o is not $kv in the resolved config (a dependency is missing)" ;;
	esac
done
run "${mk[@]}" -j"$(nproc)" busybox

built=$src/busybox
# Verify before installing: static, and greps like GNU grep.
ftype=$(file -b "$built")
case "$ftype" in
*"statically linked"*) ;;
*) die "not statically linked: $ftype" ;;
esac
applets=$("$built" --list | tr '\n' ' ')
[ "$applets" = "egrep fgrep grep " ] || die "unexpected applets: $applets"

sample=$work/sample.txt
for i in $(seq 1 400); do
	printf '%d\tCC(=O)Nc1ccc(O)cc1\n%d\tc1ccccc1Cl\n%d\tCN1C=NC2=C1C(=O)N(C(=O)N2C)C\n%d\tOC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O\n%d\t[Na+].[Cl-]\n%d\tBrC(Br)CL%d\n' \
		$((6 * i)) $((6 * i + 1)) $((6 * i + 2)) $((6 * i + 3)) $((6 * i + 4)) $((6 * i + 5)) "$i"
done >"$sample"
check() { # label, then grep arguments
	local label=$1 want got
	shift
	want=$(LC_ALL=C grep "$@" "$sample") || true
	got=$(LC_ALL=C "$built" grep "$@" "$sample") || true
	[ "$want" = "$got" ] || die "grep $label differs from GNU grep: want $(head -c 80 <<<"$want"), got $(head -c 80 <<<"$got")"
	[ -n "$want" ] || die "grep $label: empty output, the check proves nothing"
}
check "-c -F" -c -F 'C(=O)N'
check "-c" -c C
check "-c -i" -c -i 'cl'
check "-i" -i 'br'
check "-c -E" -c -E 'N[0-9]|Br'
check "-E" -E '^[0-9]+5	.*(Cl|Br)'
check "-c [class]" -c '[[:digit:]][[:digit:]][[:digit:]]	'
check "-c [range]" -c '[@+]'
check "-v -c" -v -c 'c1'
[ "$(LC_ALL=C "$built" egrep -c 'Na|Br' "$sample")" = "$(LC_ALL=C grep -c -E 'Na|Br' "$sample")" ] ||
	die "egrep differs from grep -E"
[ "$(LC_ALL=C "$built" fgrep -c '[Na+]' "$sample")" = "$(LC_ALL=C grep -c -F '[Na+]' "$sample")" ] ||
	die "fgrep differs from grep -F"

cp "$built" "$bin.tmp"
mv "$bin.tmp" "$bin"
{
	echo "# $bin: how it was built (scripts/build-musl-busybox.sh)"
	echo "stamp: $stamp"
	echo "version: $("$bin" 2>&1 | head -n1)"
	echo "source: Debian busybox $upstream-$debrev ($pool)"
	echo "source sha256: $orig_sha256  $orig"
	echo "source sha256: $debtar_sha256  $debtar"
	echo "debian patches applied: ${applied[*]:-none}"
	echo "debian patches skipped (do not apply): ${skipped[*]:-none}"
	echo "compiler: $compiler"
	echo "cflags: busybox default (-Os)${extra_cflags:+ $extra_cflags}"
	echo "config: make allnoconfig, then: ${config[*]}"
	echo "config result (enabled): $(sed -n 's/^CONFIG_\([A-Z0-9_]*\)=y$/\1/p' "$cfg" | tr '\n' ' ')"
	echo "applets: $applets"
	echo "file: $ftype"
	echo "sha256: $(sha256sum "$bin" | cut -d' ' -f1)"
	echo "verified: grep -c -F, -c, -i, -E, character classes, -v, egrep, fgrep match GNU grep (LC_ALL=C)"
} >"$info.tmp"
mv "$info.tmp" "$info"
# Into the machine cache: a directory filled aside and renamed into place.
rm -rf "$built_dir.tmp"
mkdir -p "$built_dir.tmp"
cp "$bin" "$info" "$built_dir.tmp/"
rm -rf "$built_dir"
mv "$built_dir.tmp" "$built_dir"
echo "build-musl-busybox: built $bin in $(($(date +%s) - start))s"
