#!/usr/bin/env bash
# Series layer.
#   scripts/series.sh apply    git am patches/ (in series order) onto the base,
#                              as branch "series" of build/linux
#   scripts/series.sh export   regenerate patches/ (patches, series file and
#                              cover letter) from build/linux's base..series
#   scripts/series.sh check    apply into a scratch branch and export into a
#                              scratch dir: patches/ must round-trip unchanged
# SERIES=6.12 (make ... SERIES=6.12): the 6.12 series instead, patches/6.12/
# and build/linux-6.12 (scripts/base.sh 6.12).  Its cover letter is
# generated from config/cover-letter-6.12.txt if that exists; until then
# export keeps the hand-written patches/6.12/0000-cover-letter.patch.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
series=${SERIES:-6.1}
case $series in
6.1) repo=$top/build/linux; pdir=${PATCH_DIR:-$top/patches}; pin=$top/config/base-version ;;
[0-9]*.[0-9]*)
	repo=$top/build/linux-$series; pdir=${PATCH_DIR:-$top/patches/$series}
	pin=$top/config/base-version-$series ;;
*) echo "series: SERIES=$series: expected a version like 6.1 or 6.12" >&2; exit 2 ;;
esac
[ -f "$pin" ] || { echo "series: no ${pin#$top/}: Linux $series has no pinned base" >&2; exit 2; }
[ -d "$repo" ] || { echo "series: ${repo#$top/} missing (make base$([ "$series" = 6.1 ] || echo " SERIES=$series"))" >&2; exit 1; }
export SERIES=$series
g() { git -C "$repo" "$@"; }

# Patches listed in the series file, in order (quilt style: '#' comments);
# a name that is no .patch is skipped, saying so
listed() {
	local p
	for p in $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pdir/series"); do
		case $p in
		*.patch) echo "$p" ;;
		*) echo "series: ${pdir#$top/}/series lists '$p', which is no patch: skipped" >&2 ;;
		esac
	done
}

apply_to() { # branch
	local branch=$1 p
	g checkout -q -f -B "$branch" base
	for p in $(listed); do
		[ -f "$pdir/$p" ] || { echo "series: $p is listed in ${pdir#$top/}/series but missing" >&2; exit 1; }
		if ! g am -q "$pdir/$p" >/tmp/series-am.$$ 2>&1; then
			echo "series: patch $p does not apply to the base:" >&2
			grep -E 'error:|Patch failed' /tmp/series-am.$$ >&2 || cat /tmp/series-am.$$ >&2
			g am --abort
			rm -f /tmp/series-am.$$
			exit 1
		fi
	done
	rm -f /tmp/series-am.$$
	echo "series: $(listed | wc -l) patches applied onto base as branch '$branch' of ${repo#$top/}"
}

export_from() { # branch outdir
	local branch=$1 out=$2 n cover=
	n=$(g rev-list --count "base..$branch")
	mkdir -p "$out"
	# a hand-written cover letter (no config/cover-letter-<version>.txt) is kept
	if [ "$series" != 6.1 ] && [ ! -f "$top/config/cover-letter-$series.txt" ] &&
	   [ -f "$pdir/0000-cover-letter.patch" ]; then
		cover=$(mktemp); cp "$pdir/0000-cover-letter.patch" "$cover"
	fi
	rm -f "$out"/*.patch "$out/series"
	if [ "$n" -gt 0 ]; then
		g format-patch -q --zero-commit --no-signature -n --subject-prefix=PATCH \
			-o "$out" "base..$branch"
	fi
	{
		echo "# Series for Linux $(cat "$pin") (Debian linux-source-$series)."
		echo "# Apply with: make apply$([ "$series" = 6.1 ] || echo " SERIES=$series")   (git am, in this order, onto the base)"
		(cd "$out" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null | grep -v '^0000-cover-letter' || true)
	} > "$out/series"
	if [ -n "$cover" ]; then
		mv "$cover" "$out/0000-cover-letter.patch"
	else
		"$top/scripts/cover-letter.sh" "$branch" > "$out/0000-cover-letter.patch"
	fi
	echo "series: exported $n patches and a cover letter to ${out#$top/}/"
}

# What a branch holds, commit by commit: author, tree and message (so a
# difference in how the patches were formatted is no difference)
commits() { g log --reverse --format='%an <%ae>%n%T%n%B' "base..$1"; }

case ${1:-} in
apply)
	if g rev-parse -q --verify refs/heads/series >/dev/null && [ "${FORCE:-0}" != 1 ]; then
		# the patches applied in a scratch worktree: the tree's own working
		# copy is not touched unless the branch is to be replaced
		scratch=$(mktemp -d)
		trap 'g worktree remove -f "$scratch" 2>/dev/null; rm -rf "$scratch"; g worktree prune' EXIT
		g worktree add -q --detach "$scratch" base
		for p in $(listed 2>/dev/null); do
			git -C "$scratch" am -q "$pdir/$p" >/dev/null 2>&1 || { git -C "$scratch" am --abort 2>/dev/null; break; }
		done
		same=$([ "$(commits series)" = "$(commits "$(git -C "$scratch" rev-parse HEAD)")" ] && echo 1 || echo 0)
		g worktree remove -f "$scratch"; rm -rf "$scratch"; trap - EXIT
		if [ "$same" != 1 ]; then
			mk=$([ "$series" = 6.1 ] || echo " SERIES=$series")
			echo "series: ${repo#$top/} branch 'series' has work that is not in ${pdir#$top/}/:" >&2
			echo "series: run 'make export$mk' to keep it, or 'make apply$mk FORCE=1' to drop it" >&2
			exit 1
		fi
	fi
	apply_to series ;;
export)
	export_from series "$pdir" ;;
check)
	cur=$(g symbolic-ref -q --short HEAD || g rev-parse HEAD)
	trap 'g am --abort 2>/dev/null; g checkout -q -f "$cur"; g branch -q -D series-check 2>/dev/null' EXIT
	apply_to series-check >/dev/null
	tmp=$(mktemp -d)
	PATCH_DIR=$tmp export_from series-check "$tmp" >/dev/null
	g checkout -q -f "$cur"; g branch -q -D series-check; trap - EXIT
	# (patches/6.12/ is the 6.12 series, not this one)
	skip=(); [ "$series" != 6.1 ] || skip=(-x "6.*")
	if diff -ru "${skip[@]}" "$pdir" "$tmp"; then
		echo "series: apply -> export round-trips with no diff ($(listed | wc -l) patches)"
		rm -rf "$tmp"
	else
		rm -rf "$tmp"; echo "series: round-trip differs (above)" >&2; exit 1
	fi ;;
*) echo "usage: series.sh apply|export|check" >&2; exit 2 ;;
esac
