# SVM features per CPU: kvm-amd decides at load which SVM features to use
# (here nested paging and virtual GIF, the ones QEMU's TCG emulates; the
# boot CPUs have vgif=on), and a CPU that lacks one of them must not come
# online, with or without a VM: CPU 2 hot-added without NPT, CPU 3 without
# VGIF.  (2 CPUs of 4.)  QEMU's TCG has no NRIPS to take away; the KUnit
# suite kvm-x86-svm-compat covers that case.
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
dmesg | grep -E "kvm_amd: (Nested Paging|Virtual GIF)"
hotadd socket-id=2 npt=off
check "the hot-added CPU 2 (npt=off) appears" wait_for_cpu 2
expect_refused 2 "without NPT, no VM" "kvm_amd: CPU 2 cannot run guests: it lacks npt"
hotadd socket-id=3 vgif=off
check "the hot-added CPU 3 (vgif=off) appears" wait_for_cpu 3
check "a VM is held open on CPU 0" hold_vm 0
expect_refused 3 "without VGIF, a VM open" "kvm_amd: CPU 3 cannot run guests: it lacks vgif"
expect_refused 2 "without NPT, a VM open" "kvm_amd: CPU 2 cannot run guests: it lacks npt"
# On 6.1 both CPUs came online: a vCPU run there enters a VMCB that uses
# features the CPU does not have.
fails=""
for c in $(cpu_list "$(online_cpus)"); do
	timeout -s KILL 60 "$KVMTEST" run --cpu "$c" || fails="$fails $c"
done
check "a guest runs on every online CPU" test -z "$fails"
check "the held VM kept running" release_vm
