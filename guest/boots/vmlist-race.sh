# The vm_list race of 6.1 (the series' stable patch 4, "KVM: Hold
# kvm_count_lock while adding or removing a VM from vm_list"), made to
# happen on every run.  With the test-only kvm.wb_vmlist_delay_ms
# (config/test-only/base/0003 and its series counterpart), enabling
# virtualization on CPU 1 as it comes online waits at each VM of vm_list,
# and says so.  Each cycle: CPU 1 offline, one VM held open on CPU 0 (the
# only VM, so the only entry of vm_list), CPU 1 onlined in the background;
# once the console says the walk waits at that VM, the VM is closed, and
# the walk waits on until the VM's destruction has begun.  6.1
# unlinks it without the lock the walk holds, and the walk then follows
# LIST_POISON1: a general protection fault in kvm_arch_hardware_enable()
# on CPU 1, at the first cycle.  The series makes the destruction wait for
# the walk.  (2 CPUs; wb.cycles= cycles, default 5; wb.delay= ms, default
# 8000.)  No churn: a VM being created would spin on kvm_count_lock on CPU 0
# and keep the destruction from running during the wait, so the crash would
# depend on timing again.
. "$WB_TOP/guest/lib.sh"

cycles=${WB_CYCLES:-5}
delay=${WB_DELAY:-8000}
P=/sys/module/kvm/parameters/wb_vmlist_delay_ms
walks() { dmesg | grep -c "test-only: vm_list walk on CPU1 waits"; }
dying() { dmesg | grep -c "test-only: the VM is being destroyed"; }

check "kvm and kvm-amd load" load_kvm
check "the test kernel has kvm.wb_vmlist_delay_ms" test -w "$P"
echo "$delay" > "$P"
fail=0 missed=0 vmfail=0 early=0
for i in $(seq "$cycles"); do
	set_online 1 0 || { fail=$((fail + 1)); continue; }
	hold_vm 0 || { vmfail=$((vmfail + 1)); continue; }
	before=$(walks) d0=$(dying)
	rm -f /tmp/online.rc
	( set_online 1 1; echo $? > /tmp/online.rc ) &
	on=$!
	# wait until the walk is at the held VM, then close the VM
	for t in $(seq 400); do
		[ "$(walks)" -gt "$before" ] && break
		sleep 0.05
	done
	[ "$(walks)" -gt "$before" ] || missed=$((missed + 1))
	release_vm > /dev/null || vmfail=$((vmfail + 1))
	wait $on
	[ "$(cat /tmp/online.rc 2>/dev/null)" = 0 ] || fail=$((fail + 1))
	[ "$(dying)" -gt "$d0" ] || early=$((early + 1))
	echo "cycle $i: $fail onlines failed, walk missed $missed, VM failures $vmfail"
done
echo 0 > "$P"
echo "# $cycles cycles, $fail onlines failed, the walk missed the closing VM $missed times, $vmfail held VMs failed"
check "CPU 1 came online every cycle" test "$fail" = 0
check "the walk of vm_list was waiting at the VM when it was closed, every cycle" test "$missed" = 0
check "every held VM ran until closed" test "$vmfail" = 0
check "the VM's destruction had begun while the walk waited at it, every cycle" test "$early" = 0
# the test-only wait ends early, saying so, if the VM leaves vm_list under it
check "no VM left vm_list while the walk waited at it" \
	test "$(dmesg | grep -c 'test-only: the VM left vm_list during the wait')" = 0
check "a VM created afterwards runs" "$KVMTEST" run
check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0
