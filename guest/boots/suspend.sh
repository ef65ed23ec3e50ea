# Suspend/resume (pm_test=core: devices, then KVM's syscore suspend/resume
# ops) with a VM running on CPU 0: EFER.SVME must be back on every CPU after
# resume and guests must run.  virtio-9p, the guest's root file system, does
# not survive a suspend, so everything used from the suspend on is copied
# to tmpfs first (busybox, a static kvmtest) and reports to the console,
# from where scripts/boot.py collects the results.  (2 CPUs.)
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
before_suspend 1
cat > /tmp/bin/after.sh <<'EOS'
. /tmp/bin/tmpfs-lib.sh
kvmtest-static hold --cpu 0 --until-file /tmp/stop-hold > /tmp/hold.out 2>&1 &
hold=$!
sleep 2
t "a VM is held open on CPU 0" grep -q ready /tmp/hold.out
t "EFER.SVME set on every online CPU before suspend" all_virt 1
echo core > /sys/power/pm_test
t "suspend/resume (pm_test=core) with a VM open" sh -c 'echo mem > /sys/power/state'
echo none > /sys/power/pm_test
t "EFER.SVME set on every online CPU after resume" all_virt 1
t "a guest runs on CPU 1 after resume" kvmtest-static run --cpu 1
t "a guest runs on CPU 0 after resume" kvmtest-static run --cpu 0
touch /tmp/stop-hold
wait $hold
t "the held VM ran across suspend/resume" sh -c "exit $?"
while read -r l; do say "  $l"; done < /tmp/hold.out
t "EFER.SVME clear on every CPU after the VM closed" all_virt 0
finish
EOS
echo "from here on only tmpfs is used"
exec /tmp/bin/busybox sh /tmp/bin/after.sh
