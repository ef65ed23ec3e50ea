# The 6.12 series' selftest cpu_hotplug_test: CPUs 1-2 offline and online
# wb.cycles= times (200) in all while VMs are created, run and destroyed, a
# vCPU run on each CPU that comes back; lockdep on.  6.12's selftests are
# built for x86-64-v2 (the scenario's -cpu has its features).
. "$WB_TOP/guest/lib.sh"

cycles=${WB_CYCLES:-200}
t=$MOD/selftests/kvm/cpu_hotplug_test
check "kvm and kvm-amd load" load_kvm
check "cpu_hotplug_test was built" test -x "$t"
start=$(date +%s)
check "cpu_hotplug_test passes" timeout -s KILL 1500 "$t" -c "$cycles" -t 2
echo "cpu_hotplug_test: $cycles cycles in $(( $(date +%s) - start )) s"
check "every CPU is online again" test "$(online_cpus)" = "0-$(( $(nproc --all) - 1 ))"
check "kvm-amd and kvm unload" unload_kvm
