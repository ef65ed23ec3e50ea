#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does every case of kvm.ko's
# KUnit suites (kvm-x86-cr4-compat, kvm-x86-svm-compat, kvm-x86-vmx-compat)
# catch a broken decision or a broken reader?  Six variants of the series'
# kvm.ko (series v3), each with a few deliberate mistakes in different
# functions (the CR4, SVM and VMX decisions of cpu_compat.h and
# cpu_compat.c, and the readers of cpu_compat.c that feed them), are built
# and loaded (the registry's "kunit" boot).  The series must pass every case; each variant
# must fail the cases listed for it (scenarios.py run --must-fail, one regex
# per case on the judge's "kunit SUITE: CASE" verdicts); and every case must
# be listed for some variant, so that no case is one that cannot fail.
# Results in build/kunit-exp/ (LABEL/kunit, LABEL = series or the variant);
# the last line is the judge's (scripts/report.py summary with the plan).
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
compat=arch/x86/kvm/cpu_compat.c
h=arch/x86/kvm/cpu_compat.h

# variant name: the mistakes (file, sed) and the cases that must fail
declare -A expect
make_a() { # nothing is ever missing: no CR4 bit, no SVM feature, no SEV need; every SVM CPU usable; VMX: v1's rule
	variant kunit-a \
		$compat 's/^\treturn required & kvm_cr4_cpuid_reserved_bits(c);$/\treturn 0;/' \
		$h '/^static inline const char \*kvm_svm_cpu_problem(/,/^{$/s/^{$/{\n\tif (f)\n\t\treturn NULL;/' \
		$h 's/^\treturn used & ~edx;$/\treturn 0;/' \
		$h 's/^\tif (!used->sev)$/\tif (used)/' \
		$h 's/^\tif (f->kernel_vmx)$/\tif (f->kernel_vmx \&\& (f->feat_ctl \& FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))/'
}
expect[kunit-a]="cr4_lacks_la57 cr4_lacks_smep cr4_lacks_pku cr4_lacks_umip cr4_lacks_vmx cr4_lacks_several
	cr4_read_lacks_la57
	svm_not_amd svm_absent svm_vm_cr_unreadable svm_disabled_by_firmware
	svm_read_svmdis svm_read_no_svm svm_read_vm_cr_unreadable svm_read_other_vendor
	svm_lacks_npt svm_lacks_nrips svm_lacks_several svm_lacks_x2avic svm_read_features_lacks_npt_vgif
	sev_lacks_sev sev_lacks_sev_es sev_other_cbit sev_fewer_asids sev_other_asid_split svm_read_features_sev
	vmx_tboot_inside_smx_only"
make_b() { # CR4: the reference CPU ignored; SVM: VM_CR.LOCK taken for SVMDIS, choices unmasked; VMX: every CPU usable
	variant kunit-b \
		$compat 's/^\treturn ~guest_reserved & ~kvm_cr4_cpuid_reserved_bits(ref);$/\treturn ~guest_reserved;/' \
		$h 's/^\tif (f->vm_cr & BIT_ULL(SVM_VM_CR_SVM_DISABLE))$/\tif (f->vm_cr \& (BIT_ULL(SVM_VM_CR_SVM_DISABLE) | SVM_VM_CR_SVM_LOCK_MASK))/' \
		$h 's/^\treturn used & l->features;$/\treturn used;/' \
		$h '/^static inline const char \*kvm_vmx_cpu_problem(/,/^{$/s/^{$/{\n\tif (f)\n\t\treturn NULL;/'
}
expect[kunit-b]="cr4_identical_cpus cr4_emulated_umip svm_usable svm_read_usable svm_features_same_cpu
	svm_feature_chosen_but_absent svm_read_features_same
	vmx_absent vmx_feat_ctl_unreadable vmx_outside_smx_disabled vmx_tboot_inside_smx_disabled
	vmx_disabled_by_firmware vmx_unlocked vmx_disabled_by_kernel vmx_read_refused vmx_read_no_vmx"
make_c() { # CR4: what guests may not use required anyway, names wrong; SVM: choices ignored; VMX: the kernel's decision ignored
	variant kunit-c \
		$compat 's/^\treturn ~guest_reserved & ~kvm_cr4_cpuid_reserved_bits(ref);$/\treturn ~kvm_cr4_cpuid_reserved_bits(ref) \& ~CR4_RESERVED_BITS;/' \
		$compat 's/"%s%sbit%d",$/"%s%s#%d",/' \
		$h 's/^\tif (l->\(npt\|vgif\|x2avic\))$/\tif (l)/' \
		$h '/^\tif (f->kernel_vmx)$/{N;d}'
}
expect[kunit-c]="cr4_not_offered_to_guests cr4_names svm_feature_not_used svm_x2avic_not_used vmx_usable vmx_read_tboot"
make_d() { # CR4 and SVM: a CPU with more features than needed taken for a lesser one; SEV: any other ASID count refused
	variant kunit-d \
		$compat 's/^\treturn required & kvm_cr4_cpuid_reserved_bits(c);$/\treturn required ^ (~kvm_cr4_cpuid_reserved_bits(c) \& ~CR4_RESERVED_BITS);/' \
		$h 's/^\treturn used & ~edx;$/\treturn used ^ edx;/' \
		$h 's/^\tif (cpu->max_asid < used->max_asid)$/\tif (cpu->max_asid != used->max_asid)/'
}
expect[kunit-d]="cr4_extra_features svm_extra_features sev_same_cpu"
make_e() { # the readers: leaf 7 read below it, VM_CR read without SVM, the C-bit unmasked, IA32_FEAT_CTL judged again
	variant kunit-e \
		$compat 's/^\tif (compat_cpuid_eax(0) >= 7) {$/\tif (compat_cpuid_eax(0) >= 6) {/' \
		$compat 's/^\tif (f->amd_or_hygon && f->svm)$/\tif (f->amd_or_hygon)/' \
		$compat 's/^\tf->sev.cbit = ebx & 0x3f;$/\tf->sev.cbit = ebx;/' \
		$compat 's/^\tf->kernel_vmx = compat_this_cpu_has(X86_FEATURE_VMX);$/\tf->kernel_vmx = compat_this_cpu_has(X86_FEATURE_VMX) \&\& !compat_rdmsrl_safe(MSR_IA32_FEAT_CTL, \&f->feat_ctl) \&\& (f->feat_ctl \& FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);/'
}
expect[kunit-e]="cr4_read_cpuid svm_read_no_svm svm_read_features_sev vmx_read_tboot"
make_f() { # EFER.FFXSR never needed; SEV: needed without sev=1, SEV-ES needed without sev_es=1
	variant kunit-f \
		$h 's/^\tif (ffxsr_used && !(ext_edx & BIT(X86_FEATURE_FXSR_OPT & 31)))$/\tif (0)/' \
		$h '/^\tif (!used->sev)$/{N;d}' \
		$h 's/^\tif (used->sev_es && !cpu->sev_es)$/\tif (!cpu->sev_es)/'
}
expect[kunit-f]="svm_efer_ffxsr svm_read_features_lacks_fxsr_opt sev_not_used sev_lacks_sev_es"

# the judge's verdict names for a case ("kunit SUITE: CASE"), as a regex
# on a failing check's "test (note)"
case_rx() { echo "^kunit kvm-x86-[a-z0-9]+-compat: $1 \\("; }

results "$top/build/kunit-exp"
variants="kunit-a kunit-b kunit-c kunit-d kunit-e kunit-f"
plan series kunit boots
for v in $variants; do
	plan checks "build-$v" "build-$v"
	plan "$v" kunit "build-$v"
done
# every case of the series' suites is one some variant must fail: a case
# that cannot fail guards nothing (a judged host-side step, from the
# judge's verdicts on the series' boot)
plan checks kunit-cases-covered boots
plan_write

echo "== series"
run_boot series series kunit
for v in $variants; do
	echo "== $v: must fail: $(echo ${expect[$v]})"
	stage "build-$v" "make_${v#kunit-}" || { tail -5 "$RES/checks/build-$v/output.txt"; continue; }
	grep '^[-+][^-+]' "$RES/checks/build-$v/output.txt"
	args=()
	for c in ${expect[$v]}; do args+=(--must-fail "$(case_rx "$c")"); done
	run_boot series "$v" kunit --out "$top/build/out/$v" "${args[@]}"
done
covered() { # the series' cases that no variant is expected to fail
	local cases missing=() c
	cases=$(python3 "$top/scripts/report.py" boot "$RES/series/kunit" |
		sed -n 's/^\(not \)\{0,1\}ok [0-9]* - kunit kvm-x86-[a-z0-9]*-compat: \([a-z0-9_]*\)\( #.*\)\{0,1\}$/\2/p')
	[ -n "$cases" ] || { echo "no KUnit case on the series' boot"; return 1; }
	for c in $cases; do
		case " $(echo ${expect[*]}) " in *" $c "*) ;; *) missing+=("$c") ;; esac
	done
	echo "$(echo "$cases" | wc -l) cases on the series, ${#missing[@]} that no variant must fail${missing:+: ${missing[*]}}"
	[ ${#missing[@]} = 0 ]
}
stage kunit-cases-covered covered
cat "$RES/checks/kunit-cases-covered/output.txt"
echo "== the judge"
summary
