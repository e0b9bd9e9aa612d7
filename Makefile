# SPDX-License-Identifier: GPL-2.0
#
# snapfreeze: kernel module, helper, tests, packages and quality gates.
# Every target, one line each (README.md has the long story):
#
# Build
#   all (default)      the module, the helper and the test programs
#   module             kmod/snapfreeze.ko for KDIR (the running kernel when
#                      its headers are installed, else the VM's kernel)
#   user               the helper, user/snapfreeze
#   tests              the test programs (build/tests/)
#   clean              remove what the build made
#
# Quality gates
#   lint               checkpatch --strict, sparse, a W=1 build (each free of
#                      any diagnostic), the version, the generated ABI, the
#                      tests' program table; with KVER also w1-series
#   checkpatch sparse w1   one gate each
#   w1-series KVER=S   W=1 build for Debian's series S alone
#   check-version check-abi check-programs   one check each (check-abi: the
#                      files `make regen` writes are what the spec generates)
#   regen              regenerate the ABI files from docs/netlink/snapfreeze.yaml
#                      with the kernel's ynl-gen-c (scripts/ynl-regen)
#
# Tests (KVER=5.10|6.1|6.12|7: on that Debian kernel series instead)
#   check              lint, then test
#   test               the VM test suite (tests/run)
#   demo               a freeze/thaw cycle of three filesystems in the VM
#   matrix             every series: W=1 build and full suite, one table
#   check-long         the reliability suite with its long counts
#   check-cloud        Debian's cloud kernels 6.1 and 6.12 (no 9p): boot from
#                      a root disk, load, freeze/thaw, frozen root
#   check-apps         the application hooks against real PostgreSQL and
#                      MariaDB in VMs, IRIS and SAP HANA against stand-ins
#   check-packaging    every packaging test, the DKMS guest included
#   debug-kernel       build (once, cached outside the repo) a 6.12+ kernel
#                      with KASAN, lockdep, kmemleak and fault injection
#   check-debug        the whole suite on that kernel
#   fuzz-options fuzz-options-long   the helper's option fuzzer, 45 s / 30 min
#
# Install and package
#   install            the helper, its man pages, completion, SSM document,
#                      netlink spec and the application hooks (none enabled)
#   install-module     the module for KDIR's kernel, without DKMS
#   install-dkms       the module's sources for DKMS in /usr/src/snapfreeze-V
#   deb rpm            Debian packages (build/deb/), RPMs (build-tested only)
#
# Benchmark (bench/README.md; never gated on time)
#   bench bench-long bench-smoke bench-plot bench-profile

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
KERNELS := $(TOP)/tests/kernels

# The kernel the VM boots by default (tests/kernels/host-krel decides, for
# tests/run as well): the newest installed kernel with both an image and
# headers (on a Debian 12 build host, bookworm's linux-image-amd64).
VM_KREL ?= $(shell $(KERNELS)/host-krel)
VM_KDIR := /lib/modules/$(VM_KREL)/build

ifneq ($(wildcard /lib/modules/$(shell uname -r)/build),)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= $(VM_KDIR)
endif

# Kernel series for check/test/w1-series/check-long (tests/kernels/README.md);
# empty: the installed kernel.  tests/run builds the module for it.
KVER ?=
RUN := $(TOP)/tests/run $(if $(KVER),--kernel $(KVER))

# Debian's linux-source tarball (checkpatch here, the kselftest harness in
# tests/Makefile, the debug kernel): tests/lib/linux-source picks it (the
# newest /usr/src/linux-source-*.tar.xz, or LINUX_SOURCE_TAR) and unpacks
# what is asked into build/linux-source/VERSION/.
LINUX_SOURCE := $(TOP)/tests/lib/linux-source
export LINUX_SOURCE_TAR
NO_DIAGNOSTICS := $(TOP)/tests/lib/no-diagnostics

LINT_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) \
	include/uapi/linux/snapfreeze.h

PREFIX ?= /usr
DESTDIR ?=
# Application hooks (docs/hooks.md): installed, enabled by a symlink in
# /etc/snapfreeze/hooks.d.
APP_HOOKS := postgresql mysql iris hana

# The version is written once, in VERSION.
SF_VERSION := $(shell cat $(TOP)/VERSION)
DKMS_DIR := /usr/src/snapfreeze-$(SF_VERSION)
DKMS_SRCS := $(filter-out %.mod.c,$(wildcard $(TOP)/kmod/*.[ch])) $(TOP)/kmod/Kbuild

# The benchmark: BENCH_N, BENCH_RUNS, BENCH_METHODS, BENCH_ARGS pass on.
BENCH_N ?= 1 4 8 16
BENCH_RUNS ?= 5
BENCH_METHODS ?= a b c d
BENCH_RUN := $(TOP)/bench/run --runs "$(BENCH_RUNS)" --methods "$(BENCH_METHODS)"

.PHONY: all module user tests clean \
	lint checkpatch sparse w1 w1-series check-version check-abi regen \
	check-programs \
	check test demo matrix check-long check-cloud check-apps check-packaging \
	debug-kernel check-debug fuzz-options fuzz-options-long \
	install install-module install-dkms deb rpm \
	bench bench-long bench-smoke bench-plot bench-profile

# ------------------------------------------------------------------ build
all: module user tests

module:
	@test -d "$(KDIR)" || { echo "no kernel headers at KDIR=$(KDIR):" \
		"apt-get install linux-headers-amd64" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules

user:
	$(MAKE) -C $(TOP)/user

tests:
	$(MAKE) -C $(TOP)/tests
	$(MAKE) -C $(TOP)/tests/reliability

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean
	$(MAKE) -C $(TOP)/user clean
	rm -rf $(BUILD)

$(BUILD):
	@mkdir -p $@

# ---------------------------------------------------------- quality gates
lint: checkpatch sparse w1 $(if $(KVER),w1-series) check-version \
	check-abi check-programs

# checkpatch comes from Debian's linux-source package, never from the repo.
checkpatch:
	@ksrc=$$($(LINUX_SOURCE) extract '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch') && \
	echo "checkpatch from $$ksrc" && \
	$$ksrc/scripts/checkpatch.pl --strict --no-tree --quiet --show-types \
		-f $(LINT_SRCS)

# Both build the module from scratch so that every file is checked, and fail
# on any diagnostic, not only on errors (tests/lib/no-diagnostics).
sparse w1: | $(BUILD)
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean >/dev/null
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod $(if $(filter sparse,$@),C=2,W=1) \
		modules 2>$(BUILD)/$@.log; rc=$$?; cat $(BUILD)/$@.log; \
	$(NO_DIAGNOSTICS) $@ $(BUILD)/$@.log $$rc

# W=1 for the series KVER, built where tests/kernels/prepare decided (host
# or the series' chroot).
w1-series:
	@test -n "$(KVER)" || { echo "w1-series needs KVER=SERIES" >&2; exit 2; }
	$(KERNELS)/w1 $(KVER)

check-version:
	$(TOP)/scripts/check-version

# The ABI files generated from the netlink spec (scripts/ynl-regen says
# which): regen writes them, check-abi fails with a diff when regenerating
# would change any.
regen:
	$(TOP)/scripts/ynl-regen

check-abi:
	$(TOP)/scripts/ynl-regen --check

# Every package of the tests' program table is one install-deps installs.
check-programs:
	$(TOP)/tests/lib/needs --lint

# ------------------------------------------------------------------ tests
check: lint
	@$(MAKE) --no-print-directory test

# The suite's parts and sets are listed in tests/parts.
test: user tests
	$(RUN)

demo: KDIR := $(VM_KDIR)
demo: module user tests
	SF_KREL=$(VM_KREL) $(TOP)/tests/demo

matrix: user tests
	$(KERNELS)/matrix

# The reliability suite with its long counts (tests/reliability/README.md,
# docs/reliability.md): 1,000 freeze/thaw cycles, 600 SIGKILLed helpers,
# 400,000 fuzzed netlink messages, 24 consistency rounds.  make check runs
# the same suite with short counts.
check-long: user tests
	$(RUN) --long --set reliability

# Debian's cloud kernels (no 9p): module load, freeze/thaw, a frozen root
# (tests/frozen-root, a guest booted from a root disk), 6.1 and 6.12.
check-cloud: user tests
	$(TOP)/tests/run --set cloud --kernel cloud-6.1
	$(TOP)/tests/run --set cloud --kernel cloud-6.12

# The hooks on real servers in VMs (the two VMs side by side): too long for
# make check; .ci/run runs it when the budget allows.
check-apps: user tests
	$(RUN) --set apps --jobs 2

# Packages, DKMS, the spec read by YNL (tests/packaging/README.md).
check-packaging: user tests
	$(RUN) --set packaging

# The debug kernel: built once per linux-source version and config fragment,
# cached in $$SF_DEBUG_KERNEL_CACHE, $$SF_KERNEL_CACHE/debug-kernel or
# /var/cache/snapfreeze/debug-kernel. It is the kernel series `debug` of
# tests/kernels (prepare, build-module, w1 and tests/run all take it).
debug-kernel:
	$(KERNELS)/debug-kernel

check-debug: user tests debug-kernel
	$(TOP)/tests/run --kernel debug

# The helper's option fuzzer (tests/fuzz/, clang-14): a bounded run that
# the test suite takes, and a long one.  KTAP on stdout.
fuzz-options:
	@$(MAKE) -s --no-print-directory -C $(TOP)/tests/fuzz run FUZZ_TIME=45
fuzz-options-long:
	@$(MAKE) -s --no-print-directory -C $(TOP)/tests/fuzz run FUZZ_TIME=1800

# ---------------------------------------------------- install and package
# The helper and everything the snapfreeze package ships with it: man
# pages, the hooks (none enabled), the bash completion, the SSM document
# and policy, the netlink spec (for the kernel's YNL client).  DKMS
# installs the module (README.md).
install: user
	install -D -m 0755 $(TOP)/user/snapfreeze $(DESTDIR)$(PREFIX)/sbin/snapfreeze
	install -D -m 0644 $(TOP)/docs/snapfreeze.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/snapfreeze.8
	install -D -m 0644 $(TOP)/docs/snapfreeze-module.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/snapfreeze-module.8
	install -D -m 0644 $(TOP)/docs/snapfreeze-hooks.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/snapfreeze-hooks.5
	install -d $(DESTDIR)/etc/snapfreeze/hooks.d
	install -d $(DESTDIR)$(PREFIX)/lib/snapfreeze/hooks
	install -m 0755 $(addprefix $(TOP)/hooks/,$(APP_HOOKS)) \
		$(DESTDIR)$(PREFIX)/lib/snapfreeze/hooks/
	install -D -m 0644 $(TOP)/docs/netlink/snapfreeze.yaml \
		$(DESTDIR)$(PREFIX)/share/snapfreeze/netlink/snapfreeze.yaml
	install -D -m 0644 $(TOP)/contrib/bash-completion/snapfreeze \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/snapfreeze
	install -d $(DESTDIR)$(PREFIX)/share/snapfreeze/ssm
	install -m 0644 $(TOP)/ssm/snapfreeze.yaml $(TOP)/ssm/policy-example.json \
		$(DESTDIR)$(PREFIX)/share/snapfreeze/ssm/

install-module: module
	$(MAKE) -C $(KDIR) M=$(TOP)/kmod modules_install
	depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

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

# -------------------------------------------------------------- benchmark
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
