# KVM CPU-hotplug series workbench.  See README.md.
#   make demo      boot the series kernel and narrate the headline scenario
#   make check     the full test run (what CI runs)
#   make check-6.12  the same for the 6.12 series and its base (make check SERIES=6.12)
SHELL := /bin/bash
.PHONY: help deps base apply export series-check build build-base build-series \
	guest check check-6.12 gates demo demo-base unit-tests list fresh-machine selftests-expect selftests-all \
	bochs-selftests bochs-amd bochs-612 arm64 arm64-6.12 riscv riscv-experiment arm64-experiment lockdep-experiment kunit-experiment intel-experiment \
	hostcaps-experiment bench bench-6.12 bench-control clean post coverage fuzz

help:
	@sed -n 's/^#   //p' Makefile; echo "more targets: deps base apply export post build check-6.12 gates demo-base unit-tests list fresh-machine selftests-expect selftests-all bochs-selftests bochs-amd bochs-612 arm64 arm64-6.12 riscv riscv-experiment arm64-experiment lockdep-experiment kunit-experiment intel-experiment hostcaps-experiment bench bench-6.12 bench-control coverage fuzz clean"

# Which series base, apply, export, series-check, build, check, gates and
# arm64 work on:
# SERIES=6.1 (default: patches/, build/linux, kernels base and series) or
# SERIES=6.12 (patches/6.12/, build/linux-6.12, kernels 6.12-base and
# 6.12-series), e.g. make build SERIES=6.12
SERIES ?= 6.1
export SERIES
# the kernels' names: base/series, 6.12-base/6.12-series
KPFX := $(if $(filter 6.1,$(SERIES)),,$(SERIES)-)

deps:
	scripts/deps.sh

base: deps
	scripts/base.sh $(filter-out 6.1,$(SERIES))

apply: base
	scripts/series.sh apply

export:
	scripts/series.sh export

# each series as it would be mailed, prepared with b4 (build/post/VER/msgs; nothing is sent)
post:
	scripts/post.sh 6.1
	scripts/post.sh 6.12

series-check: base
	scripts/series.sh check

# (after apply: the config check tells an option the series adds, which
# the base lacks, from a typo by the series branch)
build-base: apply
	scripts/build.sh $(KPFX)base

build-series: apply
	scripts/build.sh $(KPFX)series

build: build-base build-series

guest:
	$(MAKE) -s -C guest

# the workbench's own tests (no kernel tree needed)
unit-tests:
	python3 -m unittest discover -s tests

# every scenario in the registry (config/scenarios.toml)
list:
	python3 scripts/scenarios.py list

# Does a fresh Debian 12 get everything the lanes need from scripts/deps.sh?
# debootstrap, deps.sh in a chroot, a smoke test of each lane's tools.
fresh-machine:
	scripts/fresh-machine.sh

check:
	scripts/check.sh

# The 6.12 series and its base: apply, checkpatch, both kernels built, the
# 6.12 boots (config/scenarios.toml: check = ["6.12-base", "6.12-series"]),
# results in build/results-6.12/; ends "N passed, N failed".  Not part of
# make check: CI's 60 min do not hold a cold 6.12 build as well (README).
check-6.12:
	SERIES=6.12 scripts/check.sh

# Review gates (bisect build, sparse, W=1, cross-arch, changelog); GATES=... for a subset.
# SERIES=6.12: the 6.12 series in build/linux-6.12 (trees, logs: build/gates-6.12/).
gates: apply
	scripts/gates.sh

demo: guest
	scripts/demo.sh series

demo-base: guest
	scripts/demo.sh base

# The base kernel's selftest results, kept as the expectation make check
# judges the series against (run after changing config/selftests-check.txt).
selftests-expect: build-base guest
	python3 scripts/scenarios.py run base selftests intel-selftests || true
	python3 scripts/report.py selftests-expect build/results/base/selftests > expect/selftests-base.txt
	python3 scripts/report.py selftests-expect build/results/base/intel-selftests > expect/selftests-bochs-base.txt

# Every selftest that builds, on both kernels (longer than make check).
selftests-all: build guest
	python3 scripts/scenarios.py run base selftests-all || true
	python3 scripts/report.py selftests-expect build/results/base/selftests-all > expect/selftests-base-all.txt
	python3 scripts/scenarios.py run series selftests-all

# The KVM selftests under Bochs (VMX) on the series, judged against the
# base's results there (expect/selftests-bochs-base.txt); not in make check.
bochs-selftests: build guest
	python3 scripts/scenarios.py run series intel-selftests

# kvm-amd on Bochs' SVM (model zambezi) on both kernels: the cross-check of
# the QEMU lane; ~2 min.
bochs-amd: build guest
	python3 scripts/scenarios.py run base amd-bochs & b=$$!; \
	python3 scripts/scenarios.py run series amd-bochs; s=$$?; wait $$b && [ $$s = 0 ]

# kvm-intel on Bochs on both 6.12 kernels with kvm.enable_virt_at_load=0
# (intel-612-ondemand: VMX follows the VMs, as on 6.1), side by side; make
# check-6.12 boots intel-612, 6.12's default (VMX on from the load).
bochs-612: guest
	$(MAKE) apply SERIES=6.12
	scripts/build.sh 6.12-base --no-selftests
	scripts/build.sh 6.12-series --no-selftests
	python3 scripts/scenarios.py run 6.12-base intel-612-ondemand & b=$$!; \
	python3 scripts/scenarios.py run 6.12-series intel-612-ondemand; s=$$?; wait $$b && [ $$s = 0 ]

# The lockdep experiment: the usage count back under kvm_lock must show the cycle.
lockdep-experiment: build guest
	scripts/lockdep-experiment.sh

# The KUnit experiment: variants of kvm.ko with deliberate mistakes in the
# CR4, SVM and VMX decisions must each fail the KUnit cases listed for them.
kunit-experiment: build guest
	scripts/kunit-experiment.sh

# Patch 30: after a refused CPU lowered boot_cpu_data, a guest's 1 GiB page
# must still work on the series, and fail on the base and without patch 30.
hostcaps-experiment: build guest
	scripts/hostcaps-experiment.sh

# The arm64 lane on both kernels: build both for arm64, boot every arm64
# scenario on each; the base's selftest results become the expectations
# (expect/selftests-arm64-base.txt) the series' are judged against.
# SERIES=6.12 (make arm64-6.12): 6.12-base and 6.12-series for arm64
# (build/out/6.12-*-arm64/), the base's arm64-selftests first (its results:
# expect/selftests-arm64-6.12-base.txt), then arm64-vhe, arm64-nvhe and
# arm64-stress on each kernel side by side and the series' arm64-selftests;
# not in make check-6.12 (its cold time: README, "Linux 6.12").
ARM64_BOOTS = arm64-vhe arm64-nvhe arm64-stress arm64-selftests
ARM64_BOOTS_612 = arm64-vhe arm64-nvhe arm64-stress
arm64: apply guest
ifeq ($(SERIES),6.1)
	scripts/build.sh base --arch arm64
	scripts/build.sh series --arch arm64
	python3 scripts/scenarios.py run base $(ARM64_BOOTS) || true
	python3 scripts/report.py selftests-expect build/results/base/arm64-selftests > expect/selftests-arm64-base.txt
	python3 scripts/scenarios.py run series $(ARM64_BOOTS)
else
	scripts/build.sh $(KPFX)base --arch arm64
	scripts/build.sh $(KPFX)series --arch arm64
	python3 scripts/scenarios.py run $(KPFX)base arm64-selftests || true
	python3 scripts/report.py selftests-expect build/results/$(KPFX)base/arm64-selftests > expect/selftests-arm64-6.12-base.txt
	python3 scripts/scenarios.py run $(KPFX)base $(ARM64_BOOTS_612) & b=$$!; \
	python3 scripts/scenarios.py run $(KPFX)series $(ARM64_BOOTS_612) arm64-selftests; s=$$?; wait $$b && [ $$s = 0 ]
endif

arm64-6.12:
	$(MAKE) arm64 SERIES=6.12

# The riscv64 lane on both kernels: each built for riscv under
# the build lock, series first, its boots (config/scenarios.toml, lane
# qemu-riscv64) judged; results in build/riscv-results/ (RISCV_RESULTS=);
# ends "N passed, N failed".  Not in make check.
riscv: apply guest
	scripts/riscv.sh

# The riscv experiment: CPUs coming online without virtualization enabled
# while VMs exist must fail the riscv-hotplug boot, which the series passes
# (needs the series built for riscv: make riscv).
riscv-experiment: guest
	scripts/riscv-experiment.sh

# The arm64 experiment: the hotplug callbacks without their IRQ disabling
# must hit arm64's BUG, which the series does not.
arm64-experiment: guest
	scripts/arm64-experiment.sh

# The Bochs experiment: a CPU onlined without VMX enabled while a VM exists
# must fail the intel boot, which the series passes.
intel-experiment: build guest
	scripts/intel-experiment.sh

# Benchmarks, series against base (not in check): bench/latest.md and plots.
# A shorter run: make bench BENCH_SMP="1 2" BENCH_REPS=5 BENCH_ROUNDS=1
BENCH_SMP ?= 1 2 4 8
BENCH_REPS ?= 20
BENCH_ROUNDS ?= 4
bench: build guest
	python3 scripts/bench.py --smp "$(BENCH_SMP)" --reps $(BENCH_REPS) --rounds $(BENCH_ROUNDS)

# The same on the 6.12 kernels: bench/6.12/latest.md (check-6.12 builds them).
bench-6.12: guest
	$(MAKE) build SERIES=6.12
	python3 scripts/bench.py --series 6.12 --smp "$(BENCH_SMP)" --reps $(BENCH_REPS) --rounds $(BENCH_ROUNDS)

# The same with the base kernel against itself: the noise floor (bench/control.md).
bench-control: build guest
	python3 scripts/bench.py --control --smp "$(BENCH_SMP)" --reps $(BENCH_REPS) --rounds $(BENCH_ROUNDS)

clean:
	rm -rf build/out build/results build/bench-results build/bench-control build/bochs build/arm64 \
		build/lockdep-exp build/kunit-exp build/intel-exp build/arm64-exp build/torture build/variants build/coverage build/fuzz
	[ ! -d build/linux ] || git -C build/linux worktree prune

# Coverage of the series (scripts/coverage.sh): build the gcov kernel
# series-gcov (config/gcov.config), boot COVERAGE_BOOTS on it (the qemu-x86
# boots of make check, kunit, the reliability short forms that end with
# the guest script, and Bochs' intel for kvm-intel), COVERAGE_JOBS at a
# time, and report every line the series adds or changes in virt/kvm/ and
# arch/x86/kvm/ that never ran: build/coverage/coverage.md and
# coverage.json.  Fails below COVERAGE_GOAL % of the changed lines of code
# (the KUnit test files counted apart).  Longest first (the boots are
# dealt out to the lists in turn).
COVERAGE_BOOTS ?= intel selftests stress torture-soak torture-failslab torture-modules torture-fault-load \
	main torture-fault-enable torture-fault-online torture-suspend vmlist-race torture-fault-resume \
	torture-fault-resume-newvm torture-fault-vfio window headline hotadd-novm hotadd-novm-nocheck \
	hostcaps svm-features maxcpus boot-cpu-nosvm suspend kunit
COVERAGE_JOBS ?= 2
COVERAGE_SET ?=
COVERAGE_GOAL ?= 95
export COVERAGE_BOOTS COVERAGE_JOBS COVERAGE_SET COVERAGE_GOAL
coverage: apply guest
	scripts/coverage.sh

# The reliability suite's long forms (scripts/torture.sh): a 1000-cycle
# soak (also on KASAN kernels, config/torture.config), fault injection at
# every failure point of enabling and of loading kvm-amd, failslab, 200
# module cycles, 20 reboots into a race, 50 suspend cycles, each on the base
# and the series, and a broken variant of the series per check, which must
# fail; ends "N passed, N failed".  Some parts: make torture TORTURE="fault reboot"
.PHONY: torture
TORTURE ?=
torture: build guest
	scripts/torture.sh $(TORTURE)

# The seeded race fuzzer (scripts/fuzz.sh, guest/fuzz.c): the fuzz boot on
# the base, then the series, with the same seed; ends "N passed, N failed".
# Uses the kernels make build left (it builds nothing), or with FUZZ_KASAN=1
# make torture's KASAN kernels (built first).  Replay a run with its seed:
# make fuzz FUZZ_SEED=N FUZZ_SECONDS=S (README, "make fuzz").
# FUZZ_SEED (default: the time), FUZZ_SECONDS (300), FUZZ_THREADS (4),
# FUZZ_KINDS (all), FUZZ_PCT (10), FUZZ_KERNELS ("base series"), FUZZ_OUT (build/fuzz),
# FUZZ_KASAN (0)
FUZZ_SEED ?=
FUZZ_SECONDS ?= 300
fuzz: guest
	FUZZ_SEED=$(FUZZ_SEED) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
