#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The netlink fuzzer against the real module.  Runs INSIDE the VM
# (tests/run --only fuzz), from the repository:
#
#   e4 ext4 /mnt/e4, xfs /mnt/xfs, bt btrfs /mnt/bt     real targets the
#   fuzzer may name (as root they really freeze; it thaws at once), also
#   by block device and by a regular file inside
#
#   build/reliability/nl_fuzz: ROOT_COUNT messages as root, NOBODY_COUNT as
#   nobody (its KTAP results become ours), then: nothing frozen, each
#   filesystem unmounts and its superblock is really gone (no reference
#   leaked), the module unloads and loads again, no warning in dmesg
#
#   fuzz-guest.sh    (SF_SEED: the seed; SF_LONG=1: the long counts)
set -u

# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"
ROOT_COUNT=$(by_length 40000 300000)
NOBODY_COUNT=$(by_length 20000 100000)

FS=(e4 xfs bt)

cleanup() {
	module_reset
	for n in "${FS[@]}"; do umount "/mnt/$n" 2>/dev/null; done
	module_load 2>/dev/null
}
trap cleanup EXIT

# sb_alive NAME DEV: the filesystem's superblock still exists (ext4 and
# xfs list it by device, btrfs by fsid, for as long as it lives).
sb_alive() {
	local d=${2#/dev/}
	case $1 in
	e4) [ -e "/proc/fs/ext4/$d" ] ;;
	xfs) [ -e "/sys/fs/xfs/$d" ] ;;
	bt) [ -n "$BT_FSID" ] && [ -e "/sys/fs/btrfs/$BT_FSID" ] ;;
	esac
}

ktap_print_header
ktap_set_plan 13
since=$(dmesg_lines)
ok=1
mount_disks "${FS[@]}" || ok=0
echo x >/mnt/e4/regular
BT_FSID=$(btrfs filesystem show /mnt/bt 2>/dev/null | sed -nE 's/.*uuid: ([0-9a-f-]+).*/\1/p')
module_load || ok=0
alive=1
for n in "${FS[@]}"; do sb_alive "$n" "$(dev_of "$n")" || alive=0; done
ktap_test_result "setup: ext4, xfs and btrfs mounted, their superblocks visible in /proc/fs and /sys/fs, module loaded" \
	[ "$ok$alive" = 11 ]

t0=$SECONDS
"$BIN/nl_fuzz" --seed "$SEED" --count "$ROOT_COUNT" --nobody-count "$NOBODY_COUNT" \
	--time-limit 900 --dir /tmp --target /mnt/e4 --target /mnt/xfs --target /mnt/bt \
	--target "$(dev_of e4)" --target /mnt/e4/regular >/tmp/sf-rel-fuzz.out 2>&1
frc=$?
dt=$((SECONDS - t0))
# Its results are ours: diagnostics and result lines, renumbered.
nres=0
while IFS= read -r l; do
	case $l in
	"ok "[0-9]*) nres=$((nres + 1)); ktap_test_pass "nl_fuzz: $(sed -E 's/^ok [0-9]+ //' <<<"$l")" ;;
	"not ok "*) nres=$((nres + 1)); ktap_test_fail "nl_fuzz: $(sed -E 's/^not ok ([0-9]+ )?//' <<<"$l")" ;;
	"# Totals"* | "TAP version"* | 1..*) ;;
	"# "*) ktap_print_msg "${l#\# }" ;;
	esac
done </tmp/sf-rel-fuzz.out
for ((; nres < 6; nres++)); do ktap_test_fail "nl_fuzz: a result never reported (exit $frc)"; done
ktap_print_msg "nl_fuzz: $((ROOT_COUNT + NOBODY_COUNT)) messages in $dt s (exit $frc)"

ktap_test_result "nothing frozen after the fuzzing (state $(state))" [ "$(state)" = idle ]
for n in "${FS[@]}"; do
	d=$(dev_of "$n")
	if umount "/mnt/$n" 2>/tmp/sf-rel-umount.err; then
		if sb_alive "$n" "$d"; then
			ktap_test_fail "$n: unmounted, but its superblock lives on: a reference leaked"
		else
			ktap_test_pass "$n: unmounts, and its superblock is gone (no reference leaked)"
		fi
	else
		ktap_test_fail "$n: unmounts ($(cat /tmp/sf-rel-umount.err))"
	fi
done
if rmmod snapfreeze 2>/tmp/sf-rel-rmmod.err && module_load; then
	ktap_test_pass "the module unloads and loads again"
else
	ktap_test_fail "the module unloads and loads again ($(cat /tmp/sf-rel-rmmod.err))"
fi
if kernel_clean "$since"; then
	ktap_test_pass "the kernel logged no warning, oops or hung task"
else
	ktap_test_fail "the kernel logged no warning, oops or hung task"
fi
ktap_finished
