#!/bin/bash
# bench/guest.sh: the benchmark inside the VM (started by bench/run).
#
#   /dev/vd? (serial dI)  ->  /mnt/bI, BENCH_FSTYPE, throttled by the host
#   BENCH_DIRTY="d1 ... dN"   MiB of dirty data per volume, in disk order
#   BENCH_BW, BENCH_RUNS, BENCH_METHODS, BENCH_HOLD_MS
#
# Waits for the host's marker (the throttles are set), raises the dirty
# limits so nothing is written back before a method flushes it, loads the
# module, then runs BENCH_RUNS rounds; each round runs every method once,
# in an order rotated by one each round, so that a noisy machine hurts all
# methods alike.  Each cycle's RUN/VOL lines go to <workdir>/bench-raw.csv.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
W=/run/sf-vm
RAW=$W/bench-raw.csv
# The programs each method spawns run from the guest's tmpfs, as from an
# instance's own disk, not from the 9p shares (uncached: every page they
# touch would be a round trip to the host, a cost no real install pays).
BIN=/tmp/sf-bin
SFBENCH=$BIN/sfbench
SF=$BIN/snapfreeze
: "${BENCH_N:?}" "${BENCH_DIRTY:?}" "${BENCH_BW:?}" "${BENCH_RUNS:?}"
: "${BENCH_METHODS:?}" "${BENCH_HOLD_MS:?}" "${BENCH_FSTYPE:?}"

say() { echo "bench: N=$BENCH_N: $*"; }

mounts=()
cleanup() {
	# Nothing may stay frozen: the guest powers off after this.
	echo thaw >/sys/kernel/snapfreeze/control 2>/dev/null || true
	for m in ${mounts[@]+"${mounts[@]}"}; do
		fsfreeze -u "$m" 2>/dev/null || true
	done
}
trap cleanup EXIT

SECONDS=0
while [ ! -f "$W/bench-throttled" ] && [ "$SECONDS" -lt 600 ]; do
	sleep 0.2
done
[ -f "$W/bench-throttled" ] || { say "the host never set the throttles"; exit 1; }

# Dirty data stays dirty until a method flushes it: no background or
# periodic writeback, no throttling of the writers below these limits.
mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
sysctl -q -w vm.dirty_bytes=$((mem_kb * 1024 / 100 * 95)) \
	vm.dirty_background_bytes=$((mem_kb * 1024 / 100 * 90)) \
	vm.dirty_expire_centisecs=360000 vm.dirty_writeback_centisecs=0
# Method (a) blocks a writer for the sum of the other volumes' flushes by
# design: 22-28 s at N = 8 and 45 s at N = 16 on a loaded machine, past
# vm-run's 20 s hung-task timeout, whose report fails the VM (exit 125).
# Ten minutes still reports a writer the module left blocked (its
# auto-thaw deadline is 300 s).
sysctl -q -w kernel.hung_task_timeout_secs=600

read -r -a dirty <<<"$BENCH_DIRTY"
vols=()
i=0
for d in $SF_DISKS; do
	IFS=: read -r name fstype dev <<<"$d"
	m=/mnt/b${name#d}
	mkdir -p "$m"
	mount -t "$fstype" "$dev" "$m"
	mounts+=("$m")
	vols+=("$m:${dirty[$i]}:$BENCH_BW")
	i=$((i + 1))
done
[ "${#vols[@]}" = "$BENCH_N" ] || { say "found ${#vols[@]} disks, not $BENCH_N"; exit 1; }
insmod "$top/kmod/snapfreeze.ko"
mkdir -p "$BIN"
cp "$W/sfbench" "$SFBENCH"	# bench/run's copy of build/bench/sfbench
cp "$top/user/snapfreeze" "$SF"

# The throttle, seen from the guest: 16 MiB of direct writes on d1.
t0=$(date +%s%N)
dd if=/dev/zero of="${mounts[0]}/throttle-check" bs=1M count=16 oflag=direct status=none
t1=$(date +%s%N)
rm -f "${mounts[0]}/throttle-check"
say "guest $(uname -r), $(nproc) vCPUs, $((mem_kb / 1024)) MiB; d1 direct write: $((16 * 1000000000 / (t1 - t0))) MiB/s (throttle $BENCH_BW)"

read -r -a methods <<<"$BENCH_METHODS"
M=${#methods[@]}
: >"$RAW"
for r in $(seq 1 "$BENCH_RUNS"); do
	for j in $(seq 0 $((M - 1))); do
		m=${methods[$(((j + r - 1) % M))]}
		sync
		echo 3 >/proc/sys/vm/drop_caches
		# That dropped the shared libraries too (the root is 9p): load
		# each method's programs once, so that every method starts
		# warm, as on an instance where they ran before.
		fsfreeze --version >/dev/null
		"$SF" --version >/dev/null
		"$SFBENCH" >/dev/null 2>&1 || true
		sleep 0.5
		out=$("$SFBENCH" cycle -m "$m" -r "$r" -o "$j" -H "$BENCH_HOLD_MS" \
			${BENCH_BUDGET:+-B "$BENCH_BUDGET"} -s "$SF" "${vols[@]}") || true
		echo "$out" >>"$RAW"
		line=$(grep '^RUN,' <<<"$out" || true)
		if [ -z "$line" ]; then
			say "run $r method $m: no result"
			continue
		fi
		IFS=, read -r _ _ _ _ _ ok limit dirty pre ratio post skew _ _ _ _ stall_max _ <<<"$line"
		status=
		[ "$ok" = 1 ] || status=", FAILED: ${line##*,}"
		say "run $r/$BENCH_RUNS method $m: $dirty MiB dirty, pre-script $pre s (${ratio}x the limit $limit s), skew $skew ms, post $post ms, worst stall $stall_max ms$status"
	done
done
dmesg | grep -E 'snapfreeze: (froze|thawed)' | tail -n 4 | sed "s/^/bench: N=$BENCH_N: dmesg: /"
say "done"
