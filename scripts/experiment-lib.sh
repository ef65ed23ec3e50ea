# Shared by scripts/torture.sh and the throwaway experiments
# (scripts/*-experiment.sh), sourced.  Every verdict is the judge's,
# scripts/report.py over one results directory and its plan: nothing here
# decides pass or fail.
#
#   variant [--arch arm64|riscv] NAME FILE SED-EXPR [FILE SED-EXPR ...]
#       builds a deliberately broken variant of the series in a git worktree
#       of its own, build/variants/NAME: the series tree
#       (build/kernel-series[-arm64|-riscv], made by scripts/build.sh) is copied
#       there with its .config and build objects, so the build is
#       incremental, and registered as a worktree of build/linux at the same
#       commit; each FILE (a path in the kernel tree) is edited there by its
#       sed expression; the modules are rebuilt (x86_64: kvm.ko, kvm-amd.ko,
#       kvm-intel.ko; arm64 and riscv, where KVM is built in: the Image).
#       Outputs in build/out/NAME: the series' bzImage (x86_64) and vmlinux
#       with the variant's modules, or the variant's Image and vmlinux.  The series
#       tree is only read, so interrupting this at any point leaves it as it
#       was; a variant's worktree is removed once its outputs are copied
#       (VARIANT_KEEP=1 keeps it).  Takes the kernel build lock,
#       build/kbuild.lock (KBUILD_LOCK).
#
#   results DIR                 the run's results directory (emptied): boots
#                               in DIR/LABEL/BOOT, host-side steps in
#                               DIR/checks/STEP, the plan DIR/plan.json
#   plan LABEL BOOT STAGE       a planned item (call before plan_write): the
#                               boot BOOT under LABEL, run unless STAGE fails
#   plan_write                  writes DIR/plan.json; a planned item without
#                               results then fails, naming why
#   stage NAME CMD...           runs CMD as the judged item checks/NAME (its
#                               output in checks/NAME/output.txt) and records
#                               it in DIR/stages.tsv for the items needing it
#   run_boot KERNEL LABEL BOOT [scenarios.py run args...]
#                               one boot, results in DIR/LABEL/BOOT (the
#                               runner's judgement is printed, for people)
#   summary                     the judge over DIR and its plan: every item,
#                               the failures again, "N passed, N failed";
#                               its exit status is the run's
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/scripts/kbuild.sh"
KBUILD_LOCK=${KBUILD_LOCK:-$top/build/kbuild.lock}

variant() { # [--arch arm64|riscv] name file sed-expr [file sed-expr ...]
	local arch=x86_64 sfx=
	if [ "${1:-}" = --arch ]; then arch=$2; shift 2; fi
	[ "$arch" = x86_64 ] || sfx=-$arch
	mkdir -p "$top/build"
	# a subshell holding the lock on fd 9: released however it ends.  Each
	# step is checked ("set -e" would not hold in a caller's "if" or "&&")
	(
	fail() { echo "variant $name: $*" >&2; exit 1; }
	name=$1; shift
	repo=$top/build/linux series=$top/build/kernel-series$sfx sout=$top/build/out/series$sfx
	v=$top/build/variants/$name out=$top/build/out/$name
	flock 9 || fail "cannot take ${KBUILD_LOCK#$top/}"
	t0=$(date +%s)
	# the series tree must be the one build/out/series was built from
	[ -f "$sout/commit" ] && [ -f "$series/.config" ] ||
		fail "build the series first (scripts/build.sh series${sfx:+ --arch $arch})"
	head=$(git -C "$series" rev-parse HEAD) || fail "${series#$top/} is no git worktree"
	[ "$(cut -d' ' -f1 "$sout/commit")" = "$head" ] ||
		fail "${series#$top/} is not at the commit ${sout#$top/} was built from: run scripts/build.sh series${sfx:+ --arch $arch}"
	git -C "$series" diff --quiet HEAD ||
		fail "${series#$top/} has changes of its own (scripts/build.sh series resets it): $(git -C "$series" diff --name-only HEAD | tr '\n' ' ')"
	# a fresh worktree (what an earlier, interrupted run left is dropped)
	rm -rf "$v" && git -C "$repo" worktree prune && mkdir -p "$top/build/variants" &&
		git -C "$repo" worktree add -q --no-checkout --detach "$v" "$head" ||
		fail "cannot make the worktree ${v#$top/}"
	# the series tree's files and build objects, times kept (make sees them
	# up to date), all but its .git (the worktree's link to its index)
	find "$series" -mindepth 1 -maxdepth 1 ! -name .git -exec cp -a -t "$v" {} + &&
		git -C "$v" read-tree HEAD || fail "cannot copy ${series#$top/} into ${v#$top/}"
	echo "variant $name: ${v#$top/}, a copy of ${series#$top/} at ${head:0:12} ($(($(date +%s) - t0))s)"
	files=()
	while [ $# -ge 2 ]; do
		sed -i -e "$2" "$v/$1" || fail "sed failed on $1: $2"
		git -C "$v" diff --quiet HEAD -- "$1" && fail "the edit changed nothing in $1: $2"
		files+=("$1")
		shift 2
	done
	[ $# = 0 ] || fail "a FILE without its SED-EXPR: $1"
	git -C "$v" diff --stat HEAD -- "${files[@]}"
	git -C "$v" diff HEAD -- "${files[@]}" | grep '^[-+][^-+]'
	t1=$(date +%s)
	rm -rf "$out" && mkdir -p "$out" || fail "cannot make ${out#$top/}"
	if [ "$arch" != x86_64 ]; then
		kmake "$v" "$arch" Image || fail "the build failed"
		cp "$v/arch/$arch/boot/Image" "$v/vmlinux" "$v/System.map" "$out/" || fail "no Image"
	else
		# the mistakes may draw warnings (KVM builds with -Werror): let them
		kmake "$v" x86_64 CONFIG_KVM_WERROR= modules || fail "the build failed"
		cp "$sout/bzImage" "$sout/vmlinux" "$sout/System.map" "$sout/wb_virt.ko" \
			"$v/virt/lib/irqbypass.ko" "$v"/arch/x86/kvm/kvm*.ko "$out/" || fail "no modules"
	fi
	{ echo "$head variant $name of the series"; git -C "$v" diff HEAD -- "${files[@]}"; } > "$out/commit"
	echo "variant $name: built in $(($(date +%s) - t1))s; outputs in ${out#$top/}/"
	if [ "${VARIANT_KEEP:-0}" != 1 ]; then
		git -C "$repo" worktree remove --force "$v" || fail "cannot remove ${v#$top/}"
	fi
	echo "variant $name: done in $(($(date +%s) - t0))s"
	) 9>>"$KBUILD_LOCK"
}

# ------------------------------------------------ results, plan, judge --

RES=
results() { # dir
	RES=$1
	rm -rf "$RES"; mkdir -p "$RES/checks"
	: > "$RES/plan.items"
}
plan() { # label boot stage
	printf '{"kernel": "%s", "boot": "%s", "stage": "%s"}\n' "$1" "$2" "$3" >> "$RES/plan.items"
}
plan_write() {
	{ echo "["; sed '$!s/$/,/' "$RES/plan.items"; echo "]"; } > "$RES/plan.json"
	rm -f "$RES/plan.items"
	echo "plan: $(grep -c '"boot"' "$RES/plan.json") items (${RES#$top/}/plan.json)"
}
# guest_tools [plan]: the guest programs every boot runs (make -C guest:
# kvmtest, fuzz, ...), built as the judged step checks/guest-tools as make
# check builds them, so that a script run directly on a fresh clone never
# boots without them; "plan" adds the step to the plan.
guest_tools() {
	if [ "${1:-}" = plan ]; then plan checks guest-tools guest-tools; return 0; fi
	stage guest-tools make -s -C "$top/guest"
}
stage() { # name cmd...: as scripts/check.sh's stages
	local name=$1 d=$RES/checks/$1 t=$(date +%s) rc; shift
	mkdir -p "$d"
	echo '{"boot": "'"$name"'", "console": false}' > "$d/meta.json"
	"$@" > "$d/output.txt" 2>&1; rc=$?
	if [ $rc = 0 ]; then
		echo "ok 1 - $name" > "$d/tap.txt"
		printf '%s\tok\n' "$name" >> "$RES/stages.tsv"
	else
		echo "not ok 1 - $name # exit $rc, see ${d#$top/}/output.txt" > "$d/tap.txt"
		printf '%s\tfailed (exit %s)\n' "$name" "$rc" >> "$RES/stages.tsv"
	fi
	echo "$name: $([ $rc = 0 ] && echo done || echo "FAILED (exit $rc)") in $(($(date +%s) - t))s"
	return $rc
}
run_boot() { # kernel label boot [scenarios.py run args...]
	local k=$1 label=$2 b=$3; shift 3
	python3 "$top/scripts/scenarios.py" run "$k" "$b" --results "$RES" --label "$label" --quiet "$@"
}
summary() {
	python3 "$top/scripts/report.py" summary "$RES" --plan "$RES/plan.json"
}

# ------------------------------------------------------- an experiment --

# experiment NAME "BOOTS" MUST_FAIL "KERNELS" BUILD_FN [scenarios.py run args...]
#   the throwaway experiments' one shape: results in build/NAME (emptied),
#   each of BOOTS on each of KERNELS, the variant built by BUILD_FN (a
#   judged step, checks/build-NAME; BUILD_FN calls "variant NAME ...",
#   outputs in build/out/NAME) and each of BOOTS on it judged as the series
#   with --must-fail MUST_FAIL (a boot passes only when a failing check
#   matches), then the judge's summary, whose exit status is the
#   experiment's.  A function for_people, when the script defines one,
#   prints what the boots saw (it decides nothing) before the summary.
experiment() {
	local name=$1 boots=$2 must=$3 kernels=$4 build_fn=$5 k b
	shift 5
	results "$top/build/$name"
	for k in $kernels; do for b in $boots; do plan "$k" "$b" boots; done; done
	plan checks "build-$name" "build-$name"
	for b in $boots; do plan variant "$b" "build-$name"; done
	plan_write
	for k in $kernels; do
		echo "== $k"
		for b in $boots; do run_boot "$k" "$k" "$b" "$@"; done
	done
	echo "== variant $name"
	if stage "build-$name" "$build_fn"; then
		grep '^[-+][^-+]' "$RES/checks/build-$name/output.txt" | head -20
		for b in $boots; do
			run_boot series variant "$b" --out "$top/build/out/$name" --must-fail "$must" "$@"
		done
	else
		tail -5 "$RES/checks/build-$name/output.txt"
	fi
	if declare -F for_people >/dev/null; then
		echo "== what the boots saw (for people)"
		for_people
	fi
	echo "== the judge"
	summary
}
