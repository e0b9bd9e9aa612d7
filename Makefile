# SPDX-License-Identifier: GPL-2.0
#
# snapfreeze: kernel module, tests and quality gates.
#
#   make               build kmod/snapfreeze.ko (for the running kernel when
#                      its headers are installed, else for the VM's kernel)
#                      and the test programs
#   make KDIR=...      build the module against any other kernel tree
#   make check         quality gates, then the VM test suite
#   make check KVER=S  the same for Debian's kernel series S (5.10, 6.1, 6.12,
#                      7: fetched and cached by tests/kernels/prepare), plus
#                      a W=1 build for S; the suite boots that kernel
#   make w1 KVER=S     W=1 build for series S alone, failing on any warning
#   make matrix        every series: W=1 build and full suite, one table
#   make lint          the quality gates alone: checkpatch --strict, sparse,
#                      a W=1 build, all of them warning-free
#   make test          the VM test suite alone
#   make demo          a freeze/thaw cycle of three filesystems in the VM
#   make install       install the helper (/usr/sbin/snapfreeze) and its
#                      man page; DKMS installs the module (README.md)
#   make install-module install the module for KDIR's kernel, without DKMS

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build

# The kernel the VM boots by default: the newest installed kernel with both
# an image and headers (on a Debian 12 build host, bookworm's
# linux-image-amd64).
VM_KREL ?= $(shell for v in /boot/vmlinuz-*; do k=$$(basename $$v | sed s/^vmlinuz-//); \
	[ -d /lib/modules/$$k/build ] && \
	echo $$k; done | sort -V | tail -n 1)
VM_KDIR := /lib/modules/$(VM_KREL)/build

ifneq ($(wildcard /lib/modules/$(shell uname -r)/build),)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= $(VM_KDIR)
endif

LINUX_SOURCE_TAR ?= $(shell ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | \
	sort -V | tail -n 1)
KSRC := $(BUILD)/ksrc
CHECKPATCH := $(KSRC)/scripts/checkpatch.pl

KMOD_SRCS := $(wildcard $(TOP)/kmod/*.c $(TOP)/kmod/*.h) $(TOP)/kmod/Kbuild
LINT_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) \
	include/uapi/linux/snapfreeze.h

.PHONY: all module user tests lint checkpatch sparse w1 w1-host check test \
	demo matrix install install-module clean

# Kernel series for check/w1/test (tests/kernels/README.md); empty: the
# installed kernel, as always.
KVER ?=
KERNELS := $(TOP)/tests/kernels
# The W=1 build against KDIR: `w1`, or `w1-host` when `w1` means KVER's.
HOST_W1 := $(if $(KVER),w1-host,w1)

PREFIX ?= /usr
DESTDIR ?=

all: module user tests

user:
	$(MAKE) -C $(TOP)/user

module:
	@test -d "$(KDIR)" || { echo "no kernel headers at KDIR=$(KDIR):" \
		"apt-get install linux-headers-amd64" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules

tests:
	$(MAKE) -C $(TOP)/tests

# checkpatch comes from Debian's linux-source package, never from the repo.
$(CHECKPATCH):
	@test -n "$(LINUX_SOURCE_TAR)" || { echo "no /usr/src/linux-source-*.tar.xz:" \
		"apt-get install linux-source" >&2; exit 1; }
	@mkdir -p $(KSRC)
	tar -xJf $(LINUX_SOURCE_TAR) -C $(KSRC) --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	@touch $@

checkpatch: $(CHECKPATCH)
	$(CHECKPATCH) --strict --no-tree --quiet --show-types -f $(LINT_SRCS)

# Both build the module from scratch so that every file is checked, and fail
# on any diagnostic, not only on errors.
sparse $(HOST_W1):
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean >/dev/null
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod $(if $(filter sparse,$@),C=2,W=1) \
		modules 2>$(BUILD)/$@.log; rc=$$?; cat $(BUILD)/$@.log; \
	if [ $$rc -ne 0 ] || grep -E 'warning|error|: sparse' $(BUILD)/$@.log; then \
		echo "$@: not clean" >&2; exit 1; fi; echo "$@: clean"

$(BUILD):
	@mkdir -p $@

sparse $(HOST_W1): | $(BUILD)

ifneq ($(KVER),)
# W=1 for the series, built where tests/kernels/prepare decided (host or
# the series' chroot).
w1:
	$(KERNELS)/w1 $(KVER)
endif

lint: checkpatch sparse $(HOST_W1) $(if $(KVER),w1)

ifeq ($(KVER),)
test: KDIR := $(VM_KDIR)
test: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/run
else
test: user tests
	SF_SERIES=$(KVER) $(TOP)/tests/run
endif

matrix: user tests
	$(KERNELS)/matrix

check: lint
	@$(MAKE) --no-print-directory test

demo: KDIR := $(VM_KDIR)
demo: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/demo

install: user
	install -D -m 0755 $(TOP)/user/snapfreeze $(DESTDIR)$(PREFIX)/sbin/snapfreeze
	install -D -m 0644 $(TOP)/docs/snapfreeze.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/snapfreeze.8
	install -d $(DESTDIR)/etc/snapfreeze/hooks.d

install-module: module
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules_install
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean
	$(MAKE) -C $(TOP)/user clean
	rm -rf $(BUILD)

# ---- benchmark (bench/README.md, docs/performance.md); not tests, never
# gated on time.  BENCH_N, BENCH_RUNS, BENCH_METHODS, BENCH_ARGS pass on.
BENCH_N ?= 1 4 8 16
BENCH_RUNS ?= 5
BENCH_METHODS ?= a b c d
BENCH_RUN := $(TOP)/bench/run --runs "$(BENCH_RUNS)" --methods "$(BENCH_METHODS)"

.PHONY: bench bench-long bench-smoke bench-plot bench-profile
bench:
	$(BENCH_RUN) --n "$(BENCH_N)" $(BENCH_ARGS)
bench-long:
	$(BENCH_RUN) --n "32" --out $(BUILD)/bench/results-long $(BENCH_ARGS)
bench-smoke:
	$(TOP)/bench/run --smoke $(BENCH_ARGS)
bench-plot:
	gnuplot -e "dir='$(BUILD)/bench/results'" $(TOP)/bench/plot.gp
bench-profile:
	$(TOP)/bench/profile $(BENCH_ARGS)
