# Kernel build helpers, sourced by scripts/build.sh, scripts/gates.sh and
# scripts/experiment-lib.sh: one build environment, one make wrapper, one
# way to configure a tree from config fragments and check the result.
#
#   kb_arch TARGET                 ARCH and CROSS_COMPILE of a target: x86_64,
#                                  arm64, riscv, s390, powerpc*, mips
#   kmake TREE TARGET ARGS...      make in TREE for TARGET, with ccache
#   kconfig TREE TARGET FRAGMENT...
#                                  tinyconfig plus the fragments, merged by
#                                  the tree's scripts/kconfig/merge_config.sh;
#                                  fails if a requested value did not make it
#                                  into .config, naming it, unless the
#                                  symbol does not exist in TREE but does in
#                                  the series (a symbol the series adds,
#                                  requested of an older tree), or does not
#                                  exist in TREE and is asked to be not set
#                                  (a symbol a newer kernel dropped)
kb_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CCACHE_BASEDIR=$kb_top/build CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=include_file_ctime,include_file_mtime,time_macros
export KBUILD_BUILD_TIMESTAMP="2023-01-01" KBUILD_BUILD_USER=kvm-hotplug KBUILD_BUILD_HOST=workbench
# two kernel trees' objects, the arm64 trees and the cross builds: 5 GB
# (ccache's default) evicts the base's objects while the series builds
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
kb_jobs=${JOBS:-$(($(nproc) + 1))}

kb_arch() {
	case $1 in
	x86_64|x86-*) echo x86_64 - ;;
	arm64) echo arm64 aarch64-linux-gnu- ;;
	riscv) echo riscv riscv64-linux-gnu- ;;
	s390) echo s390 s390x-linux-gnu- ;;
	powerpc|powerpc-*) echo powerpc powerpc64le-linux-gnu- ;;
	mips) echo mips mips64el-linux-gnuabi64- ;;
	*) echo "kbuild: unknown target '$1'" >&2; return 1 ;;
	esac
}

kmake() { # tree target args...
	local tree=$1 arch cross
	read -r arch cross < <(kb_arch "$2") || return 1
	shift 2
	[ "$cross" = - ] && cross=
	make -C "$tree" -s ARCH="$arch" ${cross:+CROSS_COMPILE=$cross} \
		CC="ccache ${cross}gcc" HOSTCC="ccache gcc" -j"$kb_jobs" "$@"
}

# Whether the series defines a Kconfig symbol (branch series of KB_REPO:
# build/linux, or build/linux-6.12 for the 6.12 kernels).
kb_series_has() {
	git -C "${KB_REPO:-$kb_top/build/linux}" grep -qE "^(menu)?config $1\$" series -- '*Kconfig*' 2>/dev/null
}

kconfig() { # tree target fragment...
	local tree target=$2 arch sym bad=0 log frags=() f
	tree=$(cd "$1" && pwd)
	shift 2
	for f in "$@"; do frags+=("$(realpath "$f")"); done
	read -r arch _ < <(kb_arch "$target") || return 1
	log=$(mktemp)
	# "make tinyconfig", then merge_config.sh with its .config as the base
	# (it lists every symbol, so alldefconfig keeps them) and the fragments
	# on top; merge_config.sh runs alldefconfig itself and then reports
	# every requested value that did not stick
	kmake "$tree" "$target" tinyconfig > "$log" 2>&1 ||
		{ cat "$log"; rm -f "$log"; echo "kbuild: make tinyconfig failed in $tree" >&2; return 1; }
	cp "$tree/.config" "$tree/.config.tiny"
	local cross; cross=$(kb_arch "$target" | awk '$2 != "-" {print $2}')
	(cd "$tree" && ARCH=$arch CROSS_COMPILE=$cross CC="ccache ${cross}gcc" \
		scripts/kconfig/merge_config.sh .config.tiny "${frags[@]}") > "$log" 2>&1 ||
		{ cat "$log"; rm -f "$log"; echo "kbuild: merge_config.sh failed in $tree" >&2; return 1; }
	rm -f "$tree/.config.tiny"
	for sym in $(sed -n 's/^Value requested for \(CONFIG_[A-Za-z0-9_]*\) not in final .config$/\1/p' "$log"); do
		# what tinyconfig chose and the fragments changed is no failure
		grep -qE "^(# )?$sym[= ]" "${frags[@]}" || continue
		if ! grep -rqsE "^(menu)?config ${sym#CONFIG_}\$" --include='Kconfig*' "$tree"; then
			if kb_series_has "${sym#CONFIG_}"; then
				echo "kbuild: $sym is added by the series, not in this tree: skipped"
				continue
			fi
			if grep -A1 "^Value requested for $sym " "$log" | grep -q "^Requested value: *# $sym is not set"; then
				echo "kbuild: $sym: not set, as asked (this tree has no such symbol)"
				continue
			fi
		fi
		echo "kbuild: $sym: requested $(grep -A1 "^Value requested for $sym " "$log" | sed -n 's/^Requested value: *//p'), got $(grep -A2 "^Value requested for $sym " "$log" | sed -n 's/^Actual value: *//p' | sed 's/^$/unset/')"
		bad=1
	done
	rm -f "$log"
	[ $bad = 0 ] || echo "kbuild: config check failed for $tree" >&2
	return $bad
}
