#!/bin/bash
# Guest side of tests/kernels/boot-smoke: the kernel release, its fs
# modules, then mount, write and unmount every disk vm-run attached.
# Last line: "N passed, M failed".
set -u
pass=0
fail=0
echo "# kernel $(uname -r)"
echo "# fs modules: $(find "/lib/modules/$(uname -r)/kernel/fs" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')"
for d in ${SF_DISKS:-}; do
	IFS=: read -r name fs dev <<<"$d"
	mkdir -p "/mnt/$name"
	if mount -t "$fs" "$dev" "/mnt/$name" && echo hello >"/mnt/$name/f" && sync &&
		[ "$(cat "/mnt/$name/f")" = hello ] && umount "/mnt/$name"; then
		echo "ok - mount, write, umount $fs ($dev)"
		pass=$((pass + 1))
	else
		echo "not ok - mount, write, umount $fs ($dev)"
		fail=$((fail + 1))
	fi
done
echo "# modules loaded: $(lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
