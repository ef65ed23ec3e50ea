# Linux 6.12: kvm_init() failing after it created /sys/kernel/debug/kvm.
# EFER.SVME already set on CPU 1 (as another hypervisor would leave it)
# makes enabling virtualization there fail at load (-EBUSY), so loading
# kvm-amd fails.  The series removes KVM's debugfs directory on that error
# path; 6.12 as shipped leaves it behind, and the next load cannot create
# it ("Directory 'kvm' with parent '/' already present!").
. "$WB_TOP/guest/lib.sh"

# efer_svme CPU 0|1: clear or set EFER.SVME (MSR 0xc0000080, bit 12) of
# CPU through the msr driver; prints the new EFER
efer_svme() {
	python3 - "$1" "$2" <<'PY'
import os, struct, sys
cpu, on = int(sys.argv[1]), sys.argv[2] == "1"
fd = os.open(f"/dev/cpu/{cpu}/msr", os.O_RDWR)
efer = struct.unpack("<Q", os.pread(fd, 8, 0xc0000080))[0]
efer = efer | (1 << 12) if on else efer & ~(1 << 12)
os.pwrite(fd, struct.pack("<Q", efer), 0xc0000080)
print(f"EFER of CPU {cpu}: {struct.unpack('<Q', os.pread(fd, 8, 0xc0000080))[0]:#x}")
PY
}

check "kvm.ko loads" insmod "$MOD/kvm.ko"
check "EFER.SVME set on CPU 1 before kvm-amd loads" efer_svme 1 1
mark_dmesg
if insmod "$MOD/kvm-amd.ko"; then nok "kvm-amd does not load while CPU 1 has EFER.SVME set" "it loaded"
else ok "kvm-amd does not load while CPU 1 has EFER.SVME set"; fi
new_dmesg | grep -iE "kvm|svm|debugfs"
check "the failed load names CPU 1" eval "new_dmesg | grep -q 'kvm: enabling virtualization on CPU1 failed'"
# (only looked at: the files a failed load leaves point into the module)
ls -d /sys/kernel/debug/kvm 2>&1
check "no /sys/kernel/debug/kvm is left after the failed load" test ! -e /sys/kernel/debug/kvm
check "EFER.SVME cleared on CPU 1" efer_svme 1 0
mark_dmesg
check "kvm-amd loads once CPU 1 is free" insmod "$MOD/kvm-amd.ko"
new_dmesg | grep -iE "kvm|svm|debugfs"
check "the load finds no stale debugfs directory" \
	eval "! new_dmesg | grep -q \"Directory 'kvm' with parent '/' already present\""
check "KVM's debugfs statistics exist" test -e /sys/kernel/debug/kvm/halt_exits
check "a VM runs" "$KVMTEST" run
check "kvm-amd and kvm unload" unload_kvm
check "no /sys/kernel/debug/kvm after the unload" test ! -e /sys/kernel/debug/kvm
