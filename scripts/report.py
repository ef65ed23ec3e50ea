#!/usr/bin/env python3
"""Turn test-kernel boot results into verdicts.

Input: results/<kernel>/<boot>/ with console.log, tap.txt and meta.json.

  report.py scan <console.log>          list splats; exit 1 if any
  report.py boot <bootdir>              judged results of one boot as TAP
  report.py summary <resultsdir> [--plan PLAN]
                                        tables for every boot (and every
                                        planned one), then one table of
                                        scenario x kernel (pass, xfail,
                                        fail, -), also written to
                                        <resultsdir>/summary.md
  report.py selftests-expect <boot dir>  selftests expectations file on stdout

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
    # riscv and arm64 name a kernel page fault first ("Unable to handle
    # kernel paging request at virtual address ..."), then die(): arm64
    # "Internal error: Oops: ...", riscv "Oops [#1]" or "Oops - TRAP [#1]"
    ("oops", r"Unable to handle kernel "),
    ("oops", r"(Internal error: )?Oops(:| -| \[#\d+\])"),
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
OOPS_RE = re.compile(r"(Internal error: )?Oops(:| -| \[#\d+\])|[a-z][a-z0-9 ]*: [0-9a-f]{4} \[#\d+\]")
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
    number: int = None   # the test point's number, if it had one


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
        number = int(number) if number else None
        skip = SKIP_RE.match(directive.strip())
        if skip and status == "ok":
            results.append(TapResult(name, "skip", skip.group(1), number))
        else:
            results.append(TapResult(name, status, directive.strip(), number))
    return results


# A guest's result on the console: "wb: ok 3 - name # note"; a kernel
# message may have been printed into the line's end
CONSOLE_TAP_RE = re.compile(r"wb: ((?:not )?ok \d+ - .*)")
KMSG_TAIL_RE = re.compile(r"\[\s*\d+\.\d+\].*$")


def console_tap(console_text):
    """The guest's TAP results printed on the console, in order."""
    lines = []
    for line in console_text.splitlines():
        m = CONSOLE_TAP_RE.fullmatch(line.rstrip("\r"))
        if m:
            lines.append(KMSG_TAIL_RE.sub("", m.group(1)).rstrip())
    return parse_tap("\n".join(lines) + "\n")


def guest_results(tap_text, console_text):
    """(results, problems): the guest's TAP from the two raw records, tap.txt
    (written by the guest on the qemu-x86 lane's results share) and the
    console (every lane; after a suspend the only one), merged by test
    number.  A number both give must agree (the console's name may be cut
    short by a kernel message printed into its line); a name reported under
    two numbers is a problem of its own: {name: note}."""
    merged, problems, order, source = {}, {}, [], {}
    for where, rs in (("tap.txt", parse_tap(tap_text or "")), ("the console", console_tap(console_text or ""))):
        mine = set()
        for r in rs:
            key = r.number if r.number is not None else f"{where} line {len(order)}"
            have = merged.get(key)
            if have is None:
                merged[key], source[key] = r, where
                order.append(key)
            elif key in mine:       # one record gives one number twice
                problems.setdefault(have.name, f"test {key} reported twice: '{have.status} - "
                                    f"{have.name}', '{r.status} - {r.name}'")
            elif have.status != r.status or not have.name.startswith(r.name):
                problems.setdefault(have.name, f"test {key}: {source[key]} says '{have.status} - "
                                    f"{have.name}', {where} '{r.status} - {r.name}'")
            mine.add(key)
    results = [merged[k] for k in order]
    numbers = {}
    for r in results:
        numbers.setdefault(r.name, []).append(r)
    for name, rs in numbers.items():
        if len(rs) > 1:
            problems.setdefault(name, f"reported {len(rs)} times: " + ", ".join(
                f"{r.status} {r.number}" for r in rs))
    return results, problems


# ------------------------------------------------------------------ KUnit --

KTAP_RESULT_RE = re.compile(r"(not ok|ok) (\d+) ([^#]*?)\s*(?:# (.*))?$")


@dataclass
class KunitRun:
    """One run of a KUnit suite on the console (kvm.ko runs its suites at
    each load): its plan, its cases in order, and whether it ended."""
    line: int                      # console line of "# Subtest: SUITE"
    planned: int = None
    cases: list = field(default_factory=list)   # TapResults
    ended: str = None              # the suite's own result: "ok" / "not ok"


def kunit_runs(console_text, suite):
    """Every run of SUITE on the console.  A run's cases are the result
    lines at the indentation of its "# Subtest:" line (deeper ones belong to
    parameterised cases); it ends at the suite's own result line, less
    indented.  A run that never ends is cut short (ended None)."""
    runs, run, indent = [], None, None
    for lineno, line in enumerate(console_text.splitlines(), 1):
        msg = kernel_message(line.rstrip("\r"))
        body = msg.lstrip(" ")
        depth = len(msg) - len(body)
        if body == f"# Subtest: {suite}":
            run, indent = KunitRun(lineno), depth
            runs.append(run)
            continue
        if run is None:
            continue
        m = KTAP_RESULT_RE.fullmatch(body)
        if depth == indent and re.fullmatch(r"1\.\.\d+", body):
            run.planned = int(body[3:])
        elif m and depth == indent:
            status, number, name, directive = m.groups()
            directive = directive or ""
            if status == "ok" and directive.upper().startswith("SKIP"):
                status, directive = "skip", directive[4:].strip()
            run.cases.append(TapResult(name, status, directive, int(number)))
        elif m and depth < indent and m.group(3) == suite:
            run.ended = m.group(1)
            run = None
    return runs


def judge_kunit(suite, console_text):
    """One verdict for the suite (every run complete: as many cases as
    planned, none twice, its own result given) and one per case, "kunit
    SUITE: CASE", over every run."""
    runs = kunit_runs(console_text, suite)
    name = f"kunit {suite}"
    if not runs:
        return [Verdict(name, "fail", "the suite never started on the console")]
    bad = []
    for n, run in enumerate(runs, 1):
        names = [c.name for c in run.cases]
        twice = sorted({c for c in names if names.count(c) > 1})
        if run.ended is None:
            bad.append(f"run {n} (console line {run.line}) cut short after {len(run.cases)} cases")
        if run.planned is None:
            bad.append(f"run {n} has no plan line")
        elif run.planned != len(run.cases):
            bad.append(f"run {n} planned {run.planned} cases, reported {len(run.cases)}")
        if twice:
            bad.append(f"run {n} reports {', '.join(twice)} twice")
        if run.ended == "not ok" and all(c.status != "not ok" for c in run.cases):
            bad.append(f"run {n}: the suite failed with no failing case")
    cases = {}
    for run in runs:
        for c in run.cases:
            cases.setdefault(c.name, []).append(c)
    total = sum(len(r.cases) for r in runs)
    verdicts = [Verdict(name, "fail" if bad else "pass", "; ".join(bad) if bad else
                        f"{len(runs)} run(s), {len(cases)} cases, {total} results")]
    for case, results in cases.items():
        failed = [r for r in results if r.status == "not ok"]
        cname = f"{name}: {case}"
        if failed:
            verdicts.append(Verdict(cname, "fail", f"failed in {len(failed)} of {len(results)} runs"
                                    + (f": {failed[0].reason}" if failed[0].reason else "")))
        elif all(r.status == "skip" for r in results):
            verdicts.append(Verdict(cname, "skip", results[0].reason))
        else:
            verdicts.append(Verdict(cname, "pass", f"{len(results)} run(s)"))
    return verdicts


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


def judge_flaky(name, tap, flaky):
    """A result the guest got only on a retry ("# flaky: ..."): counted as
    flaky if the test is declared flaky (config/flaky.toml), else a failure."""
    if name in flaky:
        return Verdict(name, "flaky", f"{tap.reason} (declared: {flaky[name].get('why', '')})")
    return Verdict(name, "fail", f"passed only on a retry, and is not declared flaky "
                   f"(config/flaky.toml): {tap.reason}")


def judge_tests(results, expect_tests, selftests_expect=None, problems=None,
                planned=None, flaky=None, excused=None):
    """Verdicts for one boot's TAP results: in TAP order, then the expected
    tests that never reported.  problems: {name: note} of results reported
    twice or inconsistently (each fails); planned: every name the boot may
    report (None: not checked), a result outside it fails; flaky: {name:
    declaration}; excused: a note when a tolerated known failure was seen,
    after which a missing or failed result is not judged."""
    verdicts = []
    problems = problems or {}
    flaky = flaky or {}
    selftests_expect = selftests_expect or {}
    seen = {}
    for r in results:
        seen.setdefault(r.name, r)
    for r in seen.values():
        short = r.name[len(SELFTEST):] if r.name.startswith(SELFTEST) else None
        if r.name in problems:
            verdicts.append(Verdict(r.name, "fail", problems[r.name]))
            continue
        if r.status == "ok" and r.reason.startswith("flaky:"):
            verdicts.append(judge_flaky(r.name, r, flaky))
            continue
        known = r.name in expect_tests or (short is not None and short in selftests_expect) \
            or planned is None or r.name in planned
        if not known:
            verdicts.append(Verdict(r.name, "fail", f"reported, but not in the plan: {r.status}"
                                    + (f" # {r.reason}" if r.reason else "")))
            continue
        if r.name in expect_tests:
            v = judge_expected(r.name, expect_tests[r.name], r)
        elif short is not None and short in selftests_expect:
            v = judge_selftest(r.name, selftests_expect[short], r)
        else:
            v = tap_verdict(r)
        if v.result == "fail" and excused:
            v = Verdict(r.name, "pass", f"{excused}; was: {v.note}")
        verdicts.append(v)
    missing = [(n, e) for n, e in expect_tests.items() if n not in seen]
    missing += [(n, "pass") for n in (planned or ()) if n not in seen and n not in expect_tests]
    for name, expect in missing:
        v = judge_expected(name, expect, None)
        if v.result == "fail" and excused:
            v = Verdict(name, "pass", f"{excused}; did not report")
        verdicts.append(v)
    for short, base in selftests_expect.items():
        name = SELFTEST + short
        if name not in seen and name not in expect_tests:
            v = judge_selftest(name, base, None)
            if v.result == "fail" and excused:
                v = Verdict(name, "pass", f"{excused}; did not report")
            verdicts.append(v)
    return verdicts


def _compile(rx, what):
    try:
        return re.compile(rx, re.MULTILINE), None
    except re.error as e:
        return None, f"bad {what} regex /{rx}/: {e}"


def splat_name(s):
    return f"{s.kind} at line {s.lineno}: {s.first}"


def judge_splats(boot, splats, expected=(), allowed=(), known=()):
    """Verdicts for the boot's splats.  Every splat must be accounted for:
    matched by an expected splat (each of which must be seen), by an
    allowed one (what may follow an expected one, seen or not), or by a
    known failure tolerated on this kernel (a base kernel's intermittent
    bug: seen or not, the run stays green; a splat after it is part of its
    fallout).  Anything else fails "every splat accounted for", naming
    it.  A known failure declared for another kernel (the fix's) is named
    when it shows here.  known: [{"name", "match", "fixed_by", "tolerated"}]."""
    verdicts, rxs, errors = [], [], []
    for what, items in (("expected", expected), ("allowed", allowed)):
        for rx in items:
            c, err = _compile(rx, f"{what} splat")
            errors += [err] if err else []
            rxs.append((what, rx, c))
    kn = []
    for k in known:
        c, err = _compile(k["match"], f"known failure {k.get('name')}")
        errors += [err] if err else []
        kn.append((k, c))
    if errors:
        return [Verdict(f"{boot}: splat expectations", "fail", "; ".join(errors))]
    covered = {}                     # splat index -> what covers it
    seen_known = {}
    for i, sp in enumerate(splats):
        for what, rx, c in rxs:
            if c.search(sp.text):
                covered.setdefault(i, f"{what} /{rx}/")
        for k, c in kn:
            if c.search(sp.text):
                seen_known.setdefault(k["name"], (i, sp))
                if k.get("tolerated"):
                    covered.setdefault(i, f"known failure {k['name']}")
    # after a tolerated known failure, the dying kernel's further splats are its fallout
    first_known = min((i for name, (i, _) in seen_known.items()
                       if any(k["name"] == name and k.get("tolerated") for k, _ in kn)), default=None)
    if first_known is not None:
        for i in range(first_known + 1, len(splats)):
            covered.setdefault(i, "fallout of a known failure")
    for what, rx, c in rxs:
        if what != "expected":
            continue
        hits = [sp for sp in splats if c.search(sp.text)]
        name = f"{boot}: expected splat /{rx}/ seen"
        if hits:
            verdicts.append(Verdict(name, "pass", splat_name(hits[0])
                                    + (f" (+{len(hits) - 1} more)" if len(hits) > 1 else "")))
        else:
            verdicts.append(Verdict(name, "fail", f"no splat matches ({len(splats)} splats)"))
    for k, c in kn:
        name = f"{boot}: known failure {k['name']}"
        hit = seen_known.get(k["name"])
        fixed = f"fixed by {k['fixed_by']}" if k.get("fixed_by") else ""
        if k.get("tolerated"):
            verdicts.append(Verdict(name, "pass", (f"known failure seen: {splat_name(hit[1])}"
                                                   if hit else "not seen this run")
                                    + (f" ({fixed})" if fixed else "")))
        elif hit:
            verdicts.append(Verdict(name, "fail", f"the known {k.get('kernels', 'base')} failure "
                                    f"shows here: {splat_name(hit[1])}" + (f" ({fixed})" if fixed else "")))
    stray = [sp for i, sp in enumerate(splats) if i not in covered]
    name = f"{boot}: every splat accounted for"
    if not stray:
        note = f"{len(splats)} splat(s), each expected" if splats else "no splat"
        verdicts.append(Verdict(name, "pass", note))
    else:
        verdicts.append(Verdict(name, "fail", "; ".join(splat_name(sp) for sp in stray[:3])
                                + (f" (+{len(stray) - 3} more)" if len(stray) > 3 else "")))
    return verdicts


def judge_console(boot, text, must):
    """Console lines a boot must show (a regex each)."""
    verdicts = []
    for rx in must:
        c, err = _compile(rx, "console")
        name = f"{boot}: console shows /{rx}/"
        if err:
            verdicts.append(Verdict(name, "fail", err))
        elif c.search(text):
            verdicts.append(Verdict(name, "pass"))
        else:
            verdicts.append(Verdict(name, "fail", "not on the console"))
    return verdicts


def console_tail(bootdir, n=3):
    """The console's last lines before the runner's own, for a boot that
    never came up: where the kernel stopped (a CI log has no console)."""
    try:
        lines = [l.strip() for l in read_text(bootdir / "console.log").splitlines()
                 if l.strip() and not l.startswith("# wb-host")]
    except OSError:
        return ""
    return "; the console ends: " + (" | ".join(lines[-n:])[-400:] if lines else "(empty)")


def hung_before_up(status):
    """A boot the runner killed at its timeout before the guest said it was
    up: the only kind a declared boot retry runs again (an emulator that
    exited, a lane that could not run, a guest that came up: never)."""
    return (status.get("state") == "done" and not status.get("started")
            and str(status.get("how", "")).startswith("killed after"))


def judge_tries(boot, bootdir, ran, declared):
    """The earlier tries of a boot (<boot>/tries/N/, scenarios.run_one),
    from their own records: each must have hung before the guest came up,
    with no splat on its console, and the retry must be declared
    (config/flaky.toml [boot."never came up"]).  Then a boot that ran on a
    later try is flaky, not passed.  Returns the verdicts, ran changed."""
    tdir = bootdir / "tries"
    tries = sorted(tdir.iterdir(), key=lambda d: d.name) if tdir.is_dir() else []
    if not tries:
        return [ran] if ran else []
    out, notes = [], []
    for t in tries:
        try:
            st = json.loads(read_text(t / "status.json"))
        except (OSError, ValueError) as e:
            st = {"how": f"status.json unreadable: {e}"}
        if not hung_before_up(st):
            out.append(Verdict(f"{boot}: try {t.name}", "fail",
                               f"a try was run again that did not hang before coming up ({st.get('how')})"))
        text = read_text(t / "console.log") if (t / "console.log").exists() else ""
        for sp in scan_console(text):
            out.append(Verdict(f"{boot}: try {t.name}", "fail",
                               f"a splat in a try that never came up: {sp.first}"))
        notes.append(f"try {t.name} never came up ({st.get('how')}){console_tail(t)}")
    if not declared or len(tries) >= declared.get("tries", 1):
        why = "no boot retry is declared" if not declared else f"more than the {declared.get('tries', 1)} tries declared"
        out.append(Verdict(f"{boot}: the guest ran", "fail",
                           f"run again after a hang {len(tries)} time(s), {why} "
                           f"(config/flaky.toml [boot.\"never came up\"]): " + "; ".join(notes)))
    elif ran and ran.result == "pass":
        out.append(Verdict(ran.test, "flaky", f"came up on try {len(tries) + 1}: " + "; ".join(notes)
                           + f" (declared: {declared.get('why', '')})"))
    elif ran:
        ran.note += " [earlier: " + "; ".join(notes) + "]"
        out.append(ran)
    return out


def judge_ran(boot, bootdir, emulator_exit=False):
    """Whether the boot ran, from the runner's status.json (None for results
    without one: a host-side check, a recorded log); with emulator_exit,
    the emulator must have ended by itself (a reboot ends QEMU)."""
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
        return Verdict(name, "fail", f"the guest never came up ({st.get('how')}){console_tail(bootdir)}")
    if emulator_exit and not str(st.get("how", "")).startswith("the emulator exited"):
        return Verdict(name, "fail", f"the emulator did not exit by itself: {st.get('how')}")
    return Verdict(name, "pass", st.get("how", ""))


# scripts/decode_stacktrace.sh prints a frame as "func (file:line ...) [module]",
# the innermost of inlined locations first; the faulting frame on the
# "RIP: 0010:" (x86) or "pc :" (arm64) line
# the faulting frame: x86 "RIP: 0010:", arm64 "pc : ", riscv "epc : "; a call
# trace's frame, riscv's after its address ("[<ffffffff8000f0a4>] ")
DECODED_PC_RE = re.compile(r"^(?:RIP: [0-9a-f]+:|pc : |epc : )([\w.]+) \((\S+:\d+)")
DECODED_FRAME_RE = re.compile(r"^\s*(?:\[<[0-9a-f]+>\] )?([\w.]+) \((\S+:\d+)")


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


LOAD_TEST_RE = re.compile(r"(kvm and kvm-\w+ load|kvm\.ko loads|kvm-\w+ loads)")


def judge_variant(boot, verdicts, must_fail):
    """A deliberately broken variant's boot: it passes when, for each regex,
    some failing check ("test (note)") matches it, and its modules loaded
    (a variant that does not even load shows nothing)."""
    bad = [v for v in verdicts if v.result == "fail"]
    text = [f"{v.test} ({v.note})" for v in bad]
    out = []
    unloaded = [v for v in bad if LOAD_TEST_RE.fullmatch(v.test)]
    out.append(Verdict(f"{boot}: the variant's modules load", "fail" if unloaded else "pass",
                       f"{unloaded[0].test}: {unloaded[0].note}" if unloaded else ""))
    for rx in must_fail:
        c, err = _compile(rx, "must_fail")
        name = f"{boot}: the variant fails /{rx}/"
        if err:
            out.append(Verdict(name, "fail", err))
            continue
        hits = [t for t in text if c.search(t)]
        out.append(Verdict(name, "pass" if hits else "fail",
                           hits[0] if hits else f"nothing matching failed ({len(bad)} checks "
                           f"failed: {'; '.join(text[:3])}): the check does not guard this"))
    return out


def judge_boot(bootdir, top=TOP):
    """(boot name, verdicts) for results/<kernel>/<boot>/, from its raw
    records only: the guest's TAP (tap.txt and the console), the console
    (splats, KUnit), status.json (how the runner ended the boot) and
    meta.json (what the registry expects)."""
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

    console = bootdir / "console.log"
    has_console = meta.get("console") is not False
    text = read_text(console) if console.exists() else ""
    splats = scan_console(text) if has_console else []
    known = meta.get("known_failures") or []
    splat_verdicts = judge_splats(boot, splats, meta.get("expect_splats") or (),
                                  meta.get("allowed_splats") or (), known) if has_console else []
    excused = next((v.note.split(":")[0] + f" ({v.test.split(': ', 1)[1]})" for v in splat_verdicts
                    if v.result == "pass" and v.note.startswith("known failure seen")), None)

    tap_path = bootdir / "tap.txt"
    tap_text = read_text(tap_path) if tap_path.exists() else ""
    results, problems = guest_results(tap_text, text if has_console else "")
    tests = judge_tests(results, meta.get("expect_tests") or {}, selftests_expect, problems,
                        meta.get("planned_tests"), meta.get("flaky") or {}, excused)
    if not tap_path.exists() and not results:
        for v in tests:
            if v.note.startswith("did not report"):
                v.note += " (no tap.txt)"
    verdicts += tests
    if has_console:
        for suite in meta.get("kunit") or ():
            verdicts += judge_kunit(suite, text)

    ran = judge_ran(boot, bootdir, meta.get("emulator_exit"))
    verdicts += judge_tries(boot, bootdir, ran, meta.get("boot_retry"))
    if not has_console:
        pass                    # a host-side check, no kernel console
    elif console.exists():
        where = first_frame(bootdir / "splats-decoded.txt")
        for v in splat_verdicts:
            if where and v.result == "fail":
                v.note += f" [decoded: {where}]"
        verdicts += splat_verdicts
        verdicts += judge_console(boot, text, meta.get("console_must") or ())
    else:
        verdicts.append(Verdict(f"{boot}: console.log", "fail", "missing"))
    if meta.get("must_fail"):
        verdicts = judge_variant(boot, verdicts, meta["must_fail"])
    return boot, verdicts


# ----------------------------------------------------------------- output --

def counts(verdicts):
    return {r: sum(v.result == r for v in verdicts) for r in ("pass", "fail", "skip", "flaky")}


def counts_line(c):
    line = f"{c['pass']} passed, {c['fail']} failed"
    return line + (f", {c['skip']} skipped" if c["skip"] else "")


def boot_tap(verdicts):
    out = ["TAP version 13", f"1..{len(verdicts)}"]
    for n, v in enumerate(verdicts, 1):
        status = "not ok" if v.result == "fail" else "ok"
        note = {"skip": "SKIP ", "flaky": "flaky: "}.get(v.result, "") + v.note
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


# The columns of the summary's last table: the kernels, as scripts/scenarios.py
# names them (results/<kernel>/...), with their titles
KERNEL_COLUMNS = (("base", "6.1 base"), ("series", "6.1 series"),
                  ("6.12-base", "6.12 base"), ("6.12-series", "6.12 series"))


def kernel_order(kernels):
    """Kernel names in the order of KERNEL_COLUMNS, any others after them."""
    known = [k for k, _ in KERNEL_COLUMNS]
    return sorted(kernels, key=lambda k: (known.index(k) if k in known else len(known), k))


def boot_outcome(verdicts):
    """One word for a boot: "fail" if any check failed; "xfail" if it passed
    with the failure it expects seen (a test expected to fail failed, an
    expected splat or a tolerated known failure showed); else "pass"."""
    if any(v.result == "fail" for v in verdicts):
        return "fail"
    if any(v.result == "pass" and (v.note == "old failure reproduced"
                                   or (": expected splat /" in v.test)
                                   or v.note.startswith("known failure seen"))
           for v in verdicts):
        return "xfail"
    return "pass"


def outcome_table(outcomes):
    """The scenario x kernel table from {(kernel, boot): outcome}: a column
    per kernel of KERNEL_COLUMNS, "-" where the boot did not run there; no
    table if none of those kernels ran anything."""
    boots = sorted({b for (k, b) in outcomes if k in dict(KERNEL_COLUMNS)})
    if not boots:
        return []
    out = ["## scenario x kernel", "",
           "pass: every check passed; xfail: passed, with the old failure it expects seen (a test "
           "expected to fail failed, an expected splat or a known failure showed); fail: a check "
           "failed or it never ran; -: not run.", "",
           "| scenario | " + " | ".join(t for _, t in KERNEL_COLUMNS) + " |",
           "|---|" + "---|" * len(KERNEL_COLUMNS)]
    for b in boots:
        out.append(f"| {b} | " + " | ".join(outcomes.get((k, b), "-") for k, _ in KERNEL_COLUMNS) + " |")
    return out + [""]


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
    out, totals, everything, failed, flaky = [], [], [], [], []
    outcomes = {}
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
                if v.result in ("fail", "flaky"):
                    (failed if v.result == "fail" else flaky).append(
                        f"{v.result.upper()} {kernel}/{boot}: {v.test}" + (f" ({v.note})" if v.note else ""))
            kernel_verdicts += verdicts
            outcomes[(kernel, bname)] = boot_outcome(verdicts)
        out.append("")
        totals.append(f"{kernel}: {counts_line(counts(kernel_verdicts))}")
        everything += kernel_verdicts
    # the flaky results and the failures again, next to the counts: a log's
    # tail names them (a flaky result counts neither as passed nor failed)
    if flaky:
        out += [f"{len(flaky)} flaky (passed on a retry, declared in config/flaky.toml):"] + flaky + [""]
    if failed:
        out += [f"{len(failed)} failed:"] + failed + [""]
    out += totals + [""] + outcome_table(outcomes) + [counts_line(counts(everything))]
    return "\n".join(out) + "\n", everything


def test_plan_text(bootdirs):
    """expect/tests/NAME.txt from recorded boots of one scenario on each
    kernel (results/<kernel>/<boot>/): every guest test point reported, in
    order, "NAME [kernel, ...]" where only some of the kernels reported it
    (in the order of KERNEL_COLUMNS).  KUnit and selftest results have plans
    of their own and are left out."""
    seen, order = {}, []
    for d in bootdirs:
        d = Path(d)
        kernel = json.loads(read_text(d / "meta.json")).get("kernel", d.parent.name)
        tap = read_text(d / "tap.txt") if (d / "tap.txt").exists() else ""
        results, _ = guest_results(tap, read_text(d / "console.log"))
        for r in results:
            if r.name.startswith(SELFTEST) or r.name == "guest script completed":
                continue
            if r.name not in seen:
                order.append(r.name)
            seen.setdefault(r.name, set()).add(kernel)
    kernels = set().union(*seen.values()) if seen else set()
    out = ["# The test points this scenario's guest script reports (scripts/report.py",
           "# test-plan); one reported that is not here, or one here that did not report,",
           "# fails the boot.  \"NAME [kernel]\": on that kernel only."]
    for n in order:
        only = seen[n]
        out.append(n if only == kernels or len(kernels) == 1 else f"{n} [{', '.join(kernel_order(only))}]")
    return "\n".join(out) + "\n"


def kmsg_lines(text, match, after=None):
    """Kernel messages (timestamped lines) matching a regex, without KUnit's
    KTAP lines; a splat appears as its first line only."""
    rx = re.compile(match)
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if after and l.startswith(after)), -1) + 1 \
        if after else 0
    in_splat, firsts = set(), set()
    for s in scan_console(text):
        in_splat.update(range(s.lineno, s.lineno + len(s.lines)))
        firsts.add(s.lineno)
    out = []
    for i, line in enumerate(lines[start:], start + 1):
        if not re.match(r"(<\d+>)?\[\s*\d+\.\d+\]", line):
            continue
        msg = kernel_message(line)
        if re.match(r"\s|# |(not )?ok \d|KTAP|1\.\.", msg) or (i in in_splat and i not in firsts):
            continue
        if rx.search(msg) or i in firsts:
            out.append(msg)
    return out


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
    sub.add_parser("selftests-expect", help="expectations from a base boot's selftest results "
                   "(its directory)").add_argument("boot")
    p = sub.add_parser("test-plan", help="a scenario's test plan (expect/tests/NAME.txt) from "
                       "recorded boots of it on each kernel")
    p.add_argument("bootdirs", nargs="+")
    p = sub.add_parser("kmsg", help="kernel messages matching a regex, each splat by its first line")
    p.add_argument("console")
    p.add_argument("--match", required=True)
    p.add_argument("--after", help="only after the first line starting with this")
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
    if args.cmd == "test-plan":
        for d in map(Path, args.bootdirs):
            if not (d / "meta.json").is_file() or not (d / "console.log").is_file():
                ap.error(f"{d}: not a recorded boot (no meta.json or console.log: still running?)")
        print(test_plan_text(args.bootdirs), end="")
        return 0
    if args.cmd == "kmsg":
        for line in kmsg_lines(read_text(args.console), args.match, args.after):
            print(line)
        return 0
    if args.cmd == "selftests-expect":
        # a boot directory: its tap.txt (qemu-x86) and the TAP on its
        # console (every lane; Bochs and arm64 have no tap.txt); a file
        # path is read as that boot's tap.txt
        d = Path(args.boot)
        d = d if d.is_dir() else d.parent
        tap = read_text(d / "tap.txt") if (d / "tap.txt").exists() else ""
        console = read_text(d / "console.log") if (d / "console.log").exists() else ""
        results, problems = guest_results(tap, console)
        if problems:
            print(f"{d}: {'; '.join(problems)}", file=sys.stderr)
            return 1
        print(selftests_expect_text(results, str(args.boot)), end="")
        if not any(r.name.startswith(SELFTEST) for r in results):
            print(f"{d}: no '{SELFTEST}<name>' results", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
