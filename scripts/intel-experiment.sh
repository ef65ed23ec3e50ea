#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the Bochs lane's
# "intel" boot catch a CPU that comes online without VMX enabled while VMs
# exist?  Rebuild the series' modules with the ONLINE callback skipping the
# enable (it returns 0 instead; scripts/experiment-lib.sh: a worktree of its
# own, build/variants/intel-exp), and run the intel boot on it and on the
# series.  The judge (scripts/report.py summary over build/intel-exp/ and
# its plan) passes the series' boot, and the variant's only if the
# re-onlined CPU's check fails (CR4.VMXE clear there), with the modules
# loading.
set -uo pipefail
. "$(dirname "$0")/experiment-lib.sh"
make_variant() {
	variant intel-exp virt/kvm/kvm_main.c 's/^\t\tr = kvm_hw_enable_this_cpu();$/\t\tr = 0;/'
}
experiment intel-exp intel 'cycle 1: CR4\.VMXE set on the re-onlined CPU 1' series make_variant
