#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the riscv64 lane see a
# CPU that comes online without virtualization enabled while VMs exist?
# The variant's ONLINE callback, kvm_online_cpu(), no longer enables
# virtualization on the CPU coming online when VMs exist (it returns 0, as
# if there were none).  On riscv that leaves the CPU's hedeleg clear, so a
# guest's breakpoint is no longer delegated to the guest: the riscv-hotplug
# guest program's vCPU, pinned to CPU 1, gets KVM_RUN -EFAULT there.  The
# riscv kernel is rebuilt with the variant (KVM is built in there;
# scripts/experiment-lib.sh: a worktree of its own, build/variants/riscv-exp,
# a copy of build/kernel-series-riscv) and riscv-hotplug boots on it and on
# the series.  The judge (scripts/report.py summary over build/riscv-exp/
# and its plan) passes the series' boot, and the variant's only if the
# running vCPU's check fails.
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
make_variant() {
	variant --arch riscv riscv-exp virt/kvm/kvm_main.c \
		'/^static int kvm_online_cpu(unsigned int cpu)$/,/^}$/s/^\t\tr = kvm_hw_enable_this_cpu();$/\t\tr = 0;/'
}
# what the guest saw
for_people() {
	grep -m3 -E "wb: (not ok|cycle)" "$RES/variant/riscv-hotplug/console.log"
}
experiment riscv-exp riscv-hotplug 'the running vCPU had no unexpected exit' series make_variant
