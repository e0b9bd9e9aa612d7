#!/bin/bash
# Guest side of tests/frozen-root: runs as PID 1's command in a guest
# booted from an ext4 root disk (vm-run --root-disk), which has the module
# at /sf/snapfreeze.ko and the helper at /usr/sbin/snapfreeze.  KTAP through
# /sf/ktap.sh (the repository's tests/lib/ktap.sh, copied in).
#
#   /dev/vda  ext4 root  <- frozen by pre-script --include-root; a writer
#                           loop and this script block on it; the kernel's
#                           deadline (SF_FR_TIMEOUT s) thaws it
#   /dev/vdb  ext4 data  <- a plain freeze/thaw cycle first
#
# The marker this script writes once the deadline has thawed / stays on the
# disk; the host reads it from the image after power-off.
set -u
T=${SF_FR_TIMEOUT:-8}
# shellcheck source=tests/lib/ktap.sh
. /sf/ktap.sh
ms() { echo $(($(date +%s%N) / 1000000)); }
state() { cat /sys/kernel/snapfreeze/state; }
uuid() { cat /proc/sys/kernel/random/uuid; }

ktap_print_header
ktap_set_plan 8
ktap_print_msg "kernel $(uname -r), root $(findmnt -no SOURCE,FSTYPE /)"

# Test that the module loads on this kernel.
insmod /sf/snapfreeze.ko || ktap_exit_fail_msg "insmod snapfreeze.ko failed"
ktap_test_pass "insmod snapfreeze.ko (freeze_hold: $(cat /sys/kernel/snapfreeze/freeze_hold))"

# Test a freeze/thaw cycle of a data disk with the helper.
data=
for d in ${SF_DISKS:-}; do
	case $d in data:*) data=${d##*:} ;; esac
done
if [ -n "$data" ] && mkdir -p /mnt/data && mount "$data" /mnt/data; then
	id=$(uuid)
	snapfreeze pre-script --execution-id "$id" --timeout 60 --target /mnt/data
	rc=$?
	st=$(state)
	snapfreeze post-script --execution-id "$id"
	rc2=$?
	ktap_print_msg "data disk: pre-script exit $rc (state $st), post-script exit $rc2 (state $(state))"
	ktap_test_result "pre-script and post-script freeze and thaw an ext4 data disk" \
		test "$rc/$st/$rc2/$(state)" = "0/frozen/0/idle"
	echo written >/mnt/data/after-thaw && umount /mnt/data
else
	ktap_test_fail "pre-script and post-script freeze and thaw an ext4 data disk"
fi

# Test that pre-script --include-root freezes / (discovered: the only
# read-write block-device filesystem left mounted).
echo before >/frozen-root-before
sync
# A writer appending a timestamp to the root filesystem every 0.2 s: it
# stops while / is frozen and resumes by itself after the deadline.
(while :; do ms >>/var/tmp/sf-writer.log; sleep 0.2; done) &
writer=$!
sleep 1
id=$(uuid)
t0=$(ms)
snapfreeze pre-script --execution-id "$id" --include-root --timeout "$T"
rc=$?
tf=$(ms)
st=$(state)
targets=$(cat /sys/kernel/snapfreeze/targets)
ktap_print_msg "pre-script exit $rc after $((tf - t0)) ms, state $st, targets: $targets"
if [ "$rc" = 0 ] && [ "$st" = frozen ] && grep -qE "^/( |$)" <<<"$targets"; then
	ktap_test_pass "pre-script --include-root froze /"
else
	ktap_test_fail "pre-script --include-root froze /"
fi

# Test that a write to the frozen root blocks until the kernel's deadline
# thaws it (nothing in userspace thaws it: this script is blocked too).
echo "after $(ms)" >/frozen-root-marker
t1=$(ms)
blocked=$((t1 - tf))
ktap_print_msg "the write to / returned after $blocked ms (deadline ${T} s after freezing)"
# The marker: written once / is thawed, it says how long the write waited.
echo "blocked $blocked" >>/frozen-root-marker
# A generous lower bound: the deadline counts from before the first freeze.
if [ "$rc" = 0 ] && [ "$blocked" -ge $((T * 1000 - 2000)) ]; then
	ktap_test_pass "a write to the frozen / blocked until the deadline ($blocked ms)"
else
	ktap_test_fail "a write to the frozen / blocked until the deadline ($blocked ms)"
fi

# Test that the kernel reports the auto-thaw.
st=$(state)
ktap_print_msg "after the write: state $st, auto_thaws $(cat /sys/kernel/snapfreeze/auto_thaws)"
ktap_test_result "the kernel auto-thawed / (state auto-thawed)" test "$st" = auto-thawed

# Test that the writer loop was stopped for the freeze and resumed.
sleep 1
kill "$writer"
wait "$writer" 2>/dev/null
gap=$(awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }' /var/tmp/sf-writer.log)
after=$(awk -v t="$t1" '$1 >= t' /var/tmp/sf-writer.log | wc -l)
ktap_print_msg "writer: longest pause $gap ms, $after write(s) after the thaw"
if [ "$gap" -ge $((T * 1000 - 2000)) ] && [ "$after" -gt 0 ]; then
	ktap_test_pass "a writer on / paused for the freeze and resumed by itself"
else
	ktap_test_fail "a writer on / paused for the freeze and resumed by itself"
fi

# Test that post-script then reports the auto-thaw (203) and the module is
# idle again.
snapfreeze post-script --execution-id "$id"
rc=$?
ktap_test_result "post-script after the auto-thaw exits 203 (exit $rc)" test "$rc" = 203
sync
rmmod snapfreeze
ktap_test_result "rmmod snapfreeze" test ! -e /sys/kernel/snapfreeze
ktap_finished
