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
#   make w1            W=1 build against KDIR, failing on any warning
#   make w1-series KVER=S  W=1 build for series S alone, failing on any warning
#   make matrix        every series: W=1 build and full suite, one table
#   make lint          the quality gates alone: checkpatch --strict, sparse,
#                      a W=1 build, all of them warning-free
#   make debug-kernel  build (once, cached outside the repo) a 6.12+ kernel
#                      with KASAN, lockdep, kmemleak, debug objects and fault
#                      injection (tests/kernels/debug-kernel)
#   make check-debug   the whole suite on that kernel; any detector report,
#                      or a kmemleak report naming snapfreeze, fails it
#   make check-cloud   Debian's cloud kernels 6.1 and 6.12 (no 9p): boot
#                      from a root disk, load, freeze/thaw, frozen root
#   make test          the VM test suite alone
#   make demo          a freeze/thaw cycle of three filesystems in the VM
#   make install       install the helper (/usr/sbin/snapfreeze), its man
#                      pages and the application hooks (available in
#                      /usr/lib/snapfreeze/hooks, none enabled: docs/hooks.md);
#                      DKMS installs the module (README.md)
#   make check-apps    the application hooks against real PostgreSQL and
#                      MariaDB servers in VMs, IRIS and SAP HANA against
#                      stand-ins (tests/apps/run; 37 minutes on a loaded
#                      2-core machine, the two VMs side by side)
#   make install-module install the module for KDIR's kernel, without DKMS

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build

# The kernel the VM boots by default (tests/kernels/host-krel decides, for
# tests/run as well): the newest installed kernel with both an image and
# headers (on a Debian 12 build host, bookworm's linux-image-amd64).
VM_KREL ?= $(shell $(TOP)/tests/kernels/host-krel)
VM_KDIR := /lib/modules/$(VM_KREL)/build

ifneq ($(wildcard /lib/modules/$(shell uname -r)/build),)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= $(VM_KDIR)
endif

# Debian's linux-source tarball (checkpatch here, the kselftest harness in
# tests/Makefile, the debug kernel): tests/lib/linux-source picks it (the
# newest /usr/src/linux-source-*.tar.xz, or LINUX_SOURCE_TAR) and unpacks
# what is asked into build/linux-source/VERSION/.
LINUX_SOURCE := $(TOP)/tests/lib/linux-source
export LINUX_SOURCE_TAR
NO_DIAGNOSTICS := $(TOP)/tests/lib/no-diagnostics

KMOD_SRCS := $(wildcard $(TOP)/kmod/*.c $(TOP)/kmod/*.h) $(TOP)/kmod/Kbuild
LINT_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) \
	include/uapi/linux/snapfreeze.h

.PHONY: all module user tests lint checkpatch sparse w1 w1-series check test \
	demo matrix install install-module clean debug-kernel check-debug \
	check-cloud check-apps

# Kernel series for check/w1/test (tests/kernels/README.md); empty: the
# installed kernel, as always.
KVER ?=
KERNELS := $(TOP)/tests/kernels

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
checkpatch:
	@ksrc=$$($(LINUX_SOURCE) extract '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch') && \
	echo "checkpatch from $$ksrc" && \
	$$ksrc/scripts/checkpatch.pl --strict --no-tree --quiet --show-types \
		-f $(LINT_SRCS)

# Both build the module from scratch so that every file is checked, and fail
# on any diagnostic, not only on errors (tests/lib/no-diagnostics).
sparse w1:
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean >/dev/null
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod $(if $(filter sparse,$@),C=2,W=1) \
		modules 2>$(BUILD)/$@.log; rc=$$?; cat $(BUILD)/$@.log; \
	$(NO_DIAGNOSTICS) $@ $(BUILD)/$@.log $$rc

$(BUILD):
	@mkdir -p $@

sparse w1: | $(BUILD)

# W=1 for the series KVER, built where tests/kernels/prepare decided (host
# or the series' chroot).
w1-series:
	@test -n "$(KVER)" || { echo "w1-series needs KVER=SERIES" >&2; exit 2; }
	$(KERNELS)/w1 $(KVER)

lint: checkpatch sparse w1 $(if $(KVER),w1-series)

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

# The debug kernel: built once per linux-source version and config fragment,
# cached in $$SF_DEBUG_KERNEL_CACHE, $$SF_KERNEL_CACHE/debug-kernel or
# /var/cache/snapfreeze/debug-kernel. It is the kernel series `debug` of
# tests/kernels (prepare, build-module, w1 and tests/run all take it).
debug-kernel:
	$(KERNELS)/debug-kernel

check-debug: user tests debug-kernel
	SF_SERIES=debug $(TOP)/tests/run

# Debian's cloud kernels (no 9p): module load, freeze/thaw, a frozen root
# (tests/frozen-root, a guest booted from a root disk), 6.1 and 6.12.
check-cloud: user
	SF_SERIES=cloud-6.1 $(TOP)/tests/frozen-root
	SF_SERIES=cloud-6.12 $(TOP)/tests/frozen-root

demo: KDIR := $(VM_KDIR)
demo: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/demo

install: user
	install -D -m 0755 $(TOP)/user/snapfreeze $(DESTDIR)$(PREFIX)/sbin/snapfreeze
	install -D -m 0644 $(TOP)/docs/snapfreeze.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/snapfreeze.8
	install -d $(DESTDIR)/etc/snapfreeze/hooks.d
	install -d $(DESTDIR)$(PREFIX)/lib/snapfreeze/hooks
	install -m 0755 $(addprefix $(TOP)/hooks/,$(APP_HOOKS)) \
		$(DESTDIR)$(PREFIX)/lib/snapfreeze/hooks/
	install -D -m 0644 $(TOP)/docs/snapfreeze-hooks.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/snapfreeze-hooks.5

# Application hooks (docs/hooks.md): installed, enabled by a symlink in
# /etc/snapfreeze/hooks.d.  check-apps proves them on real servers in VMs;
# too long for `make check`, run by .ci/run.
APP_HOOKS := postgresql mysql iris hana

check-apps: KDIR := $(VM_KDIR)
check-apps: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/apps/run

install-module: module
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules_install
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

# The helper's option fuzzer (tests/fuzz/, clang-14): a bounded run that
# the test suite can take, and a long one.  KTAP on stdout.
.PHONY: fuzz-options fuzz-options-long
fuzz-options:
	@$(MAKE) -s --no-print-directory -C $(TOP)/tests/fuzz run FUZZ_TIME=45
fuzz-options-long:
	@$(MAKE) -s --no-print-directory -C $(TOP)/tests/fuzz run FUZZ_TIME=1800

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean
	$(MAKE) -C $(TOP)/user clean
	rm -rf $(BUILD)

# --- check-long: the reliability suite with its long counts ----------------
# (tests/reliability/README.md, docs/reliability.md): 1,000 freeze/thaw
# cycles, 600 SIGKILLed helpers, 400,000 fuzzed netlink messages, 24
# consistency rounds.  `make check` runs the same suite with short counts.
# KVER=S runs it on Debian's series S, as `make check KVER=S` does.
.PHONY: check-long
ifeq ($(KVER),)
check-long: KDIR := $(VM_KDIR)
check-long: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/reliability/run --long
else
check-long: user tests
	$(KERNELS)/build-module $(KVER)
	SF_SERIES=$(KVER) $(TOP)/tests/reliability/run --long
endif

# ---------------------------------------------------------------- packaging
# Debian and RPM packages, DKMS, the spec's and the version's checks
# (tests/packaging/README.md).  The version is written once, in VERSION.
#
#   make install-dkms  the module's sources for DKMS in /usr/src/snapfreeze-V
#   make deb           dpkg-buildpackage: build/deb/*.deb (packaging/build-deb)
#   make rpm           rpmbuild: build/rpm/RPMS/*/*.rpm (build-tested only)
#   make check-packaging  every packaging test, the VM ones included
#                      (tests/packaging/run; about 15 minutes)
SF_VERSION := $(shell cat $(TOP)/VERSION)
DKMS_DIR := /usr/src/snapfreeze-$(SF_VERSION)
DKMS_SRCS := $(filter-out %.mod.c,$(wildcard $(TOP)/kmod/*.[ch])) $(TOP)/kmod/Kbuild

.PHONY: install-extras install-dkms deb rpm check-version check-netlink-spec \
	check-packaging

# What `make install` adds for the packages: the module's man page, the
# bash completion, the SSM document and policy, the netlink spec (for the
# kernel's YNL client).
install: install-extras
install-extras:
	install -D -m 0644 $(TOP)/docs/snapfreeze-module.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/snapfreeze-module.8
	install -D -m 0644 $(TOP)/docs/netlink/snapfreeze.yaml \
		$(DESTDIR)$(PREFIX)/share/snapfreeze/netlink/snapfreeze.yaml
	install -D -m 0644 $(TOP)/contrib/bash-completion/snapfreeze \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/snapfreeze
	install -d $(DESTDIR)$(PREFIX)/share/snapfreeze/ssm
	install -m 0644 $(TOP)/ssm/snapfreeze.yaml $(TOP)/ssm/policy-example.json \
		$(DESTDIR)$(PREFIX)/share/snapfreeze/ssm/

# Only what dkms.conf builds: dkms.conf (the version put in), VERSION,
# Kbuild, kmod/ and include/.
install-dkms:
	install -d $(DESTDIR)$(DKMS_DIR)/kmod $(DESTDIR)$(DKMS_DIR)/include/uapi/linux
	sed 's/#MODULE_VERSION#/$(SF_VERSION)/' $(TOP)/dkms.conf.in \
		>$(DESTDIR)$(DKMS_DIR)/dkms.conf
	install -m 0644 $(TOP)/VERSION $(TOP)/Kbuild $(DESTDIR)$(DKMS_DIR)/
	install -m 0644 $(DKMS_SRCS) $(DESTDIR)$(DKMS_DIR)/kmod/
	install -m 0644 $(TOP)/include/uapi/linux/snapfreeze.h \
		$(DESTDIR)$(DKMS_DIR)/include/uapi/linux/

deb:
	$(TOP)/packaging/build-deb

rpm:
	$(TOP)/packaging/build-rpm

check-version:
	$(TOP)/scripts/check-version

check-netlink-spec:
	$(TOP)/scripts/check-netlink-spec

lint: check-version check-netlink-spec

check-packaging:
	$(TOP)/tests/packaging/run

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
	$(BENCH_RUN) --n "32" --budget 60 --out $(BUILD)/bench/results-long $(BENCH_ARGS)
bench-smoke:
	$(TOP)/bench/run --smoke $(BENCH_ARGS)
bench-plot:
	gnuplot -e "dir='$(BUILD)/bench/results'" $(TOP)/bench/plot.gp
bench-profile:
	$(TOP)/bench/profile $(BENCH_ARGS)
