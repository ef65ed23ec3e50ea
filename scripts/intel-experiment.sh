#!/usr/bin/env bash
# Throwaway experiment (not part of make check): does the Bochs lane's
# "intel" boot catch a CPU that comes online without VMX enabled while VMs
# exist?  Rebuild the series' modules with the ONLINE callback skipping the
# enable (it returns 0 instead), and run the intel boot on it and on the
# series.  The series must pass; the variant must fail the re-onlined CPU's
# checks (CR4.VMXE clear there; a guest there hits VMX instructions with
# VMX off).
set -euo pipefail
. "$(dirname "$0")/experiment-lib.sh"
variant intel-exp virt/kvm/kvm_main.c \
	's/^\t\tr = kvm_hw_enable_this_cpu();$/\t\tr = 0;/'
boot_both intel intel-exp
r=$top/build/intel-exp
for k in series variant; do
	echo "== $k: TAP"
	grep -E "^(not ok|ok)" "$r/$k/series/intel/tap.txt" | grep -E "^not ok|cycle 1" || true
	echo "== $k: splats on the console:"
	python3 "$top/scripts/report.py" scan "$r/$k/series/intel/console.log" || true
done
if python3 "$top/scripts/report.py" boot "$r/series/series/intel" >/dev/null &&
   ! python3 "$top/scripts/report.py" boot "$r/variant/series/intel" >/dev/null; then
	echo "experiment: as expected, the series passes and the broken online enable fails"
else
	echo "experiment: UNEXPECTED (see $r/*/series/intel/)"
	exit 1
fi
