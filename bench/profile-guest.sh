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
# The programs run from the guest's tmpfs, as from an instance's own disk:
# the repository is a 9p share without caching (vm-run), where every page
# a program touches is a round trip to the host.  One line below times the
# share's copy, to show what that costs.
B=/tmp/sf-bin
SF=$B/snapfreeze
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
mkdir -p "$T" "$B"
cp "$top/user/snapfreeze" "$top"/build/bench/{sfbench,nop-*,libsfphases.so} "$B/"

for d in $SF_DISKS; do
	IFS=: read -r name fstype dev <<<"$d"
	m=/mnt/${name}
	mkdir -p "$m"
	mount -t "$fstype" "$dev" "$m"
	mounts+=("$m")
done
insmod "$top/kmod/snapfreeze.ko"
echo "guest: $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), ${#mounts[@]} idle ext4 filesystems, K=$K"

section "process start-up (spawn to exit), the commands taking turns"
"$B/sfbench" spawn-time "$K" busybox true -- /bin/true -- "$B/nop-libc" -- \
	"$B/nop-mnl" -- "$B/nop-helper-libs-no-kmod" -- "$B/nop-helper-libs" -- \
	"$SF" --version -- "$SF" status -- "$top/user/snapfreeze" --version

section "an empty freeze/thaw of one idle filesystem"
"$B/sfbench" fsfreeze-time "$K" "${mounts[0]}"
"$B/sfbench" ioctl-time "$K" "${mounts[0]}"
"$B/sfbench" nl-time "$K" "${mounts[0]}"

section "the module, all ${#mounts[@]} idle filesystems at level 0"
"$B/sfbench" nl-time "$K" "${mounts[@]}"

section "post-script (spawn to exit), the helper and a bare libmnl client taking turns"
"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$SF" post-script --execution-id "$ID" -- \
	"$B/sfbench" nl-thaw "$ID"
"$B/sfbench" frozen-run "$K" "${mounts[0]}" -- "$SF" post-script --execution-id "$ID" -- \
	"$B/sfbench" nl-thaw "$ID"

section "post-script's phases (libsfphases.so: a clock at each step, no strace), ${#mounts[@]} frozen"
rm -f "$T"/phases-*
SFB_PHASE_OUT=$T/phases-helper LD_PRELOAD=$B/libsfphases.so \
	"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$SF" post-script --execution-id "$ID" >/dev/null
SFB_PHASE_OUT=$T/phases-mnl LD_PRELOAD=$B/libsfphases.so \
	"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$B/sfbench" nl-thaw "$ID" >/dev/null
python3 "$top/bench/phase-report" "$T/phases-helper" "snapfreeze post-script"
python3 "$top/bench/phase-report" "$T/phases-mnl" "sfbench nl-thaw (libmnl)"

section "ld.so statistics of the helper's start-up (LD_DEBUG=statistics), 3 runs"
dmesg | grep -m1 -oE 'tsc: (Detected|Refined TSC clocksource calibration:) [0-9.]+ MHz.*' || true
for _ in 1 2 3; do
	LD_DEBUG=statistics "$SF" --version 2>&1 >/dev/null |
		grep -E 'total startup time|time needed|number of relocations:|objects' | sed 's/^ *[0-9]*: *//' || true
	echo
done

section "strace -f -ttt -T of post-script (${#mounts[@]} frozen), cut into phases, 3 runs"
for i in 1 2 3; do
	"$B/sfbench" frozen-run 1 "${mounts[@]}" -- strace -f -ttt -T -o "$T/post-$i.strace" \
		"$SF" post-script --execution-id "$ID" >/dev/null || true
	python3 "$top/bench/strace-phases" "$T/post-$i.strace" || true
done
echo "strace -c of 10 post-scripts:"
"$B/sfbench" frozen-run 10 "${mounts[@]}" -- strace -f -c -o "$T/post.strace-c" \
	"$SF" post-script --execution-id "$ID" >/dev/null || true
sed -n 1,25p "$T/post.strace-c" || true

section "perf: where post-script's CPU time goes (cpu-clock samples, $K post-scripts)"
if perf version >/dev/null 2>&1; then
	perf record -q -e cpu-clock -F 2000 -g -o "$T/perf.data" -- \
		"$B/sfbench" frozen-run "$K" "${mounts[@]}" -- "$SF" post-script --execution-id "$ID" \
		>/dev/null 2>"$T/perf.err" || cat "$T/perf.err"
	echo "by DSO (self):"
	# Percentages of snapfreeze's own samples; sed, not head: no SIGPIPE.
	perf report -i "$T/perf.data" --comms snapfreeze --percentage relative --no-children \
		--sort dso --stdio -g none 2>/dev/null | grep -vE '^#|^$' | sed -n 1,20p || true
	echo "top symbols (self):"
	perf report -i "$T/perf.data" --comms snapfreeze --percentage relative --no-children \
		--sort dso,sym --stdio -g none 2>/dev/null | grep -vE '^#|^$' >"$T/perf-symbols.txt" || true
	sed -n 1,40p "$T/perf-symbols.txt"
else
	echo "perf does not run here ($(perf version 2>&1 | head -n 1))"
fi
# The raw material, for a closer look: <workdir>/profile-files/.
mkdir -p /run/sf-vm/profile-files
cp "$T"/post-*.strace "$T"/phases-* "$T"/perf-symbols.txt /run/sf-vm/profile-files/ 2>/dev/null || true
echo
echo "profile done"
