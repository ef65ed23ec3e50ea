#!/usr/bin/env bash
# Coverage of the series (make coverage): build the gcov kernel, boot the
# scenarios on it, report which changed lines ran.
#   scripts/coverage.sh [BOOT ...]        (default: $COVERAGE_BOOTS)
# Environment (make coverage passes them):
#   COVERAGE_BOOTS   the qemu-x86 scenarios booted (registry names)
#   COVERAGE_JOBS    how many boots run side by side (2: one emulator a core)
#   COVERAGE_SET     --set KEY=VALUE for every boot, space-separated
#                    (e.g. "timeout=2400" if the gcov kernel runs slow)
#   COVERAGE_GOAL    the percentage of changed executable lines to reach (95)
#   COVERAGE_BUILD=0 reuse build/out/series-gcov as it is
# 1. scripts/build.sh series-gcov (under build/kbuild.lock): the series plus
#    the test-only patches plus config/gcov.config (gcov for KVM's modules:
#    config/test-only/gcov/), in build/kernel-series-gcov, outputs in
#    build/out/series-gcov/.
# 2. The boots, judged as the series (scenarios.py run series ... --out
#    build/out/series-gcov --label series-gcov), results in
#    build/coverage/results/series-gcov/BOOT/; at the end of each boot the
#    guest copies /sys/kernel/debug/gcov's .gcda files into its gcov/
#    (guest/init.sh), or after a suspend prints them on the console
#    (guest/tmpfs-lib.sh).  COVERAGE_JOBS lists run side by side, the boots
#    dealt out in turn (the list is longest first).
# 3. scripts/coverage.py over every boot's data: build/coverage/coverage.json
#    and coverage.md.  Ends with its line (N of M changed executable lines
#    run: P %); fails if a boot failed or the goal is not met.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if [ $# -gt 0 ]; then boots=("$@")
else read -r -d "" -a boots <<< "${COVERAGE_BOOTS:?no boots: set COVERAGE_BOOTS or name them}" || true; fi
jobs=${COVERAGE_JOBS:-2}
goal=${COVERAGE_GOAL:-95}
sets=(); for s in ${COVERAGE_SET:-}; do sets+=(--set "$s"); done
cov=$top/build/coverage
out=$top/build/out/series-gcov
t0=$(date +%s)
mkdir -p "$cov"

if [ "${COVERAGE_BUILD:-1}" != 0 ]; then
	echo "coverage: building series-gcov (waits for build/kbuild.lock)"
	flock "$top/build/kbuild.lock" scripts/build.sh series-gcov > "$cov/build.log" 2>&1 ||
		{ tail -30 "$cov/build.log"; echo "coverage: the build of series-gcov failed (build/coverage/build.log)"; exit 1; }
	tail -3 "$cov/build.log"
fi
[ -f "$out/kvm.ko" ] || { echo "coverage: no $out/kvm.ko: build series-gcov first"; exit 1; }
grep -q '^CONFIG_GCOV_KERNEL=y' "$out/.config" || { echo "coverage: $out is not a gcov build"; exit 1; }
t1=$(date +%s)

# a fresh results tree: a boot left from another list must not count
rm -rf "$cov/results"
pids=()
for ((j = 0; j < jobs; j++)); do
	mine=()
	for ((i = j; i < ${#boots[@]}; i += jobs)); do mine+=("${boots[i]}"); done
	[ ${#mine[@]} -gt 0 ] || continue
	echo "coverage: list $j: ${mine[*]}"
	python3 scripts/scenarios.py run series "${mine[@]}" --out "$out" --label series-gcov \
		--results "$cov/results" "${sets[@]}" > "$cov/boots-$j.log" 2>&1 &
	pids+=($!)
done
echo "coverage: follow them with: tail -f build/coverage/boots-*.log"
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=1; done
grep -h '^scenarios: ' "$cov"/boots-*.log
grep -h -A20 '^scenarios: .* [1-9][0-9]* failed' "$cov"/boots-*.log | grep '^  not ok' || true
t2=$(date +%s)

python3 scripts/coverage.py --repo build/linux --base base --series series \
	--build "$top/build/kernel-series-gcov" --goal "$goal" \
	--json "$cov/coverage.json" --md "$cov/coverage.md" "$cov/results"
rc=$?
echo "coverage: build $((t1 - t0)) s, boots $((t2 - t1)) s, report $(($(date +%s) - t2)) s;" \
	"report: build/coverage/coverage.md, build/coverage/coverage.json"
[ $bad = 0 ] || echo "coverage: some boots failed (build/coverage/boots-*.log): their data counts as far as it was collected"
[ $rc = 0 ] && [ $bad = 0 ]
