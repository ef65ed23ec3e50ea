#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the KUnit suite
# kvm-x86-cr4-compat catch a broken CR4 check?  Rebuild kvm.ko from the
# series worktree with the check ignoring LA57 (a hot-added CPU without
# LA57 would then pass), load it, and parse the suite's KTAP with the
# tree's kunit.py.  The series must pass all of it; the variant must fail
# the tests of a CPU lacking LA57 (cr4_lacks_la57, cr4_lacks_several).
set -euo pipefail
. "$(dirname "$0")/experiment-lib.sh"
variant kunit-exp arch/x86/kvm/x86.c \
	's/^\t\(return required & kvm_cr4_cpuid_reserved_bits(c)\);/\t\1 \& ~X86_CR4_LA57;/'
declare -A summary
for k in series kunit-exp; do
	python3 "$top/scripts/boot.py" --kernel "$k" --name kunit --script guest/boots/kunit.sh \
		--smp 1 --maxcpus 1 --timeout 300 --results "$top/build/kunit-exp" --quiet
	summary[$k]=$(python3 - "$top" "$top/build/kunit-exp/$k/kunit" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/scripts")
import scenarios
print(scenarios.kunit("series", Path(sys.argv[2])))
PY
)
	echo "== $k: ${summary[$k]}"
	sed 's/\x1b\[[0-9;]*m//g' "$top/build/kunit-exp/$k/kunit/kunit.txt" | grep -E "\[FAILED\]|Expected|but$|== " || true
	echo "== $k: splats on the console:"
	python3 "$top/scripts/report.py" scan "$top/build/kunit-exp/$k/kunit/console.log" || true
done
if [[ ${summary[series]} =~ Ran\ 11\ tests:\ passed:\ 11$ && ${summary[kunit-exp]} =~ failed:\ [1-9] ]]; then
	echo "experiment: as expected, the series passes and the broken check fails the suite"
else
	echo "experiment: UNEXPECTED: series '${summary[series]}', broken '${summary[kunit-exp]}'"
	exit 1
fi
