#!/usr/bin/env bash
# make demo / make demo-base: build (or reuse) one kernel, boot it, and
# narrate the headline scenario (the registry's "headline" boot): kvm-amd
# loaded, a VM running, a CPU without SVM hot-added and onlined.  Shows what
# the kernel said about KVM and CPU 2, then the judge's verdict.
set -euo pipefail
kernel=${1:-series}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -f "build/out/$kernel/bzImage" ]; then
	echo "demo: building the $kernel kernel first (cold: ~15 min, then cached)"
	scripts/base.sh
	[ "$kernel" = series ] && scripts/series.sh apply
	scripts/build.sh "$kernel" --no-selftests
fi
make -s -C guest
echo "demo: booting the $kernel kernel"
python3 scripts/scenarios.py run "$kernel" headline --results build/demo || true
res=build/demo/$kernel/headline
echo
echo "demo: what the kernel said about KVM and CPU 2 (after the guest came up; a splat by its first line):"
python3 scripts/report.py kmsg "$res/console.log" --after "wb: guest up" \
	--match 'kvm|svm|SVM|CPU ?2\b|cpu2|smpboot' | sed 's/^/    /'
echo
if python3 scripts/report.py boot "$res" > "$res/judged.txt"; then
	case $kernel in
	series) echo "VERDICT (series): CPU 2 without SVM was refused, it stayed offline, the running VM kept running, no splat." ;;
	base) echo "VERDICT (base): CPU 2 without SVM was accepted and the kernel crashed, as 6.1 does:" \
		"$(python3 scripts/report.py scan "$res/console.log" | head -1 | cut -c1-120)" ;;
	esac
else
	echo "VERDICT ($kernel): not what this kernel is expected to do; the judge's failures:"
	grep '^not ok' "$res/judged.txt" | sed 's/^/    /'
fi
