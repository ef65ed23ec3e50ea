# One vendor module on the Bochs lane (wb.vendor=intel: kvm-intel on VMX
# with EPT; wb.vendor=amd: kvm-amd on the zambezi model's SVM): it loads and
# runs guests, CPU 1 goes offline and online with a VM open and runs a guest
# after each cycle, virtualization (CR4.VMXE or EFER.SVME, read on each CPU
# by the wb_virt test module) follows the VMs, suspend/resume (pm_test=core)
# with a VM open, the module unloads and reloads (last: the slowest step
# under Bochs).  The guest's userspace is an initramfs.  (2 CPUs.)
. "$WB_TOP/guest/lib.sh"

grep -m1 "model name" /proc/cpuinfo
mark_dmesg
check "kvm and kvm-$VENDOR load" load_kvm
new_dmesg | grep -i -E "kvm|vmx|svm"
# a guest that does not come back within minutes (Bochs stalls, README)
# fails its step instead of the whole boot's timeout
check "a guest runs" timeout -s KILL 300 "$KVMTEST" run --count 3
check "$VIRTNAME clear on every CPU before the first VM" all_virt 0

check "a VM is held open on CPU 0" hold_vm 0
check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
for i in 1 2 3; do
	check "cycle $i: CPU 1 goes offline with a VM open" set_online 1 0
	check "cycle $i: CPU 1 comes online with a VM open" set_online 1 1
	check "cycle $i: $VIRTNAME set on the re-onlined CPU 1" virt_on 1
	check "cycle $i: a guest runs on the re-onlined CPU 1" timeout -s KILL 300 "$KVMTEST" run --cpu 1
done
check "the held VM ran throughout" release_vm
check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0

check "CPU 1 offline and online without a VM" eval 'set_online 1 0 && set_online 1 1'
check "$VIRTNAME stays clear on CPU 1 onlined without a VM" eval '! virt_on 1'
check "a guest runs on CPU 1 afterwards" "$KVMTEST" run --cpu 1

check "a VM is held open on CPU 0 for the suspend" hold_vm 0
echo "power states: $(cat /sys/power/state)"
echo core > /sys/power/pm_test
check "suspend/resume (pm_test=core) with a VM open" sh -c 'echo mem > /sys/power/state'
echo none > /sys/power/pm_test
check "$VIRTNAME set on every online CPU after resume" all_virt 1
check "a guest runs on CPU 1 after resume" "$KVMTEST" run --cpu 1
check "the held VM ran across suspend/resume" release_vm
check "$VIRTNAME clear on every CPU after the VM closed" all_virt 0

echo "guest uptime before the unload: $(cut -d' ' -f1 /proc/uptime) s"
# wb.watchdog=N: backtraces of every CPU and blocked task N s into the unload
# (before idle=poll it took from 4 to over 40 s of guest time; see README)
[ -n "$WB_WATCHDOG" ] && ( sleep "$WB_WATCHDOG"; echo l > /proc/sysrq-trigger; echo w > /proc/sysrq-trigger ) &
check "kvm-$VENDOR and kvm unload" unload_kvm
echo "guest uptime after the unload: $(cut -d' ' -f1 /proc/uptime) s"
check "kvm and kvm-$VENDOR reload" load_kvm
check "a guest runs after the reload" "$KVMTEST" run
