#!/bin/bash
# bench/profile-guest.sh: where post-script's time goes, and what TCG costs
# (inside the VM, started by bench/profile).
#
#   /dev/vd? (serial pI) -> /mnt/pI, ext4, idle (no dirty data, no throttle)
#   BENCH_K          repetitions of each measurement (medians printed)
#
# Prints, one section each: process start-up per library set, the idle
# freeze/thaw costs (fsfreeze, ioctl, module requests for 1 and 8
# filesystems), post-script with 8 filesystems frozen (the helper and a
# bare libmnl client), ld.so's own statistics, an strace of one
# post-script cut into phases, and a perf profile of post-script by DSO.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build/bench
SF=$top/user/snapfreeze
K=${BENCH_K:-30}
ID=5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6	# sfbench's FIXED_ID
T=/tmp/sf-profile

section() { printf '\n## %s\n' "$*"; }

mounts=()
cleanup() {
	echo thaw >/sys/kernel/snapfreeze/control 2>/dev/null || true
	for m in ${mounts[@]+"${mounts[@]}"}; do fsfreeze -u "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mkdir -p "$T"

for d in $SF_DISKS; do
	IFS=: read -r name fstype dev <<<"$d"
	m=/mnt/${name}
	mkdir -p "$m"
	mount -t "$fstype" "$dev" "$m"
	mounts+=("$m")
done
insmod "$top/kmod/snapfreeze.ko"
echo "guest: $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), ${#mounts[@]} idle ext4 filesystems, K=$K"

section "process start-up (spawn to exit), idle guest"
"$B/sfbench" spawn-time "$K" busybox true
"$B/sfbench" spawn-time "$K" /bin/true
for p in nop-libc nop-mnl nop-helper-libs-no-kmod nop-helper-libs; do
	"$B/sfbench" spawn-time "$K" "$B/$p"
done
"$B/sfbench" spawn-time "$K" "$SF" --version
"$B/sfbench" spawn-time "$K" "$SF" status

section "an empty freeze/thaw of one idle filesystem"
"$B/sfbench" fsfreeze-time "$K" "${mounts[0]}"
"$B/sfbench" ioctl-time "$K" "${mounts[0]}"
"$B/sfbench" nl-time "$K" "${mounts[0]}"

section "the module, all ${#mounts[@]} idle filesystems at level 0"
"$B/sfbench" nl-time "$K" "${mounts[@]}"

section "post-script with ${#mounts[@]} filesystems frozen (spawn to exit)"
"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$SF" post-script --execution-id "$ID"
"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$B/sfbench" nl-thaw "$ID"
section "post-script with 1 filesystem frozen"
"$B/sfbench" frozen-run "$K" "${mounts[0]}" -- "$SF" post-script --execution-id "$ID"

section "ld.so statistics of the helper's start-up (LD_DEBUG=statistics), 3 runs"
for _ in 1 2 3; do
	LD_DEBUG=statistics "$SF" --version 2>&1 >/dev/null | grep -E 'total startup time|relocation|number of relocations|objects' | sed 's/^ *[0-9]*: *//'
	echo
done

section "strace -f -ttt -T of one post-script (${#mounts[@]} frozen), cut into phases"
"$B/sfbench" frozen-run 1 "${mounts[@]}" -- strace -f -ttt -T -o "$T/post.strace" \
	"$SF" post-script --execution-id "$ID" || true
python3 "$top/bench/strace-phases" "$T/post.strace" || true
echo "strace -c of 10 post-scripts:"
"$B/sfbench" frozen-run 10 "${mounts[@]}" -- strace -f -c -o "$T/post.strace-c" \
	"$SF" post-script --execution-id "$ID" >/dev/null || true
head -n 25 "$T/post.strace-c" || true

section "perf: where post-script's CPU time goes (cpu-clock samples, $K post-scripts)"
if perf version >/dev/null 2>&1; then
	perf record -q -e cpu-clock -F 2000 -g -o "$T/perf.data" -- \
		"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$SF" post-script --execution-id "$ID" \
		>/dev/null 2>"$T/perf.err" || cat "$T/perf.err"
	perf report -i "$T/perf.data" --comm snapfreeze --sort dso --stdio -g none 2>/dev/null |
		grep -vE '^#|^$' | head -n 20
	echo "top symbols:"
	perf report -i "$T/perf.data" --comm snapfreeze --sort dso,sym --stdio -g none 2>/dev/null |
		grep -vE '^#|^$' | head -n 25
else
	echo "perf does not run here ($(perf version 2>&1 | head -n 1))"
fi
echo
echo "profile done"
