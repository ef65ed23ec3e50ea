# KVM CPU-hotplug series workbench.  See README.md.
#   make demo      boot the series kernel and narrate the headline scenario
#   make check     the full test run (what CI runs)
SHELL := /bin/bash
.PHONY: help deps base apply export series-check build build-base build-series \
	guest check gates demo demo-base unit-tests selftests-all clean

help:
	@sed -n 's/^#   //p' Makefile; echo "more targets: deps base apply export build check gates demo demo-base selftests-all unit-tests clean"

deps:
	scripts/deps.sh

base: deps
	scripts/base.sh

apply: base
	scripts/series.sh apply

export:
	scripts/series.sh export

series-check: base
	scripts/series.sh check

build-base: base
	scripts/build.sh base

build-series: apply
	scripts/build.sh series

build: build-base build-series

guest:
	$(MAKE) -s -C guest

unit-tests:
	python3 -m unittest discover -s tests

check:
	scripts/check.sh

# Review gates (bisect build, sparse, W=1, cross-arch, changelog); GATES=... for a subset.
gates: apply
	scripts/gates.sh

demo: guest
	scripts/demo.sh series

demo-base: guest
	scripts/demo.sh base

# Every selftest that builds, on both kernels (longer than make check).
selftests-all: build guest
	for k in base series; do python3 scripts/scenarios.py $$k selftests-all; done

clean:
	rm -rf build/out build/results
