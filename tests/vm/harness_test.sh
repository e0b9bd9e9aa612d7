#!/bin/bash
# Runs INSIDE a vm-run guest (tests/run-guest.sh runs it with the suite):
# tests of the guest environment itself, the things the suite's tests rely
# on. KTAP output, last line "# Totals: ...".
#
#   PID 1 (guest-stage2) --switch_root--> / = host root over 9p
#        |
#        +-- unshare -U [-n] as root and as nobody: needs a root that is
#        |   the mount namespace's own (no chroot)
#        +-- request_module() from the kernel: its usermode helper runs
#            the host's /sbin/modprobe in PID 1's root
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$HERE/../lib/ktap.sh"

SYSCTL_UNPRIV=/proc/sys/kernel/unprivileged_userns_clone
saved_unpriv=
cleanup() {
	if [ -n "$saved_unpriv" ]; then
		echo "$saved_unpriv" >"$SYSCTL_UNPRIV" 2>/dev/null || true
	fi
	umount /mnt/sf-harness-probe 2>/dev/null || true
	rmdir /mnt/sf-harness-probe 2>/dev/null || true
}
trap cleanup EXIT

ktap_print_header
ktap_set_plan 5

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# Test that root in the guest can create a user namespace: the guest's
# PID 1 is not chrooted, so neither is anything it starts.
ktap_test_result "unshare -U -r true as root" unshare -U -r true

# Test that root can create a user namespace with a network namespace.
ktap_test_result "unshare -U -r -n true as root" unshare -U -r -n true

# Debian's kernels gate unprivileged user namespaces behind a sysctl of
# their own (default on since bullseye); turn it on for the run if a host
# turned it off. Upstream kernels have no such sysctl.
unpriv_ok=1
if [ -r "$SYSCTL_UNPRIV" ] && [ "$(cat "$SYSCTL_UNPRIV")" != 1 ]; then
	saved_unpriv=$(cat "$SYSCTL_UNPRIV")
	if echo 1 >"$SYSCTL_UNPRIV"; then
		ktap_print_msg "kernel.unprivileged_userns_clone was $saved_unpriv, set to 1 for this run"
	else
		unpriv_ok=0
	fi
fi
max_userns=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)

# Test that an unprivileged user can create a user namespace.
# Test that an unprivileged user can create a user and a network namespace.
for extra in "" "-n"; do
	name="unshare -U -r${extra:+ $extra} true as nobody"
	if [ "$unpriv_ok" = 0 ] || [ "$max_userns" = 0 ]; then
		ktap_test_skip "$name" "this kernel forbids unprivileged user namespaces"
	else
		# shellcheck disable=SC2086 # $extra is one option or none
		ktap_test_result "$name" as_nobody unshare -U -r $extra true
	fi
done

# Test that the kernel's own module loading (request_module, run as a
# usermode helper in PID 1's root) reaches the modules of the running
# kernel: mounting a filesystem type that is a module and not loaded yet
# makes it appear in /proc/filesystems, even though the mount itself fails
# for want of a device.
fs=
for f in minix romfs cramfs qnx4 hfs; do
	if ! grep -qw "$f" /proc/filesystems &&
		modinfo -n "$f" >/dev/null 2>&1 && [ -z "$fs" ]; then
		fs=$f
	fi
done
name="request_module() from the kernel loads a filesystem module"
if [ -z "$fs" ]; then
	ktap_test_skip "$name" "no unloaded filesystem module to try (built-in kernel?)"
else
	mkdir -p /mnt/sf-harness-probe
	mount -t "$fs" none /mnt/sf-harness-probe >/dev/null 2>&1 || true
	if grep -qw "$fs" /proc/filesystems; then
		ktap_test_pass "$name ($fs)"
	else
		ktap_print_msg "mount -t $fs did not load it; /proc/sys/kernel/modprobe: $(cat /proc/sys/kernel/modprobe)"
		ktap_test_fail "$name ($fs)"
	fi
fi
ktap_finished
