#!/usr/bin/env bash
# make check: every stage in order, each with its elapsed time, then the
# judged results of everything and the closing "N passed, N failed" line.
#   BOOTS="main headline" make check    runs only the named boots
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
res=build/results
rm -rf "$res"; mkdir -p "$res/checks"
T0=$(date +%s)
stage() { # name cmd...
	local name=$1 t=$(date +%s) rc; shift
	echo "=== $name"
	"$@"; rc=$?
	echo "=== $name: $([ $rc = 0 ] && echo done || echo "FAILED (exit $rc)") in $(($(date +%s) - t))s (total $(($(date +%s) - T0))s)"
	return $rc
}
# A host-side check recorded as one TAP result under build/results/checks/
record() { # name cmd...
	local name=$1 d=$res/checks/$1 rc; shift
	mkdir -p "$d"
	echo '{"boot": "'"$name"'", "console": false}' > "$d/meta.json"
	"$@" > "$d/output.txt" 2>&1; rc=$?
	tail -n 15 "$d/output.txt"
	if [ $rc = 0 ]; then echo "ok 1 - $name" > "$d/tap.txt"
	else echo "not ok 1 - $name # exit $rc, see ${d#$top/}/output.txt" > "$d/tap.txt"; fi
	return $rc
}
checkpatch() {
	local p bad=0 ign
	for p in $(sed -e 's/#.*//' patches/series); do
		# accepted exceptions, with their reasons, in config/checkpatch-exceptions
		ign=$(awk -v p="$p" '!/^#/ && NF >= 2 && ($1 == "*" || index(p, $1)) {printf "%s,", $2}' config/checkpatch-exceptions)
		if ! (cd build/linux && PATH=/usr/bin:/bin:$PATH scripts/checkpatch.pl --strict -q --terse \
			${ign:+--ignore "${ign%,}"} "$top/patches/$p"); then
			echo "checkpatch: $p"; bad=1
		fi
	done
	echo "checkpatch --strict: $(sed -e 's/#.*//' patches/series | grep -c .) patches checked"
	return $bad
}

stage "workbench unit tests" record unit-tests python3 -m unittest discover -s tests
stage "dependencies" scripts/deps.sh || exit 1
stage "base tree" scripts/base.sh || exit 1
stage "series applies and round-trips" record series-round-trip scripts/series.sh check || exit 1
stage "apply" scripts/series.sh apply || exit 1
stage "checkpatch --strict" record checkpatch checkpatch
stage "build base" scripts/build.sh base --no-selftests || exit 1
stage "build series" scripts/build.sh series || exit 1
stage "guest tools" make -s -C guest || exit 1
# QEMU runs every vCPU on one host thread (README), so the other core runs
# the series' selftests under Bochs meanwhile; its output is printed after.
if [ -z "${BOOTS:-}" ]; then
	echo "=== Bochs: selftests on the series, alongside the QEMU boots (log: $res/bochs-selftests.log)"
	bt=$(date +%s)
	python3 scripts/scenarios.py series intel-selftests > "$res/bochs-selftests.log" 2>&1 &
	bochs_selftests=$!
fi
for k in base series; do
	stage "scenarios on $k" python3 scripts/scenarios.py "$k" ${BOOTS:-}
done
bochs_selftests_wait() {
	wait "$bochs_selftests"; local rc=$?
	grep -v "^  \[" "$res/bochs-selftests.log"
	echo "(the Bochs selftests boot took $(($(date +%s) - bt))s from its start)"
	return $rc
}
# Bochs is single-threaded: both kernels at once, one core each.  (The
# kvm-amd cross-check on Bochs, "make bochs-amd", is left out: cold, make
# check took 45 min with it.)
bochs_lane() {
	python3 scripts/scenarios.py base intel & local b=$!
	python3 scripts/scenarios.py series intel & local s=$!
	wait $b; local rb=$?; wait $s; return $((rb | $?))
}
if [ -z "${BOOTS:-}" ]; then
	stage "Bochs: selftests on the series (wait)" bochs_selftests_wait
	stage "Bochs lane (VMX), base and series" bochs_lane
fi
echo "=== results (total $(($(date +%s) - T0))s)"
python3 scripts/report.py summary "$res"
