# KVM CPU-hotplug series workbench.  See README.md.
#   make demo      boot the series kernel and narrate the headline scenario
#   make check     the full test run (what CI runs)
#   make check-6.12  the same for the 6.12 series and its base (make check SERIES=6.12)
SHELL := /bin/bash
.PHONY: help deps base apply export series-check build build-base build-series \
	guest check check-6.12 gates demo demo-base unit-tests list fresh-machine selftests-expect selftests-all \
	bochs-selftests bochs-amd arm64 arm64-experiment lockdep-experiment kunit-experiment intel-experiment \
	hostcaps-experiment bench bench-control clean post fuzz

help:
	@sed -n 's/^#   //p' Makefile; echo "more targets: deps base apply export post build check-6.12 gates demo-base unit-tests list fresh-machine selftests-expect selftests-all bochs-selftests bochs-amd arm64 arm64-experiment lockdep-experiment kunit-experiment intel-experiment hostcaps-experiment bench bench-control fuzz clean"

# Which series base, apply, export, series-check, build and check work on:
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

build-base: base
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
gates: apply
	@[ "$(SERIES)" = 6.1 ] || { echo "gates: only the 6.1 series so far (build/linux)"; exit 2; }
	scripts/gates.sh

demo: guest
	scripts/demo.sh series

demo-base: guest
	scripts/demo.sh base

# The base kernel's selftest results, kept as the expectation make check
# judges the series against (run after changing config/selftests-check.txt).
selftests-expect: build-base guest
	python3 scripts/scenarios.py run base selftests intel-selftests || true
	python3 scripts/report.py selftests-expect build/results/base/selftests/tap.txt > expect/selftests-base.txt
	python3 scripts/report.py selftests-expect build/results/base/intel-selftests/tap.txt > expect/selftests-bochs-base.txt

# Every selftest that builds, on both kernels (longer than make check).
selftests-all: build guest
	python3 scripts/scenarios.py run base selftests-all || true
	python3 scripts/report.py selftests-expect build/results/base/selftests-all/tap.txt > expect/selftests-base-all.txt
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
ARM64_BOOTS = arm64-vhe arm64-nvhe arm64-stress arm64-selftests
arm64: apply guest
	scripts/build.sh base --arch arm64
	scripts/build.sh series --arch arm64
	python3 scripts/scenarios.py run base $(ARM64_BOOTS) || true
	python3 scripts/report.py selftests-expect build/results/base/arm64-selftests/tap.txt > expect/selftests-arm64-base.txt
	python3 scripts/scenarios.py run series $(ARM64_BOOTS)

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

# The same with the base kernel against itself: the noise floor (bench/control.md).
bench-control: build guest
	python3 scripts/bench.py --control --smp "$(BENCH_SMP)" --reps $(BENCH_REPS) --rounds $(BENCH_ROUNDS)

clean:
	rm -rf build/out build/results build/bench-results build/bench-control build/bochs build/arm64 \
		build/lockdep-exp build/kunit-exp build/intel-exp build/arm64-exp build/torture build/variants build/fuzz
	[ ! -d build/linux ] || git -C build/linux worktree prune

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
# Uses the kernels make build left (it builds nothing).  Replay a run with
# its seed: make fuzz FUZZ_SEED=N FUZZ_SECONDS=S (README, "make fuzz").
# FUZZ_SEED (default: the time), FUZZ_SECONDS (300), FUZZ_THREADS (4),
# FUZZ_KINDS (all), FUZZ_PCT (10), FUZZ_KERNELS ("base series"), FUZZ_OUT (build/fuzz)
FUZZ_SEED ?=
FUZZ_SECONDS ?= 300
fuzz: guest
	FUZZ_SEED=$(FUZZ_SEED) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
