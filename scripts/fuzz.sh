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
#
# The same seed gives each thread the same sequence of operations on both
# kernels and in every replay; how the threads interleave is not
# reproducible (README, "make fuzz").  Kernels: build/out/base and
# build/out/series as make build leaves them; nothing here builds.
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

mkdir -p "$out" && out=$(cd "$out" && pwd)
results "$out"
for k in $kernels; do plan "$k" fuzz boots; done
plan_write
for k in $kernels; do
	echo "== $k: seed $seed, ${secs}s, $threads threads, kinds $kinds"
	[ -f "$top/build/out/$k/bzImage" ] || echo "fuzz: no build/out/$k/bzImage (make build): the boot will fail"
	run_boot "$k" "$k" fuzz --set append="$append" --set timeout=$timeout
	# for people: what ran, and any failure with its replay (the judge
	# reads the TAP and the console for the verdicts)
	c=$RES/$k/fuzz/console.log
	grep -h -E "^wb: fuzz: (stats seed=|FAIL|replay|the kernel's taint)" "$c" 2>/dev/null | sed 's/^wb: /  /'
done
echo "== replay: make fuzz FUZZ_SEED=$seed FUZZ_SECONDS=$secs FUZZ_THREADS=$threads FUZZ_KINDS=$kinds FUZZ_PCT=$pct"
echo "   one kernel: python3 scripts/scenarios.py run KERNEL fuzz --set append=\"$append\" --set timeout=$timeout"
echo "== the judge"
summary
