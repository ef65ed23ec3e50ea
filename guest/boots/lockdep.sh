# The lock chain of the usage-count lock, alone: kvm_lock -> slots_lock
# (nx_huge_pages write), slots_lock -> srcu (memslot update), srcu ->
# cpu_hotplug_lock (APIC base write flips a static key), then
# cpu_hotplug_lock -> the usage-count lock (first VM, CPU hotplug with a VM
# open).  With the usage count under kvm_lock this is a cycle lockdep reports.
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
check "lock chain: nx_huge_pages, memslots, APIC base" "$KVMTEST" lockdep-chain
check "lock chain: first VM and CPU hotplug with a VM open" eval 'hold_vm 0 && set_online 1 0 && set_online 1 1 && release_vm'
check "lock chain: once more" "$KVMTEST" lockdep-chain
