# CPU 1 is present from power-on without SVM but kept offline (maxcpus=1);
# with kvm-amd loaded and no VM it is onlined from the guest: the same KVM
# path as a hot-add, without the ACPI step.
. "$WB_TOP/guest/lib.sh"

check "only CPU 0 is online at boot" test "$(online_cpus)" = 0
check "kvm and kvm-amd load" load_kvm
expect_refused 1 "without SVM" "kvm_amd: CPU 1 cannot run guests: it does not support SVM"
check "a VM created afterwards runs" "$KVMTEST" run
