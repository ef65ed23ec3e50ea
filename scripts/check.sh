#!/usr/bin/env bash
# make check: write the run's plan, then every stage in order, each with its
# elapsed time, then every planned item judged and the closing line
# "N passed, N failed".  Every stage is a judged item of its own (a failed
# stage fails make check); a stage that needs a failed one is skipped and
# says so; a planned boot that never ran fails, naming why.
#   BOOTS="main headline" make check    runs only the named boots
#   SERIES=6.12 (make check-6.12)       the 6.12 series and kernels instead:
#                                       patches/6.12/, build/linux-6.12, the
#                                       boots whose check names 6.12-base or
#                                       6.12-series; results in build/results-6.12
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export SERIES=${SERIES:-6.1}
if [ "$SERIES" = 6.1 ]; then
	res=build/results kb=base ks=series pdir=patches repo=build/linux base_arg=
	stages=dependencies,base-tree,unit-tests,series-round-trip,apply,checkpatch,build-base,build-series,build-series-arm64,guest-tools,boots
else
	res=build/results-$SERIES kb=$SERIES-base ks=$SERIES-series pdir=patches/$SERIES repo=build/linux-$SERIES base_arg=$SERIES
	stages=dependencies,base-tree,unit-tests,series-round-trip,apply,checkpatch,build-$kb,build-$ks,guest-tools,boots
fi
rm -rf "$res"; mkdir -p "$res/checks"
T0=$(date +%s)

# The plan comes first: if the registry is broken nothing can be judged.
if ! python3 scripts/scenarios.py plan --check --kernels "$kb,$ks" --host "$stages" ${BOOTS:-} > "$res/plan.json"; then
	echo "make check: no plan (the scenario registry, config/scenarios.toml, is broken)"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "=== plan: $(grep -c '"boot"' "$res/plan.json") items ($res/plan.json)"

failed_stage=""
# stage NAME NEEDS CMD...: run CMD as the judged item checks/NAME, unless a
# stage it needs (NEEDS=1: every earlier one) failed; output in its folder.
stage() {
	local name=$1 needs=$2 d=$res/checks/$1 t=$(date +%s) rc; shift 2
	mkdir -p "$d"
	echo '{"boot": "'"$name"'", "console": false}' > "$d/meta.json"
	echo "=== $name"
	if [ "$needs" = 1 ] && [ -n "$failed_stage" ]; then
		echo "not ok 1 - $name # skipped: stage '$failed_stage' failed" > "$d/tap.txt"
		printf '%s\tskipped: stage %s failed\n' "$name" "$failed_stage" >> "$res/stages.tsv"
		echo "=== $name: SKIPPED (stage '$failed_stage' failed)"
		return 1
	fi
	"$@" 2>&1 | tee "$d/output.txt"; rc=${PIPESTATUS[0]}
	if [ $rc = 0 ]; then
		echo "ok 1 - $name" > "$d/tap.txt"
		printf '%s\tok\n' "$name" >> "$res/stages.tsv"
	else
		echo "not ok 1 - $name # exit $rc, see ${d#$top/}/output.txt" > "$d/tap.txt"
		printf '%s\tfailed (exit %s)\n' "$name" "$rc" >> "$res/stages.tsv"
		[ "$needs" = 1 ] && failed_stage=${failed_stage:-$name}
	fi
	echo "=== $name: $([ $rc = 0 ] && echo done || echo "FAILED (exit $rc)") in $(($(date +%s) - t))s (total $(($(date +%s) - T0))s)"
	return $rc
}
checkpatch() {
	local p bad=0 ign
	for p in $(sed -e 's/#.*//' "$pdir/series" | grep '\.patch$'); do
		# accepted exceptions, with their reasons, in config/checkpatch-exceptions
		ign=$(awk -v p="$p" '!/^#/ && NF >= 2 && ($1 == "*" || index(p, $1)) {printf "%s,", $2}' config/checkpatch-exceptions)
		if ! (cd "$repo" && PATH=/usr/bin:/bin:$PATH scripts/checkpatch.pl --strict -q --terse \
			${ign:+--ignore "${ign%,}"} "$top/$pdir/$p"); then
			echo "checkpatch: $p"; bad=1
		fi
	done
	echo "checkpatch --strict: $(sed -e 's/#.*//' "$pdir/series" | grep -c '\.patch$') patches checked"
	return $bad
}

# NEEDS=0: a failure is judged but does not stop what follows
stage dependencies 1 scripts/deps.sh
stage base-tree 1 scripts/base.sh $base_arg
# the workbench's own tests (the selftest runner's use the base tree's runner)
stage unit-tests 0 python3 -m unittest discover -s tests
stage series-round-trip 0 scripts/series.sh check
stage apply 1 scripts/series.sh apply
stage checkpatch 0 checkpatch
stage "build-$kb" 1 scripts/build.sh "$kb" --no-selftests
# 6.12: the one selftest its boots run (selftest-612), not all of them
stage "build-$ks" 1 scripts/build.sh "$ks" $([ "$SERIES" = 6.1 ] || echo "--selftests cpu_hotplug_test")
# the arm64 lane's kernel: its boots fail, naming the missing Image, if it does not build
[ "$SERIES" != 6.1 ] || stage build-series-arm64 0 scripts/build.sh series --arch arm64
stage guest-tools 1 make -s -C guest
# The boots, by group side by side (config/scenarios.toml): the emulators
# run each guest on one host thread, so the groups keep both cores busy.
stage boots 1 python3 scripts/scenarios.py check "$res/plan.json" --results "$res"

echo "=== results (total $(($(date +%s) - T0))s)"
python3 scripts/report.py summary "$res" --plan "$res/plan.json"
