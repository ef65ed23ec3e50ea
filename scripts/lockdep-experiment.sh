#!/usr/bin/env bash
# Throwaway experiment (not part of make check): put kvm_usage_count back
# under kvm_lock, as the original design of this rework had it, rebuild
# kvm.ko (scripts/experiment-lib.sh: a worktree of its own,
# build/variants/lockdep-exp), and run the lock-chain boot on it and on the
# series.  The judge (scripts/report.py summary over build/lockdep-exp/ and
# its plan) passes the series' boot with no report, and the variant's only
# if lockdep reports the cycle.
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
# Where the series nests kvm_usage_lock inside kvm_lock (vm_list changes),
# the variant takes kvm_lock once; everywhere else kvm_lock replaces it.
f=virt/kvm/kvm_main.c
make_variant() {
	variant lockdep-exp \
		$f '/^\tmutex_lock(&kvm_lock);$/{n;/^\tmutex_lock(&kvm_usage_lock);$/d}' \
		$f '/^\tmutex_unlock(&kvm_usage_lock);$/{N;s/^\tmutex_unlock(&kvm_usage_lock);\n\(\tmutex_unlock(&kvm_lock);\)$/\1/}' \
		$f 's/mutex_lock(&kvm_usage_lock)/mutex_lock(\&kvm_lock)/g' \
		$f 's/mutex_unlock(&kvm_usage_lock)/mutex_unlock(\&kvm_lock)/g'
}
# the cycle lockdep printed
for_people() {
	local c=$RES/variant/lockdep/console.log
	grep -A3 "is trying to acquire lock" "$c" | head -4
	grep -E -- "-> #[0-9]" "$c" | head -6
}
experiment lockdep-exp lockdep 'possible circular locking dependency detected' series make_variant
