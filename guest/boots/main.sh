# Compatible CPUs: modules load and unload, guests run (also QEMU as an L2
# hypervisor), CPUs go offline and online with and without a VM, EFER.SVME
# follows the VMs, and the lock chain of the usage-count
# lock is exercised for lockdep.  (2 CPUs of 4 possible.)
. "$WB_TOP/guest/lib.sh"

check "kvm.ko loads" insmod "$MOD/kvm.ko"
mark_dmesg
if insmod "$MOD/kvm-intel.ko" 2>/dev/null; then nok "kvm-intel refuses to load without VMX"; rmmod kvm_intel
else ok "kvm-intel refuses to load without VMX"; fi
new_dmesg | grep kvm_intel
check "kvm-intel names the CPU without VMX" eval 'new_dmesg | grep -q -E "kvm_intel: CPU [0-9]+ cannot run guests: it does not support VMX"'
check "kvm-amd loads" insmod "$MOD/kvm-amd.ko"
check "a guest runs" "$KVMTEST" run --count 3
check "EFER.SVME clear on every CPU before the first VM" all_virt 0

check "a VM is held open on CPU 0" hold_vm 0
check "EFER.SVME set on every online CPU while a VM exists" all_virt 1
check "CPU 1 goes offline with a VM open" set_online 1 0
check "CPU 1 comes online with a VM open" set_online 1 1
check "EFER.SVME set on the re-onlined CPU 1" virt_on 1
check "a guest runs on the re-onlined CPU 1" "$KVMTEST" run --cpu 1
check "the held VM ran throughout" release_vm
check "EFER.SVME clear on every CPU after the last VM closed" all_virt 0

check "CPU 1 offline and online without a VM" eval 'set_online 1 0 && set_online 1 1'
check "EFER.SVME stays clear on CPU 1 onlined without a VM" eval '! virt_on 1'
check "a guest runs on CPU 1 afterwards" "$KVMTEST" run --cpu 1

# One pass over the lock chain kvm_lock -> slots_lock -> srcu ->
# cpu_hotplug_lock, then the cpu_hotplug_lock -> usage-count lock edges
# (first VM, CPU hotplug with a VM open).  Lockdep reports show on the
# console and fail the boot.
check "lock chain: nx_huge_pages, memslots, APIC base" "$KVMTEST" lockdep-chain
check "lock chain: first VM and CPU hotplug with a VM open" eval 'hold_vm 0 && set_online 1 0 && set_online 1 1 && release_vm'

# QEMU itself as the L1 hypervisor, booting a tiny L2 guest.
out=$(timeout 300 qemu-system-x86_64 -machine pc,accel=kvm -cpu qemu64 -m 16 \
	-nodefaults -display none -serial stdio -no-reboot \
	-bios "$WB_TOP/guest/l2bios.bin" -device isa-debug-exit,iobase=0xf4,iosize=0x04 2>&1)
rc=$?
echo "$out"
check "QEMU -accel kvm boots an L2 guest to its console line" eval '[ $rc = 33 ] && echo "$out" | grep -q "L2 guest: hello from the nested guest"'

check "kvm-amd and kvm unload" unload_kvm
check "kvm and kvm-amd reload" load_kvm
check "a guest runs after the reload" "$KVMTEST" run
