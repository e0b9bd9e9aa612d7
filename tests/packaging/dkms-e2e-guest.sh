#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/packaging/dkms-e2e: a Debian 12 instance image
# (tests/packaging/guest-image) booted from its root disk, the two .deb
# files in /sf/debs, an ext4 data disk.  KTAP through /sf/ktap.sh (the
# repository's tests/lib/ktap.sh, copied in).
#
#   dkms-e2e-guest.sh install   first boot, the image's kernel (6.1):
#       apt-get install ./snapfreeze*.deb  (dkms and the libraries come from
#       the image's offline mirror; DKMS builds the module)
#       modprobe snapfreeze, then the genetlink autoload; a pre-script /
#       post-script cycle; then the kernel upgrade:
#       apt-get install linux-image-6.12-cloud-amd64 linux-headers-6.12-...
#       (DKMS's kernel hook builds the module for it)
#   dkms-e2e-guest.sh upgraded  second boot, on the new kernel: modprobe
#       loads what DKMS built for it; a cycle
set -u
STAGE=${1:?install or upgraded}
VERSION=$(cat /sf/VERSION)
# shellcheck source=tests/lib/ktap.sh
. /sf/ktap.sh
state() { cat /sys/kernel/snapfreeze/state 2>/dev/null || echo none; }
log() { # log FILE: the end of a command's output, as diagnostics
	ktap_print_msg "$(tail -n "${2:-15}" "$1" | sed 's/^/| /')"
}
KREL=$(uname -r)
ktap_print_header
case $STAGE in install) ktap_set_plan 6 ;; *) ktap_set_plan 2 ;; esac
ktap_print_msg "kernel $KREL, stage $STAGE, snapfreeze $VERSION"
export DEBIAN_FRONTEND=noninteractive

# What udev or systemd sets up on an instance and vm-run's guest lacks:
# /dev/fd, without which bash's <(...) and so dkms fail.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do
	[ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"
done
# dpkg without an fsync per file: this disk is thrown away after the test,
# and under TCG the fsyncs of a kernel's thousands of files take many
# minutes. It changes nothing DKMS does.
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/sf-test-unsafe-io
# step NAME: a timestamp, to see where the minutes go.
T0=$SECONDS
step() { ktap_print_msg "[$((SECONDS - T0)) s] $*"; }

# build_time KREL: when DKMS's build for KREL started and ended.
build_time() {
	local l=/var/lib/dkms/snapfreeze/$VERSION/$1/x86_64/log/make.log
	[ -f "$l" ] && ktap_print_msg "dkms build for $1: started $(sed -n 2p "$l"), make.log written $(date -r "$l")"
}

# loaded_from: where the loaded module came from, if it is DKMS's build
# for the running kernel of this VERSION.
dkms_module_loaded() {
	local path
	path=$(modinfo -n snapfreeze 2>/dev/null)
	ktap_print_msg "modinfo -n: $path; loaded version $(cat /sys/module/snapfreeze/version 2>/dev/null)"
	[ -d /sys/module/snapfreeze ] &&
		[ "$(cat /sys/module/snapfreeze/version)" = "$VERSION" ] &&
		[[ $path == /lib/modules/$KREL/updates/dkms/snapfreeze.ko* ]]
}

# cycle NAME: pre-script freezes the data disk (a write waits), post-script
# thaws it (the write completes), with the installed helper.
cycle() {
	local name=$1 id rc rc2 st blocked=no data=
	for d in ${SF_DISKS:-}; do
		case $d in data:*) data=${d##*:} ;; esac
	done
	mkdir -p /mnt/data
	if [ -z "$data" ] || ! mount "$data" /mnt/data; then
		ktap_test_fail "$name (no data disk)"
		return
	fi
	id=$(cat /proc/sys/kernel/random/uuid)
	/usr/sbin/snapfreeze pre-script --execution-id "$id" --timeout 120 --target /mnt/data
	rc=$?
	st=$(state)
	(echo "$STAGE" >/mnt/data/written && touch /tmp/write-done) &
	sleep 2
	[ -e /tmp/write-done ] || blocked=yes
	/usr/sbin/snapfreeze post-script --execution-id "$id"
	rc2=$?
	wait
	ktap_print_msg "$name: pre-script exit $rc (state $st), a write blocked: $blocked, post-script exit $rc2 (state $(state))"
	ktap_test_result "$name" test "$rc/$st/$blocked/$rc2/$(state)/$(cat /mnt/data/written)" = \
		"0/frozen/yes/0/idle/$STAGE"
	rm -f /tmp/write-done
	umount /mnt/data
}

case $STAGE in
install)
	# Test that apt installs the two packages from their .deb files, with
	# dkms and the libraries from the mirror, and DKMS builds the module
	# for the running kernel on the way.
	step "apt-get install ./snapfreeze*.deb"
	t=$SECONDS
	apt-get install -y --no-install-recommends /sf/debs/snapfreeze_*.deb \
		/sf/debs/snapfreeze-dkms_*.deb >/tmp/install.log 2>&1
	rc=$?
	ktap_print_msg "apt-get install of the two .deb files: exit $rc after $((SECONDS - t)) s"
	log /tmp/install.log
	ktap_print_msg "dkms status: $(dkms status snapfreeze 2>&1 | tr '\n' ';')"
	build_time "$KREL"
	ktap_test_result "apt-get install ./snapfreeze*.deb: DKMS built and installed the module for $KREL" \
		bash -c '[ "$1" = 0 ] && dkms status -m snapfreeze -v "$2" -k "$3" | grep -q ": installed"' \
		_ "$rc" "$VERSION" "$KREL"

	# Test that modprobe loads what DKMS installed.
	step "modprobe"
	modprobe snapfreeze
	ktap_test_result "modprobe snapfreeze loads the DKMS module ($VERSION, updates/dkms)" dkms_module_loaded

	# Test that, unloaded, the helper's first request loads it again (the
	# genetlink family's module alias, or the helper's libkmod).
	rmmod snapfreeze
	/usr/sbin/snapfreeze status >/tmp/status.out 2>&1
	rc=$?
	ktap_print_msg "snapfreeze status with the module unloaded: exit $rc"
	log /tmp/status.out 4
	ktap_test_result "the first request loads the module by itself (status exit $rc)" \
		bash -c '[ "$1" = 0 ] && [ -d /sys/module/snapfreeze ]' _ "$rc"

	# Test a full cycle with the installed helper and module.
	cycle "pre-script/post-script cycle on $KREL from the installed packages"

	# Test that the helper's files are where the package put them.
	ktap_test_result "man pages, completion and SSM document installed" test -f \
		/usr/share/man/man8/snapfreeze-module.8.gz -a -f /usr/share/man/man8/snapfreeze.8.gz \
		-a -f /usr/share/bash-completion/completions/snapfreeze \
		-a -f /usr/share/snapfreeze/ssm/snapfreeze.yaml

	# Test that a kernel upgrade (image and headers from the mirror) makes
	# DKMS build the module for the new kernel, with no step of ours.
	step "apt-get install the 6.12 kernel"
	t=$SECONDS
	# INITRD=No: no initramfs for the new kernel (vm-run boots its own);
	# this saves minutes under TCG and changes nothing for DKMS.
	INITRD=No apt-get install -y --no-install-recommends \
		linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64 >/tmp/upgrade.log 2>&1
	rc=$?
	new=$(ls /lib/modules | grep '^6\.12\.' | sort -V | tail -n 1)
	ktap_print_msg "apt-get install of the 6.12 kernel ($new): exit $rc after $((SECONDS - t)) s"
	log /tmp/upgrade.log 20
	ktap_print_msg "dkms status: $(dkms status snapfreeze 2>&1 | tr '\n' ';')"
	build_time "$new"
	ktap_test_result "kernel upgrade: DKMS built and installed the module for ${new:-6.12}" \
		bash -c '[ "$1" = 0 ] && [ -n "$3" ] && dkms status -m snapfreeze -v "$2" -k "$3" | grep -q ": installed" &&
			ls /lib/modules/"$3"/updates/dkms/snapfreeze.ko*' _ "$rc" "$VERSION" "$new"
	rmmod snapfreeze 2>/dev/null
	sync
	step "done"
	;;
upgraded)
	# Test that the second boot runs the new kernel and modprobe loads
	# what DKMS built for it.
	modprobe snapfreeze
	ktap_test_result "booted $KREL; modprobe snapfreeze loads its DKMS module" dkms_module_loaded

	# Test a full cycle on the new kernel.
	cycle "pre-script/post-script cycle on $KREL after the upgrade"
	rmmod snapfreeze
	;;
esac
ktap_finished
