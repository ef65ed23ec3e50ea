# Helpers for guest boot scripts (guest/boots/*.sh), sourced by them.
# Results go to $WB_RESULTS/tap.txt as TAP; everything printed lands on the
# console with a "wb: " prefix (guest/init.sh).
MOD=${WB_OUT:-$WB_TOP/build/out/$WB_KERNEL}
KVMTEST=$WB_TOP/guest/kvmtest
TAP=$WB_RESULTS/tap.txt
[ -f "$TAP" ] || echo "TAP version 13" > "$TAP"
# numbered on from what an earlier kernel of this boot reported (kexec)
_n=$(grep -c '^\(not \)\?ok ' "$TAP")

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
# modparams MODULE: MODULE.NAME=VALUE of the kernel command line as insmod
# arguments, as modprobe passes them (insmod does not read the command line),
# e.g. kvm.enable_virt_at_load=0 on 6.12
modparams() {
	local w
	for w in $(cat /proc/cmdline); do
		case $w in "$1".*=*) printf '%s ' "${w#"$1".}" ;; esac
	done
}
load_kvm() { insmod "$MOD/kvm.ko" $(modparams kvm) && insmod "$MOD/kvm-$VENDOR.ko" $(modparams "kvm_$VENDOR"); }
unload_kvm() { rmmod "kvm_$VENDOR" && rmmod kvm; }
kvm_loaded() { grep -q "^kvm_$VENDOR " /proc/modules; }
if [ "$WB_LANE" = arm64 ]; then		# KVM is built in on arm64
	load_kvm() { test -c /dev/kvm; }
	unload_kvm() { false; }
	kvm_loaded() { test -c /dev/kvm; }
fi

# Whether hardware virtualization is on, per CPU, read on the CPU by the
# wb_virt test module (guest/virt/): CR4.VMXE on Intel, EFER.SVME on AMD.
VIRTBIT=$([ "$VENDOR" = intel ] && echo vmxe || echo svme)
VIRTNAME=$([ "$VENDOR" = intel ] && echo CR4.VMXE || echo EFER.SVME)
[ -e /sys/kernel/debug/wb_virt ] || [ ! -f "$MOD/wb_virt.ko" ] || insmod "$MOD/wb_virt.ko"
# virt_on N: virtualization is on on CPU N
virt_on() { grep -q "^cpu$1 .*$VIRTBIT=1" /sys/kernel/debug/wb_virt; }
# all_virt 0|1: every online CPU has virtualization off (0) or on (1)
all_virt() {
	local bad
	[ -e /sys/kernel/debug/wb_virt ] || { echo "no wb_virt module on this lane"; return 1; }
	bad=$(grep -v " $VIRTBIT=$1" /sys/kernel/debug/wb_virt)
	[ -z "$bad" ] || { echo "$VIRTNAME expected $1 on every online CPU, got: $bad"; return 1; }
}

# expect_refused N WHAT WHY: onlining CPU N (WHAT says how it differs)
# must fail, and the kernel log must name the CPU and why (grep -E WHY).
# Two test points: "onlining CPU N WHAT is refused" and
# "the refusal of CPU N WHAT says why".
expect_refused() {
	local cpu=$1 what=$2 why=$3
	mark_dmesg
	if set_online "$cpu" 1; then nok "onlining CPU $cpu $what is refused" "online succeeded"
	else ok "onlining CPU $cpu $what is refused"; fi
	new_dmesg | grep -i -E "kvm|svm|vmx|cr4|cpu ?$cpu"
	check "the refusal of CPU $cpu $what says why" eval "new_dmesg | grep -q -E '$why'"
}

# online_in_reboot_window CPU [FILE]: in the background, online CPU as soon
# as KVM's reboot notifier has run (its test-only line "reboot notifier
# done" in /dev/kmsg; the notifier then waits wb_reboot_delay_ms, user
# space still running), saying so on the console; the write's exit status
# goes to FILE when given.
online_in_reboot_window() {
	(
		grep -q -m1 "test-only: reboot notifier done" /dev/kmsg || exit
		echo "wb: onlining CPU $1 inside KVM's reboot notifier window" > /dev/kmsg
		if echo 1 > /sys/devices/system/cpu/cpu$1/online; then r=0; else r=$?; fi
		echo "wb: CPU $1 online: exit $r" > /dev/kmsg
		[ -z "${2:-}" ] || echo "$r" > "$2"
	) > /dev/null 2>&1 &
}
# Start a VM that stays open (kvmtest hold), pinned to CPU $1, for $2 seconds
# at most (900); sets HOLD_PID
hold_vm() {
	rm -f /tmp/stop-hold
	"$KVMTEST" hold --cpu "$1" --until-file /tmp/stop-hold --max-seconds "${2:-900}" > /tmp/hold.out 2>&1 &
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
# to_tmpfs: copy busybox, a static kvmtest and guest/tmpfs-lib.sh to /tmp/bin,
# and kvm.ko and kvm-$VENDOR.ko (without debug information: a third of the
# size, quicker to load) to /tmp/mod, for what runs after a suspend (9p does
# not survive one) or loads the modules many times
to_tmpfs() {
	mkdir -p /tmp/bin /tmp/mod
	cp /bin/busybox "$WB_TOP/guest/tmpfs-lib.sh" /tmp/bin/
	# (the Bochs lane's initramfs has the static one as guest/kvmtest)
	cp "$WB_TOP/guest/kvmtest-static" /tmp/bin/ 2>/dev/null || cp "$KVMTEST" /tmp/bin/kvmtest-static
	local m
	for m in kvm kvm-$VENDOR; do
		strip --strip-debug -o /tmp/mod/$m.ko "$MOD/$m.ko" 2>/dev/null || cp "$MOD/$m.ko" /tmp/mod/
	done
}
# before_suspend DELAY: to_tmpfs, and pm_test waits DELAY seconds in the
# suspended state (the script's tail then runs from /tmp/bin/after.sh)
before_suspend() {
	to_tmpfs
	echo "$1" > /sys/module/suspend/parameters/pm_test_delay
}
