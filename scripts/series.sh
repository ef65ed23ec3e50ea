#!/usr/bin/env bash
# Series layer.
#   scripts/series.sh apply    git am patches/ (in series order) onto the base,
#                              as branch "series" of build/linux
#   scripts/series.sh export   regenerate patches/ (patches, series file and
#                              cover letter) from build/linux's base..series
#   scripts/series.sh check    apply into a scratch branch and export into a
#                              scratch dir: patches/ must round-trip unchanged
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
repo=$top/build/linux
pdir=${PATCH_DIR:-$top/patches}
g() { git -C "$repo" "$@"; }

# Patches listed in the series file, in order (quilt style: '#' comments).
listed() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pdir/series"; }

apply_to() { # branch
	local branch=$1 p
	g checkout -q -f -B "$branch" base
	for p in $(listed); do
		[ -f "$pdir/$p" ] || { echo "series: $p is listed in patches/series but missing" >&2; exit 1; }
		if ! g am -q "$pdir/$p" >/tmp/series-am.$$ 2>&1; then
			echo "series: patch $p does not apply to the base:" >&2
			grep -E 'error:|Patch failed' /tmp/series-am.$$ >&2 || cat /tmp/series-am.$$ >&2
			g am --abort
			rm -f /tmp/series-am.$$
			exit 1
		fi
	done
	rm -f /tmp/series-am.$$
	echo "series: $(listed | wc -l) patches applied onto base as branch '$branch' of build/linux"
}

export_from() { # branch outdir
	local branch=$1 out=$2 n
	n=$(g rev-list --count "base..$branch")
	mkdir -p "$out"
	rm -f "$out"/*.patch "$out/series"
	if [ "$n" -gt 0 ]; then
		g format-patch -q --zero-commit --no-signature -n --subject-prefix=PATCH \
			-o "$out" "base..$branch"
	fi
	{
		echo "# Series for Linux $(cat "$top/config/base-version") (Debian linux-source-6.1)."
		echo "# Apply with: make apply   (git am, in this order, onto the base)"
		(cd "$out" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null | grep -v '^0000-cover-letter' || true)
	} > "$out/series"
	"$top/scripts/cover-letter.sh" "$branch" > "$out/0000-cover-letter.patch"
	echo "series: exported $n patches and a cover letter to ${out#$top/}/"
}

case ${1:-} in
apply)
	if g rev-parse -q --verify refs/heads/series >/dev/null && [ "${FORCE:-0}" != 1 ]; then
		tmp=$(mktemp -d)
		PATCH_DIR=$tmp export_from series "$tmp" >/dev/null
		if ! diff -rq -x "6.*" "$tmp" "$pdir" >/dev/null 2>&1; then
			rm -rf "$tmp"
			echo "series: build/linux branch 'series' has work that is not in patches/:" >&2
			echo "series: run 'make export' to keep it, or 'make apply FORCE=1' to drop it" >&2
			exit 1
		fi
		rm -rf "$tmp"
	fi
	apply_to series ;;
export)
	export_from series "$pdir" ;;
check)
	cur=$(g symbolic-ref -q --short HEAD || g rev-parse HEAD)
	apply_to series-check >/dev/null
	tmp=$(mktemp -d)
	PATCH_DIR=$tmp export_from series-check "$tmp" >/dev/null
	g checkout -q -f "$cur"; g branch -q -D series-check
	if diff -ru -x "6.*" "$pdir" "$tmp"; then  # (patches/6.12/: the 6.12 series, not this one)
		echo "series: apply -> export round-trips with no diff ($(listed | wc -l) patches)"
		rm -rf "$tmp"
	else
		rm -rf "$tmp"; echo "series: round-trip differs (above)" >&2; exit 1
	fi ;;
*) echo "usage: series.sh apply|export|check" >&2; exit 2 ;;
esac
