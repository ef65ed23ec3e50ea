#!/usr/bin/env bash
# Build layer: build one test kernel.
#   scripts/build.sh KERNEL[-gcov] [--arch x86_64|arm64|riscv] [--no-selftests]
#                    [--selftests NAME,...] [--config FRAGMENT] [--out NAME]
# KERNEL: base or series (Linux 6.1, build/linux), 6.12-base or 6.12-series
# (Linux 6.12, build/linux-6.12; scripts/base.sh 6.12, SERIES=6.12
# scripts/series.sh apply).
# The tree built is the base (tag "base") or the series (branch "series")
# plus the test-only patches, checked out into its own worktree,
# build/kernel-<KERNEL>[-arm64|-riscv] (build/kernel-<NAME> with --out), and built
# in place with ccache (scripts/kbuild.sh).  Test-only patches: 6.1:
# config/test-only/*.patch and config/test-only/<base|series>/*.patch for
# one kernel only; 6.12: config/test-only/6.12/*.patch and
# config/test-only/6.12/<base|series>/*.patch.  Both kinds of a version
# have the same layout, so ccache shares every object the series does not
# change.  Config: tinyconfig plus config/kvm-test.config (x86_64),
# config/arm64-test.config or config/riscv-test.config, then for 6.12
# config/kvm-test-6.12.config
# (arm64-test-6.12.config) if it exists, and --config's fragment on top
# (e.g. config/torture.config, with --out torture).  A fragment may bring
# test-only patches of its own: config/test-only/<fragment's name>/*.patch
# (6.12: config/test-only/6.12/<name>/), applied to its kernels only.
# KERNEL-gcov (base-gcov, series-gcov: make coverage) is KERNEL with
# --config config/gcov.config --out KERNEL-gcov: gcov for KVM's modules
# (config/test-only/gcov/), in build/kernel-KERNEL-gcov.
# Outputs land in build/out/<kind>[-arm64|-riscv]/ (or build/out/<NAME>/):
#   x86_64: bzImage vmlinux System.map .config kvm.ko kvm-amd.ko kvm-intel.ko
#           irqbypass.ko wb_virt.ko commit selftests/
#   arm64:  Image vmlinux System.map .config commit selftests/ (KVM is built in)
#   riscv:  Image vmlinux System.map .config commit (KVM is built in; make
#           riscv builds it with --no-selftests)
# selftests/ is laid out as the selftests' "make install" would have it:
# run_kselftest.sh, kselftest/, kselftest-list.txt and kvm/ with the tests
# that built (BUILT names those that did not).
set -euo pipefail
kind=${1:?usage: build.sh base|series|6.12-base|6.12-series|KERNEL-gcov [--arch x86_64|arm64|riscv] [--no-selftests] [--config FRAGMENT --out NAME]}
shift
target=x86_64 selftests=1 only= extra= outname=
while [ $# -gt 0 ]; do
	case $1 in
	--arch) target=$2; shift 2 ;;
	--no-selftests) selftests=0; shift ;;
	# only these KVM selftests (make check-6.12: cpu_hotplug_test), not all
	--selftests) only=$2; shift 2 ;;
	--config) extra=$2; shift 2 ;;
	--out) outname=$2; shift 2 ;;
	*) echo "build: unknown option $1" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kbuild.sh"
case $kind in
*-gcov) outname=${outname:-$kind} extra=${extra:-config/gcov.config} kind=${kind%-gcov} ;;
esac
case $kind in
base|series) ver=6.1 rev=$kind repo=$top/build/linux testonly_dir=$top/config/test-only ;;
[0-9]*.[0-9]*-base|[0-9]*.[0-9]*-series)
	ver=${kind%-*} rev=${kind##*-} repo=$top/build/linux-${kind%-*}
	testonly_dir=$top/config/test-only/${kind%-*} ;;
*) echo "build: unknown kernel '$kind' (base, series, 6.12-base, 6.12-series)" >&2; exit 2 ;;
esac
# kconfig's "added by the series" exception looks in this version's series
export KB_REPO=$repo
suffix=$([ "$target" = x86_64 ] || echo "-$target")
# another config (--out) gets a worktree of its own: switching one tree
# between configs would rebuild everything each time
wt=$top/build/kernel-${outname:-$kind$suffix}
out=$top/build/out/${outname:-$kind$suffix}
case $target in
x86_64) fragment=$top/config/kvm-test.config ;;
arm64) fragment=$top/config/arm64-test.config ;;
riscv) fragment=$top/config/riscv-test.config ;;
*) echo "build: no test config for $target" >&2; exit 2 ;;
esac
# a newer kernel's own values, layered on the 6.1 fragment
fragments=("$fragment")
[ "$ver" = 6.1 ] || [ ! -f "${fragment%.config}-$ver.config" ] || fragments+=("${fragment%.config}-$ver.config")
t0=$(date +%s)

mk_series=$([ "$ver" = 6.1 ] || echo " SERIES=$ver")
git -C "$repo" rev-parse -q --verify "$rev^{commit}" >/dev/null ||
	{ echo "build: $repo has no '$rev' (run 'make base$mk_series' / 'make apply$mk_series')" >&2; exit 1; }

# The commit to build: $rev plus the test-only patches, made in a scratch
# index so no worktree is touched unless its content really changes.
commit=$(git -C "$repo" rev-parse "$rev^{commit}")
shopt -s nullglob
testonly=("$testonly_dir"/*.patch "$testonly_dir/$rev"/*.patch)
# the fragment's own (config/gcov.config: config/test-only/gcov/*.patch)
[ -z "$extra" ] || testonly+=("$testonly_dir/$(basename "$extra" .config)"/*.patch)
if [ ${#testonly[@]} -gt 0 ]; then
	idx=$(mktemp); trap 'rm -f "$idx"' EXIT
	GIT_INDEX_FILE=$idx git -C "$repo" read-tree "$commit"
	for p in "${testonly[@]}"; do
		GIT_INDEX_FILE=$idx git -C "$repo" apply --cached "$p" ||
			{ echo "build: test-only patch ${p#$top/} does not apply to $kind" >&2; exit 1; }
	done
	tree=$(GIT_INDEX_FILE=$idx git -C "$repo" write-tree)
	commit=$(git -C "$repo" commit-tree "$tree" -p "$commit" -m "test-only patches for the $kind test kernel")
fi
if [ -d "$wt" ] && [ ! -e "$wt/.git" ]; then
	echo "build: ${wt#$top/} exists but is no worktree of ${repo#$top/}: move it away" >&2; exit 1
fi
if [ ! -d "$wt" ]; then
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$wt" "$commit"
else
	git -C "$wt" checkout -q -f --detach "$commit"
fi

kconfig "$wt" "$target" "${fragments[@]}" ${extra:+"$top/$extra"}
echo "build: $kind ($target${extra:+, $extra}): kernel and modules (make -j$kb_jobs, ccache)"
mkdir -p "$out"
if [ "$target" = x86_64 ]; then
	kmake "$wt" "$target" bzImage modules
	cp "$wt/arch/x86/boot/bzImage" "$wt"/virt/lib/irqbypass.ko "$wt"/arch/x86/kvm/kvm.ko \
		"$wt"/arch/x86/kvm/kvm-amd.ko "$wt"/arch/x86/kvm/kvm-intel.ko "$out/"
	# and any other module KVM's directory builds (6.12 series: its KUnit suites)
	find "$wt/arch/x86/kvm" -name '*.ko' ! -name kvm.ko ! -name kvm-amd.ko ! -name kvm-intel.ko \
		-exec cp {} "$out/" \;
	# the test helper module (guest/virt/, never part of the series): each
	# CPU's VMX/SVM state in debugfs
	cp -r "$top/guest/virt" "$out/virt"
	kmake "$wt" "$target" M="$out/virt" modules >/dev/null
	cp "$out/virt/wb_virt.ko" "$out/"; rm -rf "$out/virt"
else
	kmake "$wt" "$target" Image
	cp "$wt/arch/$target/boot/Image" "$out/"
fi
# vmlinux (with line information) for scripts/decode_stacktrace.sh
cp "$wt/vmlinux" "$wt/.config" "$wt/System.map" "$out/"
git -C "$wt" log -1 --format='%H %s' > "$out/commit"
echo "build: $kind ($target): kernel done in $(($(date +%s) - t0))s"

if [ $selftests = 1 ]; then
	t1=$(date +%s)
	kmake "$wt" "$target" headers >/dev/null
	sd=$wt/tools/testing/selftests
	read -r arch cross < <(kb_arch "$target"); [ "$cross" = - ] && cross=
	# As a top-level make: under "make check" MAKELEVEL is 1, and 6.1's
	# selftests lib.mk then leaves OUTPUT empty and writes into / .  -k:
	# build what builds (steal_time does not on 6.1, base and series), which
	# is why the selftests' own "install" (all or nothing) is not used; its
	# list of tests ("make emit_tests") and runner are.
	# 6.1.192's aarch64/vgic_init.c includes <linux/bitfield.h>, which 6.1's
	# tools/include lacks (a stable backport without its header): give it
	# the kernel's own from an extra include directory
	shim=$top/build/selftests-shim
	mkdir -p "$shim/linux"; cp "$wt/include/linux/bitfield.h" "$shim/linux/"
	# (as make names them: $(OUTPUT)/NAME, OUTPUT the directory's physical path)
	targets=(); for t in ${only//,/ }; do targets+=("$(cd "$sd/kvm" && pwd -P)/$t"); done
	env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -C "$sd/kvm" -k -j"$kb_jobs" \
		ARCH="$arch" ${cross:+CROSS_COMPILE=$cross} CC="ccache ${cross}gcc" \
		$([ "$target" = arm64 ] && echo "EXTRA_CFLAGS=-I$shim") "${targets[@]}" \
		>"$out/selftests-build.log" 2>&1 || true
	st=$out/selftests
	rm -rf "$st"; mkdir -p "$st/kselftest" "$st/kvm"
	install -m 744 "$sd/run_kselftest.sh" "$st/"
	install -m 744 "$sd/kselftest/runner.sh" "$sd/kselftest/prefix.pl" "$sd/kselftest/module.sh" "$st/kselftest/"
	cp "$sd/kvm/settings" "$st/kvm/"
	: > "$st/kselftest-list.txt"; : > "$st/BUILT"
	for t in $(env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s -C "$sd/kvm" ARCH="$arch" COLLECTION=kvm emit_tests 2>/dev/null |
			sed -n 's/^kvm://p'); do
		[ -z "$only" ] || [[ ",$only," == *",$t,"* ]] || continue
		f=$(find "$sd/kvm" -name "$t" -type f -perm -u+x -print -quit)
		if [ -n "$f" ]; then
			cp "$f" "$st/kvm/$t"; echo "kvm:$t" >> "$st/kselftest-list.txt"; echo "$t built" >> "$st/BUILT"
		else
			echo "$t did-not-build" >> "$st/BUILT"
		fi
	done
	echo "build: $kind ($target): selftests: $(grep -c ' built$' "$st/BUILT") built," \
		"$(grep -c did-not-build "$st/BUILT" || true) did not build ($(($(date +%s) - t1))s)"
fi
echo "build: $kind ($target): outputs in ${out#$top/}/ ($(($(date +%s) - t0))s)"
