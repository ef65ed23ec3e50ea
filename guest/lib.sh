# Helpers for guest boot scripts (guest/boots/*.sh), sourced by them.
# Results go to $WB_RESULTS/tap.txt as TAP; everything printed lands on the
# console with a "wb: " prefix (guest/init.sh).
MOD=$WB_TOP/build/out/$WB_KERNEL
KVMTEST=$WB_TOP/guest/kvmtest
TAP=$WB_RESULTS/tap.txt
_n=0
[ -f "$TAP" ] || echo "TAP version 13" > "$TAP"

ok()   { _n=$((_n + 1)); echo "ok $_n - $1${2:+ # $2}" >> "$TAP"; echo "ok $_n - $1${2:+ # $2}"; }
nok()  { _n=$((_n + 1)); echo "not ok $_n - $1${2:+ # $2}" >> "$TAP"; echo "not ok $_n - $1${2:+ # $2}"; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2" >> "$TAP"; echo "ok $_n - $1 # SKIP $2"; }
# check NAME CMD...: one test point from a command's exit status
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name" "exit $?"; fi; }

# Ask the host (scripts/boot.py) to hot-add a CPU, e.g. hotadd socket-id=2 svm=off
hotadd() { echo "@@wb-host hotadd $*" > /dev/console; }
wait_for_cpu() { # N [seconds]
	local i
	for i in $(seq $((${2:-30} * 10))); do
		[ -e /sys/devices/system/cpu/cpu$1/online ] && return 0
		sleep 0.1
	done
	return 1
}
# set_online N 0|1: prints the error of a refused write; returns its status
set_online() {
	local err
	err=$( { echo "$2" > /sys/devices/system/cpu/cpu$1/online; } 2>&1 )
	local rc=$?
	[ -n "$err" ] && echo "cpu$1 online=$2: ${err##*: }"
	return $rc
}
is_online() { [ "$(cat /sys/devices/system/cpu/cpu$1/online 2>/dev/null)" = 1 ]; }
online_cpus() { cat /sys/devices/system/cpu/online; }
cpu_list() { # expand "0-2,4" into "0 1 2 4"
	local r a b out=""
	for r in $(echo "$1" | tr , ' '); do
		a=${r%-*}; b=${r#*-}
		out="$out $(seq "$a" "$b" | tr '\n' ' ')"
	done
	echo $out
}

# kvm.ko needs irqbypass.ko (a module whenever KVM is), loaded once per boot
insmod "$MOD/irqbypass.ko" 2>/dev/null
# wb.vendor=intel (the Bochs lane) makes these use kvm-intel
VENDOR=${WB_VENDOR:-amd}
load_kvm() { insmod "$MOD/kvm.ko" && insmod "$MOD/kvm-$VENDOR.ko"; }
unload_kvm() { rmmod "kvm_$VENDOR" && rmmod kvm; }
kvm_loaded() { grep -q "^kvm_$VENDOR " /proc/modules; }

# EFER.SVME (bit 12) of CPU N, read through the msr driver: prints 0 or 1
svme() {
	local v
	v=$(dd if=/dev/cpu/$1/msr bs=8 count=1 skip=$((0xc0000080)) iflag=skip_bytes 2>/dev/null | od -An -tu8 | tr -d ' ')
	[ -n "$v" ] || { echo "?"; return; }
	echo $(( (v >> 12) & 1 ))
}
# all_svme 0|1: every online CPU has EFER.SVME equal to $1
all_svme() {
	local c bad=""
	for c in $(cpu_list "$(online_cpus)"); do
		[ "$(svme "$c")" = "$1" ] || bad="$bad cpu$c=$(svme "$c")"
	done
	[ -z "$bad" ] || { echo "EFER.SVME expected $1 on every online CPU, got:$bad"; return 1; }
}

# Start a VM that stays open (kvmtest hold), pinned to CPU $1; sets HOLD_PID
hold_vm() {
	rm -f /tmp/stop-hold
	"$KVMTEST" hold --cpu "$1" --until-file /tmp/stop-hold --max-seconds 900 > /tmp/hold.out 2>&1 &
	HOLD_PID=$!
	local i
	for i in $(seq 300); do
		grep -q ready /tmp/hold.out && return 0
		kill -0 $HOLD_PID 2>/dev/null || break
		sleep 0.1
	done
	cat /tmp/hold.out
	return 1
}
# Stop the held VM: succeeds if it ran without a failure the whole time
release_vm() {
	touch /tmp/stop-hold
	wait $HOLD_PID
	local rc=$?
	cat /tmp/hold.out
	return $rc
}
# dmesg lines since the mark: mark_dmesg; ...; new_dmesg
mark_dmesg() { _mark=$(dmesg | wc -l); }
new_dmesg() { dmesg | tail -n +$((_mark + 1)); }
