#!/bin/bash
# The part boot-smoke (tests/parts): the kernel release, its fs
# modules, then mount, write and unmount every disk vm-run attached.
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...".
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ktap.sh"
ktap_print_header
ktap_set_plan "$(echo ${SF_DISKS:-} | wc -w)"
ktap_print_msg "kernel $(uname -r)"
ktap_print_msg "fs modules: $(find "/lib/modules/$(uname -r)/kernel/fs" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')"
for d in ${SF_DISKS:-}; do
	IFS=: read -r name fs dev <<<"$d"
	mkdir -p "/mnt/$name"
	# Test that this kernel mounts, writes and unmounts the filesystem.
	if mount -t "$fs" "$dev" "/mnt/$name" && echo hello >"/mnt/$name/f" && sync &&
		[ "$(cat "/mnt/$name/f")" = hello ] && umount "/mnt/$name"; then
		ktap_test_pass "mount, write, umount $fs ($dev)"
	else
		ktap_test_fail "mount, write, umount $fs ($dev)"
	fi
done
ktap_print_msg "modules loaded: $(lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')"
ktap_finished
