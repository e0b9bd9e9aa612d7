#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load: many helpers at once, many cycles, and afterwards everything back
# where it was.  Runs INSIDE the VM (tests/reliability/run, part "load"),
# from the repository:
#
#   8 filesystems, a writer on each:  e4 l1 l2 l5 ext4, xfs l3 xfs,
#                                     bt l4 btrfs     (/mnt/NAME)
#   sfprobe listen                    every event, in order
#
#   race: RACE_ROUNDS rounds of 16 helpers released at once (a shared
#         flock): 8 pre-scripts with distinct execution ids, 8
#         post-scripts with ids drawn from those (up to 3 s late), all
#         queueing for the helper's host-wide lock; the
#         moment one has frozen the set, 8 more post-scripts at once, one
#         with its id; after each round the set left frozen is thawed.
#         Then: every exit code is one the contract allows for the
#         situation; the events alternate frozen -> thawed/auto-thawed
#         with the same id (exactly one set at a time); pre-scripts that
#         exited 0 = frozen events = the freezes counter, post-scripts
#         that exited 0 = thawed events = thaws, failed events =
#         failures, each failed event belongs to a pre-script that
#         exited 204 (or 201, the deadline passed while freezing), 203
#         exits = auto_thaws
#   cycles: CYCLES FREEZE/THAW cycles of all 8 in one process (sfprobe
#         cycles): every request succeeds, the counters move by CYCLES
#   then, writers stopped and caches dropped: the module's refcount, the
#   mount table and the kmalloc slab usage are back to the baseline taken
#   before (slab within a tolerance: other kernel code allocates too)
#
#   load-guest.sh SEED RACE_ROUNDS CYCLES
set -u

SEED=$1
RACE_ROUNDS=$2
CYCLES=$3
# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"

RANDOM=$SEED
FS=(e4 xfs bt l1 l2 l3 l4 l5)
TARGETS=()
for n in "${FS[@]}"; do TARGETS+=(--target "/mnt/$n"); done
T=/tmp/sf-rel-l
mkdir -p "$T"
mkfifo "$T/fifo" 2>/dev/null
LISTENER=

cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	writers_stop
	module_reset
	for n in "${FS[@]}"; do umount "/mnt/$n" 2>/dev/null; done
}
trap cleanup EXIT

mounts() { findmnt -rn -o TARGET,FSTYPE,SOURCE,OPTIONS | sort; }
# Bytes in use in the kmalloc caches, and unreclaimable slab (kB).
kmalloc_bytes() {
	awk '$1 ~ /^kmalloc-[0-9]+k?$/ { s += $2 * $4 } END { print s + 0 }' /proc/slabinfo
}
kmalloc_caches() { awk '$1 ~ /^kmalloc-[0-9]+k?$/ { print $1, $2 * $4 }' /proc/slabinfo; }
sunreclaim() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }
settle() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }

ktap_start 11
since=$(dmesg_lines)
ok=1
mount_disks "${FS[@]}" || ok=0
module_load || ok=0
check "setup: 8 filesystems (4 ext4, 2 xfs, 2 btrfs) mounted, module loaded" [ "$ok" = 1 ]

settle
base_ref=$(cat /sys/module/snapfreeze/refcnt)
base_mounts=$(mounts)
base_km=$(kmalloc_bytes)
base_su=$(sunreclaim)
kmalloc_caches >"$T/slab0"
diag "baseline: refcnt $base_ref, kmalloc $((base_km / 1024)) KiB, SUnreclaim $base_su kB"

for n in "${FS[@]}"; do writer_start "$n" append "/mnt/$n/w" 50 2000; done
moving=1
for n in "${FS[@]}"; do writer_moves "$n" 10 || { moving=0; diag "writer $n does not start: $(cat "$WDIR/$n.err")"; }; done
check "a writer runs on each of the 8 filesystems" [ "$moving" = 1 ]

# --- race
"$BIN/sfprobe" listen >"$T/events" 2>&1 &
LISTENER=$!
end=$((SECONDS + 30))
until grep -q listening "$T/events" 2>/dev/null || [ "$SECONDS" -gt "$end" ]; do msleep 50; done
c0_f=$(counter freezes) c0_t=$(counter thaws) c0_a=$(counter auto_thaws) c0_x=$(counter failures)
: >"$T/exits"
bad_rc=0
n_pre0=0 n_post0=0 n_203=0 n_cleanup=0 n_thaw_race0=0 n_pre_timeout=0

# The helpers take a host-wide lock for the whole command (snapfreeze(8),
# CONCURRENCY): the 16 of a round queue for it, each waiting within its
# budget.  Long enough for the whole queue on a loaded host; a helper that
# still waits past it exits 201 or 202, "still holds the host-wide lock",
# which the contract allows (the scheduler retries).
BUDGET=60

# launch PHASE SPEC...: start one helper per SPEC ("pre ID" or "post ID
# JITTER_MS"), all held back by one flock and released together; their
# pids, roles and phase go to PIDS, ROLES, PHASES.
PIDS=() ROLES=() PHASES=()
launch() {
	local phase=$1 gate=$T/gate.$1 spec role id j k=${#PIDS[@]}
	shift
	exec 8>"$gate"
	flock -x 8
	for spec in "$@"; do
		k=$((k + 1))
		read -r role id j <<<"$spec"
		if [ "$role" = pre ]; then
			flock -s -o "$gate" "$HELPER" pre-script --execution-id "$id" \
				--timeout 15 --budget "$BUDGET" "${TARGETS[@]}" --hooks-dir "$EMPTY_HOOKS" \
				--config "$EMPTY_CONF" >"$T/h$k.out" 2>&1 &
		else
			# shellcheck disable=SC2016 # expanded by that bash
			flock -s -o "$gate" bash -c 'read -r -t "$1" -u 7 _ 7<>"$2"; shift 2; exec "$@"' \
				jitter "$((j / 1000)).$(printf %03d $((j % 1000)))" "$T/fifo" \
				"$HELPER" post-script --execution-id "$id" --budget "$BUDGET" \
				--hooks-dir "$EMPTY_HOOKS" --config "$EMPTY_CONF" \
				>"$T/h$k.out" 2>&1 &
		fi
		PIDS+=($!)
		ROLES+=("$role $id")
		PHASES+=("$phase")
	done
	msleep 300
	flock -u 8	# all go
	exec 8>&-
}

# reap ROUND: wait for every launched helper and account for its exit code;
# THAW_0 and THAW_203: the exits 0 and 203 of the "thaw" phase.
reap() {
	local r=$1 k rc
	THAW_0=0 THAW_203=0
	for ((k = 0; k < ${#PIDS[@]}; k++)); do
		wait "${PIDS[$k]}"
		rc=$?
		echo "${ROLES[$k]} $rc" >>"$T/exits"
		case "${ROLES[$k]%% *}.$rc" in
		pre.0) n_pre0=$((n_pre0 + 1)) ;;
		pre.204) ;;
		pre.201)
			# On a loaded host, freezing 8 filesystems under 8 writers
			# can outlast the 15 s deadline, or the queue for the lock
			# the budget: the contract's answer is 201 with nothing
			# frozen.  Any other 201 is wrong here.
			if grep -qE 'deadline passed while freezing|still holds the host-wide lock' "$T/h$((k + 1)).out"; then
				n_pre_timeout=$((n_pre_timeout + 1))
			else
				bad_rc=$((bad_rc + 1))
				diag "race round $r (${PHASES[$k]}): ${ROLES[$k]} exited 201: $(grep -E 'ERROR' "$T/h$((k + 1)).out" | head -n 2 | tr '\n' ' ')"
			fi
			;;
		post.0)
			n_post0=$((n_post0 + 1))
			[ "${PHASES[$k]}" = thaw ] && THAW_0=$((THAW_0 + 1))
			;;
		post.203)
			n_203=$((n_203 + 1))
			[ "${PHASES[$k]}" = thaw ] && THAW_203=$((THAW_203 + 1))
			;;
		post.202 | post.205) ;;
		*)
			bad_rc=$((bad_rc + 1))
			diag "race round $r (${PHASES[$k]}): ${ROLES[$k]} exited $rc: $(grep -E 'ERROR' "$T/h$((k + 1)).out" | head -n 2 | tr '\n' ' ')"
			;;
		esac
	done
	PIDS=() ROLES=() PHASES=()
}

t0=$SECONDS
race_since=$(dmesg_lines)
thaw_bursts=0 n_thaw_race203=0
for ((r = 1; r <= RACE_ROUNDS; r++)); do
	ids=()
	for ((k = 1; k <= 8; k++)); do ids+=("$(uuid $((10000 + r * 100 + k)))"); done
	# 8 pre-scripts and 8 post-scripts (up to 3 s late) at once.
	specs=()
	for ((k = 0; k < 8; k++)); do
		specs+=("pre ${ids[$k]}" "post ${ids[$((RANDOM % 8))]} $((RANDOM % 3000))")
	done
	launch freeze "${specs[@]}"
	# The moment one of them has frozen the set, 8 more post-scripts at
	# once, one of them with its execution id: exactly that one ends it.
	# A late post-script of the first burst may thaw the set between
	# reading its state and reading its execution id (empty once
	# thawed): only a non-empty id read while frozen starts the burst.
	end=$((SECONDS + 60)) won=
	while [ "$SECONDS" -le "$end" ]; do
		if [ "$(state)" = frozen ]; then
			won=$(cat "$SYS/execution_id")
			[ -n "$won" ] && break
		fi
		running=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
		[ "$running" = 1 ] || break
		msleep 50
	done
	if [ -n "$won" ]; then
		specs=("post $won 0")
		for ((k = 1; k < 8; k++)); do specs+=("post ${ids[$((RANDOM % 8))]} 0"); done
		launch thaw "${specs[@]}"
	fi
	reap "$r"
	if [ -n "$won" ]; then
		thaw_bursts=$((thaw_bursts + 1))
		# (A late pre-script of the first burst may freeze again after
		# the thaw, so a burst may end more than one set: the events
		# below prove there is only ever one at a time.)
		n_thaw_race0=$((n_thaw_race0 + THAW_0))
		n_thaw_race203=$((n_thaw_race203 + THAW_203))
	fi
	# Leave the round idle: thaw what is frozen, report an auto-thaw.
	s=$(state)
	if [ "$s" = frozen ] || [ "$s" = auto-thawed ]; then
		id=$(cat "$SYS/execution_id")
		helper post-script --execution-id "$id" >"$T/cleanup.out" 2>&1
		rc=$?
		n_cleanup=$((n_cleanup + 1))
		echo "cleanup $id $rc" >>"$T/exits"
		case $s.$rc in
		frozen.0) n_post0=$((n_post0 + 1)) ;;
		auto-thawed.203) n_203=$((n_203 + 1)) ;;
		*) bad_rc=$((bad_rc + 1)); diag "race round $r: post-script of the $s set $id exited $rc" ;;
		esac
	fi
done
race_s=$((SECONDS - t0))
# The longest a set stayed frozen in the race (writers blocked meanwhile).
held=$(dmesg | tail -n +"$((race_since + 1))" |
	sed -nE 's/.*thawed [0-9]+ filesystem\(s\) for execution .* after ([0-9]+) ms.*/\1/p' |
	sort -n | tail -n 1)
sleep 1
kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null
LISTENER=
c1_f=$(counter freezes) c1_t=$(counter thaws) c1_a=$(counter auto_thaws) c1_x=$(counter failures)

check "race: $RACE_ROUNDS rounds of 16 helpers (and $thaw_bursts bursts of 8 post-scripts on a frozen set) in ${race_s} s: every exit code is one the contract allows (pre 0/204, or 201 when the deadline passed while freezing or the lock's queue outlasted the budget: $n_pre_timeout; post 0/202/203/205; $bad_rc others)" \
	[ "$bad_rc" = 0 ]

# The events: one set at a time.
seq_ok=$(awk '
	/^overrun/ { print "the listener missed events"; bad = 1; next }
	$1 != "EVENT" { next }
	{ split($3, a, "="); id = a[2] }
	$2 == "frozen" { if (cur != "") { print "frozen " id " while " cur " was frozen"; bad = 1 } cur = id; nf++ }
	$2 == "thawed" || $2 == "auto-thawed" {
		if (cur != id) { print $2 " " id " but the set was " (cur == "" ? "none" : cur); bad = 1 }
		cur = ""; if ($2 == "thawed") nt++; else na++ }
	$2 == "failed" { nx++ }
	END { if (!bad) print "ok " nf + 0 " " nt + 0 " " na + 0 " " nx + 0 }' "$T/events")
diag "race: events frozen/thawed/auto-thawed/failed: ${seq_ok#ok }; longest thawed by a post-script ${held:-?} ms; exits: pre 0 x$n_pre0, post 0 x$n_post0 (of which $n_cleanup cleanups, $n_thaw_race0 in the $thaw_bursts thaw bursts, which also saw $n_thaw_race203 auto-thaws), 203 x$n_203"
if [[ $seq_ok == ok* ]]; then
	pass "race: the events show exactly one set at a time (each frozen followed by the thaw of the same execution id)"
else
	fail "race: the events show exactly one set at a time: $seq_ok"
fi
read -r _ ev_f ev_t ev_a ev_x <<<"$seq_ok"
# Every failed event is a pre-script the kernel refused (EBUSY), which
# exited 204 (a 204 without one was refused by the helper's own check),
# or one whose deadline passed while freezing (201).
fail_ids_ok=1
while read -r id; do
	grep -qE "^pre $id (204|201)$" "$T/exits" || { fail_ids_ok=0; diag "failed event for $id, whose pre-script exited neither 204 nor 201"; }
done < <(awk '$1 == "EVENT" && $2 == "failed" { split($3, a, "="); print a[2] }' "$T/events")
consistent=0
[ "$n_pre0" = "${ev_f:-x}" ] && [ "$n_pre0" = $((c1_f - c0_f)) ] &&
	[ "$n_post0" = "${ev_t:-x}" ] && [ "$n_post0" = $((c1_t - c0_t)) ] &&
	[ "${ev_x:-x}" = $((c1_x - c0_x)) ] && [ "${ev_a:-x}" = $((c1_a - c0_a)) ] &&
	[ "$n_203" = $((c1_a - c0_a)) ] && [ "$fail_ids_ok" = 1 ] && consistent=1
check "race: exit codes, events and counters agree (freezes +$((c1_f - c0_f)), thaws +$((c1_t - c0_t)), auto_thaws +$((c1_a - c0_a)), failures +$((c1_x - c0_x)))" \
	[ "$consistent" = 1 ]

# --- cycles, in one process (sfprobe): the module, not process start-up
paths=()
for n in "${FS[@]}"; do paths+=("/mnt/$n"); done
cf0=$(counter freezes) ct0=$(counter thaws)
t0=$SECONDS
cyc_out=$("$BIN/sfprobe" cycles "$CYCLES" 30000 "${paths[@]}" 2>&1)
cyc_rc=$?
cyc_s=$((SECONDS - t0))
cf1=$(counter freezes) ct1=$(counter thaws)
diag "$cyc_out"
check "cycles: $CYCLES freeze/thaw cycles of 8 filesystems with writers, every request succeeded, counters +$((cf1 - cf0))/+$((ct1 - ct0)), in $cyc_s s" \
	[ "$cyc_rc.$((cf1 - cf0)).$((ct1 - ct0))" = "0.$CYCLES.$CYCLES" ]
moving=1
for n in "${FS[@]}"; do writer_moves "$n" 10 || { moving=0; diag "writer $n is stuck"; }; done
check "every writer still moves" [ "$moving" = 1 ]

# --- back to the baseline
writers_stop
for n in "${FS[@]}"; do rm -f "/mnt/$n/w"; done
settle
ref=$(cat /sys/module/snapfreeze/refcnt)
km=$(kmalloc_bytes)
su=$(sunreclaim)
ops=$(((c1_f - c0_f) + (cf1 - cf0)))
check "the module's refcount is back to $base_ref ($ref)" [ "$ref" = "$base_ref" ]
if [ "$(mounts)" = "$base_mounts" ]; then
	pass "the mount table is back to the baseline"
else
	fail "the mount table is back to the baseline"
	diff <(echo "$base_mounts") <(mounts) | head -n 10 | while read -r l; do diag "$l"; done
fi
# Tolerance: 2 MiB of unrelated kernel allocations, plus 256 bytes per
# freeze (a leak of one small object per set would show past ~8000 sets;
# a leaked target array, 8 targets per set, far sooner).
dkm=$((km - base_km))
tol=$((2 * 1024 * 1024 + 256 * ops))
diag "slab: kmalloc $((base_km / 1024)) -> $((km / 1024)) KiB ($((dkm / 1024)) KiB), SUnreclaim $base_su -> $su kB, after $ops sets frozen; growth by cache: $(kmalloc_caches | awk 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d) printf "%s %+d KiB\n", $1, d / 1024 }' "$T/slab0" - | sort -t' ' -k2 -rn | head -n 5 | tr '\n' ' ')"
check "kmalloc slab usage back to the baseline within $((tol / 1024)) KiB after $ops sets ($((dkm / 1024)) KiB)" \
	[ "$dkm" -le "$tol" ]
if kernel_clean "$since"; then
	pass "the kernel logged no warning, oops or hung task"
else
	fail "the kernel logged no warning, oops or hung task"
fi
ktap_end
