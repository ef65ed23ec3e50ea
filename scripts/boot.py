"""Boot layer: the lanes, each a function that boots one built test kernel
under an emulator, runs one guest script in it and collects its console.
scripts/scenarios.py calls them (LANES) with a Spec from the registry.

  qemu-x86    QEMU q35, TCG, -cpu qemu64,svm=on,npt=on,la57=on: AMD SVM and
              real CPU hot-add.  The guest's root file system is the host's,
              read-only over virtio-9p (as virtme does), so the guest has
              bash, python3, QEMU and the workbench at the host's paths; a
              second, writable 9p share is the boot's results directory.
  bochs       Bochs 2.7: VMX with EPT (corei7_haswell_4770), or SVM with
              model=zambezi.  No 9p: the guest's userspace is an initramfs
              (busybox, bash, the workbench's guest files, the modules) on a
              GRUB rescue ISO; results only on the console.
  qemu-arm64  QEMU virt with EL2 (TCG): KVM/arm64 built in; an initramfs
              with Debian's arm64 busybox and bash, results on the console.
  qemu-riscv64
              QEMU virt with the H extension (TCG), OpenSBI from Debian as
              the firmware: KVM/riscv built in.  No shell (Debian 12 has no
              riscv64 userspace): the initramfs's /init is the scenario's
              static program, guest/riscv/NAME.c (script_path()), which
              reports on the console as the guest scripts do.

Every lane writes into the boot's results directory:
  console.log   the serial console (kernel log and guest output)
  tap.txt       TAP written by the guest script; the "wb: ok ..." lines the
                guest printed on the console are merged in (9p is gone after
                a suspend or a crash, the console still works)
  emulator.log  the emulator's own messages (why it did not start, if so)
  emulator-terminal.log  Bochs' terminal (its text display; its abort
                message if it dies before opening emulator.log)
and returns an Outcome: how the boot ended, and whether the guest came up.

A boot ends when the emulator exits, 2 s after the guest prints "wb: script
done" or the kernel panics, 15 s after the expected splat (Spec.stop_after),
or at the timeout.  guest/init.sh is PID 1 in every lane but qemu-riscv64.

qemu-x86: the guest asks for a CPU hot-add by printing
"@@wb-host hotadd socket-id=N [feature=on|off ...]"; the lane answers with
a QMP device_add of a qemu64-x86_64-cpu into that socket.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import termios
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent

QEMU_X86_CPU = "qemu64,svm=on,npt=on,la57=on"   # the feat=on form, see README
QEMU_X86_CPU_TYPE = "qemu64-x86_64-cpu"
BOCHS_MODEL = "corei7_haswell_4770"             # corei7_skylake_x: fpu WARNING at boot
CONSOLE_ARGS = "panic=-1 nokaslr loglevel=7 printk.time=1"
# the emulator each lane runs (tests/test_boot.py puts a stand-in here)
EMULATORS = {"qemu-x86": "qemu-system-x86_64", "bochs": "bochs", "qemu-arm64": "qemu-system-aarch64",
             "qemu-riscv64": "qemu-system-riscv64"}
# how long follow() lets a boot go on after its console shows how it ends
STOP_DONE = 2        # s after "wb: script done" or a kernel panic
STOP_SPLAT = 15      # s after the expected splat (Spec.stop_after)
STOP_FATAL = 60      # s after a kernel BUG or Oops
FATAL_RE = re.compile(r"kernel BUG at|Internal error: Oops|BUG: kernel NULL pointer|"
                      r"general protection fault|Unable to handle kernel ")


@dataclass(frozen=True)
class Spec:
    name: str
    kernel: str          # base or series: the expectations, wb.kernel=
    lane: str
    script: str          # guest/boots/NAME.sh, relative to the top
    cpus: int
    maxcpus: int
    devices: tuple       # qemu-x86: CPUs present at power-on, "socket-id=1,svm=off"
    append: str
    memory: str
    model: str           # bochs
    cpu: str             # qemu-x86: the -cpu model (None: QEMU_X86_CPU)
    timeout: int
    stop_after: str      # regex: end the boot 15 s after a console line matches
    out: Path            # the kernel's files: bzImage, modules, selftests
    res: Path            # the boot's results directory
    quiet: bool = False


@dataclass
class Outcome:
    how: str             # how the boot ended
    seconds: float
    started: bool        # the guest printed "wb: guest up"


# the kernels of another architecture: scripts/build.sh --arch's suffix
LANE_SUFFIX = {"qemu-arm64": "-arm64", "qemu-riscv64": "-riscv"}
# what a scenario's "script" names, per lane (default: a guest script)
GUEST_SCRIPTS = {"qemu-riscv64": "guest/riscv/{}.c"}


def kernel_out(lane, kernel):
    """Where a lane finds a kernel's build outputs (scripts/build.sh)."""
    return TOP / "build/out" / f"{kernel}{LANE_SUFFIX.get(lane, '')}"


def kernel_tree(lane, kernel):
    """The kernel's source tree (for its tools: kunit.py, decode_stacktrace.sh)."""
    return TOP / "build" / f"kernel-{kernel}{LANE_SUFFIX.get(lane, '')}"


def script_path(lane, script):
    """The file a scenario's script names, relative to the top: the guest
    script guest/boots/NAME.sh, or on qemu-riscv64 the source of the guest
    program, guest/riscv/NAME.c (make guest builds guest/riscv/NAME)."""
    return GUEST_SCRIPTS.get(lane, "guest/boots/{}.sh").format(script)


def fresh_dir(d):
    shutil.rmtree(d, ignore_errors=True)
    Path(d).mkdir(parents=True)


def require(*paths, hint="run 'make build'"):
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"{Path(p).relative_to(TOP) if TOP in Path(p).parents else p}"
                                    f" missing: {hint}")


def follow(spec, proc, on_line=None, stop=None):
    """Follow console.log while the emulator runs; returns an Outcome.
    on_line(line) is called for every console line; stop() ends the boot
    (the emulator is killed by the caller)."""
    t0 = time.time()
    started, end_at, how = False, None, None
    with open(spec.res / "console.log", errors="replace") as con:
        partial = ""
        while how is None:
            exited = proc.poll() is not None   # before the read: its last lines are read
            chunk = con.read()
            lines = (partial + chunk).split("\n")
            partial = lines.pop()
            for line in lines:
                line = line.rstrip("\r")
                if line.startswith("wb: guest up"):
                    started = True
                if not spec.quiet and (line.startswith("wb:") or "@@wb-host" in line):
                    print(f"  [{spec.kernel}/{spec.name} {time.time() - t0:6.1f}s] {line}", flush=True)
                if on_line:
                    on_line(line)
                if end_at is None:
                    if line.startswith("wb: script done"):
                        end_at, why = time.time() + STOP_DONE, "the guest script finished"
                    elif "Kernel panic - not syncing" in line:
                        end_at, why = time.time() + STOP_DONE, "a kernel panic"
                    elif spec.stop_after and re.search(spec.stop_after, line):
                        end_at, why = time.time() + STOP_SPLAT, f"{STOP_SPLAT} s after the expected splat"
                    elif FATAL_RE.search(line):
                        # the task died, and what waits for it may never
                        # end: the judge fails the boot on the splat anyway
                        end_at, why = time.time() + STOP_FATAL, f"{STOP_FATAL} s after a kernel BUG or Oops"
            if end_at and time.time() > end_at:
                how = f"stopped: {why}"
            elif exited and not chunk:
                how = f"the emulator exited ({proc.returncode})"
            elif time.time() - t0 > spec.timeout:
                how = f"killed after the {spec.timeout} s timeout"
            elif not chunk:
                time.sleep(0.1)
    return Outcome(how, time.time() - t0, started)


def last_lines(path, n=3):
    """The last n non-empty lines of an emulator's output, terminal escape
    sequences removed; none if the file does not exist."""
    if not path.exists():
        return []
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>])|\r", "", path.read_text(errors="replace"))
    return [l.strip() for l in text.splitlines() if l.strip()][-n:]


def finish(spec, proc, outcome, kill):
    """Stop the emulator and note how the boot ended (the guest's TAP on the
    console stays there: the judge reads it, scripts/report.py)."""
    if proc.poll() is None:
        kill()
    proc.wait()
    if not outcome.started:
        # an emulator that died at start may not have opened its log file:
        # then its terminal output says why (Bochs' abort message)
        log = last_lines(spec.res / "emulator.log") or last_lines(spec.res / "emulator-terminal.log")
        if log:
            outcome.how += ": " + " | ".join(log)[:400]
    with open(spec.res / "console.log", "a") as con:
        con.write(f"# wb-host: {spec.lane} boot {outcome.how} after {outcome.seconds:.1f}s\n")
    print(f"boot: {spec.kernel}/{spec.name} ({spec.lane}): {outcome.seconds:.0f}s, {outcome.how}",
          flush=True)
    return outcome


# -------------------------------------------------------------- qemu-x86 --

def refuse_hidden_top():
    # The guest mounts tmpfs on these (guest/init.sh): a workbench below
    # one of them would vanish in the guest.
    for hidden in ("/tmp", "/run", "/dev", "/proc", "/sys"):
        if TOP == Path(hidden) or Path(hidden) in TOP.parents:
            raise RuntimeError(f"the workbench is under {hidden}, which the guest mounts over:"
                               " clone it somewhere else")


def cpu_props(words):
    """['socket-id=2', 'svm=off'] -> {'socket-id': 2, 'svm': False, ...}"""
    props = {}
    for w in words:
        k, _, v = w.partition("=")
        props[k] = v == "on" if v in ("on", "off") else int(v) if v.isdigit() else v
    for k in ("core-id", "thread-id"):
        props.setdefault(k, 0)
    return props


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rw")
        self._read()                                   # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            msg = json.loads(self.file.readline())
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.file.flush()
        return self._read()

    def close(self):
        self.file.close()
        self.sock.close()


def qemu_x86(spec):
    refuse_hidden_top()
    bz = spec.out / "bzImage"
    require(bz)
    qmp_path = Path("/tmp") / f"wb-qmp-{os.getpid()}-{spec.kernel}-{spec.name}.sock"
    append = " ".join([
        "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200",
        "root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=512000 ro",
        f"init={TOP}/guest/init.sh",
        f"wb.script={TOP / spec.script} wb.kernel={spec.kernel} wb.top={TOP}",
        f"wb.out={spec.out}", CONSOLE_ARGS,
        # the boot-time IO-APIC timer check counts timer ticks against a
        # busy loop: on a loaded host TCG's ticks come late and it panics
        # "IO-APIC + timer doesn't work!" (seen: 6.12-series/features-612
        # beside two fuzz boots); a hypervisor's guest skips it the same way
        "no_timer_check", spec.append])
    cmd = [EMULATORS["qemu-x86"], "-machine", "q35",
           # one host thread for all vCPUs: multi-threaded TCG left stale
           # int3 at patched sites (README)
           "-accel", "tcg,thread=single", "-cpu", spec.cpu or QEMU_X86_CPU,
           "-smp", f"{spec.cpus},maxcpus={spec.maxcpus},sockets={spec.maxcpus},cores=1,threads=1",
           "-m", spec.memory, "-nodefaults", "-display", "none", "-no-reboot",
           "-chardev", f"file,id=con,path={spec.res / 'console.log'}", "-serial", "chardev:con",
           "-kernel", str(bz), "-append", append,
           "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
           "-device", "virtio-9p-pci,fsdev=root,mount_tag=root",
           "-fsdev", f"local,id=res,path={spec.res},security_model=none",
           "-device", "virtio-9p-pci,fsdev=res,mount_tag=results",
           "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    for i, d in enumerate(spec.devices):
        feats = ",".join(f"{k}={'on' if v is True else 'off' if v is False else v}"
                         for k, v in cpu_props(d.split(",")).items())
        cmd += ["-device", f"{QEMU_X86_CPU_TYPE},id=bootcpu{i},{feats}"]
    (spec.res / "emulator-cmdline").write_text(" ".join(cmd) + "\n")
    (spec.res / "console.log").write_text("")
    qmp = []
    hostlog = open(spec.res / "host.log", "w")

    def on_line(line):
        if "@@wb-host hotadd" in line:
            props = cpu_props(line.split("@@wb-host hotadd", 1)[1].split())
            props.update(driver=QEMU_X86_CPU_TYPE, id=f"hotcpu{props.get('socket-id')}")
            try:
                if not qmp:
                    qmp.append(Qmp(qmp_path))
                note = f"device_add {props}: {qmp[0].cmd('device_add', **props)}"
            except (OSError, ValueError) as e:      # the guest then waits for a CPU in vain
                note = f"device_add {props} failed: {e}"
            hostlog.write(note + "\n")
            hostlog.flush()
            if not spec.quiet:
                print(f"  [{spec.kernel}/{spec.name}] host: {note}", flush=True)

    with open(spec.res / "emulator.log", "w") as elog:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=elog, stderr=subprocess.STDOUT)
    try:
        outcome = follow(spec, proc, on_line)
    finally:
        hostlog.close()
    outcome = finish(spec, proc, outcome, proc.kill)
    for q in qmp:
        q.close()
    qmp_path.unlink(missing_ok=True)
    return outcome


# ----------------------------------------------------------------- bochs --

def ldd_libs(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return [w for line in out.splitlines() for w in line.split() if w.startswith("/")]


def copy_into(src, root, dest=None):
    d = root / (dest or str(src)).lstrip("/")
    d.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, d)
    return d


def cpio_gz(root, initrd):
    """A gzip'd newc cpio archive of the directory root."""
    with open(initrd, "wb") as f:
        find = subprocess.Popen(["find", "."], cwd=root, stdout=subprocess.PIPE)
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                                stdin=find.stdout, stdout=subprocess.PIPE)
        find.stdout.close()     # cpio holds it now
        subprocess.run(["gzip", "-1"], stdin=cpio.stdout, stdout=f, check=True)
        cpio.stdout.close()
        if cpio.wait() or find.wait():
            raise RuntimeError("making the initramfs failed")
    return initrd


def guest_tree(root, out, selftests):
    """The workbench's guest side under root/wb, as the host has it under TOP:
    guest/*.sh (init.sh, lib.sh, tmpfs-lib.sh), the boot scripts, the selftest
    lists, and the kernel's modules (and selftests) under the path wb.out= names."""
    for f in [p.relative_to(TOP) for p in [*(TOP / "guest").glob("*.sh"), *(TOP / "guest/boots").glob("*.sh")]]:
        copy_into(TOP / f, root, f"/wb/{f}")
    for f in (TOP / "config").glob("selftests-*.txt"):
        copy_into(f, root, f"/wb/config/{f.name}")
    for m in out.glob("*.ko"):
        copy_into(m, root, f"/wb/out/{m.name}")
    if selftests and (out / "selftests").is_dir():
        shutil.copytree(out / "selftests", root / "wb/out/selftests", symlinks=True)
    (root / "init").symlink_to("wb/guest/init.sh")


def x86_initramfs(spec, work):
    """Busybox, the host's bash and coreutils' timeout (the selftests'
    runner needs its --foreground), the static kvmtest and the guest tree."""
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "tmp", "run", "root", "lib64"):
        (root / d).mkdir(parents=True)
    copy_into("/bin/busybox", root, "/bin/busybox")
    for a in subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                            text=True, check=True).stdout.split():
        if a not in ("bash", "busybox", "timeout"):
            (root / "bin" / a).symlink_to("busybox")
    for b in ("/bin/bash", "/usr/bin/timeout"):
        copy_into(b, root, "/bin/" + Path(b).name)
        for lib in ldd_libs(b):
            if not (root / lib.lstrip("/")).exists():
                copy_into(lib, root)
    (root / "sbin").symlink_to("bin")
    (root / "usr").mkdir()
    for d in ("bin", "sbin"):
        (root / "usr" / d).symlink_to("../bin")
    copy_into(TOP / "guest/kvmtest-static", root, "/wb/guest/kvmtest")
    selftests = Path(spec.script).stem == "selftests"
    guest_tree(root, spec.out, selftests)
    if selftests:
        for f in (spec.out / "selftests").rglob("*"):
            if f.is_file() and os.access(f, os.X_OK) and f.suffix != ".sh":
                for lib in ldd_libs(str(f)):
                    if not (root / lib.lstrip("/")).exists():
                        copy_into(lib, root)
    return cpio_gz(root, work / "initrd.gz")


def grub_iso(spec, work, initrd, append):
    iso_root = work / "iso"
    shutil.rmtree(iso_root, ignore_errors=True)
    (iso_root / "boot/grub").mkdir(parents=True)
    shutil.copy2(spec.out / "bzImage", iso_root / "boot/bzImage")
    shutil.copy2(initrd, iso_root / "boot/initrd.gz")
    (iso_root / "boot/grub/grub.cfg").write_text(
        "set timeout=0\nset default=0\n"
        f"menuentry 'wb {spec.kernel}' {{\n  linux /boot/bzImage {append}\n"
        "  initrd /boot/initrd.gz\n}\n")
    iso = work / "boot.iso"
    p = subprocess.run(["grub-mkrescue", "-o", str(iso), str(iso_root)], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"grub-mkrescue failed: {p.stderr.strip()[-300:]}")
    return iso


def bochsrc(iso, res, model, cpus, memory_mib):
    share = "/usr/share/bochs"
    return "\n".join([
        f"cpu: model={model}, count={cpus}, ips=200000000, reset_on_triple_fault=1",
        f"memory: guest={memory_mib}, host={memory_mib}",
        "clock: sync=none, time0=local",
        f"romimage: file={share}/BIOS-bochs-latest",
        f"vgaromimage: file={share}/VGABIOS-lgpl-latest",
        "pci: enabled=1, chipset=i440fx",
        "boot: cdrom",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        f"com1: enabled=1, mode=file, dev={res / 'console.log'}",
        # Debian's Bochs: its only text display; it needs a terminal (script(1))
        "display_library: term",
        # no sound card on a CI machine: Bochs' ALSA driver aborted the
        # emulator at start ("buffer overflow detected") without these
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        f"log: {res / 'emulator.log'}",
        "panic: action=fatal", "error: action=report", "info: action=report",
        "debug: action=ignore", ""])


SCREEN_RE = re.compile(rb'Bochs connected to screen "(/dev/pts/\d+)"')


def drain_bochs_screen(term_log, screen_log, proc, wait=120):
    """Read Bochs' text display until Bochs closes it.

    Debian's Bochs is built with its debugger, so its term display draws on
    a pty of its own and names it on its terminal ("Bochs connected to
    screen ...").  Nothing reads that pty: once its buffers are full, Bochs
    blocks writing to it and the guest stops dead, ticks and all (the
    Bochs "hang" of NOTES.md, after ~20 KB of screen updates).  This reads
    it into screen_log, in raw mode so that nothing echoes back into the
    guest's keyboard."""
    deadline, m = time.time() + wait, None
    while m is None and proc.poll() is None and time.time() < deadline:
        m = SCREEN_RE.search(term_log.read_bytes()) if term_log.exists() else None
        if m is None:
            time.sleep(0.1)
    if m is None:
        return
    try:
        fd = os.open(m.group(1), os.O_RDONLY | os.O_NOCTTY)
    except OSError:                 # Bochs has exited, its pty with it
        return
    try:
        try:
            tty.setraw(fd)
        except termios.error:       # read it anyway: unread, it freezes Bochs
            pass
        with open(screen_log, "wb", buffering=0) as out:
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:         # EIO: Bochs closed its side
                    break
                if not chunk:
                    break
                out.write(chunk)
    finally:
        os.close(fd)


def bochs(spec):
    require(spec.out / "bzImage", spec.out / "kvm-intel.ko")
    require(TOP / "guest/kvmtest-static", hint="run 'make guest'")
    work = TOP / "build/bochs" / f"{spec.kernel}-{spec.name}"
    work.mkdir(parents=True, exist_ok=True)
    append = " ".join([
        "console=ttyS0,115200", CONSOLE_ARGS,
        f"wb.script=/wb/{spec.script} wb.kernel={spec.kernel} wb.top=/wb wb.out=/wb/out wb.lane=bochs",
        spec.append]).strip()
    iso = grub_iso(spec, work, x86_initramfs(spec, work), append)
    mib = int(re.sub(r"G$", "", spec.memory)) * 1024 if spec.memory.endswith("G") else int(spec.memory.rstrip("M"))
    rc = work / "bochsrc"
    rc.write_text(bochsrc(iso, spec.res, spec.model or BOCHS_MODEL, spec.cpus, mib))
    # Debian's Bochs is built with its debugger: it waits at the first
    # instruction unless its command file says "c"
    (work / "cmds").write_text("c\n")
    (spec.res / "console.log").write_text("")
    cmd = f"{EMULATORS['bochs']} -q -f {rc} -rc {work / 'cmds'}"
    (spec.res / "emulator-cmdline").write_text(cmd + "\n")
    # script(1) gives Bochs a terminal; Bochs runs in a session of its own
    pidfile = work / "bochs.pid"
    pidfile.unlink(missing_ok=True)
    require("/usr/bin/script", hint="install bsdutils (make deps)")
    # its terminal (the text display, and its messages when it aborts before
    # opening its log) goes to emulator-terminal.log
    with open(spec.res / "emulator-terminal.log", "wb") as term:
        proc = subprocess.Popen(["script", "-qfec", f"sh -c 'echo $$ > {pidfile}; exec {cmd}'", "/dev/null"],
                                stdin=subprocess.PIPE, stdout=term, stderr=subprocess.STDOUT,
                                start_new_session=True)
    threading.Thread(target=drain_bochs_screen, daemon=True,
                     args=(spec.res / "emulator-terminal.log", spec.res / "emulator-screen.log", proc)).start()

    def kill():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

    outcome = follow(spec, proc)
    kill()
    outcome = finish(spec, proc, outcome, kill)
    proc.stdin.close()
    return outcome


# ------------------------------------------------------------ qemu-arm64 --

# The arm64 guest's userspace, from Debian's arm64 archive: busybox (every
# applet), bash (the guest scripts are bash) and its libraries, coreutils
# for the timeout the kselftest runner needs (busybox's lacks --foreground).
ARM64_DEBS = ["busybox-static", "bash", "libtinfo6", "libc6", "libgcc-s1", "coreutils"]
ARM64_CROSS_LIBS = Path("/usr/aarch64-linux-gnu/lib")     # libc6-arm64-cross


def arm64_debs(stage):
    """Unpack the arm64 .debs into stage (made afresh): downloaded once with
    apt-get download into build/arm64-debs, never installed (deps.sh adds
    the arm64 architecture to apt for that)."""
    cache = TOP / "build/arm64-debs"
    cache.mkdir(parents=True, exist_ok=True)
    for pkg in ARM64_DEBS:
        if not list(cache.glob(f"{pkg}_*_arm64.deb")):
            subprocess.run(["apt-get", "download", "-q", f"{pkg}:arm64"], cwd=cache, check=True,
                           capture_output=True)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for pkg in ARM64_DEBS:
        deb = sorted(cache.glob(f"{pkg}_*_arm64.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(stage)], check=True)
    return stage


def elf_needed(binary):
    """DT_NEEDED of an ELF file of any architecture."""
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def arm64_initramfs(spec, work):
    """Busybox, bash and timeout for arm64 with Debian's libc, the static
    aarch64 kvmtest and the guest tree (KVM is built in: no modules)."""
    stage = arm64_debs(work / "debs")
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "tmp", "run", "root", "etc"):
        (root / d).mkdir(parents=True)
    for b in ("bin/busybox", "bin/bash", "usr/bin/timeout"):
        shutil.copy2(stage / b, root / "bin" / Path(b).name)
    # the arm64 busybox cannot run here to list its applets; the host's
    # busybox-static is the same Debian source and configuration
    for a in subprocess.run(["busybox", "--list"], capture_output=True, text=True,
                            check=True).stdout.split():
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    (root / "sbin").symlink_to("bin")
    (root / "usr").mkdir()
    for d in ("bin", "sbin"):
        (root / "usr" / d).symlink_to("../bin")
    # glibc as Debian lays it out: /lib/aarch64-linux-gnu, /lib/ld-linux-aarch64.so.1
    shutil.copytree(stage / "lib", root / "lib", symlinks=True)
    copy_into(TOP / "guest/kvmtest-arm64", root, "/wb/guest/kvmtest")
    selftests = Path(spec.script).stem == "selftests"
    guest_tree(root, spec.out, selftests)
    libdir = root / "lib/aarch64-linux-gnu"
    if selftests:
        for f in (root / "wb/out/selftests/kvm").iterdir():
            for lib in elf_needed(f):
                if not (libdir / lib).exists():
                    shutil.copy2(ARM64_CROSS_LIBS / lib, libdir / lib)
    return cpio_gz(root, work / "initrd.gz")


def qemu_arm64(spec):
    image = spec.out / "Image"
    require(image, hint="run 'scripts/build.sh KERNEL --arch arm64'")
    require(TOP / "guest/kvmtest-arm64", hint="run 'make guest'")
    work = TOP / "build/arm64" / f"{spec.kernel}-{spec.name}"
    work.mkdir(parents=True, exist_ok=True)
    initrd = arm64_initramfs(spec, work)
    # no nokaslr: unknown without RANDOMIZE_BASE, which the test config lacks
    append = " ".join([
        "console=ttyAMA0 earlycon panic=-1 loglevel=7 printk.time=1",
        f"wb.script=/wb/{spec.script} wb.kernel={spec.kernel} wb.top=/wb wb.out=/wb/out",
        "wb.lane=arm64", spec.append]).strip()
    cmd = [EMULATORS["qemu-arm64"], "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max",
           "-smp", str(spec.cpus), "-accel", "tcg,thread=single", "-m", spec.memory,
           "-nodefaults", "-display", "none", "-no-reboot",
           "-chardev", f"file,id=con,path={spec.res / 'console.log'}", "-serial", "chardev:con",
           "-kernel", str(image), "-initrd", str(initrd), "-append", append]
    return run_serial(spec, cmd)


def run_serial(spec, cmd):
    """Run an emulator whose serial console is a file (the initramfs lanes:
    qemu-arm64, qemu-riscv64): its command line in emulator-cmdline, its own
    output in emulator.log, the console followed until the boot ends."""
    (spec.res / "emulator-cmdline").write_text(" ".join(cmd) + "\n")
    (spec.res / "console.log").write_text("")
    with open(spec.res / "emulator.log", "w") as elog:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=elog, stderr=subprocess.STDOUT)
    outcome = follow(spec, proc)
    return finish(spec, proc, outcome, proc.kill)


# ---------------------------------------------------------- qemu-riscv64 --

# Debian's OpenSBI (package opensbi) as QEMU's M-mode firmware: fw_dynamic
# takes the kernel's address from QEMU (-kernel) at reset
OPENSBI = Path("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin")
QEMU_RISCV_CPU = "rv64,h=true"


def riscv_initramfs(program, work):
    """The guest program as /init, and the directories it mounts on; the
    kernel's built-in initramfs gives /dev/console."""
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("dev", "proc", "sys", "tmp"):
        (root / d).mkdir(parents=True)
    shutil.copy2(program, root / "init")
    return cpio_gz(root, work / "initrd.gz")


def qemu_riscv64(spec):
    image = spec.out / "Image"
    require(image, hint="run 'scripts/build.sh KERNEL --arch riscv'")
    program = TOP / Path(spec.script).with_suffix("")
    require(program, hint="run 'make guest' (gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross)")
    require(OPENSBI, hint="install opensbi (make deps)")
    work = TOP / "build/riscv" / f"{spec.kernel}-{spec.name}"
    work.mkdir(parents=True, exist_ok=True)
    initrd = riscv_initramfs(program, work)
    # earlycon: the UART the device tree's stdout-path names
    append = " ".join([
        "console=ttyS0 earlycon panic=-1 loglevel=7 printk.time=1",
        f"wb.script={program.name} wb.kernel={spec.kernel} wb.lane=riscv64", spec.append]).strip()
    cmd = [EMULATORS["qemu-riscv64"], "-M", "virt", "-cpu", QEMU_RISCV_CPU,
           "-smp", str(spec.cpus), "-accel", "tcg,thread=single", "-m", spec.memory,
           "-nodefaults", "-display", "none", "-no-reboot", "-bios", str(OPENSBI),
           "-chardev", f"file,id=con,path={spec.res / 'console.log'}", "-serial", "chardev:con",
           "-kernel", str(image), "-initrd", str(initrd), "-append", append]
    return run_serial(spec, cmd)


LANES = {"qemu-x86": qemu_x86, "bochs": bochs, "qemu-arm64": qemu_arm64, "qemu-riscv64": qemu_riscv64}
