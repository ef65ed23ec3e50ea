# Load kvm.ko, which runs the kvm-x86-cr4-compat KUnit suite (its KTAP goes
# to the console), and kvm-amd.  Used by scripts/kunit-experiment.sh.
. "$WB_TOP/guest/lib.sh"
check "kvm and kvm-$VENDOR load" load_kvm
