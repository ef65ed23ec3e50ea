# Benchmarks (make bench, scripts/bench.py): prints one line per sample,
#   bench METRIC VALUE          (times in microseconds, churn in VMs/s)
# for scripts/bench.py to compare the two kernels.  Options (wb.NAME=VALUE):
#   wb.reps=N          samples per metric (default 20)
#   wb.churn=S         VM churn runs of S seconds with 1, 2 and 4 creators
#                      (default 0: none)
#   wb.churn_reps=N    churn runs per creator count (default 5)
#   wb.cbstate=RE      the cpuhp states (grep -E on their names) timed as
#                      KVM's callback (default kvm/cpu: KVM's own state)
# Metrics: {nokvm,kvm,vm}_{offline,online}: the last CPU going offline and
# online without KVM, with kvm-amd loaded, and with a VM held open;
# {kvm,vm}_{offline,online}_kvmcb: time in KVM's CPU-hotplug callback within
# that offline or online, from the cpuhp_enter/cpuhp_exit tracepoints: only
# where they fire, which is not in the STARTING/DYING sections (the base's
# KVM callback), as tracepoints are off on a CPU not marked online;
# vm_first_{create,destroy}: KVM_CREATE_VM and the close of the VM with no
# other VM open (usage count 0 -> 1 -> 0); vm_other_{create,destroy}: the
# same with a VM held open; insmod, rmmod: kvm-amd; churnT: VMs/s with T
# creators.  Kernel messages are kept off the console while measuring (the
# serial console would be timed too) and checked at the end.
. "$WB_TOP/guest/lib.sh"

reps=${WB_REPS:-20}
ncpu=$(nproc)
cpu=/sys/devices/system/cpu/cpu$((ncpu - 1))
T=/sys/kernel/tracing
out() { echo "bench $*"; }
us() { echo $(( ${2/./} - ${1/./} )); }	# us between two $EPOCHREALTIME values

mountpoint -q $T || mount -t tracefs nodev $T
echo local > $T/trace_clock	# sched_clock (TSC): cheap to read, enter and exit are on one CPU
dmesg -n 1
mark_dmesg
cp "$MOD/kvm-amd.ko" /tmp/
echo "$ncpu CPUs, $reps samples per metric, CPU $((ncpu - 1)) goes offline and online"

# Record cpuhp_enter/cpuhp_exit of KVM's hotplug state only; prints it.
trace_kvm_states() {
	local steps f
	steps=$(grep -E "${WB_CBSTATE:-kvm/cpu}" /sys/devices/system/cpu/hotplug/states | awk -F: '{ print $1 + 0 }')
	grep -E "${WB_CBSTATE:-kvm/cpu}" /sys/devices/system/cpu/hotplug/states
	f=$(for s in $steps; do echo "idx == $s"; done | paste -sd '|' | sed 's/|/ || /g')
	for e in cpuhp_enter cpuhp_exit; do
		echo "$f" > $T/events/cpuhp/$e/filter
		echo 1 > $T/events/cpuhp/$e/enable
	done
}
# Microseconds between each cpuhp_enter and the following cpuhp_exit in the
# trace buffer, summed; nothing if there is no cpuhp_enter.
kvm_cb_us() {
	awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^cpuhp_(enter|exit):$/) {
		t = $i; sub(/:$/, "", t); sub(/\./, "", t)
		if ($(i + 1) == "cpuhp_enter:") t0 = t; else s += t - t0 } }
		END { if (t0 != "") print s + 0 }' $T/trace
}
# cycles NAME: one warm-up and $reps offline/online cycles of the last CPU
cycles() {
	local i t0 t1 t2 t3 cb
	for i in $(seq 0 "$reps"); do
		echo > $T/trace
		t0=$EPOCHREALTIME; echo 0 > $cpu/online || return 1; t1=$EPOCHREALTIME
		[ "$i" = 0 ] || out "${1}_offline $(us $t0 $t1)"
		cb=$(kvm_cb_us)
		[ "$i" = 0 ] || [ -z "$cb" ] || out "${1}_offline_kvmcb $cb"
		echo > $T/trace
		t2=$EPOCHREALTIME; echo 1 > $cpu/online || return 1; t3=$EPOCHREALTIME
		[ "$i" = 0 ] || out "${1}_online $(us $t2 $t3)"
		cb=$(kvm_cb_us)
		[ "$i" = 0 ] || [ -z "$cb" ] || out "${1}_online_kvmcb $cb"
	done
}
# vmtime NAME: one warm-up and $reps VM creations and destructions
vmtime() {
	"$KVMTEST" vmtime --count $((reps + 1)) > /tmp/vmtime.out || { cat /tmp/vmtime.out; return 1; }
	awk -v n="$1" 'NR > 1 { print "bench " n "_create " $4; print "bench " n "_destroy " $6 }' /tmp/vmtime.out
}

if [ "$ncpu" -gt 1 ]; then
	check "CPU offline/online without KVM" cycles nokvm
else
	echo "one CPU: no CPU offline/online (CPU 0 stays online)"
fi
check "kvm and kvm-amd load" load_kvm
for i in $(seq 0 "$reps"); do
	t0=$EPOCHREALTIME; rmmod kvm_amd || break; t1=$EPOCHREALTIME
	insmod /tmp/kvm-amd.ko || break; t2=$EPOCHREALTIME
	[ "$i" = 0 ] && continue
	out "rmmod $(us $t0 $t1)"
	out "insmod $(us $t1 $t2)"
done
check "kvm-amd unloads and loads $reps times" kvm_loaded
trace_kvm_states
if [ "$ncpu" -gt 1 ]; then
	check "CPU offline/online with kvm-amd loaded" cycles kvm
fi
check "first VM created and last destroyed $reps times" vmtime vm_first
check "a VM is held open on CPU 0" hold_vm 0
if [ "$ncpu" -gt 1 ]; then
	check "CPU offline/online with a VM open" cycles vm
fi
check "VMs created and destroyed beside the open one" vmtime vm_other
check "the held VM ran throughout" release_vm
if [ "${WB_CHURN:-0}" -gt 0 ]; then
	for t in 1 2 4; do
		for i in $(seq "${WB_CHURN_REPS:-5}"); do
			"$KVMTEST" churn --threads $t --seconds "$WB_CHURN" > /tmp/churn.out 2>&1 ||
				{ cat /tmp/churn.out; break; }
			n=$(awk '/vms created/ { print $3 }' /tmp/churn.out)
			out "churn$t $(awk -v n="$n" -v s="$WB_CHURN" 'BEGIN { print n / s }')"
		done
	done
fi
for e in cpuhp_enter cpuhp_exit; do echo 0 > $T/events/cpuhp/$e/enable; done
dmesg -n 7
check "no kernel warning while measuring" eval '! new_dmesg | grep -E "WARNING|BUG|Oops|lockdep|circular|general protection"'
echo "bench done"
