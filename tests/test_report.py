"""Unit tests for scripts/report.py, run from the workbench top:

    python3 -m unittest discover -s tests -v

Recorded inputs live in tests/data/ (like tools/testing/kunit/test_data/).
"""

import contextlib
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
sys.path.insert(0, str(TESTS.parent / "scripts"))
import report  # noqa: E402


def read(name):
    return (DATA / name).read_text()


def run_main(*argv):
    """(exit code, stdout) of report.py with these arguments."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = report.main(list(argv))
    return rc, out.getvalue()


# Every console log in tests/data/ and the splats it holds, as
# (kind, start of the block's first line).  When a log is replaced by a
# recorded one, update its row; line numbers are checked against the file.
CONSOLE_LOGS = {
    "clean-boot.log": [],
    "guest-mentions-bug.log": [],
    "warning.log": [
        ("warning", "WARNING: CPU: 2 PID: 0 at arch/x86/kvm/vmx/vmx.c:2508 kvm_cpu_vmxon+"),
    ],
    "kvm-spurious-fault-bug.log": [
        ("bug", "kernel BUG at arch/x86/kvm/x86.c:511!"),
        ("oops", "BUG: kernel NULL pointer dereference, address: 0000000000000018"),
    ],
    "lockdep-circular.log": [
        ("lockdep", "WARNING: possible circular locking dependency detected"),
    ],
    # Recorded from our own boots (see README): a clean series boot, the
    # base kernel's headline crash, the lockdep report of the kvm_lock
    # experiment, and an int3 oops seen once under QEMU TCG.
    "recorded-series-main-clean.log": [],
    "recorded-base-headline-bug.log": [
        ("bug", "kernel BUG at arch/x86/kvm/x86.c:511!"),
        ("warning", "WARNING: CPU: 2 PID: 89 at arch/x86/kernel/fpu/core.c:264"),
        ("gpf", "general protection fault, probably for non-canonical address"),
    ],
    "recorded-lockdep-kvm_lock-cycle.log": [
        ("lockdep", "WARNING: possible circular locking dependency detected"),
    ],
    "recorded-vm_list-race-gpf.log": [
        ("gpf", "general protection fault, probably for non-canonical address 0xdead0000000000f0"),
    ],
    # The Bochs lane (kvm-intel), series kernel, make check: clean.
    "recorded-series-intel-bochs.log": [],
    "recorded-tcg-int3-oops.log": [
        ("oops", "int3: 0000 [#1] PREEMPT SMP"),
        ("panic", "Kernel panic - not syncing: Fatal exception in interrupt"),
    ],
}


class ConsoleLogTest(unittest.TestCase):

    def test_recorded_logs(self):
        for name, expected in CONSOLE_LOGS.items():
            with self.subTest(log=name):
                text = read(name)
                splats = report.scan_console(text)
                self.assertEqual([s.kind for s in splats], [k for k, _ in expected])
                lines = text.splitlines()
                for s, (_, first) in zip(splats, expected):
                    self.assertTrue(s.first.startswith(first), s.first)
                    self.assertTrue(lines[s.lineno - 1].endswith(s.first))

    def test_every_log_in_data_is_listed(self):
        logs = {p.name for p in DATA.glob("*.log")}
        self.assertEqual(logs, set(CONSOLE_LOGS))

    def test_block_runs_to_end_trace(self):
        (s,) = report.scan_console(read("warning.log"))
        self.assertIn("Call Trace:", s.lines)
        self.assertTrue(s.lines[-1].startswith("---[ end trace"))

    def test_oops_line_belongs_to_the_open_block(self):
        bug, oops = report.scan_console(read("kvm-spurious-fault-bug.log"))
        self.assertIn("invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", bug.lines)
        self.assertIn("Oops: 0000 [#2] PREEMPT SMP NOPTI", oops.lines)
        self.assertIn(" vmx_vcpu_free+0x6a/0x90 [kvm_intel]", oops.lines)

    def test_riscv_oops_is_one_block(self):
        """riscv names the fault, then dies with "Oops [#1]": one splat."""
        text = ("[   12.1] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008\n"
                "[   12.1] Oops [#1]\n"
                "[   12.1] Modules linked in:\n"
                "[   12.1] CPU: 1 PID: 61 Comm: init Not tainted 6.1.192 #1\n"
                "[   12.1] epc : kvm_arch_hardware_enable+0x1c/0x40\n"
                "[   12.1]  ra : kvm_online_cpu+0x4e/0x90\n"
                "[   12.1] Call Trace:\n"
                "[   12.1] [<ffffffff8000f0a4>] kvm_arch_hardware_enable+0x1c/0x40\n"
                "[   12.1] ---[ end trace 0000000000000000 ]---\n"
                "[   13.0] wb: ok 5 - after\n")
        (s,) = report.scan_console(text)
        self.assertEqual((s.kind, s.lineno), ("oops", 1))
        self.assertIn("Oops [#1]", s.lines)
        self.assertEqual(len(s.lines), 9)

    def test_riscv_bug_is_one_block(self):
        text = ("[   12.1] kernel BUG at virt/kvm/kvm_main.c:5100!\n"
                "[   12.1] Kernel BUG [#1]\n"
                "[   12.1] epc : kvm_online_cpu+0x50/0x90\n")
        (s,) = report.scan_console(text)
        self.assertEqual((s.kind, s.first), ("bug", "kernel BUG at virt/kvm/kvm_main.c:5100!"))
        self.assertEqual(len(s.lines), 3)

    def test_block_is_at_most_80_lines(self):
        text = "[    1.000000] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1\n" + "filler\n" * 200
        (s,) = report.scan_console(text)
        self.assertEqual(len(s.lines), report.MAX_BLOCK_LINES)

    def test_next_trigger_starts_a_new_block(self):
        text = ("[  245.1] INFO: task kworker/1:2:77 blocked for more than 120 seconds.\n"
                "[  245.1]       Not tainted 6.1.192 #1\n"
                "[  246.0] BUG: scheduling while atomic: wb-vcpu/245/0x00000002\n")
        splats = report.scan_console(text)
        self.assertEqual([(s.kind, s.lineno) for s in splats], [("hung", 1), ("bug", 3)])
        self.assertEqual(len(splats[0].lines), 2)

    def test_prefix_stripping(self):
        for line, msg in [
            ("[   12.345678] WARNING: x", "WARNING: x"),
            ("[12345.678901] WARNING: x", "WARNING: x"),
            ("<4>[    1.000000] WARNING: x", "WARNING: x"),
            ("<4>WARNING: x", "WARNING: x"),
            ("[    1.000000][    T1] WARNING: x", "WARNING: x"),
            ("[    1.000000] ", ""),
            ("WARNING: x", "WARNING: x"),
            ("[    1.000000]  <TASK>", " <TASK>"),
            ("  BUG: x", "  BUG: x"),
        ]:
            with self.subTest(line=line):
                self.assertEqual(report.kernel_message(line), msg)

    def test_line_rule(self):
        # (console line, kind or None).  Guest script output is not flagged.
        for line, kind in [
            ("[    1.1] WARNING: CPU: 1 PID: 23 at arch/x86/kvm/x86.c:123 foo+0x1/0x2", "warning"),
            ("[    1.1] BUG: kernel NULL pointer dereference, address: 0000000000000000", "oops"),
            ("[    1.1] BUG: unable to handle page fault for address: ffffc90000a00000", "oops"),
            ("[    1.1] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580", "bug"),
            ("[    1.1] BUG: scheduling while atomic: wb-vcpu/245/0x00000002", "bug"),
            ("[    1.1] kernel BUG at arch/x86/kvm/x86.c:511!", "bug"),
            ("[    1.1] Oops: 0000 [#1] PREEMPT SMP NOPTI", "oops"),
            ("[    1.1] Internal error: Oops - BUG: 0 [#1] SMP", "oops"),
            ("[    1.1] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI", "gpf"),
            ("[    1.1] Kernel panic - not syncing: Fatal exception", "panic"),
            ("[    1.1] unchecked MSR access error: WRMSR to 0x3a (tried to write 0x0000000000000005) at rIP: 0xffffffff8107d9e4 (native_write_msr+0x4/0x20)", "msr"),
            ("[    1.1] INFO: task wb-hotplug:240 blocked for more than 120 seconds.", "hung"),
            ("[    1.1] watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [wb-vcpu:245]", "softlockup"),
            ("[    1.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu-stall"),
            ("[    1.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", "rcu-stall"),
            ("[    1.1] WARNING: possible circular locking dependency detected", "lockdep"),
            ("[    1.1] WARNING: possible recursive locking detected", "lockdep"),
            ("[    1.1] WARNING: inconsistent lock state", "lockdep"),
            ("[    1.1] WARNING: possible irq lock inversion dependency detected", "lockdep"),
            ("[    1.1] INFO: possible irq lock inversion dependency detected", "lockdep"),
            ("[    1.1] WARNING: suspicious RCU usage", "lockdep"),
            ("BUG: kernel NULL pointer dereference, address: 0000000000000000", "oops"),
            ("# checking for BUG: none", None),
            ("wb: checking for BUG: none", None),
            ("[    1.1] wb: checking for BUG: none", None),
            ("ok 3 - no BUG: in dmesg", None),
            ("not ok 4 - Kernel panic - not syncing seen", None),
            ("  BUG: indented", None),
            ("[    1.1] traps: wb-vcpu[245] general protection fault ip:401136 sp:7ffd8c4e0c50 error:0", None),
            ("[    1.1] kvm: enabling virtualization on CPU2 failed", None),
            ("[    1.1] INFO: lockdep is turned off.", None),
            # riscv's die(): after a kernel page fault, a BUG() or a trap
            ("[    1.1] Unable to handle kernel paging request at virtual address ffffffff00000008", "oops"),
            ("[    1.1] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000", "oops"),
            ("[    1.1] Oops [#1]", "oops"),
            ("[    1.1] Oops - illegal instruction [#1]", "oops"),
            ("wb: Unable to handle kernel paging request", None),
        ]:
            with self.subTest(line=line):
                self.assertEqual(report.trigger_kind(report.kernel_message(line)), kind)

    def test_framed_headers(self):
        frame = "============================="
        self.assertEqual(report.trigger_kind("[ BUG: Invalid wait context ]", frame), "lockdep")
        self.assertEqual(report.trigger_kind("WARNING: bad unlock balance detected!", frame), "lockdep")
        self.assertEqual(report.trigger_kind("WARNING: bad unlock balance detected!"), "warning")
        self.assertEqual(report.trigger_kind("BUG: KASAN: slab-use-after-free in f+0x1/0x2", frame), "bug")
        self.assertIsNone(report.trigger_kind("[ BUG: Invalid wait context ]"))


class TapTest(unittest.TestCase):

    def test_complete(self):
        results = report.parse_tap(read("tap-complete.txt"))
        self.assertEqual([(r.name, r.status) for r in results], [
            ("kvm modules load", "ok"),
            ("cpu2 offline/online with a running vcpu", "not ok"),
            ("s2idle cycle with a running vcpu", "skip"),
            ("selftest kvm_create_max_vcpus", "ok"),
            ("selftest hardware_disable_test", "not ok"),
            ("selftest xapic_state_test", "skip"),
        ])
        self.assertEqual(results[2].reason, "no s2idle on this machine")

    def test_truncated_last_line_is_ignored(self):
        results = report.parse_tap(read("tap-truncated.txt"))
        self.assertEqual([r.name for r in results],
                         ["kvm modules load", "cpu2 offline/online with a running vcpu"])

    def test_odd_lines(self):
        text = ("TAP version 13\n1..5\n# ok 9 - a comment\n"
                "ok 1 no dash\nok\nnot ok 3 - x # TODO later\n"
                "ok 4 - y # skip lower case\nokay 5 - not a result\n  ok 6 - indented\n")
        results = report.parse_tap(text)
        self.assertEqual([(r.name, r.status, r.reason) for r in results], [
            ("no dash", "ok", ""),
            ("test 2", "ok", ""),
            ("x", "not ok", "TODO later"),
            ("y", "skip", "lower case"),
        ])

    def test_empty(self):
        self.assertEqual(report.parse_tap(""), [])


def tap(status, reason=""):
    return report.TapResult("t", status, reason)


class ExpectTest(unittest.TestCase):

    def test_judge_expected(self):
        # (expectation, TAP status or None if missing) -> (result, note start)
        for expect, got, result, note in [
            ("pass", "ok", "pass", ""),
            ("pass", "not ok", "fail", "failed"),
            ("pass", "skip", "fail", "unexpected skip"),
            ("pass", None, "fail", "did not report"),
            ("fail", "not ok", "pass", "old failure reproduced"),
            ("fail", "ok", "fail", "expected the old failure, but it passed"),
            ("fail", "skip", "fail", "expected the old failure, but skipped"),
            ("fail", None, "fail", "did not report"),
            ("skip", "skip", "pass", "skipped as expected"),
            ("skip", "ok", "fail", "expected a skip, got ok"),
            ("any", "ok", "pass", "any result accepted: ok"),
            ("any", "not ok", "pass", "any result accepted: not ok"),
            ("any", "skip", "pass", "any result accepted: skip"),
            ("any", None, "pass", "did not report; any result accepted"),
            ("flaky", "ok", "fail", "bad expectation"),
        ]:
            with self.subTest(expect=expect, got=got):
                v = report.judge_expected("t", expect, tap(got) if got else None)
                self.assertEqual(v.result, result)
                self.assertTrue(v.note.startswith(note), v.note)

    def test_judge_tests(self):
        results = report.parse_tap(read("tap-truncated.txt")) + [
            report.TapResult("unlisted fails", "not ok"),
            report.TapResult("unlisted skips", "skip", "why"),
        ]
        expect = {
            "s2idle cycle with a running vcpu": "pass",
            "cpu2 offline/online with a running vcpu": "fail",
            "kvm modules load": "pass",
        }
        got = [(v.test, v.result, v.note) for v in report.judge_tests(results, expect)]
        self.assertEqual(got, [
            ("kvm modules load", "pass", ""),
            ("cpu2 offline/online with a running vcpu", "pass", "old failure reproduced"),
            ("unlisted fails", "fail", "not ok (no expectation set)"),
            ("unlisted skips", "skip", "why"),
            ("s2idle cycle with a running vcpu", "fail", "did not report"),
        ])


class SplatVerdictTest(unittest.TestCase):
    """Every splat is accounted for: an expected splat covers only the
    splats it matches."""

    def splats(self, name):
        return report.scan_console(read(name))

    def judge(self, log, expected=(), allowed=(), known=()):
        return {v.test: v for v in report.judge_splats("b", self.splats(log), expected, allowed, known)}

    def test_no_splat_expected_and_none(self):
        v = self.judge("clean-boot.log")
        self.assertEqual([(t, x.result) for t, x in v.items()], [("b: every splat accounted for", "pass")])

    def test_no_splat_expected_but_found(self):
        v = self.judge("kvm-spurious-fault-bug.log")["b: every splat accounted for"]
        self.assertEqual(v.result, "fail")
        self.assertEqual(v.note, "bug at line 15: kernel BUG at arch/x86/kvm/x86.c:511!; "
                         "oops at line 65: BUG: kernel NULL pointer dereference, address: 0000000000000018")

    def test_expected_splat_seen_covers_only_what_it_matches(self):
        v = self.judge("kvm-spurious-fault-bug.log", [r"kernel BUG at arch/x86/kvm/x86\.c"])
        self.assertEqual(v[r"b: expected splat /kernel BUG at arch/x86/kvm/x86\.c/ seen"].result, "pass")
        left = v["b: every splat accounted for"]
        self.assertEqual(left.result, "fail")
        self.assertIn("BUG: kernel NULL pointer dereference", left.note)
        self.assertNotIn("kernel BUG at", left.note)

    def test_recorded_base_headline_three_splats(self):
        """base/headline's console: the BUG, then a WARNING and a general
        protection fault; only when the fallout is declared does it pass."""
        bug = r"kernel BUG at arch/x86/kvm/x86\.c"
        v = self.judge("recorded-base-headline-bug.log", [bug])
        self.assertEqual(v["b: every splat accounted for"].result, "fail")
        self.assertIn("fpu_free_guest_fpstate", v["b: every splat accounted for"].note)
        self.assertIn("general protection fault", v["b: every splat accounted for"].note)
        v = self.judge("recorded-base-headline-bug.log", [bug], [r"fpu_free_guest_fpstate\+",
                                                                  r"RIP: 0010:__schedule\+"])
        self.assertEqual({x.result for x in v.values()}, {"pass"})
        self.assertEqual(v["b: every splat accounted for"].note, "3 splat(s), each expected")

    def test_an_allowed_splat_need_not_show(self):
        v = self.judge("clean-boot.log", (), [r"fpu_free_guest_fpstate"])
        self.assertEqual({x.result for x in v.values()}, {"pass"})

    def test_expected_splat_missing(self):
        for log in ["clean-boot.log", "warning.log"]:
            with self.subTest(log=log):
                v = self.judge(log, [r"kernel BUG at"])["b: expected splat /kernel BUG at/ seen"]
                self.assertEqual(v.result, "fail")
                self.assertTrue(v.note.startswith("no splat matches"))

    def test_bad_regex(self):
        v = self.judge("clean-boot.log", ["("])
        self.assertEqual([x.result for x in v.values()], ["fail"])
        self.assertIn("bad expected splat regex", v["b: splat expectations"].note)

    KNOWN = {"name": "vm_list-race", "fixed_by": "patch 24", "match":
             r"general protection fault, probably for non-canonical address 0xdead0{9}\w+"
             r"[\s\S]*RIP: 0010:kvm_arch_hardware_enable\+"}

    def test_a_known_failure_tolerated_seen_or_not(self):
        known = [dict(self.KNOWN, tolerated=True)]
        v = self.judge("recorded-vm_list-race-gpf.log", known=known)
        self.assertEqual({x.result for x in v.values()}, {"pass"})
        self.assertTrue(v["b: known failure vm_list-race"].note.startswith("known failure seen: gpf at line 512"))
        v = self.judge("clean-boot.log", known=known)
        self.assertEqual(v["b: known failure vm_list-race"].note, "not seen this run (fixed by patch 24)")

    def test_a_known_failure_on_the_fixed_kernel_fails(self):
        v = self.judge("recorded-vm_list-race-gpf.log", known=[dict(self.KNOWN, tolerated=False)])
        self.assertEqual(v["b: known failure vm_list-race"].result, "fail")
        self.assertEqual(v["b: every splat accounted for"].result, "fail")

    def test_a_known_failure_excuses_only_what_follows_it(self):
        """A splat before the known failure is no fallout of it."""
        text = read("warning.log") + read("recorded-vm_list-race-gpf.log")
        v = {x.test: x for x in report.judge_splats("b", report.scan_console(text), (), (),
                                                      [dict(self.KNOWN, tolerated=True)])}
        self.assertEqual(v["b: known failure vm_list-race"].result, "pass")
        self.assertEqual(v["b: every splat accounted for"].result, "fail")
        self.assertIn("vmx.c:2508 kvm_cpu_vmxon", v["b: every splat accounted for"].note)

    def test_a_known_failure_covers_only_its_signature(self):
        v = self.judge("kvm-spurious-fault-bug.log", known=[dict(self.KNOWN, tolerated=True)])
        self.assertEqual(v["b: every splat accounted for"].result, "fail")


class GuestTapTest(unittest.TestCase):
    """The guest's TAP from tap.txt and the console, merged by number."""

    def test_a_name_reported_twice_fails(self):
        results, problems = report.guest_results("not ok 1 - X\nok 2 - X\n", "")
        self.assertEqual(problems, {"X": "reported 2 times: not ok 1, ok 2"})
        v = report.judge_tests(results, {"X": "pass"}, problems=problems)
        self.assertEqual([(x.test, x.result) for x in v], [("X", "fail")])

    def test_console_and_tap_agree(self):
        results, problems = report.guest_results(
            "ok 1 - a guest runs\n", "wb: ok 1 - a guest r[   16.1] hrtimer: x\nwb: ok 101 - after\n")
        self.assertEqual(problems, {})
        self.assertEqual([(r.number, r.name) for r in results], [(1, "a guest runs"), (101, "after")])

    def test_console_and_tap_disagree(self):
        _, problems = report.guest_results("ok 1 - a\n", "wb: not ok 1 - a\n")
        self.assertIn("tap.txt says 'ok - a', the console 'not ok - a'", problems["a"])

    def test_unplanned_and_missing_results(self):
        results = report.parse_tap("ok 1 - a\nok 2 - surprise\n")
        v = {x.test: x for x in report.judge_tests(results, {}, planned=["a", "b"])}
        self.assertEqual(v["surprise"].result, "fail")
        self.assertIn("not in the plan", v["surprise"].note)
        self.assertEqual((v["b"].result, v["b"].note), ("fail", "did not report"))

    def test_a_retry_counts_only_if_declared(self):
        results = report.parse_tap("ok 1 - selftest t # flaky: passed on attempt 2 after x\n")
        v = report.judge_tests(results, {})
        self.assertEqual(v[0].result, "fail")
        self.assertIn("not declared flaky", v[0].note)
        v = report.judge_tests(results, {}, flaky={"selftest t": {"why": "TSC"}})
        self.assertEqual(v[0].result, "flaky")


class KunitJudgeTest(unittest.TestCase):
    """KUnit verdicts come from the console's KTAP, every run of a suite."""

    RUN = ("[    1.0]     KTAP version 1\n[    1.0]     # Subtest: s\n[    1.0]     1..2\n"
           "[    1.0]     ok 1 a\n[    1.0]     {b}\n[    1.0] # s: pass:2\n[    1.0] {end} 1 s\n")

    def judge(self, text):
        return {v.test: v for v in report.judge_kunit("s", text)}

    def test_a_recorded_suite_passes(self):
        v = report.judge_kunit("kvm-x86-cr4-compat", read("recorded-series-main-clean.log"))
        self.assertEqual({x.result for x in v}, {"pass"})
        self.assertEqual(len(v), 12)
        self.assertEqual(v[0].note, "2 run(s), 11 cases, 22 results")

    def test_cut_short(self):
        v = self.judge("[    1.0]     # Subtest: s\n[    1.0]     1..2\n[    1.0]     ok 1 a\n"
                       "[    1.1] Kernel panic - not syncing\n")
        self.assertEqual(v["kunit s"].result, "fail")
        self.assertIn("cut short", v["kunit s"].note)

    def test_missing(self):
        v = self.judge("wb: guest up\n")
        self.assertEqual(v["kunit s"].result, "fail")
        self.assertIn("never started", v["kunit s"].note)

    def test_a_failing_case_in_one_run_of_two(self):
        text = self.RUN.format(b="ok 2 b", end="ok") + self.RUN.format(b="not ok 2 b", end="not ok")
        v = self.judge(text)
        self.assertEqual(v["kunit s: b"].result, "fail")
        self.assertEqual(v["kunit s: b"].note, "failed in 1 of 2 runs")
        self.assertEqual(v["kunit s: a"].result, "pass")

    def test_a_case_twice_or_missing_fails(self):
        v = self.judge(self.RUN.format(b="ok 2 a", end="ok"))
        self.assertIn("reports a twice", v["kunit s"].note)
        v = self.judge(self.RUN.format(b="", end="ok"))
        self.assertIn("planned 2 cases, reported 1", v["kunit s"].note)


class SelftestTest(unittest.TestCase):

    def test_parse_expectations(self):
        text = "# base kernel\n\nkvm_create_max_vcpus pass\nx86_64/xapic state skip  # comment\n"
        self.assertEqual(report.parse_selftests_expect(text),
                         {"kvm_create_max_vcpus": "pass", "x86_64/xapic state": "skip"})
        with self.assertRaises(ValueError):
            report.parse_selftests_expect("kvm_create_max_vcpus passed\n")

    def test_expectations_round_trip(self):
        text = report.selftests_expect_text(report.parse_tap(read("tap-complete.txt")))
        self.assertEqual(report.parse_selftests_expect(text), {
            "kvm_create_max_vcpus": "pass",
            "hardware_disable_test": "fail",
            "xapic_state_test": "skip",
        })

    def test_judge_selftest(self):
        for base, got, result, note in [
            ("pass", "ok", "pass", ""),
            ("pass", "not ok", "fail", "regression: passed on base"),
            ("pass", "skip", "fail", "regression: passed on base, now skipped"),
            ("pass", None, "fail", "did not report"),
            ("fail", "ok", "pass", "base: fail, now: ok"),
            ("fail", "not ok", "pass", "base: fail, now: not ok"),
            ("skip", "not ok", "pass", "base: skip, now: not ok"),
        ]:
            with self.subTest(base=base, got=got):
                v = report.judge_selftest("selftest t", base, tap(got) if got else None)
                self.assertEqual(v.result, result)
                self.assertTrue(v.note.startswith(note), v.note)

    def test_judge_tests_with_selftests(self):
        results = report.parse_tap("ok 1 - selftest a\nnot ok 2 - selftest b\n"
                                   "not ok 3 - selftest new\nok 4 - other\n")
        base = {"a": "pass", "b": "pass", "gone": "pass"}
        got = [(v.test, v.result) for v in report.judge_tests(results, {}, base)]
        self.assertEqual(got, [
            ("selftest a", "pass"),
            ("selftest b", "fail"),
            ("selftest new", "fail"),    # not on base: its own TAP result
            ("other", "pass"),
            ("selftest gone", "fail"),   # did not report
        ])


BASE_TAP = """TAP version 13
1..5
ok 1 - kvm modules load
not ok 2 - cpu2 offline/online with a running vcpu
ok 3 - selftest kvm_create_max_vcpus
not ok 4 - selftest hardware_disable_test
ok 5 - selftest xapic_state_test # SKIP x2APIC not available
"""

SERIES_TAP = """TAP version 13
1..5
ok 1 - kvm modules load
ok 2 - cpu2 offline/online with a running vcpu
ok 3 - selftest kvm_create_max_vcpus
ok 4 - selftest hardware_disable_test
not ok 5 - selftest xapic_state_test
"""


class SelftestsExpectTest(unittest.TestCase):
    """report.py selftests-expect BOOTDIR: the base's selftest results from
    the boot's records, the console alone where a lane writes no tap.txt
    (Bochs, arm64)."""

    def test_from_the_console_alone(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "console.log").write_text(
                "[    1.0] boot\nwb: ok 1 - selftest a\nwb: not ok 2 - selftest b\n"
                "wb: ok 3 - selftest c # SKIP did not build\nwb: ok 4 - guest script completed\n")
            rc, out = run_main("selftests-expect", d)
            self.assertEqual(rc, 0)
            self.assertEqual(out.splitlines()[2:], ["a pass", "b fail", "c skip"])
            # the tap.txt path of a qemu-x86 boot still reads the same boot
            rc, again = run_main("selftests-expect", str(Path(d) / "tap.txt"))
            self.assertEqual(again.splitlines()[2:], out.splitlines()[2:])

    def test_no_selftest_results_fails(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "console.log").write_text("wb: ok 1 - guest script completed\n")
            with contextlib.redirect_stderr(io.StringIO()):
                rc, _ = run_main("selftests-expect", d)
            self.assertEqual(rc, 1)


class BootAndSummaryTest(unittest.TestCase):
    """A results tree built in a temporary directory from tests/data."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.top = Path(tmp.name)
        self.results = self.top / "results"

    def make_boot(self, kernel, boot, console, tap, meta):
        d = self.results / kernel / boot
        d.mkdir(parents=True)
        if console:
            (d / "console.log").write_text(read(console))
        if tap is not None:
            (d / "tap.txt").write_text(tap)
        (d / "meta.json").write_text(json.dumps(dict(meta, kernel=kernel, boot=boot)))
        return d

    def make_tree(self):
        self.base = self.make_boot("base", "headline", "kvm-spurious-fault-bug.log", BASE_TAP, {
            "expect_tests": {"kvm modules load": "pass",
                             "cpu2 offline/online with a running vcpu": "fail"},
            "expect_splats": [r"kernel BUG at arch/x86/kvm/x86\.c"],
            "allowed_splats": [r"RIP: 0010:free_loaded_vmcs\+"],
        })
        expect = self.top / "expect" / "selftests-base.txt"
        expect.parent.mkdir()
        rc, out = run_main("selftests-expect", str(self.base / "tap.txt"))
        self.assertEqual(rc, 0)
        expect.write_text(out)
        self.series = self.make_boot("series", "headline", "clean-boot.log", SERIES_TAP, {
            "expect_tests": {"kvm modules load": "pass",
                             "cpu2 offline/online with a running vcpu": "pass",
                             "s2idle cycle with a running vcpu": "pass"},
            "expect_splat": None,
            "selftests_expect": str(expect),
        })

    def test_judge_boot(self):
        self.make_tree()
        boot, verdicts = report.judge_boot(self.series, top=self.top)
        self.assertEqual(boot, "headline")
        self.assertEqual([(v.test, v.result) for v in verdicts], [
            ("kvm modules load", "pass"),
            ("cpu2 offline/online with a running vcpu", "pass"),
            ("selftest kvm_create_max_vcpus", "pass"),
            ("selftest hardware_disable_test", "pass"),
            ("selftest xapic_state_test", "pass"),
            ("s2idle cycle with a running vcpu", "fail"),
            ("headline: every splat accounted for", "pass"),
        ])
        self.assertEqual(verdicts[3].note, "base: fail, now: ok")

    def test_selftests_expect_relative_to_top(self):
        self.make_tree()
        meta = json.loads((self.series / "meta.json").read_text())
        meta["selftests_expect"] = "expect/selftests-base.txt"
        (self.series / "meta.json").write_text(json.dumps(meta))
        _, verdicts = report.judge_boot(self.series, top=self.top)
        self.assertEqual(verdicts[3].note, "base: fail, now: ok")
        meta["selftests_expect"] = "expect/missing.txt"
        (self.series / "meta.json").write_text(json.dumps(meta))
        _, verdicts = report.judge_boot(self.series, top=self.top)
        self.assertEqual((verdicts[0].test, verdicts[0].result),
                         ("headline: selftests expectations", "fail"))

    def test_missing_files(self):
        d = self.make_boot("series", "hung", None, None, {
            "expect_tests": {"kvm modules load": "pass"}, "expect_splat": None})
        _, verdicts = report.judge_boot(d)
        self.assertEqual([(v.test, v.result, v.note) for v in verdicts], [
            ("kvm modules load", "fail", "did not report (no tap.txt)"),
            ("hung: console.log", "fail", "missing"),
        ])
        (d / "meta.json").write_text("{")
        _, verdicts = report.judge_boot(d)
        self.assertEqual((verdicts[0].test, verdicts[0].result), ("hung: meta.json", "fail"))

    def test_boot_command(self):
        self.make_tree()
        rc, out = run_main("boot", str(self.base))
        self.assertEqual(rc, 1)
        self.assertEqual(out.splitlines(), [
            "TAP version 13",
            "1..7",
            "ok 1 - kvm modules load",
            "ok 2 - cpu2 offline/online with a running vcpu # old failure reproduced",
            "ok 3 - selftest kvm_create_max_vcpus",
            "not ok 4 - selftest hardware_disable_test # not ok (no expectation set)",
            "ok 5 - selftest xapic_state_test # SKIP x2APIC not available",
            "ok 6 - headline: expected splat /kernel BUG at arch/x86/kvm/x86\\.c/ seen # bug at line 15:"
            " kernel BUG at arch/x86/kvm/x86.c:511!",
            "ok 7 - headline: every splat accounted for # 2 splat(s), each expected",
        ])

    def test_summary(self):
        self.make_tree()
        rc, out = run_main("summary", str(self.results))
        self.assertEqual(rc, 1)
        lines = out.splitlines()
        totals = lines.index("base: 5 passed, 1 failed, 1 skipped")
        self.assertEqual(lines[totals + 1], "series: 6 passed, 1 failed")
        self.assertEqual(lines[-1], "11 passed, 2 failed, 1 skipped")
        # then the scenario x kernel table, just above the closing line
        self.assertEqual(lines[-3], "| headline | fail | fail | - | - |")
        self.assertIn("| headline | s2idle cycle with a running vcpu | FAIL | did not report |", lines)
        self.assertIn("## series", lines)
        # the failures are listed again just above the counts (CI shows a log's tail)
        failed = lines[lines.index("2 failed:") + 1:totals - 1]
        self.assertEqual(len(failed), 2)
        self.assertIn("FAIL series/headline: s2idle cycle with a running vcpu (did not report)", failed)
        self.assertEqual((self.results / "summary.md").read_text(), out)

    def test_summary_all_passed(self):
        self.make_boot("series", "clean", "clean-boot.log", "ok 1 - a\nok 2 - b\n",
                       {"expect_tests": {"a": "pass"}, "expect_splat": None})
        rc, out = run_main("summary", str(self.results))
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines()[-1], "3 passed, 0 failed")

    def test_scan_command(self):
        rc, out = run_main("scan", str(DATA / "clean-boot.log"))
        self.assertEqual((rc, out), (0, ""))
        rc, out = run_main("scan", str(DATA / "lockdep-circular.log"))
        self.assertEqual(rc, 1)
        self.assertEqual(out.split(), ["lockdep", "line", "16", "WARNING:", "possible",
                                       "circular", "locking", "dependency", "detected"])



class KernelTableTest(unittest.TestCase):
    """The summary's last table, scenario x kernel (6.1 base, 6.1 series,
    6.12 base, 6.12 series): pass, xfail, fail or "-", from the judged
    results of each boot, just above the closing line."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.results = Path(self.tmp.name)

    def boot(self, kernel, name, lines, expect_tests=None, splats=(), console_extra=""):
        d = self.results / kernel / name
        d.mkdir(parents=True)
        tap = "".join(f"{l}\n" for l in lines)
        (d / "console.log").write_text("wb: guest up\n" + console_extra
                                       + "".join(f"wb: {l}\n" for l in lines))
        (d / "tap.txt").write_text("TAP version 13\n" + tap)
        (d / "status.json").write_text(json.dumps({"state": "done", "started": True, "how": "x"}))
        tests = dict({"guest script completed": "pass"}, **(expect_tests or {}))
        (d / "meta.json").write_text(json.dumps({"kernel": kernel, "boot": name, "expect_tests": tests,
                                                 "expect_splats": list(splats)}))

    def table(self, plan=None):
        text, _ = report.summary(self.results, plan=plan)
        lines = text.splitlines()
        start = lines.index("## scenario x kernel")
        rows = {l.split(" | ")[0][2:]: [c.strip(" |") for c in l.split(" | ")[1:]]
                for l in lines[start:] if l.startswith("| ") and not l.startswith("| scenario")}
        return lines, start, rows

    def test_each_outcome(self):
        done = "ok 2 - guest script completed"
        # the old failure reproduced, as the registry expects: xfail
        self.boot("6.12-base", "features-612", ["not ok 1 - refused", done], {"refused": "fail"})
        self.boot("6.12-series", "features-612", ["ok 1 - refused", done], {"refused": "pass"})
        # an expected splat seen: xfail
        self.boot("6.12-base", "vmlist-612", ["ok 1 - cycles", done], splats=[r"general protection fault"],
                  console_extra="[   21.9] Oops: general protection fault, probably for non-canonical "
                                "address 0xdead0000000000f0: 0000 [#1] PREEMPT SMP\n")
        # the old failure gone where it was expected: fail
        self.boot("6.12-series", "vmlist-612", ["not ok 1 - cycles # exit 1", done])
        self.boot("base", "headline", ["ok 1 - refused", done], {"refused": "fail"})
        self.boot("series", "headline", ["ok 1 - refused", done])
        # not one of the four kernels: not in the table
        self.boot("variant-x", "kunit", ["ok 1 - a", done])
        plan = [{"kernel": "checks", "boot": "build-6.12-base", "stage": "build-6.12-base"},
                {"kernel": "6.12-series", "boot": "kunit-612", "stage": "boots"}]
        lines, start, rows = self.table(plan)
        self.assertEqual(lines[start + 4], "| scenario | 6.1 base | 6.1 series | 6.12 base | 6.12 series |")
        self.assertEqual(rows, {
            "features-612": ["-", "-", "xfail", "pass"],
            "headline": ["fail", "pass", "-", "-"],
            # planned, never ran: fail
            "kunit-612": ["-", "-", "-", "fail"],
            "vmlist-612": ["-", "-", "xfail", "fail"],
        })
        # the table is the last block: a blank line, then the closing line
        self.assertEqual(lines[-2], "")
        self.assertRegex(lines[-1], r"^\d+ passed, \d+ failed$")
        self.assertTrue(all(l.startswith("|") for l in lines[start + 4:-2]))

    def test_a_stray_splat_makes_an_xfail_a_fail(self):
        self.boot("6.12-base", "features-612", ["not ok 1 - refused", "ok 2 - guest script completed"],
                  {"refused": "fail"}, console_extra="[    3.1] WARNING: CPU: 1 PID: 1 at x.c:1 f+0x1/0x2\n")
        _, _, rows = self.table()
        self.assertEqual(rows["features-612"], ["-", "-", "fail", "-"])

    def test_boot_outcome(self):
        V = report.Verdict
        self.assertEqual(report.boot_outcome([V("a", "pass"), V("b", "pass", "old failure reproduced")]), "xfail")
        self.assertEqual(report.boot_outcome([V("a", "fail"), V("b", "pass", "old failure reproduced")]), "fail")
        self.assertEqual(report.boot_outcome([V("x: expected splat /BUG/ seen", "pass", "bug at line 3")]),
                         "xfail")
        self.assertEqual(report.boot_outcome([V("x: known failure r", "pass", "not seen this run")]), "pass")
        self.assertEqual(report.boot_outcome([V("a", "pass"), V("b", "flaky", "passed on a retry")]), "pass")

    def test_no_table_without_those_kernels(self):
        self.boot("variant-x", "kunit", ["ok 1 - guest script completed"])
        text, _ = report.summary(self.results)
        self.assertNotIn("## scenario x kernel", text)
        self.assertEqual(text.splitlines()[-1], "3 passed, 0 failed")


class ConsoleTapTest(unittest.TestCase):
    """The Bochs lane has no results share: its TAP comes only from the
    console's "wb: ok ..." lines, which the judge reads."""

    def test_bochs_console_gives_every_result(self):
        results, problems = report.guest_results("", read("recorded-series-intel-bochs.log"))
        self.assertEqual(problems, {})
        self.assertEqual(len(results), 32)
        self.assertEqual({r.status for r in results}, {"ok"})
        self.assertEqual(results[0].name, "kvm and kvm-intel load")
        self.assertEqual(results[-1].name, "guest script completed")

    def test_results_in_both_records_are_not_doubled(self):
        results, problems = report.guest_results("TAP version 13\nok 1 - a\n",
                                                 "wb: ok 1 - a\nwb: not ok 2 - b # exit 1\n")
        self.assertEqual(problems, {})
        self.assertEqual([(r.name, r.status) for r in results], [("a", "ok"), ("b", "not ok")])


class EmulatorDiedTest(unittest.TestCase):
    """boot.finish: an emulator that died before the guest came up names why,
    from its log or, when it never opened one, from its terminal."""

    def died(self, files):
        import boot
        from types import SimpleNamespace
        with tempfile.TemporaryDirectory() as d:
            res = Path(d)
            (res / "console.log").write_text("")
            for name, text in files.items():
                (res / name).write_text(text)
            spec = SimpleNamespace(res=res, kernel="series", name="intel", lane="bochs")
            proc = SimpleNamespace(poll=lambda: 134, wait=lambda: 134)
            out = boot.finish(spec, proc, boot.Outcome("the emulator exited (134)", 0.5, False),
                              kill=lambda: None)
            return out.how

    def test_the_abort_message_from_the_terminal(self):
        how = self.died({"emulator-terminal.log": "\x1b[2J\x1b[H\r\nALSA lib pcm.c:2666: Unknown PCM default\r\n"
                                                  "*** buffer overflow detected ***: terminated\r\n"})
        self.assertEqual(how, "the emulator exited (134): ALSA lib pcm.c:2666: Unknown PCM default"
                              " | *** buffer overflow detected ***: terminated")

    def test_the_log_first(self):
        how = self.died({"emulator.log": "00000000000p[      ] >>PANIC<< no ROM image\n",
                         "emulator-terminal.log": "something else\n"})
        self.assertIn(">>PANIC<< no ROM image", how)
        self.assertNotIn("something else", how)

    def test_nothing_to_say(self):
        self.assertEqual(self.died({}), "the emulator exited (134)")


class BochsScreenTest(unittest.TestCase):
    """boot.drain_bochs_screen: Bochs' text display goes to a pty that
    Bochs names on its terminal; unread, it fills and Bochs blocks writing
    to it (the guest froze).  A pty stands in for Bochs' here."""

    def test_the_screen_is_read_and_nothing_echoes(self):
        import os
        import termios
        import threading
        import boot
        from types import SimpleNamespace
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)                 # as in Bochs: only the master is open
        with tempfile.TemporaryDirectory() as d:
            term, screen = Path(d) / "terminal.log", Path(d) / "screen.log"
            term.write_text(f'\r\nBochs connected to screen "{name}"\r\n')
            proc = SimpleNamespace(poll=lambda: None)
            drain = threading.Thread(target=boot.drain_bochs_screen, args=(term, screen, proc, 10),
                                     daemon=True)
            drain.start()
            for _ in range(100):        # until the reader has set raw mode
                if not termios.tcgetattr(master)[3] & termios.ECHO:
                    break
                drain.join(0.05)
            data = b"\x1b[H screen update\r\n" * 12000      # 264 KB, 20 KB froze Bochs

            def write():
                view = memoryview(data)
                while view:
                    view = view[os.write(master, view[:4096]):]
            writer = threading.Thread(target=write, daemon=True)
            writer.start()
            writer.join(20)
            self.assertFalse(writer.is_alive(), "the screen writes blocked: nothing reads the pty")
            os.set_blocking(master, False)
            with self.assertRaises(BlockingIOError):    # no echo back to Bochs' keyboard
                os.read(master, 100)
            for _ in range(200):
                if screen.stat().st_size >= len(data):
                    break
                drain.join(0.05)
            self.assertEqual(screen.read_bytes(), data)
            os.close(master)            # Bochs exits: the reader ends
            drain.join(10)
            self.assertFalse(drain.is_alive())


class DecodedFrameTest(unittest.TestCase):
    """report.first_frame: where scripts/decode_stacktrace.sh says a splat
    happened (recorded from the base kernel's headline crash)."""

    def test_recorded_base_headline(self):
        where = report.first_frame(DATA / "recorded-decoded-base-headline.txt")
        self.assertEqual(where, "kvm_spurious_fault (./include/linux/hash.h:68), called from "
                                "svm_prepare_switch_to_guest (arch/x86/kvm/svm/svm.c:1475)")

    def test_arm64_pc_line(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "decoded.txt"
            p.write_text("pc : kvm_vgic_init_cpu_hardware (arch/arm64/kvm/vgic/vgic-init.c:548)\n"
                         "Call trace:\n"
                         " kvm_vgic_init_cpu_hardware (arch/arm64/kvm/vgic/vgic-init.c:548)\n")
            self.assertEqual(report.first_frame(p),
                             "kvm_vgic_init_cpu_hardware (arch/arm64/kvm/vgic/vgic-init.c:548), "
                             "called from kvm_vgic_init_cpu_hardware (arch/arm64/kvm/vgic/vgic-init.c:548)")

    def test_riscv_epc_line(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "decoded.txt"
            p.write_text("epc : kvm_arch_hardware_enable (arch/riscv/kvm/main.c:47)\n"
                         " ra : kvm_online_cpu (virt/kvm/kvm_main.c:5120)\n"
                         "Call Trace:\n"
                         "[<ffffffff8000f0a4>] kvm_arch_hardware_enable (arch/riscv/kvm/main.c:47)\n")
            self.assertEqual(report.first_frame(p),
                             "kvm_arch_hardware_enable (arch/riscv/kvm/main.c:47), "
                             "called from kvm_arch_hardware_enable (arch/riscv/kvm/main.c:47)")

    def test_nothing_decoded(self):
        self.assertIsNone(report.first_frame(DATA / "no-such-file"))


if __name__ == "__main__":
    unittest.main()


class OfflineRejudgeTest(unittest.TestCase):
    """report.py boot DIR re-judges a recorded boot from its raw records:
    plant one fault in a clean recorded boot and the verdict changes."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.d = Path(tmp.name) / "series" / "main"
        self.d.mkdir(parents=True)
        self.console = read("recorded-series-main-clean.log")
        self.meta = {"kernel": "series", "boot": "main", "kunit": ["kvm-x86-cr4-compat"],
                     "expect_tests": {}}   # (recorded before init.sh printed its last result)

    def judge(self, console=None, tap=None, meta=None):
        (self.d / "console.log").write_text(console or self.console)
        if tap is not None:
            (self.d / "tap.txt").write_text(tap)
        (self.d / "meta.json").write_text(json.dumps(meta or self.meta))
        rc, out = run_main("boot", str(self.d))
        return rc, [l for l in out.splitlines() if l.startswith("not ok")]

    def plant(self, after, text):
        i = self.console.index(after) + len(after)
        return self.console[:i] + text + self.console[i:]

    def test_the_recorded_boot_passes(self):
        self.assertEqual(self.judge(), (0, []))

    def test_a_second_splat_after_the_expected_one(self):
        warn = ("[   20.000001] WARNING: CPU: 0 PID: 1 at virt/kvm/kvm_main.c:5000 kvm_init+0x1/0x2 [kvm]\n"
                "[   20.000002] ---[ end trace 0000000000000000 ]---\n")
        oops = ("[   20.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
                "[   20.100001] Oops: 0000 [#1] PREEMPT SMP\n")
        meta = dict(self.meta, expect_splats=[r"kvm_main\.c:\d+ kvm_init\+"])
        console = self.plant("wb: ok 4 - kvm-amd loads\n", warn)
        self.assertEqual(self.judge(console, meta=meta), (0, []))
        rc, bad = self.judge(self.plant("wb: ok 4 - kvm-amd loads\n", warn + oops), meta=meta)
        self.assertEqual(rc, 1)
        self.assertEqual(len(bad), 1)
        self.assertIn("main: every splat accounted for # oops at line", bad[0])
        self.assertIn("BUG: kernel NULL pointer dereference", bad[0])

    def test_a_tap_name_reported_twice(self):
        console = self.plant("wb: ok 4 - kvm-amd loads\n", "wb: not ok 40 - a guest runs # exit 1\n")
        rc, bad = self.judge(console)
        self.assertEqual(rc, 1)
        self.assertEqual([l.split(" - ", 1)[1] for l in bad],
                         ["a guest runs # reported 2 times: not ok 40, ok 5"])

    def test_one_number_twice(self):
        console = self.plant("wb: ok 4 - kvm-amd loads\n", "wb: ok 4 - something else\n")
        rc, bad = self.judge(console)
        self.assertEqual(rc, 1)
        self.assertIn("kvm-amd loads # test 4 reported twice: 'ok - kvm-amd loads', 'ok - something else'",
                      bad[0])

    def test_a_test_failing_one_run_in_three(self):
        """The guest retried an undeclared test: it fails; declared, it is flaky."""
        console = self.plant("wb: ok 4 - kvm-amd loads\n",
                             "wb: ok 50 - selftest x # flaky: passed on attempt 2 after 254: x.c:1\n")
        rc, bad = self.judge(console)
        self.assertEqual(rc, 1)
        self.assertIn("not declared flaky", bad[0])
        rc, out = 0, None
        meta = dict(self.meta, flaky={"selftest x": {"why": "w", "tries": 3}})
        self.assertEqual(self.judge(console, meta=meta), (0, []))

    def test_a_kunit_case_failing_in_a_later_run(self):
        console = self.console.replace("    ok 2 cr4_lacks_la57", "    not ok 2 cr4_lacks_la57", 2)
        console = console.replace("    not ok 2 cr4_lacks_la57", "    ok 2 cr4_lacks_la57", 1)
        rc, bad = self.judge(console)
        self.assertEqual(rc, 1)
        self.assertEqual([l.split(" - ", 1)[1] for l in bad],
                         ["kunit kvm-x86-cr4-compat: cr4_lacks_la57 # failed in 1 of 2 runs"])
