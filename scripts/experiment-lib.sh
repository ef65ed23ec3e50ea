# Shared by the throwaway experiments (scripts/*-experiment.sh), sourced:
# variant NAME FILE SED-EXPR...  rebuilds the series' modules with FILE
# (a path in the kernel tree) edited by sed, copies the series bzImage and
# those modules to build/out/NAME (boot.py --kernel NAME boots them), and
# restores FILE.  Nothing is committed; the series worktree is left clean.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wt=$top/build/kernel-series
[ -f "$top/build/out/series/bzImage" ] || { echo "build the series first (make build)" >&2; exit 1; }
variant() {
	local name=$1 file=$2 out=$top/build/out/$1
	shift 2
	local args=() e
	for e in "$@"; do args+=(-e "$e"); done
	trap 'git -C "$wt" checkout -q -- "$file"' EXIT
	sed -i "${args[@]}" "$wt/$file"
	git -C "$wt" diff --stat -- "$file"
	git -C "$wt" diff --quiet -- "$file" && { echo "experiment: the edit changed nothing in $file" >&2; exit 1; }
	git -C "$wt" diff -- "$file" | grep '^[-+][^-+]'
	export CCACHE_BASEDIR=$top/build CCACHE_NOHASHDIR=1
	export CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros
	export KBUILD_BUILD_TIMESTAMP="2023-01-01" KBUILD_BUILD_USER=kvm-hotplug KBUILD_BUILD_HOST=workbench
	make -C "$wt" -s ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" -j"$(($(nproc) + 1))" modules
	rm -rf "$out"; mkdir -p "$out"
	cp "$top/build/out/series/bzImage" "$top/build/out/series/wb_cr4.ko" \
		"$wt/virt/lib/irqbypass.ko" "$wt"/arch/x86/kvm/kvm*.ko "$out/"
	git -C "$wt" checkout -q -- "$file"
	trap - EXIT	# (its objects are rebuilt by the next scripts/build.sh)
}
