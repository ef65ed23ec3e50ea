# The load-time window: KVM checks the online CPUs when kvm-amd loads and
# registers its CPU hotplug callback afterwards; a CPU onlined in between
# used to be checked by neither, and every VM creation then failed.  A
# test-only patch (config/test-only/{base,series}/) makes kvm.ko sleep
# right before the registration; CPU 2, hot-added without SVM, is onlined
# during that sleep.  The series checks every online CPU as it registers
# the callback: the load fails, naming CPU 2.  (2 CPUs of 4.)
. "$WB_TOP/guest/lib.sh"

hotadd socket-id=2 svm=off
check "the hot-added CPU 2 (svm=off) appears" wait_for_cpu 2
check "kvm.ko loads with the test-only delay" insmod "$MOD/kvm.ko" wb_load_delay_ms=8000
mark_dmesg
insmod "$MOD/kvm-amd.ko" > /tmp/amd.out 2>&1 &
amd=$!
for i in $(seq 300); do
	new_dmesg | grep -q "test-only: waiting" && break
	sleep 0.1
done
check "the load waits before registering the callback" eval 'new_dmesg | grep -q "test-only: waiting"'
check "CPU 2 comes online inside that wait" set_online 2 1
wait $amd; amd_rc=$?
cat /tmp/amd.out
new_dmesg | grep -E "kvm|CPU 2|CPU2"
if [ $amd_rc != 0 ] && new_dmesg | grep -q "kvm_amd: CPU 2 cannot run guests"; then
	ok "KVM does not load with CPU 2 online: the load fails, naming CPU 2"
else
	nok "KVM does not load with CPU 2 online: the load fails, naming CPU 2" "insmod exit $amd_rc"
fi
# On 6.1 KVM loaded with CPU 2 unchecked: no VM can be created now.
if kvm_loaded; then
	check "no VM creation fails while CPU 2 is online" "$KVMTEST" run
else
	ok "no VM creation fails while CPU 2 is online" "kvm-amd is not loaded"
fi
check "CPU 2 goes offline" set_online 2 0
kvm_loaded || check "kvm-amd loads once CPU 2 is offline" insmod "$MOD/kvm-amd.ko"
check "a VM created then runs" "$KVMTEST" run
