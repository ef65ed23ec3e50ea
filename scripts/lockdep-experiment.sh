#!/usr/bin/env bash
# Throwaway experiment (not part of make check): put kvm_usage_count back
# under kvm_lock, as the original design of this rework had it, rebuild
# kvm.ko from the series worktree, and run the lock-chain boot on it.
# Lockdep must report the cycle; on the series as it is, it must not.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
wt=$top/build/kernel-series
out=$top/build/out/lockdep-exp
[ -f "$top/build/out/series/bzImage" ] || { echo "build the series first (make build)"; exit 1; }
f=$wt/virt/kvm/kvm_main.c
trap 'git -C "$wt" checkout -q -- virt/kvm/kvm_main.c' EXIT
sed -i -e 's/mutex_lock(&kvm_usage_lock)/mutex_lock(\&kvm_lock)/' \
       -e 's/mutex_unlock(&kvm_usage_lock)/mutex_unlock(\&kvm_lock)/' \
       -e 's/lockdep_assert_not_held(&kvm_usage_lock)/lockdep_assert_not_held(\&kvm_lock)/' "$f"
git -C "$wt" diff --stat
# the same make invocation as scripts/build.sh, so nothing else is rebuilt
export CCACHE_BASEDIR=$top/build CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros
export KBUILD_BUILD_TIMESTAMP="2023-01-01" KBUILD_BUILD_USER=kvm-hotplug KBUILD_BUILD_HOST=workbench
make -C "$wt" -s ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" -j"$(($(nproc) + 1))" modules
rm -rf "$out"; mkdir -p "$out"
cp "$top/build/out/series/bzImage" "$wt/virt/lib/irqbypass.ko" "$wt"/arch/x86/kvm/kvm*.ko "$out/"
for k in series lockdep-exp; do
	python3 "$top/scripts/boot.py" --kernel "$k" --name lockdep --script guest/boots/lockdep.sh \
		--smp 2 --maxcpus 2 --timeout 300 --results "$top/build/lockdep-exp" --quiet
	echo "== $k: splats on the console:"
	python3 "$top/scripts/report.py" scan "$top/build/lockdep-exp/$k/lockdep/console.log" || true
done
