#!/bin/bash
# PID 1 of a test guest (see scripts/boot.py): the host's root file system,
# read-only over 9p.  Sets up a minimal userspace, runs the boot's script
# (wb.script= on the kernel command line) and powers the guest off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /tmp/results /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L results /tmp/results
# wb.NAME=VALUE on the kernel command line becomes WB_NAME=VALUE
for w in $(cat /proc/cmdline); do
	case $w in
	wb.*=*) k=${w%%=*}; k=${k#wb.}; export "WB_${k^^}=${w#*=}" ;;
	esac
done
export WB_RESULTS=/tmp/results
[ -n "$WB_SCRIPT" ] || echo "wb: no wb.script= in /proc/cmdline: $(cat /proc/cmdline)"
echo "wb: guest up, kernel $(uname -r), $(nproc) CPUs online, running ${WB_SCRIPT#$WB_TOP/}"
cd /tmp
bash "$WB_SCRIPT" 2>&1 | sed -u 's/^/wb: /'
tap=$WB_RESULTS/tap.txt
n=$(grep -c '^\(not \)\?ok ' "$tap" 2>/dev/null)
echo "ok $((n + 1)) - guest script completed" >> "$tap"
echo "wb: script done"
sync
# QEMU runs with -no-reboot, so a reboot ends it.
busybox reboot -f
sleep 10
