#!/usr/bin/env bash
# Throwaway experiment (not part of make check): put kvm_usage_count back
# under kvm_lock, as the original design of this rework had it, rebuild
# kvm.ko from the series worktree, and run the lock-chain boot on it.
# (scripts/experiment-lib.sh does the edit, build, restore and boots.)
# Lockdep must report the cycle; on the series as it is, it must not.
set -euo pipefail
. "$(dirname "$0")/experiment-lib.sh"
# Where the series nests kvm_usage_lock inside kvm_lock (vm_list changes),
# the variant takes kvm_lock once; everywhere else kvm_lock replaces it.
f=virt/kvm/kvm_main.c
variant lockdep-exp \
	$f '/^\tmutex_lock(&kvm_lock);$/{n;/^\tmutex_lock(&kvm_usage_lock);$/d}' \
	$f '/^\tmutex_unlock(&kvm_usage_lock);$/{N;s/^\tmutex_unlock(&kvm_usage_lock);\n\(\tmutex_unlock(&kvm_lock);\)$/\1/}' \
	$f 's/mutex_lock(&kvm_usage_lock)/mutex_lock(\&kvm_lock)/g' \
	$f 's/mutex_unlock(&kvm_usage_lock)/mutex_unlock(\&kvm_lock)/g'
boot_both lockdep lockdep-exp
r=$top/build/lockdep-exp
for k in series variant; do
	echo "== $k: splats on the console:"
	python3 "$top/scripts/report.py" scan "$r/$k/series/lockdep/console.log" || true
done
if python3 "$top/scripts/report.py" scan "$r/series/series/lockdep/console.log" >/dev/null &&
   grep -q "possible circular locking dependency detected" "$r/variant/series/lockdep/console.log"; then
	echo "experiment: as expected, no report on the series and a lock cycle with kvm_lock"
	grep -A3 "is trying to acquire lock" "$r/variant/series/lockdep/console.log" | head -4
	grep -E -- "-> #[0-9]" "$r/variant/series/lockdep/console.log" | head -6
else
	echo "experiment: UNEXPECTED (see $r/*/series/lockdep/console.log)"
	exit 1
fi
