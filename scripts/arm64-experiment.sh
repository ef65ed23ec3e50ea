#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the arm64 lane catch
# the hotplug callbacks running the architecture's enable hook preemptible?
# The series disables IRQs around the arch hooks in kvm_online_cpu() and
# kvm_offline_cpu(); the variant drops that (as the first version of the
# series had it once kvm_count_lock became a mutex).  The arm64 kernel is
# rebuilt with the variant (KVM is built in there), and the arm64-vhe and
# arm64-nvhe boots run on it and on the series: the series must pass, the
# variant must fail with the BUG in kvm_vgic_init_cpu_hardware().
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kbuild.sh"
wt=$top/build/kernel-series-arm64
out=$top/build/out/arm64-exp
[ -f "$top/build/out/series-arm64/Image" ] || { echo "build the arm64 series first (make arm64)" >&2; exit 1; }
f=virt/kvm/kvm_main.c
trap 'git -C "$wt" checkout -q -- $f' EXIT
# kvm_online_cpu() and kvm_offline_cpu(): their local_irq_disable()/enable()
sed -i '/^static int kvm_o\(n\|ff\)line_cpu(unsigned int cpu)$/,/^}$/{/^\tlocal_irq_\(dis\|en\)able();$/d}' "$wt/$f"
git -C "$wt" diff -- $f | grep '^[-+][^-+]' || { echo "experiment: the edit changed nothing" >&2; exit 1; }
kmake "$wt" arm64 Image
rm -rf "$out"; mkdir -p "$out"
cp "$wt/arch/arm64/boot/Image" "$wt/vmlinux" "$out/"
git -C "$wt" checkout -q -- $f
trap - EXIT
r=$top/build/arm64-exp
rm -rf "$r"
for b in arm64-vhe arm64-nvhe; do
	python3 "$top/scripts/scenarios.py" run series $b --results "$r/series" --quiet || true
	python3 "$top/scripts/scenarios.py" run series $b --out "$out" --results "$r/variant" --quiet || true
done
bad=0
for b in arm64-vhe arm64-nvhe; do
	echo "== $b, variant: $(python3 "$top/scripts/report.py" scan "$r/variant/series/$b/console.log" | head -3 | tr '\n' ';')"
	grep -m1 "kernel BUG at" "$r/variant/series/$b/console.log" || true
	grep -A12 "Call trace:" "$r/variant/series/$b/console.log" | head -8 || true
	python3 "$top/scripts/report.py" boot "$r/series/series/$b" > /dev/null ||
		{ echo "experiment: the series fails $b"; bad=1; }
	grep -q "kernel BUG at arch/arm64/kvm/vgic/vgic-init.c" "$r/variant/series/$b/console.log" ||
		{ echo "experiment: the variant did not hit the BUG in $b"; bad=1; }
done
if [ $bad = 0 ]; then
	echo "experiment: as expected, the series passes and the variant hits the BUG in VHE and nVHE"
else
	echo "experiment: UNEXPECTED (see $r/)"
	exit 1
fi
