# CPUs hot-added while kvm-amd is loaded but no VM exists: one without SVM
# (socket 2), then one without LA57 (socket 3, the lowest free one).  Both
# must be refused, and VMs must still work afterwards.  (2 CPUs of 4.)
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
hotadd socket-id=2 svm=off
check "the hot-added CPU 2 (svm=off) appears" wait_for_cpu 2
expect_refused 2 "without SVM" "kvm_amd: CPU 2 cannot run guests: it does not support SVM"
check "a VM created afterwards runs" "$KVMTEST" run

hotadd socket-id=3 la57=off
check "the hot-added CPU 3 (la57=off) appears" wait_for_cpu 3
expect_refused 3 "without LA57" "kvm: CPU 3 cannot run guests: it lacks CR4.LA57"
check "a VM created after that runs" "$KVMTEST" run
