#!/usr/bin/env bash
# Fresh-machine check: does the workbench's dependency layer (scripts/deps.sh)
# give a new Debian 12 machine every external tool each lane runs?  The
# development machine has packages installed by hand, so `make check` there
# cannot tell (bochs-term was missing from deps.sh and nothing noticed).
#
#   scripts/fresh-machine.sh                  (as root; ends "N passed, N failed")
#   FRESH_REUSE=1 scripts/fresh-machine.sh    reuse build/fresh-root (iterating)
#   FRESH_BREAK=no-bochs-term ...             remove bochs-term before the smoke
#                                             tests: the Bochs test must fail
#   FRESH_BREAK=no-dummy-sound ...            drop the bochsrc's sound line: same
#   FRESH_ARM64=1|0                           count the arm64 lane's tests as
#                                             required or as TODO (default: required
#                                             once a script other than a prototype
#                                             runs qemu-system-aarch64)
#
# 1. debootstrap --variant=minbase bookworm into build/fresh-root, from the
#    mirror in the host's /etc/apt/sources.list.d/debian.sources (rebuilt from
#    scratch each run unless FRESH_REUSE=1);
# 2. copies the workbench (without build/ and .git) to /root/workbench in it and
#    runs scripts/deps.sh there in a chroot, twice (the second run must find
#    everything installed);
# 3. smoke-tests in the chroot, without building a kernel: the commands the
#    scripts call, Python and the workbench's modules and unit tests, sparse,
#    codespell, gnuplot, the guest programs (make -C guest), the cross
#    compilers, the kernel tree's kunit.py, grub-mkrescue, Bochs started with
#    the workbench's own bochsrc() (scripts/boot.py) under script(1) as its
#    Bochs lane does (the ROM BIOS runs and GRUB, from a grub-mkrescue ISO,
#    prints on the serial console), QEMU x86 with the workbench's machine
#    and CPU model (a multiboot stub prints CPUID's SVM, NPT and LA57 bits),
#    and the arm64 lane's qemu-system-aarch64 and static aarch64 linking;
# 4. prints "ok"/"not ok" per test, each step's time, "N passed, N failed";
#    exit status 1 if a test failed.
#
# Mounts (/proc, /sys, /dev, /dev/pts, /dev/shm, /run) live in a private mount
# namespace and are unmounted by an EXIT trap; processes left in the chroot are
# killed first.  Logs: build/fresh-logs/.  Time on the 2-core development
# machine (fast mirror, a kernel build running alongside): ~6.5 min from
# scratch (removing the old root ~2 min, debootstrap ~45 s, deps.sh ~2 min,
# smoke tests ~1.5 min, of which make base ~1 min); ~30-50 s with FRESH_REUSE=1.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
root=$top/build/fresh-root
logs=$top/build/fresh-logs
wbdir=/root/workbench            # the workbench inside the root
fx=/root/fresh                   # the smoke tests' files inside the root
brk=${FRESH_BREAK:-}
reuse=${FRESH_REUSE:-0}

say() { echo "fresh: $*"; }
die() { echo "fresh: $*" >&2; exit 1; }
now() { date +%s%N; }
secs() { local d=$((($(now) - $1) / 100000000)); echo "$((d / 10)).$((d % 10))"; }

case $brk in
"" | no-bochs-term | no-dummy-sound) ;;
*) die "unknown FRESH_BREAK='$brk' (no-bochs-term or no-dummy-sound)" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and mounts need it)"

# Everything below runs in a mount namespace of its own: the chroot's mounts are
# invisible to the host and cannot outlive this script even if it is killed.
if [ -z "${FRESH_IN_NS:-}" ]; then
	exec unshare --mount --propagation private env FRESH_IN_NS=1 bash "$0" "$@"
fi

# ---- mounts and their cleanup
finished=0
mounts_under_root() { findmnt -rn -o TARGET | awk -v r="$root" '$0 == r || index($0, r "/") == 1' | sort -r; }

chroot_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
	done
	return 0
}

cleanup() {
	local rc=$? m pids
	trap - EXIT INT TERM
	[ "$finished" = 1 ] || echo "fresh: stopped early (exit status $rc)" >&2
	# processes this script started in the chroot (Bochs, QEMU, apt) first
	pids=$(chroot_pids)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		sleep 0.5
	fi
	for m in $(mounts_under_root); do
		umount "$m" 2>/dev/null || umount -l "$m" || echo "fresh: cannot unmount $m" >&2
	done
	if [ -n "$(mounts_under_root)" ]; then
		echo "fresh: still mounted under $root:" >&2
		mounts_under_root >&2
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_chroot() {
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"    # script(1) needs a pseudo-terminal
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
	mount -t tmpfs -o mode=755 tmpfs "$root/run"
}

# A clean environment, as a login on a new machine has; TERM is the caller's
# (Bochs' term display needs one, and make check would see the same).
inchroot() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 ${TERM:+TERM=$TERM} \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ---- steps and tests
declare -a timings=()
step_t0=0 step_name=""
step() { step_name=$1; step_t0=$(now); echo "== $1"; }
step_end() { local t; t=$(secs "$step_t0"); timings+=("$step_name ${t}s"); echo "   $step_name: ${t}s"; }

n=0 passed=0 failed=0 todo=0
declare -a todo_names=()
# test NAME LANE DESCRIPTION FUNCTION: LANE "arm64" makes a failure a TODO
# unless the arm64 lane is required.  A test's log lines "NOTE: ..." are shown
# under its result line, "DETAIL: ..." is appended to it.
test_() {
	local name=$1 lane=$2 desc=$3 fn=$4 t0 rc=0 log=$logs/$1.log detail line
	n=$((n + 1))
	t0=$(now)
	# in the background, so that a signal to this script is handled at once
	"$fn" > "$log" 2>&1 &
	wait $! || rc=$?
	detail=$(sed -n 's/^DETAIL: //p' "$log" | tail -1)
	line="$n - $desc${detail:+: $detail} ($(secs "$t0")s)"
	if [ $rc = 0 ]; then
		echo "ok $line"
		passed=$((passed + 1))
	elif [ "$lane" = arm64 ] && [ "$arm64_required" = 0 ]; then
		echo "not ok $line # TODO arm64 lane, not required yet"
		todo=$((todo + 1))
		todo_names+=("$name")
	else
		echo "not ok $line"
		failed=$((failed + 1))
	fi
	sed -n 's/^NOTE: /    # /p' "$log"
	if [ $rc != 0 ]; then
		# the last lines that are not bash -x traces, NOTE or DETAIL
		{ grep -v '^+\|^NOTE: \|^DETAIL: ' "$log" || true; } | tail -n 12 | sed 's/^/    | /'
		echo "    (log: ${log#"$top"/})"
	fi
}

# ---- 0. the host
t_all=$(now)
mirror=$(awk 'BEGIN { RS = "" } /(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ {
	if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit } }' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || die "no bookworm URIs in /etc/apt/sources.list.d/debian.sources"
say "mirror $mirror; root ${root#"$top"/}; logs ${logs#"$top"/}${brk:+; FRESH_BREAK=$brk}"

if [ "${FRESH_ARM64:-auto}" = auto ]; then
	arm64_users=$(grep -lw -- qemu-system-aarch64 "$top/Makefile" "$top"/scripts/*.sh "$top"/scripts/*.py 2>/dev/null |
		grep -v -e '/fresh-machine\.sh$' -e '_proto\.py$' || true)
	if [ -n "$arm64_users" ]; then
		arm64_required=1
		say "arm64 lane required: run by ${arm64_users//$'\n'/ }"
	else
		arm64_required=0
		say "arm64 lane not required yet (no script but a prototype runs qemu-system-aarch64; FRESH_ARM64=1 to require)"
	fi
else
	arm64_required=$([ "$FRESH_ARM64" = 1 ] && echo 1 || echo 0)
fi

if ! command -v debootstrap > /dev/null; then
	say "debootstrap is not installed on this host: installing it (it belongs in scripts/deps.sh)"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends debootstrap > /dev/null
fi
if [ -n "$(mounts_under_root)" ]; then
	mounts_under_root >&2
	die "mounts under $root (above): not touching it"
fi
mkdir -p "$logs"
rm -f "$logs"/*.log

# ---- 1. the root
if [ "$reuse" = 1 ] && [ -f "$root/.fresh-bootstrapped" ]; then
	step "debootstrap"
	say "FRESH_REUSE=1: reusing ${root#"$top"/} (deps.sh runs again in it)"
else
	if [ -e "$root" ]; then
		step "remove the old root"
		rm -rf --one-file-system "$root"
		step_end
	fi
	step "debootstrap"
	mkdir -p "$root"
	say "debootstrap --variant=minbase bookworm ${root#"$top"/} $mirror"
	debootstrap --variant=minbase bookworm "$root" "$mirror" > "$logs/debootstrap.log" 2>&1 &
	if ! wait $!; then
		tail -n 20 "$logs/debootstrap.log" | sed 's/^/    | /'
		echo "not ok 1 - debootstrap (log: ${logs#"$top"/}/debootstrap.log)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	touch "$root/.fresh-bootstrapped"
fi
step_end

# ---- 2. the workbench and its dependencies in the root
step "setup"
rm -f "$root/etc/apt/sources.list"
rm -rf "$root/etc/apt/sources.list.d"
mkdir -p "$root/etc/apt/sources.list.d"
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# no daemon starts in a chroot (what a package's postinst would start)
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# a new copy of the workbench each run; its build/ (make base's tree) is kept
# when the root is reused
mkdir -p "$root$wbdir"
find "$root$wbdir" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
rm -rf "$root$fx"
mkdir -p "$root$fx"
tar -C "$top" --exclude=./build --exclude=./.git --exclude=__pycache__ -cf - . | tar -C "$root$wbdir" -xf -
mount_chroot
if ! inchroot sh -c 'command -v make' > /dev/null; then
	say "note: a minimal Debian 12 has no make, so 'make check' cannot run before deps.sh: running scripts/deps.sh directly"
fi

# Fixtures for the smoke tests.
cat > "$root$fx/multiboot.S" << 'EOF'
/* Multiboot stub for QEMU -kernel: prints CPUID's SVM, NPT and LA57 bits on
 * COM1, then exits QEMU through isa-debug-exit (status 1). */
	.code32
	.text
	.align 4
	.long 0x1BADB002, 0, -0x1BADB002
	.globl _start
_start:
	mov $stack_top, %esp
	mov $s_hello, %esi
	call puts
	mov $0x80000001, %eax
	xor %ecx, %ecx
	cpuid
	shr $2, %ecx			/* SVM: CPUID 0x80000001 ECX[2] */
	mov $s_svm, %esi
	call putflag
	mov $0x8000000a, %eax
	xor %ecx, %ecx
	cpuid
	mov %edx, %ecx			/* NPT: CPUID 0x8000000A EDX[0] */
	mov $s_npt, %esi
	call putflag
	mov $7, %eax
	xor %ecx, %ecx
	cpuid
	shr $16, %ecx			/* LA57: CPUID 7 ECX[16] */
	mov $s_la57, %esi
	call putflag
	mov $s_nl, %esi
	call puts
	mov $0xf4, %dx
	xor %al, %al
	out %al, %dx
1:	cli
	hlt
	jmp 1b
putflag:
	and $1, %ecx
	push %ecx
	call puts
	pop %ecx
	mov $'0', %al
	add %cl, %al
	mov $0x3f8, %dx
	out %al, %dx
	ret
puts:
	mov $0x3f8, %dx
2:	lodsb
	test %al, %al
	jz 3f
	out %al, %dx
	jmp 2b
3:	ret
s_hello: .asciz "fresh-smoke: multiboot kernel running:"
s_svm:	.asciz " svm="
s_npt:	.asciz " npt="
s_la57:	.asciz " la57="
s_nl:	.asciz "\n"
	.bss
	.align 16
	.skip 4096
stack_top:
EOF
cat > "$root$fx/aarch64.S" << 'EOF'
/* For qemu-system-aarch64 -M virt -kernel: prints the exception level it
 * started at on the PL011, then PSCI SYSTEM_OFF (SMC with virtualization=on). */
	.text
	.globl _start
_start:
	ldr x1, =0x09000000
	adr x2, msg
1:	ldrb w0, [x2], #1
	cbz w0, 2f
	str w0, [x1]
	b 1b
2:	mrs x0, CurrentEL
	lsr x0, x0, #2
	add w0, w0, #'0'
	str w0, [x1]
	mov w0, #'\n'
	str w0, [x1]
	ldr x0, =0x84000008
	smc #0
3:	wfi
	b 3b
msg:	.asciz "fresh-smoke: aarch64 kernel running at EL"
EOF
mkdir -p "$root$fx/iso/boot/grub"
cat > "$root$fx/iso/boot/grub/grub.cfg" << 'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
echo "fresh-smoke: grub ran from the iso"
EOF
printf 'KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: fresh-smoke\n    1..1\n    ok 1 fresh_smoke_case\nok 1 fresh-smoke\n' > "$root$fx/sample.ktap"
cat > "$root$fx/bochs_smoke.py" << 'EOF'
#!/usr/bin/env python3
"""Start Bochs the way the workbench's Bochs lane does (its bochsrc(), bochs -q -f
... -rc under script -qfec), booting an ISO whose GRUB prints a line on the serial
console; stop it once that line is there or after a timeout, then judge its
log and terminal.  bochs_smoke.py WORKBENCH ISO WORKDIR SECONDS [BREAK]"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

wb, iso, work, secs = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
brk = sys.argv[5] if len(sys.argv) > 5 else ""
sys.path.insert(0, f"{wb}/scripts")
# the workbench's own bochsrc(): scripts/boot.py's Bochs lane (scripts/bochs.py before)
for name in ("boot", "bochs"):
    try:
        mod = __import__(name)
    except ImportError:
        continue
    if hasattr(mod, "bochsrc"):
        break
else:
    sys.exit(f"no bochsrc() in {wb}/scripts/boot.py or bochs.py")
model = getattr(mod, "BOCHS_MODEL", None) or getattr(mod, "CPU_MODEL")
print(f"bochsrc() from {mod.__file__}, model {model}")

if not iso.exists():
    sys.exit(f"no {iso} (the grub-mkrescue test makes it)")
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
text = mod.bochsrc(iso, work, model, 2, 128)
if brk == "no-dummy-sound":
    print("FRESH_BREAK=no-dummy-sound: dropping the sound: line")
    text = "\n".join(l for l in text.splitlines() if not l.startswith("sound:")) + "\n"
rc = work / "bochsrc"
rc.write_text(text)
print(f"bochsrc:\n{text}")
opts = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
log = Path(opts["log"].strip())
console = Path(re.search(r"dev=([^,\s]+)", opts["com1"]).group(1))
console.write_text("")
(work / "cmds").write_text("c\n")
pidfile = work / "bochs.pid"
term = work / "terminal.out"
cmd = f"sh -c 'echo $$ > {pidfile}; exec bochs -q -f {rc} -rc {work / 'cmds'}'"
print(f"script -qfec \"{cmd}\" /dev/null")
t0 = time.time()
p = subprocess.Popen(["script", "-qfec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                     stdout=open(term, "wb"), stderr=subprocess.STDOUT,
                     start_new_session=True)
marker = "fresh-smoke: grub ran from the iso"
seen = None
while p.poll() is None and time.time() - t0 < secs:
    if seen is None and marker in console.read_text(errors="replace"):
        seen = time.time() - t0
    if seen is not None and time.time() - t0 > seen + 1:
        break
    time.sleep(0.25)
exited = p.poll()
ran = time.time() - t0
if pidfile.exists():
    try:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    except (ProcessLookupError, ValueError):
        pass
if p.poll() is None:
    os.killpg(p.pid, signal.SIGKILL)
p.wait()

logtext = log.read_text(errors="replace") if log.exists() else ""
termtext = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", term.read_text(errors="replace")).replace("\r", "")
both = logtext + termtext
bios = [l for l in logtext.splitlines() if "[BIOS  ]" in l]
problems = []
if exited is not None:
    problems.append(f"bochs exited by itself after {ran:.1f}s (status {exited})")
if not any("Starting rombios32" in l for l in bios):
    problems.append(f"no 'Starting rombios32' from the ROM BIOS in {log}")
if seen is None:
    problems.append("GRUB's line never reached the serial console")
for pat in (r"display library '?\w+'? not available", r"buffer overflow detected",
            r"Error opening terminal", r"\bPANIC\b"):
    m = re.search(".*" + pat + ".*", both)
    if m and f"found: {m.group(0).strip()}" not in problems:
        problems.append(f"found: {m.group(0).strip()}")
print(f"bochs ran {ran:.1f}s; BIOS log lines: {len(bios)}")
for l in bios[:3]:
    print("  " + l)
print("serial console: " + console.read_text(errors="replace").replace("\x1b[H\x1b[J\x1b[1;1H", "").strip())
if problems:
    print("terminal (last lines):")
    for l in [l for l in termtext.splitlines() if l.strip()][-8:]:
        print("  " + l)
    for pr in problems:
        print("NOTE: " + pr)
    sys.exit(1)
print(f"DETAIL: ROM BIOS ran ({len(bios)} BIOS log lines), GRUB printed on COM1 after {seen:.1f}s")
EOF
step_end

step "deps.sh"
t_deps() {
	echo "+ scripts/deps.sh (1st run)"
	inchroot "$wbdir/scripts/deps.sh" || return 1
	echo "+ scripts/deps.sh (2nd run: must find everything installed)"
	local out
	out=$(inchroot "$wbdir/scripts/deps.sh") || return 1
	echo "$out"
	grep -q '^deps: all [0-9]* packages installed$' <<< "$out" || { echo "NOTE: the 2nd run installed something"; return 1; }
	echo "DETAIL: ${out#deps: }"
}
test_ deps any "scripts/deps.sh on a fresh Debian 12 minbase" t_deps
step_end

# ---- 3. smoke tests
step "smoke tests"
sh_in() { inchroot bash -euxo pipefail -c "$1"; }

t_tools() {
	sh_in '
	missing=()
	for c in make gcc cc as ld objcopy readelf bc flex bison perl git ccache rsync cpio xz gzip \
		python3 sparse codespell gnuplot qemu-system-x86_64 bochs grub-mkrescue xorriso mformat \
		script busybox ldd depmod modinfo flock timeout nproc patch; do
		command -v "$c" > /dev/null || missing+=("$c")
	done
	for f in /bin/busybox /usr/share/bochs/BIOS-bochs-latest /usr/share/bochs/VGABIOS-lgpl-latest \
		/usr/include/libelf.h /usr/include/gelf.h /usr/include/openssl/ssl.h \
		/usr/lib/grub/i386-pc/cdboot.img /usr/src/linux-source-6.1.tar.xz; do
		[ -e "$f" ] || missing+=("$f")
	done
	/bin/busybox --list | grep -qx sh
	if [ ${#missing[@]} != 0 ]; then echo "NOTE: missing: ${missing[*]}"; exit 1; fi
	echo "DETAIL: all present"'
}
t_python() {
	sh_in "
	python3 --version
	python3 -c 'import ply, git; print(\"ply\", ply.__version__, \"GitPython\", git.__version__)'
	cd $wbdir
	for m in scripts/*.py; do m=\${m#scripts/}; python3 -c \"import sys; sys.path.insert(0, 'scripts'); import \${m%.py}\"; done
	echo \"DETAIL: \$(python3 --version), ply, GitPython; every scripts/*.py imports\""
}
t_unit() {
	sh_in "
	cd $wbdir
	make unit-tests > $fx/unit-tests.out 2>&1 || { cat $fx/unit-tests.out; exit 1; }
	grep '^base: ' $fx/unit-tests.out
	tail -n 3 $fx/unit-tests.out
	echo \"DETAIL: \$(grep -o '^Ran [0-9]* tests' $fx/unit-tests.out), \$(tail -n 1 $fx/unit-tests.out)\""
}
t_review() {
	sh_in "
	cd $fx
	sparse --version
	printf 'int f(int *p) { return *p; }\n' > sp.c
	sparse sp.c
	codespell --version
	printf 'teh fix\n' > cs.txt
	if codespell cs.txt; then echo 'codespell missed a misspelling'; exit 1; fi
	gnuplot --version
	gnuplot -e \"set terminal pngcairo size 200,100; set output 'g.png'; plot x\"
	test -s g.png
	echo \"DETAIL: sparse \$(sparse --version), codespell \$(codespell --version) (finds 'teh'), \$(gnuplot --version) (pngcairo, as scripts/bench.py)\""
}
t_guest() {
	sh_in "
	cd $wbdir
	make -C guest clean
	make -C guest
	test -x guest/kvmtest && test -x guest/kvmtest-static && test -s guest/l2bios.bin
	if readelf -l guest/kvmtest-static | grep -q INTERP; then echo 'kvmtest-static is not static'; exit 1; fi
	extra=''
	if [ -e guest/kvmtest-arm64 ]; then extra=', kvmtest-arm64'; fi
	if [ -e guest/riscv/riscv-hotplug ]; then extra=\"\$extra, guest/riscv/riscv-hotplug\"; fi
	echo \"DETAIL: kvmtest, kvmtest-static (static), l2bios.bin\$extra\""
}
t_cross() {
	sh_in '
	cd '"$fx"'
	printf "int f(int x) { return 3 * x; }\n" > free.c
	printf "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n" > hello.c
	bad=0 links=() nolink=()
	for t in aarch64-linux-gnu:arm64 riscv64-linux-gnu:riscv64 s390x-linux-gnu:s390x \
		powerpc64le-linux-gnu:ppc64el mips64el-linux-gnuabi64:mips64el; do
		p=${t%:*} a=${t#*:}
		$p-gcc -O2 -ffreestanding -c free.c -o free-$p.o || bad=1
		if $p-gcc -static -O2 hello.c -o hello-$p 2> link-$p.err; then
			links+=($a)
		else
			cat link-$p.err
			nolink+=("$a (libc6-dev-$a-cross)")
		fi
	done
	echo "NOTE: static link works: ${links[*]:-none}; does not: ${nolink[*]:-none}"
	[ $bad = 0 ]
	echo "DETAIL: all 5 compile -c (the kernel needs no more)"'
}
t_arm64_static() {
	sh_in "
	cd $fx
	dpkg-query -W -f='\${Status}' libc6-dev-arm64-cross 2>/dev/null | grep -q 'ok installed' ||
		echo 'NOTE: libc6-dev-arm64-cross is not installed (not in scripts/deps.sh)'
	aarch64-linux-gnu-gcc -static -O2 -pthread hello.c -o hello-a64
	readelf -h hello-a64 | grep -q AArch64
	if readelf -l hello-a64 | grep -q INTERP; then exit 1; fi
	echo 'DETAIL: aarch64-linux-gnu-gcc -static -pthread links'"
}
t_kunit() {
	sh_in "
	cd $fx
	rm -rf linux-source-6.1
	tar -xJf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/tools/testing/kunit
	python3 linux-source-6.1/tools/testing/kunit/kunit.py parse $fx/sample.ktap | tee kunit.out
	grep -q 'Testing complete. Ran 1 tests: passed: 1' kunit.out
	echo 'DETAIL: '\$(grep -o 'Testing complete.*' kunit.out)"
}
t_grub() {
	sh_in "
	cd $fx
	rm -f smoke.iso
	grub-mkrescue -o smoke.iso iso
	test -s smoke.iso
	echo \"DETAIL: \$((\$(stat -c %s smoke.iso) / 1024)) KiB ISO\""
}
t_bochs() {
	if [ "$brk" = no-bochs-term ]; then
		# as deps.sh left it before bochs-term was in it: apt satisfied bochs'
		# "bochs-wx | bochs-gui" with bochs-wx, which has no term display.
		# Here, not before the smoke tests: make unit-tests runs make deps.
		echo "FRESH_BREAK=no-bochs-term: bochs-wx in, bochs-term out"
		inchroot sh -c 'export DEBIAN_FRONTEND=noninteractive
			apt-get install -y -q --no-install-recommends bochs-wx && apt-get remove -y -q bochs-term' \
			> "$logs/break.log" 2>&1 || { tail "$logs/break.log"; return 1; }
	fi
	echo "+ dpkg: $(inchroot dpkg-query -W -f='${Package} ${Status}\n' bochs bochs-term bochsbios vgabios 2>&1 | tr '\n' ';')"
	inchroot python3 "$fx/bochs_smoke.py" "$wbdir" "$fx/smoke.iso" "$fx/bochs" "${FRESH_BOCHS_SECONDS:-60}" "$brk"
}
t_qemu_x86() {
	# the machine, accelerator and CPU model of scripts/boot.py
	sh_in "
	cd $fx
	as --32 -o multiboot.o multiboot.S
	ld -m elf_i386 -Ttext=0x100000 -e _start -o multiboot.elf multiboot.o
	rc=0
	timeout 30 qemu-system-x86_64 -machine q35 -accel tcg -cpu qemu64,svm=on,npt=on,la57=on \
		-display none -nodefaults -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel multiboot.elf > qemu.out 2>&1 || rc=\$?
	cat qemu.out
	[ \$rc = 1 ]   # isa-debug-exit with 0
	grep -q 'fresh-smoke: multiboot kernel running: svm=1 npt=1 la57=1' qemu.out
	echo \"DETAIL: \$(qemu-system-x86_64 --version | head -1): the stub ran and saw svm=1 npt=1 la57=1\""
}
t_qemu_arm64() {
	sh_in "
	cd $fx
	command -v qemu-system-aarch64 || { echo 'NOTE: qemu-system-aarch64 missing: package qemu-system-arm is not in scripts/deps.sh'; exit 1; }
	aarch64-linux-gnu-as -o aarch64.o aarch64.S
	aarch64-linux-gnu-ld -Ttext=0x40080000 -e _start -o aarch64.elf aarch64.o
	timeout 30 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max \
		-display none -nodefaults -serial stdio -kernel aarch64.elf > qemu-a64.out 2>&1
	cat qemu-a64.out
	grep -q 'fresh-smoke: aarch64 kernel running at EL2' qemu-a64.out
	echo \"DETAIL: \$(qemu-system-aarch64 --version | head -1): the stub ran at EL2\""
}
t_qemu_riscv64() {
	# the riscv64 lane's machine and firmware (scripts/boot.py): OpenSBI
	# from Debian starts and reports the H extension on the boot hart
	sh_in "
	cd $fx
	command -v qemu-system-riscv64 || { echo 'NOTE: qemu-system-riscv64 missing: package qemu-system-misc is not in scripts/deps.sh'; exit 1; }
	sbi=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
	test -f \$sbi || { echo 'NOTE: no OpenSBI: package opensbi is not in scripts/deps.sh'; exit 1; }
	timeout 10 qemu-system-riscv64 -M virt -cpu rv64,h=true -bios \$sbi \
		-display none -nodefaults -serial stdio > qemu-rv64.out 2>&1 || true
	cat qemu-rv64.out
	grep -q '^OpenSBI v' qemu-rv64.out
	grep -q '^Boot HART Base ISA *: rv64[a-z]*h' qemu-rv64.out
	echo \"DETAIL: \$(qemu-system-riscv64 --version | head -1), \$(grep -m1 '^OpenSBI v' qemu-rv64.out): the boot hart has the H extension\""
}

test_ tools any "the commands and files the scripts use" t_tools
test_ python any "python3 and the workbench's modules" t_python
test_ unit-tests any "make unit-tests (make base: linux-source-6.1 into a git tree)" t_unit
test_ review any "sparse, codespell, gnuplot run" t_review
test_ guest any "host gcc: make -C guest (static kvmtest)" t_guest
test_ cross any "cross compilers (gates.sh cross)" t_cross
test_ arm64-static arm64 "aarch64 static link (arm64 lane's kvmtest)" t_arm64_static
test_ kunit any "kunit.py parse from linux-source-6.1" t_kunit
test_ grub any "grub-mkrescue makes an ISO" t_grub
test_ bochs any "Bochs (Intel lane) starts with the workbench's bochsrc() under script(1)" t_bochs
test_ qemu-x86 any "qemu-system-x86_64 q35/TCG with -cpu qemu64,svm=on,npt=on,la57=on" t_qemu_x86
test_ qemu-arm64 arm64 "qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max" t_qemu_arm64
test_ qemu-riscv64 any "qemu-system-riscv64 -M virt -cpu rv64,h=true with Debian's OpenSBI" t_qemu_riscv64
step_end

timings+=("total $(secs "$t_all")s")
say "times: $(printf '%s; ' "${timings[@]}" | sed 's/; $//')"
if [ $todo != 0 ]; then
	say "$todo TODO (arm64 lane, counted once a script runs qemu-system-aarch64 or FRESH_ARM64=1): ${todo_names[*]}"
fi
finished=1
echo "$passed passed, $failed failed"
[ $failed = 0 ]
