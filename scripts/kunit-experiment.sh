#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does every case of kvm.ko's
# KUnit suites (kvm-x86-cr4-compat, kvm-x86-svm-compat, kvm-x86-vmx-compat)
# catch a broken decision?  Four variants of the series' kvm.ko, each with
# a few deliberate mistakes in different functions (the CR4 check in x86.c,
# the SVM and VMX decisions in cpu_compat.h), are built and loaded (the
# registry's "kunit" boot).  The series must pass every case; each variant
# must fail the cases listed for it; and every case must fail in at least
# one variant, so that no case is one that cannot fail.
set -euo pipefail
. "$(dirname "$0")/experiment-lib.sh"
x86=arch/x86/kvm/x86.c
h=arch/x86/kvm/cpu_compat.h
suites="kvm-x86-cr4-compat kvm-x86-svm-compat kvm-x86-vmx-compat"

# variant name: the mistakes (file, sed) and the cases that must fail
declare -A expect
make_a() { # no CR4 bit is ever missing; SVM: every CPU usable, no feature missing; VMX: v1's rule
	variant kunit-a \
		$x86 's/^\treturn required & kvm_cr4_cpuid_reserved_bits(c);$/\treturn 0;/' \
		$h '/^static inline const char \*kvm_svm_cpu_problem(/,/^{$/s/^{$/{\n\tif (f)\n\t\treturn NULL;/' \
		$h 's/^\treturn used & ~edx;$/\treturn 0;/' \
		$h 's/^\tif (f->kernel_vmx)$/\tif (f->kernel_vmx \&\& (f->feat_ctl \& FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))/'
}
expect[kunit-a]="cr4_lacks_la57 cr4_lacks_smep cr4_lacks_pku cr4_lacks_umip cr4_lacks_vmx cr4_lacks_several
	svm_not_amd svm_absent svm_vm_cr_unreadable svm_disabled_by_firmware
	svm_lacks_npt svm_lacks_nrips svm_lacks_several vmx_tboot_inside_smx_only"
make_b() { # CR4: the reference CPU ignored; SVM: VM_CR.LOCK taken for SVMDIS, choices unmasked; VMX: every CPU usable
	variant kunit-b \
		$x86 's/^\treturn ~guest_reserved & ~kvm_cr4_cpuid_reserved_bits(ref);$/\treturn ~guest_reserved;/' \
		$h 's/^\tif (f->vm_cr & BIT_ULL(SVM_VM_CR_SVM_DISABLE))$/\tif (f->vm_cr \& (BIT_ULL(SVM_VM_CR_SVM_DISABLE) | SVM_VM_CR_SVM_LOCK_MASK))/' \
		$h 's/^\treturn used & l->features;$/\treturn used;/' \
		$h '/^static inline const char \*kvm_vmx_cpu_problem(/,/^{$/s/^{$/{\n\tif (f)\n\t\treturn NULL;/'
}
expect[kunit-b]="cr4_identical_cpus cr4_emulated_umip svm_usable svm_features_same_cpu svm_feature_chosen_but_absent
	vmx_absent vmx_feat_ctl_unreadable vmx_outside_smx_disabled vmx_tboot_inside_smx_disabled
	vmx_unlocked vmx_disabled_by_kernel"
make_c() { # CR4: what guests may not use required anyway, names wrong; SVM: choices ignored; VMX: the kernel's decision ignored
	variant kunit-c \
		$x86 's/^\treturn ~guest_reserved & ~kvm_cr4_cpuid_reserved_bits(ref);$/\treturn ~kvm_cr4_cpuid_reserved_bits(ref) \& ~CR4_RESERVED_BITS;/' \
		$x86 's/"%s%sbit%d",$/"%s%s#%d",/' \
		$h 's/^\tif (l->\(npt\|vgif\))$/\tif (l)/' \
		$h '/^\tif (f->kernel_vmx)$/{N;d}'
}
expect[kunit-c]="cr4_not_offered_to_guests cr4_names svm_feature_not_used vmx_usable"
make_d() { # CR4 and SVM: a CPU with more features than needed taken for a lesser one
	variant kunit-d \
		$x86 's/^\treturn required & kvm_cr4_cpuid_reserved_bits(c);$/\treturn required ^ (~kvm_cr4_cpuid_reserved_bits(c) \& ~CR4_RESERVED_BITS);/' \
		$h 's/^\treturn used & ~edx;$/\treturn used ^ edx;/'
}
expect[kunit-d]="cr4_extra_features svm_extra_features"

# the cases each run failed: "[FAILED] name" in kunit.py's output
failed_cases() { # results dir
	cat "$1"/kunit-*.txt 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' |
		sed -n 's/.*\[FAILED\] \([a-z0-9_]*\)$/\1/p' | grep -v -- '-compat$' | sort -u
}
all_cases() { # results dir: every case kunit.py saw
	cat "$1"/kunit-*.txt | sed 's/\x1b\[[0-9;]*m//g' |
		sed -n 's/.*\[\(PASSED\|FAILED\)\] \([a-z0-9_]*\)$/\2/p' | grep -v -- '-compat$' | sort -u
}

bad=0
r=$top/build/kunit-exp
rm -rf "$r"
python3 "$top/scripts/scenarios.py" run series kunit --results "$r/series" --quiet || true
for s in $suites; do echo "== series: $(grep "kunit $s" "$r/series/series/kunit/tap.txt")"; done
grep -q "^not ok" "$r/series/series/kunit/tap.txt" && { echo "experiment: the series fails its own suites"; bad=1; }
all_cases "$r/series/series/kunit" > "$r/all"
echo "== $(wc -l < "$r/all") cases on the series"
: > "$r/caught"
for v in kunit-a kunit-b kunit-c kunit-d; do
	"make_${v#kunit-}"
	python3 "$top/scripts/scenarios.py" run series kunit --out "$top/build/out/$v" \
		--results "$r/$v" --quiet || true
	failed_cases "$r/$v/series/kunit" > "$r/$v.failed"
	failed_cases "$r/$v/series/kunit" >> "$r/caught"
	echo "== $v: failed: $(tr '\n' ' ' < "$r/$v.failed")"
	for c in ${expect[$v]}; do
		grep -qx "$c" "$r/$v.failed" || { echo "experiment: $v: $c did not fail"; bad=1; }
	done
	python3 "$top/scripts/report.py" scan "$r/$v/series/kunit/console.log" || true
done
missed=$(sort -u "$r/caught" | comm -23 "$r/all" -)
if [ -n "$missed" ]; then
	echo "experiment: cases that failed in no variant: $missed"
	bad=1
fi
if [ $bad = 0 ]; then
	echo "experiment: as expected: the series passes all $(wc -l < "$r/all") cases, each variant fails its cases, and every case failed in some variant"
else
	echo "experiment: UNEXPECTED (see $r/)"
	exit 1
fi
