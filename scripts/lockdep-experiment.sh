#!/usr/bin/env bash
# Throwaway experiment (not part of make check): put kvm_usage_count back
# under kvm_lock, as the original design of this rework had it, rebuild
# kvm.ko (scripts/experiment-lib.sh: a worktree of its own,
# build/variants/lockdep-exp), and run the lock-chain boot on it and on the
# series.  The judge (scripts/report.py summary over build/lockdep-exp/ and
# its plan) passes the series' boot with no report, and the variant's only
# if lockdep reports the cycle (scenarios.py run --must-fail).
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
results "$top/build/lockdep-exp"
plan series lockdep boots
plan checks build-lockdep-exp build-lockdep-exp
plan variant lockdep build-lockdep-exp
plan_write
echo "== series"
run_boot series series lockdep
echo "== variant: kvm_usage_count under kvm_lock"
if stage build-lockdep-exp make_variant; then
	grep '^[-+][^-+]' "$RES/checks/build-lockdep-exp/output.txt" | head -20
	run_boot series variant lockdep --out "$top/build/out/lockdep-exp" \
		--must-fail 'possible circular locking dependency detected'
	# for people: the cycle lockdep printed
	c=$RES/variant/lockdep/console.log
	grep -A3 "is trying to acquire lock" "$c" | head -4
	grep -E -- "-> #[0-9]" "$c" | head -6
else
	tail -5 "$RES/checks/build-lockdep-exp/output.txt"
fi
echo "== the judge"
summary
