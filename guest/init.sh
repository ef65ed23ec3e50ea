#!/bin/bash
# PID 1 of a test guest.  QEMU lane (scripts/boot.py): the host's root file
# system, read-only over 9p, and a writable 9p share for the results.
# Bochs and arm64 lanes (wb.lane=bochs|arm64): an initramfs with busybox,
# bash and the workbench under /wb; results only on the console.
# Sets up a minimal userspace, runs the boot's script (wb.script= on the
# kernel command line) and ends the boot.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev 2>/dev/null || mount -t devtmpfs devtmpfs /dev
# what udev would make: bash's process substitution <(...) needs /dev/fd
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /tmp/results /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# wb.NAME=VALUE on the kernel command line becomes WB_NAME=VALUE
for w in $(cat /proc/cmdline); do
	case $w in
	wb.*=*) k=${w%%=*}; k=${k#wb.}; export "WB_${k^^}=${w#*=}" ;;
	esac
done
# only the qemu-x86 lane has a results share; the others report on the console
[ -n "$WB_LANE" ] || mount -t 9p -o trans=virtio,version=9p2000.L results /tmp/results
export WB_RESULTS=/tmp/results
[ -n "$WB_SCRIPT" ] || echo "wb: no wb.script= in /proc/cmdline: $(cat /proc/cmdline)"
echo "wb: guest up, kernel $(uname -r), $(nproc) CPUs online, running ${WB_SCRIPT#$WB_TOP/}"
cd /tmp
bash "$WB_SCRIPT" 2>&1 | while IFS= read -r line; do echo "wb: $line"; done
tap=$WB_RESULTS/tap.txt
n=$(grep -c '^\(not \)\?ok ' "$tap" 2>/dev/null)
echo "ok $((n + 1)) - guest script completed" >> "$tap"
echo "wb: ok $((n + 1)) - guest script completed"
# A gcov kernel (make coverage: config/gcov.config): KVM's coverage data,
# kept across module unloads, into the results (gcov/, the paths as under
# /sys/kernel/debug/gcov).  Read with cat: debugfs gives the files size 0.
# The lanes without a share (Bochs), and a script that suspends and ends
# from tmpfs (tmpfs-lib.sh's finish), send them over the console instead.
if [ -z "$WB_LANE" ] && [ -d /sys/kernel/debug/gcov ]; then
	g=0
	while IFS= read -r f; do
		mkdir -p "$WB_RESULTS/gcov/${f%/*}" &&
			cat "/sys/kernel/debug/gcov/$f" > "$WB_RESULTS/gcov/$f" && g=$((g + 1))
	done < <(cd /sys/kernel/debug/gcov && find . -name '*.gcda')
	echo "wb: gcov: $g .gcda files copied to the results (gcov/)"
elif [ -d /sys/kernel/debug/gcov ]; then
	(. "$WB_TOP/guest/tmpfs-lib.sh" && PATH=/usr/bin:/bin && gcov_to_console)
	# the serial port's buffer must drain before the power-off (seen: a
	# block cut short by "reboot: Power down" on Bochs)
	sleep 2
	echo "wb: gcov: the .gcda files sent on the console"
fi
echo "wb: script done"
sync
# QEMU runs with -no-reboot, so a reboot ends it; Bochs ends at a power-off.
if [ "$WB_LANE" = bochs ]; then busybox poweroff -f; else busybox reboot -f; fi
sleep 10
