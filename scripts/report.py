#!/usr/bin/env python3
"""Turn test-kernel boot results into verdicts.

Input: results/<kernel>/<boot>/ with console.log, tap.txt and meta.json.

  report.py scan <console.log>          list splats; exit 1 if any
  report.py boot <bootdir>              judged results of one boot as TAP
  report.py summary <resultsdir> [--plan PLAN]
                                        tables for every boot (and every
                                        planned one), also written to
                                        <resultsdir>/summary.md
  report.py selftests-expect <tap.txt>  selftests expectations file on stdout

boot and summary exit 1 if any judged test failed.

Splat rule: a console line counts only if it looks like a kernel log line
whose message STARTS with a trigger.  Before matching, an optional "<N>"
loglevel, an optional "[   12.345678]" timestamp, an optional "[  T123]"
caller id and the single space after them are stripped; nothing else is
(no other leading whitespace, no "# " or "wb: " guest prefix).  So guest
script output that merely mentions "BUG:" is ignored as long as it does not
start a line with the trigger text; guest scripts must prefix their output
(e.g. "# " or "wb: "), also when writing to /dev/kmsg.
A block runs from its trigger line to the next "---[ end ..." line, to the
next trigger line, or for at most MAX_BLOCK_LINES lines.  An "Oops:" line
inside an open block is part of it (it follows "BUG: kernel NULL pointer
dereference" and friends).

Paths in meta.json ("selftests_expect") are relative to the workbench top.
"""

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
MAX_BLOCK_LINES = 80

# ---------------------------------------------------------------- console --

# "<4>", "[   12.345678]", "[  T123]" then one space; all optional.
PREFIX_RE = re.compile(r"(<\d+>)?(\[\s*\d+\.\d+\](\[\s*[TC]\d+\])? ?)?")

# (kind, regex matched at the start of the message); first match wins.
TRIGGERS = [
    ("lockdep", r"(WARNING|INFO): (possible circular locking dependency"
                r"|possible recursive locking|inconsistent lock state"
                r"|possible irq lock inversion dependency"
                r"|suspicious RCU usage)"),
    ("softlockup", r"watchdog: BUG: soft lockup"),
    ("rcu-stall", r"(rcu: )?INFO: rcu_\w+ (self-)?detected stall"),
    ("hung", r"INFO: task .* blocked for more than"),
    ("oops", r"BUG: (kernel NULL pointer dereference"
             r"|unable to handle page fault)"),
    ("bug", r"kernel BUG at "),
    ("bug", r"(BUG: )?sleeping function called from invalid context"),
    ("bug", r"BUG:"),
    ("warning", r"WARNING:"),
    ("oops", r"(Internal error: )?Oops(:| -)"),
    # die() of other traps, e.g. "int3: 0000 [#1] PREEMPT SMP"
    ("oops", r"[a-z][a-z0-9 ]*: [0-9a-f]{4} \[#\d+\]"),
    ("gpf", r"general protection fault"),
    ("panic", r"Kernel panic - "),
    ("msr", r"unchecked MSR access error"),
]
TRIGGERS = [(kind, re.compile(rx)) for kind, rx in TRIGGERS]

# Lockdep frames its reports: a line of "=" then "WARNING: ..." (or
# "INFO: ...", "[ BUG: ... ]").  KASAN frames "BUG: KASAN: ..." the same
# way; that one stays a plain "bug".
FRAME_RE = re.compile(r"={10,}\s*$")
FRAMED_LOCKDEP_RE = re.compile(r"(WARNING: |INFO: |\[ BUG: )")
OOPS_RE = re.compile(r"(Internal error: )?Oops(:| -)|[a-z][a-z0-9 ]*: [0-9a-f]{4} \[#\d+\]")
END_RE = re.compile(r"---\[ end ")


@dataclass
class Splat:
    kind: str
    lineno: int          # 1-based line of the trigger in console.log
    first: str           # trigger line, prefix stripped
    lines: list = field(default_factory=list)   # whole block, stripped

    @property
    def text(self):
        return "\n".join(self.lines)


def kernel_message(line):
    """The line without its loglevel/timestamp/caller-id prefix."""
    return line[PREFIX_RE.match(line).end():]


def trigger_kind(msg, prev_msg=""):
    """Kind of splat that msg starts, or None."""
    if FRAME_RE.match(prev_msg) and FRAMED_LOCKDEP_RE.match(msg):
        return "lockdep"
    for kind, rx in TRIGGERS:
        if rx.match(msg):
            return kind
    return None


def scan_console(text):
    """List of Splat blocks in a console log."""
    splats = []
    block = None
    prev = ""
    for lineno, line in enumerate(text.splitlines(), 1):
        msg = kernel_message(line)
        kind = trigger_kind(msg, prev)
        if kind and not (block and OOPS_RE.match(msg)):
            block = Splat(kind, lineno, msg, [msg])
            splats.append(block)
        elif block:
            block.lines.append(msg)
        if block and (END_RE.match(msg) or len(block.lines) >= MAX_BLOCK_LINES):
            block = None
        prev = msg
    return splats


# -------------------------------------------------------------------- TAP --

TAP_RE = re.compile(r"(not ok|ok)(?=\s|$)\s*(\d+)?\s*(?:- )?(.*)")
SKIP_RE = re.compile(r"skip\S*\s*(.*)", re.IGNORECASE)


@dataclass
class TapResult:
    name: str
    status: str          # "ok", "not ok" or "skip"
    reason: str = ""     # text after "# SKIP" (or any other directive)


def parse_tap(text):
    """TapResults in file order.  A last line without a newline was cut off
    (the guest died while writing it) and is ignored."""
    lines = text.split("\n")
    lines.pop()          # "" after a final newline, or the cut-off line
    results = []
    for line in lines:
        m = TAP_RE.fullmatch(line.rstrip())
        if not m:
            continue     # version, plan, comments, noise
        status, number, rest = m.groups()
        name, _, directive = rest.partition(" # ")
        name = name.strip() or f"test {number or len(results) + 1}"
        skip = SKIP_RE.match(directive.strip())
        if skip and status == "ok":
            results.append(TapResult(name, "skip", skip.group(1)))
        else:
            results.append(TapResult(name, status, directive.strip()))
    return results


# ---------------------------------------------------------------- judging --

@dataclass
class Verdict:
    test: str
    result: str          # "pass", "fail" or "skip"
    note: str = ""


def tap_verdict(tap):
    """A test nobody set an expectation for: its own TAP result counts."""
    result = {"ok": "pass", "not ok": "fail", "skip": "skip"}[tap.status]
    note = tap.reason or ("not ok (no expectation set)" if result == "fail" else "")
    return Verdict(tap.name, result, note)


def judge_expected(name, expect, tap):
    """A test listed in meta.json expect_tests; tap is None if missing."""
    if tap is None:
        if expect == "any":     # e.g. after an expected crash
            return Verdict(name, "pass", "did not report; any result accepted")
        return Verdict(name, "fail", "did not report")
    got = tap.status
    if expect == "pass":
        if got == "ok":
            return Verdict(name, "pass")
        if got == "skip":
            return Verdict(name, "fail", f"unexpected skip: {tap.reason}")
        return Verdict(name, "fail", "failed")
    if expect == "fail":
        if got == "not ok":
            return Verdict(name, "pass", "old failure reproduced")
        if got == "ok":
            return Verdict(name, "fail", "expected the old failure, but it passed")
        return Verdict(name, "fail", f"expected the old failure, but skipped: {tap.reason}")
    if expect == "skip":
        if got == "skip":
            return Verdict(name, "pass", f"skipped as expected: {tap.reason}")
        return Verdict(name, "fail", f"expected a skip, got {got}")
    if expect == "any":
        return Verdict(name, "pass", f"any result accepted: {got}")
    return Verdict(name, "fail", f"bad expectation {expect!r} in meta.json")


SELFTEST = "selftest "


def parse_selftests_expect(text):
    """{name: "pass"|"fail"|"skip"} from an expectations file."""
    expect = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or parts[1] not in ("pass", "fail", "skip"):
            raise ValueError(f"line {n}: expected '<name> pass|fail|skip': {line!r}")
        expect[parts[0]] = parts[1]
    return expect


def selftests_expect_text(results, source=""):
    """Expectations file text recording the selftest results of one boot."""
    out = [f"# selftests results of the base kernel{' from ' + source if source else ''}",
           "# <name> pass|fail|skip"]
    word = {"ok": "pass", "not ok": "fail", "skip": "skip"}
    for r in results:
        if r.name.startswith(SELFTEST):
            out.append(f"{r.name[len(SELFTEST):]} {word[r.status]}")
    return "\n".join(out) + "\n"


def judge_selftest(name, base, tap):
    """A `selftest <name>` result against the base kernel's result."""
    if tap is None:
        return Verdict(name, "fail", f"did not report (base: {base})")
    if base == "pass":
        if tap.status == "ok":
            return Verdict(name, "pass", tap.reason)   # e.g. "flaky: ..."
        if tap.status == "skip":
            return Verdict(name, "fail", f"regression: passed on base, now skipped: {tap.reason}")
        return Verdict(name, "fail", "regression: passed on base")
    return Verdict(name, "pass", f"base: {base}, now: {tap.status}")


def judge_tests(results, expect_tests, selftests_expect=None):
    """Verdicts for one boot's TAP results: in TAP order, then the expected
    tests that never reported."""
    verdicts = []
    seen = {r.name: r for r in results}
    selftests_expect = selftests_expect or {}
    for r in seen.values():
        short = r.name[len(SELFTEST):] if r.name.startswith(SELFTEST) else None
        if r.name in expect_tests:
            verdicts.append(judge_expected(r.name, expect_tests[r.name], r))
        elif short is not None and short in selftests_expect:
            verdicts.append(judge_selftest(r.name, selftests_expect[short], r))
        else:
            verdicts.append(tap_verdict(r))
    for name, expect in expect_tests.items():
        if name not in seen:
            verdicts.append(judge_expected(name, expect, None))
    for short, base in selftests_expect.items():
        name = SELFTEST + short
        if name not in seen and name not in expect_tests:
            verdicts.append(judge_selftest(name, base, None))
    return verdicts


def judge_splats(boot, splats, expect_splat):
    """The boot's splat verdict (see expect_splat in meta.json)."""
    if expect_splat is None:
        name = f"{boot}: no splat on console"
        if not splats:
            return Verdict(name, "pass")
        s = splats[0]
        more = f" (+{len(splats) - 1} more)" if len(splats) > 1 else ""
        return Verdict(name, "fail", f"{s.kind} at line {s.lineno}: {s.first}{more}")
    name = f"{boot}: expected splat seen"
    try:
        rx = re.compile(expect_splat, re.MULTILINE)
    except re.error as e:
        return Verdict(name, "fail", f"bad expect_splat regex: {e}")
    for s in splats:
        if rx.search(s.text):
            return Verdict(name, "pass", f"{s.kind} at line {s.lineno}: {s.first}")
    return Verdict(name, "fail", f"no splat matches /{expect_splat}/ ({len(splats)} splats)")


def judge_ran(boot, bootdir):
    """Whether the boot ran, from the runner's status.json (None for results
    without one: a host-side check, a recorded log)."""
    try:
        st = json.loads(read_text(bootdir / "status.json"))
    except OSError:
        return None
    except ValueError as e:
        return Verdict(f"{boot}: the guest ran", "fail", f"status.json unreadable: {e}")
    name = f"{boot}: the guest ran"
    if st.get("state") == "error":
        return Verdict(name, "fail", f"the {st.get('lane', '?')} lane could not run it: {st.get('why')}")
    if st.get("state") != "done":
        return Verdict(name, "fail", "the runner stopped before the boot ended")
    if not st.get("started"):
        return Verdict(name, "fail", f"the guest never came up ({st.get('how')})")
    return Verdict(name, "pass", st.get("how", ""))


# scripts/decode_stacktrace.sh prints a frame as "func (file:line ...) [module]",
# the innermost of inlined locations first; the faulting frame on the
# "RIP: 0010:" (x86) or "pc :" (arm64) line
DECODED_PC_RE = re.compile(r"^(?:RIP: [0-9a-f]+:|pc : )([\w.]+) \((\S+:\d+)")
DECODED_FRAME_RE = re.compile(r"^\s*([\w.]+) \((\S+:\d+)")


def first_frame(path):
    """"func (file:line)" of the faulting frame and of the first frame of the
    call trace in decode_stacktrace.sh's output, or None."""
    try:
        lines = read_text(path).splitlines()
    except OSError:
        return None
    where, in_trace = [], False
    for line in lines:
        m = DECODED_PC_RE.match(line)
        if m and not where:
            where.append(f"{m.group(1)} ({m.group(2)})")
        if re.match(r"\s*Call [Tt]race:", line):
            in_trace = True
            continue
        m = DECODED_FRAME_RE.match(line)
        if in_trace and m:
            where.append(f"called from {m.group(1)} ({m.group(2)})")
            break
    return ", ".join(where) or None


def read_text(path):
    return Path(path).read_text(encoding="utf-8", errors="replace")


def judge_boot(bootdir, top=TOP):
    """(boot name, verdicts) for results/<kernel>/<boot>/."""
    bootdir = Path(bootdir)
    try:
        meta = json.loads(read_text(bootdir / "meta.json"))
    except (OSError, ValueError) as e:
        return bootdir.name, [Verdict(f"{bootdir.name}: meta.json", "fail", f"unreadable: {e}")]
    boot = meta.get("boot") or bootdir.name
    verdicts = []

    selftests_expect = None
    if meta.get("selftests_expect"):
        path = top / meta["selftests_expect"]
        try:
            selftests_expect = parse_selftests_expect(read_text(path))
        except (OSError, ValueError) as e:
            verdicts.append(Verdict(f"{boot}: selftests expectations", "fail",
                                    f"{meta['selftests_expect']}: {e}"))

    tap_path = bootdir / "tap.txt"
    results = parse_tap(read_text(tap_path)) if tap_path.exists() else []
    tests = judge_tests(results, meta.get("expect_tests") or {}, selftests_expect)
    if not tap_path.exists():
        for v in tests:
            if v.note.startswith("did not report"):
                v.note += " (no tap.txt)"
    verdicts += tests

    ran = judge_ran(boot, bootdir)
    if ran:
        verdicts.append(ran)
    console = bootdir / "console.log"
    if meta.get("console") is False:
        pass                    # a host-side check, no kernel console
    elif console.exists():
        v = judge_splats(boot, scan_console(read_text(console)), meta.get("expect_splat"))
        where = first_frame(bootdir / "splats-decoded.txt")
        if where and v.note:
            v.note += f" [decoded: {where}]"
        verdicts.append(v)
    else:
        verdicts.append(Verdict(f"{boot}: console.log", "fail", "missing"))
    return boot, verdicts


# ----------------------------------------------------------------- output --

def counts(verdicts):
    return {r: sum(v.result == r for v in verdicts) for r in ("pass", "fail", "skip")}


def counts_line(c):
    line = f"{c['pass']} passed, {c['fail']} failed"
    return line + (f", {c['skip']} skipped" if c["skip"] else "")


def boot_tap(verdicts):
    out = ["TAP version 13", f"1..{len(verdicts)}"]
    for n, v in enumerate(verdicts, 1):
        status = "not ok" if v.result == "fail" else "ok"
        note = ("SKIP " + v.note) if v.result == "skip" else v.note
        out.append(f"{status} {n} - {v.test}" + (f" # {note}" if note else ""))
    return "\n".join(out)


def judge_missing(item, stages):
    """The verdict for a planned item with no results directory."""
    name = f"{item['boot']}: ran"
    stage = item.get("stage")
    st = stages.get(stage)
    if st and st != "ok":
        return Verdict(name, "fail", f"never ran: stage '{stage}' {st}")
    return Verdict(name, "fail", f"never ran: no results (stage '{stage}' "
                   f"{'finished without running it' if st else 'never finished'})")


def read_stages(resultsdir):
    """{stage: "ok" | "failed (exit N)" | "skipped: ..."} from stages.tsv."""
    stages = {}
    path = Path(resultsdir) / "stages.tsv"
    if path.exists():
        for line in read_text(path).splitlines():
            name, _, status = line.partition("\t")
            stages[name] = status
    return stages


def summary(resultsdir, top=TOP, plan=None):
    """(text, all verdicts) for every results/<kernel>/<boot>/ and, with a
    plan (a list of {"kernel", "boot", "stage"}), every planned item: one
    without results fails, naming why."""
    resultsdir = Path(resultsdir)
    stages = read_stages(resultsdir)
    items = {}
    for it in plan or []:
        items.setdefault(it["kernel"], {})[it["boot"]] = it
    for kdir in resultsdir.iterdir():
        if kdir.is_dir() and not kdir.name.startswith("."):
            for bdir in kdir.iterdir():
                if bdir.is_dir() and not bdir.name.startswith("."):
                    items.setdefault(kdir.name, {}).setdefault(bdir.name, None)
    out, totals, everything, failed = [], [], [], []
    for kernel in sorted(items):
        out += [f"## {kernel}", "", "| boot | test | result | note |", "|---|---|---|---|"]
        kernel_verdicts = []
        for bname in sorted(items[kernel]):
            bdir = resultsdir / kernel / bname
            if bdir.is_dir():
                boot, verdicts = judge_boot(bdir, top)
            else:
                boot, verdicts = bname, [judge_missing(items[kernel][bname], stages)]
            for v in verdicts:
                cells = [boot, v.test, v.result.upper(), v.note]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
                if v.result == "fail":
                    failed.append(f"FAIL {kernel}/{boot}: {v.test}" + (f" ({v.note})" if v.note else ""))
            kernel_verdicts += verdicts
        out.append("")
        totals.append(f"{kernel}: {counts_line(counts(kernel_verdicts))}")
        everything += kernel_verdicts
    # the failures again, next to the counts: a log's tail names them
    if failed:
        out += [f"{len(failed)} failed:"] + failed + [""]
    out += totals + [counts_line(counts(everything))]
    return "\n".join(out) + "\n", everything


# -------------------------------------------------------------------- CLI --

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("scan", help="list splats in a console log").add_argument("console")
    sub.add_parser("boot", help="judge one boot, print TAP").add_argument("bootdir")
    p = sub.add_parser("summary", help="judge all boots, write summary.md")
    p.add_argument("resultsdir")
    p.add_argument("--plan", help="the run's plan (scenarios.py plan): a planned item"
                   " without results fails")
    sub.add_parser("selftests-expect", help="expectations from a base tap.txt").add_argument("tap")
    args = ap.parse_args(argv)

    if args.cmd == "scan":
        splats = scan_console(read_text(args.console))
        for s in splats:
            print(f"{s.kind:<10} line {s.lineno:<6} {s.first}")
        return 1 if splats else 0
    if args.cmd == "boot":
        boot, verdicts = judge_boot(args.bootdir)
        print(boot_tap(verdicts))
        return 1 if counts(verdicts)["fail"] else 0
    if args.cmd == "summary":
        if not Path(args.resultsdir).is_dir():
            ap.error(f"{args.resultsdir}: not a directory")
        plan = json.loads(read_text(args.plan)) if args.plan else None
        text, verdicts = summary(args.resultsdir, plan=plan)
        (Path(args.resultsdir) / "summary.md").write_text(text)
        print(text, end="")
        return 1 if counts(verdicts)["fail"] else 0
    if args.cmd == "selftests-expect":
        results = parse_tap(read_text(args.tap))
        print(selftests_expect_text(results, args.tap), end="")
        if not any(r.name.startswith(SELFTEST) for r in results):
            print(f"{args.tap}: no '{SELFTEST}<name>' results", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
