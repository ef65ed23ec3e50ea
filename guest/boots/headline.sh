# The headline scenario: kvm-amd loaded, a VM running on CPU 0, a CPU without
# SVM hot-added (socket 2) and onlined.  6.1 accepts it and the first vCPU
# run there crashes the kernel; the series refuses it.  (2 CPUs of 4.)
. "$WB_TOP/guest/lib.sh"

echo "step 1: load kvm and kvm-amd"
check "kvm and kvm-amd load" load_kvm
echo "step 2: start a VM pinned to CPU 0 and keep it running"
check "a VM is held open on CPU 0" hold_vm 0
echo "step 3: the host hot-adds a CPU without SVM into socket 2 (QMP device_add ... svm=off)"
hotadd socket-id=2 svm=off
check "the hot-added CPU 2 (svm=off) appears" wait_for_cpu 2
echo "step 4: echo 1 > /sys/devices/system/cpu/cpu2/online"
expect_refused 2 "without SVM" "kvm_amd: CPU 2 cannot run guests: it does not support SVM"
if is_online 2; then nok "CPU 2 stays offline"; else ok "CPU 2 stays offline"; fi
echo "step 5: new VMs on the other CPUs, and the VM that was running"
check "a new VM on CPU 0 runs" "$KVMTEST" run --cpu 0
check "a new VM on CPU 1 runs" "$KVMTEST" run --cpu 1
# On 6.1 this crashes the kernel: a vCPU scheduled on CPU 2, if it is online,
# while the held VM keeps virtualization enabled.
echo "step 6: run a vCPU on CPU 2 if it came online"
if is_online 2; then
	check "no vCPU runs on a CPU without SVM" timeout -s KILL 60 "$KVMTEST" run --cpu 2
else
	ok "no vCPU runs on a CPU without SVM (CPU 2 is offline)"
fi
check "the running VM kept running" release_vm
