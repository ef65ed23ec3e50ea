# CPU 1 is present from power-on without SVM but kept offline (maxcpus=1);
# with kvm-amd loaded and no VM it is onlined from the guest: the same KVM
# path as a hot-add, without the ACPI step.
. "$WB_TOP/guest/lib.sh"

check "only CPU 0 is online at boot" test "$(online_cpus)" = 0
check "kvm and kvm-amd load" load_kvm
mark_dmesg
if set_online 1 1; then nok "onlining CPU 1 without SVM is refused" "online succeeded"
else ok "onlining CPU 1 without SVM is refused"; fi
new_dmesg | grep -i "kvm\|svm"
check "a VM created afterwards runs" "$KVMTEST" run
