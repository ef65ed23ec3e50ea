#!/usr/bin/env python3
"""Scenarios layer: which boots run, with which CPUs, and what each kernel
is expected to show.

  scenarios.py KERNEL [BOOT ...]     boot KERNEL (base or series) once per
                                     scenario (all, or those named) and
                                     leave results in build/results/KERNEL/

The guest side of each boot is guest/boots/<name>.sh.  Every boot must end
with "guest script completed" and without a splat on its console; on the
base kernel some tests are expected to fail (the old behaviour the series
fixes: "xfail"), and the headline boot is expected to crash.
"""
import json
import re
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent

HEADLINE_FIXED = ["onlining CPU 2 without SVM is refused", "the refusal names CPU 2 and why",
                  "CPU 2 stays offline"]

BOOTS = {
    "main": dict(smp=2, maxcpus=4, timeout=900,
                 base_xfail=["kvm-intel names the CPU without VMX"]),
    "headline": dict(smp=2, maxcpus=4, timeout=300, base_timeout=120,
                     base_xfail=HEADLINE_FIXED,
                     # 6.1: the vCPU on the CPU without SVM crashes the kernel
                     base_splat=r"kernel BUG at arch/x86/kvm/x86\.c",
                     # ... and hangs the guest: what comes after may not report
                     base_any=["no vCPU runs on a CPU without SVM", "the running VM kept running",
                               "guest script completed"]),
    "hotadd-novm": dict(smp=2, maxcpus=4, timeout=300,
                        base_xfail=["onlining CPU 2 without SVM is refused with no VM",
                                    "the refusal names CPU 2 and why",
                                    "a VM created afterwards runs",
                                    "onlining CPU 3 without LA57 is refused",
                                    "the refusal names CR4.LA57",
                                    "a VM created after that runs"]),
    "boot-cpu-nosvm": dict(smp=1, maxcpus=4, timeout=300,
                           device=["socket-id=1,svm=off"],
                           base_xfail=["the refusal names CPU 1 and why"]),
    "maxcpus": dict(smp=1, maxcpus=4, timeout=300, append="maxcpus=1",
                    device=["socket-id=1,svm=off"],
                    base_xfail=["onlining CPU 1 without SVM is refused",
                                "a VM created afterwards runs"]),
    "suspend": dict(smp=2, maxcpus=2, timeout=300),
    "stress": dict(smp=3, maxcpus=3, timeout=1200),
    # thread=single: twice, multi-threaded TCG left a stale int3 at a
    # jump-label site in the scheduler during this boot (README)
    "selftests": dict(smp=2, maxcpus=4, timeout=2400, memory="3G", accel="tcg,thread=single",
                      selftests_expect="expect/selftests-base.txt"),
    # Bochs lane (scripts/bochs.py): VMX with EPT, for kvm-intel.  idle=poll:
    # with idle CPUs halted, Bochs guests stalled for minutes (README)
    "intel": dict(lane="bochs", cpus=2, timeout=1800, append="wb.vendor=intel idle=poll"),
    # kvm-amd on Bochs' SVM, a cross-check of the QEMU lane.  Of Bochs' AMD
    # models with SVM, ryzen printed nothing (unemulated MSRs) and
    # phenom_8650_toliman died at boot (#UD on POPCNT); zambezi works.
    "amd-bochs": dict(lane="bochs", cpus=2, timeout=900, model="zambezi",
                      append="idle=poll earlyprintk=serial,ttyS0,115200"),
    "intel-selftests": dict(lane="bochs", cpus=2, timeout=2400, script="selftests", selftests=True,
                            append="wb.vendor=intel wb.selftests=bochs idle=poll",
                            selftests_expect="expect/selftests-bochs-base.txt"),
    # not in make check: every selftest that built ("make selftests-all")
    "selftests-all": dict(script="selftests", smp=2, maxcpus=4, timeout=7200, memory="3G",
                          append="wb.selftests=all",
                          selftests_expect="expect/selftests-base-all.txt"),
}
# make check: every scenario on both kernels; the selftests on the series
# only, judged against the base's results kept in expect/selftests-base.txt
# (made by "make selftests-expect").
CHECK_BOOTS = ["main", "headline", "hotadd-novm", "boot-cpu-nosvm", "maxcpus", "suspend", "stress"]
# ... and the Bochs lane's "intel" boot, which scripts/check.sh runs for
# both kernels at once (one core each), and the series' "intel-selftests",
# alongside the QEMU boots (which use one core).  "amd-bochs" is not in make
# check ("make bochs-amd"); "scenarios.py KERNEL bochs" runs BOCHS_BOOTS.
BOCHS_BOOTS = ["intel", "amd-bochs"]
CHECK_BOOTS_SERIES = CHECK_BOOTS + ["selftests"]


def meta_for(kernel, name, b):
    expect = {"guest script completed": "pass"}
    if kernel == "base":
        expect.update({t: "fail" for t in b.get("base_xfail", [])})
        expect.update({t: "any" for t in b.get("base_any", [])})
    meta = {"expect_tests": expect,
            "expect_splat": b.get("base_splat") if kernel == "base" else None}
    if b.get("selftests_expect") and kernel == "series":
        meta["selftests_expect"] = b["selftests_expect"]
    return meta


def kunit(kernel, bootdir):
    """Parse the KUnit suite's KTAP (run when kvm.ko loads) from the console
    with the tree's own kunit.py, and add one TAP line to the boot."""
    tool = TOP / "build" / f"kernel-{kernel}" / "tools/testing/kunit/kunit.py"
    console = (bootdir / "console.log").read_text(errors="replace")
    if "kvm-x86-cr4-compat" not in console:
        return "kunit: no kvm-x86-cr4-compat suite on the console"
    # kvm.ko runs the suite at each load, nested ("    KTAP version 1") after
    # the built-in executor's empty "KTAP version 1 / 1..0": hand kunit.py the
    # first run of the suite, as a one-suite KTAP document.
    lines = [re.sub(r"^\[\s*\d+\.\d+\] ?", "", l) for l in console.splitlines()]
    start = next(i for i, l in enumerate(lines) if "# Subtest: kvm-x86-cr4-compat" in l)
    end = next(i for i in range(start, len(lines)) if re.match(r"\s*(not )?ok \d+ kvm-x86-cr4-compat", lines[i]))
    ktap = ["KTAP version 1", "1..1"] + lines[start - 1:end + 1]
    p = subprocess.run([sys.executable, str(tool), "parse"], input="\n".join(ktap) + "\n",
                       capture_output=True, text=True)
    (bootdir / "kunit.txt").write_text(p.stdout + p.stderr)
    summary = [l for l in p.stdout.splitlines() if "Testing complete" in l]
    ok = p.returncode == 0 and bool(summary) and bool(re.search(r"Ran [1-9]\d* tests: passed: \d+$", summary[-1].strip()))
    tap = bootdir / "tap.txt"
    n = sum(1 for l in tap.read_text().splitlines() if l.startswith(("ok ", "not ok ")))
    with tap.open("a") as f:
        f.write(f"{'ok' if ok else 'not ok'} {n + 1} - kunit kvm-x86-cr4-compat"
                f" # {summary[-1].strip() if summary else 'no summary'}\n")
    return "kunit: " + (summary[-1].strip() if summary else p.stdout[-300:])


def main():
    kernel = sys.argv[1]
    names = sys.argv[2:] or (CHECK_BOOTS_SERIES if kernel == "series" else CHECK_BOOTS)
    if names == ["bochs"]:
        names = BOCHS_BOOTS
    for name in names:
        b = BOOTS[name]
        meta = meta_for(kernel, name, b)
        if name == "main" and kernel == "series":
            meta["expect_tests"]["kunit kvm-x86-cr4-compat"] = "pass"
        if b.get("lane") == "bochs":
            cmd = [sys.executable, str(TOP / "scripts/bochs.py"), "--kernel", kernel, "--name", name,
                   "--script", f"guest/boots/{b.get('script', name)}.sh", "--cpus", str(b["cpus"]),
                   "--timeout", str(b["timeout"]), "--meta", json.dumps(meta)]
            cmd += ["--append", b["append"]] if b.get("append") else []
            cmd += ["--model", b["model"]] if b.get("model") else []
            cmd += ["--selftests"] if b.get("selftests") else []
        else:
            cmd = boot_cmd(kernel, name, b, meta)
        t0 = time.time()
        subprocess.run(cmd, check=True)
        bootdir = TOP / "build/results" / kernel / name
        if name == "main":
            print(kunit(kernel, bootdir), flush=True)
        r = subprocess.run([sys.executable, str(TOP / "scripts/report.py"), "boot", str(bootdir)],
                           capture_output=True, text=True)
        bad = [l for l in r.stdout.splitlines() if l.startswith("not ok")]
        print(f"scenarios: {kernel}/{name}: {len(bad)} failed in {time.time() - t0:.0f}s", flush=True)
        for l in bad:
            print("  " + l, flush=True)
    return 0


def boot_cmd(kernel, name, b, meta):
    """The QEMU lane's command line for one boot (scripts/boot.py)."""
    cmd = [sys.executable, str(TOP / "scripts/boot.py"), "--kernel", kernel, "--name", name,
           "--script", f"guest/boots/{b.get('script', name)}.sh", "--smp", str(b["smp"]),
           "--maxcpus", str(b["maxcpus"]),
           "--timeout", str(b.get(f"{kernel}_timeout", b["timeout"])),
           "--memory", b.get("memory", "2G"), "--meta", json.dumps(meta)]
    if b.get("append"):
        cmd += ["--append", b["append"]]
    if b.get("accel"):
        cmd += ["--accel", b["accel"]]
    if kernel == "base" and b.get("base_splat"):
        cmd += ["--stop-after", b["base_splat"]]
    for d in b.get("device", []):
        cmd += ["--device", d]
    return cmd


if __name__ == "__main__":
    sys.exit(main())
