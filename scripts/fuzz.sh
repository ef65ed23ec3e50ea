#!/usr/bin/env bash
# make fuzz: the seeded race fuzzer (guest/fuzz.c, guest/boots/fuzz.sh, the
# registry's [fuzz]) booted once on each kernel with the same seed, judged
# by scripts/report.py like every other boot; ends "N passed, N failed".
#
#   FUZZ_SEED=N          the seed (default: the time now; printed)
#   FUZZ_SECONDS=S       the fuzz's time budget per boot (default 300); the
#                        boot's timeout is S + 900 s (boot, checks, kmemleak)
#   FUZZ_THREADS=T       fuzz threads (default 4)
#   FUZZ_KINDS=LIST      operation groups (default all: vm,run,slot,cpu,
#                        module,suspend,fault; see guest/fuzz --help)
#   FUZZ_PCT=P           failslab's probability for a thread that has it on (10)
#   FUZZ_KERNELS="base series"   the kernels, in this order
#   FUZZ_OUT=DIR         results (default build/fuzz): DIR/KERNEL/fuzz/,
#                        DIR/plan.json
#   FUZZ_KASAN=1         boot the KASAN kernels of make torture's kasan part
#                        (config/torture.config, build/out/torture-KERNEL),
#                        built first (incremental) as a judged step; results
#                        in DIR/KERNEL-kasan/fuzz/
#
# The same seed gives each thread the same sequence of operations on both
# kernels and in every replay; how the threads interleave is not
# reproducible (README, "make fuzz").  Kernels: build/out/base and
# build/out/series as make build leaves them (nothing here builds them), or
# with FUZZ_KASAN=1 the torture part's KASAN kernels.
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
seed=${FUZZ_SEED:-$(date +%s)}
secs=${FUZZ_SECONDS:-300}
threads=${FUZZ_THREADS:-4}
kinds=${FUZZ_KINDS:-all}
pct=${FUZZ_PCT:-10}
kernels=${FUZZ_KERNELS:-base series}
out=${FUZZ_OUT:-$top/build/fuzz}
case $seed$secs$threads$pct in *[!0-9]*)
	echo "fuzz: FUZZ_SEED, FUZZ_SECONDS, FUZZ_THREADS and FUZZ_PCT are numbers" >&2; exit 2 ;;
esac
append="wb.seed=$seed wb.seconds=$secs wb.threads=$threads wb.kinds=$kinds wb.pct=$pct"
timeout=$((secs + 900))

kasan=${FUZZ_KASAN:-0}
case $kasan in 0|1) ;; *) echo "fuzz: FUZZ_KASAN is 0 or 1" >&2; exit 2 ;; esac

mkdir -p "$out" && out=$(cd "$out" && pwd)
results "$out"
guest_tools plan
for k in $kernels; do
	if [ "$kasan" = 1 ]; then
		plan checks "build-torture-$k" "build-torture-$k"
		plan "$k-kasan" fuzz "build-torture-$k"
	else
		plan "$k" fuzz boots
	fi
done
plan_write
# without the guest programs no boot can run: the judge fails every planned item
guest_tools || kernels=
for k in $kernels; do
	label=$k dir=$top/build/out/$k more=()
	if [ "$kasan" = 1 ]; then
		label=$k-kasan dir=$top/build/out/torture-$k more=(--out "$dir")
		stage "build-torture-$k" flock "$KBUILD_LOCK" "$top/scripts/build.sh" "$k" \
			--no-selftests --config config/torture.config --out "torture-$k" || continue
	fi
	echo "== $label: seed $seed, ${secs}s, $threads threads, kinds $kinds"
	[ -f "$dir/bzImage" ] || echo "fuzz: no ${dir#$top/}/bzImage (make build): the boot will fail"
	run_boot "$k" "$label" fuzz "${more[@]}" --set append="$append" --set timeout=$timeout
	# for people: what ran, and any failure with its replay (the judge
	# reads the TAP and the console for the verdicts)
	c=$RES/$label/fuzz/console.log
	grep -h -E "^wb: fuzz: (stats seed=|FAIL|replay|the kernel's taint)" "$c" 2>/dev/null | sed 's/^wb: /  /'
done
echo "== replay: make fuzz FUZZ_SEED=$seed FUZZ_SECONDS=$secs FUZZ_THREADS=$threads FUZZ_KINDS=$kinds FUZZ_PCT=$pct FUZZ_KASAN=$kasan"
echo "   one kernel: python3 scripts/scenarios.py run KERNEL fuzz$([ "$kasan" = 1 ] && echo " --out build/out/torture-KERNEL") --set append=\"$append\" --set timeout=$timeout"
echo "== the judge"
summary
