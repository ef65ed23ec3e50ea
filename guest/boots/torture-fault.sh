# Reliability suite, part 2: fault injection with the kernel's own framework
# (fail_function and failslab through debugfs; the functions are marked
# injectable by config/test-only/0002-*.patch).  wb.fault= picks the part:
#   enable    enabling fails on one CPU (the 1st, 2nd, ... to enable) while
#             the first VM is created: KVM_CREATE_VM fails, no CPU is left
#             with virtualization on, the next VM works (usage count back to 0)
#   online    enabling fails in the CPU hotplug callback with a VM running:
#             the online write fails, the CPU stays offline, the VM runs on
#   resume    enabling fails at resume (pm_test=core) with a VM running on
#             CPU 0: the series stops every VM and says so; no vCPU runs on
#             a CPU without virtualization (runs from tmpfs: 9p dies)
#   load      each failure point of loading kvm-amd (wb.points=, default all
#             but kvm_vfio_ops_init): the load fails with an error, nothing
#             is left registered, the next load works; kmemleak finds nothing
#             at the end (wb.leakcheck=each: after every point too; none:
#             not at all); no /sys/kernel/debug/kvm left either (wb.debugfs=0: not checked)
#   failslab  wb.count= (1000) KVM_CREATE_VM + KVM_CREATE_VCPU with failslab
#             at wb.pct= (10) % for the creating task, then every fault site
#             of the two calls failed once (fail-nth): only errors, no leak,
#             no splat, the usage count and the per-CPU state consistent
# (cpus: enable 4, online 4, resume 2, load 2, failslab 2.)
. "$WB_TOP/guest/lib.sh"
. "$WB_TOP/guest/boots/torture-lib.sh"

fault=${WB_FAULT:?wb.fault= missing}
ncpus=$(nproc)
last=$((ncpus - 1))
echo "torture-fault: $fault, $ncpus CPUs online"

case $fault in
enable)
	check "kvm and kvm-amd load" load_kvm
	check "EFER.SVME clear on every CPU before the first VM" all_virt 0
	for k in $(seq "$ncpus"); do
		w="enabling fails on CPU #$k of $ncpus to enable"
		# space=k: the first k-1 calls pass (fault-inject skips while space > 1)
		ff_arm kvm_arch_hardware_enable space=$k
		mark_dmesg
		out=$("$KVMTEST" vmtime 2>&1); rc=$?
		echo "$out"
		if [ $rc != 0 ] && echo "$out" | grep -q "KVM_CREATE_VM failed"; then
			ok "$w: KVM_CREATE_VM fails" "$(echo "$out" | grep -o 'KVM_CREATE_VM failed: .*')"
		else nok "$w: KVM_CREATE_VM fails" "it succeeded"; fi
		check "$w: the fault was injected" ff_injected
		ff_disarm
		new_dmesg | grep -E "FAULT_INJECTION|virtualization on CPU"
		check "$w: the kernel names the CPU" eval 'new_dmesg | grep -q -E "enabling virtualization on CPU[0-9]+ failed"'
		check "$w: no CPU is left with virtualization on" all_virt 0
		check "$w: the next VM runs (usage count back to 0)" "$KVMTEST" run
		check "$w: virtualization off on every CPU after it" all_virt 0
	done
	check "a VM held open: EFER.SVME set on every CPU" eval 'hold_vm 0 && all_virt 1'
	check "the held VM ran" release_vm
	check "EFER.SVME clear on every CPU after the last VM" all_virt 0
	;;

online)
	check "kvm and kvm-amd load" load_kvm
	check "a VM is held open on CPU 0" hold_vm 0
	check "CPU $last goes offline with a VM open" set_online "$last" 0
	ff_arm kvm_arch_hardware_enable
	mark_dmesg
	if set_online "$last" 1; then nok "onlining CPU $last fails when enabling virtualization there fails" "online succeeded"
	else ok "onlining CPU $last fails when enabling virtualization there fails"; fi
	check "the fault was injected in the hotplug callback" ff_injected
	ff_disarm
	new_dmesg | grep -E "FAULT_INJECTION|virtualization on CPU|CPU ?$last"
	check "the kernel says enabling failed on CPU $last" eval "new_dmesg | grep -q 'enabling virtualization on CPU$last failed'"
	if is_online "$last"; then nok "CPU $last stays offline"; else ok "CPU $last stays offline"; fi
	check "a new VM runs on CPU 0" "$KVMTEST" run --cpu 0
	check "a new VM runs on CPU 1" "$KVMTEST" run --cpu 1
	# 6.1: the CPU is online without virtualization; a vCPU there crashes
	if is_online "$last"; then
		check "no vCPU runs on a CPU without virtualization" timeout -s KILL 60 "$KVMTEST" run --cpu "$last"
	else
		ok "no vCPU runs on a CPU without virtualization" "CPU $last is offline"
	fi
	check "CPU $last comes online once enabling works again" set_online "$last" 1
	check "EFER.SVME set on CPU $last" virt_on "$last"
	check "a guest runs on CPU $last" "$KVMTEST" run --cpu "$last"
	check "the held VM ran throughout" release_vm
	check "EFER.SVME clear on every CPU after the last VM" all_virt 0
	;;

resume)
	check "kvm and kvm-amd load" load_kvm
	before_suspend 1
	# wb.newvm=1: only probe a new VM on CPU 0 while the stopped one is
	# open (the torture-fault-resume-newvm boot)
	export NEWVM=${WB_NEWVM:-0}
	cat > /tmp/bin/after.sh <<'EOS'
. /tmp/bin/tmpfs-lib.sh
FF=/sys/kernel/debug/fail_function
virt() { busybox grep "^cpu$1 " /sys/kernel/debug/wb_virt; }
cpu0_off() { virt 0; ! virt 0 | busybox grep -q svme=1; }
kvmtest-static hold --cpu 0 --until-file /tmp/stop-hold > /tmp/hold.out 2>&1 &
hold=$!
sleep 2
t "a VM is held open on CPU 0" grep -q ready /tmp/hold.out
t "EFER.SVME set on every CPU before suspend" all_virt 1
echo > $FF/inject
echo kvm_arch_hardware_enable > $FF/inject
echo 0xfffffffffffffffb > $FF/kvm_arch_hardware_enable/retval
echo 100 > $FF/probability; echo 1 > $FF/interval; echo 0 > $FF/space; echo 1 > $FF/verbose
echo N > $FF/task-filter; echo 1 > $FF/times
dmesg -c > /dev/null
echo core > /sys/power/pm_test
t "suspend/resume (pm_test=core) completes with enabling failing at resume" sh -c 'echo mem > /sys/power/state'
echo none > /sys/power/pm_test
t "the fault was injected at resume" sh -c "[ \$(cat $FF/times) = 0 ]"
echo > $FF/inject
dmesg > /tmp/dmesg.txt
grep -E "FAULT_INJECTION|virtualization|stopping|Restarting tasks" /tmp/dmesg.txt | while read -r l; do say "  $l"; done
t "the console says every VM is stopped" grep -q "CPU0 cannot enable virtualization at resume (-5): stopping every VM" /tmp/dmesg.txt
t "EFER.SVME is off on CPU 0, where enabling failed" cpu0_off
sleep 2
t "the stopped VM's vCPU no longer runs: its ioctls fail with EIO" grep -q -E "KVM_(RUN|SET_REGS) failed: Input/output error" /tmp/hold.out
if [ "$NEWVM" = 1 ]; then
	# the usage count is not 0 (the stopped VM is open), so creating a VM
	# enables nothing: the series refuses it (EBUSY) until the stopped VMs
	# are closed, rather than let its vCPU run on CPU 0
	t "a VM created while the stopped one is open is refused: nothing runs on CPU 0 without virtualization" \
		sh -c 'kvmtest-static run --cpu 0 > /tmp/newvm 2>&1; r=$?; cat /tmp/newvm; [ $r != 0 ] && grep -q "KVM_CREATE_VM failed: Device or resource busy" /tmp/newvm'
	t "EFER.SVME still off on CPU 0" cpu0_off
fi
touch /tmp/stop-hold
wait $hold
while read -r l; do say "  $l"; done < /tmp/hold.out
t "EFER.SVME clear on every CPU after the stopped VM closed" all_virt 0
t "a new VM runs on CPU 0 afterwards" kvmtest-static run --cpu 0
t "a new VM runs on CPU 1 afterwards" kvmtest-static run --cpu 1
t "EFER.SVME clear on every CPU after them" all_virt 0
finish
EOS
	echo "from here on only tmpfs is used"
	exec /tmp/bin/busybox sh /tmp/bin/after.sh
	;;

load)
	# every step of kvm-amd's init that can fail, in the order they run;
	# kvm_vfio_ops_init cannot fail but for a bug (kvm_init WARNs): a boot
	# of its own (torture-fault-vfio)
	check=$([ "$WB_KERNEL" = base ] && echo kvm_arch_check_processor_compat || echo kvm_arch_check_online_cpu)
	points=${WB_POINTS:-kvm_x86_vendor_init,kvm_mmu_vendor_module_init,kvm_arch_init,kvm_irqfd_init,kvm_arch_hardware_setup,$check,kvm_async_pf_init,misc_register}
	check "kvm.ko loads" insmod "$MOD/kvm.ko"
	kmemleak_reset
	for fn in $(echo "$points" | tr , ' '); do
		# the load-time check fails on the last CPU checked (space: see enable)
		extra=; [ "$fn" = "$check" ] && extra="space=$ncpus"
		ff_arm "$fn" $extra
		mark_dmesg
		out=$(insmod "$MOD/kvm-amd.ko" 2>&1); rc=$?
		echo "$out"
		if [ $rc != 0 ]; then ok "$fn fails: kvm-amd does not load" "$(echo "$out" | grep -o '[^:]*$')"
		else nok "$fn fails: kvm-amd does not load" "it loaded"; rmmod kvm_amd; fi
		check "$fn fails: the fault was injected" ff_injected
		ff_disarm
		new_dmesg | grep -v "^\s*$" | tail -5
		check "$fn fails: kvm_amd is not loaded" eval '! grep -q "^kvm_amd " /proc/modules'
		check "$fn fails: no /dev/kvm" test ! -e /dev/kvm
		check "$fn fails: no kvm CPU hotplug state left" eval '! grep -i kvm /sys/devices/system/cpu/hotplug/states'
		# nor KVM's debugfs directory (kvm.ko stays loaded; the directory
		# exists only while kvm-amd is loaded; wb.debugfs=0: not checked)
		[ "${WB_DEBUGFS:-1}" = 1 ] && check "$fn fails: no /sys/kernel/debug/kvm left" test ! -e $DBG/kvm
		# wb.leakcheck=each (make torture): kmemleak after every point;
		# otherwise the point is reported skipped, so that both forms
		# report the same test points (expect/tests/torture-fault-load.txt)
		if [ "${WB_LEAKCHECK:-end}" = each ]; then kmemleak_check "$fn fails: kmemleak finds nothing"
		elif [ "${WB_LEAKCHECK:-end}" = none ]; then skip "$fn fails: kmemleak finds nothing" "no kmemleak scan (wb.leakcheck=none)"
		else skip "$fn fails: kmemleak finds nothing" "kmemleak runs once at the end"; fi
		check "$fn fails: the next load works, a guest runs, it unloads" \
			eval 'insmod "$MOD/kvm-amd.ko" && "$KVMTEST" run && rmmod kvm_amd'
	done
	check "kvm.ko unloads" rmmod kvm
	check "no kvm CPU hotplug state after the unload" eval '! grep -i kvm /sys/devices/system/cpu/hotplug/states'
	check "kvm and kvm-amd load again" load_kvm
	check "a guest runs" "$KVMTEST" run
	check "kvm-amd and kvm unload" unload_kvm
	[ "${WB_LEAKCHECK:-end}" = none ] || kmemleak_check "kmemleak finds nothing after the failed loads"
	;;

failslab)
	count=${WB_COUNT:-1000}
	pct=${WB_PCT:-10}
	check "kvm and kvm-amd load" load_kvm
	kmemleak_reset
	echo "$pct" > $FS/probability
	echo 1 > $FS/interval
	echo 0xffffffff > $FS/times         # -1: no limit
	echo 0 > $FS/space
	echo 0 > $FS/verbose
	echo Y > $FS/task-filter            # only a task with make-it-fail set
	echo N > $FS/ignore-gfp-wait        # GFP_KERNEL too: most of KVM's allocations
	out=$("$KVMTEST" failvm --count "$count" --check-every 50 2>&1); rc=$?
	echo "$out"
	echo "failslab: $count KVM_CREATE_VM at $pct%"
	check "KVM_CREATE_VM (and KVM_CREATE_VCPU) with failslab at $pct%: each fails with an error or works; guests run in between" test $rc = 0
	check "failslab at $pct%: faults made calls fail" eval 'echo "$out" | grep -q -E "KVM_CREATE_(VM|VCPU) failed [1-9]"'
	check "failslab at $pct%: every failure is ENOMEM" eval '! echo "$out" | grep "failed [1-9]" | grep -v -E "failed [0-9]+ times(: Cannot allocate memory x[0-9]+)?$"'
	echo 0 > $FS/probability
	out=$("$KVMTEST" failvm --fail-nth --check-every 10 2>&1); rc=$?
	echo "$out"
	check "every fault site of KVM_CREATE_VM and KVM_CREATE_VCPU failed once (fail-nth): each fails with an error or works" test $rc = 0
	check "fail-nth: every failure is ENOMEM" eval '! echo "$out" | grep "failed [1-9]" | grep -v -E "failed [0-9]+ times(: Cannot allocate memory x[0-9]+)?$"'
	echo Y > $FS/ignore-gfp-wait
	echo N > $FS/task-filter
	check "no CPU left with virtualization on (usage count 0)" all_virt 0
	check "a VM held open: EFER.SVME set on every CPU" eval 'hold_vm 0 && all_virt 1'
	check "the held VM ran" release_vm
	check "EFER.SVME clear on every CPU after the last VM" all_virt 0
	check "kvm-amd and kvm unload" unload_kvm
	kmemleak_check "kmemleak finds nothing after the failed creations"
	;;
*)
	nok "wb.fault=$fault is known" "enable, online, resume, load or failslab"
	;;
esac
