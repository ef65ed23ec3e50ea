# Reliability suite, part 5: suspend cycles.  wb.cycles= (10; make torture:
# 50) suspend/resume cycles (pm_test=core: devices, then KVM's syscore ops;
# pm_test_delay 0) with a VM held open on CPU 0 and another process
# creating VMs and running their vCPUs on both CPUs throughout: after each
# resume EFER.SVME must be set on every CPU; the held VM runs across all of
# them; with the VMs gone virtualization is off everywhere and kmemleak finds
# nothing.  virtio-9p does not survive a suspend: from the first suspend on
# only tmpfs is used and results go to the console.  (2 CPUs.)
. "$WB_TOP/guest/lib.sh"
. "$WB_TOP/guest/boots/torture-lib.sh"

check "kvm and kvm-amd load" load_kvm
before_suspend 0
kmemleak_reset
export CYCLES=${WB_CYCLES:-10}
cat > /tmp/bin/after.sh <<'EOS'
. /tmp/bin/tmpfs-lib.sh
KL=/sys/kernel/debug/kmemleak
kvmtest-static hold --cpu 0 --until-file /tmp/stop-hold --max-seconds 3600 > /tmp/hold.out 2>&1 &
hold=$!
kvmtest-static churn --threads 1 --seconds 100000 --cpus 0-1 > /tmp/churn.out 2>&1 &
churn=$!
sleep 2
t "a VM is held open on CPU 0" grep -q ready /tmp/hold.out
fail=0 bad=0 start=$(now)
for i in $(seq "$CYCLES"); do
	echo core > /sys/power/pm_test
	echo mem > /sys/power/state || { fail=$((fail + 1)); say "cycle $i: suspend failed"; }
	echo none > /sys/power/pm_test
	all_virt 1 > /tmp/virt || { bad=$((bad + 1)); say "cycle $i: $(cat /tmp/virt)"; }
	[ $((i % 10)) = 0 ] && say "cycle $i, $fail failed, $bad without virtualization, $(( $(now) - start ))s"
done
say "suspend: $CYCLES cycles in $(( $(now) - start ))s, $fail failed, $bad with a CPU without virtualization after resume"
t "suspend/resume cycles (pm_test=core) with VMs running" [ "$fail" = 0 ]
t "EFER.SVME set on every CPU after each resume" [ "$bad" = 0 ]
kill -INT $churn
wait $churn
t "every VM created during the cycles ran (churn)" sh -c "exit $?"
while read -r l; do say "  $l"; done < /tmp/churn.out
touch /tmp/stop-hold
wait $hold
t "the held VM ran across every cycle" sh -c "exit $?"
while read -r l; do say "  $l"; done < /tmp/hold.out
t "EFER.SVME clear on every CPU after the VMs closed" all_virt 0
t "a guest runs on CPU 1 afterwards" kvmtest-static run --cpu 1
sleep 6
echo scan > $KL
cat $KL > /tmp/kmemleak.txt
t "kmemleak finds nothing after the suspend cycles" sh -c '! grep -q "^unreferenced object" /tmp/kmemleak.txt'
head -40 /tmp/kmemleak.txt | while read -r l; do say "  $l"; done
finish
EOS
echo "from here on only tmpfs is used"
exec /tmp/bin/busybox sh /tmp/bin/after.sh
