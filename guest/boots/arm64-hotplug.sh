# KVM/arm64 (built in) under QEMU's TCG with EL2, VHE by default or nVHE
# (kvm-arm.mode=nvhe, wb.mode=nvhe): KVM initialises in that mode, a guest
# runs, then with a VM held open and running on CPU 0, CPU 1 goes offline
# and online wb.cycles (20) times and a guest runs on CPU 1 after each
# online.  KVM's CPU hotplug callback enables virtualization on CPU 1 each
# time, now after arm64's vGIC and timer STARTING callbacks.  (2 CPUs.)
. "$WB_TOP/guest/lib.sh"

mode=${WB_MODE:-vhe}
cycles=${WB_CYCLES:-20}
case $mode in
vhe)  want="VHE mode initialized successfully" ;;
# 6.12 names the flavour: "Hyp nVHE mode" (6.1: "Hyp mode")
nvhe) case $(uname -r) in
      6.1.*) want="Hyp mode initialized successfully" ;;
      *)     want="Hyp nVHE mode initialized successfully" ;;
      esac ;;
esac
dmesg | grep -E "kvm \[|CPU features: detected: Virtualization Host"
check "KVM initialised in $mode mode ($want)" eval 'dmesg | grep -q "kvm \[[0-9]*\]: $want"'
check "a guest runs" "$KVMTEST" run --count 3
check "a guest runs on CPU 1" "$KVMTEST" run --cpu 1
check "a VM is held open on CPU 0" hold_vm 0
fail=0
start=$(date +%s)
for i in $(seq "$cycles"); do
	set_online 1 0 || { fail=$((fail + 1)); continue; }
	# a hotplug callback that dies leaves the write blocked for good
	timeout -s KILL 60 sh -c 'echo 1 > /sys/devices/system/cpu/cpu1/online' || { fail=$((fail + 1)); break; }
	"$KVMTEST" run --cpu 1 || fail=$((fail + 1))
done
echo "$cycles cycles in $(( $(date +%s) - start ))s, $fail failed"
check "$cycles offline/online cycles of CPU 1 with a VM running, a guest on CPU 1 after each" test "$fail" = 0
check "the held VM ran throughout" release_vm
check "CPU 1 offline and online without a VM" eval 'set_online 1 0 && set_online 1 1'
check "a guest runs on CPU 1 afterwards" "$KVMTEST" run --cpu 1
