"""Unit tests for the race fuzzer's determinism (guest/fuzz.c, make fuzz):
it is built with the host's gcc into a temporary directory and run with
--dry-run, which prints each thread's operations without touching /dev/kvm
or sysfs.  No kernel tree needed; skipped without gcc or <linux/kvm.h>.

    python3 tests/test_fuzz.py -v
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
SRC = TOP / "guest" / "fuzz.c"
OP_RE = re.compile(r"t(\d+) (\d+) (\w+)( .*)?")


class FuzzDryRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="wb-fuzz-test-")
        cls.exe = os.path.join(cls.tmp, "fuzz")
        gcc = shutil.which("gcc")
        if not gcc:
            raise unittest.SkipTest("no gcc")
        r = subprocess.run([gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
                            "-o", cls.exe, str(SRC)], capture_output=True, text=True)
        if r.returncode and "linux/kvm.h" in r.stderr:
            raise unittest.SkipTest("no <linux/kvm.h> (linux-libc-dev)")
        if r.returncode:
            raise AssertionError(f"fuzz.c does not build:\n{r.stderr}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ops(self, *args):
        r = subprocess.run([self.exe, "--dry-run", *args], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        for line in lines:
            self.assertRegex(line, OP_RE)
        return lines

    def thread(self, lines, t):
        return [line.split(" ", 2)[2] for line in lines if line.startswith(f"t{t} ")]

    def test_the_same_seed_gives_the_same_sequence(self):
        a = self.ops("--seed", "42", "--threads", "4", "--count", "500")
        b = self.ops("--seed", "42", "--threads", "4", "--count", "500")
        self.assertEqual(len(a), 4 * 500)
        self.assertEqual(a, b)

    def test_different_seeds_differ(self):
        a = self.ops("--seed", "42", "--threads", "2", "--count", "200")
        b = self.ops("--seed", "43", "--threads", "2", "--count", "200")
        self.assertNotEqual(self.thread(a, 0), self.thread(b, 0))
        self.assertNotEqual(self.thread(a, 1), self.thread(b, 1))

    def test_each_thread_has_its_own_sequence(self):
        a = self.ops("--seed", "7", "--threads", "3", "--count", "200")
        seqs = [self.thread(a, t) for t in range(3)]
        self.assertEqual(len({tuple(s) for s in seqs}), 3)

    def test_a_thread_does_not_depend_on_the_thread_count(self):
        """Thread i's PRNG is seeded from the seed and i alone."""
        a = self.ops("--seed", "9", "--threads", "2", "--count", "100")
        b = self.ops("--seed", "9", "--threads", "5", "--count", "100")
        self.assertEqual(self.thread(a, 1), self.thread(b, 1))

    def test_the_replay_of_one_thread_is_a_prefix_of_the_run(self):
        """--thread I --count K (what a failure prints) is thread I's first K ops."""
        full = self.ops("--seed", "1234", "--threads", "4", "--count", "300")
        one = self.ops("--seed", "1234", "--threads", "4", "--thread", "2", "--count", "57")
        self.assertEqual([line for line in one], [line for line in full if line.startswith("t2 ")][:57])

    def test_kinds_restrict_the_operations(self):
        lines = self.ops("--seed", "5", "--threads", "2", "--count", "300", "--kinds", "cpu,suspend")
        names = {OP_RE.fullmatch(line).group(3) for line in lines}
        self.assertEqual(names - {"cpu_offline", "cpu_online", "suspend", "pause"}, set())
        self.assertIn("suspend", names)
        everything = self.ops("--seed", "5", "--threads", "2", "--count", "3000")
        names = {OP_RE.fullmatch(line).group(3) for line in everything}
        for n in ("vm_create", "vm_destroy", "vcpu_create", "vcpu_run", "slot_set", "slot_delete",
                  "cpu_offline", "cpu_online", "mod_unload", "mod_load", "suspend", "ff_arm",
                  "ff_disarm", "failslab"):
            self.assertIn(n, names)

    def test_a_recorded_sequence(self):
        """A seed recorded in a report (NOTES.md, a failure's replay line) must
        give the same operations with later builds: a change to the generator,
        the weights or the parameters' meaning breaks every recorded replay,
        and must update this sequence knowingly."""
        self.assertEqual(self.ops("--seed", "2026", "--threads", "2", "--thread", "1", "--count", "8"), [
            "t1 0 cpu_offline sel=20",
            "t1 1 vcpu_run vm=2 vcpu=0 pin=28",
            "t1 2 pause us=1339",
            "t1 3 slot_delete vm=1 slot=2",
            "t1 4 ff_arm kvm_arch_check_online_cpu times=2 space=1",
            "t1 5 pin sel=11",
            "t1 6 vm_destroy vm=3",
            "t1 7 vcpu_run vm=1 vcpu=0",
        ])

    def test_the_seed_in_hex_is_the_same_seed(self):
        self.assertEqual(self.ops("--seed", "255", "--count", "50"),
                         self.ops("--seed", "0xff", "--count", "50"))

    def test_bad_usage_exits_2(self):
        for args in (["--kinds", "nonsense", "--dry-run"], ["--threads", "0", "--dry-run"],
                     ["--thread", "4", "--threads", "4", "--dry-run"], []):
            r = subprocess.run([self.exe, *args], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))

    def test_it_refuses_to_run_outside_a_workbench_guest(self):
        """Without --dry-run it offlines CPUs and suspends: not on this host."""
        try:
            cmdline = Path("/proc/cmdline").read_text()
        except OSError:
            cmdline = ""
        if "wb.script=" in cmdline:
            self.skipTest("running in a workbench guest")
        r = subprocess.run([self.exe, "--seconds", "1", "--kinds", "cpu"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not in a workbench guest", r.stderr)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
