#!/bin/bash
# Inside the VM (see tests/demo): a pre-script/post-script cycle by hand.
#
#   /mnt/ext4  /mnt/xfs  /mnt/btrfs   three virtio disks, one set
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
sfctl=$top/build/tests/sfctl
id=5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6

say() { printf '\n== %s\n' "$*"; }

for d in $SF_DISKS; do
	IFS=: read -r name fstype dev <<<"$d"
	mkdir -p "/mnt/$name"
	mount -t "$fstype" "$dev" "/mnt/$name"
done
insmod "$top/kmod/snapfreeze.ko"
say "module loaded: $(modinfo -F alias "$top/kmod/snapfreeze.ko")"

say "pre-script: freeze three filesystems as one set (auto-thaw in 30 s)"
"$sfctl" freeze "$id" 30000 /mnt/ext4 /mnt/xfs /mnt/btrfs
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"
cat /sys/kernel/snapfreeze/targets

say "a writer on each filesystem blocks while frozen"
for m in /mnt/ext4 /mnt/xfs /mnt/btrfs; do
	(echo data >"$m/file" && echo "  write to $m completed") &
done
sleep 1
echo "  (no write has completed after 1 s)"

say "post-script: thaw the set with the same execution id"
"$sfctl" thaw "$id"
wait
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"

say "auto-thaw: freeze with a 2 s deadline and never send the post-script"
"$sfctl" freeze None 2000 /mnt/ext4 /mnt/xfs /mnt/btrfs >/dev/null
sleep 3
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"
say "the late post-script learns about the auto-thaw"
"$sfctl" thaw None

say "dmesg"
dmesg | grep 'snapfreeze:'
rmmod snapfreeze
say "demo done"
