# A CPU that KVM refuses still lowers boot_cpu_data: the kernel ANDs each
# CPU's features into it before KVM's hotplug callback can refuse the CPU.
# The series (patch 30) makes KVM test host features against the copy it
# took when kvm-amd set up, kvm_host_has().  Seen here through 1 GiB pages:
# with nested paging, KVM's walk of a guest's page tables (for what it
# emulates) accepts a 1 GiB page if the host has them, asked at run time.
# Every CPU has pdpe1gb=on but CPU 2, hot-added without SVM and without
# 1 GiB pages: the series refuses it (SVM), 6.1 accepts it, and on both
# boot_cpu_data no longer has GBPAGES.  A new 64-bit guest then sends a
# byte with OUTSB (string I/O, emulated by KVM) from a 1 GiB page: 6.1, and
# the series without patch 30, take the page's PS bit for a reserved bit
# and give the guest a #PF.  Every vCPU runs on CPU 0: on 6.1 CPU 2 comes
# online without SVM and a vCPU there would crash the kernel (headline).
. "$WB_TOP/guest/lib.sh"

# gbpages NAME: the 1 GiB page guest, on CPU 0; a failure's note says what
# the guest saw (scripts/hostcaps-experiment.sh matches it)
gbpages() {
	local out rc
	out=$("$KVMTEST" gbpages --cpu 0 2>&1); rc=$?
	echo "$out"
	if [ $rc = 0 ]; then ok "$1"
	else nok "$1" "$(echo "$out" | grep -o 'the guest took #PF, error code 0x[0-9a-f]*' || echo "exit $rc")"; fi
}

check "the boot CPUs have 1 GiB pages" grep -q -w pdpe1gb /proc/cpuinfo
check "kvm and kvm-amd load" load_kvm
echo "kvm_amd.npt=$(cat /sys/module/kvm_amd/parameters/npt)"
gbpages "a 64-bit guest reads through a 1 GiB page"
check "a VM is held open on CPU 0" hold_vm 0
echo "the host hot-adds CPU 2 without SVM and without 1 GiB pages"
hotadd socket-id=2 svm=off pdpe1gb=off
check "the hot-added CPU 2 (svm=off, pdpe1gb=off) appears" wait_for_cpu 2
expect_refused 2 "without SVM or 1 GiB pages" "kvm_amd: CPU 2 cannot run guests: it does not support SVM"
if is_online 2; then
	echo "CPU 2 came online: $(grep -c -w pdpe1gb /proc/cpuinfo) of $(grep -c ^processor /proc/cpuinfo) online CPUs have pdpe1gb"
fi
gbpages "a new 64-bit guest still reads through a 1 GiB page"
check "a guest runs on CPU 0" "$KVMTEST" run --cpu 0
check "the held VM kept running" release_vm
