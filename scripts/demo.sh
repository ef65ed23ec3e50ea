#!/usr/bin/env bash
# make demo / make demo-base: build (or reuse) one kernel, boot it, and
# narrate the headline scenario (the registry's "headline" boot): kvm-amd
# loaded, a VM running, a CPU without SVM hot-added and onlined.  Ends with
# a one-line verdict.
set -euo pipefail
kernel=${1:-series}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -f "build/out/$kernel/bzImage" ]; then
	echo "demo: building the $kernel kernel first (cold: ~10 min, then cached)"
	scripts/base.sh
	[ "$kernel" = series ] && scripts/series.sh apply
	scripts/build.sh "$kernel" --no-selftests
fi
make -s -C guest
echo "demo: booting the $kernel kernel"
python3 scripts/scenarios.py run "$kernel" headline --results build/demo || true
con=build/demo/$kernel/headline/console.log
tap=build/demo/$kernel/headline/tap.txt
echo
echo "demo: what the kernel said about KVM and CPU 2:"
grep -E "kvm|SVM|svm|CPU2|CPU 2|cpu 2|smpboot" "$con" | grep -v "^wb:" | sed 's/^/    /' | head -20
splat=$(python3 scripts/report.py scan "$con" || true)
splat=${splat%%$'\n'*}
if grep -q "^ok .* - onlining CPU 2 without SVM is refused" "$tap" &&
   grep -q "^ok .* - the running VM kept running" "$tap" && [ -z "$splat" ]; then
	echo "VERDICT ($kernel): CPU 2 without SVM was refused, it stayed offline, the running VM kept running, no splat."
elif [ -n "$splat" ]; then
	echo "VERDICT ($kernel): CPU 2 without SVM was accepted and the kernel crashed: $(echo "$splat" | cut -c1-120)"
else
	echo "VERDICT ($kernel): unexpected - see $con and $tap"
fi
