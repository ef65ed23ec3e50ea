# Bochs lane, AMD model (scripts/bochs.py --model zambezi): kvm-amd on Bochs'
# SVM as a cross-check of the QEMU lane: it loads, a guest runs, CPU 1 goes
# offline and online with a VM open and runs a guest afterwards, EFER.SVME
# follows the VMs.  (2 CPUs.)
. "$WB_TOP/guest/lib.sh"
grep -m1 "model name" /proc/cpuinfo
mark_dmesg
check "kvm and kvm-amd load" load_kvm
new_dmesg | grep -i -E "kvm|svm"
check "a guest runs" "$KVMTEST" run --count 3
check "a VM is held open on CPU 0" hold_vm 0
check "EFER.SVME set on every online CPU while a VM exists" "$KVMTEST" svme --expect 1
check "CPU 1 goes offline with a VM open" set_online 1 0
check "CPU 1 comes online with a VM open" set_online 1 1
check "a guest runs on the re-onlined CPU 1" "$KVMTEST" run --cpu 1
check "the held VM ran throughout" release_vm
check "EFER.SVME clear on every CPU after the last VM closed" "$KVMTEST" svme --expect 0
check "kvm-amd and kvm unload" unload_kvm
