#!/usr/bin/env bash
# Build layer: build one kernel ("base" or "series") with the test config.
#   scripts/build.sh base|series [--no-selftests]
# The tree built is the base (tag "base") or the series (branch "series" in
# build/linux) plus the test-only patches in config/test-only/, checked out
# into its own worktree build/kernel-<kind> and built in place with ccache.
# Both worktrees have the same layout, so ccache shares every object the
# series does not change.  Outputs land in build/out/<kind>/.
set -euo pipefail
kind=${1:?usage: build.sh base|series [--no-selftests]}
selftests=1; [ "${2:-}" = --no-selftests ] && selftests=0
top=$(cd "$(dirname "$0")/.." && pwd)
repo=$top/build/linux
wt=$top/build/kernel-$kind
out=$top/build/out/$kind
jobs=${JOBS:-$(($(nproc) + 1))}
t0=$(date +%s)

case $kind in
base) rev=base ;;
series) rev=series ;;
*) echo "build: unknown kernel '$kind'" >&2; exit 2 ;;
esac
git -C "$repo" rev-parse -q --verify "$rev^{commit}" >/dev/null ||
	{ echo "build: $repo has no '$rev' (run 'make base' / 'make apply')" >&2; exit 1; }

# The commit to build: $rev plus the test-only patches, made in a scratch
# index so no worktree is touched unless its content really changes.
commit=$(git -C "$repo" rev-parse "$rev^{commit}")
shopt -s nullglob
testonly=("$top"/config/test-only/*.patch)
if [ ${#testonly[@]} -gt 0 ]; then
	idx=$(mktemp); trap 'rm -f "$idx"' EXIT
	GIT_INDEX_FILE=$idx git -C "$repo" read-tree "$commit"
	for p in "${testonly[@]}"; do
		GIT_INDEX_FILE=$idx git -C "$repo" apply --cached "$p" ||
			{ echo "build: test-only patch $(basename "$p") does not apply to $kind" >&2; exit 1; }
	done
	tree=$(GIT_INDEX_FILE=$idx git -C "$repo" write-tree)
	commit=$(git -C "$repo" commit-tree "$tree" -p "$commit" -m "test-only patches for the $kind test kernel")
fi

if [ ! -d "$wt" ]; then
	git -C "$repo" worktree add -q --detach "$wt" "$commit"
else
	git -C "$wt" checkout -q --detach "$commit"
fi

export CCACHE_BASEDIR=$top/build CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros
export KBUILD_BUILD_TIMESTAMP="2023-01-01" KBUILD_BUILD_USER=kvm-hotplug KBUILD_BUILD_HOST=workbench
mk() { make -C "$wt" -s ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs" "$@"; }

# Config: tinyconfig + our fragment, then check every requested option.
mk tinyconfig >/dev/null 2>&1
"$wt"/scripts/kconfig/merge_config.sh -m -O "$wt" "$wt/.config" "$top/config/kvm-test.config" >/dev/null
mk olddefconfig >/dev/null
bad=0
while IFS= read -r line; do
	case $line in CONFIG_*=y|CONFIG_*=m) ;; *) continue ;; esac
	grep -qx "$line" "$wt/.config" && continue
	sym=${line%%=*}
	if [ "$kind" = base ] && ! grep -rqsx "config ${sym#CONFIG_}" --include='Kconfig*' "$wt"; then
		echo "build: $sym is added by the series, not in the base: skipped"
		continue
	fi
	echo "build: $line requested but .config has: $(grep "^$sym=\|# $sym " "$wt/.config" || echo unset)"
	bad=1
done < "$top/config/kvm-test.config"
while IFS= read -r line; do
	case $line in CONFIG_*=n) ;; *) continue ;; esac
	grep -q "^${line%%=*}=" "$wt/.config" && { echo "build: $line requested but it is set"; bad=1; }
done < "$top/config/kvm-test.config"
[ $bad = 0 ] || { echo "build: config check failed" >&2; exit 1; }

echo "build: $kind: kernel and modules (make -j$jobs, ccache)"
mk bzImage modules
mkdir -p "$out"
cp "$wt/arch/x86/boot/bzImage" "$wt/.config" "$wt/System.map" "$out/"
cp "$wt"/virt/lib/irqbypass.ko "$wt"/arch/x86/kvm/kvm.ko "$wt"/arch/x86/kvm/kvm-amd.ko "$wt"/arch/x86/kvm/kvm-intel.ko "$out/"
# A test helper module (guest/cr4/, never part of the series) for the Bochs
# lane: it shows each CPU's CR4, so the guest can see whether VMX is on.
rm -rf "$out/cr4"; cp -r "$top/guest/cr4" "$out/cr4"
mk M="$out/cr4" modules >/dev/null
cp "$out/cr4/wb_cr4.ko" "$out/"
git -C "$wt" log -1 --format='%H %s' > "$out/commit"
echo "build: $kind: kernel done in $(($(date +%s) - t0))s"

if [ $selftests = 1 ]; then
	t1=$(date +%s)
	mk headers >/dev/null
	rm -rf "$out/selftests"; mkdir -p "$out/selftests"
	# Build what builds; the log names what does not.
	# As a top-level make: under "make check" MAKELEVEL is 1, and 6.1's
	# selftests lib.mk then leaves OUTPUT empty and writes into / .
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS \
		make -C "$wt/tools/testing/selftests/kvm" -k -j"$jobs" CC="ccache gcc" \
		>"$out/selftests-build.log" 2>&1 || true
	sd=$wt/tools/testing/selftests/kvm
	for t in $(sed -n 's/^TEST_GEN_PROGS_x86_64 +\?= //p' "$sd/Makefile"); do
		if [ -x "$sd/$t" ]; then cp "$sd/$t" "$out/selftests/$(basename "$t")"; echo "$t built"
		else echo "$t did-not-build"; fi
	done > "$out/selftests/BUILT"
	echo "build: $kind: selftests: $(grep -c ' built$' "$out/selftests/BUILT") built, $(grep -c did-not-build "$out/selftests/BUILT") did not build ($(($(date +%s) - t1))s)"
fi
echo "build: $kind: outputs in ${out#$top/}/ ($(($(date +%s) - t0))s)"
