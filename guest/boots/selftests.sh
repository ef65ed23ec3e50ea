# The KVM selftests built from this kernel's tree, each with a timeout.
# wb.selftests=all runs every one that built; wb.selftests=LIST those in
# config/selftests-LIST.txt (default: check).  One TAP line "selftest NAME"
# each; their output is kept in the results directory.
. "$WB_TOP/guest/lib.sh"

load_kvm || { nok "kvm and kvm-$VENDOR load"; exit 0; }
dir=$MOD/selftests
if [ "${WB_SELFTESTS:-check}" = all ]; then
	tests=$(awk '$2 == "built" {print $1}' "$dir/BUILT" | xargs -n1 basename)
else
	tests=$(sed -e 's/#.*//' "$WB_TOP/config/selftests-${WB_SELFTESTS:-check}.txt")
fi
mkdir -p "$WB_RESULTS/selftests"
for t in $tests; do
	if [ ! -x "$dir/$t" ]; then
		skip "selftest $t" "did not build"
		continue
	fi
	start=$(date +%s)
	timeout -s KILL "${WB_SELFTEST_TIMEOUT:-120}" "$dir/$t" > "$WB_RESULTS/selftests/$t.log" 2>&1 < /dev/null
	rc=$?
	took=$(( $(date +%s) - start ))
	case $rc in
	0) ok "selftest $t" ;;
	4) skip "selftest $t" "$(grep -m1 -i skip "$WB_RESULTS/selftests/$t.log" | cut -c1-100) (${took}s)" ;;
	137) nok "selftest $t" "killed after ${took}s timeout" ;;
	*) nok "selftest $t" "exit $rc after ${took}s: $(grep -m1 -iE 'assert|fail|error' "$WB_RESULTS/selftests/$t.log" | cut -c1-100)" ;;
	esac
	echo "selftest $t: exit $rc in ${took}s"
done
