"""Unit tests for guest/boots/selftests.sh, the guest's selftest runner, run
on the host against stand-in selftests (shell scripts) installed as the
kernel tree's kselftest layout (its run_kselftest.sh and kselftest/runner.sh,
from the base in build/linux) in a scratch workbench: what it reports for a
test that passes, skips, fails once, fails every time, times out, or did not
build, and that only the tests declared flaky (WB_RETRY) are run again.
Skipped without the base tree (run "make base" first).

    python3 tests/test_selftests_runner.py -v
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "scripts"))
import report  # noqa: E402

TREE = TOP / "build/linux"


def have_base():
    """True if the base kernel tree (scripts/base.sh) is there."""
    try:
        return subprocess.run(["git", "-C", str(TREE), "rev-parse", "-q", "--verify", "base^{commit}"],
                              capture_output=True).returncode == 0
    except OSError:
        return False

# name -> body of a stand-in selftest ($COUNT: a file counting its runs)
FAKES = {
    "passes": "exit 0",
    "skips": 'echo "1..0 # SKIP - Requirement not met: nothing"; exit 4',
    "flaky": ('n=$(cat "$COUNT.flaky" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT.flaky"\n'
              '[ "$n" -ge 1 ] && exit 0\n'
              'echo "==== Test Assertion Failure ===="; echo "  x86_64/flaky.c:147: __a == __b"; exit 254'),
    "hangs": "sleep 30",
    "args": '[ "$*" = "-b 64M" ] || { echo "FAIL: arguments \'$*\'"; exit 1; }',
    "broken": ('n=$(cat "$COUNT.broken" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT.broken"\n'
               'echo "==== Test Assertion Failure ===="; echo "  x86_64/broken.c:9: r == 0"; exit 254'),
    "fails": ('n=$(cat "$COUNT.fails" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT.fails"\n'
              'echo "==== Test Assertion Failure ===="; echo "  x86_64/fails.c:5: r == 0"; exit 254'),
}
# the tests declared flaky (config/flaky.toml, wb.retry= on a boot): NAME:TRIES
RETRY = "flaky:3,broken:3,hangs:3"


@unittest.skipUnless(have_base(), f"needs the kselftest runner of the base tree {TREE} (make base)")
class SelftestsRunnerTest(unittest.TestCase):
    """The runner runs once (setUpClass); each test looks at one result."""

    @classmethod
    def setUpClass(cls):
        self = cls
        self.dir = Path(tempfile.mkdtemp())
        top = self.dir / "wb"
        (top / "guest/boots").mkdir(parents=True)
        (top / "config").mkdir()
        # the real runner and helpers; loading modules is the guest's job
        lib = (TOP / "guest/lib.sh").read_text()
        lib = lib.replace('insmod "$MOD/irqbypass.ko"', ": insmod")
        lib = lib.replace('load_kvm() { insmod "$MOD/kvm.ko" $(modparams kvm) && '
                          'insmod "$MOD/kvm-$VENDOR.ko" $(modparams "kvm_$VENDOR"); }',
                          "load_kvm() { :; }")
        assert "load_kvm() { :; }" in lib, "guest/lib.sh changed: update this test"
        (top / "guest/lib.sh").write_text(lib)
        shutil.copy(TOP / "guest/boots/selftests.sh", top / "guest/boots/")
        (top / "config/selftests-check.txt").write_text(
            "# comment\npasses\nskips\nflaky\nbroken\nfails\nhangs\nargs -b 64M  # arguments\nmissing\n")
        st = top / "build/out/k/selftests"
        (st / "kselftest").mkdir(parents=True)
        (st / "kvm").mkdir()
        for f in ("run_kselftest.sh", "kselftest/runner.sh", "kselftest/prefix.pl"):
            p = subprocess.run(["git", "-C", str(TREE), "show", f"base:tools/testing/selftests/{f}"],
                               capture_output=True, text=True)
            assert p.returncode == 0, f"the kselftest runner from {TREE} (make base): {p.stderr}"
            (st / f).write_text(p.stdout)
            (st / f).chmod(0o755)
        (st / "kvm/settings").write_text("timeout=5\n")
        for name, body in FAKES.items():
            (st / "kvm" / name).write_text("#!/bin/sh\n" + body + "\n")
            (st / "kvm" / name).chmod(0o755)
        (st / "kselftest-list.txt").write_text("".join(f"kvm:{n}\n" for n in FAKES))
        self.top, self.results = top, self.dir / "results"
        self.results.mkdir()
        self.tap = self._run_runner()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    @classmethod
    def _run_runner(self):
        env = dict(os.environ, WB_TOP=str(self.top), WB_KERNEL="k", WB_OUT=str(self.top / "build/out/k"),
                   WB_RESULTS=str(self.results), WB_RETRY=RETRY, COUNT=str(self.dir / "count"))
        p = subprocess.run(["bash", str(self.top / "guest/boots/selftests.sh")], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return {r.name: r for r in report.parse_tap((self.results / "tap.txt").read_text())}

    def run_runner(self):
        return self.tap

    def runs(self, name):
        return int((self.dir / f"count.{name}").read_text())

    def test_results(self):
        r = self.run_runner()
        self.assertEqual(list(r), ["selftest " + n for n in ("passes", "skips", "flaky", "broken", "fails", "hangs",
                                                             "args", "missing")])
        self.assertEqual((r["selftest passes"].status, r["selftest passes"].reason), ("ok", ""))
        self.assertEqual(r["selftest skips"].status, "skip")
        self.assertEqual((r["selftest missing"].status, r["selftest missing"].reason), ("skip", "did not build"))

    def test_a_test_failing_once_is_flaky_not_failed(self):
        r = self.run_runner()["selftest flaky"]
        self.assertEqual(r.status, "ok")
        self.assertIn("flaky: passed on attempt 2", r.reason)
        self.assertIn("flaky.c:147", r.reason)
        self.assertEqual(self.runs("flaky"), 2)
        self.assertTrue((self.results / "selftests/flaky.try1.log").is_file())

    def test_a_test_failing_every_attempt_fails(self):
        r = self.run_runner()["selftest broken"]
        self.assertEqual(r.status, "not ok")
        self.assertIn("failed 3 of 3 attempts", r.reason)
        self.assertIn("broken.c:9", r.reason)
        self.assertEqual(self.runs("broken"), 3)

    def test_a_test_not_declared_flaky_runs_once(self):
        r = self.run_runner()["selftest fails"]
        self.assertEqual(r.status, "not ok")
        self.assertIn("failed 1 of 1 attempts", r.reason)
        self.assertIn("fails.c:5", r.reason)
        self.assertEqual(self.runs("fails"), 1)

    def test_arguments_from_the_list_reach_the_test(self):
        r = self.run_runner()["selftest args"]
        self.assertEqual(r.status, "ok", r.reason)

    def test_a_timeout_fails_and_is_not_retried(self):
        r = self.run_runner()["selftest hangs"]
        self.assertEqual(r.status, "not ok")
        self.assertIn("TIMEOUT 5 seconds", r.reason)
        self.assertFalse((self.results / "selftests/hangs.try1.log").exists())

    def test_judged_against_the_base(self):
        """A flaky pass is no regression; a test failing every time is."""
        r = self.run_runner()
        expect = {"passes": "pass", "flaky": "pass", "broken": "pass", "fails": "pass", "hangs": "pass",
                  "args": "pass", "skips": "skip", "missing": "skip"}
        verdicts = {n: report.judge_selftest(n, expect[n[len("selftest "):]], t) for n, t in r.items()}
        self.assertEqual(verdicts["selftest flaky"].result, "pass")
        self.assertIn("flaky", verdicts["selftest flaky"].note)
        self.assertEqual(verdicts["selftest broken"].result, "fail")
        self.assertEqual(verdicts["selftest passes"].result, "pass")


if __name__ == "__main__":
    unittest.main()
