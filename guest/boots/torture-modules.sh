# Reliability suite, part 3: module cycles.  wb.cycles= (10; make torture:
# 200; 30 on Bochs with wb.vendor=intel) times: load kvm.ko and kvm-amd (or
# kvm-intel), create a VM and run its guest, unload both; every other cycle
# kvm-amd also goes and comes back alone while kvm.ko stays loaded.  Then
# nothing is left (no module, no /dev/kvm, no kvm CPU hotplug state, no KVM
# debugfs directory), virtualization is off everywhere and kmemleak finds
# nothing.  The modules are loaded from tmpfs, without their debug
# information.  (2 CPUs; QEMU or Bochs.)
. "$WB_TOP/guest/lib.sh"
. "$WB_TOP/guest/boots/torture-lib.sh"

cycles=${WB_CYCLES:-10}
to_tmpfs
kmemleak_reset
fail=0 runs=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	if ! insmod /tmp/mod/kvm.ko || ! insmod /tmp/mod/kvm-$VENDOR.ko; then
		echo "cycle $i: load failed"; fail=$((fail + 1)); rmmod kvm 2>/dev/null; continue
	fi
	"$KVMTEST" run --cpu $((i % 2)) > /tmp/run.out 2>&1 && runs=$((runs + 1)) || { cat /tmp/run.out; fail=$((fail + 1)); }
	if [ $((i % 2)) = 0 ]; then
		{ rmmod kvm_$VENDOR && insmod /tmp/mod/kvm-$VENDOR.ko && "$KVMTEST" run > /tmp/run.out 2>&1; } &&
			runs=$((runs + 1)) || { echo "cycle $i: kvm-$VENDOR alone failed"; cat /tmp/run.out; fail=$((fail + 1)); }
	fi
	rmmod kvm_$VENDOR && rmmod kvm || { echo "cycle $i: unload failed"; fail=$((fail + 1)); }
	[ $((i % 20)) = 0 ] && echo "cycle $i, $fail failed, $(( $(date +%s) - start ))s"
done
echo "modules: $cycles cycles of kvm.ko + kvm-$VENDOR ($((cycles / 2)) of kvm-$VENDOR alone) in $(( $(date +%s) - start ))s, $runs guests ran, $fail failures"
# (the figures are on the "modules:" line above: names stay the same whatever wb.cycles=)
check "load/unload cycles of kvm.ko and kvm-$VENDOR with a guest run in each" test "$fail" = 0
check "no kvm module left" eval '! grep -E "^kvm(_$VENDOR)? " /proc/modules'
check "no /dev/kvm left" test ! -e /dev/kvm
check "no kvm CPU hotplug state left" eval '! grep -i kvm /sys/devices/system/cpu/hotplug/states'
check "no KVM debugfs directory left" test ! -e $DBG/kvm
check "$VIRTNAME clear on every CPU" all_virt 0
# wb.leakcheck=none (Bochs: a scan did not end within 30 min there)
[ "${WB_LEAKCHECK:-end}" = none ] || kmemleak_check "kmemleak finds nothing after the module cycles"
check "kvm and kvm-$VENDOR load once more and a guest runs" eval 'load_kvm && "$KVMTEST" run'
