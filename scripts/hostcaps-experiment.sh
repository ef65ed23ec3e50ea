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
# its guest takes the #PF with error code 0x9, P and RSVD.
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
# what each guest's 1 GiB page run said
for_people() {
	local l
	for l in base series variant; do
		printf '%-8s %s\n' "$l:" "$(grep -h 'kvmtest: gbpages' "$RES/$l/hostcaps/console.log" 2>/dev/null |
			sed 's/^.*kvmtest: //' | tail -1)"
	done
}
experiment hostcaps-exp hostcaps \
	'^a new 64-bit guest still reads through a 1 GiB page \(the guest took #PF, error code 0x9\)' \
	"base series" make_variant
