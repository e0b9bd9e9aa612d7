#!/bin/bash
# Inside the VM (see tests/demo): what the snapshot scheduler does, by hand,
# with the helper it runs: pre-script, snapshot, post-script.
#
#   /mnt/ext4  /mnt/xfs  /mnt/btrfs   three virtio disks, one set
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
snapfreeze=$top/user/snapfreeze
id=5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6

say() { printf '\n== %s\n' "$*"; }

for d in $SF_DISKS; do
	IFS=: read -r name fstype dev <<<"$d"
	mkdir -p "/mnt/$name"
	mount -t "$fstype" "$dev" "/mnt/$name"
done
insmod "$top/kmod/snapfreeze.ko"
say "module loaded: $(modinfo -F alias "$top/kmod/snapfreeze.ko"), freeze hold $(cat /sys/kernel/snapfreeze/freeze_hold)"

say "dry-run: what pre-script would freeze (every read-write block filesystem but /)"
"$snapfreeze" dry-run --execution-id "$id"
echo "exit code: $?"

say "pre-script: freeze the set all-or-nothing (auto-thaw in 30 s)"
"$snapfreeze" pre-script --execution-id "$id" --timeout 30
echo "exit code: $?"
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"
cat /sys/kernel/snapfreeze/targets

say "a writer on each filesystem blocks while frozen (the snapshot happens now)"
for m in /mnt/ext4 /mnt/xfs /mnt/btrfs; do
	(echo data >"$m/file" && echo "  write to $m completed") &
done
sleep 1
echo "  (no write has completed after 1 s)"

say "pre-script again while frozen: the scheduler's 204"
"$snapfreeze" pre-script --execution-id "$id"
echo "exit code: $?"

say "post-script: thaw the set"
"$snapfreeze" post-script --execution-id "$id"
echo "exit code: $?"
wait
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"

say "auto-thaw: pre-script with a 2 s timeout, and the post-script comes late"
"$snapfreeze" pre-script --timeout 2 >/dev/null
sleep 3
echo "sysfs state: $(cat /sys/kernel/snapfreeze/state)"
"$snapfreeze" post-script
echo "exit code: $? (203: the kernel thawed first)"

say "post-script with nothing frozen"
"$snapfreeze" post-script
echo "exit code: $? (205)"

say "status --json"
"$snapfreeze" status --json

say "dmesg"
dmesg | grep 'snapfreeze:'
rmmod snapfreeze
say "demo done"
