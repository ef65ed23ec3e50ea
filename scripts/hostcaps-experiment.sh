#!/usr/bin/env bash
# Throwaway experiment (not part of make check): patch 30 (KVM tests host
# features against kvm_host_caps, the copy of boot_cpu_data taken when the
# vendor module set KVM up) against 6.1 and against the series without it.
# The hostcaps boot (guest/boots/hostcaps.sh) refuses a hot-added CPU
# without SVM and without 1 GiB pages, then runs a guest whose OUTSB KVM
# emulates through a 1 GiB page.  The variant puts every kvm_host_has() of
# patch 30 back to boot_cpu_has() (scripts/experiment-lib.sh: a worktree of
# its own, build/variants/hostcaps-exp; kvm.ko, kvm-amd.ko, kvm-intel.ko
# rebuilt).  The judge (scripts/report.py summary over build/hostcaps-exp/
# and its plan) passes the base's boot with the old failure (its xfail in
# config/scenarios.toml), the series' with none, and the variant's only if
# its guest takes the #PF with error code 0x9, P and RSVD (scenarios.py
# run --must-fail).
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
make_variant() {
	local args=() f
	for f in cpuid.c mmu/mmu.c svm/nested.c svm/sev.c svm/svm.c x86.c \
			vmx/capabilities.h vmx/nested.c vmx/pmu_intel.c vmx/sgx.c vmx/vmx.c; do
		args+=("arch/x86/kvm/$f" 's/kvm_host_has(/boot_cpu_has(/g')
	done
	variant hostcaps-exp "${args[@]}"
}
results "$top/build/hostcaps-exp"
plan base hostcaps boots
plan series hostcaps boots
plan checks build-hostcaps-exp build-hostcaps-exp
plan variant hostcaps build-hostcaps-exp
plan_write
echo "== base (6.1)"
run_boot base base hostcaps
echo "== series"
run_boot series series hostcaps
echo "== variant: the series without patch 30 (boot_cpu_has() again)"
if stage build-hostcaps-exp make_variant; then
	grep -c '^-.*kvm_host_has(' "$RES/checks/build-hostcaps-exp/output.txt" |
		sed 's/$/ lines with kvm_host_has() put back to boot_cpu_has()/'
	run_boot series variant hostcaps --out "$top/build/out/hostcaps-exp" \
		--must-fail '^a new 64-bit guest still reads through a 1 GiB page \(the guest took #PF, error code 0x9\)'
else
	tail -5 "$RES/checks/build-hostcaps-exp/output.txt"
fi
echo "== what each guest saw (for people)"
for l in base series variant; do
	printf '%-8s %s\n' "$l:" "$(grep -h 'kvmtest: gbpages' "$RES/$l/hostcaps/console.log" 2>/dev/null |
		sed 's/^.*kvmtest: //' | tail -1)"
done
echo "== the judge"
summary
