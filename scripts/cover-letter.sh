#!/usr/bin/env bash
# Cover letter for the series: the hand-written text in config/cover-letter.txt
# (first line = subject) followed by generated parts - the per-patch list, the
# diffstat against the base and scripts/get_maintainer.pl's answer - so the
# letter cannot go stale.  Called by "series.sh export"; prints to stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# SERIES=6.12: build/linux-6.12 and config/cover-letter-6.12.txt
series=${SERIES:-6.1}
if [ "$series" = 6.1 ]; then
	repo=$top/build/linux text=$top/config/cover-letter.txt pin=$top/config/base-version
else
	repo=$top/build/linux-$series text=$top/config/cover-letter-$series.txt pin=$top/config/base-version-$series
fi
branch=${1:-series}
g() { git -C "$repo" "$@"; }
n=$(g rev-list --count "base..$branch")
subject=$(head -1 "$text")
width=${#n}; [ "$width" -lt 2 ] && width=2
printf 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
printf 'From: KVM Hotplug Project <kvm-hotplug@project.invalid>\n'
printf 'Subject: [PATCH %0*d/%d] %s\n\n' "$width" 0 "$n" "$subject"
tail -n +2 "$text" | sed '1{/^$/d}'
printf '\nBase: Linux %s as shipped in Debian'"'"'s linux-source-%s package.\n\n' "$(cat "$pin")" "$series"
g shortlog --no-merges "base..$branch" | sed 's/^ *\(.*\)$/\1/'
echo
g diff --stat=72 "base..$branch" | sed 's/^ //'
echo
echo "scripts/get_maintainer.pl --no-git --no-rolestats over the series:"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ "$n" -gt 0 ]; then
	g format-patch -q -o "$tmp" "base..$branch"
	(cd "$repo" && git show "$branch:scripts/get_maintainer.pl" > "$tmp/gm.pl" &&
	 perl "$tmp/gm.pl" --no-git --no-git-fallback --no-rolestats --no-tree "$tmp"/*.patch 2>/dev/null | sed 's/^/  /') || echo "  (get_maintainer.pl failed)"
fi
echo
echo "-- "
