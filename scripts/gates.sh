#!/usr/bin/env bash
# Review gates: what a series must pass before it is posted, each compared
# with the base, each with its elapsed time, then "N passed, N failed".
#   bisect     every patch, in order, builds on its own (x86_64, the test
#              config: vmlinux and the KVM modules); names the first that does not
#   sparse     make C=2 over arch/x86/kvm/ (virt/kvm/ is built from there):
#              the series adds no sparse warning
#   w1         the same with W=1 (gcc's extra warnings and kernel-doc)
#   cross      arch/<arch>/kvm/ (with virt/kvm/) builds on the other KVM
#              architectures as it does on the base, with no new warnings; one
#              result per target (config/cross/<target>.config); a target
#              whose base does not build fails (it would check nothing);
#              x86-hyperv: x86_64 with CONFIG_HYPERV, arch/x86/hyperv/ too
#   changelog  codespell over each patch's message and added lines;
#              kernel-doc over the .c/.h files the series touches, no new warnings
#
#   GATES="bisect sparse" scripts/gates.sh    a subset (default: all five)
#   CROSS="arm64 mips" scripts/gates.sh       a subset of the cross targets
#   SERIES=6.12 scripts/gates.sh              the 6.12 series (make gates SERIES=6.12)
#   SERIES_REF=<branch> BASE_REF=<rev>        what to check (default series, base)
#   JOBS=<n>                                  make -j (default: cores + 1)
# SERIES=6.1 (the default): build/linux; trees build/gates/x86 (bisect,
# sparse, w1) and build/gates/<target>, worktrees of build/linux built in
# place with ccache; logs in build/gates/logs/, lock build/gates/lock.
# SERIES=6.12: build/linux-6.12, trees, logs and lock under build/gates-6.12/,
# so both series' gates can run side by side.
# Configs: the x86 trees take config/kvm-test.config, with
# config/kvm-test-<SERIES>.config on top if it exists (as scripts/build.sh);
# a cross target takes config/cross/<target>.config, with
# config/cross/<SERIES>/<target>.config on top if it exists (what that
# version's Kconfig needs otherwise, e.g. 6.12's mips).
set -euo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
ver=${SERIES:-6.1}
case $ver in
6.1) repo=$top/build/linux gd=$top/build/gates mk_series= ;;
[0-9]*.[0-9]*) repo=$top/build/linux-$ver gd=$top/build/gates-$ver mk_series=" SERIES=$ver" ;;
*) echo "gates: unknown SERIES '$ver' (6.1, 6.12)" >&2; exit 2 ;;
esac
logs=$gd/logs
# kconfig's "added by the series" exception looks in this version's series
export KB_REPO=$repo
base_ref=${BASE_REF:-base}
series_ref=${SERIES_REF:-series}
all_gates="bisect sparse w1 cross changelog"
gates=${GATES:-$all_gates}
cross_targets=${CROSS:-arm64 riscv s390 powerpc powerpc-e500mc mips x86-hyperv}
g() { git -C "$repo" "$@"; }

for x in $gates; do
	case " $all_gates " in *" $x "*) ;; *) echo "gates: unknown gate '$x' (gates: $all_gates)" >&2; exit 2 ;; esac
done
[ -d "$repo" ] || { echo "gates: no ${repo#"$top"/} (run 'make apply$mk_series')" >&2; exit 1; }
for r in "$base_ref" "$series_ref"; do
	g rev-parse -q --verify "$r^{commit}" >/dev/null ||
		{ echo "gates: ${repo#"$top"/} has no '$r' (run 'make apply$mk_series')" >&2; exit 1; }
done
base=$(g rev-parse "$base_ref^{commit}")
tip=$(g rev-parse "$series_ref^{commit}")
mapfile -t commits < <(g rev-list --reverse "$base..$tip")
n=${#commits[@]}
[ "$n" -gt 0 ] || { echo "gates: $base_ref..$series_ref has no commits" >&2; exit 1; }

mkdir -p "$logs"
exec 9>"$gd/lock"
flock -n 9 || { echo "gates: another gates.sh is running on this series (${gd#"$top"/}/lock)" >&2; exit 1; }

. "$top/scripts/kbuild.sh"

# "[PATCH i/n] subject" of commit number i (1-based)
patch_name() { echo "[PATCH $1/$n] $(g log -1 --format=%s "${commits[$1 - 1]}")"; }

# Check out a commit into a gates worktree (made on first use).
checkout() { # dir commit
	if [ -d "$1" ]; then
		git -C "$1" checkout -q -f --detach "$2"
	else
		g worktree prune
		g worktree add -q --detach "$1" "$2"
	fi
}

# A build log's warnings and errors as "file: warning: message" lines, one
# per diagnostic, sorted, without line/column numbers (so they survive code
# moving) and with "dir/../" collapsed (virt/kvm is built as
# arch/<arch>/kvm/../../../virt/kvm).  Compared as multisets with comm.
warnings() { # log
	sed -e 's/\x1b\[[0-9;]*[mK]//g' "$1" |
		grep -E '^[^ :]+:[0-9]+(:[0-9]+)?: (warning|error): ' |
		sed -E -e 's#^(\./)?([^ :]+):[0-9]+(:[0-9]+)?: #\2: #' -e ':a' -e 's#[^/ .][^/ ]*/\.\./##' -e 'ta' |
		sort || true
}
# The lines of a log that explain a failed build (else its last lines).
errors() { # log
	local e
	e=$(sed -e 's/\x1b\[[0-9;]*[mK]//g' "$1" |
		grep -E ': (fatal )?error:|undefined!|undefined reference|ERROR:|requested but' | head -n 15 || true)
	if [ -n "$e" ]; then echo "$e"; else tail -n 5 "$1"; fi
}
# New warnings of the series over the base; returns 1 if there are any.
compare() { # name base.w series.w
	local new
	new=$(comm -13 "$2" "$3")
	echo "$1: $(wc -l < "$2") warnings on the base, $(wc -l < "$3") on the series," \
		"$(comm -23 "$2" "$3" | grep -c . || true) gone, $(grep -c . <<< "$new" || true) new"
	[ -z "$new" ] && return 0
	sed "s/^/$1: new: /" <<< "$new"
	return 1
}

# A version's fragments: FILE, then its variant for this version on top if
# there is one (x86: kvm-test-6.12.config; cross: cross/6.12/<target>.config)
fragments() { # file variant
	echo "$1"
	[ "$ver" = 6.1 ] || [ ! -f "$2" ] || echo "$2"
}
mapfile -t x86_frags < <(fragments "$top/config/kvm-test.config" "$top/config/kvm-test-$ver.config")

# ---- x86_64 tree: the test config (as scripts/build.sh), in build/gates[-VER]/x86
x86() { kmake "$gd/x86" x86_64 "$@"; }
x86_at() { # commit
	checkout "$gd/x86" "$1"
	kconfig "$gd/x86" x86_64 "${x86_frags[@]}"
}

gate_bisect() {
	local i c log t rc first=0
	for i in $(seq 1 "$n"); do
		c=${commits[$i - 1]}
		log=$logs/bisect-$i.log
		t=$(date +%s)
		x86_at "$c" > "$log" 2>&1 && x86 vmlinux modules >> "$log" 2>&1 && rc=0 || rc=1
		if [ $rc = 0 ]; then
			echo "bisect: ok     $(patch_name "$i") ($(($(date +%s) - t))s)"
		else
			echo "bisect: FAILED $(patch_name "$i") ($(($(date +%s) - t))s, ${log#"$top"/})"
			errors "$log" | sed 's/^/bisect:     /'
			[ "$first" = 0 ] && first=$i
		fi
	done
	[ "$first" = 0 ] && { echo "bisect: all $n patches build on their own"; return 0; }
	echo "bisect: first patch that does not build: $(patch_name "$first") (${commits[$first - 1]:0:12})"
	return 1
}

# sparse and W=1 over arch/x86/kvm/ on the base, then on the series.
x86_warnings() { # kind commit make-args...
	local kind=$1 c=$2 log; shift 2
	log=$logs/$kind-$([ "$c" = "$base" ] && echo base || echo series).log
	x86_at "$c" > "$log" 2>&1 || { echo "$kind: config failed (${log#"$top"/})"; return 1; }
	x86 prepare >> "$log" 2>&1 || { echo "$kind: make prepare failed (${log#"$top"/})"; errors "$log"; return 1; }
	# no stale objects: every file is compiled (ccache replays its warnings)
	find "$gd/x86/arch/x86/kvm" "$gd/x86/virt/kvm" -name '*.o' -delete
	if ! x86 "$@" arch/x86/kvm/ >> "$log" 2>&1; then
		echo "$kind: arch/x86/kvm/ does not build at ${c:0:12} (${log#"$top"/})"; errors "$log"; return 1
	fi
	warnings "$log" > "${log%.log}.w"
}
gate_sparse() {
	# sparse stops at 100 warnings a file (vmx/vmcs12.c and vmx/evmcs.c have more)
	local cf=CF=-fmax-warnings=unlimited
	x86_warnings sparse "$base" C=2 "$cf" && x86_warnings sparse "$tip" C=2 "$cf" &&
		compare sparse "$logs/sparse-base.w" "$logs/sparse-series.w"
}
gate_w1() {
	# CONFIG_KVM_WERROR= on the command line drops KVM's -Werror, so W=1's
	# warnings are reported rather than stopping the build.
	x86_warnings w1 "$base" W=1 CONFIG_KVM_WERROR= && x86_warnings w1 "$tip" W=1 CONFIG_KVM_WERROR= &&
		compare w1 "$logs/w1-base.w" "$logs/w1-series.w"
}

# ---- cross: one worktree per target, switched between base and series
gate_cross() { # target
	local t=$1 arch cc wt side c log rc s dirs frags f
	read -r arch cc < <(kb_arch "$t") || { echo "cross: unknown target '$t'"; return 1; }
	[ "$cc" = - ] && cc=
	[ -f "$top/config/cross/$t.config" ] || { echo "cross: no config/cross/$t.config"; return 1; }
	command -v "${cc}gcc" >/dev/null || { echo "cross: $t: ${cc}gcc is not installed"; return 1; }
	mapfile -t frags < <(fragments "$top/config/cross/$t.config" "$top/config/cross/$ver/$t.config")
	[ ${#frags[@]} = 1 ] || echo "cross: $t: config ${frags[*]#"$top"/}"
	wt=$gd/$t
	xmk() { kmake "$wt" "$t" "$@"; }
	# what to build: arch/<arch>/kvm/, or a fragment's "# gates-dirs:" line
	# (the version's own fragment's, if it has one)
	dirs=
	for f in "${frags[@]}"; do
		dirs=$(sed -n 's/^# gates-dirs: *//p' "$f" | grep . || echo "$dirs")
	done
	[ -n "$dirs" ] || dirs="arch/$arch/kvm/"
	for side in base series; do
		c=$([ $side = base ] && echo "$base" || echo "$tip")
		log=$logs/cross-$t-$side.log
		rc=0 s=$(date +%s)
		{ checkout "$wt" "$c" && kconfig "$wt" "$t" "${frags[@]}" &&
			xmk prepare && xmk $dirs; } > "$log" 2>&1 || rc=1
		echo "cross: $t: $side ($arch, ${cc}gcc): $([ $rc = 0 ] && echo built || echo FAILED) in $(($(date +%s) - s))s"
		warnings "$log" > "${log%.log}.w"
		if [ $rc != 0 ] && [ $side = base ]; then
			echo "cross: $t: the base does not build $dirs (${log#"$top"/}), so this"
			echo "cross: $t: target checks nothing: fix ${frags[*]#"$top"/} or leave $t out of CROSS"
			errors "$log" | sed "s/^/cross: $t:     /"
			return 1
		elif [ $rc != 0 ]; then
			echo "cross: $t: the series does not build $dirs, the base does (${log#"$top"/}):"
			errors "$log" | sed "s/^/cross: $t:     /"
			return 1
		fi
	done
	compare "cross: $t" "$logs/cross-$t-base.w" "$logs/cross-$t-series.w"
}

# ---- changelog: codespell per patch, kernel-doc base vs series
gate_changelog() {
	local d=$gd/changelog i c f l bad=0 side
	rm -rf "$d"; mkdir -p "$d"
	for i in $(seq 1 "$n"); do
		c=${commits[$i - 1]}
		g log -1 --format=%B "$c" > "$d/message"
		g diff -U0 --no-color "$c^" "$c" | grep '^+' | grep -Ev '^\+\+\+ (b/|/dev/null)' | cut -c2- > "$d/added" || true
		for f in message added; do
			(cd "$d" && codespell "$f") > "$d/out" 2>&1 && continue
			bad=1
			while IFS= read -r l; do echo "changelog: $(patch_name "$i"): $l"; done < "$d/out"
		done
	done
	[ $bad = 0 ] && echo "changelog: codespell: no misspellings in the $n messages and added lines"
	# kernel-doc (the series' script) over every .c/.h file the series adds or changes
	g show "$tip:scripts/kernel-doc" > "$d/kernel-doc"
	for side in base series; do
		c=$([ $side = base ] && echo "$base" || echo "$tip")
		touch "$d/kernel-doc-$side.log"
		while IFS= read -r f; do
			g cat-file -e "$c:$f" 2>/dev/null || continue
			mkdir -p "$d/$side/$(dirname "$f")"
			g show "$c:$f" > "$d/$side/$f"
			(cd "$d/$side" && perl "$d/kernel-doc" -none "$f") >> "$d/kernel-doc-$side.log" 2>&1 || true
		done < <(g diff --name-only --diff-filter=AM "$base" "$tip" -- '*.c' '*.h')
		warnings "$d/kernel-doc-$side.log" > "$d/kernel-doc-$side.w"
	done
	compare "changelog: kernel-doc" "$d/kernel-doc-base.w" "$d/kernel-doc-series.w" || bad=1
	return $bad
}

# ---- run
T0=$(date +%s)
passed=0 failed=0
run() { # name gate-function args...
	local name=$1 t rc; shift
	t=$(date +%s)
	echo "=== $name"
	set +e; (set -e; "$@"); rc=$?; set -e
	if [ $rc = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	echo "=== $name: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t))s (total $(($(date +%s) - T0))s)"
}
echo "gates: Linux $ver (${repo#"$top"/}): $base_ref..$series_ref, $n patches ($(g log -1 --format=%h "$tip")), make -j$kb_jobs"
for x in $gates; do
	if [ "$x" = cross ]; then
		for t in $cross_targets; do run "cross $t" gate_cross "$t"; done
	else
		run "$x" "gate_$x"
	fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
