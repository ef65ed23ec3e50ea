# The 6.12 series' KUnit suites, each in a module of its own
# (kvm-compat-test: kvm-x86-cr4-compat; kvm-amd-compat-test:
# kvm-amd-svm-compat); their KTAP goes to the console, where the judge
# reads it.
. "$WB_TOP/guest/lib.sh"

check "kvm and kvm-amd load" load_kvm
check "the CR4 suite's module loads" insmod "$MOD/kvm-compat-test.ko"
check "the SVM suite's module loads" insmod "$MOD/kvm-amd-compat-test.ko"
check "the suites' modules unload" rmmod kvm_amd_compat_test kvm_compat_test
check "kvm-amd and kvm unload" unload_kvm
