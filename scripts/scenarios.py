#!/usr/bin/env python3
"""Scenarios layer: the registry of boots (config/scenarios.toml), the plan
of a run, and the runner.

  scenarios.py list                          every scenario: lane, make check, doc
  scenarios.py table                         README's scenario table (generated)
  scenarios.py plan [--check] [--kernels K,K] [--host NAME ...] [BOOT ...]
                                             the run's plan as JSON (make check
                                             writes it before anything runs)
  scenarios.py run KERNEL BOOT ... [--out DIR] [--results DIR]
                   [--set KEY=VALUE ...] [--label LABEL] [--must-fail REGEX ...]
                   [--quiet]
                                             boot KERNEL (base, series,
                                             6.12-base or 6.12-series) once
                                             per named scenario and judge it
  scenarios.py check PLAN                    run the plan's boots: its groups
                                             side by side, each group in order

A boot's results land in <results>/<kernel>/<boot>/ (default build/results):
console.log, tap.txt, meta.json (what the judge expects, from the registry
and config/flaky.toml) and status.json (how the boot went; written before the lane starts, so a
boot that never got going says why).  --out takes the kernel's files from
another directory (a deliberately broken variant, judged as KERNEL); --set
overrides a registry field for this run (bench: cpus=4).

Lanes are functions of scripts/boot.py, called in-process.
"""

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boot  # noqa: E402
import report  # noqa: E402

TOP = Path(__file__).resolve().parent.parent
REGISTRY = TOP / "config" / "scenarios.toml"
FLAKY = TOP / "config" / "flaky.toml"
# The kernels: Linux 6.1 (build/linux: base, series) and Linux 6.12
# (build/linux-6.12: 6.12-base, 6.12-series); scripts/build.sh builds each
# into build/out/<kernel>/.  A scenario says which it runs on (kernels =).
KERNELS = ("base", "series", "6.12-base", "6.12-series")
KERNEL_TITLES = {"base": "6.1 base", "series": "6.1 series",
                 "6.12-base": "6.12 base", "6.12-series": "6.12 series"}


def kernel_version(kernel):
    """The Linux version a kernel name stands for: base, series -> 6.1;
    6.12-base -> 6.12."""
    return "6.1" if kernel in ("base", "series") else kernel.rsplit("-", 1)[0]


def check_target(kernel):
    """The CI target that boots a scenario's check kernels: make check for
    6.1, make check-6.12 for 6.12 (its own target: README)."""
    v = kernel_version(kernel)
    return "make check" if v == "6.1" else f"make check-{v}"


class RegistryError(Exception):
    pass


@dataclass(frozen=True)
class Expect:
    """What one kernel must show in a scenario."""
    xfail: tuple = ()           # tests that must fail (the old failure)
    any: tuple = ()             # tests whose result is not judged
    splats: tuple = ()          # regexes of splats that must appear
    allowed_splats: tuple = ()  # regexes of splats that may follow them
    timeout: int = None         # this kernel's timeout
    kunit: tuple = ()           # KUnit suites that must pass
    selftests: str = None       # expectations file for "selftest X" results
    console: tuple = ()         # regexes the console must show
    emulator_exit: bool = False  # the emulator must end by itself


@dataclass(frozen=True)
class Scenario:
    name: str
    doc: str
    lane: str
    script: str = None
    cpus: int = 2
    maxcpus: int = None
    devices: tuple = ()
    append: str = ""
    memory: str = "2G"
    model: str = None
    cpu: str = None
    timeout: int = 300
    kernels: tuple = ("base", "series")
    check: tuple = ()
    group: str = None
    also: str = ""
    # kernel -> Expect, from the registry's [NAME.base], [NAME."6.12-base"], ...
    expects: dict = field(default_factory=dict)

    def expect(self, kernel):
        return self.expects.get(kernel, Expect())

    def timeout_for(self, kernel):
        return self.expect(kernel).timeout or self.timeout

    def meta(self, kernel, known=(), flaky=None):
        """meta.json for a boot of this scenario on kernel (report.py judges
        it): the registry's expectations, the known failures that apply to
        this scenario (tolerated on the kernels they are known on) and the
        declared flaky tests."""
        e = self.expect(kernel)
        tests = {"guest script completed": "pass"}
        tests.update({t: "fail" for t in e.xfail})
        tests.update({t: "any" for t in e.any})
        kf = [dict(k, tolerated=kernel in k["kernels"]) for k in known
              if self.lane in k["lanes"] and self.name not in k.get("except", ())
              and (self.name in k["boots"] or "*" in k["boots"])]
        planned = read_test_plan(self.name, kernel)
        return {"kernel": kernel, "boot": self.name, "lane": self.lane,
                "expect_tests": tests, "expect_splats": list(e.splats),
                "allowed_splats": list(e.allowed_splats), "known_failures": kf,
                "kunit": list(e.kunit), "selftests_expect": e.selftests,
                "console_must": list(e.console), "emulator_exit": e.emulator_exit,
                "flaky": flaky or {}, "planned_tests": planned}


TEST_PLANS = TOP / "expect" / "tests"


def read_test_plan(boot, kernel, plans=None):
    """The test points a scenario's guest script reports on kernel, from
    expect/tests/<boot>.txt (one name a line; "NAME [base]" for one kernel
    only, "NAME [6.12-base, 6.12-series]" for some), or None where there is
    no such file (the selftest boots: their expectations file is their plan)."""
    path = (plans or TEST_PLANS) / f"{boot}.txt"
    if not path.exists():
        return None
    names = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"(.*?) \[([\w.-]+(?:, *[\w.-]+)*)\]", line)
        if m and kernel not in re.split(r", *", m.group(2)):
            continue
        names.append(m.group(1) if m else line)
    return names


# field -> type; tuples are TOML arrays of strings
def _types(cls):
    return {f.name: f.type for f in dataclasses.fields(cls)}


def _convert(where, key, value, typ):
    """A TOML value as the field's type, or an error message."""
    if typ is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{where}: {key} must be an array of strings"
        return tuple(value), None
    if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
        return None, f"{where}: {key} must be an integer"
    if typ is bool and not isinstance(value, bool):
        return None, f"{where}: {key} must be true or false"
    if typ is str and not isinstance(value, str):
        return None, f"{where}: {key} must be a string"
    return value, None


def parse_registry(data, top=TOP):
    """{name: Scenario} from the registry's parsed TOML; RegistryError lists
    every problem (unknown key, wrong type, unknown lane or kernel, missing
    guest script, bad regex)."""
    errors, scenarios = [], {}
    stypes, etypes = _types(Scenario), _types(Expect)
    inner = ("name", "expects") + KERNELS
    for name, entry in data.items():
        where = f"[{name}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: not a table")
            continue
        args = {"name": name, "expects": {}}
        for key, value in entry.items():
            if key in KERNELS:
                if not isinstance(value, dict):
                    errors.append(f"{where}: {key} must be a table of expectations")
                    continue
                eargs = {}
                for k, v in value.items():
                    if k not in etypes:
                        errors.append(f"{where}: unknown key {key}.{k} (known: {', '.join(etypes)})")
                        continue
                    v, err = _convert(where, f"{key}.{k}", v, etypes[k])
                    if err:
                        errors.append(err)
                    else:
                        eargs[k] = v
                args["expects"][key] = Expect(**eargs)
            elif key in stypes and key not in inner:
                v, err = _convert(where, key, value, stypes[key])
                if err:
                    errors.append(err)
                else:
                    args[key] = v
            else:
                known = [k for k in stypes if k not in inner] + list(KERNELS)
                errors.append(f"{where}: unknown key {key} (known: {', '.join(known)})")
        for req in ("doc", "lane"):
            if req not in args:
                errors.append(f"{where}: {req} is required")
        if any(e.startswith(where) for e in errors):
            continue
        s = Scenario(**args)
        if s.script is None:
            s = dataclasses.replace(s, script=name)
        if s.maxcpus is None:
            s = dataclasses.replace(s, maxcpus=s.cpus)
        if s.lane not in boot.LANES:
            errors.append(f"{where}: unknown lane {s.lane!r} (lanes: {', '.join(boot.LANES)})")
        if not (top / boot.script_path(s.lane, s.script)).is_file():
            errors.append(f"{where}: guest script {boot.script_path(s.lane, s.script)} does not exist")
        if s.cpus < 1 or s.maxcpus < s.cpus:
            errors.append(f"{where}: need 1 <= cpus <= maxcpus")
        for k in s.kernels:
            if k not in KERNELS:
                errors.append(f"{where}: kernels names unknown kernel {k!r} (kernels: {', '.join(KERNELS)})")
        for k in s.check:
            if k not in KERNELS:
                errors.append(f"{where}: check names unknown kernel {k!r}")
            elif k not in s.kernels:
                errors.append(f"{where}: check names {k}, which is not in its kernels")
        for k in s.expects:
            if k not in s.kernels:
                errors.append(f"{where}: expectations for {k}, which is not in its kernels")
        if s.check and not s.group:
            errors.append(f"{where}: a scenario in make check needs a group")
        if s.devices and s.lane != "qemu-x86":
            errors.append(f"{where}: devices are for the qemu-x86 lane")
        if s.model and s.lane != "bochs":
            errors.append(f"{where}: model is for the bochs lane")
        if s.cpu and s.lane != "qemu-x86":
            errors.append(f"{where}: cpu is for the qemu-x86 lane")
        for k in s.kernels:
            e = s.expect(k)
            for key in ("splats", "allowed_splats", "console"):
                for rx in getattr(e, key):
                    try:
                        re.compile(rx)
                    except re.error as err:
                        errors.append(f"{where}: {k}.{key} /{rx}/ is not a regex: {err}")
            if e.selftests and k in s.check and not (top / e.selftests).is_file():
                errors.append(f"{where}: {k}.selftests file {e.selftests} does not exist")
        scenarios[name] = s
    if errors:
        raise RegistryError("\n".join(errors))
    return scenarios


def load(path=REGISTRY, top=TOP):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RegistryError(f"{path}: {e}")
    return parse_registry(data, top)


def load_flaky(path=FLAKY):
    """(tests, known) from config/flaky.toml: {test name: declaration} and
    [declaration of a known failure, with its name]; RegistryError names
    every problem."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RegistryError(f"{path}: {e}")
    errors, tests, known = [], {}, []
    need = {"test": {"boots": list, "why": str, "base_rate": str, "tries": int},
            "known": {"kernels": list, "lanes": list, "boots": list, "match": str, "fixed_by": str,
                      "why": str},
            "boot": {"lanes": list, "why": str, "base_rate": str, "tries": int}}
    for kind, entries in data.items():
        if kind not in need:
            errors.append(f"{path.name}: unknown table {kind} (test, known, boot)")
            continue
        for name, d in entries.items():
            for key, typ in need[kind].items():
                if not isinstance(d.get(key), typ):
                    errors.append(f"{path.name}: {kind}.{name}: {key} must be a {typ.__name__}")
            optional = {"except": list} if kind == "known" else {}
            for key, typ in optional.items():
                if key in d and not isinstance(d[key], typ):
                    errors.append(f"{path.name}: {kind}.{name}: {key} must be a {typ.__name__}")
            for key in d:
                if key not in need[kind] and key not in optional:
                    errors.append(f"{path.name}: {kind}.{name}: unknown key {key}")
            if kind == "known":
                try:
                    re.compile(d.get("match", ""))
                except re.error as e:
                    errors.append(f"{path.name}: known.{name}: match is not a regex: {e}")
                known.append(dict(d, name=name))
            elif kind == "test":
                tests[name] = d
    if errors:
        raise RegistryError("\n".join(errors))
    return tests, known


def flaky_for(tests, boot):
    """The declared flaky tests of one scenario."""
    return {n: d for n, d in tests.items() if boot in d["boots"]}


def boot_retry(lane, path=FLAKY):
    """The declared retry of a boot that never came up ([boot."never came
    up"] of config/flaky.toml) on this lane, or None."""
    load_flaky(path)        # the file's errors first
    with open(path, "rb") as f:
        d = tomllib.load(f).get("boot", {}).get("never came up")
    return dict(d, name="never came up") if d and lane in d["lanes"] else None


TABLE_BEGIN = "<!-- scenario table: generated by scripts/scenarios.py table -->"
TABLE_END = "<!-- end of the generated scenario table -->"


def table(scenarios):
    """README's scenario table, from the registry: where each scenario runs
    on which kernel."""
    out = [TABLE_BEGIN, "",
           "| scenario | lane | kernels | CI | elsewhere | what it shows |", "|---|---|---|---|---|---|"]
    for s in scenarios.values():
        targets = {}
        for k in s.check:
            targets.setdefault(check_target(k), []).append(k)
        check = "; ".join(f"{t}: {' + '.join(ks)}" for t, ks in targets.items()) or "-"
        doc = " ".join(s.doc.split()).replace("|", "\\|")
        out.append(f"| {s.name} | {s.lane} | {', '.join(s.kernels)} | {check} | {s.also or '-'} | {doc} |")
    return "\n".join(out + ["", TABLE_END]) + "\n"


def override(s, settings):
    """The scenario with KEY=VALUE settings applied (validated like the registry)."""
    types = _types(Scenario)
    changes = {}
    for kv in settings:
        k, sep, v = kv.partition("=")
        if not sep or k not in types or k in ("name", "expects", "kernels") + KERNELS:
            raise RegistryError(f"--set {kv}: not KEY=VALUE with a scenario key")
        if types[k] is tuple:
            changes[k] = tuple(x for x in v.split(";") if x)
        elif types[k] is int:
            changes[k] = int(v)
        else:
            changes[k] = v
    return dataclasses.replace(s, **changes)


# ------------------------------------------------------------------- plan --

def plan(scenarios, check=False, boots=None, kernels=KERNELS, host=()):
    """The run's items: host checks first (kernel "checks"), then boots:
    each named scenario (default: all, or with check those CI boots) on
    each of kernels it runs on (with check: those its check names)."""
    items = [{"kernel": "checks", "boot": h, "stage": h} for h in host]
    names = boots or [n for n, s in scenarios.items() if s.check or not check]
    for n in names:
        if n not in scenarios:
            raise RegistryError(f"no scenario {n!r} (scenarios.py list)")
    for k in kernels:
        for n in names:
            s = scenarios[n]
            if k not in (s.check if check else s.kernels):
                continue
            items.append({"kernel": k, "boot": n, "lane": s.lane,
                          "group": s.group or s.lane, "stage": "boots"})
    return items


# ---------------------------------------------------------------- decode --

def decode_splats(res, out, tree, lane):
    """Run the kernel tree's scripts/decode_stacktrace.sh over every splat on
    the console, with the kernel's vmlinux and modules (built with line
    information), into splats-decoded.txt: the judge then names the file
    and line of each splat's first frame."""
    console = res / "console.log"
    script, vmlinux = tree / "scripts/decode_stacktrace.sh", out / "vmlinux"
    if not (console.exists() and script.exists() and vmlinux.exists()):
        return
    splats = report.scan_console(console.read_text(errors="replace"))
    if not splats:
        return
    env = dict(os.environ)
    cross = {"qemu-arm64": "aarch64-linux-gnu-", "qemu-riscv64": "riscv64-linux-gnu-"}
    if lane in cross:
        env["CROSS_COMPILE"] = cross[lane]
    text = "\n\n".join(s.text for s in splats) + "\n"
    try:
        p = subprocess.run(["bash", str(script), str(vmlinux), str(tree), str(out)], input=text,
                           capture_output=True, text=True, timeout=300, env=env)
        (res / "splats-decoded.txt").write_text(p.stdout + p.stderr)
    except (OSError, subprocess.TimeoutExpired) as e:
        (res / "splats-decoded.txt").write_text(f"decode_stacktrace.sh failed: {e}\n")


# ----------------------------------------------------------------- runner --

def run_one(s, kernel, results=TOP / "build/results", out=None, quiet=False,
            label=None, must_fail=()):
    """Boot one scenario on one kernel and judge it.  Returns (boot name,
    verdicts); never raises for a boot that went wrong.  Results go to
    <results>/<label or kernel>/<boot>/; must_fail marks a deliberately
    broken variant's boot (report.judge_variant)."""
    if kernel not in s.kernels:
        raise RegistryError(f"{s.name} runs on {', '.join(s.kernels)}, not on {kernel}")
    res = Path(results) / (label or kernel) / s.name
    boot.fresh_dir(res)
    tests, known = load_flaky()
    flaky = flaky_for(tests, s.name)
    meta = s.meta(kernel, known, flaky)
    if must_fail:
        meta["must_fail"] = list(must_fail)
    retry_boot = boot_retry(s.lane)
    meta["boot_retry"] = retry_boot
    # absolute: the qemu-x86 guest gets the path on its command line and
    # does not start in this directory
    out = Path(out).resolve() if out else boot.kernel_out(s.lane, kernel)
    # the guest retries only the declared flaky tests: wb.retry=NAME:TRIES,...
    retry = ",".join(f"{n.split()[-1]}:{d['tries']}" for n, d in flaky.items())
    append = " ".join(a for a in (s.append, f"wb.retry={retry}" if retry else "") if a)
    splats = s.expect(kernel).splats
    t0 = time.time()
    earlier = []        # the tries that hung before the guest came up
    for attempt in range(1, (retry_boot or {}).get("tries", 1) + 1):
        if attempt > 1:
            keep = res.parent / f".{s.name}.try{attempt - 1}"
            shutil.rmtree(keep, ignore_errors=True)
            res.rename(keep)
            earlier.append(keep)
            boot.fresh_dir(res)
            print(f"scenarios: {label or kernel}/{s.name}: try {attempt - 1} never came up;"
                  f" try {attempt} (declared in config/flaky.toml)", flush=True)
        (res / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        status = {"state": "starting", "lane": s.lane, "kernel": kernel}
        (res / "status.json").write_text(json.dumps(status) + "\n")
        t1 = time.time()
        try:
            outcome = boot.LANES[s.lane](boot.Spec(
                name=s.name, kernel=kernel, lane=s.lane, script=boot.script_path(s.lane, s.script),
                cpus=s.cpus, maxcpus=s.maxcpus, devices=s.devices, append=append,
                memory=s.memory, model=s.model, cpu=s.cpu, timeout=s.timeout_for(kernel),
                stop_after="|".join(f"(?:{rx})" for rx in splats) or None,
                out=out, res=res, quiet=quiet))
            status.update(state="done", how=outcome.how, started=outcome.started,
                          seconds=round(outcome.seconds, 1))
        except Exception as e:     # the lane could not run: the judge says why
            status.update(state="error", why=f"{type(e).__name__}: {e}",
                          seconds=round(time.time() - t1, 1))
        (res / "status.json").write_text(json.dumps(status) + "\n")
        if not report.hung_before_up(status):
            break
    # the earlier tries stay with the boot: the judge reads them (report.py)
    for i, keep in enumerate(earlier, 1):
        (res / "tries").mkdir(exist_ok=True)
        keep.rename(res / "tries" / str(i))
    decode_splats(res, out, boot.kernel_tree(s.lane, kernel), s.lane)
    name, verdicts = report.judge_boot(res)
    bad = [v for v in verdicts if v.result == "fail"]
    print(f"scenarios: {label or kernel}/{s.name}: {len(verdicts) - len(bad)} passed, {len(bad)} failed"
          f" in {time.time() - t0:.0f}s", flush=True)
    for v in bad:
        print(f"  not ok - {v.test}" + (f" # {v.note}" if v.note else ""), flush=True)
    return name, verdicts


def run_items(scenarios, items, results=TOP / "build/results", quiet=False):
    """Run the plan's boots: one thread per group, each group's boots in
    order.  True if every boot passed."""
    groups = {}
    for it in items:
        if it["kernel"] in KERNELS:
            groups.setdefault(it["group"], []).append(it)
    ok = {}

    def worker(g, its):
        t0 = time.time()
        good = True
        for it in its:
            _, verdicts = run_one(scenarios[it["boot"]], it["kernel"], results, quiet=quiet)
            good &= not any(v.result == "fail" for v in verdicts)
        ok[g] = good
        print(f"scenarios: group {g}: {len(its)} boots in {time.time() - t0:.0f}s", flush=True)

    threads = [threading.Thread(target=worker, args=(g, its)) for g, its in groups.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return all(ok.get(g, False) for g in groups)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    sub.add_parser("table", help="README's scenario table")
    p = sub.add_parser("plan")
    p.add_argument("--check", action="store_true", help="only what make check runs")
    p.add_argument("--host", default="", help="host-side checks (stages) run before the boots, comma-separated")
    p.add_argument("--kernels", default=",".join(KERNELS),
                   help="only these kernels' boots, comma-separated (default: all)")
    p.add_argument("boots", nargs="*")
    p = sub.add_parser("run")
    p.add_argument("kernel", choices=KERNELS)
    p.add_argument("boots", nargs="+")
    p.add_argument("--out", help="the kernel's files (default: the lane's build/out/...)")
    p.add_argument("--results", default=str(TOP / "build/results"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--label", help="results under RESULTS/LABEL/BOOT (default: the kernel)")
    p.add_argument("--must-fail", action="append", default=[], metavar="REGEX",
                   help="a broken variant's boot: some failing check must match each REGEX")
    p.add_argument("--quiet", action="store_true")
    p = sub.add_parser("check")
    p.add_argument("plan")
    p.add_argument("--results", default=str(TOP / "build/results"))
    a = ap.parse_args(argv)

    try:
        scenarios = load()
        load_flaky()
        if a.cmd == "list":
            for s in scenarios.values():
                where = "CI: " + "+".join(s.check) if s.check else "not in CI"
                print(f"{s.name:<18} {s.lane:<10} {where:<34} {s.doc.splitlines()[0]}")
            return 0
        if a.cmd == "table":
            print(table(scenarios), end="")
            return 0
        if a.cmd == "plan":
            host = [h for h in a.host.split(",") if h]
            kernels = [k for k in a.kernels.split(",") if k]
            bad = [k for k in kernels if k not in KERNELS]
            if bad:
                raise RegistryError(f"--kernels: unknown kernel(s) {', '.join(bad)} (kernels: {', '.join(KERNELS)})")
            print(json.dumps(plan(scenarios, a.check, a.boots or None, kernels, host), indent=1))
            return 0
        if a.cmd == "run":
            good = True
            for n in a.boots:
                if n not in scenarios:
                    raise RegistryError(f"no scenario {n!r} (scenarios.py list)")
                s = override(scenarios[n], a.set)
                _, verdicts = run_one(s, a.kernel, a.results, a.out, a.quiet, a.label, a.must_fail)
                good &= not any(v.result == "fail" for v in verdicts)
            return 0 if good else 1
        if a.cmd == "check":
            items = json.loads(Path(a.plan).read_text())
            return 0 if run_items(scenarios, items, a.results) else 1
    except RegistryError as e:
        print(f"scenarios: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
