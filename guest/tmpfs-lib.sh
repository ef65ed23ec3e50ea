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
#                     or a shutdown would wait for the dead 9p); on a gcov
#                     kernel (make coverage) the coverage data first, on the
#                     console (gcov_to_console)
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
	[ ! -d /sys/kernel/debug/gcov ] || gcov_to_console
	sleep 1                         # let the console drain before the kernel's "Resetting"
	echo b > /proc/sysrq-trigger
}
# The .gcda files of /sys/kernel/debug/gcov (read with cat: debugfs gives
# them size 0) as a gzipped cpio archive ("newc": busybox's tar would look
# the owners up in /etc/passwd, on the 9p a suspend has killed, and hang),
# in hex on the console between
# "@@wb-gcov begin MD5 BYTES" and "@@wb-gcov end", each line "@@wb-gcov HEX"
# (no upper case, nothing the judge's splat scan could match);
# scripts/coverage.py decodes them from console.log and checks the MD5.
gcov_to_console() {
	busybox rm -rf /tmp/gcov /tmp/gcov.cpio /tmp/gcov.cgz
	(cd /sys/kernel/debug/gcov && busybox find . -name '*.gcda') | while read -r f; do
		busybox mkdir -p "/tmp/gcov/${f%/*}"
		busybox cat "/sys/kernel/debug/gcov/$f" > "/tmp/gcov/$f"
	done
	(cd /tmp/gcov && busybox find . -type f | busybox cpio -o -H newc -F /tmp/gcov.cpio) 2> /dev/null
	busybox gzip -c /tmp/gcov.cpio > /tmp/gcov.cgz
	set -- $(busybox md5sum /tmp/gcov.cgz) $(busybox wc -c < /tmp/gcov.cgz)
	echo "@@wb-gcov begin $1 $3" > /dev/console
	busybox xxd -p /tmp/gcov.cgz | busybox sed 's/^/@@wb-gcov /' > /dev/console
	echo "@@wb-gcov end" > /dev/console
}
