# kexec into the same kernel while a VM runs (and, with wb.online=1, while
# CPU 3 is coming online), then, in the new kernel, KVM loads and guests run.
# Stage 1: kvm.ko with wb_reboot_delay_ms= (test-only: KVM's reboot
# notifier, which kexec also runs, waits that long after disabling
# virtualization), kvm-amd, a VM held open on CPU 0, CPU 3 offline; the
# kernel is loaded with kexec -l (this kernel, this command line plus
# wb.kexec_stage=2) and "kexec -e" runs; CPU 3 is onlined inside the
# notifier's window (when the notifier's test-only line appears in
# /dev/kmsg), and stage 2 checks that it was.  6.1 enables virtualization on that CPU
# after the notifier (the test-only WARN "virtualization enabled on CPU%d
# after the reboot notifier"); the series must not.  Stage 2 is the same
# script in the kexec'd kernel: every CPU up, virtualization off everywhere
# before KVM loads, KVM loads, guests run on every CPU, CPU 3 goes offline
# and online with a VM, KVM unloads.  (4 CPUs.)
. "$WB_TOP/guest/lib.sh"

if [ "${WB_KEXEC_STAGE:-1}" = 1 ]; then
	delay=${WB_REBOOT_DELAY_MS:-1500}
	check "kvm.ko loads (wb_reboot_delay_ms=$delay)" insmod "$MOD/kvm.ko" wb_reboot_delay_ms="$delay"
	check "kvm-amd loads" insmod "$MOD/kvm-amd.ko"
	check "a VM is held open on CPU 0" hold_vm 0
	check "CPU 3 goes offline" set_online 3 0
	check "this kernel is loaded for kexec" \
		kexec -l "$MOD/bzImage" --command-line="$(cat /proc/cmdline) wb.kexec_stage=2"
	if [ "${WB_ONLINE:-1}" = 1 ]; then
		# CPU 3 comes online inside the notifier's window: as soon as the
		# test-only line says the notifier is done (user space still runs
		# then; kexec disables CPU hotplug only after the wait).  A fixed
		# sleep missed it: under KASAN "kexec -e" took 6 s to get there.
		# What the write returned goes to the results, for stage 2.
		rm -f "$WB_RESULTS/kexec-online"
		online_in_reboot_window 3 "$WB_RESULTS/kexec-online"
		echo "kexec -e with a VM running on CPU 0; CPU 3 onlined when the reboot notifier is done"
	else
		echo "kexec -e with a VM running on CPU 0"
	fi
	sync
	kexec -e
	sleep 60
	nok "kexec -e starts the new kernel" "still running 60 s after kexec -e"
	exit 1
fi

check "the kexec'd kernel runs (wb.kexec_stage=2 on its command line)" grep -q "wb\.kexec_stage=2" /proc/cmdline
if [ "${WB_ONLINE:-1}" = 1 ]; then
	check "before kexec: CPU 3 was onlined inside the reboot notifier's window" \
		test -s "$WB_RESULTS/kexec-online"
fi
check "after kexec: all 4 CPUs are online" test "$(online_cpus)" = 0-3
check "after kexec: $VIRTNAME clear on every CPU before KVM loads" all_virt 0
check "after kexec: kvm and kvm-amd load" load_kvm
fail=0
for c in 0 1 2 3; do "$KVMTEST" run --cpu "$c" || fail=$((fail + 1)); done
check "after kexec: a guest runs on every CPU" test "$fail" = 0
check "after kexec: a VM is held open on CPU 0" hold_vm 0
check "after kexec: CPU 3 goes offline and online with the VM open" eval 'set_online 3 0 && set_online 3 1'
check "after kexec: $VIRTNAME set on every online CPU while a VM exists" all_virt 1
check "after kexec: the held VM ran throughout" release_vm
check "after kexec: kvm-amd and kvm unload" unload_kvm
check "after kexec: $VIRTNAME clear on every CPU after KVM unloaded" all_virt 0
