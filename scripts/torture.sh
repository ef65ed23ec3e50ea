#!/usr/bin/env bash
# make torture: the reliability suite's long forms, on the base and
# the series, and one deliberately broken variant of the series' modules per
# check, which must fail.  Ends with the judge's "N passed, N failed".
#
#   scripts/torture.sh [PART ...]      parts: soak kasan fault modules reboot
#                                      suspend states kexec bochs variants (default: all)
#   TORTURE_KERNELS="base series"      the kernels (default both)
#   SOAK_CYCLES=1000 FAILSLAB_COUNT=1000 MODULE_CYCLES=200 REBOOTS=20
#   SUSPEND_CYCLES=50 KASAN_SOAK_CYCLES=300 BOCHS_SOAK_CYCLES=100
#   BOCHS_MODULE_CYCLES=30                       the long forms' sizes
#   TORTURE_OUT=build/torture          where results and summary.txt go
#   VARIANTS="name ..."                the variants part: only these
#   TORTURE_PLAN_ONLY=1                write the plan and stop
#
# Each item is one boot of a registry scenario (config/scenarios.toml, the
# torture-* entries; their short forms run in make check) with its long
# form's wb.* parameters.  Before anything runs, the plan of every item
# (TORTURE_OUT/results/plan.json) is written; at the end the judge,
# scripts/report.py summary, judges every planned item from the results
# directories (TORTURE_OUT/results/LABEL/BOOT: the label is the kernel, or
# KERNEL-kasan, KERNEL-reboot-N, variant-NAME) and prints the closing line:
# a planned item that never ran fails, naming why.  The reboot part boots
# torture-reboot REBOOTS times per kernel; the registry asks each boot for
# "reboot: Restarting system" on the console and QEMU to exit by itself.
# A variant is built (scripts/experiment-lib.sh: its own worktree,
# build/variants/torture-NAME; the build is a judged step, checks/build-variant-NAME)
# and its boot is judged as the series' with --must-fail REGEX: it passes
# when a failing check matches REGEX, with the modules loading.  Kernels:
# build/out/base and build/out/series (make build, with config/test-only/),
# and for the soak with KASAN build/out/torture-{base,series} (built or
# brought up to date here, config/torture.config, ~15 min each).  Kernel
# builds take build/kbuild.lock (KBUILD_LOCK).  Figures for people (what
# ran, faults injected; they decide nothing) in TORTURE_OUT/summary.txt,
# followed by the judge's summary.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/experiment-lib.sh
R=${TORTURE_OUT:-build/torture}
mkdir -p "$R" && R=$(cd "$R" && pwd)
SUM=$R/summary.txt
KERNELS=${TORTURE_KERNELS:-base series}
SOAK_CYCLES=${SOAK_CYCLES:-1000}
KASAN_SOAK_CYCLES=${KASAN_SOAK_CYCLES:-300}
FAILSLAB_COUNT=${FAILSLAB_COUNT:-1000}
MODULE_CYCLES=${MODULE_CYCLES:-200}
REBOOTS=${REBOOTS:-20}
SUSPEND_CYCLES=${SUSPEND_CYCLES:-50}
BOCHS_SOAK_CYCLES=${BOCHS_SOAK_CYCLES:-100}
BOCHS_MODULE_CYCLES=${BOCHS_MODULE_CYCLES:-30}
parts=${*:-soak kasan fault modules reboot suspend states kexec bochs variants}
T0=$(date +%s)
: > "$SUM"
results "$R/results"
rm -rf "$R/variant-tries"

say() { echo "torture: $*" | tee -a "$SUM"; }
# figures from a boot's console, for people: what ran, faults injected,
# reports seen (the judge reads the same console for the verdicts)
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

# Each part is written once and walked twice: mode=plan adds its items to
# the plan, mode=run runs them.  needs= is what a planned item needs (a
# build, or the part itself), as the judge names it when the item never ran.
mode=plan needs=
# item KERNEL LABEL BOOT [scenarios.py args...]: one boot, results in LABEL/BOOT
item() {
	local k=$1 label=$2 b=$3 t=$(date +%s)
	shift 3
	if [ $mode = plan ]; then plan "$label" "$b" "$needs"; return 0; fi
	say "$label/$b"
	run_boot "$k" "$label" "$b" "$@" 2>&1 | grep -E "^scenarios:|^  not ok" | sed 's/^/    /' | tee -a "$SUM"
	local rc=${PIPESTATUS[0]}
	figures "$RES/$label/$b"
	echo "    ($(($(date +%s) - t))s)" | tee -a "$SUM"
	return "$rc"
}
# build NAME CMD...: a judged build step (checks/NAME); the items after it
# need it
build() {
	local name=$1; shift
	needs=$name
	if [ $mode = plan ]; then plan checks "$name" "$name"; return 0; fi
	say "$name: $*"
	stage "$name" "$@" | tee -a "$SUM"
	local rc=${PIPESTATUS[0]}
	[ $rc = 0 ] || tail -5 "$RES/checks/$name/output.txt" | sed 's/^/    /' | tee -a "$SUM"
	return "$rc"
}
# variant_item NAME BOOT MUST_FAIL FILE SED [FILE SED...] -- [scenarios.py args...]:
# build a broken variant of the series' modules (scripts/experiment-lib.sh)
# and boot BOOT on it, judged as the series with --must-fail MUST_FAIL (a
# regex on the failing checks' "test (note)": what must fail).  A race (the
# reboot) may take more than one boot to show: VARIANT_TRIES boots at most,
# until the judge passes one; the earlier tries are kept in variant-tries/.
variant_item() {
	local name=$1 b=$2 expect=$3 edits=() try
	shift 3
	case " ${VARIANTS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	while [ $# -gt 0 ] && [ "$1" != -- ]; do edits+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	build "build-variant-$name" variant "torture-$name" "${edits[@]}" || return 0
	if [ $mode = run ]; then
		grep '^[-+][^-+]' "$RES/checks/build-variant-$name/output.txt" | sed 's/^/    /' | tee -a "$SUM"
		for try in $(seq "${VARIANT_TRIES:-1}"); do
			if [ "$try" -gt 1 ]; then
				mkdir -p "$R/variant-tries"; rm -rf "$R/variant-tries/$name-$((try - 1))"
				mv "$RES/variant-$name/$b" "$R/variant-tries/$name-$((try - 1))"
				say "variant $name: boot $try of ${VARIANT_TRIES:-1} (the judge passed none yet)"
			fi
			item series "variant-$name" "$b" --out "$top/build/out/torture-$name" \
				--must-fail "$expect" "$@" && break
		done
	else
		item series "variant-$name" "$b"
	fi
}
# cycles LABEL BOOT N PER EXTRA [APPEND]: on each kernel, BOOT with
# wb.cycles=N (and APPEND), stopped after N * PER + EXTRA seconds
cycles() {
	local b=$1 n=$2 per=$3 extra=$4 app=${5:-} k
	for k in $KERNELS; do
		item $k $k "$b" --set append="${app:+$app }wb.cycles=$n" --set timeout=$((n * per + extra))
	done
}

part() {
	needs=$1
	case $1 in
	soak)
		# 4 churn processes
		cycles torture-soak "$SOAK_CYCLES" 4 600 ;;
	kasan)
		for k in $KERNELS; do
			# incremental: ~15 min the first time, seconds when up to date
			build "build-torture-$k" flock "$KBUILD_LOCK" scripts/build.sh "$k" --no-selftests \
				--config config/torture.config --out "torture-$k" || continue
			# the soak with KASAN and kmemleak
			item $k "$k-kasan" torture-soak --out "$top/build/out/torture-$k" \
				--set append="wb.cycles=$KASAN_SOAK_CYCLES" --set timeout=$((KASAN_SOAK_CYCLES * 10 + 900))
		done ;;
	fault)
		for k in $KERNELS; do
			item $k $k torture-fault-enable
			item $k $k torture-fault-online
			item $k $k torture-fault-resume
			item $k $k torture-fault-resume-newvm
			item $k $k torture-fault-load --set append="wb.fault=load wb.leakcheck=each"
			item $k $k torture-fault-vfio --set append="wb.fault=load wb.points=kvm_vfio_ops_init wb.leakcheck=none"
			item $k $k torture-failslab --set append="wb.fault=failslab wb.count=$FAILSLAB_COUNT" \
				--set timeout=$((FAILSLAB_COUNT + 900))
		done ;;
	modules)
		cycles torture-modules "$MODULE_CYCLES" 8 600 ;;
	reboot)
		local i restarted warned c
		for k in $KERNELS; do
			for i in $(seq "$REBOOTS"); do
				item $k "$k-reboot-$i" torture-reboot
			done
			[ $mode = run ] || continue
			restarted=0 warned=0
			for i in $(seq "$REBOOTS"); do
				c=$RES/$k-reboot-$i/torture-reboot/console.log
				[ -f "$c" ] || continue
				grep -q "reboot: Restarting system" "$c" && restarted=$((restarted + 1))
				grep -q "TEST ONLY: virtualization enabled on CPU" "$c" && warned=$((warned + 1))
			done
			say "$k: $REBOOTS reboots: $restarted showed 'reboot: Restarting system', $warned showed virtualization enabled after the reboot notifier"
		done ;;
	suspend)
		cycles torture-suspend "$SUSPEND_CYCLES" 10 300 ;;
	states)
		# every hotplug state of a CPU, up and down, stopped at and failed at
		for k in $KERNELS; do item $k $k hotplug-states; done ;;
	kexec)
		# kexec -e while a VM runs, with and without a CPU coming online
		for k in $KERNELS; do item $k $k kexec; item $k $k kexec-vm; done ;;
	bochs)
		# the Intel half on Bochs (VMX): a shorter soak and module cycles
		cycles torture-soak-intel "$BOCHS_SOAK_CYCLES" 0 3600 "wb.vendor=intel idle=poll wb.leakcheck=none"
		cycles torture-modules-intel "$BOCHS_MODULE_CYCLES" 0 3600 "wb.vendor=intel idle=poll wb.leakcheck=none" ;;
	variants)
		local m=virt/kvm/kvm_main.c splat='every splat accounted for'
		# soak: a CPU going offline keeps virtualization "enabled" (its flag
		# set), so it comes back without it and a vCPU there faults
		variant_item offline-keeps-enabled torture-soak "$splat|churn processes was created" \
			$m '/^static int kvm_offline_cpu/,/^}/s/^\t\thardware_disable_nolock(NULL);$/\t\t;/' \
			-- --set append="wb.cycles=200"
		# the same mistake seen by the hotplug states: CPU 2, back from
		# offline, is taken for enabled and walks up without virtualization
		variant_item states-offline-keeps-enabled hotplug-states 'virtualization on CPU 2 exactly at or past KVM.s state' \
			$m '/^static int kvm_offline_cpu/,/^}/s/^\t\thardware_disable_nolock(NULL);$/\t\t;/'
		# first VM: enable-all's error unwinding removed
		variant_item no-enable-unwind torture-fault-enable 'no CPU is left with virtualization on' \
			$m '/^static int hardware_enable_all/,/^}/s/^\t\t\thardware_disable_all_nolock();$/\t\t\t;/'
		# ONLINE callback: a failed enable no longer refuses the CPU
		variant_item online-ignores-failure torture-fault-online 'onlining CPU 3 fails when enabling' \
			$m 's/^\t\tr = kvm_hw_enable_this_cpu();$/\t\tr = kvm_hw_enable_this_cpu() \&\& 0;/'
		# resume: kvm_stop_vms_at_resume() a no-op
		variant_item resume-no-stop torture-fault-resume "the console says every VM is stopped|$splat" \
			$m 's/^\t\tkvm_stop_vms_at_resume(smp_processor_id(), r);$/\t\t;/'
		# load: kvm_init()'s error path keeps the syscore ops registered
		variant_item load-keeps-syscore torture-fault-load "$splat.*register_syscore_ops" \
			$m '/^out_free_3:$/,+1s/^\tkvm_uninit_virtualization();$/\tunregister_reboot_notifier(\&kvm_reboot_notifier);\n\tcpuhp_remove_state_nocalls(CPUHP_AP_KVM_ONLINE);/'
		# failslab: VM creation's error path leaks the I/O buses
		variant_item create-leaks-buses torture-failslab 'kmemleak finds nothing' \
			$m 's/^\t\tkfree(kvm_get_bus(kvm, i));$/\t\t;/'
		# module cycles: kvm_exit() (kvm_uninit_virtualization()) leaves KVM's CPU hotplug state
		variant_item exit-keeps-cpuhp torture-modules 'load/unload cycles|no kvm CPU hotplug state' \
			$m '/^static void kvm_uninit_virtualization(void)$/,/^}/s/^\tcpuhp_remove_state_nocalls(CPUHP_AP_KVM_ONLINE);$/\t;/'
		# reboot: the kvm_rebooting checks removed (VM creation and CPU online)
		VARIANT_TRIES=3 variant_item no-rebooting-check torture-reboot "$splat.*kvm_arch_hardware_enable" \
			$m '/^static int kvm_hw_enable_this_cpu/,/^}/s/^\tif (kvm_rebooting)$/\tif (0)/;/^static int kvm_online_cpu/,/^}/s/^\tif (kvm_rebooting)$/\tif (0)/'
		# suspend cycles: resume does not enable virtualization again
		variant_item resume-no-enable torture-suspend "set on every CPU after each resume|$splat" \
			$m '/^static void kvm_resume(void)$/,/^}/s/^\tr = kvm_hw_enable_this_cpu();$/\tr = 0;/'
		;;
	*)
		echo "torture: unknown part $1 (soak kasan fault modules reboot suspend states kexec bochs variants)" >&2
		exit 2 ;;
	esac
}

guest_tools plan
for p in $parts; do part "$p"; done
plan_write | tee -a "$SUM"
[ "${TORTURE_PLAN_ONLY:-0}" = 1 ] && exit 0
mode=run
say "guest-tools: make -s -C guest"
guest_tools | tee -a "$SUM"
# without them no boot can run: the judge fails every planned item
[ "${PIPESTATUS[0]}" = 0 ] || parts=
for p in $parts; do
	t=$(date +%s)
	say "=== $p"
	part "$p"
	printf '%s\tok\n' "$p" >> "$RES/stages.tsv"
	say "part $p: $(($(date +%s) - t))s"
done
say "total $(($(date +%s) - T0))s"
say "the judge: scripts/report.py summary ${RES#$top/} --plan ${RES#$top/}/plan.json"
summary | tee -a "$SUM"
exit "${PIPESTATUS[0]}"
