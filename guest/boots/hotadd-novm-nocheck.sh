# kvm.check_cpus_without_vms=N (series v3, patch "Refuse an incompatible CPU
# coming online while no VM exists"): a CPU hot-added without SVM while
# kvm-amd is loaded and no VM exists comes online, as on 6.1; creating a VM
# then fails naming it, until it is offline again; loading kvm-amd still
# checks every online CPU; with the parameter back at Y, the next online of
# the CPU is refused.  (2 CPUs of 4.)  hotadd-novm is the same CPU with Y.
. "$WB_TOP/guest/lib.sh"
P=/sys/module/kvm/parameters/check_cpus_without_vms
WHY="kvm_amd: CPU 2 cannot run guests: it does not support SVM"

check "kvm and kvm-amd load" load_kvm
check "kvm.check_cpus_without_vms is Y by default" eval '[ "$(cat $P 2>/dev/null)" = Y ]'
check "kvm.check_cpus_without_vms can be set to N at run time" \
	eval 'echo N > $P && [ "$(cat $P)" = N ]'
hotadd socket-id=2 svm=off
check "the hot-added CPU 2 (svm=off) appears" wait_for_cpu 2
check "onlining CPU 2 without SVM succeeds with the check off" set_online 2 1

mark_dmesg
if "$KVMTEST" run; then nok "no VM can be created while CPU 2 is online" "a VM ran"
else ok "no VM can be created while CPU 2 is online"; fi
new_dmesg | grep -i -E "kvm|svm"
check "the failed VM creation names CPU 2 and why" eval "new_dmesg | grep -q '$WHY'"
check "CPU 2 goes offline" set_online 2 0
check "a VM runs once CPU 2 is offline" "$KVMTEST" run

# Loading the vendor module checks the online CPUs whatever the parameter says.
check "CPU 2 comes online again with the check off" set_online 2 1
check "kvm-amd unloads" rmmod kvm_amd
mark_dmesg
if insmod "$MOD/kvm-amd.ko" 2>/dev/null; then nok "kvm-amd refuses to load while CPU 2 is online"
else ok "kvm-amd refuses to load while CPU 2 is online"; fi
check "the refused load names CPU 2 and why" eval "new_dmesg | grep -q '$WHY'"
check "CPU 2 goes offline again" set_online 2 0
check "kvm-amd loads with CPU 2 offline" insmod "$MOD/kvm-amd.ko"

# Y again: the same CPU is refused, VM or not.
check "kvm.check_cpus_without_vms can be set back to Y" eval 'echo Y > $P'
expect_refused 2 "without SVM, with the check on again" "$WHY"
check "a VM created afterwards runs" "$KVMTEST" run
check "kvm-amd and kvm unload" unload_kvm
