# The seeded race fuzzer (guest/fuzz.c; make fuzz).  wb.seed= (1),
# wb.seconds= (300), wb.threads= (4), wb.kinds= (all) and wb.pct= (failslab's
# probability, 10) reach guest/fuzz: its threads create and destroy VMs and
# vCPUs, run guests, set and delete memory slots, take CPUs 1.. offline and
# online, unload and load kvm-amd and kvm, suspend (pm_test=core) and inject
# faults (fail_function at KVM's enabling and load steps, failslab), each
# thread its own sequence from the seed.  Its TAP says whether every
# operation ended as its kind allows, every guest exit was one the guest can
# make, the taint did not change and lockdep stayed on; then this script
# checks the machine afterwards: every CPU online, the modules loaded,
# virtualization off everywhere with no VM, a guest runs, kmemleak finds
# nothing.  Everything from the fuzz on runs from tmpfs (virtio-9p does not
# survive a suspend) and reports on the console.  (4 CPUs.)
. "$WB_TOP/guest/lib.sh"
. "$WB_TOP/guest/boots/torture-lib.sh"

export SEED=${WB_SEED:-1} SECS=${WB_SECONDS:-300} THREADS=${WB_THREADS:-4}
export KINDS=${WB_KINDS:-all} PCT=${WB_PCT:-10}
check "kvm and kvm-amd load" load_kvm
before_suspend 0
cp "$WB_TOP/guest/fuzz-static" /tmp/bin/fuzz
# No usermode modprobe: an open of /dev/kvm racing kvm-amd's unload asks
# for char-major-10-232, and /sbin/modprobe is on the 9p that a suspend
# killed: the opener hung for good, and every suspend after it waited 5 s
# for the helper (seen, series, seed 2).  With an empty path
# request_module() returns -ENOENT at once.
echo > /proc/sys/kernel/modprobe
kmemleak_reset
echo "fuzz: seed $SEED, $SECS s, $THREADS threads, kinds $KINDS, failslab $PCT%"
# what replays this boot, from the host
echo "fuzz: replay this boot: python3 scripts/scenarios.py run $WB_KERNEL fuzz" \
	"--set append=\"wb.seed=$SEED wb.seconds=$SECS wb.threads=$THREADS wb.kinds=$KINDS wb.pct=$PCT\"" \
	"--set timeout=$((SECS + 900))"
echo "from here on only tmpfs is used"
cat > /tmp/bin/after.sh <<'EOS'
. /tmp/bin/tmpfs-lib.sh
fuzz --seed "$SEED" --seconds "$SECS" --threads "$THREADS" --kinds "$KINDS" \
	--failslab-pct "$PCT" --modules /tmp/mod --console --tap-base "$n" --tap-file /tmp/fuzz.tap
say "fuzz: exit status $?"
n=$((n + $(busybox grep -c -E '^(not )?ok ' /tmp/fuzz.tap)))
t "every CPU online after the fuzz" sh -c 'cd /sys/devices/system/cpu; echo "online $(cat online), present $(cat present)"; [ "$(cat online)" = "$(cat present)" ]'
t "kvm and kvm-amd loaded after the fuzz" sh -c 'busybox grep -E "^kvm(_amd)? " /proc/modules; [ "$(busybox grep -c -E "^kvm(_amd)? " /proc/modules)" = 2 ]'
t "EFER.SVME clear on every CPU once the fuzz's VMs are gone" all_virt 0
t "a guest runs on CPU 0 after the fuzz" kvmtest-static run --cpu 0
t "a guest runs on CPU 1 after the fuzz" kvmtest-static run --cpu 1
sleep 6
echo scan > /sys/kernel/debug/kmemleak
cat /sys/kernel/debug/kmemleak > /tmp/kmemleak.txt
t "kmemleak finds nothing after the fuzz" sh -c '! busybox grep -q "^unreferenced object" /tmp/kmemleak.txt'
head -40 /tmp/kmemleak.txt | while read -r l; do say "  $l"; done
finish
EOS
exec /tmp/bin/busybox sh /tmp/bin/after.sh
