#!/usr/bin/env python3
"""Benchmarks (make bench): what the series costs, as series/base ratios.

  bench.py [--series 6.1|6.12] [--smp "1 2 4 8"] [--reps 20] [--rounds 4]
           [--churn 2] [--churn-reps 3] [--no-boot]

Boots the base and the series kernel alternately (same QEMU settings:
the registry's "bench" scenario, -smp N with maxcpus=N) running
guest/boots/bench.sh, which prints one "bench METRIC VALUE" console line per
sample.  Each round boots every kernel once at every CPU count; samples of
all rounds are pooled.  Writes bench/latest.md (tables, targets met or
missed) and one PNG plot per item into bench/.  --no-boot redoes the report
from the console logs of the last run (build/bench-results/).  --series 6.12:
the 6.12 base and series kernels (build/out/6.12-*), into bench/6.12/ and
build/bench-results-6.12/; the tables still say base and series.
"""

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenarios  # noqa: E402

TOP = Path(__file__).resolve().parent.parent
RESULTS = TOP / "build" / "bench-results"
OUT = TOP / "bench"
KERNELS = ("base", "series")
# the registry's kernel names of each series' base and series kernels
SERIES = {"6.1": {"base": "base", "series": "series"},
          "6.12": {"base": "6.12-base", "series": "6.12-series"}}
VERSION = "6.1"     # --series

# metric: (what, unit); values arrive in microseconds, churn in VMs/s
METRICS = {
    "nokvm_online": ("CPU online, KVM not loaded", "ms"),
    "kvm_online": ("CPU online, kvm-amd loaded, no VM", "ms"),
    "vm_online": ("CPU online, a VM running", "ms"),
    "kvm_online_kvmcb": ("KVM's callback in an online, no VM", "µs"),
    "vm_online_kvmcb": ("KVM's callback in an online, a VM running", "µs"),
    "kvm_online_kvmcb_pct": ("KVM's callback / whole online, no VM", "%"),
    "vm_online_kvmcb_pct": ("KVM's callback / whole online, a VM running", "%"),
    "nokvm_offline": ("CPU offline, KVM not loaded", "ms"),
    "kvm_offline": ("CPU offline, kvm-amd loaded, no VM", "ms"),
    "vm_offline": ("CPU offline, a VM running", "ms"),
    "kvm_offline_kvmcb": ("KVM's callback in an offline, no VM", "µs"),
    "vm_offline_kvmcb": ("KVM's callback in an offline, a VM running", "µs"),
    "vm_first_create": ("first VM: KVM_CREATE_VM (usage count 0 -> 1)", "ms"),
    "vm_first_destroy": ("last VM: destroy (usage count 1 -> 0)", "ms"),
    "vm_other_create": ("KVM_CREATE_VM with another VM open", "ms"),
    "vm_other_destroy": ("VM destroy with another VM open", "ms"),
    "churn1": ("VM create/run/destroy, 1 creator", "VMs/s"),
    "churn2": ("VM create/run/destroy, 2 creators", "VMs/s"),
    "churn4": ("VM create/run/destroy, 4 creators", "VMs/s"),
    "insmod": ("insmod kvm-amd (kvm.ko loaded)", "ms"),
    "rmmod": ("rmmod kvm-amd", "ms"),
}
SCALE = {"ms": 1e-3, "µs": 1, "%": 1, "VMs/s": 1}
DIGITS = {"ms": 2, "µs": 0, "%": 2, "VMs/s": 1}


def snapshot(control=False):
    """Copy both kernels to build/out/bench-{base,series} (boot.py and the guest
    take a kernel's files from build/out/NAME): the whole run boots one build
    of each, even if one is rebuilt meanwhile.  Returns their commit lines.
    control: the base kernel in both places (an A/A run: the noise floor)."""
    commits = {}
    for k in KERNELS:
        src = TOP / "build" / "out" / SERIES[VERSION]["base" if control else k]
        dst = bench_out(k)
        shutil.rmtree(dst, ignore_errors=True)
        dst.mkdir()
        for f in ["bzImage", "commit"] + [p.name for p in src.glob("*.ko")]:
            shutil.copy2(src / f, dst / f)
        commits[k] = (dst / "commit").read_text().split()[0][:12]
    return commits


def bench_out(k):
    """Where the run's copy of kernel k (base or series) is."""
    return TOP / "build" / "out" / (f"bench-{k}" if VERSION == "6.1" else f"bench-{VERSION}-{k}")


def run_boots(a, run):
    """Boot both kernels at every CPU count, alternating which goes first;
    notes failed boots and the host's load average before each boot.  The
    boot is the registry's "bench" scenario with this run's CPUs and options."""
    bench = scenarios.load()["bench"]
    append = f"wb.reps={a.reps} wb.churn={a.churn} wb.churn_reps={a.churn_reps}"
    failed = run["failed"] = []
    for r in range(a.rounds):
        for i, smp in enumerate(a.smp):
            order = KERNELS if (r + i) % 2 == 0 else KERNELS[::-1]
            for k in order:
                name = f"bench-smp{smp}-r{r}"
                print(f"bench: round {r + 1}/{a.rounds}, {k}, {smp} CPUs", flush=True)
                run["load"].append(os.getloadavg()[0])
                s = dataclasses.replace(bench, name=name, cpus=smp, maxcpus=smp,
                                        append=f"{bench.append} {append}".strip())
                _, verdicts = scenarios.run_one(s, SERIES[VERSION][k], RESULTS, out=bench_out(k),
                                                quiet=True, label=k)
                log = console(k, name)
                if "wb: bench done" not in log or any(v.result == "fail" for v in verdicts):
                    failed.append(f"{k}/{name}")


def console(kernel, name):
    p = RESULTS / kernel / name / "console.log"
    return p.read_text(errors="replace") if p.exists() else ""


def parse():
    """{(kernel, smp, round): {metric: [values]}} from the bench boots' consoles."""
    rounds = {}
    for log in sorted(RESULTS.glob("*/bench-smp*-r*/console.log")):
        kernel = log.parent.parent.name
        smp, r = map(int, re.match(r"bench-smp(\d+)-r(\d+)", log.parent.name).groups())
        d = rounds[kernel, smp, r] = {}
        for m in re.finditer(r"^wb: bench (\w+) ([0-9.]+)\s*$", log.read_text(errors="replace"),
                             re.M):
            d.setdefault(m.group(1), []).append(float(m.group(2)))
        # KVM's share of each online: the callback time over that online's
        # time, sample by sample (both lines are printed for every cycle)
        for c in ("kvm", "vm"):
            if d.get(f"{c}_online_kvmcb"):
                d[f"{c}_online_kvmcb_pct"] = [100 * cb / t for cb, t in
                                              zip(d[f"{c}_online_kvmcb"], d[f"{c}_online"])]
    return rounds


def pool(rounds):
    """{(kernel, smp): {metric: [values of all rounds]}}"""
    data = {}
    for (k, n, _), d in rounds.items():
        for m, v in d.items():
            data.setdefault((k, n), {}).setdefault(m, []).extend(v)
    return data


def quartiles(v):
    if len(v) < 2:
        return v[0], v[0], v[0]
    return tuple(statistics.quantiles(v, n=4, method="inclusive"))


def ratio_of(metric):
    """value(base, series): the ratio of the two medians of a metric"""
    def value(b, s):
        if b.get(metric) and s.get(metric) and statistics.median(b[metric]):
            return statistics.median(s[metric]) / statistics.median(b[metric])
    return value


def series_median(metric):
    """value(base, series): the series' median of a metric"""
    return lambda b, s: statistics.median(s[metric]) if s.get(metric) else None


def estimate(data, rounds, smp, value):
    """value(base, series) of the pooled samples at smp CPUs, and its least
    and greatest over the rounds (each a base and a series boot in a row);
    None if not measured."""
    v = value(data.get(("base", smp), {}), data.get(("series", smp), {}))
    per = [value(d, rounds[("series", n, r)]) for (k, n, r), d in rounds.items()
           if k == "base" and n == smp and ("series", n, r) in rounds]
    per = [x for x in per if x is not None]
    return (v, min(per), max(per)) if v is not None and per else None


def fmt(v, unit):
    return f"{v * SCALE[unit]:.{DIGITS[unit]}f}"


def row(data, rounds, metric, smp):
    """Table cells for one metric at one CPU count, or None if not measured."""
    v = [data.get((k, smp), {}).get(metric) for k in KERNELS]
    if not any(v):
        return None
    unit = METRICS[metric][1]
    cells = []
    for x in v:
        if x:
            q1, m, q3 = quartiles(x)
            cells.append(f"{fmt(m, unit)} ({fmt(q1, unit)}–{fmt(q3, unit)})")
        else:
            cells.append("—")
    e = estimate(data, rounds, smp, ratio_of(metric))
    cells.append(f"**{e[0]:.3f}** ({e[1]:.2f}–{e[2]:.2f})" if e else "—")
    return cells + ["/".join(str(len(x or [])) for x in v)]


def cpus(n):
    return f"{n} CPU{'s' if n > 1 else ''}"


def targets(data, rounds, smps):
    """[(target, measured, verdict)] for the issue's targets."""
    out = []

    def per_smp(what, value, ok):
        vals = [(n, estimate(data, rounds, n, value)) for n in smps]
        vals = [(n, e) for n, e in vals if e]
        if not vals:
            out.append((what, "not measured", "—"))
            return
        text = ", ".join(f"{cpus(n)}: **{v:.3f}** ({lo:.2f}–{hi:.2f})" for n, (v, lo, hi) in vals)
        missed = [cpus(n) for n, (v, _, _) in vals if not ok(v)]
        close = [cpus(n) for n, (_, lo, hi) in vals if ok(lo) != ok(hi)]
        verdict = "met" if not missed else f"**missed** ({', '.join(missed)})"
        if close:
            verdict += f"; rounds on both sides at {', '.join(close)}"
        out.append((what, text, verdict))

    per_smp("CPU online with a VM running, series/base ≤ 1.05",
            ratio_of("vm_online"), lambda v: v <= 1.05)
    per_smp("KVM's callback ≤ 2% of a CPU online (series, a VM running; in %)",
            series_median("vm_online_kvmcb_pct"), lambda v: v <= 2)
    per_smp("first-VM creation, series/base ≤ 1.0",
            ratio_of("vm_first_create"), lambda v: v <= 1.0)
    per_smp("churn throughput with 4 creators, series/base ≥ 1.0",
            ratio_of("churn4"), lambda v: v >= 1.0)
    per_smp("insmod kvm-amd, series/base ≤ 1.1",
            ratio_of("insmod"), lambda v: v <= 1.1)
    # growth: (series at most CPUs / series at fewest) / (the same of the base)
    for metric in ("vm_online", "vm_first_create", "insmod"):
        have = [n for n in smps if estimate(data, rounds, n, ratio_of(metric))]
        if len(have) < 2:
            continue
        lo, hi = have[0], have[-1]
        r = ratio_of(metric)
        g = r(data["series", lo], data["series", hi]) / r(data["base", lo], data["base", hi])
        per = [r(rounds["series", lo, i], rounds["series", hi, i]) /
               r(rounds["base", lo, i], rounds["base", hi, i])
               for (k, n, i) in rounds if (k, n) == ("base", lo)
               and all(key in rounds for key in (("series", lo, i), ("series", hi, i),
                                                 ("base", hi, i)))]
        out.append((f"growth {cpus(lo)} → {hi} of {METRICS[metric][0]}: series growth / "
                    "base growth ≤ 1.05 (5% for noise)",
                    f"**{g:.3f}** ({min(per):.2f}–{max(per):.2f})",
                    "met" if g <= 1.05 else "**missed**"))
    return out


# one plot per item: (file, title, y label, [(metric, label)]); x: CPU count
PLOTS = [
    ("online.png", "Item 1: CPU online (the last CPU)", "ms",
     [("vm_online", "a VM running"), ("nokvm_online", "KVM not loaded")]),
    ("kvm-callback.png", "Item 1: KVM's hotplug callback within a CPU online\\n"
     "(series only: the base runs it where tracepoints are off)", "µs",
     [("vm_online_kvmcb", "a VM running"), ("kvm_online_kvmcb", "kvm-amd loaded, no VM")]),
    ("first-vm.png", "Item 2: first VM created (0 -> 1), last VM destroyed (1 -> 0)", "ms",
     [("vm_first_create", "create"), ("vm_first_destroy", "destroy")]),
    ("churn.png", "Item 3: VM create/run/destroy throughput", "VMs/s",
     [("churn1", "1 creator"), ("churn2", "2 creators"), ("churn4", "4 creators")]),
    ("insmod.png", "Item 4: insmod kvm-amd", "ms", [("insmod", "")]),
]
COLOR = {"base": "#1f77b4", "series": "#d62728"}
BS_N = "\\n"   # a line break in a gnuplot title


def plot_title(title):
    """6.12's base times its callback too: no "series only" there."""
    if VERSION != "6.1":
        title = title.replace(BS_N + "(series only: the base runs it where tracepoints are off)", "")
    return title


def plot(data, smps, file, title, ylabel, curves):
    """A gnuplot PNG: median per kernel and curve, the IQR as error bars."""
    title = plot_title(title)
    blocks, plots = [], []
    for k in KERNELS:
        for j, (metric, label) in enumerate(curves):
            scale = SCALE[METRICS[metric][1]]
            lines = []
            for n in smps:
                v = data.get((k, n), {}).get(metric)
                if v:
                    q1, m, q3 = (x * scale for x in quartiles(v))
                    lines.append(f"{n} {m} {q1} {q3}")   # x, y, bar from, bar to
            if not lines:
                continue
            name = f"${k}{j}"
            blocks.append(f"{name} << EOD\n" + "\n".join(lines) + "\nEOD")
            plots.append(f"{name} using 1:2:3:4 with yerrorlines lw 2 dt {j + 1} "
                         f"lc '{COLOR[k]}' title '{k}{', ' + label if label else ''}'")
    if not plots:
        return
    script = "\n".join(blocks + [
        "set terminal pngcairo size 800,480 font 'sans,10'",
        f"set output '{OUT / file}'",
        f"set title \"{title}\\nmedian, bars: interquartile range\"",
        "set xlabel 'vCPUs (TCG: all on one host thread of a 2-core host)'",
        f"set ylabel '{ylabel}'",
        "set logscale x 2", "set xtics (1, 2, 4, 8)", "set xrange [0.8:10]",
        "set yrange [0:*]", "set key outside right", "set grid",
        "plot " + ", ".join(plots)])
    with tempfile.NamedTemporaryFile("w", suffix=".gp") as f:
        f.write(script)
        f.flush()
        subprocess.run(["gnuplot", f.name], check=True)


def report(data, rounds, run, name="latest.md"):
    smps = sorted({n for _, n in data})
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M).group(1)
    cores = len(re.findall(r"^processor\s*:", cpuinfo, re.M))
    churn = (f", VM churn {run['churn_reps']} runs of {run['churn']} s per creator count"
             if run["churn"] else "")
    L = [f"# Benchmarks: what the {VERSION} series costs, series/base",
         ""]
    if run.get("control"):
        L = ["# Control run (`make bench-control`): the base kernel against itself",
             "",
             "Both columns are the same base build (\"series\" is a copy of it), booted "
             "alternately exactly as `make bench` boots base and series: every ratio below "
             "differs from 1 only by the emulator's and the host's noise, and the targets "
             "show what this setup can decide.", ""]
    L += [
         f"- date: {run['date']}; the run took {run['took'] / 60:.0f} min "
         "(`make bench`, scripts/bench.py)",
         f"- {qemu}; `-machine q35 -accel tcg,thread=single "
         "-cpu qemu64,svm=on,npt=on,la57=on -smp N,maxcpus=N` (scripts/boot.py)",
         f"- host: {cpu}, {cores} cores; 1-minute load average before each boot: "
         f"{min(run['load']):.1f} to {max(run['load']):.1f}, "
         f"median {statistics.median(run['load']):.1f} (other jobs share the host)",
         "- **emulated**: TCG runs all N vCPUs (up to 8) on one host thread of a 2-core "
         "host, so absolute times mean little and how they grow with N is partly the "
         "emulator's; read the series/base ratios",
         f"- kernels: Linux {VERSION}, base {run['commits']['base']}, series "
         f"{run['commits']['series']} "
         "(build/out/*/commit), test configuration: lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT",
         f"- per boot {run['reps']} samples per metric after one warm-up{churn}; "
         f"{run['rounds']} rounds of boots, base and series alternately, samples pooled",
         "- cells: median of all samples (interquartile range); series/base: ratio of "
         "the medians (least and greatest of the same ratio in each round, i.e. of a base "
         "and a series boot in a row); n: samples base/series",
         ""]
    if run["failed"]:
        L += [f"**Failed boots** (a 'not ok' or no 'bench done' on the console): "
              f"{', '.join(run['failed'])}", ""]
    L += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    L += [f"| {t} | {v} | {m} |" for t, v, m in targets(data, rounds, smps)]
    floor = [x for n in smps for x in (estimate(data, rounds, n, ratio_of("nokvm_online")) or [])[1:]]
    if floor:
        L += ["", f"Noise: without KVM a CPU online runs the same code on both kernels; its "
              f"series/base ratio ranged {min(floor):.2f}–{max(floor):.2f} over the rounds of "
              "this run.  A target nearer 1 than that is not decided by this run."]
    L += ["", "## All figures", "",
          "| metric | CPUs | base | series | series/base | n |", "|---|---|---|---|---|---|"]
    for metric, (what, unit) in METRICS.items():
        for n in smps:
            r = row(data, rounds, metric, n)
            if r:
                L.append(f"| {what} ({unit}) | {n} | " + " | ".join(r) + " |")
    L += ["", "With one CPU there is no online/offline (CPU 0 cannot go offline).  KVM's "
          "callback is timed from the cpuhp_enter/cpuhp_exit tracepoints."]
    if VERSION == "6.1":
        L[-1] += ("  On the 6.1 base it runs "
                  "in the STARTING (online) and DYING (offline) sections on the CPU itself, before it "
                  "is marked online or after it is marked offline, where tracepoints do not fire "
                  "(their condition is cpu_online()), so the base has no figure; the series runs it "
                  "in the ONLINE section.")
    else:
        L[-1] += ("  6.12 runs it in the ONLINE section on both kernels "
                  "(CPUHP_AP_KVM_ONLINE, since 6.3); the series adds its per-CPU checks there.")
    L.append("")
    if not run.get("control"):
        L += ["## Plots", ""]
        L += [f"![{plot_title(title).replace(BS_N, ' ')}]({file})"
              for file, title, *_ in PLOTS if (OUT / file).exists()]
    (OUT / name).write_text("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", choices=sorted(SERIES), default="6.1",
                    help="which series' kernels (default 6.1)")
    ap.add_argument("--smp", default="1 2 4 8", help="CPU counts, e.g. '1 2'")
    ap.add_argument("--reps", type=int, default=20, help="samples per metric and boot")
    ap.add_argument("--rounds", type=int, default=4, help="boots per kernel and CPU count")
    ap.add_argument("--churn", type=int, default=2, help="seconds per churn run (0: none)")
    ap.add_argument("--churn-reps", type=int, default=3, help="churn runs per creator count")
    ap.add_argument("--no-boot", action="store_true", help="report on the last run's logs")
    ap.add_argument("--control", action="store_true",
                    help="base against itself (bench/control.md, build/bench-control/)")
    a = ap.parse_args()
    global RESULTS, OUT, VERSION
    VERSION = a.series
    if VERSION != "6.1":
        RESULTS = RESULTS.with_name(f"bench-results-{VERSION}")
        OUT = OUT / VERSION
    if a.control:
        RESULTS = TOP / "build" / ("bench-control" if VERSION == "6.1" else f"bench-control-{VERSION}")
    name = "control.md" if a.control else "latest.md"
    a.smp = [int(n) for n in a.smp.split()]
    if not a.no_boot:
        shutil.rmtree(RESULTS, ignore_errors=True)
        RESULTS.mkdir(parents=True)
        run = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "load": [],
               "reps": a.reps, "rounds": a.rounds, "churn": a.churn,
               "churn_reps": a.churn_reps, "commits": snapshot(a.control),
               "control": a.control}
        t0 = time.time()
        run_boots(a, run)
        run["took"] = time.time() - t0
        (RESULTS / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    run = json.loads((RESULTS / "run.json").read_text())
    rounds = parse()
    data = pool(rounds)
    OUT.mkdir(exist_ok=True)
    smps = sorted({n for _, n in data})
    if not run.get("control"):
        for p in PLOTS:
            plot(data, smps, *p)
    report(data, rounds, run, name)
    print((OUT / name).read_text())
    if run["failed"]:
        sys.exit(f"bench: failed boots: {', '.join(run['failed'])}")


if __name__ == "__main__":
    main()
