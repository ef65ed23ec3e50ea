# Shared by the throwaway experiments (scripts/*-experiment.sh), sourced:
#   variant NAME FILE SED-EXPR [FILE SED-EXPR ...]   rebuilds the series'
#       modules with each FILE (a path in the kernel tree) edited by its sed
#       expression, copies the series bzImage and those modules to
#       build/out/NAME, and restores the files.  Nothing is committed; the
#       series worktree is left clean.
#   boot_both BOOT NAME             runs the registry's scenario BOOT on the
#       series and on the variant (judged as the series), results in
#       build/NAME/{series,variant}/
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$top/scripts/kbuild.sh"
wt=$top/build/kernel-series
[ -f "$top/build/out/series/bzImage" ] || { echo "build the series first (make build)" >&2; exit 1; }
variant() { # name file sed-expr [file sed-expr ...]
	local name=$1 out=$top/build/out/$1 file files=()
	shift
	while [ $# -ge 2 ]; do
		file=$1
		sed -i -e "$2" "$wt/$file"
		files+=("$file")
		shift 2
	done
	trap 'git -C "$wt" checkout -q -- "${files[@]}"' EXIT
	git -C "$wt" diff --stat -- "${files[@]}"
	for file in "${files[@]}"; do
		git -C "$wt" diff --quiet -- "$file" && { echo "experiment: the edit changed nothing in $file" >&2; exit 1; }
	done
	git -C "$wt" diff -- "${files[@]}" | grep '^[-+][^-+]'
	# the mistakes may draw warnings (KVM builds with -Werror): let them
	kmake "$wt" x86_64 CONFIG_KVM_WERROR= modules
	rm -rf "$out"; mkdir -p "$out"
	cp "$top/build/out/series/bzImage" "$top/build/out/series/wb_virt.ko" \
		"$wt/virt/lib/irqbypass.ko" "$wt"/arch/x86/kvm/kvm*.ko "$out/"
	git -C "$wt" checkout -q -- "${files[@]}"
	trap - EXIT	# (its objects are rebuilt by the next scripts/build.sh)
}
boot_both() { # boot name
	local r=$top/build/$2
	rm -rf "$r"
	python3 "$top/scripts/scenarios.py" run series "$1" --results "$r/series" --quiet || true
	python3 "$top/scripts/scenarios.py" run series "$1" --out "$top/build/out/$2" \
		--results "$r/variant" --quiet || true
}
