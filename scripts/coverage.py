#!/usr/bin/env python3
"""Coverage of the series: which lines the series adds or changes were run.

  coverage.py --repo build/linux --build build/kernel-series-gcov
              [--base base] [--series series] [--built REF]
              [--paths virt/kvm,arch/x86/kvm] [--why config/coverage-why.txt]
              [--goal 95] [--json FILE] [--md FILE] RUNS...

RUNS are directories of collected coverage data, searched recursively: each
directory holding a gcov/ tree of .gcda files (what guest/init.sh copies from
/sys/kernel/debug/gcov over 9p) is one run, named by its path under RUNS
(make coverage: series-gcov/main, ...); a console.log with "@@wb-gcov" lines
(guest/tmpfs-lib.sh's gcov_to_console, after a suspend) and no gcov/ beside
it is decoded into gcov-console/ there first; a RUNS directory with .gcda
files and neither is one run itself.  A .gcda is matched to its .gcno in the
build directory by the longest tail of its path that names one there (the
guest sees it under the build's absolute path).

The changed lines are `git diff -U0 BASE SERIES -- PATHS`: the new side of
every hunk.  The kernel that ran is SERIES plus test-only patches (BUILT,
default: the build directory's HEAD), so each changed line is followed from
SERIES to BUILT through `git diff -U0 SERIES BUILT` (a line a test-only patch
changed is reported as not followed, "unmapped"), and checked to read the
same in both.

gcov (Debian 12: gcc-12's, --json-format --stdout) is run once per run over
every .gcno of the build under PATHS, with that run's .gcda where it has one
(without, gcov still says which lines are executable: a module never loaded
counts as never run, not as nothing to run).  The runs are merged line by
line: a line is executable if gcov lists it for any translation unit (lines
gcov marks '-' are not listed), its count is the sum over runs and units, and
the runs that executed it are kept.

Writes a JSON record (--json) and a Markdown report (--md): per file the
changed executable lines run, and every changed executable line never run,
file:line (SERIES' numbering), its function and text, and why, when
config/coverage-why.txt says (lines "GLOB<TAB or spaces>REASON", GLOB matched
against "FILE" and "FILE:FUNCTION").  Exit status: 0 when the goal is met,
1 when not, 2 on an error (no runs, a git or gcov failure).
"""

import argparse
import binascii
import concurrent.futures
import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class CoverageError(Exception):
    pass


def git(repo, *args):
    p = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                       errors="replace")
    if p.returncode != 0:
        raise CoverageError(f"git {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


# -------------------------------------------------------------------- diff --

def parse_diff(text):
    """Parse `git diff -U0` output: {new path: {"hunks": [(old_start,
    old_count, new_start, new_count)], "added": {new line: text}}}.  Deleted
    files are left out; a pure deletion is a hunk with no new lines."""
    files = {}
    cur = None
    new_line = None
    for line in text.splitlines():
        if line.startswith("diff --git "):
            cur, new_line = None, None
            continue
        if line.startswith("+++ "):
            path = line[4:]
            if path == "/dev/null":
                cur = None
            else:
                path = path[2:] if path.startswith("b/") else path
                cur = files.setdefault(path, {"hunks": [], "added": {}})
            continue
        if line.startswith("--- "):
            continue
        m = HUNK_RE.match(line)
        if m:
            if cur is None:
                continue
            # a count left out is 1 ("@@ -5 +5,2 @@")
            os_, oc, ns, nc = (int(g) if g is not None else 1 for g in m.groups())
            cur["hunks"].append((os_, oc, ns, nc))
            new_line = ns
            continue
        if cur is None or new_line is None:
            continue
        if line.startswith("+"):
            cur["added"][new_line] = line[1:]
            new_line += 1
        # "-" lines and "\ No newline at end of file" do not move the new side
    return files


def map_line(hunks, line):
    """Line `line` of a diff's old side, on its new side (hunks as
    parse_diff gives them), or None if the diff changed it."""
    off = 0
    for os_, oc, ns, nc in hunks:
        if oc == 0:                 # lines inserted after old line os_
            if line > os_:
                off += nc
        elif line >= os_ + oc:
            off += nc - oc
        elif line >= os_:
            return None
    return line + off


def changed_lines(repo, base, series, built, paths):
    """{path: {series line: (built line or None, text)}} for every line the
    series adds or changes under paths."""
    d = parse_diff(git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                       base, series, "--", *paths))
    out = {}
    if built != series:
        tb = parse_diff(git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                            series, built, "--", *d.keys())) if d else {}
    for path, f in sorted(d.items()):
        if not f["added"]:
            continue
        lines = {}
        if built == series:
            for n, t in f["added"].items():
                lines[n] = (n, t)
        else:
            hunks = tb.get(path, {"hunks": []})["hunks"]
            try:
                built_text = git(repo, "show", f"{built}:{path}").split("\n")
            except CoverageError:
                built_text = []
            for n, t in f["added"].items():
                b = map_line(hunks, n)
                if b is not None and not (0 < b <= len(built_text) and built_text[b - 1] == t):
                    b = None
                lines[n] = (b, t)
        out[path] = lines
    return out


# -------------------------------------------------------------------- runs --

def decode_console(console, dest):
    """The "@@wb-gcov" block of a console log into dest (a .gcda tree).
    Returns None, or why it could not."""
    begin, data, end = None, [], False
    with open(console, errors="replace") as f:
        for line in f:
            i = line.find("@@wb-gcov ")
            if i < 0:
                continue
            rest = line[i + len("@@wb-gcov "):].strip()
            if rest.startswith("begin "):
                begin, data, end = rest.split()[1:], [], False
            elif rest == "end":
                end = True
            elif begin is not None and not end:
                data.append(rest)
    if begin is None:
        return "no @@wb-gcov block"
    if not end:
        return "the @@wb-gcov block is cut short (no end line)"
    try:
        blob = binascii.unhexlify("".join(data))
    except (binascii.Error, ValueError) as e:
        return f"the @@wb-gcov block is not hex ({e})"
    if hashlib.md5(blob).hexdigest() != begin[0]:
        return f"the @@wb-gcov block's MD5 does not match ({len(blob)} bytes, {begin[1] if len(begin) > 1 else '?'} sent)"
    if not blob:
        return "the @@wb-gcov block is empty (the guest's archive sent nothing)"
    try:
        files = read_newc(gzip.decompress(blob))
    except (OSError, EOFError, ValueError) as e:
        return f"the @@wb-gcov block is no gzipped cpio archive ({len(blob)} bytes: {e})"
    for name, content in files:
        parts = Path(name).parts
        if name.startswith("/") or ".." in parts or not parts:
            return f"the @@wb-gcov block names a path outside its tree: {name!r}"
        out = dest.joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    return None


def read_newc(buf):
    """The regular files of a cpio archive in the "newc" form (busybox
    cpio -o -H newc): [(name, bytes)].  Raises ValueError if it is not one."""
    files, off = [], 0
    while True:
        if buf[off:off + 6] != b"070701":
            raise ValueError(f"no newc header at byte {off}")
        fields = [int(buf[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_at = off + 110
        name = buf[name_at:name_at + namesize - 1].decode()
        data_at = (name_at + namesize + 3) & ~3
        if data_at + size > len(buf):
            raise ValueError(f"{name!r} cut short")
        if name == "TRAILER!!!":
            return files
        if mode & 0o170000 == 0o100000:
            files.append((name, buf[data_at:data_at + size]))
        off = (data_at + size + 3) & ~3


def find_runs(roots):
    """[(name, gcda root, how)] and [problems] for the RUNS arguments."""
    runs, problems = [], []
    for root in map(Path, roots):
        if not root.is_dir():
            problems.append(f"{root}: not a directory")
            continue
        found = False
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            dirnames.sort()
            name = str(d.relative_to(root)) if d != root else root.name
            if "gcov" in dirnames:
                runs.append((name, d / "gcov", "9p"))
                found = True
            elif "console.log" in filenames and "@@wb-gcov" in (d / "console.log").read_text(errors="replace"):
                dest = d / "gcov-console"
                shutil.rmtree(dest, ignore_errors=True)
                why = decode_console(d / "console.log", dest)
                if why:
                    problems.append(f"{name}: {why}")
                else:
                    runs.append((name, dest, "console"))
                found = True
            elif "console.log" in filenames:
                # a boot that never reached its end (a crash, a timeout)
                how = ""
                try:
                    how = json.loads((d / "status.json").read_text()).get("how", "")
                except (OSError, ValueError):
                    pass
                problems.append(f"{name}: no coverage data (the guest collects it at the end of its"
                                f" script; the boot: {how or 'no status.json'})")
            for skip in ("gcov", "gcov-console"):
                if skip in dirnames:
                    dirnames.remove(skip)
        if not found and any(root.rglob("*.gcda")):
            runs.append((root.name, root, "dir"))
    return runs, problems


def gcda_map(gcda_root, build):
    """{.gcno path in build: .gcda path} for a run: each .gcda matched by the
    longest tail of its path that names a .gcno in the build."""
    out, orphans = {}, []
    for g in sorted(Path(gcda_root).rglob("*.gcda")):
        parts = g.relative_to(gcda_root).with_suffix(".gcno").parts
        for i in range(len(parts)):
            cand = build.joinpath(*parts[i:])
            if cand.is_file():
                out[cand] = g
                break
        else:
            orphans.append(str(g.relative_to(gcda_root)))
    return out, orphans


# ------------------------------------------------------------------- gcov --

def gcov_json(gcov, pairs, workdir, warnings=None):
    """Run gcov over [(gcno, gcda or None)] and return its JSON documents.
    Each pair is staged as workdir/N.gcno (a link) and N.gcda (a link, if
    any), so one gcov call handles them all.  What gcov says about data it
    could not use (a stamp mismatch: the .gcda of another build) is added to
    warnings."""
    warnings = [] if warnings is None else warnings
    workdir.mkdir(parents=True, exist_ok=True)
    args = []
    for i, (gcno, gcda) in enumerate(pairs):
        os.symlink(Path(gcno).resolve(), workdir / f"{i}.gcno")
        if gcda is not None:
            os.symlink(Path(gcda).resolve(), workdir / f"{i}.gcda")
        args.append(f"{i}.gcno")
    docs = []
    # in chunks: a command line of every object of KVM is fine, but keep it bounded
    for k in range(0, len(args), 200):
        p = subprocess.run([gcov, "--json-format", "--stdout", *args[k:k + 200]], cwd=workdir,
                           capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            raise CoverageError(f"{gcov} failed in {workdir}: {p.stderr.strip()[-2000:]}")
        for line in p.stderr.splitlines():
            # "cannot open data file" is expected (an object a run never loaded)
            if re.search(r"mismatch|corrupt|version|overflow|profile", line, re.I):
                warnings.append(line.strip())
        dec, s, i = json.JSONDecoder(), p.stdout, 0
        while True:
            while i < len(s) and s[i].isspace():
                i += 1
            if i >= len(s):
                break
            doc, i = dec.raw_decode(s, i)
            docs.append(doc)
    return docs


def source_path(doc, f):
    """A gcov JSON file name as a path relative to the compile's top
    directory (None when outside it: a system header)."""
    cwd = doc.get("current_working_directory", "")
    p = os.path.normpath(os.path.join(cwd, f)) if cwd else os.path.normpath(f)
    rel = os.path.relpath(p, cwd) if cwd and os.path.isabs(p) else p
    if rel.startswith(".."):
        return None
    return rel


def merge(acc, docs, run, keep=None):
    """Add gcov JSON documents of one run into acc: {source: {line:
    {"count", "runs", "function"}}}.  Every line gcov lists is executable;
    counts add up, the run is kept when the line ran.  keep(source): which
    sources to keep (default: all)."""
    for doc in docs:
        for f in doc.get("files", []):
            src = source_path(doc, f["file"])
            if src is None or (keep and not keep(src)):
                continue
            lines = acc.setdefault(src, {})
            for ln in f.get("lines", []):
                e = lines.setdefault(ln["line_number"], {"count": 0, "runs": [], "function": None})
                e["count"] += ln.get("count", 0)
                if ln.get("count", 0) > 0 and run not in e["runs"]:
                    e["runs"].append(run)
                if e["function"] is None and ln.get("function_name"):
                    e["function"] = ln["function_name"]
    return acc


def collect(build, runs, paths, gcov, tmp):
    """Merged line data of every run over the build's .gcno under paths."""
    gcnos = sorted(g for p in paths for g in (build / p).rglob("*.gcno")) if paths else \
        sorted(build.rglob("*.gcno"))
    if not gcnos:
        raise CoverageError(f"no .gcno under {', '.join(paths)} in {build}: not a gcov build?")
    acc, info, problems = {}, [], []
    lock = threading.Lock()

    def keep(src):
        return not paths or any(src == p or src.startswith(p.rstrip("/") + "/") for p in paths)

    def one(k, run):
        # merged as each run's gcov ends: all runs' JSON at once (every
        # header line of every unit) would take gigabytes
        name, root, how = run
        m, orphans = gcda_map(root, build)
        warnings = []
        docs = gcov_json(gcov, [(g, m.get(g)) for g in gcnos], tmp / f"run{k}", warnings)
        with lock:
            merge(acc, docs, name, keep)
        orphans += [f"gcov: {w}" for w in warnings]
        return {"name": name, "how": how, "gcda": len(m)}, orphans

    jobs = max(1, min(len(runs), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        results = list(ex.map(lambda a: one(*a), enumerate(runs)))
    for inf, orphans in results:
        info.append(inf)
        if orphans:
            problems.append(f"{inf['name']}: {len(orphans)} .gcda not used (no .gcno in the"
                            f" build, or gcov refused it: another build?): {'; '.join(orphans[:3])}")
    return acc, info, problems, len(gcnos)


# ----------------------------------------------------------------- report --

def load_why(path):
    rules = []
    if path and Path(path).is_file():
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            glob, _, reason = line.partition("\t") if "\t" in line else line.partition(" ")
            rules.append((glob.strip(), reason.strip()))
    return rules


def why_for(rules, path, function):
    for glob, reason in rules:
        if fnmatch.fnmatchcase(path, glob) or (function and fnmatch.fnmatchcase(f"{path}:{function}", glob)):
            return reason
    return None


def is_test_file(path):
    """A KUnit test file of the series (its lines run when its cases do,
    so they would pad the percentage of the code under test)."""
    return path.endswith("_test.c")


def build_record(changed, acc, runs, problems, rules, goal, meta):
    files, tot_ex, tot_run, tot_changed = {}, 0, 0, 0
    test_ex, test_run = 0, 0
    for path, lines in changed.items():
        data = acc.get(path)
        rec = {"changed": len(lines), "executable": 0, "executed": 0, "percent": None,
               "no_data": data is None, "unmapped": [], "lines": []}
        tot_changed += len(lines)
        for n, (b, text) in sorted(lines.items()):
            if b is None:
                rec["unmapped"].append(n)
                continue
            e = (data or {}).get(b)
            if e is None:
                continue            # not executable (or no data for the file)
            rec["executable"] += 1
            ran = e["count"] > 0
            rec["executed"] += ran
            entry = {"line": n, "built_line": b, "count": e["count"], "runs": sorted(e["runs"]),
                     "function": e["function"], "text": text}
            if not ran:
                entry["why"] = why_for(rules, path, e["function"])
            rec["lines"].append(entry)
        if rec["executable"]:
            rec["percent"] = round(100.0 * rec["executed"] / rec["executable"], 1)
        tot_ex += rec["executable"]
        tot_run += rec["executed"]
        if is_test_file(path):
            test_ex += rec["executable"]
            test_run += rec["executed"]
        files[path] = rec
    pct = round(100.0 * tot_run / tot_ex, 2) if tot_ex else None
    code_ex, code_run = tot_ex - test_ex, tot_run - test_run
    code_pct = round(100.0 * code_run / code_ex, 2) if code_ex else None
    # what each run ran of the changed executable lines, and what only it ran
    for r in runs:
        ran = [e for f in files.values() for e in f["lines"] if r["name"] in e["runs"]]
        r["changed_lines_run"] = len(ran)
        r["changed_lines_only_it_ran"] = sum(1 for e in ran if e["runs"] == [r["name"]])
    return dict(meta, runs=runs, problems=problems,
                total={"changed": tot_changed, "executable": tot_ex, "executed": tot_run,
                       "percent": pct},
                # the goal is the code's: the test files' lines apart
                code={"executable": code_ex, "executed": code_run, "percent": code_pct},
                tests={"executable": test_ex, "executed": test_run},
                goal=goal, goal_met=code_pct is not None and code_pct >= goal, files=files)


def markdown(rec):
    t = rec["total"]
    out = ["# Coverage of the series", "",
           f"`{rec['base'][:12]}..{rec['series'][:12]}` (kernel that ran: `{rec['built'][:12]}`, "
           f"build `{rec['build']}`), paths {', '.join(rec['paths'])}; "
           f"{len(rec['runs'])} runs.", ""]
    if t["percent"] is None:
        out.append("**No executable changed line** (no coverage data?).")
    else:
        c, k = rec["code"], rec["tests"]
        out.append(f"**{c['executed']} of {c['executable']} changed executable lines of code run: "
                   + (f"{c['percent']:.1f} %" if c["percent"] is not None else "-")
                   + f"** (goal {rec['goal']:g} %: {'met' if rec['goal_met'] else 'not met'}); "
                   f"the KUnit test files apart ({k['executed']} of {k['executable']}); with them "
                   f"{t['executed']} of {t['executable']}, {t['percent']:.1f} %; "
                   f"{t['changed']} lines added or changed in all.")
    out += ["", "| file | changed | executable | run | % | never run |", "|---|---|---|---|---|---|"]
    for path, f in rec["files"].items():
        never = f["executable"] - f["executed"]
        pc = "-" if f["percent"] is None else f"{f['percent']:.1f}"
        note = ""
        if f["no_data"] and path.endswith(".c"):
            note = " (in no .gcno: not built with gcov here)"
        elif f["no_data"] and path.endswith(".h"):
            note = " (no line of it in any .gcno)"
        out.append(f"| {path}{note} | {f['changed']} | {f['executable']} | {f['executed']} | {pc} | {never} |")
    if rec["problems"]:
        out += ["", "## Problems", ""] + [f"- {p}" for p in rec["problems"]]
    out += ["", "## Changed executable lines never run", ""]
    anything = False
    for path, f in rec["files"].items():
        bad = [e for e in f["lines"] if e["count"] == 0]
        if not bad:
            continue
        anything = True
        out += [f"### {path} ({len(bad)})", ""]
        fn = object()
        for e in bad:
            if e["function"] != fn:
                fn = e["function"]
                why = f" — {e['why']}" if e.get("why") else ""
                out.append(f"- `{fn or '?'}`{why}")
            out.append(f"  - `{path}:{e['line']}` `{e['text'].strip()}`")
        out.append("")
    if not anything:
        out.append("None.")
    unm = {p: f["unmapped"] for p, f in rec["files"].items() if f["unmapped"]}
    if unm:
        out += ["", "## Changed lines not followed into the kernel that ran",
                "(a test-only patch changed them; not counted)", ""]
        out += [f"- {p}: {', '.join(map(str, ls))}" for p, ls in unm.items()]
    out += ["", "## Runs", "", "| run | data | .gcda | changed lines it ran | only it ran |",
            "|---|---|---|---|---|"]
    out += [f"| {r['name']} | {r['how']} | {r['gcda']} | {r.get('changed_lines_run', '-')} | "
            f"{r.get('changed_lines_only_it_ran', '-')} |" for r in rec["runs"]]
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", default=str(TOP / "build/linux"))
    p.add_argument("--base", default="base")
    p.add_argument("--series", default="series")
    p.add_argument("--built", help="the commit the build directory was built from (default: its HEAD)")
    p.add_argument("--build", default=str(TOP / "build/kernel-series-gcov"))
    p.add_argument("--paths", default="virt/kvm,arch/x86/kvm")
    p.add_argument("--why", default=str(TOP / "config/coverage-why.txt"))
    p.add_argument("--goal", type=float, default=95.0)
    p.add_argument("--gcov", default=os.environ.get("GCOV", "gcov"))
    p.add_argument("--json")
    p.add_argument("--md")
    p.add_argument("runs", nargs="+")
    a = p.parse_args(argv)
    try:
        repo, build = Path(a.repo), Path(a.build).resolve()
        paths = [x for x in a.paths.split(",") if x]
        base = git(repo, "rev-parse", f"{a.base}^{{commit}}").strip()
        series = git(repo, "rev-parse", f"{a.series}^{{commit}}").strip()
        built = git(repo, "rev-parse", f"{a.built}^{{commit}}").strip() if a.built else \
            git(build, "rev-parse", "HEAD").strip()
        runs, problems = find_runs(a.runs)
        if not runs:
            raise CoverageError(f"no coverage data in {', '.join(a.runs)}" +
                                (f" ({'; '.join(problems)})" if problems else ""))
        changed = changed_lines(repo, base, series, built, paths)
        with tempfile.TemporaryDirectory(prefix="wb-coverage-") as tmp:
            acc, info, more, nobj = collect(build, runs, paths, a.gcov, Path(tmp))
        rec = build_record(changed, acc, info, problems + more, load_why(a.why), a.goal,
                           {"repo": str(repo), "base": base, "series": series, "built": built,
                            "build": str(build), "paths": paths, "objects": nobj})
    except CoverageError as e:
        print(f"coverage: {e}", file=sys.stderr)
        return 2
    if a.json:
        Path(a.json).write_text(json.dumps(rec, indent=1) + "\n")
    md = markdown(rec)
    if a.md:
        Path(a.md).write_text(md)
    t = rec["total"]
    for pr in rec["problems"]:
        print(f"coverage: problem: {pr}")
    c, k = rec["code"], rec["tests"]
    print(f"coverage: {len(rec['runs'])} runs, {nobj} objects; " +
          (f"{c['executed']} of {c['executable']} changed executable lines of code run: "
           + (f"{c['percent']:.1f} %" if c["percent"] is not None else "-")
           + f" (goal {a.goal:g} %: {'met' if rec['goal_met'] else 'not met'}); test files apart: "
           f"{k['executed']} of {k['executable']}; with them {t['executed']} of {t['executable']}, "
           f"{t['percent']:.1f} %"
           if t["percent"] is not None else "no executable changed line"))
    return 0 if rec["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
