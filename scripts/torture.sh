#!/usr/bin/env bash
# make torture: the reliability suite's long forms (issue 13), on the base and
# the series, and one deliberately broken variant of the series' modules per
# check, which must fail.  Ends with "N passed, N failed".
#
#   scripts/torture.sh [PART ...]      parts: soak kasan fault modules reboot
#                                      suspend bochs variants (default: all)
#   TORTURE_KERNELS="base series"      the kernels (default both)
#   SOAK_CYCLES=1000 FAILSLAB_COUNT=1000 MODULE_CYCLES=200 REBOOTS=20
#   SUSPEND_CYCLES=50 KASAN_SOAK_CYCLES=300 BOCHS_SOAK_CYCLES=100
#   BOCHS_MODULE_CYCLES=30                       the long forms' sizes
#   TORTURE_OUT=build/torture          where results and summary.txt go
#   VARIANTS="name ..."                the variants part: only these
#
# Each item is one boot of a registry scenario (config/scenarios.toml, the
# torture-* entries; their short forms run in make check) with its long
# form's wb.* parameters, judged as make check judges it (scripts/report.py:
# TAP, expectations, splats); the reboot part boots torture-reboot REBOOTS
# times per kernel and also needs "reboot: Restarting system" on the
# console and QEMU to have exited by itself.  A variant item passes when the
# variant's boot FAILS (and names what failed).  Kernels: build/out/base
# and build/out/series (make build, with config/test-only/), and for the
# soak with KASAN build/out/torture-{base,series} (built or brought up to date here,
# config/torture.config, ~15 min each).  Kernel builds take
# /work/notes/kbuild.lock.  Results: build/torture/, summary in
# build/torture/summary.txt.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
R=${TORTURE_OUT:-build/torture}
mkdir -p "$R"
SUM=$R/summary.txt
LOCK=${KBUILD_LOCK:-/work/notes/kbuild.lock}
KERNELS=${TORTURE_KERNELS:-base series}
SOAK_CYCLES=${SOAK_CYCLES:-1000}
KASAN_SOAK_CYCLES=${KASAN_SOAK_CYCLES:-300}
FAILSLAB_COUNT=${FAILSLAB_COUNT:-1000}
MODULE_CYCLES=${MODULE_CYCLES:-200}
REBOOTS=${REBOOTS:-20}
SUSPEND_CYCLES=${SUSPEND_CYCLES:-50}
BOCHS_SOAK_CYCLES=${BOCHS_SOAK_CYCLES:-100}
BOCHS_MODULE_CYCLES=${BOCHS_MODULE_CYCLES:-30}
parts=${*:-soak kasan fault modules reboot suspend bochs variants}
T0=$(date +%s)
pass=0 fail=0
: > "$SUM"

say() { echo "torture: $*" | tee -a "$SUM"; }
verdict() { # ok|fail ITEM NOTE
	if [ "$1" = ok ]; then pass=$((pass + 1)); say "ok   $2${3:+ # $3}"
	else fail=$((fail + 1)); say "FAIL $2${3:+ # $3}"; fi
}
# figures from a boot's console: what ran, faults injected, reports seen
figures() { # bootdir
	local c=$1/console.log
	[ -f "$c" ] || return
	grep -E "^wb: (soak|modules|suspend|kmemleak):|^wb: +kvmtest: (failvm|hold|churn: [0-9]+ vms)" "$c" |
		sed 's/^wb: */    /' | tee -a "$SUM"
	local n sp
	n=$(grep -c "FAULT_INJECTION: forcing a failure" "$c")
	sp=$(python3 scripts/report.py scan "$c" 2>/dev/null)
	echo "    faults injected by fail_function: $n; splats: $(echo "$sp" | grep -c .)" | tee -a "$SUM"
	[ -z "$sp" ] || echo "$sp" | head -3 | sed 's/^/      /' | tee -a "$SUM"
}
# boot KERNEL BOOT RESULTS [scenarios.py args...]: one judged boot
boot() {
	local k=$1 b=$2 res=$3 t=$(date +%s) out
	shift 3
	out=$(python3 scripts/scenarios.py run "$k" "$b" --results "$res" --quiet "$@" 2>&1)
	local rc=$?
	echo "$out" | grep -E "^scenarios:|^  not ok" | sed 's/^/    /' | tee -a "$SUM"
	figures "$res/$k/$b"
	echo "    ($(($(date +%s) - t))s)" | tee -a "$SUM"
	return $rc
}
item() { # NAME KERNEL BOOT RESULTS [args...]: a boot that must pass its judge
	local name=$1; shift
	if boot "$@"; then verdict ok "$name"; else verdict fail "$name"; fi
}
# variant_item NAME BOOT EXPECT FILE SED [FILE SED...] -- [scenarios.py args...]:
# build a broken variant of the series' modules (scripts/experiment-lib.sh)
# and boot BOOT on it, judged as the series: it must fail, and what failed
# (the judge's "not ok" lines, splats included) must match the regex EXPECT,
# with the modules loading (a variant that does not even load shows nothing)
variant_item() {
	local name=$1 b=$2 expect=$3 t=$(date +%s) edits=() try log
	shift 3
	case " ${VARIANTS:-$name} " in *" $name "*) ;; *) return ;; esac
	while [ $# -gt 0 ] && [ "$1" != -- ]; do edits+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	say "variant $name: ${edits[*]}"
	if ! flock "$LOCK" bash -c '. scripts/experiment-lib.sh; variant "$@"' _ "torture-$name" "${edits[@]}" \
			> "$R/variant-$name.build.log" 2>&1; then
		tail -5 "$R/variant-$name.build.log" | tee -a "$SUM"
		verdict fail "variant $name: the broken series fails $b" "the variant did not build"
		return
	fi
	grep '^[-+][^-+]' "$R/variant-$name.build.log" | sed 's/^/    /' | tee -a "$SUM"
	# a race (the reboot) may take more than one boot to show: VARIANT_TRIES
	for try in $(seq "${VARIANT_TRIES:-1}"); do
		log=$R/variant-$name.boot$try.txt
		boot series "$b" "$R/variant-$name" --out "$top/build/out/torture-$name" "$@" > "$log"
		sed -n '1,/^    faults injected/p' "$log" | head -25 | tee -a "$SUM"
		if grep -q -E "not ok - (kvm and kvm-amd load|kvm.ko loads|kvm-amd loads)( |$)" "$log"; then
			verdict fail "variant $name: the broken series fails $b" "its modules did not load"
			return
		fi
		if grep "not ok - " "$log" | grep -q -E "$expect"; then
			verdict ok "variant $name: the broken series fails $b" "/$expect/ failed, boot $try, $(($(date +%s) - t))s"
			return
		fi
	done
	verdict fail "variant $name: the broken series fails $b" "nothing matching /$expect/ failed: the check does not guard this"
}
# cycles LABEL BOOT N PER EXTRA [APPEND]: on each kernel, BOOT with
# wb.cycles=N (and APPEND), stopped after N * PER + EXTRA seconds
cycles() {
	local label=$1 b=$2 n=$3 per=$4 extra=$5 app=${6:-} k
	for k in $KERNELS; do
		item "$k: $label" $k "$b" "$R/results" \
			--set append="${app:+$app }wb.cycles=$n" --set timeout=$((n * per + extra))
	done
}
part_time() { say "part $1: $(($(date +%s) - $2))s"; }

for part in $parts; do
	t=$(date +%s)
	say "=== $part"
	case $part in
	soak)
		cycles "soak, $SOAK_CYCLES cycles, 4 churn processes" torture-soak "$SOAK_CYCLES" 4 600 ;;
	kasan)
		for k in $KERNELS; do
			# incremental: ~15 min the first time, seconds when up to date
			say "building the $k kernel with config/torture.config (KASAN)"
			flock "$LOCK" scripts/build.sh "$k" --no-selftests --config config/torture.config \
				--out "torture-$k" > "$R/build-torture-$k.log" 2>&1 ||
				{ verdict fail "$k: soak with KASAN" "build failed: $R/build-torture-$k.log"; continue; }
			item "$k: soak with KASAN and kmemleak, $KASAN_SOAK_CYCLES cycles" $k torture-soak "$R/kasan" \
				--out "$top/build/out/torture-$k" \
				--set append="wb.cycles=$KASAN_SOAK_CYCLES" --set timeout=$((KASAN_SOAK_CYCLES * 10 + 900))
		done ;;
	fault)
		for k in $KERNELS; do
			item "$k: enabling fails on each CPU at the first VM" $k torture-fault-enable "$R/results"
			item "$k: enabling fails in the CPU hotplug callback" $k torture-fault-online "$R/results"
			item "$k: enabling fails at resume" $k torture-fault-resume "$R/results"
			item "$k: enabling fails at resume, then a new VM" $k torture-fault-resume-newvm "$R/results"
			item "$k: each failure point of loading kvm-amd" $k torture-fault-load "$R/results" \
				--set append="wb.fault=load wb.leakcheck=each"
			item "$k: kvm_vfio_ops_init fails" $k torture-fault-vfio "$R/results" \
				--set append="wb.fault=load wb.points=kvm_vfio_ops_init wb.leakcheck=none"
			item "$k: $FAILSLAB_COUNT VM creations with failslab at 10%, every fault site once" \
				$k torture-failslab "$R/results" --set append="wb.fault=failslab wb.count=$FAILSLAB_COUNT" \
				--set timeout=$((FAILSLAB_COUNT + 900))
		done ;;
	modules)
		cycles "$MODULE_CYCLES module cycles" torture-modules "$MODULE_CYCLES" 8 600 ;;
	reboot)
		for k in $KERNELS; do
			ok=0 bad=0 restarted=0 warned=0
			for i in $(seq "$REBOOTS"); do
				res=$R/reboot/$i
				boot $k torture-reboot "$res" > "$R/reboot-$k-$i.txt"; rc=$?
				c=$res/$k/torture-reboot/console.log
				grep -q "reboot: Restarting system" "$c" && restarted=$((restarted + 1))
				grep -q "TEST ONLY: virtualization enabled on CPU" "$c" && warned=$((warned + 1))
				if [ $rc = 0 ] && grep -q "reboot: Restarting system" "$c" &&
				   grep -q "boot the emulator exited" "$c"; then ok=$((ok + 1)); else
					bad=$((bad + 1)); sed 's/^/  /' "$R/reboot-$k-$i.txt" | tee -a "$SUM"; fi
			done
			note="$REBOOTS reboots: $restarted showed 'reboot: Restarting system', $warned showed virtualization enabled after the reboot notifier"
			if [ $bad = 0 ]; then verdict ok "$k: reboot race, $REBOOTS boots" "$note"
			else verdict fail "$k: reboot race, $REBOOTS boots" "$bad judged failed; $note"; fi
		done ;;
	suspend)
		cycles "$SUSPEND_CYCLES suspend/resume cycles" torture-suspend "$SUSPEND_CYCLES" 10 300 ;;
	bochs)
		# the Intel half on Bochs (VMX): a shorter soak and module cycles
		cycles "soak on Bochs (kvm-intel), $BOCHS_SOAK_CYCLES cycles" torture-soak-intel "$BOCHS_SOAK_CYCLES" 0 3600 \
			"wb.vendor=intel idle=poll wb.leakcheck=none"
		cycles "$BOCHS_MODULE_CYCLES module cycles on Bochs (kvm-intel)" torture-modules-intel "$BOCHS_MODULE_CYCLES" 0 3600 \
			"wb.vendor=intel idle=poll wb.leakcheck=none" ;;
	variants)
		m=virt/kvm/kvm_main.c
		# soak: a CPU going offline keeps virtualization "enabled" (its flag
		# set), so it comes back without it and a vCPU there faults
		variant_item offline-keeps-enabled torture-soak 'no splat on console|churn processes was created' \
			$m '/^static int kvm_offline_cpu/,/^}/s/^\t\thardware_disable_nolock(NULL);$/\t\t;/' \
			-- --set append="wb.cycles=200"
		# first VM: enable-all's error unwinding removed
		variant_item no-enable-unwind torture-fault-enable 'no CPU is left with virtualization on' \
			$m '/^static int hardware_enable_all/,/^}/s/^\t\t\thardware_disable_all_nolock();$/\t\t\t;/'
		# ONLINE callback: a failed enable no longer refuses the CPU
		variant_item online-ignores-failure torture-fault-online 'onlining CPU 3 fails when enabling' \
			$m 's/^\t\tr = kvm_hw_enable_this_cpu();$/\t\tr = kvm_hw_enable_this_cpu() \&\& 0;/'
		# resume: kvm_stop_vms_at_resume() a no-op
		variant_item resume-no-stop torture-fault-resume 'the console says every VM is stopped|no splat on console' \
			$m 's/^\t\tkvm_stop_vms_at_resume(smp_processor_id(), r);$/\t\t;/'
		# load: kvm_init()'s error path keeps the syscore ops registered
		variant_item load-keeps-syscore torture-fault-load 'no splat on console.*register_syscore_ops' \
			$m '/^out_free_3:$/,+1s/^\tunregister_syscore_ops(&kvm_syscore_ops);$/\t;/'
		# failslab: VM creation's error path leaks the I/O buses
		variant_item create-leaks-buses torture-failslab 'kmemleak finds nothing' \
			$m 's/^\t\tkfree(kvm_get_bus(kvm, i));$/\t\t;/'
		# module cycles: kvm_exit() leaves KVM's CPU hotplug state
		variant_item exit-keeps-cpuhp torture-modules 'load/unload cycles|no kvm CPU hotplug state' \
			$m '/^void kvm_exit(void)$/,/^}/s/^\tcpuhp_remove_state_nocalls(CPUHP_AP_KVM_ONLINE);$/\t;/'
		# reboot: the kvm_rebooting checks removed (VM creation and CPU online)
		VARIANT_TRIES=3 variant_item no-rebooting-check torture-reboot 'no splat on console.*kvm_arch_hardware_enable' \
			$m '/^static int kvm_hw_enable_this_cpu/,/^}/s/^\tif (kvm_rebooting)$/\tif (0)/;/^static int kvm_online_cpu/,/^}/s/^\tif (kvm_rebooting)$/\tif (0)/'
		# suspend cycles: resume does not enable virtualization again
		variant_item resume-no-enable torture-suspend 'set on every CPU after each resume|no splat on console' \
			$m '/^static void kvm_resume(void)$/,/^}/s/^\tr = kvm_hw_enable_this_cpu();$/\tr = 0;/'
		;;
	*) say "unknown part $part (soak kasan fault modules reboot suspend bochs variants)"; fail=$((fail + 1)) ;;
	esac
	part_time "$part" "$t"
done
say "total $(($(date +%s) - T0))s"
say "$pass passed, $fail failed"
[ $fail = 0 ]
