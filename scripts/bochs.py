#!/usr/bin/env python3
"""Boot layer, second lane: boot a built test kernel under Bochs, which
emulates VMX with EPT, and run one guest script in it (the Intel paths
QEMU's TCG cannot run).

  bochs.py --kernel base|series --name NAME --script guest/boots/NAME.sh
           [--cpus 2] [--timeout 900] [--meta JSON] [--results DIR]

Bochs has no virtio-9p, so the guest's userspace is an initramfs made here:
busybox-static, the host's bash (with its libraries), guest/init.sh as
/init, guest/lib.sh and the boot scripts, guest/kvmtest-static and the
kernel's KVM modules, laid out under /wb as on the host (wb.top=/wb).  It
and the kernel go on a GRUB rescue ISO that Bochs boots from its CD drive.
The serial console is the boot's console.log; the guest's TAP lines ("wb:
ok ...") are taken from it, as boot.py does after a suspend.  The boot ends
when the guest prints "wb: script done" or the kernel panics (then Bochs is
stopped), or at the timeout.

Bochs notes (Debian 12's bochs 2.7): it is built with its debugger, so it
waits at the first instruction unless a command file says "c"; its only
text display library, "term", needs a terminal, so it runs under
script(1)'s pseudo-terminal.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import merge_console_tap  # noqa: E402

TOP = Path(__file__).resolve().parent.parent
CPU_MODEL = "corei7_haswell_4770"     # corei7_skylake_x: fpu WARNING at boot
GUEST_FILES = ["guest/init.sh", "guest/lib.sh"]


def ldd_libs(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        for w in line.split():
            if w.startswith("/"):
                libs.append(w)
    return libs


def copy(src, root, dest=None):
    d = root / (dest or str(src)).lstrip("/")
    d.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, d)
    return d


def make_initramfs(kernel, work, selftests):
    """The guest's userspace as a gzip'd cpio archive; returns its path."""
    root = work / "root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "tmp", "run", "root"):
        (root / d).mkdir(parents=True)
    copy("/bin/busybox", root, "/bin/busybox")
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        if a not in ("bash", "busybox"):
            (root / "bin" / a).symlink_to("busybox")
    copy("/bin/bash", root, "/bin/bash")
    for lib in ldd_libs("/bin/bash"):
        copy(lib, root)
    (root / "sbin").symlink_to("bin")
    (root / "usr").mkdir()
    (root / "usr/bin").symlink_to("../bin")
    (root / "usr/sbin").symlink_to("../bin")
    (root / "lib64").mkdir(exist_ok=True)
    for f in GUEST_FILES:
        copy(TOP / f, root, "/wb/" + f)
    for f in (TOP / "guest/boots").glob("*.sh"):
        copy(f, root, f"/wb/guest/boots/{f.name}")
    copy(TOP / "guest/kvmtest-static", root, "/wb/guest/kvmtest")
    out = TOP / "build/out" / kernel
    for m in ("irqbypass.ko", "kvm.ko", "kvm-intel.ko", "kvm-amd.ko", "wb_cr4.ko"):
        copy(out / m, root, f"/wb/build/out/{kernel}/{m}")
    if selftests:
        sd = out / "selftests"
        for f in sd.iterdir():
            copy(f, root, f"/wb/build/out/{kernel}/selftests/{f.name}")
            if f.name != "BUILT":
                for lib in ldd_libs(str(f)):
                    if not (root / lib.lstrip("/")).exists():
                        copy(lib, root)
        for f in (TOP / "config").glob("selftests-*.txt"):
            copy(f, root, f"/wb/config/{f.name}")
    (root / "init").symlink_to("wb/guest/init.sh")
    initrd = work / "initrd.gz"
    with open(initrd, "wb") as f:
        find = subprocess.Popen(["find", "."], cwd=root, stdout=subprocess.PIPE)
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                                stdin=find.stdout, stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-1"], stdin=cpio.stdout, stdout=f, check=True)
        if cpio.wait() or find.wait():
            sys.exit("bochs: making the initramfs failed")
    return initrd


def make_iso(kernel, work, initrd, append):
    iso_root = work / "iso"
    shutil.rmtree(iso_root, ignore_errors=True)
    (iso_root / "boot/grub").mkdir(parents=True)
    shutil.copy2(TOP / "build/out" / kernel / "bzImage", iso_root / "boot/bzImage")
    shutil.copy2(initrd, iso_root / "boot/initrd.gz")
    (iso_root / "boot/grub/grub.cfg").write_text(
        "set timeout=0\nset default=0\n"
        f"menuentry 'wb {kernel}' {{\n"
        f"  linux /boot/bzImage {append}\n"
        "  initrd /boot/initrd.gz\n}\n")
    iso = work / "boot.iso"
    p = subprocess.run(["grub-mkrescue", "-o", str(iso), str(iso_root)],
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"bochs: grub-mkrescue failed:\n{p.stderr}")
    return iso


def bochsrc(iso, res, model, cpus, memory):
    share = "/usr/share/bochs"
    return "\n".join([
        f"cpu: model={model}, count={cpus}, ips=200000000, reset_on_triple_fault=1",
        f"memory: guest={memory}, host={memory}",
        "clock: sync=none, time0=local",
        f"romimage: file={share}/BIOS-bochs-latest",
        f"vgaromimage: file={share}/VGABIOS-lgpl-latest",
        "pci: enabled=1, chipset=i440fx",
        "boot: cdrom",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        f"com1: enabled=1, mode=file, dev={res / 'console.log'}",
        "display_library: term",
        # no sound card on a CI machine: Bochs' ALSA driver aborted the
        # emulator at start ("buffer overflow detected") without these
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        f"log: {res / 'bochs.log'}",
        "panic: action=fatal", "error: action=report", "info: action=report",
        "debug: action=ignore", ""])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", required=True, help="base or series")
    ap.add_argument("--name", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--model", default=CPU_MODEL, help="Bochs CPU model (bochs -help cpu)")
    ap.add_argument("--memory", type=int, default=1024, help="MiB")
    ap.add_argument("--append", default="")
    ap.add_argument("--selftests", action="store_true",
                    help="put the kernel's KVM selftests (and their libraries) in the initramfs")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--meta", default="{}", help="JSON for meta.json")
    ap.add_argument("--results", default=str(TOP / "build" / "results"))
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    for need in ("bzImage", "kvm-intel.ko", "wb_cr4.ko"):
        if not (TOP / "build/out" / a.kernel / need).exists():
            sys.exit(f"bochs: build/out/{a.kernel}/{need} missing: run 'make build'")
    if not (TOP / "guest/kvmtest-static").exists():
        sys.exit("bochs: guest/kvmtest-static missing: run 'make guest'")
    res = Path(a.results).resolve() / a.kernel / a.name
    shutil.rmtree(res, ignore_errors=True)
    res.mkdir(parents=True)
    meta = json.loads(a.meta)
    meta.setdefault("kernel", a.kernel)
    meta.setdefault("boot", a.name)
    meta.setdefault("lane", "bochs")
    (res / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")

    work = TOP / "build/bochs" / f"{a.kernel}-{a.name}"
    work.mkdir(parents=True, exist_ok=True)
    append = " ".join([
        "console=ttyS0,115200 panic=-1 nokaslr loglevel=7 printk.time=1",
        f"wb.script=/wb/{a.script} wb.kernel={a.kernel} wb.top=/wb wb.lane=bochs",
        a.append]).strip()
    iso = make_iso(a.kernel, work, make_initramfs(a.kernel, work, a.selftests), append)
    rc = work / "bochsrc"
    rc.write_text(bochsrc(iso, res, a.model, a.cpus, a.memory))
    (work / "cmds").write_text("c\n")
    (res / "console.log").write_text("")
    bochs = f"bochs -q -f {rc} -rc {work / 'cmds'}"
    (res / "bochs-cmdline").write_text(bochs + "\n")
    # script(1) puts bochs in a session of its own: keep its pid to stop it
    pidfile = work / "bochs.pid"
    pidfile.unlink(missing_ok=True)
    bochs = f"sh -c 'echo $$ > {pidfile}; exec {bochs}'"

    t0 = time.time()
    p = subprocess.Popen(["script", "-qfec", bochs, "/dev/null"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    how = None
    seen = 0
    done_at = None
    with open(res / "console.log", errors="replace") as con:
        while how is None:
            for line in con.readlines():
                if not a.quiet and line.startswith("wb:"):
                    print(f"  [{a.kernel}/{a.name} {time.time() - t0:6.1f}s] {line.rstrip()}",
                          flush=True)
                if line.startswith("wb: script done"):
                    done_at, why = time.time(), "the script finished"
                # panic=-1 would reboot the guest and run the script again
                if "Kernel panic - not syncing" in line and not done_at:
                    done_at, why = time.time(), "a kernel panic"
                seen += 1
            if done_at and time.time() > done_at + 2:
                how = f"stopped after {why}"
            elif p.poll() is not None:
                how = f"bochs exited ({p.returncode})"
            elif time.time() - t0 > a.timeout:
                how = "killed after timeout"
            else:
                time.sleep(0.5)
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    took = time.time() - t0
    merge_console_tap(res)
    with open(res / "console.log", "a") as con:
        con.write(f"# wb-host: bochs {how} after {took:.1f}s\n")
    print(f"boot: {a.kernel}/{a.name} (bochs): {took:.0f}s"
          f"{' TIMEOUT' if how.startswith('killed') else ''} -> {res}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
