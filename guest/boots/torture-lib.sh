# Helpers of the reliability suite (make torture: guest/boots/torture-*.sh),
# sourced after guest/lib.sh.  Not a boot script of its own.
#
#   kmemleak_reset          scan and forget what kmemleak reported so far
#                           (boot-time reports are not the test's)
#   kmemleak_check NAME     one test point: nothing new is reported (waits past
#                           kmemleak's minimum object age first); the report
#                           goes to the console
#   ff_arm FUNC [KEY=VALUE ...]
#                           fail FUNC (marked injectable by the test-only
#                           patch) through /sys/kernel/debug/fail_function:
#                           once (times=1), the first call (space=0), with
#                           -EIO; KEY=VALUE overrides (e.g. space=2: the 3rd
#                           call fails)
#   ff_injected             whether the armed fault was injected (times is 0)
#   ff_disarm               remove every injection point
DBG=/sys/kernel/debug
KL=$DBG/kmemleak
FF=$DBG/fail_function
FS=$DBG/failslab

kmemleak_reset() {
	[ -w "$KL" ] || { echo "no $KL (CONFIG_DEBUG_KMEMLEAK)"; return 1; }
	echo scan > "$KL"
	echo clear > "$KL"
}
kmemleak_check() {
	local n t0=$(date +%s)
	sleep 6                         # kmemleak's minimum object age is 5 s
	echo scan > "$KL"
	cat "$KL" > /tmp/kmemleak.txt
	n=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	echo "kmemleak: $n unreferenced objects ($(( $(date +%s) - t0 ))s for the scan)"
	if [ "$n" = 0 ]; then ok "$1"; else nok "$1" "$n unreferenced objects"; head -60 /tmp/kmemleak.txt; fi
	echo clear > "$KL"              # the next check reports new leaks only
}

ff_arm() {
	local fn=$1 kv
	shift
	echo > "$FF/inject"
	echo "$fn" > "$FF/inject" || { echo "fail_function: cannot inject $fn"; return 1; }
	echo "$(printf '%#x' -5)" > "$FF/$fn/retval"        # -EIO
	echo 100 > "$FF/probability"
	echo 1 > "$FF/interval"
	echo 0 > "$FF/space"
	echo 1 > "$FF/times"
	echo N > "$FF/task-filter"
	echo 1 > "$FF/verbose"
	for kv; do echo "${kv#*=}" > "$FF/${kv%%=*}"; done
}
ff_injected() { [ "$(cat "$FF/times")" = 0 ]; }
ff_disarm() { echo > "$FF/inject"; echo 0 > "$FF/times"; }
