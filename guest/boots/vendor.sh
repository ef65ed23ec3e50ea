# One vendor module on the Bochs lane (wb.vendor=intel: kvm-intel on VMX
# with EPT; wb.vendor=amd: kvm-amd on the zambezi model's SVM): it loads and
# runs guests, CPU 1 goes offline and online with a VM open and runs a guest
# after each cycle, virtualization (CR4.VMXE or EFER.SVME, read on each CPU
# by the wb_virt test module) follows the VMs, suspend/resume (pm_test=core)
# with a VM open, the module unloads and reloads (last: the slowest step
# under Bochs).  The guest's userspace is an initramfs.  (2 CPUs.)
#
# When virtualization is on: Linux 6.1, and 6.12 with
# kvm.enable_virt_at_load=0, enable it on every online CPU at the first VM
# and disable it after the last; 6.12 by default (enable_virt_at_load=Y)
# enables it on every online CPU when kvm-$VENDOR loads, keeps it on with or
# without VMs (a CPU coming online gets it too) and disables it at the
# unload.  wb.virt_at_load=1 (the 6.12 scenarios: intel-612) expects the
# latter, wb.virt_at_load=0 (intel-612-ondemand) the former, and both check
# kvm.enable_virt_at_load first; without it (6.1) the former, unchecked.
. "$WB_TOP/guest/lib.sh"

AT_LOAD=${WB_VIRT_AT_LOAD:-}
# what "$VIRTNAME ..." expects while no VM exists: 1 with enable_virt_at_load
idle=$([ "$AT_LOAD" = 1 ] && echo 1 || echo 0)

grep -m1 "model name" /proc/cpuinfo
mark_dmesg
check "kvm and kvm-$VENDOR load" load_kvm
new_dmesg | grep -i -E "kvm|vmx|svm"
if [ -n "$AT_LOAD" ]; then
	yn=$([ "$AT_LOAD" = 1 ] && echo Y || echo N)
	check "kvm.enable_virt_at_load is $yn" eval \
		'[ "$(cat /sys/module/kvm/parameters/enable_virt_at_load 2>/dev/null)" = "$yn" ]'
fi
# a guest that does not come back within minutes (Bochs stalls, README)
# fails its step instead of the whole boot's timeout
check "a guest runs" timeout -s KILL 300 "$KVMTEST" run --count 3
if [ "$idle" = 1 ]; then
	check "$VIRTNAME set on every CPU from the load, before the first VM" all_virt 1
else
	check "$VIRTNAME clear on every CPU before the first VM" all_virt 0
fi

check "a VM is held open on CPU 0" hold_vm 0
check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
for i in 1 2 3; do
	check "cycle $i: CPU 1 goes offline with a VM open" set_online 1 0
	check "cycle $i: CPU 1 comes online with a VM open" set_online 1 1
	check "cycle $i: $VIRTNAME set on the re-onlined CPU 1" virt_on 1
	check "cycle $i: a guest runs on the re-onlined CPU 1" timeout -s KILL 300 "$KVMTEST" run --cpu 1
done
check "the held VM ran throughout" release_vm
if [ "$idle" = 1 ]; then
	check "$VIRTNAME still set on every CPU after the last VM closed" all_virt 1
else
	check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0
fi

check "CPU 1 offline and online without a VM" eval 'set_online 1 0 && set_online 1 1'
if [ "$idle" = 1 ]; then
	check "$VIRTNAME set on CPU 1 onlined without a VM" virt_on 1
else
	check "$VIRTNAME stays clear on CPU 1 onlined without a VM" eval '! virt_on 1'
fi
check "a guest runs on CPU 1 afterwards" "$KVMTEST" run --cpu 1

check "a VM is held open on CPU 0 for the suspend" hold_vm 0
echo "power states: $(cat /sys/power/state)"
echo core > /sys/power/pm_test
check "suspend/resume (pm_test=core) with a VM open" sh -c 'echo mem > /sys/power/state'
echo none > /sys/power/pm_test
check "$VIRTNAME set on every online CPU after resume" all_virt 1
check "a guest runs on CPU 1 after resume" "$KVMTEST" run --cpu 1
check "the held VM ran across suspend/resume" release_vm
if [ "$idle" = 1 ]; then
	check "$VIRTNAME still set on every CPU after the VM closed" all_virt 1
else
	check "$VIRTNAME clear on every CPU after the VM closed" all_virt 0
fi

echo "guest uptime before the unload: $(cut -d' ' -f1 /proc/uptime) s"
# wb.watchdog=N: backtraces of every CPU and blocked task N s into the unload
# (before idle=poll it took from 4 to over 40 s of guest time; see README)
[ -n "$WB_WATCHDOG" ] && ( sleep "$WB_WATCHDOG"; echo l > /proc/sysrq-trigger; echo w > /proc/sysrq-trigger ) &
check "kvm-$VENDOR and kvm unload" unload_kvm
echo "guest uptime after the unload: $(cut -d' ' -f1 /proc/uptime) s"
# with enable_virt_at_load the unload is what turns virtualization off
[ "$idle" = 1 ] && check "$VIRTNAME clear on every CPU after the unload" all_virt 0
check "kvm and kvm-$VENDOR reload" load_kvm
check "a guest runs after the reload" "$KVMTEST" run
