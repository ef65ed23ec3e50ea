#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the arm64 lane catch
# the hotplug callbacks running the architecture's enable hook preemptible?
# The series disables IRQs around the arch hooks in kvm_online_cpu() and
# kvm_offline_cpu(); the variant drops that (as the first version of the
# series had it once kvm_count_lock became a mutex).  The arm64 kernel is
# rebuilt with the variant (KVM is built in there; scripts/experiment-lib.sh:
# a worktree of its own, build/variants/arm64-exp, a copy of
# build/kernel-series-arm64), and the arm64-vhe and arm64-nvhe boots run on
# it and on the series.  The judge (scripts/report.py summary over
# build/arm64-exp/ and its plan) passes the series' boots, and the
# variant's only if they show the BUG in kvm_vgic_init_cpu_hardware().
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
make_variant() {
	# kvm_online_cpu() and kvm_offline_cpu(): their local_irq_disable()/enable()
	variant --arch arm64 arm64-exp virt/kvm/kvm_main.c \
		'/^static int kvm_o\(n\|ff\)line_cpu(unsigned int cpu)$/,/^}$/{/^\tlocal_irq_\(dis\|en\)able();$/d}'
}
# where it hit
for_people() {
	local b
	for b in arm64-vhe arm64-nvhe; do
		grep -m1 "kernel BUG at" "$RES/variant/$b/console.log"
		grep -A12 "Call trace:" "$RES/variant/$b/console.log" | head -8
	done
}
experiment arm64-exp "arm64-vhe arm64-nvhe" 'kernel BUG at arch/arm64/kvm/vgic/vgic-init\.c' series make_variant
