#!/usr/bin/env python3
"""A stand-in for the emulators of scripts/boot.py's lanes, for
tests/test_boot.py: qemu-system-x86_64, qemu-system-aarch64,
qemu-system-riscv64 (a QEMU command line: -chardev file,...,path=CONSOLE,
-qmp unix:SOCKET,...) and
bochs (-f BOCHSRC: its com1 file is the console, its log: the log).

What the "guest" does comes from $WB_FAKE_GUEST, one step a line:

    say TEXT       print TEXT as a console line
    log TEXT       print TEXT to the emulator's own log (QEMU: its stderr)
    screen TEXT    Bochs: draw TEXT on its text display (a pty it names
                   on its terminal, as Debian's Bochs does)
    sleep SECONDS
    wait-hotadd    wait (at most 3 s) for a QMP device_add, then print
                   "fake: hot-added socket-id=N" (or "fake: no hot-add")
    hang           wait to be killed; after 8 s, exit 99 (a lane that
                   never kills it fails its test instead of hanging it)
    exit CODE      exit (also when the steps run out: exit 0)

Everything it saw goes to $WB_FAKE_RECORD, one JSON object a line:
{"argv": [...], "pid": N}, then {"qmp": {...command...}, "reply": {...}}
for every QMP command.

QMP as QEMU 7.2 speaks it, as far as the lanes use it: the greeting,
qmp_capabilities, device_add of a CPU (strictly typed as QEMU's QMP
input is: socket-id etc. integers, CPU features booleans; a socket
that has a CPU is refused), an ACPI_DEVICE_OST event before
device_add's reply.  Anything else: CommandNotFound.
"""

import json
import os
import socket
import sys
import threading
import time

RECORD = os.environ.get("WB_FAKE_RECORD")
HANG = 8                        # s: the longest "hang"
INT_PROPS = ("socket-id", "die-id", "core-id", "thread-id")
lock = threading.Lock()
hotadds = []                    # device_add arguments the emulator accepted


def record(**what):
    if RECORD:
        with lock, open(RECORD, "a") as f:
            f.write(json.dumps(what) + "\n")


def option(argv, name):
    """Values of a QEMU option: option(argv, "-chardev") -> [...]."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]


def keyvals(value):
    """'file,id=con,path=/x' -> {'': 'file', 'id': 'con', 'path': '/x'}"""
    out = {}
    for i, w in enumerate(value.split(",")):
        k, eq, v = w.partition("=")
        if eq:
            out[k] = v
        else:
            out["" if i == 0 else k] = k if i == 0 else "on"
    return out


class Qemu:
    def __init__(self, argv):
        chardevs = {kv["id"]: kv for kv in map(keyvals, option(argv, "-chardev"))}
        serial = option(argv, "-serial")[0]
        assert serial.startswith("chardev:"), serial
        self.console_path = chardevs[serial[len("chardev:"):]]["path"]
        self.log = sys.stderr
        smp = keyvals(option(argv, "-smp")[0])
        cpus = int(smp[""])
        self.maxcpus = int(smp.get("maxcpus", cpus))
        self.sockets = set(range(cpus))         # CPUs at power-on
        for d in map(keyvals, option(argv, "-device")):
            if "socket-id" in d:
                self.sockets.add(int(d["socket-id"]))
        qmp = option(argv, "-qmp")
        if qmp:
            path = qmp[0].split(",")[0]
            assert path.startswith("unix:"), qmp
            self.qmp = socket.socket(socket.AF_UNIX)
            self.qmp.bind(path[len("unix:"):])
            self.qmp.listen(1)
            threading.Thread(target=self.serve_qmp, daemon=True).start()

    def screen(self, text):
        raise SystemExit("fake_emulator: 'screen' is for Bochs")

    def serve_qmp(self):
        while True:
            conn, _ = self.qmp.accept()
            f = conn.makefile("rw")
            send = lambda msg: (f.write(json.dumps(msg) + "\n"), f.flush())
            send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}})
            for line in f:
                msg = json.loads(line)
                reply = self.command(msg.get("execute"), msg.get("arguments", {}), send)
                record(qmp=msg, reply=reply)
                send(reply)

    def command(self, name, args, send):
        if name == "qmp_capabilities":
            return {"return": {}}
        if name != "device_add":
            return {"error": {"class": "CommandNotFound", "desc": f"The command {name} has not been found"}}
        args = dict(args)
        driver = args.pop("driver", None)
        if driver != "qemu64-x86_64-cpu":
            return {"error": {"class": "GenericError", "desc": f"'{driver}' is not a valid device model name"}}
        for k, v in args.items():
            want = str if k == "id" else int if k in INT_PROPS else bool
            if type(v) is not want:
                kind = {str: "string", int: "integer", bool: "boolean"}[want]
                return {"error": {"class": "GenericError",
                                  "desc": f"Invalid parameter type for '{k}', expected: {kind}"}}
        sock = args.get("socket-id", -1)
        if not 0 <= sock < self.maxcpus:
            return {"error": {"class": "GenericError",
                              "desc": f"Invalid CPU socket-id: {sock} must be in range 0:{self.maxcpus - 1}"}}
        if sock in self.sockets:
            return {"error": {"class": "GenericError", "desc": f"CPU[{sock}] with APIC ID {sock} exists"}}
        self.sockets.add(sock)
        send({"event": "ACPI_DEVICE_OST", "data": {"info": {"slot": str(sock), "source": 1, "status": 0}},
              "timestamp": {"seconds": int(time.time()), "microseconds": 0}})
        with lock:
            hotadds.append(args)
        return {"return": {}}


class Bochs:
    def __init__(self, argv):
        rc = {}
        for line in open(argv[argv.index("-f") + 1]):
            key, _, value = line.partition(":")
            rc[key.strip()] = value.strip()
        self.console_path = keyvals(rc["com1"].replace(", ", ","))["dev"]
        self.log = open(rc["log"], "w", buffering=1)
        # Debian's Bochs draws its text display on a pty of its own
        self.master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)
        print(f'Bochs connected to screen "{name}"', flush=True)

    def screen(self, text):
        os.write(self.master, text.encode() + b"\r\n")


def main(argv):
    record(argv=argv, pid=os.getpid())
    emu = Bochs(argv) if "-f" in argv else Qemu(argv)
    # QEMU's file chardev truncates, as does Bochs' com1 file
    console = open(emu.console_path, "w", buffering=1)
    for step in os.environ.get("WB_FAKE_GUEST", "").splitlines():
        verb, _, arg = step.strip().partition(" ")
        if verb == "say":
            console.write(arg + "\n")
        elif verb == "log":
            emu.log.write(arg + "\n")
            emu.log.flush()
        elif verb == "screen":
            emu.screen(arg)
        elif verb == "sleep":
            time.sleep(float(arg))
        elif verb == "wait-hotadd":
            deadline = time.time() + 3
            while not hotadds and time.time() < deadline:
                time.sleep(0.02)
            with lock:
                added = hotadds.pop(0) if hotadds else None
            console.write(f"fake: hot-added socket-id={added['socket-id']}\n" if added else
                          "fake: no hot-add\n")
        elif verb == "hang":
            time.sleep(HANG)
            console.write("fake: never killed\n")
            return 99
        elif verb == "exit":
            return int(arg)
        elif verb:
            raise SystemExit(f"fake_emulator: unknown step {step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
