# CPUs hot-added while kvm-amd is loaded but no VM exists: one without SVM
# (socket 2), then one without LA57 (socket 3, the lowest free one).  Both
# must be refused, and VMs must still work afterwards.  (2 CPUs of 4.)
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
hotadd socket-id=2 svm=off
check "the hot-added CPU 2 (svm=off) appears" wait_for_cpu 2
mark_dmesg
if set_online 2 1; then nok "onlining CPU 2 without SVM is refused with no VM" "online succeeded"
else ok "onlining CPU 2 without SVM is refused with no VM"; fi
new_dmesg | grep -i "kvm\|svm"
check "the refusal names CPU 2 and why" eval 'new_dmesg | grep -q "kvm_amd: SVM not supported by CPU 2"'
check "a VM created afterwards runs" "$KVMTEST" run

hotadd socket-id=3 la57=off
check "the hot-added CPU 3 (la57=off) appears" wait_for_cpu 3
mark_dmesg
if set_online 3 1; then nok "onlining CPU 3 without LA57 is refused" "online succeeded"
else ok "onlining CPU 3 without LA57 is refused"; fi
new_dmesg | grep -i "kvm\|cr4"
check "the refusal names CR4.LA57" eval 'new_dmesg | grep -q "kvm: CPU 3 lacks CR4.LA57"'
check "a VM created after that runs" "$KVMTEST" run
