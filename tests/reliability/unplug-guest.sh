#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the hot-unplug test (host side: tests/reliability/unplug,
# which removes a disk with QMP device_del when asked).  Runs
# INSIDE the VM, from the repository:
#
#   vda a   ext4  /mnt/a    stays; writer a
#   vdb u1  ext4  /mnt/u1   unplugged while frozen, then post-script
#   vdc u2  ext4  /mnt/u2   unplugged while frozen, then the deadline
#
#   pre-script --target /mnt/a --target /mnt/uN        (writers block)
#   SIG/unplug-uN  ->  host: device_del uN
#   the guest waits for the disk to leave /sys/block (nothing may hang)
#   u1: post-script;  u2: the auto-thaw deadline, then post-script (203)
#   then: nothing frozen, writer a resumes, the writer on the dead disk can
#   be stopped, the dead filesystem unmounts, and at the end the module
#   unloads (it holds no superblock) and dmesg has no warning
#
#   unplug-guest.sh SIGDIR
set -u

SIG=$1
# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"

DEADLINE_S=10

cleanup() {
	writers_stop
	module_reset
	for m in /mnt/a /mnt/u1 /mnt/u2; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	: >"$SIG/guest-done"
}
trap cleanup EXIT

wait_gone() {	# wait_gone DEV SECONDS: the block device left /sys/block
	local end=$((SECONDS + $2))
	while [ -e "/sys/block/${1#/dev/}" ]; do
		[ "$SECONDS" -le "$end" ] || return 1
		msleep 100
	done
}

ktap_print_header
ktap_set_plan 16
since=$(dmesg_lines)
ok=1
mount_disks a u1 u2 || ok=0
module_load || ok=0
ktap_test_result "setup: three ext4 disks mounted, module loaded" [ "$ok" = 1 ]
writer_start a append /mnt/a/w 200

# unplug_case NAME HOW: HOW is post (post-script after the unplug) or
# deadline (the auto-thaw).
unplug_case() {
	local u=$1 how=$2 dev id rc t0 s end
	dev=$(dev_of "$u")
	id=$(uuid "$((${u#u} + 100))")
	writer_start "$u" append "/mnt/$u/w" 200
	sleep 1
	helper pre-script --execution-id "$id" --timeout "$DEADLINE_S" \
		--target /mnt/a --target "/mnt/$u" >/tmp/sf-rel-unplug.out 2>&1
	rc=$?
	ktap_test_result "$u: pre-script froze /mnt/a and /mnt/$u (exit $rc)" [ "$rc" = 0 ]
	t0=$SECONDS
	: >"$SIG/unplug-$u"
	if wait_gone "$dev" 30; then
		ktap_test_pass "$u: the frozen disk $dev was hot-unplugged within $((SECONDS - t0)) s, nothing hung"
	else
		ktap_test_fail "$u: the frozen disk $dev was hot-unplugged within 30 s"
	fi
	if [ "$how" = post ]; then
		helper post-script --execution-id "$id" >/tmp/sf-rel-unplug.out 2>&1
		rc=$?
		ktap_print_msg "$u: post-script after the unplug: exit $rc: $(grep -E 'ERROR|thawed' /tmp/sf-rel-unplug.out | head -n 2 | tr '\n' ' ')"
		s=$(state)
		if [ "$rc" = 0 ] && [ "$s" = idle ]; then
			ktap_test_pass "$u: post-script thawed the set with the disk gone (exit 0, state idle)"
		else
			ktap_test_fail "$u: post-script thawed the set with the disk gone (exit $rc, state $s)"
		fi
	else
		if wait_state auto-thawed $((DEADLINE_S + 10)); then
			ktap_test_pass "$u: the deadline thawed the set with the disk gone, $((SECONDS - t0)) s after the unplug"
		else
			ktap_test_fail "$u: the deadline thawed the set with the disk gone (state $(state) after $((SECONDS - t0)) s)"
		fi
		helper post-script --execution-id "$id" >/tmp/sf-rel-unplug.out 2>&1
		rc=$?
		s=$(state)
		ktap_test_result "$u: post-script reports the auto-thaw (exit $rc, want 203) and the set is idle ($s)" \
			[ "$rc.$s" = 203.idle ]
	fi
	ktap_test_result "$u: writer a on the surviving disk resumes" writer_moves a 10
	# The writer on the dead disk is not stuck in the kernel: it ends.
	kill -TERM "$(cat "$WDIR/$u.pid")" 2>/dev/null
	end=$((SECONDS + 10))
	while kill -0 "$(cat "$WDIR/$u.pid")" 2>/dev/null && [ "$SECONDS" -le "$end" ]; do
		msleep 100
	done
	if kill -0 "$(cat "$WDIR/$u.pid")" 2>/dev/null; then
		ktap_test_fail "$u: the writer on the dead disk ends when asked"
		ktap_print_msg "$(grep -E '^(State|Name)' "/proc/$(cat "$WDIR/$u.pid")/status" | tr '\n' ' ')"
	else
		ktap_test_pass "$u: the writer on the dead disk ends when asked ($(tail -c 200 "$WDIR/$u.err" | tr '\n' ' '))"
	fi
	if timeout 30 umount "/mnt/$u" 2>/tmp/sf-rel-umount.err; then
		ktap_test_pass "$u: the dead filesystem unmounts"
	else
		ktap_test_fail "$u: the dead filesystem unmounts ($(cat /tmp/sf-rel-umount.err))"
		umount -l "/mnt/$u" 2>/dev/null
	fi
}

unplug_case u1 post
unplug_case u2 deadline

writers_stop
umount /mnt/a
ktap_test_result "the module unloads afterwards: it holds no superblock (refcnt $(cat /sys/module/snapfreeze/refcnt 2>/dev/null))" \
	rmmod snapfreeze
if kernel_clean "$since"; then
	ktap_test_pass "the kernel logged no warning, oops or hung task"
else
	ktap_test_fail "the kernel logged no warning, oops or hung task"
fi
ktap_finished
