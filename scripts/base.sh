#!/usr/bin/env bash
# Base layer: unpack Debian's linux-source-<version> into a git repository
# whose first commit is the pristine base, tagged "base".
#
#   scripts/base.sh          Linux 6.1:  /usr/src/linux-source-6.1.tar.xz
#                            into build/linux, pinned in config/base-version
#   scripts/base.sh 6.12     Linux 6.12: /usr/src/linux-source-6.12.tar.xz
#                            into build/linux-6.12, pinned in
#                            config/base-version-6.12
#
# Idempotent: an existing tree whose base matches the tarball is kept.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
series=${1:-6.1}
case $series in
6.1)
	tree=$top/build/linux
	pin=$top/config/base-version
	;;
[0-9]*.[0-9]*)
	tree=$top/build/linux-$series
	pin=$top/config/base-version-$series
	;;
*)
	echo "base: usage: $0 [VERSION]   (VERSION like 6.1 or 6.12; default 6.1)" >&2
	exit 2
	;;
esac
tarball=${BASE_TARBALL:-/usr/src/linux-source-$series.tar.xz}
[ -f "$pin" ] || { echo "base: $pin missing: no base pinned for Linux $series" >&2; exit 1; }
want=$(cat "$pin")

[ -f "$tarball" ] || { echo "base: $tarball missing: run 'make deps'" >&2; exit 1; }

if git -C "$tree" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	echo "base: $tree already holds the base ($(git -C "$tree" show -s --format=%s base))"
	exit 0
fi

rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
echo "base: unpacking $tarball"
tar -C "$tree.tmp" --strip-components=1 -xJf "$tarball"
ver=$(awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} END{print v"."p"."s}' "$tree.tmp/Makefile")
pkg=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null || echo unknown)
if [ "$ver" != "$want" ]; then
	echo "base: NOTE: apt served Linux $ver (package $pkg), ${pin#"$top"/} says $want;"
	echo "base: NOTE: carrying on - the series is checked by applying it."
fi
cd "$tree.tmp"
git init -q -b base-branch
git config user.name "KVM Hotplug Project"
git config user.email "kvm-hotplug@project.invalid"
git config core.abbrev 12
git config gc.auto 0
git add -A -f .
git commit -q -m "Linux $ver from Debian linux-source-$series $pkg (pristine base)"
git tag base
cd "$top"
mv "$tree.tmp" "$tree"
echo "base: Linux $ver (Debian $pkg) committed and tagged 'base' in $tree"
