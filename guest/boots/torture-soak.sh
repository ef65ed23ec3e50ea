# Reliability suite, part 1: soak.  CPUs 1-3 go offline and online
# wb.cycles= (100) times in all (round robin) while wb.procs= (4) processes
# create, run and destroy VMs on every CPU (kvmtest churn, one thread each).
# Pass: every offline/online succeeds, every VM operation succeeds, then with
# the last VM gone virtualization is off on every CPU (EFER.SVME through the
# wb_virt module and through /dev/cpu/N/msr), kvm-amd and kvm unload, and
# kmemleak finds nothing.  With lockdep (and KASAN on the torture-* kernels,
# config/torture.config) any report fails the boot.  (4 CPUs; on Bochs,
# wb.vendor=intel: 2 CPUs, CPU 1 alone goes offline and online.)
. "$WB_TOP/guest/lib.sh"
. "$WB_TOP/guest/boots/torture-lib.sh"

cycles=${WB_CYCLES:-100}
procs=${WB_PROCS:-4}
ncpus=$(nproc)
kmemleak_reset
check "kvm and kvm-$VENDOR load" load_kvm
pids=
for p in $(seq "$procs"); do
	"$KVMTEST" churn --threads 1 --seconds 100000 --cpus "0-$((ncpus - 1))" > /tmp/churn$p.out 2>&1 &
	pids="$pids $!"
done
fail=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	c=$(( i % (ncpus - 1) + 1 ))
	set_online "$c" 0 || { fail=$((fail + 1)); continue; }
	set_online "$c" 1 || fail=$((fail + 1))
	[ $((i % 50)) = 0 ] && echo "cycle $i, $fail failed, $(( $(date +%s) - start ))s"
done
secs=$(( $(date +%s) - start ))
churn_bad=0
for p in $pids; do kill -INT "$p"; done
for p in $pids; do wait "$p" || churn_bad=$((churn_bad + 1)); done
cat /tmp/churn*.out
vms=$(cat /tmp/churn*.out | sed -n "s/.*churn: \([0-9]*\) vms created and run.*/\1/p" | awk "{s += \$1} END {print s + 0}")
echo "soak: $cycles cycles in ${secs}s, $fail failed; $procs churn processes: ${vms:-0} VMs created and run"
# (the figures are on the "soak:" line above: a test's name stays the same
# whatever wb.cycles= and however many VMs ran, expect/tests/ lists it)
check "offline/online cycles of CPUs 1-$((ncpus - 1)) while VMs come and go" test "$fail" = 0
check "every VM of the churn processes was created and ran" test "$churn_bad" = 0
check "every CPU online at the end" test "$(online_cpus)" = "0-$((ncpus - 1))"
check "$VIRTNAME clear on every CPU once the last VM is gone" all_virt 0
[ "$VENDOR" = amd ] && check "EFER.SVME clear on every CPU, read through /dev/cpu/N/msr" "$KVMTEST" svme --expect 0
check "a VM runs after the soak" "$KVMTEST" run
check "kvm-$VENDOR and kvm unload" unload_kvm
# wb.leakcheck=none (Bochs: a scan did not end within 30 min there)
[ "${WB_LEAKCHECK:-end}" = none ] || kmemleak_check "kmemleak finds nothing after the soak"
