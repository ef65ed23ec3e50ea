"""Unit tests for scripts/boot.py's lanes (qemu-x86, bochs, qemu-arm64,
qemu-riscv64),
run against a stand-in emulator, tests/fake_emulator.py (boot.EMULATORS
names it instead of QEMU or Bochs): the command line each lane gives its
emulator, the CPU hot-add over QMP, how follow() ends a boot (the guest
script done, a panic, the expected splat, a BUG, the emulator exiting, the
timeout) and what finish() leaves.  The kernel's build outputs are stand-in
files in a scratch directory; the grace periods after the end of a boot
(boot.STOP_*) are cut short.  No kernel tree or emulator needed.

    python3 tests/test_boot.py -v
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

TESTS = Path(__file__).resolve().parent
TOP = TESTS.parent
FAKE = TESTS / "fake_emulator.py"
sys.path.insert(0, str(TOP / "scripts"))
import boot  # noqa: E402
import report  # noqa: E402

GUEST_UP = "say wb: guest up"
DONE = "say wb: script done"
WARNING = "say [    4.2] WARNING: CPU: 1 PID: 42 at arch/x86/kvm/svm/svm.c:612 svm_hardware_enable+0x1/0x2"


def gone(pid, wait=5):
    """True once process pid is dead (a zombie counts)."""
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX":
                return True
        except (FileNotFoundError, IndexError):
            return True
        time.sleep(0.05)
    return False


class LaneTest(unittest.TestCase):
    """A scratch directory with out/ (the kernel's files) and res/ (the
    boot's results); every lane runs tests/fake_emulator.py; short grace
    periods; the workbench is at self.top.  boot() runs the lane with the
    fake guest's steps."""

    lane = "qemu-x86"
    # qemu-x86 reads nothing from the workbench (the guest does): a path
    # anywhere but below /tmp, which the lane refuses
    top = Path("/wb-test-top")
    SPEC = dict(name="headline", kernel="series", script="guest/boots/headline.sh", cpus=2,
                maxcpus=4, devices=(), append="wb.test=1", memory="1G", model=None, cpu=None,
                timeout=10, stop_after=None, quiet=True)

    def setUp(self):
        self.assertTrue(os.access(FAKE, os.X_OK), f"{FAKE} must be executable")
        self.dir = Path(tempfile.mkdtemp(prefix="wb-test-boot-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.out, self.res = self.dir / "out", self.dir / "res"
        self.out.mkdir()
        self.res.mkdir()
        for f in ("bzImage", "Image", "kvm-intel.ko"):
            (self.out / f).write_text("not a kernel\n")
        self.record = self.dir / "record.jsonl"
        for patch in (mock.patch.object(boot, "TOP", self.top),
                      mock.patch.dict(boot.EMULATORS, {lane: str(FAKE) for lane in boot.EMULATORS}),
                      mock.patch.object(boot, "STOP_DONE", 0.3),
                      mock.patch.object(boot, "STOP_SPLAT", 0.6),
                      mock.patch.object(boot, "STOP_FATAL", 0.9)):
            patch.start()
            self.addCleanup(patch.stop)

    def spec(self, **kw):
        return boot.Spec(**dict(self.SPEC, lane=self.lane, out=self.out, res=self.res, **kw))

    def boot(self, *steps, **spec):
        """Run the lane; the Outcome.  self.printed: what it printed."""
        env = {"WB_FAKE_GUEST": "\n".join(steps), "WB_FAKE_RECORD": str(self.record)}
        printed = io.StringIO()
        with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(printed):
            outcome = boot.LANES[self.lane](self.spec(**spec))
        self.printed = printed.getvalue()
        return outcome

    def seen(self):
        """What the fake emulator recorded: its argv and pid, the QMP."""
        return [json.loads(l) for l in self.record.read_text().splitlines()]

    def argv(self):
        return self.seen()[0]["argv"]

    def option(self, name):
        """The values of one emulator option, in order."""
        argv = self.argv()
        return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]

    def qmp(self):
        return [(r["qmp"]["execute"], r["qmp"]["arguments"], r["reply"]) for r in self.seen() if "qmp" in r]

    def console(self):
        return (self.res / "console.log").read_text()

    def file(self, name):
        return (self.res / name).read_text()

    def results(self):
        """The guest's TAP results as the judge reads them (console and tap.txt)."""
        tap = self.res / "tap.txt"
        results, problems = report.guest_results(tap.read_text() if tap.exists() else "", self.console())
        self.assertEqual(problems, {})
        return [(r.status, r.number, r.name) for r in results]


class CpuPropsTest(unittest.TestCase):
    """boot.cpu_props: the words of a devices entry or a hot-add request as
    QMP device_add arguments: on/off booleans, numbers integers."""

    def test_words(self):
        self.assertEqual(boot.cpu_props(["socket-id=2", "svm=off", "la57=on", "model-id=x1"]),
                         {"socket-id": 2, "svm": False, "la57": True, "model-id": "x1",
                          "core-id": 0, "thread-id": 0})

    def test_core_and_thread_kept(self):
        self.assertEqual(boot.cpu_props(["socket-id=1", "core-id=1", "thread-id=1"]),
                         {"socket-id": 1, "core-id": 1, "thread-id": 1})


class QemuX86CommandLineTest(LaneTest):
    """What qemu-system-x86_64 is given."""

    def boot_done(self, **spec):
        outcome = self.boot(GUEST_UP, DONE, "hang", **spec)
        self.assertEqual(outcome.how, "stopped: the guest script finished")
        return outcome

    def test_the_cpu_model_is_the_feat_on_form(self):
        self.boot_done()
        self.assertEqual(self.option("-cpu"), ["qemu64,svm=on,npt=on,la57=on"])
        self.assertNotIn("+", boot.QEMU_X86_CPU)

    def test_a_scenario_cpu_model(self):
        self.boot_done(cpu="qemu64,svm=on,npt=on,la57=on,vgif=on")
        self.assertEqual(self.option("-cpu"), ["qemu64,svm=on,npt=on,la57=on,vgif=on"])

    def test_cpus_sockets_and_memory(self):
        self.boot_done(cpus=3, maxcpus=5, memory="3G")
        self.assertEqual(self.option("-smp"), ["3,maxcpus=5,sockets=5,cores=1,threads=1"])
        self.assertEqual(self.option("-m"), ["3G"])

    def test_cpus_present_at_power_on(self):
        self.boot_done(cpus=1, devices=("socket-id=1,svm=off", "socket-id=2,la57=off,vgif=on"))
        self.assertEqual(self.option("-device")[-2:], [
            "qemu64-x86_64-cpu,id=bootcpu0,socket-id=1,svm=off,core-id=0,thread-id=0",
            "qemu64-x86_64-cpu,id=bootcpu1,socket-id=2,la57=off,vgif=on,core-id=0,thread-id=0"])

    def test_no_cpu_device_without_devices(self):
        self.boot_done()
        self.assertEqual([d for d in self.option("-device") if "cpu" in d], [])

    def test_the_kernel_command_line(self):
        self.boot_done(append="maxcpus=1 wb.retry=x:3")
        append = self.option("-append")[0].split()
        self.assertEqual(append[:3], ["console=ttyS0,115200", "earlyprintk=serial,ttyS0,115200", "root=root"])
        for word in ["rootfstype=9p", "ro", "init=/wb-test-top/guest/init.sh",
                     "wb.script=/wb-test-top/guest/boots/headline.sh", "wb.kernel=series", "wb.top=/wb-test-top",
                     f"wb.out={self.out}", "no_timer_check", *boot.CONSOLE_ARGS.split()]:
            self.assertIn(word, append)
        self.assertEqual(append[-2:], ["maxcpus=1", "wb.retry=x:3"])
        self.assertIn("panic=-1", append)

    def test_kernel_console_shares_and_machine(self):
        self.boot_done()
        self.assertEqual(self.option("-kernel"), [str(self.out / "bzImage")])
        self.assertEqual(self.option("-machine"), ["q35"])
        self.assertEqual(self.option("-accel"), ["tcg,thread=single"])
        self.assertEqual(self.option("-chardev"), [f"file,id=con,path={self.res / 'console.log'}"])
        self.assertEqual(self.option("-serial"), ["chardev:con"])
        self.assertIn("-no-reboot", self.argv())
        root, res = self.option("-fsdev")
        self.assertIn("path=/,", root)
        self.assertIn("readonly=on", root)
        self.assertIn(f"path={self.res},", res)
        self.assertNotIn("readonly", res)
        self.assertEqual(self.option("-device")[:2], ["virtio-9p-pci,fsdev=root,mount_tag=root",
                                                      "virtio-9p-pci,fsdev=res,mount_tag=results"])

    def test_qmp_socket_and_its_removal(self):
        self.boot_done()
        qmp = f"/tmp/wb-qmp-{os.getpid()}-series-headline.sock"
        self.assertEqual(self.option("-qmp"), [f"unix:{qmp},server=on,wait=off"])
        self.assertFalse(Path(qmp).exists())

    def test_the_command_line_is_recorded(self):
        self.boot_done()
        self.assertEqual(self.file("emulator-cmdline"), " ".join([str(FAKE), *self.argv()]) + "\n")

    def test_a_missing_kernel(self):
        (self.out / "bzImage").unlink()
        with self.assertRaisesRegex(FileNotFoundError, r"bzImage missing: run 'make build'"):
            self.boot(GUEST_UP, DONE)
        self.assertFalse(self.record.exists())

    def test_a_workbench_under_tmp_is_refused(self):
        with mock.patch.object(boot, "TOP", Path("/tmp/wb")):
            with self.assertRaisesRegex(RuntimeError, "under /tmp"):
                self.boot(GUEST_UP, DONE)
        self.assertFalse(self.record.exists())


class HotAddTest(LaneTest):
    """qemu-x86: "@@wb-host hotadd socket-id=N feat=off" on the console is
    answered with a QMP device_add."""

    def test_a_hot_add(self):
        out = self.boot(GUEST_UP, "say @@wb-host hotadd socket-id=2 svm=off", "wait-hotadd",
                        "say wb: ok 1 - CPU 2 online", DONE, "hang")
        props = {"socket-id": 2, "svm": False, "core-id": 0, "thread-id": 0,
                 "driver": "qemu64-x86_64-cpu", "id": "hotcpu2"}
        self.assertEqual(self.qmp(), [("qmp_capabilities", {}, {"return": {}}),
                                      ("device_add", props, {"return": {}})])
        self.assertEqual(out.how, "stopped: the guest script finished")
        self.assertIn("fake: hot-added socket-id=2\n", self.console())
        self.assertEqual(self.file("host.log"), f"device_add {props}: {{'return': {{}}}}\n")
        self.assertIn(("ok", 1, "CPU 2 online"), self.results())

    def test_two_hot_adds_on_one_qmp_connection(self):
        self.boot(GUEST_UP, "say @@wb-host hotadd socket-id=2 svm=off", "wait-hotadd",
                  "say [   12.5] wb: again @@wb-host hotadd socket-id=3 la57=off vgif=on", "wait-hotadd",
                  DONE, "hang", quiet=False)
        added = [(a["socket-id"], a["id"], a.get("svm"), a.get("la57"), a.get("vgif"))
                 for name, a, reply in self.qmp() if name == "device_add" and reply == {"return": {}}]
        self.assertEqual(added, [(2, "hotcpu2", False, None, None), (3, "hotcpu3", None, False, True)])
        self.assertEqual([name for name, _, _ in self.qmp()].count("qmp_capabilities"), 1)
        self.assertIn("fake: hot-added socket-id=3\n", self.console())
        self.assertIn("[series/headline] host: device_add", self.printed)

    def test_a_refused_hot_add_is_noted_and_the_boot_goes_on(self):
        out = self.boot(GUEST_UP, "say @@wb-host hotadd socket-id=1 svm=off", "sleep 0.5", DONE, "hang")
        self.assertEqual(out.how, "stopped: the guest script finished")
        self.assertIn("CPU[1] with APIC ID 1 exists", self.file("host.log"))

    def test_a_cpu_present_at_power_on_is_no_hot_add(self):
        self.boot(GUEST_UP, DONE, "hang", cpus=1, devices=("socket-id=1,svm=off",))
        self.assertEqual(self.qmp(), [])
        self.assertFalse((self.res / "host.log").read_text())


class FollowTest(LaneTest):
    """follow() and finish() (qemu-x86): how a boot ends, the Outcome, the
    line finish() appends to console.log."""

    def test_the_guest_script_done(self):
        out = self.boot(GUEST_UP, "say wb: ok 1 - a", DONE, "sleep 0.1", "say late line", "hang")
        self.assertEqual((out.how, out.started), ("stopped: the guest script finished", True))
        self.assertGreaterEqual(out.seconds, boot.STOP_DONE)
        self.assertLess(out.seconds, 5)
        self.assertIn("late line\n", self.console())        # the 2 s after "script done"
        self.assertRegex(self.console(), r"\n# wb-host: qemu-x86 boot stopped: the guest script finished"
                                         r" after \d+\.\ds\n$")
        self.assertRegex(self.printed, r"boot: series/headline \(qemu-x86\): \d+s, stopped: the guest script finished")
        self.assertEqual(self.results(), [("ok", 1, "a")])
        self.assertFalse((self.res / "tap.txt").exists())   # the host writes no TAP

    def test_a_kernel_panic(self):
        out = self.boot("say [    3.1] Kernel panic - not syncing: Fatal exception", "hang")
        self.assertEqual((out.how, out.started), ("stopped: a kernel panic", False))
        self.assertIn("# wb-host: qemu-x86 boot stopped: a kernel panic after ", self.console())

    def test_the_first_end_counts(self):
        out = self.boot(GUEST_UP, DONE, "say [    9.0] Kernel panic - not syncing: oops", "hang")
        self.assertEqual(out.how, "stopped: the guest script finished")

    def test_the_expected_splat(self):
        out = self.boot(GUEST_UP, WARNING, "hang", stop_after=r"WARNING: CPU: \d+ PID: \d+ at arch/x86/kvm")
        self.assertEqual((out.how, out.started), ("stopped: 0.6 s after the expected splat", True))
        self.assertGreaterEqual(out.seconds, boot.STOP_SPLAT)

    def test_a_splat_not_expected_does_not_end_the_boot(self):
        out = self.boot(GUEST_UP, WARNING, "hang", timeout=1)
        self.assertEqual(out.how, "killed after the 1 s timeout")

    def test_a_kernel_bug(self):
        out = self.boot(GUEST_UP, "say [    5.0] kernel BUG at arch/x86/kvm/x86.c:100!", "hang")
        self.assertEqual((out.how, out.started), ("stopped: 0.9 s after a kernel BUG or Oops", True))
        self.assertGreaterEqual(out.seconds, boot.STOP_FATAL)

    def test_an_oops(self):
        out = self.boot("say [    5.0] BUG: kernel NULL pointer dereference, address: 0000000000000008", "hang")
        self.assertEqual(out.how, "stopped: 0.9 s after a kernel BUG or Oops")

    def test_the_emulator_exits(self):
        out = self.boot(GUEST_UP, "sleep 0.3", "exit 3")
        self.assertEqual((out.how, out.started), ("the emulator exited (3)", True))
        self.assertRegex(self.console(), r"# wb-host: qemu-x86 boot the emulator exited \(3\) after \d+\.\ds\n$")

    def test_the_last_lines_before_the_exit_are_read(self):
        """The console is read once more after the emulator exited: lines
        written just before the exit (between a read and the check for
        the exit) still count.  A stand-in process writes them when it is
        asked whether it exited."""
        res = self.dir / "last-lines"
        res.mkdir()
        (res / "console.log").write_text("")

        class Exiting:
            returncode, wrote = 0, False

            def poll(self):
                if not self.wrote:
                    with open(res / "console.log", "a") as f:
                        f.write("wb: guest up\nreboot: Restarting system\n")
                    self.wrote = True
                return 0
        spec = boot.Spec(name="x", kernel="series", lane="qemu-x86", script="s", cpus=1, maxcpus=1,
                         devices=(), append="", memory="1G", model=None, cpu=None, timeout=5,
                         stop_after=None, out=res, res=res, quiet=True)
        out = boot.follow(spec, Exiting())
        self.assertEqual((out.how, out.started), ("the emulator exited (0)", True))

    def test_an_emulator_dying_at_start_says_why(self):
        out = self.boot("log qemu-system-x86_64: -device foo: 'foo' is not a valid device model name", "exit 1")
        self.assertEqual((out.how, out.started), (
            "the emulator exited (1): qemu-system-x86_64: -device foo: 'foo' is not a valid device model name",
            False))

    def test_the_timeout(self):
        # 5 s: on a loaded host (kernel builds and emulators beside the
        # tests) the fake took over 1 s to print its first line
        out = self.boot(GUEST_UP, "hang", timeout=5)
        self.assertEqual((out.how, out.started), ("killed after the 5 s timeout", True))
        # killed at the timeout, not at the end of the fake's hang
        self.assertGreaterEqual(out.seconds, 5)
        self.assertLess(out.seconds, 20)
        self.assertTrue(gone(self.seen()[0]["pid"]), "the emulator still runs")
        self.assertRegex(self.console(), r"# wb-host: qemu-x86 boot killed after the 5 s timeout after \d+\.\ds\n$")

    def test_guest_up_must_start_the_line(self):
        out = self.boot("say [    2.0] echo wb: guest up", "exit 0")
        self.assertFalse(out.started)


class RunnerStatusTest(LaneTest):
    """scenarios.run_one writes the lane's Outcome into status.json."""

    def test_status(self):
        import scenarios
        s = scenarios.parse_registry({"x": {"doc": "d", "lane": "qemu-x86", "script": "main"}}, TOP)["x"]
        with mock.patch.dict(os.environ, {"WB_FAKE_GUEST": "\n".join([GUEST_UP, DONE, "hang"])}), \
                contextlib.redirect_stdout(io.StringIO()):
            scenarios.run_one(s, "series", self.res, out=self.out, quiet=True)
        st = json.loads((self.res / "series/x/status.json").read_text())
        self.assertEqual((st["state"], st["how"], st["started"]), ("done", "stopped: the guest script finished", True))


class BochsLaneTest(LaneTest):
    """The bochs lane, its initramfs and GRUB ISO stood in for: its
    bochsrc, Bochs under script(1), its text display, killing it."""

    lane = "bochs"
    SPEC = dict(LaneTest.SPEC, name="intel", script="guest/boots/vendor.sh", append="wb.vendor=intel idle=poll")

    def setUp(self):
        self.top = Path(tempfile.mkdtemp(prefix="wb-test-top-"))
        self.addCleanup(shutil.rmtree, self.top, ignore_errors=True)
        (self.top / "guest").mkdir()
        (self.top / "guest/kvmtest-static").write_text("")
        super().setUp()
        self.grub_append = []

        def initramfs(spec, work):
            (work / "initrd.gz").write_text("")
            return work / "initrd.gz"

        def iso(spec, work, initrd, append):
            self.grub_append.append(append)
            (work / "boot.iso").write_text("")
            return work / "boot.iso"
        for patch in (mock.patch.object(boot, "x86_initramfs", initramfs),
                      mock.patch.object(boot, "grub_iso", iso)):
            patch.start()
            self.addCleanup(patch.stop)
        self.work = self.top / "build/bochs/series-intel"

    def bochsrc(self):
        return (self.work / "bochsrc").read_text().splitlines()

    def test_bochsrc_and_command_line(self):
        out = self.boot(GUEST_UP, DONE, "hang", memory="2G")
        self.assertEqual(out.how, "stopped: the guest script finished")
        rc, cmds = self.work / "bochsrc", self.work / "cmds"
        self.assertEqual(self.argv(), ["-q", "-f", str(rc), "-rc", str(cmds)])
        self.assertEqual(self.file("emulator-cmdline"), f"{FAKE} -q -f {rc} -rc {cmds}\n")
        self.assertEqual(cmds.read_text(), "c\n")
        for line in ["cpu: model=corei7_haswell_4770, count=2, ips=200000000, reset_on_triple_fault=1",
                     "memory: guest=2048, host=2048", "boot: cdrom",
                     f"ata0-master: type=cdrom, path={self.work / 'boot.iso'}, status=inserted",
                     f"com1: enabled=1, mode=file, dev={self.res / 'console.log'}",
                     f"log: {self.res / 'emulator.log'}", "display_library: term"]:
            self.assertIn(line, self.bochsrc())

    def test_the_kernel_command_line(self):
        self.boot(GUEST_UP, DONE, "hang")
        self.assertEqual(self.grub_append, [
            f"console=ttyS0,115200 {boot.CONSOLE_ARGS} wb.script=/wb/guest/boots/vendor.sh wb.kernel=series"
            " wb.top=/wb wb.out=/wb/out wb.lane=bochs wb.vendor=intel idle=poll"])

    def test_model_and_memory_in_mib(self):
        self.boot(GUEST_UP, DONE, "hang", model="zambezi", cpus=1, memory="512M")
        self.assertIn("cpu: model=zambezi, count=1, ips=200000000, reset_on_triple_fault=1", self.bochsrc())
        self.assertIn("memory: guest=512, host=512", self.bochsrc())

    def test_console_tap_and_screen(self):
        out = self.boot("sleep 0.3", "screen GRUB loading", GUEST_UP, "say wb: ok 1 - kvm-intel loads",
                        DONE, "hang")
        self.assertEqual((out.how, out.started), ("stopped: the guest script finished", True))
        self.assertEqual(self.results(), [("ok", 1, "kvm-intel loads")])
        self.assertIn("Bochs connected to screen", self.file("emulator-terminal.log"))
        screen = self.res / "emulator-screen.log"
        for _ in range(100):                # the reader is a thread of its own
            if screen.exists() and b"GRUB loading" in screen.read_bytes():
                break
            time.sleep(0.05)
        self.assertIn(b"GRUB loading", screen.read_bytes())

    def test_the_timeout_kills_bochs(self):
        out = self.boot(GUEST_UP, "hang", timeout=1)
        self.assertEqual((out.how, out.started), ("killed after the 1 s timeout", True))
        self.assertTrue(gone(self.seen()[0]["pid"]), "Bochs still runs")

    def test_a_bochs_dying_at_start_says_why(self):
        out = self.boot("log 00000000000p[      ] >>PANIC<< no ROM image", "exit 1")
        self.assertEqual((out.how, out.started),
                         ("the emulator exited (1): 00000000000p[      ] >>PANIC<< no ROM image", False))

    def test_a_screen_gone_before_it_is_read(self):
        """Bochs named its screen and died at once: the reader just ends."""
        term = self.res / "emulator-terminal.log"
        term.write_text('Bochs connected to screen "/dev/pts/99999"\r\n')
        boot.drain_bochs_screen(term, self.res / "emulator-screen.log", mock.Mock(**{"poll.return_value": None}))
        self.assertFalse((self.res / "emulator-screen.log").exists())

    def test_kvm_intel_is_required(self):
        (self.out / "kvm-intel.ko").unlink()
        with self.assertRaisesRegex(FileNotFoundError, "kvm-intel.ko missing"):
            self.boot(GUEST_UP, DONE)


class Arm64LaneTest(LaneTest):
    """The qemu-arm64 lane, its initramfs stood in for."""

    lane = "qemu-arm64"
    SPEC = dict(LaneTest.SPEC, name="arm64-nvhe", script="guest/boots/arm64-hotplug.sh",
                append="kvm-arm.mode=nvhe wb.mode=nvhe", memory="2G")

    def setUp(self):
        self.top = Path(tempfile.mkdtemp(prefix="wb-test-top-"))
        self.addCleanup(shutil.rmtree, self.top, ignore_errors=True)
        (self.top / "guest").mkdir()
        (self.top / "guest/kvmtest-arm64").write_text("")
        super().setUp()

        def initramfs(spec, work):
            (work / "initrd.gz").write_text("")
            return work / "initrd.gz"
        patch = mock.patch.object(boot, "arm64_initramfs", initramfs)
        patch.start()
        self.addCleanup(patch.stop)

    def test_the_command_line(self):
        self.boot(GUEST_UP, DONE, "hang")
        self.assertEqual(self.option("-M"), ["virt,virtualization=on,gic-version=3"])
        self.assertEqual(self.option("-cpu"), ["max"])
        self.assertEqual(self.option("-smp"), ["2"])
        self.assertEqual(self.option("-m"), ["2G"])
        self.assertEqual(self.option("-accel"), ["tcg,thread=single"])
        self.assertEqual(self.option("-kernel"), [str(self.out / "Image")])
        self.assertEqual(self.option("-initrd"), [str(self.top / "build/arm64/series-arm64-nvhe/initrd.gz")])
        self.assertEqual(self.option("-chardev"), [f"file,id=con,path={self.res / 'console.log'}"])
        self.assertEqual(self.option("-qmp"), [])
        self.assertEqual(self.option("-append"), [
            "console=ttyAMA0 earlycon panic=-1 loglevel=7 printk.time=1"
            " wb.script=/wb/guest/boots/arm64-hotplug.sh wb.kernel=series wb.top=/wb wb.out=/wb/out"
            " wb.lane=arm64 kvm-arm.mode=nvhe wb.mode=nvhe"])

    def test_the_console_is_followed(self):
        out = self.boot(GUEST_UP, "say wb: ok 1 - CPU 1 offline and online", DONE, "hang")
        self.assertEqual((out.how, out.started), ("stopped: the guest script finished", True))
        self.assertIn(("ok", 1, "CPU 1 offline and online"), self.results())
        self.assertRegex(self.console(), r"# wb-host: qemu-arm64 boot stopped: the guest script finished"
                                         r" after \d+\.\ds\n$")

    def test_the_timeout(self):
        out = self.boot("hang", timeout=1)
        self.assertEqual((out.how, out.started), ("killed after the 1 s timeout", False))

    def test_a_missing_image(self):
        (self.out / "Image").unlink()
        with self.assertRaisesRegex(FileNotFoundError, r"Image missing: run 'scripts/build.sh KERNEL --arch arm64'"):
            self.boot(GUEST_UP, DONE)


class RiscvLaneTest(LaneTest):
    """The qemu-riscv64 lane: OpenSBI as -bios, the guest program as the
    initramfs's /init (no shell on this lane)."""

    lane = "qemu-riscv64"
    SPEC = dict(LaneTest.SPEC, name="riscv-hotplug", script="guest/riscv/riscv-hotplug.c",
                append="wb.cycles=3", memory="1G")

    def setUp(self):
        self.top = Path(tempfile.mkdtemp(prefix="wb-test-top-"))
        self.addCleanup(shutil.rmtree, self.top, ignore_errors=True)
        (self.top / "guest/riscv").mkdir(parents=True)
        self.program = self.top / "guest/riscv/riscv-hotplug"
        self.program.write_text("not a riscv64 program\n")
        super().setUp()
        self.sbi = self.dir / "fw_dynamic.bin"
        self.sbi.write_text("not OpenSBI\n")
        self.initramfs = []

        def initramfs(program, work):
            self.initramfs.append(program)
            (work / "initrd.gz").write_text("")
            return work / "initrd.gz"
        for patch in (mock.patch.object(boot, "riscv_initramfs", initramfs),
                      mock.patch.object(boot, "OPENSBI", self.sbi)):
            patch.start()
            self.addCleanup(patch.stop)

    def test_the_command_line(self):
        self.boot(GUEST_UP, DONE, "hang")
        self.assertEqual(self.option("-M"), ["virt"])
        self.assertEqual(self.option("-cpu"), ["rv64,h=true"])
        self.assertEqual(self.option("-smp"), ["2"])
        self.assertEqual(self.option("-m"), ["1G"])
        self.assertEqual(self.option("-accel"), ["tcg,thread=single"])
        self.assertEqual(self.option("-bios"), [str(self.sbi)])
        self.assertEqual(self.option("-kernel"), [str(self.out / "Image")])
        self.assertEqual(self.option("-initrd"), [str(self.top / "build/riscv/series-riscv-hotplug/initrd.gz")])
        self.assertEqual(self.option("-chardev"), [f"file,id=con,path={self.res / 'console.log'}"])
        self.assertEqual(self.option("-serial"), ["chardev:con"])
        self.assertIn("-no-reboot", self.argv())
        self.assertEqual(self.option("-qmp"), [])
        self.assertEqual(self.option("-append"), [
            "console=ttyS0 earlycon panic=-1 loglevel=7 printk.time=1"
            " wb.script=riscv-hotplug wb.kernel=series wb.lane=riscv64 wb.cycles=3"])
        self.assertEqual(self.file("emulator-cmdline"), " ".join([str(FAKE)] + self.argv()) + "\n")

    def test_the_program_is_the_init(self):
        self.boot(GUEST_UP, DONE, "hang")
        self.assertEqual(self.initramfs, [self.program])

    def test_the_console_is_followed(self):
        out = self.boot(GUEST_UP, "say wb: ok 1 - a guest runs", DONE, "hang")
        self.assertEqual((out.how, out.started), ("stopped: the guest script finished", True))
        self.assertEqual(self.results(), [("ok", 1, "a guest runs")])
        self.assertRegex(self.console(), r"# wb-host: qemu-riscv64 boot stopped: the guest script finished"
                                         r" after \d+\.\ds\n$")

    def test_an_oops_ends_the_boot(self):
        out = self.boot(GUEST_UP, "say [    9.1] Unable to handle kernel paging request at virtual address"
                        " 0000000000000008", "hang")
        self.assertEqual(out.how, "stopped: 0.9 s after a kernel BUG or Oops")

    def test_the_emulator_exits_at_the_reboot(self):
        out = self.boot(GUEST_UP, "say wb: script done", "exit 0")
        self.assertIn(out.how, ("stopped: the guest script finished", "the emulator exited (0)"))

    def test_the_timeout(self):
        # 5 s: the fake must have started (and recorded its pid) by then,
        # also on a loaded host
        out = self.boot("hang", timeout=5)
        self.assertEqual((out.how, out.started), ("killed after the 5 s timeout", False))
        self.assertTrue(gone(self.seen()[0]["pid"]), "the emulator still runs")

    def test_a_missing_image(self):
        (self.out / "Image").unlink()
        with self.assertRaisesRegex(FileNotFoundError, r"Image missing: run 'scripts/build.sh KERNEL --arch riscv'"):
            self.boot(GUEST_UP, DONE)

    def test_a_missing_program(self):
        self.program.unlink()
        with self.assertRaisesRegex(FileNotFoundError, r"guest/riscv/riscv-hotplug missing: run 'make guest'"):
            self.boot(GUEST_UP, DONE)

    def test_a_missing_opensbi(self):
        self.sbi.unlink()
        with self.assertRaisesRegex(FileNotFoundError, r"fw_dynamic.bin missing: install opensbi"):
            self.boot(GUEST_UP, DONE)


class RiscvInitramfsTest(unittest.TestCase):
    """The riscv64 lane's initramfs: the program as /init, the mount points."""

    def test_the_archive(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            program = d / "riscv-hotplug"
            program.write_bytes(b"\x7fELF riscv64\n")
            program.chmod(0o755)
            initrd = boot.riscv_initramfs(program, d / "work")
            listing = subprocess.run(f"gzip -dc {initrd} | cpio -itv --quiet", shell=True,
                                     capture_output=True, text=True, check=True).stdout.splitlines()
            names = {l.split()[-1]: l.split()[0] for l in listing}
            self.assertEqual(sorted(names), [".", "dev", "init", "proc", "sys", "tmp"])
            self.assertEqual(names["init"], "-rwxr-xr-x")
            (d / "x").mkdir()
            subprocess.run(f"gzip -dc {initrd} | cpio -id --quiet init", shell=True, cwd=d / "x", check=True)
            self.assertEqual((d / "x/init").read_bytes(), program.read_bytes())


class LanePathsTest(unittest.TestCase):
    """Where each lane finds its kernel, its tree and its scenarios' scripts."""

    def test_kernel_out_and_tree(self):
        for lane, out, tree in [("qemu-x86", "build/out/series", "build/kernel-series"),
                                ("bochs", "build/out/series", "build/kernel-series"),
                                ("qemu-arm64", "build/out/series-arm64", "build/kernel-series-arm64"),
                                ("qemu-riscv64", "build/out/series-riscv", "build/kernel-series-riscv")]:
            with self.subTest(lane=lane):
                self.assertEqual(boot.kernel_out(lane, "series"), boot.TOP / out)
                self.assertEqual(boot.kernel_tree(lane, "series"), boot.TOP / tree)

    def test_script_path(self):
        self.assertEqual(boot.script_path("qemu-x86", "main"), "guest/boots/main.sh")
        self.assertEqual(boot.script_path("qemu-arm64", "arm64-hotplug"), "guest/boots/arm64-hotplug.sh")
        self.assertEqual(boot.script_path("qemu-riscv64", "riscv-hotplug"), "guest/riscv/riscv-hotplug.c")


if __name__ == "__main__":
    unittest.main()
