# Helpers for the part of a guest script that runs after a suspend, from
# tmpfs only (virtio-9p, the guest's root file system, does not survive a
# suspend).  to_tmpfs (guest/lib.sh) copies this file, busybox and a static
# kvmtest to /tmp/bin; the script's tail (/tmp/bin/after.sh) sources it.
# Results go to the console as "wb: " lines, from where scripts/boot.py
# collects them; TAP numbers start at 101.
#   t NAME CMD...     one TAP line: CMD's exit status, then its output
#   say TEXT          a line on the console
#   all_virt 0|1      every online CPU has EFER.SVME 0|1 (the wb_virt module)
#   now               seconds since boot (busybox date reads /etc/localtime,
#                     on the dead 9p)
#   finish            "guest script completed", then reboot at once (a sync
#                     or a shutdown would wait for the dead 9p)
PATH=/tmp/bin
n=100
say() { echo "wb: $*" > /dev/console; }
t() {
	name=$1; shift
	n=$((n + 1))
	if "$@" > /tmp/out 2>&1; then say "ok $n - $name"; else say "not ok $n - $name # exit $?"; fi
	while read -r l; do say "  $l"; done < /tmp/out
}
all_virt() { ! busybox grep -v " svme=$1" /sys/kernel/debug/wb_virt; }
now() { read -r up _ < /proc/uptime; echo "${up%.*}"; }
finish() {
	say "ok $((n + 1)) - guest script completed"
	sleep 1                         # let the console drain before the kernel's "Resetting"
	echo b > /proc/sysrq-trigger
}
