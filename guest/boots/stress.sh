# Compatible CPUs under churn: CPUs 1 and 2 go offline and online 200 times
# in all while two threads create, run and destroy VMs on every CPU; a VM
# held open on CPU 0 must keep running; on x86, EFER.SVME must then be set
# on every online CPU while the VM exists and clear on every CPU once it is
# gone.  With lockdep on, any report fails the boot.  (3 CPUs; also the
# arm64 lane's arm64-stress.)
. "$WB_TOP/guest/lib.sh"

cycles=${WB_CYCLES:-200}
check "kvm and kvm-amd load" load_kvm
check "a VM is held open on CPU 0" hold_vm 0
"$KVMTEST" churn --threads 2 --seconds 100000 --cpus 0-2 > /tmp/churn.out 2>&1 &
churn=$!
fail=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	c=$(( i % 2 + 1 ))
	set_online "$c" 0 || { fail=$((fail + 1)); continue; }
	set_online "$c" 1 || fail=$((fail + 1))
	[ $((i % 50)) = 0 ] && echo "cycle $i, $fail failed, $(( $(date +%s) - start ))s"
done
kill -INT $churn; wait $churn; churn_rc=$?
cat /tmp/churn.out
check "$cycles offline/online cycles of CPUs 1-2 with VMs coming and going" test "$fail" = 0
check "every VM created during the cycles ran (churn)" test "$churn_rc" = 0
# arm64 has no register to read whether virtualization is on
[ "$WB_LANE" = arm64 ] || check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
check "the held VM ran throughout the cycles" release_vm
[ "$WB_LANE" = arm64 ] || check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0
