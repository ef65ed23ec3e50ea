# Linux 6.12: enabling virtualization on a CPU coming online walks vm_list
# while VMs are created and destroyed.  A test-only patch
# (config/test-only/6.12/) makes the walk wait wb.delay= ms (500) at each VM;
# CPU 1 goes offline and online wb.cycles= times (10) while two threads
# create, run and destroy VMs on CPU 0 and a VM is held open there.  6.12 as
# shipped walks with no lock held: a VM destroyed meanwhile is freed under
# the walk (general protection fault on LIST_POISON).  The series makes the
# walk and the list's writers exclude each other.
. "$WB_TOP/guest/lib.sh"

cycles=${WB_CYCLES:-10}
delay=${WB_DELAY:-500}
P=/sys/module/kvm/parameters/wb_vmlist_delay_ms
waits() { dmesg | grep -c "test-only: vm_list walk on CPU1 waits"; }

check "kvm and kvm-amd load" load_kvm
check "kvm.ko has the test-only delay of the vm_list walk" test -w "$P"
check "a VM is held open on CPU 0" hold_vm 0
"$KVMTEST" churn --threads 2 --seconds 100000 --cpus 0 > /tmp/churn.out 2>&1 &
churn=$!
sleep 2
before=$(waits)
echo "$delay" > "$P"
fail=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	set_online 1 0 || { fail=$((fail + 1)); continue; }
	set_online 1 1 || fail=$((fail + 1))
	echo "cycle $i: $fail failed, $(( $(waits) - before )) waits, $(( $(date +%s) - start )) s"
done
echo 0 > "$P"
n=$(( $(waits) - before ))
kill -INT $churn; wait $churn; rc=$?
cat /tmp/churn.out
echo "$cycles cycles, the walk waiting $delay ms a VM: $fail failed, $n waits"
check "CPU 1 goes offline and online while VMs come and go" test "$fail" = 0
check "the walk waited at a VM at every online" test "$n" -ge "$cycles"
check "every VM created meanwhile ran (churn)" test "$rc" = 0
check "the held VM kept running" release_vm
