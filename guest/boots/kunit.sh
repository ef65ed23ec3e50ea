# Load kvm.ko, which runs its KUnit suites (kvm-x86-cr4-compat,
# kvm-x86-svm-compat, kvm-x86-vmx-compat; their KTAP goes to the console).
# Only kvm.ko: a variant of scripts/kunit-experiment.sh with wrong SVM
# decisions may make kvm-amd refuse this CPU, which is no failure of the
# suites.  Used by scripts/kunit-experiment.sh.
. "$WB_TOP/guest/lib.sh"
check "kvm.ko loads" insmod "$MOD/kvm.ko"
