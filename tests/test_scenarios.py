"""Unit tests for the scenario registry (scripts/scenarios.py), the judging
of a run against its plan (scripts/report.py summary --plan), the KUnit
parsing of a boot, and bench.py's statistics.

    python3 tests/test_scenarios.py -v
"""

import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(TOP / "scripts"))
import bench  # noqa: E402
import boot  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402

MINIMAL = {"doc": "d", "lane": "qemu-x86", "script": "main"}


def parse(entries):
    return scenarios.parse_registry(entries, TOP)


class RegistryTest(unittest.TestCase):
    def test_the_registry_loads(self):
        reg = scenarios.load()
        self.assertIn("headline", reg)
        self.assertEqual(reg["headline"].maxcpus, 4)
        self.assertEqual(reg["intel"].script, "vendor")
        self.assertEqual(reg["main"].script, "main")      # defaults to the name

    def test_every_make_check_scenario_has_a_group_and_a_script(self):
        for s in scenarios.load().values():
            self.assertTrue((TOP / boot.script_path(s.lane, s.script)).is_file(), s.name)
            if s.check:
                self.assertTrue(s.group, s.name)

    def test_the_riscv_lane(self):
        """qemu-riscv64's scripts are guest programs (guest/riscv/NAME.c);
        its scenarios run on both 6.1 kernels and stay out of make check
        (make riscv boots them)."""
        reg = scenarios.load()
        s = reg["riscv-hotplug"]
        self.assertEqual((s.lane, s.script, s.kernels, s.check), ("qemu-riscv64", "riscv-hotplug",
                                                                  ("base", "series"), ()))
        self.assertNotIn("riscv-hotplug", [i["boot"] for i in scenarios.plan(reg, check=True)])
        riscv = dict(MINIMAL, lane="qemu-riscv64", script="riscv-hotplug")
        self.assertEqual(parse({"x": riscv})["x"].script, "riscv-hotplug")
        with self.assertRaisesRegex(scenarios.RegistryError, r"guest/riscv/nope.c does not exist"):
            parse({"x": dict(riscv, script="nope")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"guest/riscv/main.c does not exist"):
            parse({"x": dict(riscv, script="main")})

    def test_unknown_key_is_an_error(self):
        with self.assertRaisesRegex(scenarios.RegistryError, r"\[x\]: unknown key cpus_online "):
            parse({"x": dict(MINIMAL, cpus_online=2)})

    def test_unknown_expectation_key_is_an_error(self):
        with self.assertRaisesRegex(scenarios.RegistryError, r"\[x\]: unknown key base.xfails"):
            parse({"x": dict(MINIMAL, base={"xfails": ["a"]})})

    def test_wrong_types_are_errors(self):
        with self.assertRaisesRegex(scenarios.RegistryError, r"cpus must be an integer"):
            parse({"x": dict(MINIMAL, cpus="2")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"check must be an array of strings"):
            parse({"x": dict(MINIMAL, check="base")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"timeout must be an integer"):
            parse({"x": dict(MINIMAL, timeout=True)})

    def test_unknown_lane_kernel_script_and_missing_group(self):
        with self.assertRaisesRegex(scenarios.RegistryError, r"unknown lane 'qemu-mips'"):
            parse({"x": dict(MINIMAL, lane="qemu-mips")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"unknown kernel 'next'"):
            parse({"x": dict(MINIMAL, check=["next"], group="g")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"guest/boots/nope.sh does not exist"):
            parse({"x": dict(MINIMAL, script="nope")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"needs a group"):
            parse({"x": dict(MINIMAL, check=["base"])})
        with self.assertRaisesRegex(scenarios.RegistryError, r"required"):
            parse({"x": {"lane": "qemu-x86"}})

    def test_every_problem_is_listed(self):
        with self.assertRaises(scenarios.RegistryError) as e:
            parse({"x": dict(MINIMAL, cpuz=1), "y": dict(MINIMAL, lane="nope")})
        self.assertIn("[x]", str(e.exception))
        self.assertIn("[y]", str(e.exception))

    def test_what_each_kernel_must_show(self):
        s = scenarios.load()["headline"]
        base, series = s.meta("base"), s.meta("series")
        self.assertEqual(base["expect_tests"]["onlining CPU 2 without SVM is refused"], "fail")
        self.assertEqual(base["expect_tests"]["the running VM kept running"], "any")
        self.assertRegex("kernel BUG at arch/x86/kvm/x86.c:511!", base["expect_splats"][0])
        self.assertEqual(series["expect_tests"], {"guest script completed": "pass"})
        self.assertEqual(series["expect_splats"], [])
        self.assertEqual(s.timeout_for("base"), 120)
        self.assertEqual(s.timeout_for("series"), 300)
        main = scenarios.load()["main"]
        self.assertIn("kvm-x86-cr4-compat", main.meta("series")["kunit"])
        self.assertEqual(main.meta("base")["kunit"], [])

    def test_flaky_and_known_failures(self):
        """config/flaky.toml: a known failure is tolerated on the kernels it
        is known on and named on the others; a flaky test reaches only the
        boots that run it."""
        tests, known = scenarios.load_flaky()
        self.assertIn("selftest tsc_msrs_test", scenarios.flaky_for(tests, "selftests"))
        self.assertEqual(scenarios.flaky_for(tests, "main"), {})
        stress = scenarios.load()["stress"]
        kb = {k["name"]: k for k in stress.meta("base", known)["known_failures"]}
        ks = {k["name"]: k for k in stress.meta("series", known)["known_failures"]}
        self.assertTrue(kb["vm_list-race"]["tolerated"])
        self.assertFalse(ks["vm_list-race"]["tolerated"])
        # where the race is made to happen, its splat is expected, not known
        race = scenarios.load()["vmlist-race"]
        self.assertEqual(race.meta("base", known)["known_failures"], [])
        self.assertTrue(race.meta("base", known)["expect_splats"])

    def test_test_plans(self):
        """expect/tests/NAME.txt: the names a guest script reports, per kernel."""
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            for k, console in (("base", "wb: ok 1 - a\nwb: not ok 2 - b\n"),
                               ("series", "wb: ok 1 - a\nwb: ok 2 - c\nwb: ok 3 - guest script completed\n")):
                (d / k / "x").mkdir(parents=True)
                (d / k / "x" / "console.log").write_text(console)
                (d / k / "x" / "meta.json").write_text(json.dumps({"kernel": k}))
            text = report.test_plan_text([d / "base/x", d / "series/x"])
            self.assertEqual([l for l in text.splitlines() if not l.startswith("#")],
                             ["a", "b [base]", "c [series]"])
            (d / "x.txt").write_text(text)
            self.assertEqual(scenarios.read_test_plan("x", "base", d), ["a", "b"])
            self.assertEqual(scenarios.read_test_plan("x", "series", d), ["a", "c"])
            self.assertIsNone(scenarios.read_test_plan("y", "base", d))
            (d / "z.txt").write_text("a\nb [6.12-base]\nc [6.12-series]\n")
            self.assertEqual(scenarios.read_test_plan("z", "6.12-base", d), ["a", "b"])
            self.assertEqual(scenarios.read_test_plan("z", "6.12-series", d), ["a", "c"])

    def test_test_plans_of_four_kernels(self):
        """A name that some of the four kernels report (arm64-nvhe: 6.1 and
        6.12 word the same message differently) is annotated with each of
        them, in the summary's kernel order, and read back for each."""
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            names = {"base": ["a", "b61"], "series": ["a", "b61", "s"],
                     "6.12-base": ["a", "b612"], "6.12-series": ["a", "b612", "s"]}
            for k in ("6.12-series", "series", "6.12-base", "base"):     # any order
                (d / k / "x").mkdir(parents=True)
                (d / k / "x" / "console.log").write_text(
                    "".join(f"wb: ok {i} - {n}\n" for i, n in enumerate(names[k], 1)))
                (d / k / "x" / "meta.json").write_text(json.dumps({"kernel": k}))
            text = report.test_plan_text([d / k / "x" for k in ("6.12-series", "series", "6.12-base", "base")])
            self.assertEqual([l for l in text.splitlines() if not l.startswith("#")],
                             ["a", "b612 [6.12-base, 6.12-series]", "s [series, 6.12-series]",
                              "b61 [base, series]"])
            (d / "x.txt").write_text(text)
            for k, want in names.items():
                self.assertEqual(sorted(scenarios.read_test_plan("x", k, d)), sorted(want), k)
            # a single kernel, and no space after the comma, still read
            (d / "y.txt").write_text("a [base]\nb [base,6.12-base]\nc [series]\n")
            self.assertEqual(scenarios.read_test_plan("y", "6.12-base", d), ["b"])
            self.assertEqual(scenarios.read_test_plan("y", "base", d), ["a", "b"])
            self.assertEqual(report.kernel_order({"x", "6.12-series", "base"}), ["base", "6.12-series", "x"])

    def test_flaky_file_errors(self):
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / "flaky.toml"
            f.write_text('[test."x"]\nboots = ["a"]\nwhy = "w"\ntries = "3"\n[known.k]\nmatch = "("\n')
            with self.assertRaises(scenarios.RegistryError) as e:
                scenarios.load_flaky(f)
            for msg in ["test.x: base_rate must be a str", "test.x: tries must be a int",
                        "known.k: match is not a regex", "known.k: fixed_by must be a str"]:
                self.assertIn(msg, str(e.exception))

    def test_the_readme_table_is_the_registry(self):
        """README's scenario table is generated (scenarios.py table): which
        kernels run which scenario is never written by hand."""
        readme = (TOP / "README.md").read_text()
        begin, end = readme.index(scenarios.TABLE_BEGIN), readme.index(scenarios.TABLE_END)
        self.assertEqual(readme[begin:end + len(scenarios.TABLE_END)] + "\n",
                         scenarios.table(scenarios.load()),
                         "README.md's scenario table is stale: python3 scripts/scenarios.py table")

    def test_kernels(self):
        """Every scenario says which of the four kernels it runs on; CI boots
        only kernels it runs on; each 6.12 fix's scenario runs on 6.12-base
        too, where the registry expects the old failure."""
        reg = scenarios.load()
        for s in reg.values():
            self.assertTrue(set(s.kernels) <= set(scenarios.KERNELS), s.name)
            self.assertTrue(set(s.check) <= set(s.kernels), s.name)
        self.assertEqual(reg["headline"].kernels, ("base", "series"))
        for name in ("features-612", "debugfs-612", "vmlist-612"):
            s = reg[name]
            self.assertEqual(s.check, ("6.12-base", "6.12-series"), name)
            base = s.expect("6.12-base")
            self.assertTrue(base.xfail or base.splats, name)
            self.assertEqual(s.expect("6.12-series"), scenarios.Expect(), name)
        self.assertEqual(reg["vmlist-612"].meta("6.12-base")["kernel"], "6.12-base")
        self.assertIn("kvm-amd-svm-compat", reg["kunit-612"].meta("6.12-series")["kunit"])

    def test_the_6_12_kernels_in_the_bochs_and_arm64_lanes(self):
        """Bochs: intel-612 (6.12's default, enable_virt_at_load=Y) in make
        check-6.12 on both 6.12 kernels, its kvm.enable_virt_at_load=0 form
        elsewhere; arm64: the 6.1 boots run on the 6.12 kernels too (make
        arm64 SERIES=6.12), outside make check-6.12, from
        build/out/6.12-*-arm64."""
        reg = scenarios.load()
        i = reg["intel-612"]
        self.assertEqual((i.lane, i.script, i.group), ("bochs", "vendor", "bochs"))
        self.assertEqual(i.kernels, ("6.12-base", "6.12-series"))
        self.assertEqual(i.check, ("6.12-base", "6.12-series"))
        self.assertIn("wb.virt_at_load=1", i.append.split())
        od = reg["intel-612-ondemand"]
        self.assertEqual((od.lane, od.script, od.check), ("bochs", "vendor", ()))
        self.assertTrue({"wb.virt_at_load=0", "kvm.enable_virt_at_load=0"} <= set(od.append.split()))
        self.assertNotIn("virt_at_load", reg["intel"].append)       # 6.1: no such parameter
        for name in ("arm64-vhe", "arm64-nvhe", "arm64-stress", "arm64-selftests"):
            s = reg[name]
            self.assertEqual(s.kernels, scenarios.KERNELS, name)
            self.assertEqual(s.check, ("series",), name)
            self.assertIn("make arm64 SERIES=6.12", s.also)
        # the 6.12 series' aarch64 selftests judged against the 6.12 base's
        self.assertEqual(reg["arm64-selftests"].expect("6.12-series").selftests,
                         "expect/selftests-arm64-6.12-base.txt")
        self.assertEqual(boot.kernel_out("qemu-arm64", "6.12-series"), TOP / "build/out/6.12-series-arm64")
        self.assertEqual(boot.kernel_out("bochs", "6.12-base"), TOP / "build/out/6.12-base")
        six12 = {(i["kernel"], i["boot"]) for i in
                 scenarios.plan(reg, True, kernels=("6.12-base", "6.12-series"))}
        self.assertIn(("6.12-base", "intel-612"), six12)
        self.assertIn(("6.12-series", "intel-612"), six12)
        self.assertFalse([b for _, b in six12 if b.startswith("arm64") or b == "intel-612-ondemand"])
        every = {(i["kernel"], i["boot"]) for i in scenarios.plan(reg)}
        self.assertIn(("6.12-series", "arm64-nvhe"), every)
        self.assertIn(("6.12-base", "intel-612-ondemand"), every)

    def test_expectations_of_a_6_12_kernel(self):
        data = tomllib.loads("""
[x]
doc = "d"
lane = "qemu-x86"
script = "main"
kernels = ["6.12-base", "6.12-series"]
"6.12-base".xfail = ["a"]
[x."6.12-series"]
timeout = 60
""")
        s = parse(data)["x"]
        self.assertEqual(s.expect("6.12-base").xfail, ("a",))
        self.assertEqual(s.timeout_for("6.12-series"), 60)
        self.assertEqual(s.meta("6.12-base")["expect_tests"]["a"], "fail")
        with self.assertRaisesRegex(scenarios.RegistryError, r"check names base, which is not in its kernels"):
            parse({"x": dict(MINIMAL, kernels=["6.12-base"], check=["base"], group="g")})
        with self.assertRaisesRegex(scenarios.RegistryError, r"expectations for 6.12-base, which is not in"):
            parse({"x": dict(MINIMAL, **{"6.12-base": {"xfail": ["a"]}})})
        with self.assertRaisesRegex(scenarios.RegistryError, r"kernels names unknown kernel '6.6-base'"):
            parse({"x": dict(MINIMAL, kernels=["6.6-base"])})

    def test_a_scenario_runs_only_on_its_kernels(self):
        reg = scenarios.load()
        with self.assertRaisesRegex(scenarios.RegistryError, r"features-612 runs on 6.12-base, 6.12-series"):
            scenarios.run_one(reg["features-612"], "series", quiet=True)

    def test_the_plan_of_each_ci_target(self):
        """make check plans the 6.1 kernels' boots, make check-6.12 the 6.12 ones."""
        reg = scenarios.load()
        six1 = {(i["kernel"], i["boot"]) for i in scenarios.plan(reg, True, kernels=("base", "series"))}
        six12 = {(i["kernel"], i["boot"]) for i in
                 scenarios.plan(reg, True, kernels=("6.12-base", "6.12-series"))}
        self.assertIn(("base", "headline"), six1)
        self.assertFalse([b for k, b in six1 if k.startswith("6.12")])
        self.assertEqual({k for k, _ in six12}, {"6.12-base", "6.12-series"})
        self.assertIn(("6.12-base", "vmlist-612"), six12)
        self.assertIn(("6.12-series", "selftest-612"), six12)
        self.assertNotIn(("6.12-base", "selftest-612"), six12)    # the series' own test
        # without --check: every scenario on every kernel it runs on
        every = {(i["kernel"], i["boot"]) for i in scenarios.plan(reg)}
        self.assertIn(("base", "bench"), every)
        self.assertIn(("6.12-base", "bench"), every)           # make bench-6.12
        self.assertNotIn(("6.12-base", "main"), every)
        self.assertNotIn(("base", "features-612"), every)

    def test_the_table_names_kernels_and_ci_targets(self):
        t = scenarios.table(scenarios.load())
        self.assertIn("| features-612 | qemu-x86 | 6.12-base, 6.12-series | make check-6.12: "
                      "6.12-base + 6.12-series |", t)
        self.assertIn("| headline | qemu-x86 | base, series | make check: base + series |", t)

    def test_override(self):
        s = scenarios.override(scenarios.load()["bench"], ["cpus=4", "maxcpus=4", "append=x y"])
        self.assertEqual((s.cpus, s.maxcpus, s.append), (4, 4, "x y"))
        with self.assertRaises(scenarios.RegistryError):
            scenarios.override(s, ["cpuz=4"])

    def test_plan_of_make_check(self):
        reg = scenarios.load()
        items = scenarios.plan(reg, check=True, host=["build-base"])
        self.assertEqual(items[0], {"kernel": "checks", "boot": "build-base", "stage": "build-base"})
        boots = {(i["kernel"], i["boot"]) for i in items[1:]}
        self.assertIn(("base", "headline"), boots)
        self.assertIn(("series", "selftests"), boots)
        self.assertNotIn(("base", "selftests"), boots)      # series only
        self.assertNotIn(("base", "bench"), boots)          # not in make check
        for i in items[1:]:
            self.assertEqual(i["group"], reg[i["boot"]].group)
        with self.assertRaises(scenarios.RegistryError):
            scenarios.plan(reg, boots=["nope"])


class PlanJudgingTest(unittest.TestCase):
    """A planned item without results fails make check, naming why."""

    def setUp(self):
        self.res = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.res)

    def boot(self, kernel, name, console, tap, status=None, meta=None):
        d = self.res / kernel / name
        d.mkdir(parents=True)
        (d / "console.log").write_text(console)
        (d / "tap.txt").write_text(tap)
        (d / "meta.json").write_text(json.dumps(meta or {"boot": name, "expect_tests":
                                                         {"guest script completed": "pass"}}))
        if status:
            (d / "status.json").write_text(json.dumps(status))
        return d

    def good(self, kernel, name):
        return self.boot(kernel, name, "wb: guest up\nwb: ok 1 - guest script completed\n",
                         "TAP version 13\nok 1 - guest script completed\n",
                         {"state": "done", "started": True, "how": "stopped"})

    def test_a_complete_run_passes(self):
        self.good("series", "a")
        plan = [{"kernel": "series", "boot": "a", "stage": "boots"}]
        text, verdicts = report.summary(self.res, plan=plan)
        self.assertEqual(text.splitlines()[-1], "3 passed, 0 failed")

    def test_a_missing_lane_fails(self):
        """A whole lane that never ran (its boots have no results)."""
        self.good("series", "a")
        (self.res / "stages.tsv").write_text("boots\tfailed (exit 1)\n")
        plan = [{"kernel": "series", "boot": "a", "stage": "boots"},
                {"kernel": "series", "boot": "intel", "lane": "bochs", "stage": "boots"},
                {"kernel": "base", "boot": "intel", "lane": "bochs", "stage": "boots"}]
        text, verdicts = report.summary(self.res, plan=plan)
        self.assertEqual(text.splitlines()[-1], "3 passed, 2 failed")
        bad = [v for v in verdicts if v.result == "fail"]
        self.assertEqual([v.test for v in bad], ["intel: ran", "intel: ran"])
        self.assertIn("never ran: stage 'boots' failed (exit 1)", bad[0].note)

    def test_a_stage_skipped_names_the_failed_stage(self):
        (self.res / "stages.tsv").write_text("build-series\tfailed (exit 2)\nboots\tskipped: stage build-series failed\n")
        plan = [{"kernel": "series", "boot": "a", "stage": "boots"}]
        _, verdicts = report.summary(self.res, plan=plan)
        self.assertEqual(verdicts[0].result, "fail")
        self.assertIn("skipped: stage build-series failed", verdicts[0].note)

    def test_a_boot_that_never_started_fails(self):
        """The lane raised (bochs missing, the /tmp guard): status.json says why."""
        self.boot("series", "a", "", "", {"state": "error", "lane": "bochs",
                                          "why": "FileNotFoundError: bochs"})
        _, verdicts = report.summary(self.res, plan=[{"kernel": "series", "boot": "a"}])
        ran = [v for v in verdicts if v.test == "a: the guest ran"][0]
        self.assertEqual(ran.result, "fail")
        self.assertIn("could not run it: FileNotFoundError: bochs", ran.note)

    def test_an_emulator_that_died_at_once_fails(self):
        self.boot("series", "a", "", "", {"state": "done", "started": False,
                                          "how": "the emulator exited (1): buffer overflow detected"})
        _, verdicts = report.summary(self.res)
        ran = [v for v in verdicts if v.test == "a: the guest ran"][0]
        self.assertEqual(ran.result, "fail")
        self.assertIn("never came up", ran.note)
        self.assertIn("buffer overflow", ran.note)

    def test_a_boot_that_hung_names_the_last_console_lines(self):
        """A CI log keeps no console: the verdict says where the kernel stopped."""
        self.boot("series", "a", "[    1.0] smpboot: x\n[    2.0] last words\n", "",
                  {"state": "done", "started": False, "how": "killed after the 300 s timeout"})
        _, verdicts = report.summary(self.res)
        ran = [v for v in verdicts if v.test == "a: the guest ran"][0]
        self.assertEqual(ran.result, "fail")
        self.assertIn("the console ends: [    1.0] smpboot: x | [    2.0] last words", ran.note)

    def test_a_runner_that_died_mid_boot_fails(self):
        self.boot("series", "a", "wb: guest up\n", "", {"state": "starting"})
        _, verdicts = report.summary(self.res)
        self.assertIn("runner stopped", [v for v in verdicts if v.test == "a: the guest ran"][0].note)

    def test_the_cli_exits_1_for_a_missing_item(self):
        self.good("series", "a")
        plan = self.res / "plan.json"
        plan.write_text(json.dumps([{"kernel": "series", "boot": "b", "stage": "boots"}]))
        p = subprocess.run([sys.executable, str(TOP / "scripts/report.py"), "summary",
                            str(self.res), "--plan", str(plan)], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stdout.rstrip().endswith("3 passed, 1 failed"), p.stdout)


class GuestTreeTest(unittest.TestCase):
    """boot.guest_tree, the guest side of the initramfs lanes (Bochs, arm64):
    every shell file a guest script takes from $WB_TOP/guest is in it (a
    missing guest/tmpfs-lib.sh broke the Bochs module cycles)."""

    def test_every_sourced_script_is_there(self):
        import re
        import boot
        wanted = set()
        for f in [*(TOP / "guest").glob("*.sh"), *(TOP / "guest/boots").glob("*.sh")]:
            wanted |= set(re.findall(r"\$\{?WB_TOP\}?/(guest/[\w./-]+\.sh)", f.read_text()))
        self.assertIn("guest/tmpfs-lib.sh", wanted)
        with tempfile.TemporaryDirectory() as d:
            boot.guest_tree(Path(d), Path(d) / "no-out", False)
            missing = [w for w in sorted(wanted) if not (Path(d) / "wb" / w).exists()]
        self.assertEqual(missing, [])


# Stand-ins for guest/lib.sh: every check passes and prints its name, nothing
# touches the machine (the scripts' /sys, /tmp and /proc/sysrq-trigger are
# moved into a scratch directory).
STUB_LIB = r"""
check() { echo "@@check $1"; }
VENDOR=${WB_VENDOR:-amd}
VIRTNAME=$([ "$VENDOR" = intel ] && echo CR4.VMXE || echo EFER.SVME)
KVMTEST=true
for f in load_kvm unload_kvm all_virt virt_on set_online hold_vm release_vm mark_dmesg new_dmesg dmesg; do
	eval "$f() { true; }"
done
uname() { echo "$WB_FAKE_UNAME"; }
"""


class GuestScriptPlanTest(unittest.TestCase):
    """A test plan written by hand (expect/tests/intel-612.txt, ...) before
    any boot must be what the guest script reports when every check passes,
    on each kernel it runs on: the script run with a stub lib.sh, with the
    scenario's wb.* settings."""

    def reported(self, s, kernel):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "guest/boots").mkdir(parents=True)
            (d / "scratch/tmp").mkdir(parents=True)
            (d / "guest/lib.sh").write_text(STUB_LIB)
            text = (TOP / "guest/boots" / f"{s.script}.sh").read_text()
            for path in ("/sys/", "/tmp/", "/proc/sysrq-trigger"):
                text = text.replace(path, f"{d}/scratch{path}")
            (d / "guest/boots/script.sh").write_text(text)
            env = {"PATH": "/usr/bin:/bin", "WB_TOP": str(d), "WB_KERNEL": kernel,
                   "WB_FAKE_UNAME": "6.1.192" if scenarios.kernel_version(kernel) == "6.1" else "6.12.118"}
            if s.lane != "qemu-x86":
                env["WB_LANE"] = "arm64" if s.lane == "qemu-arm64" else s.lane
            for w in s.append.split():
                if w.startswith("wb.") and "=" in w:
                    k, v = w[3:].split("=", 1)
                    env["WB_" + k.upper()] = v
            p = subprocess.run(["bash", str(d / "guest/boots/script.sh")], env=env, cwd=d,
                               capture_output=True, text=True, timeout=60)
            return [l[len("@@check "):] for l in p.stdout.splitlines() if l.startswith("@@check ")]

    def test_the_plans_are_what_the_scripts_report(self):
        reg = scenarios.load()
        for name in ("intel", "intel-612", "intel-612-ondemand", "arm64-vhe", "arm64-nvhe", "arm64-stress"):
            s = reg[name]
            for k in s.kernels:
                with self.subTest(scenario=name, kernel=k):
                    got = self.reported(s, k)
                    self.assertGreater(len(got), 4)
                    self.assertEqual(got, scenarios.read_test_plan(name, k))

    def test_the_6_12_vmx_expectations(self):
        """intel-612 expects VMX on with no VM (from the load) and off only after
        the unload; the 6.1 form and intel-612-ondemand, off with no VM."""
        reg = scenarios.load()
        at_load = self.reported(reg["intel-612"], "6.12-series")
        ondemand = self.reported(reg["intel-612-ondemand"], "6.12-series")
        six1 = self.reported(reg["intel"], "series")
        self.assertIn("kvm.enable_virt_at_load is Y", at_load)
        self.assertIn("CR4.VMXE set on CPU 1 onlined without a VM", at_load)
        self.assertIn("CR4.VMXE clear on every CPU after the unload", at_load)
        self.assertNotIn("CR4.VMXE clear on every CPU before the first VM", at_load)
        self.assertEqual(ondemand, six1[:1] + ["kvm.enable_virt_at_load is N"] + six1[1:])
        nvhe = reg["arm64-nvhe"]
        self.assertIn("KVM initialised in nvhe mode (Hyp mode initialized successfully)",
                      self.reported(nvhe, "base"))
        self.assertIn("KVM initialised in nvhe mode (Hyp nVHE mode initialized successfully)",
                      self.reported(nvhe, "6.12-base"))


class GuestLibTest(unittest.TestCase):
    """guest/lib.sh's modparams: MODULE.NAME=VALUE of the kernel command line
    become insmod's arguments, as modprobe passes them."""

    def test_modparams(self):
        lib = (TOP / "guest/lib.sh").read_text()
        start = lib.index("modparams() {")
        fn = lib[start:lib.index("\n}\n", start) + 3]
        cmdline = "console=ttyS0 kvm.enable_virt_at_load=0 kvm_intel.nested=0 wb.vendor=intel kvm-arm.mode=nvhe kvm.x=1"
        script = f"cat() {{ echo '{cmdline}'; }}\n{fn}echo \"[$(modparams kvm)]\"; echo \"[$(modparams kvm_intel)]\"; " \
                 "echo \"[$(modparams kvm_amd)]\""
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.stdout.splitlines(), ["[enable_virt_at_load=0 x=1 ]", "[nested=0 ]", "[]"])
        self.assertIn('insmod "$MOD/kvm.ko" $(modparams kvm)', lib)


class RunOneTest(unittest.TestCase):
    """scenarios.run_one with a lane that cannot start: the boot fails with
    the lane's error, and the runner goes on."""

    def test_lane_error_is_recorded(self):
        res = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, res)
        reg = scenarios.load()

        def broken(spec):
            raise FileNotFoundError("bochs: not installed")
        saved = boot.LANES["bochs"]
        boot.LANES["bochs"] = broken
        try:
            name, verdicts = scenarios.run_one(reg["intel"], "series", res, quiet=True)
        finally:
            boot.LANES["bochs"] = saved
        st = json.loads((res / "series/intel/status.json").read_text())
        self.assertEqual(st["state"], "error")
        bad = {v.test: v.note for v in verdicts if v.result == "fail"}
        self.assertIn("intel: the guest ran", bad)
        self.assertIn("bochs: not installed", bad["intel: the guest ran"])
        self.assertIn("guest script completed", bad)


class BootRetryTest(unittest.TestCase):
    """The declared boot retry (config/flaky.toml [boot."never came up"]):
    only a boot killed before the guest came up is run again, at most
    tries - 1 times; the boot is then flaky, its earlier tries kept and
    judged from their own records."""

    def setUp(self):
        self.res = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.res)
        self.s = scenarios.parse_registry({"x": {"doc": "d", "lane": "qemu-x86", "script": "main"}},
                                          scenarios.TOP)["x"]
        self.calls = 0

    def run_with(self, *tries):
        """run_one with a stand-in lane: each call plays the next of tries,
        (console text, how, started)."""
        def lane(spec):
            text, how, started = tries[self.calls]
            self.calls += 1
            (spec.res / "console.log").write_text(text)
            return boot.Outcome(how, 1.0, started)
        saved = boot.LANES["qemu-x86"]
        boot.LANES["qemu-x86"] = lane
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                _, verdicts = scenarios.run_one(self.s, "series", self.res, quiet=True)
        finally:
            boot.LANES["qemu-x86"] = saved
        return {v.test: v for v in verdicts}

    HANG = ("[    1.0] smpboot: CPU 1\n[    2.0] last words\n", "killed after the 300 s timeout", False)
    GOOD = ("wb: guest up\nwb: ok 1 - guest script completed\nwb: script done\n",
            "stopped: the guest script finished", True)

    def test_a_hang_before_guest_up_runs_again_and_is_flaky(self):
        v = self.run_with(self.HANG, self.GOOD)
        self.assertEqual(self.calls, 2)
        ran = v["x: the guest ran"]
        self.assertEqual(ran.result, "flaky", ran.note)
        self.assertIn("came up on try 2: try 1 never came up (killed after the 300 s timeout)", ran.note)
        self.assertIn("[    2.0] last words", ran.note)
        self.assertEqual(v["guest script completed"].result, "pass")
        self.assertTrue((self.res / "series/x/tries/1/console.log").exists())
        self.assertEqual([d.name for d in (self.res / "series").iterdir()], ["x"], "a try left beside the boot")
        # re-judged offline from the records: the same verdict
        _, again = report.judge_boot(self.res / "series/x")
        self.assertEqual({t.test: t.result for t in again}, {t.test: t.result for t in v.values()})

    def test_hanging_every_try_fails(self):
        v = self.run_with(self.HANG, self.HANG)
        self.assertEqual(self.calls, 2)
        self.assertEqual(v["x: the guest ran"].result, "fail")
        self.assertIn("earlier: try 1 never came up", v["x: the guest ran"].note)

    def test_other_failures_are_not_run_again(self):
        for once in [("", "the emulator exited (1)", False),
                     ("wb: guest up\n", "killed after the 300 s timeout", True)]:
            self.calls = 0
            v = self.run_with(once, self.GOOD)
            self.assertEqual(self.calls, 1, once)
            self.assertTrue(any(x.result == "fail" for x in v.values()), once)

    def test_a_splat_in_a_hung_try_fails(self):
        splat = ("[    1.0] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
                 "[    1.0] RIP: 0010:foo+0x1/0x2\n", "killed after the 300 s timeout", False)
        v = self.run_with(splat, self.GOOD)
        self.assertEqual(v["x: try 1"].result, "fail")
        self.assertIn("a splat in a try that never came up", v["x: try 1"].note)

    def test_a_kept_try_without_a_declaration_fails(self):
        self.run_with(self.HANG, self.GOOD)
        d = self.res / "series/x"
        meta = json.loads((d / "meta.json").read_text())
        meta["boot_retry"] = None
        (d / "meta.json").write_text(json.dumps(meta))
        _, verdicts = report.judge_boot(d)
        bad = [v for v in verdicts if v.result == "fail"]
        self.assertEqual([v.test for v in bad], ["x: the guest ran"])
        self.assertIn("no boot retry is declared", bad[0].note)
        # a declaration of one try (no retry) does not cover a kept try either
        meta["boot_retry"] = {"tries": 1, "why": "w"}
        (d / "meta.json").write_text(json.dumps(meta))
        _, verdicts = report.judge_boot(d)
        bad = [v for v in verdicts if v.result == "fail"]
        self.assertEqual([v.test for v in bad], ["x: the guest ran"])
        self.assertIn("more than the 1 tries declared", bad[0].note)


class BenchStatsTest(unittest.TestCase):
    """bench.py: medians, quartiles, ratios and their per-round spread."""

    def test_quartiles(self):
        self.assertEqual(bench.quartiles([5.0]), (5.0, 5.0, 5.0))
        self.assertEqual(bench.quartiles([1, 2, 3, 4, 5]), (2, 3, 4))

    def test_ratio_and_per_round_spread(self):
        rounds = {("base", 2, 0): {"m": [10, 10, 10]}, ("series", 2, 0): {"m": [11, 11, 11]},
                  ("base", 2, 1): {"m": [10, 10, 10]}, ("series", 2, 1): {"m": [9, 9, 9]}}
        data = bench.pool(rounds)
        self.assertEqual(data[("base", 2)]["m"], [10] * 6)
        v, lo, hi = bench.estimate(data, rounds, 2, bench.ratio_of("m"))
        self.assertAlmostEqual(v, 1.0)        # median of 11,11,11,9,9,9 is 10
        self.assertAlmostEqual(lo, 0.9)
        self.assertAlmostEqual(hi, 1.1)

    def test_not_measured(self):
        self.assertIsNone(bench.estimate({}, {}, 2, bench.ratio_of("m")))
        self.assertIsNone(bench.ratio_of("m")({"m": [0]}, {"m": [1]}))


if __name__ == "__main__":
    unittest.main()
