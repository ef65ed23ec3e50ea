#!/usr/bin/env bash
# make riscv: the riscv64 lane (qemu-riscv64) on both 6.1 kernels.  Each
# kernel is built for riscv (scripts/build.sh KERNEL --arch riscv
# --no-selftests, under the kernel build lock) and every scenario of the
# lane is booted on it: the series first, then the base.  The judge
# (scripts/report.py summary over the results and their plan) ends it with
# "N passed, N failed"; a build that fails fails its boots as never run.
#   RISCV_RESULTS   the results directory (default build/riscv-results)
#   RISCV_KERNELS   the kernels, in order (default "series base")
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
kernels=${RISCV_KERNELS:-series base}
# every scenario of the lane, from the registry
boots=$(python3 "$top/scripts/scenarios.py" list | awk '$2 == "qemu-riscv64" {print $1}')
[ -n "$boots" ] || { echo "riscv: no qemu-riscv64 scenario in config/scenarios.toml" >&2; exit 2; }
t0=$(date +%s)
results "${RISCV_RESULTS:-$top/build/riscv-results}"
plan checks guest-riscv guest-riscv
for k in $kernels; do
	plan checks "build-$k-riscv" "build-$k-riscv"
	for b in $boots; do plan "$k" "$b" "build-$k-riscv"; done
done
plan_write
build() { # kernel: one build at a time on this machine (build/kbuild.lock)
	flock "$KBUILD_LOCK" "$top/scripts/build.sh" "$1" --arch riscv --no-selftests
}
stage guest-riscv make -C "$top/guest" riscv
for k in $kernels; do
	echo "== $k"
	stage "build-$k-riscv" build "$k" && tail -1 "$RES/checks/build-$k-riscv/output.txt"
	# the boots run (and fail, saying why) even without the guest program
	# or the kernel, unless the build failed: then they never ran
	if grep -q "^build-$k-riscv	ok" "$RES/stages.tsv"; then
		for b in $boots; do run_boot "$k" "$k" "$b"; done
	fi
done
echo "== the judge ($(($(date +%s) - t0))s)"
summary
