# The vm_list race of 6.1 (the series' stable patch "KVM: Hold kvm_count_lock
# while adding or removing a VM from vm_list"), made to happen on every run:
# with the test-only kvm.wb_vmlist_delay_ms (config/test-only/base/0003 and
# its series counterpart), enabling virtualization on CPU 1 as it comes
# online waits at each VM of vm_list, while two threads create, run and
# destroy VMs on CPU 0 and a VM is held open there.  6.1 follows the list
# entry of a VM destroyed during the wait (LIST_POISON1) and takes a general
# protection fault in kvm_arch_hardware_enable(); the series makes the
# destruction wait for the walk.  (2 CPUs; wb.cycles= onlines, default 20;
# wb.delay= ms per VM, default 500.)
. "$WB_TOP/guest/lib.sh"

cycles=${WB_CYCLES:-20}
delay=${WB_DELAY:-500}
P=/sys/module/kvm/parameters/wb_vmlist_delay_ms
walks() { dmesg | grep -c "test-only: vm_list walk on CPU1 waits"; }

check "kvm and kvm-amd load" load_kvm
check "the test kernel has kvm.wb_vmlist_delay_ms" test -w "$P"
check "a VM is held open on CPU 0" hold_vm 0
"$KVMTEST" churn --threads 2 --seconds 100000 --cpus 0 > /tmp/churn.out 2>&1 &
churn=$!
sleep 2
before=$(walks)
echo "$delay" > "$P"
fail=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	set_online 1 0 || { fail=$((fail + 1)); continue; }
	set_online 1 1 || fail=$((fail + 1))
	echo "cycle $i: $fail failed, $(( $(walks) - before )) waits, $(( $(date +%s) - start ))s"
done
echo 0 > "$P"
waits=$(( $(walks) - before ))
kill -INT $churn; wait $churn; churn_rc=$?
cat /tmp/churn.out
echo "# $cycles cycles, $fail failed, $waits waits of $delay ms at a VM"
check "CPU 1 went offline and online every cycle, its vm_list walk waiting at each VM" \
	test "$fail" = 0
check "the walk waited at a VM at least once per online" test "$waits" -ge "$cycles"
check "every VM created during the cycles ran (churn)" test "$churn_rc" = 0
check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
check "the held VM ran throughout the cycles" release_vm
check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0
