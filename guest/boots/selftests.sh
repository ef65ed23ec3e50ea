# The KVM selftests built from this kernel's tree, run by the tree's own
# kselftest runner (run_kselftest.sh: the timeout of kvm/settings, KSFT_SKIP,
# arguments from KSELFTEST_<NAME>_ARGS), one test at a time.  Only a test
# declared flaky (config/flaky.toml, which scripts/scenarios.py passes as
# wb.retry=NAME:TRIES,...) is run again after a failure.  wb.selftests=all runs
# every one that built (kselftest-list.txt); wb.selftests=LIST those in
# config/selftests-LIST.txt (default: check; on a 6.12 kernel
# config/selftests-LIST-6.12.txt where it exists).  One TAP line "selftest NAME"
# each; their output is kept in the results directory.
. "$WB_TOP/guest/lib.sh"

load_kvm || { nok "kvm and kvm-$VENDOR load"; exit 0; }
st=$MOD/selftests
# config/selftests-LIST.txt: one test a line, optionally with arguments,
# which reach it through the runner's KSELFTEST_<NAME>_ARGS
if [ "${WB_SELFTESTS:-check}" = all ]; then
	tests=$(sed -n 's/^kvm://p' "$st/kselftest-list.txt")
else
	list=$WB_TOP/config/selftests-${WB_SELFTESTS:-check}.txt
	# a 6.12 kernel takes the list's 6.12 form where there is one
	# (selftests-LIST-6.12.txt: the tests 6.12 has, under their 6.12 names)
	case $WB_KERNEL in 6.12-*) [ ! -f "${list%.txt}-6.12.txt" ] || list=${list%.txt}-6.12.txt ;; esac
	tests=$(sed -e 's/#.*//' "$list" | awk 'NF {print $1}')
	while read -r t args; do
		[ -n "$args" ] || continue
		v=KSELFTEST_$(echo "$t" | tr -c '[:alnum:]_\n' _ | tr '[:lower:]' '[:upper:]')_ARGS
		export "$v=$args"
		echo "selftest $t: arguments: $args"
	done < <(sed -e 's/#.*//' "$list")
fi
logs=$WB_RESULTS/selftests
mkdir -p "$logs"
# why LOG: the line of a failed test's log that says what failed
why() { grep -m1 -E '\.c:[0-9]+: |[Aa]ssert[a-z]* failed|FAIL|[Ee]rror' "$1" | sed 's/^[# ]*//' | cut -c1-100; }
for t in $tests; do
	if ! grep -qx "kvm:$t" "$st/kselftest-list.txt"; then
		skip "selftest $t" "did not build"
		continue
	fi
	# A declared flaky test that fails and then passes is reported as
	# flaky, not as a pass; one that fails every try fails; a timeout is
	# not retried.  Every other test runs once.
	maxtries=1
	for r in $(echo "${WB_RETRY:-}" | tr , ' '); do
		[ "${r%:*}" = "$t" ] && maxtries=${r##*:}
	done
	tries=0 fails=""
	while :; do
		tries=$((tries + 1))
		start=$(date +%s)
		# wb.hangdump=SECS: a test still running after SECS seconds gets
		# the blocked tasks and every CPU's backtrace on the console
		dumper=
		if [ -n "${WB_HANGDUMP:-}" ]; then
			(sleep "$WB_HANGDUMP"; echo "selftest $t: still running after ${WB_HANGDUMP}s: sysrq w, l"
			 echo w > /proc/sysrq-trigger; echo l > /proc/sysrq-trigger) &
			dumper=$!
		fi
		"$st/run_kselftest.sh" -t "kvm:$t" > "$logs/$t.log" 2>&1 < /dev/null
		[ -z "$dumper" ] || kill "$dumper" 2>/dev/null
		res=$(grep -E "^(not )?ok [0-9]+ selftests: kvm: $t\b" "$logs/$t.log" | tail -n 1)
		took=$(( $(date +%s) - start ))
		case $res in
		"ok "*"# SKIP"*|"ok "*|*"# TIMEOUT"*|"") break ;;
		esac
		fails="$fails ${res##*# }: $(why "$logs/$t.log");"
		mv "$logs/$t.log" "$logs/$t.try$tries.log"
		echo "selftest $t: attempt $tries failed (${res##*# }), log $t.try$tries.log:"
		grep -A3 -m1 -iE 'assert|fail' "$logs/$t.try$tries.log"
		[ $tries -lt "$maxtries" ] || break
	done
	case $res in
	"ok "*"# SKIP"*) skip "selftest $t" "$(grep -m1 -i 'skip' "$logs/$t.log" | sed 's/^[# ]*//' | cut -c1-100) (${took}s)" ;;
	"ok "*) if [ $tries = 1 ]; then ok "selftest $t"
		else ok "selftest $t" "flaky: passed on attempt $tries after$fails"; fi ;;
	*"# TIMEOUT"*) nok "selftest $t" "${res##*# } (the kselftest runner's timeout)" ;;
	"") nok "selftest $t" "the kselftest runner printed no result (log $t.log)" ;;
	*) nok "selftest $t" "failed $tries of $tries attempts, last ${res##*# } after ${took}s: $(why "$logs/$t.try$tries.log")" ;;
	esac
	echo "selftest $t: ${res:-no result} in ${took}s"
done
