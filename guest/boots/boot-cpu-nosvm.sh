# CPU 1 is present from power-on without SVM and online at boot: loading
# kvm-amd must fail, naming that CPU, and leave nothing behind.
. "$WB_TOP/guest/lib.sh"

check "kvm.ko loads" insmod "$MOD/kvm.ko"
mark_dmesg
if insmod "$MOD/kvm-amd.ko" 2>/dev/null; then nok "kvm-amd refuses to load with CPU 1 lacking SVM"
else ok "kvm-amd refuses to load with CPU 1 lacking SVM"; fi
new_dmesg | grep -i "kvm\|svm"
check "the refusal names CPU 1 and why" eval 'new_dmesg | grep -q "kvm_amd: CPU 1 cannot run guests: it does not support SVM"'
check "kvm_amd is not loaded" eval '! kvm_loaded'
check "kvm.ko unloads" rmmod kvm
check "CPU 1 goes offline and online" eval 'set_online 1 0 && set_online 1 1'
