#!/usr/bin/env python3
"""Boot layer: boot a built test kernel under QEMU (q35, TCG, emulated SVM)
and run one guest script in it.

  boot.py --kernel base|series --name NAME --script guest/boots/NAME.sh
          [--smp 2] [--maxcpus 4] [--append 'maxcpus=1']
          [--device 'socket-id=1,svm=off' ...] [--timeout 300]

The guest's root file system is the host's, shared read-only over virtio-9p
(as virtme does), so the guest has bash, python3, QEMU and the workbench at
the same paths as the host.  guest/init.sh is PID 1; it runs the script and
powers off.  A second, writable 9p share is the boot's results directory,
build/results/<kernel>/<name>/, which ends up holding:

  console.log   the whole serial console (kernel log and guest output)
  tap.txt       TAP written by the guest script
  meta.json     what the judge (report.py) expects, written by --meta

The guest asks the host for CPU hot-add by printing a console line
"@@wb-host hotadd socket=N [feature=on|off ...]"; this script answers with
a QMP device_add of a qemu64-x86_64-cpu into that socket.  --device adds
such a CPU at power-on instead.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
CPU_MODEL = "qemu64,svm=on,npt=on,la57=on"   # feat=on form, see README
CPU_TYPE = "qemu64-x86_64-cpu"


def parse_features(words):
    """['socket-id=2', 'svm=off'] -> {'socket-id': 2, 'svm': False}"""
    props = {}
    for w in words:
        k, _, v = w.partition("=")
        if v in ("on", "off"):
            props[k] = v == "on"
        elif v.isdigit():
            props[k] = int(v)
        else:
            props[k] = v
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


def merge_console_tap(res):
    """Add to tap.txt the TAP lines the guest printed on the console ("wb: ok
    ...") that tap.txt lacks: the guest writes tap.txt over 9p, which is gone
    after a suspend or a crash, while the console still works."""
    tap = res / "tap.txt"
    have = tap.read_text(errors="replace").splitlines() if tap.exists() else ["TAP version 13"]
    names = {l.split(" - ", 1)[1] for l in have if " - " in l}
    added = []
    for line in (res / "console.log").read_text(errors="replace").splitlines():
        if line.startswith(("wb: ok ", "wb: not ok ")) and " - " in line:
            # a kernel message may have been printed into the line's end
            t = re.sub(r"\[\s*\d+\.\d+\].*$", "", line[4:]).rstrip()
            name = t.split(" - ", 1)[1]
            if name.split(" # ")[0] not in {n.split(" # ")[0] for n in names}:
                added.append(t)
                names.add(name)
    if added:
        tap.write_text("\n".join(have + added) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", required=True, help="base or series")
    ap.add_argument("--name", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--maxcpus", type=int, default=4)
    ap.add_argument("--memory", default="2G")
    ap.add_argument("--accel", default="tcg,thread=single",
                    help="default: one host thread for all vCPUs (README: the int3 quirk);"
                         " 'tcg' for one host thread per vCPU")
    ap.add_argument("--append", default="")
    ap.add_argument("--device", action="append", default=[],
                    help="extra CPU at power-on, e.g. 'socket-id=1,svm=off'")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--stop-after", metavar="REGEX",
                    help="end the boot 15 s after a console line matches (an expected crash)")
    ap.add_argument("--meta", default="{}", help="JSON for meta.json")
    ap.add_argument("--results", default=str(TOP / "build" / "results"))
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    # The guest mounts tmpfs on these (guest/init.sh): a workbench below
    # one of them would vanish in the guest.
    for hidden in ("/tmp", "/run", "/dev", "/proc", "/sys"):
        if TOP == Path(hidden) or Path(hidden) in TOP.parents:
            sys.exit(f"boot: the workbench is under {hidden}, which the guest mounts over:"
                     " clone it somewhere else")
    kdir = TOP / "build" / "out" / a.kernel
    bz = kdir / "bzImage"
    if not bz.exists():
        sys.exit(f"boot: {bz} missing: run 'make build'")
    res = Path(a.results).resolve() / a.kernel / a.name
    shutil.rmtree(res, ignore_errors=True)
    res.mkdir(parents=True)
    meta = json.loads(a.meta)
    meta.setdefault("kernel", a.kernel)
    meta.setdefault("boot", a.name)
    (res / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    qmp_path = Path("/tmp") / f"wb-qmp-{os.getpid()}.sock"

    append = " ".join([
        "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200",
        "root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=512000 ro",
        f"init={TOP}/guest/init.sh",
        f"wb.script={(TOP / a.script).resolve()} wb.kernel={a.kernel} wb.top={TOP}",
        "panic=-1 nokaslr loglevel=7 printk.time=1",
        a.append])
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", a.accel, "-cpu", CPU_MODEL,
           "-smp", f"{a.smp},maxcpus={a.maxcpus},sockets={a.maxcpus},cores=1,threads=1",
           "-m", a.memory, "-nodefaults", "-display", "none", "-no-reboot",
           "-serial", "stdio", "-kernel", str(bz), "-append", append,
           "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
           "-device", "virtio-9p-pci,fsdev=root,mount_tag=root",
           "-fsdev", f"local,id=res,path={res},security_model=none",
           "-device", "virtio-9p-pci,fsdev=res,mount_tag=results",
           "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    for i, d in enumerate(a.device):
        props = parse_features(d.split(","))
        feats = ",".join(f"{k}={'on' if v is True else 'off' if v is False else v}"
                         for k, v in props.items())
        cmd += ["-device", f"{CPU_TYPE},id=bootcpu{i},{feats}"]
    (res / "qemu-cmdline").write_text(" ".join(cmd) + "\n")

    t0 = time.time()
    con = open(res / "console.log", "w")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    qmp = None
    timed_out = False
    os.set_blocking(p.stdout.fileno(), False)
    buf = b""
    stop_at = None
    while True:
        if stop_at and time.time() > stop_at:
            p.kill()
            break
        if time.time() - t0 > a.timeout:
            timed_out = True
            p.kill()
            break
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                con.write(line + "\n")
                con.flush()
                if a.stop_after and not stop_at and re.search(a.stop_after, line):
                    stop_at = time.time() + 15
                if not a.quiet and (line.startswith("wb:") or "@@wb-host" in line):
                    print(f"  [{a.kernel}/{a.name} {time.time() - t0:6.1f}s] {line}", flush=True)
                if "@@wb-host hotadd" in line:
                    words = line.split("@@wb-host hotadd", 1)[1].split()
                    props = parse_features(words)
                    props["driver"] = CPU_TYPE
                    props["id"] = f"hotcpu{props.get('socket-id')}"
                    if qmp is None:
                        qmp = Qmp(qmp_path)
                    r = qmp.cmd("device_add", **props)
                    note = f"# wb-host: device_add {props}: {r}"
                    con.write(note + "\n")
                    if not a.quiet:
                        print(f"  [{a.kernel}/{a.name}] {note}", flush=True)
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.05)
    if buf:
        con.write(buf.decode("utf-8", "replace") + "\n")
    p.wait()
    took = time.time() - t0
    merge_console_tap(res)
    how = ("killed after timeout" if timed_out else
           "killed 15 s after the expected crash" if stop_at else p.returncode)
    con.write(f"# wb-host: qemu exited ({how}) after {took:.1f}s\n")
    con.close()
    qmp_path.unlink(missing_ok=True)
    print(f"boot: {a.kernel}/{a.name}: {took:.0f}s{' TIMEOUT' if timed_out else ''}"
          f" -> {res.relative_to(TOP)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
