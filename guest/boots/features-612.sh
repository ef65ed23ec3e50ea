# Linux 6.12: CPUs present from power-on but kept offline (maxcpus=1; 6.12's
# ACPI CPU hot-add did not work under QEMU's TCG, README): CPU 1 without
# NPT, CPU 2 without LA57, CPU 3 with every feature.  With kvm-amd loaded
# (using nested paging) and a VM held open on CPU 0, onlining CPU 1 or CPU 2
# must be refused, the kernel naming the CPU and what it lacks; 6.12 as
# shipped onlines both (it then goes offline again here).  CPU 3 still
# comes online and runs a guest, and the held VM keeps running.
. "$WB_TOP/guest/lib.sh"

check "only CPU 0 is online at boot" test "$(online_cpus)" = 0
check "kvm and kvm-amd load" load_kvm
check "kvm-amd uses nested paging" eval "dmesg | grep -q 'kvm_amd: Nested Paging enabled'"
check "a VM is held open on CPU 0" hold_vm 0
expect_refused 1 "without NPT" "kvm_amd: CPU 1 cannot run guests: it lacks npt"
is_online 1 && set_online 1 0
expect_refused 2 "without LA57" "kvm: CPU 2 cannot run guests: it lacks CR4.LA57"
is_online 2 && set_online 2 0
check "CPU 3 (every feature) comes online" set_online 3 1
check "a guest runs on CPU 3" timeout -s KILL 60 "$KVMTEST" run --cpu 3
check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
check "the held VM kept running" release_vm
