#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Faults: whatever goes wrong, nothing stays frozen.  Runs INSIDE the VM
# (tests/run --only faults), from the repository:
#
#   e4 ext4 /mnt/e4, xfs /mnt/xfs, bt btrfs /mnt/bt   one writer each
#   fl raw disk, cut by device-mapper into
#     sf-fe   ext4, 64 MB   /mnt/fe  \  their tables switched to "error" with
#     sf-fx   xfs, 300 MB   /mnt/fx  /  dmsetup suspend --nolockfs / load /
#                                       resume (a plain suspend would freeze
#                                       the filesystem itself)
#     sf-slow ext4, 32 MB   /mnt/slow   behind a "delay" table: every write
#                                       takes 1.5 s, so its freeze and thaw
#                                       last seconds
#
#   1. pre-script SIGKILLed at random moments (KILLS_PRE times)
#   2. post-script SIGKILLed at random moments (KILLS_POST times)
#      after each kill: the module is idle, or frozen with the deadline
#      armed (remaining_ms > 0, or due and thawing within 3 s), or already
#      auto-thawed; a frozen set is thawed by the deadline; every writer
#      moves again, and no filesystem was damaged (went read-only)
#   3. SIGKILL while a FREEZE is in progress and while a THAW is in
#      progress (btrfs plus the slow ext4): the set is rolled back or
#      thawed, and btrfs stays writable; then the slow ext4's device
#      suspended while the module flushes or freezes it: the module will
#      not unload, an emergency thaw returns, all ends thawed on resume
#   4. a target whose device fails I/O, for ext4 and xfs: with dirty data
#      before the flush, from the middle of the flush (a slow device
#      switched to errors while the module flushes), when clean (the
#      freeze itself fails), and while frozen (then post-script): a failed
#      pre-script exits 201, names the target, rolls back; nothing stays
#      frozen
#   5. emergency thaw through /sys while the helper that froze is gone
#   6. the kernel logged no warning, oops or hung task
#
#   faults-guest.sh    (SF_SEED: the seed; SF_LONG=1: the long counts)
set -u

# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"
KILLS_PRE=$(by_length 50 300)
KILLS_POST=$(by_length 50 300)

RANDOM=$SEED
T=/tmp/sf-rel-f
mkdir -p "$T"
TARGETS=(--target /mnt/e4 --target /mnt/xfs --target /mnt/bt)
W=(e4 xfs bt)

cleanup() {
	writers_stop
	module_reset
	for m in /mnt/fe /mnt/fx /mnt/slow /mnt/e4 /mnt/xfs /mnt/bt; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for d in sf-fe sf-fx sf-slow; do dmsetup remove --noudevsync "$d" 2>/dev/null; done
	rm -rf /tmp/sf-rel-bin
}
trap cleanup EXIT

rand_ms() { echo $(((RANDOM * 32768 + RANDOM) % ($1 + 1))); }

# run_bg ARGS...: the helper in the background as its own process (so that
# SIGKILL reaches the helper, not a shell around it); sets BG.
run_bg() {
	(exec "$HELPER" "$@" --hooks-dir "$EMPTY_HOOKS" --config "$EMPTY_CONF" \
		>"$T/bg.out" 2>&1) &
	BG=$!
}

LOOP_SINCE=0
# all_writers_move SECONDS: prints what is wrong, if anything.
all_writers_move() {
	local w pid
	for w in "${W[@]}"; do
		writer_moves "$w" "$1" && continue
		pid=$(cat "$WDIR/$w.pid")
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "writer $w died: $(tail -c 300 "$WDIR/$w.err" | tr '\n' ' ')$(dmesg | tail -n +"$((LOOP_SINCE + 1))" | grep -E 'forced readonly|BTRFS: error|EXT4-fs error|XFS.*[Ss]hut' | head -n 3 | tr '\n' ' ')"
		else
			echo "writer $w is stuck ($(grep State "/proc/$pid/status" | tr '\t' ' '))"
		fi
		return 1
	done
}

# writers_fresh: a writer on each of e4 xfs bt, slow enough that the file
# wraps long before it fills the filesystem; a filesystem that cannot be
# written any more (forced read-only after an error) is remounted first.
writers_fresh() {
	local w
	writers_stop
	for w in "${W[@]}"; do
		if ! : 2>/dev/null >"/mnt/$w/.rw"; then
			ktap_print_msg "/mnt/$w is not writable: remounting it"
			if ! umount "/mnt/$w" || ! mount "$(dev_of "$w")" "/mnt/$w"; then
				ktap_print_msg "remounting /mnt/$w failed"
			fi
		fi
		rm -f "/mnt/$w/w"
		writer_start "$w" append "/mnt/$w/w" 20 1000
	done
}

ktap_print_header
ktap_set_plan 18
since=$(dmesg_lines)
ok=1
mount_disks e4 xfs bt || ok=0
module_load || ok=0
ktap_test_result "setup: ext4, xfs and btrfs mounted, module loaded" [ "$ok" = 1 ]
writers_fresh

# --- how long the helper takes here, to spread the kills over it: the
# median of five runs (under TCG most of it is starting the process)
pres=() posts=()
for i in 1 2 3 4 5; do
	t0=$(now_ms)
	helper pre-script --execution-id "$(uuid 999)" --timeout 10 "${TARGETS[@]}" >/dev/null 2>&1
	t1=$(now_ms)
	helper post-script --execution-id "$(uuid 999)" >/dev/null 2>&1
	t2=$(now_ms)
	pres+=($((t1 - t0)))
	posts+=($((t2 - t1)))
done
tpre=$(printf '%s\n' "${pres[@]}" | sort -n | sed -n 3p)
tpost=$(printf '%s\n' "${posts[@]}" | sort -n | sed -n 3p)
ktap_print_msg "the helper takes $tpre ms for pre-script, $tpost ms for post-script here (median of 5: ${pres[*]} / ${posts[*]}); kills land uniformly in 0..120% of that (seed $SEED)"

# kill_loop WHAT N TMAX: SIGKILL pre-script or post-script N times.
kill_loop() {
	local what=$1 n=$2 tmax=$(($3 * 12 / 10)) i id d rc s rem bad=0 why
	local c_idle=0 c_frozen=0 c_auto=0 c_done=0 c_due=0 c_broken=0 c_abandoned=0 f0 f1 e0 e1
	f0=$(counter failures)
	e0=$(dmesg | grep -c 'caller was killed during the freeze')
	LOOP_SINCE=$(dmesg_lines)
	for ((i = 1; i <= n; i++)); do
		id=$(uuid $((2000 + i)))
		if [ "$what" = post ]; then
			# A 2 s deadline can pass while freezing on a loaded host
			# (ETIMEDOUT, 201): that is not what this test is about,
			# so once more with a longer one.
			if ! helper pre-script --execution-id "$id" --timeout 2 "${TARGETS[@]}" >"$T/pre.out" 2>&1 &&
				! helper pre-script --execution-id "$id" --timeout 5 "${TARGETS[@]}" >"$T/pre.out" 2>&1; then
				ktap_print_msg "kill post $i: the pre-script before it failed: $(grep ERROR "$T/pre.out" | tr '\n' ' ')"
				bad=$((bad + 1))
				module_reset
				continue
			fi
			run_bg post-script --execution-id "$id"
		else
			run_bg pre-script --execution-id "$id" --timeout 1 "${TARGETS[@]}"
		fi
		d=$(rand_ms "$tmax")
		msleep "$d"
		kill -KILL "$BG" 2>/dev/null
		wait "$BG" 2>/dev/null
		rc=$?
		[ "$rc" != 137 ] && c_done=$((c_done + 1))
		s=$(state)
		rem=$(remaining)
		case $s in
		idle)
			c_idle=$((c_idle + 1))
			if [ "$what" = pre ] && [ "$rc" = 0 ]; then
				ktap_print_msg "kill $what $i (at $d ms): the helper exited 0 but the module is idle"
				bad=$((bad + 1))
			fi
			;;
		frozen)
			c_frozen=$((c_frozen + 1))
			# remaining_ms 0: the deadline is due and its work about
			# to run; it must thaw within a moment.
			if [ "$rem" -le 0 ]; then
				c_due=$((c_due + 1))
				if ! wait_state auto-thawed 3; then
					ktap_print_msg "kill $what $i (at $d ms): frozen, remaining_ms 0, and no auto-thaw within 3 s"
					bad=$((bad + 1))
				fi
			fi
			if ! wait_state auto-thawed 15; then
				ktap_print_msg "kill $what $i (at $d ms): the deadline did not thaw (state $(state))"
				bad=$((bad + 1))
			fi
			;;
		auto-thawed)
			c_auto=$((c_auto + 1))
			;;
		freezing)
			# Killed during the flush or the freeze: the module
			# abandoned the set at once, and the flushes and
			# freezes still running undo it when they finish, or
			# the deadline does (1 s here).
			c_abandoned=$((c_abandoned + 1))
			if ! wait_state idle 15; then
				ktap_print_msg "kill $what $i (at $d ms): an abandoned freeze did not end (state $(state))"
				bad=$((bad + 1))
			fi
			;;
		*)
			ktap_print_msg "kill $what $i (at $d ms, helper exit $rc): state '$s' after the helper died"
			bad=$((bad + 1))
			;;
		esac
		if [ "$(state)" = auto-thawed ]; then
			helper post-script --execution-id "$id" >"$T/ack.out" 2>&1
			rc=$?
			if [ "$rc" != 203 ]; then
				ktap_print_msg "kill $what $i: post-script after the auto-thaw exited $rc, want 203"
				bad=$((bad + 1))
			fi
		fi
		if [ "$(state)" != idle ]; then
			ktap_print_msg "kill $what $i: left in state $(state)"
			bad=$((bad + 1))
			module_reset
		fi
		if ! why=$(all_writers_move 10); then
			ktap_print_msg "kill $what $i (at $d ms, state $s): $why"
			bad=$((bad + 1))
			c_broken=$((c_broken + 1))
			writers_fresh
			LOOP_SINCE=$(dmesg_lines)
		fi
	done
	f1=$(counter failures)
	e1=$(dmesg | grep -c 'caller was killed during the freeze')
	ktap_print_msg "kill $what: $n kills: idle after $c_idle (FREEZE interrupted and rolled back: $((e1 - e0)), failures counter +$((f1 - f0))), frozen with the deadline armed $c_frozen (due, remaining_ms 0: $c_due), already auto-thawed $c_auto, abandoned while freezing $c_abandoned; the helper had finished in $c_done; a writer broke after $c_broken"
	if [ "$bad" = 0 ]; then
		ktap_test_pass "$what-script SIGKILLed at $n random moments: every time idle or frozen with the deadline armed, every deadline thawed, every writer resumed"
	else
		ktap_test_fail "$what-script SIGKILLed at $n random moments: $bad bad outcome(s)"
	fi
	# The kills must have landed on both sides of the freeze (the thaw),
	# or the test covered less than it says.
	local both=0
	[ "$c_idle" -gt 0 ] && [ $((c_frozen + c_auto)) -gt 0 ] && both=1
	ktap_test_result "$what-script kills landed on both sides of the $([ "$what" = pre ] && echo freeze || echo thaw) (idle $c_idle, frozen $((c_frozen + c_auto)))" \
		[ "$both" = 1 ]
}

kill_loop pre "$KILLS_PRE" "$tpre"
kill_loop post "$KILLS_POST" "$tpost"

# --- device-mapper devices on the raw disk
modprobe dm_mod 2>/dev/null
modprobe dm_delay 2>/dev/null
FL=$(dev_of fl)
declare -A DMSIZE=([fe]=131072 [fx]=614400 [slow]=65536)
declare -A DMOFF=([fe]=0 [fx]=131072 [slow]=745472)
declare -A DMFS=([fe]=ext4 [fx]=xfs [slow]=ext4)

dm_table() {	# dm_table NAME linear|error|delay
	case $2 in
	linear) echo "0 ${DMSIZE[$1]} linear $FL ${DMOFF[$1]}" ;;
	error) echo "0 ${DMSIZE[$1]} error" ;;
	# reads at once, writes (and flushes) after 1.5 s
	delay) echo "0 ${DMSIZE[$1]} delay $FL ${DMOFF[$1]} 0 $FL ${DMOFF[$1]} 1500" ;;
	esac
}

# dm_switch NAME TABLE: swap the table under a mounted filesystem without
# freezing it.
dm_switch() {
	dmsetup suspend --noudevsync --nolockfs "sf-$1" &&
		dm_table "$1" "$2" | dmsetup load "sf-$1" &&
		dmsetup resume --noudevsync "sf-$1"
}

dm_fresh() {	# dm_fresh NAME: a working device with a new filesystem, mounted
	umount "/mnt/$1" 2>/dev/null
	if ! dmsetup info "sf-$1" >/dev/null 2>&1; then
		# No udev in the guest: dmsetup makes the /dev/mapper node.
		dm_table "$1" linear | dmsetup create --noudevsync "sf-$1" || return 1
		dmsetup mknodes "sf-$1" || return 1
	else
		dm_switch "$1" linear || return 1
	fi
	if [ "${DMFS[$1]}" = ext4 ]; then
		# No lazy initialisation: nothing may write in the background.
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
			"/dev/mapper/sf-$1" || return 1
	else
		mkfs.xfs -q -f "/dev/mapper/sf-$1" || return 1
	fi
	mkdir -p "/mnt/$1"
	mount "/dev/mapper/sf-$1" "/mnt/$1"
}

# --- 3. SIGKILL in the middle of a FREEZE or a THAW
# slow_kill freeze|thaw: btrfs first, the slow ext4 second; the helper is
# killed once the module is busy with the slow one.  Its freeze (or
# thaw, which goes in reverse order) takes seconds, so the kill lands in
# the middle, and what follows (the rollback, or the rest of the thaw)
# runs in the context of a task with SIGKILL pending.
slow_kill() {
	local how=$1 id rc s end since_here ok=1 landed=1 bt_rw slow_dev inflight thaws0=
	id=$(uuid $((5000 + RANDOM % 1000)))
	since_here=$(dmesg_lines)
	if ! dm_fresh slow >"$T/dm.log" 2>&1 || ! dm_switch slow delay >>"$T/dm.log" 2>&1; then
		ktap_test_fail "SIGKILL during a $how: setup ($(tr '\n' ' ' <"$T/dm.log"))"
		return
	fi
	slow_dev=$(dmsetup info -c --noheadings -o blkdevname sf-slow)
	inflight=-
	if [ "$how" = freeze ]; then
		run_bg pre-script --execution-id "$id" --timeout 30 --target /mnt/bt --target /mnt/slow
		end=$((SECONDS + 30))
		while [ "$(state)" != freezing ] && [ "$SECONDS" -le "$end" ]; do msleep 20; done
		# Flushing and freezing the slow one take seconds from here.
		msleep 700
	else
		helper pre-script --execution-id "$id" --timeout 30 --target /mnt/bt \
			--target /mnt/slow >"$T/pre.out" 2>&1 || { ok=0; ktap_print_msg "pre-script exit $?"; }
		# A THAW from a process that starts in milliseconds (sfprobe),
		# killed once a write to the slow device is in flight (ext4
		# writes its superblock when thawed, and nothing writes the
		# device while it is frozen), or at the latest 700 ms after it
		# started: the thaw waits 1.5 s for that write, so either way
		# the kill comes while the THAW is still running.  (A write in
		# flight is not always seen: dm-delay holds it in its own queue.)
		thaws0=$(counter thaws)
		(exec "$BIN/sfprobe" thaw >"$T/bg.out" 2>&1) &
		BG=$!
		end=$(($(now_ms) + 700))
		while [ "$(now_ms)" -lt "$end" ]; do
			read -r _ inflight <"/sys/block/$slow_dev/inflight" || break
			[ "$inflight" -gt 0 ] && break
			msleep 5
		done
	fi
	kill -KILL "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	rc=$?
	[ "$how" = thaw ] && ktap_print_msg "SIGKILL during a thaw: $inflight write(s) in flight on the slow device at the kill, THAW caller exit $rc"
	if [ "$rc" != 137 ]; then
		landed=0
		ktap_print_msg "the kill did not land in the middle of the $how (caller exit $rc): the test proves nothing this time"
	fi
	end=$((SECONDS + 40))
	s=$(state)
	while [ "$s" != idle ] && [ "$s" != auto-thawed ] && [ "$SECONDS" -le "$end" ]; do
		msleep 100
		s=$(state)
	done
	if [ "$s" = auto-thawed ] && [ "$how" = thaw ]; then
		# The deadline thawed the set.  Right if the THAW never ran
		# (the kill came before it), wrong if it did.
		if [ "$(counter thaws)" = "$thaws0" ]; then
			landed=0
		else
			ok=0
			ktap_print_msg "the killed THAW ran, yet the deadline had to thaw the set"
		fi
	fi
	[ "$s" = auto-thawed ] && helper post-script --execution-id "$id" >/dev/null 2>&1
	[ "$(state)" = idle ] || { ok=0; ktap_print_msg "state $(state) after the kill"; module_reset; }
	bt_rw=1
	if ! : 2>/dev/null >/mnt/bt/.after-kill; then
		bt_rw=0
		ok=0
		ktap_print_msg "btrfs is no longer writable: $(dmesg | tail -n +"$((since_here + 1))" | grep -E 'BTRFS|snapfreeze' | head -n 4 | tr '\n' ' ')"
	fi
	dmesg | tail -n +"$((since_here + 1))" | grep -q 'forced readonly' && { ok=0; [ "$bt_rw" = 1 ] && ktap_print_msg "a filesystem was forced read-only"; }
	ktap_print_msg "SIGKILL during a $how: caller exit $rc, $(dmesg | tail -n +"$((since_here + 1))" | grep -oE 'snapfreeze: (rollback|thawed|froze)[^:]*' | head -n 2 | tr '\n' ' ')"
	# A kill that came too late proves nothing, but whatever went wrong
	# anyway still fails.
	if [ "$landed" = 0 ] && [ "$ok" = 1 ]; then
		ktap_test_skip "SIGKILL in the middle of a $how (btrfs + a slow ext4): nothing stays frozen and btrfs stays writable" \
			"the kill did not land in the middle of the $how this time (caller exit $rc)"
	else
		ktap_test_result "SIGKILL in the middle of a $how (btrfs + a slow ext4): nothing stays frozen and btrfs stays writable" [ "$ok" = 1 ]
	fi
	dm_switch slow linear >/dev/null 2>&1
	umount /mnt/slow 2>/dev/null
	writers_fresh	# remounts btrfs if it went read-only
}

# stuck_device: a flush or freeze stuck on a suspended device (issue 23):
# pre-script of btrfs and the slow ext4, whose device is suspended once
# the module is freezing (dmsetup suspend --noflush --nolockfs: its I/O
# waits, the filesystem is not frozen by device-mapper).  While the work
# is stuck the module refuses to unload (before, rmmod went ahead and
# freed the set under the work, which wrote to it on resume); an
# emergency thaw gives the set up and returns; btrfs is writable all the
# while; once the device resumes the set ends idle, every writer moves,
# and the module unloads.
stuck_device() {
	local id rc ok=1 t0 dt end
	id=$(uuid $((6000 + RANDOM % 1000)))
	if ! dm_fresh slow >"$T/dm.log" 2>&1 || ! dm_switch slow delay >>"$T/dm.log" 2>&1; then
		ktap_test_fail "a work stuck on a suspended device: setup ($(tr '\n' ' ' <"$T/dm.log"))"
		return
	fi
	dd if=/dev/urandom of=/mnt/slow/dirty bs=1M count=4 status=none
	run_bg pre-script --execution-id "$id" --timeout 60 --budget 30 --target /mnt/bt --target /mnt/slow
	end=$((SECONDS + 30))
	while [ "$(state)" != freezing ] && [ "$SECONDS" -le "$end" ]; do msleep 20; done
	dmsetup suspend --noudevsync --noflush --nolockfs sf-slow
	msleep 300
	t0=$(now_ms)
	if rmmod snapfreeze 2>/dev/null; then
		ok=0
		ktap_print_msg "rmmod went ahead while a work was stuck"
	fi
	dt=$(($(now_ms) - t0))
	[ "$dt" -lt 5000 ] || { ok=0; ktap_print_msg "rmmod took $dt ms to answer"; }
	grep -q '^snapfreeze ' /proc/modules || { ok=0; ktap_print_msg "the module is gone"; module_load; }
	t0=$(now_ms)
	echo thaw >"$SYS/control" || { ok=0; ktap_print_msg "writing thaw to $SYS/control failed"; }
	wait "$BG"
	rc=$?
	dt=$(($(now_ms) - t0))
	[ "$rc" = 201 ] || { ok=0; ktap_print_msg "pre-script exit $rc after the emergency thaw, want 201"; }
	[ "$(state)" = freezing ] || { ok=0; ktap_print_msg "state $(state) with the work stuck, want freezing"; }
	writer_moves bt 5 || { ok=0; ktap_print_msg "btrfs is not writable while the other work is stuck"; }
	dmsetup resume --noudevsync sf-slow
	wait_state idle 30 || { ok=0; ktap_print_msg "state $(state) 30 s after the device resumed"; }
	why=$(all_writers_move 10) || { ok=0; ktap_print_msg "$why"; writers_fresh; }
	: >/mnt/slow/after 2>/dev/null || { ok=0; ktap_print_msg "/mnt/slow is not writable"; }
	if rmmod snapfreeze; then
		module_load || { ok=0; ktap_print_msg "insmod after rmmod failed"; }
	else
		ok=0
		ktap_print_msg "rmmod refused once everything ended"
		module_load
	fi
	ktap_print_msg "a work stuck on a suspended device: rmmod refused, the emergency thaw and pre-script done in $dt ms"
	ktap_test_result "a flush or freeze stuck on a suspended device: the module stays loaded, an emergency thaw returns, everything ends thawed when the device resumes" [ "$ok" = 1 ]
	dm_switch slow linear >/dev/null 2>&1
	umount /mnt/slow 2>/dev/null
}

if [ -z "$FL" ] || ! command -v dmsetup >/dev/null; then
	ktap_test_skip "SIGKILL in the middle of a freeze" "no dm disk or dmsetup"
	ktap_test_skip "SIGKILL in the middle of a thaw" "no dm disk or dmsetup"
	ktap_test_skip "a work stuck on a suspended device" "no dm disk or dmsetup"
else
	slow_kill freeze
	slow_kill thaw
	stuck_device
fi

# --- 4. failing devices
# dm_case NAME WHEN: WHEN is dirty (dirty data, errors before pre-script),
# midflush (errors switched on while the module flushes a slow device),
# clean (errors on a clean filesystem: the freeze itself fails) or frozen
# (errors while frozen, then post-script).
dm_case() {
	local n=$1 when=$2 id rc s f0 f1 le msg ok=1 end what
	id=$(uuid $((3000 + RANDOM)))
	if ! dm_fresh "$n" >"$T/dm.log" 2>&1; then
		ktap_test_fail "${DMFS[$n]} on a failing device, errors $when: setup ($(tr '\n' ' ' <"$T/dm.log"))"
		return
	fi
	case $when in
	dirty) dd if=/dev/urandom of="/mnt/$n/dirty" bs=1M count=8 status=none ;;
	midflush)
		dd if=/dev/urandom of="/mnt/$n/dirty" bs=1M count=16 status=none
		dm_switch "$n" delay
		;;
	clean) sync ;;
	esac
	[ "$when" = dirty ] || [ "$when" = clean ] && dm_switch "$n" error
	f0=$(counter failures)
	# The healthy target first: when the failing one's freeze fails, the
	# healthy one is already frozen and must be rolled back.
	if [ "$when" = midflush ]; then
		run_bg pre-script --execution-id "$id" --timeout 60 --target /mnt/e4 --target "/mnt/$n"
		end=$((SECONDS + 30))
		while [ "$(state)" != freezing ] && [ "$SECONDS" -le "$end" ]; do msleep 20; done
		ktap_print_msg "${DMFS[$n]} midflush: switching to errors in state $(state)"
		dm_switch "$n" error
		wait "$BG"
		rc=$?
		cp "$T/bg.out" "$T/pre.out"
	else
		helper pre-script --execution-id "$id" --timeout 15 --target /mnt/e4 \
			--target "/mnt/$n" >"$T/pre.out" 2>&1
		rc=$?
	fi
	if [ "$when" = frozen ]; then
		[ "$rc" = 0 ] || { ok=0; ktap_print_msg "pre-script exit $rc before the errors"; }
		dm_switch "$n" error
		helper post-script --execution-id "$id" >"$T/post.out" 2>&1
		rc=$?
		s=$(state)
		[ "$rc" = 0 ] || { ok=0; ktap_print_msg "post-script exit $rc, want 0: $(grep -E 'ERROR' "$T/post.out" | head -n 2 | tr '\n' ' ')"; }
		msg="post-script exit $rc, state $s"
	else
		s=$(state)
		f1=$(counter failures)
		le=$(cat "$SYS/last_error")
		msg="pre-script exit $rc, state $s, last_error '$le'"
		if [ "$rc" = 0 ] && [ "$when" = midflush ]; then
			# The flush and freeze won the race: still, nothing may
			# stay frozen once the set is thawed.
			ktap_print_msg "${DMFS[$n]} midflush: the freeze completed before the errors began"
			helper post-script --execution-id "$id" >"$T/post.out" 2>&1 ||
				{ ok=0; ktap_print_msg "post-script exit $?"; }
		elif [ "$rc" != 201 ]; then
			ok=0
			ktap_print_msg "pre-script exit $rc, want 201: $(grep -E 'ERROR' "$T/pre.out" | head -n 2 | tr '\n' ' ')"
		else
			grep -q "ERROR: .*/mnt/$n" "$T/pre.out" || { ok=0; ktap_print_msg "the helper's error does not name /mnt/$n: $(grep ERROR "$T/pre.out" | head -n 2 | tr '\n' ' ')"; }
			[[ $le == */mnt/$n* ]] || { ok=0; ktap_print_msg "last_error does not name /mnt/$n"; }
			[ "$f1" = $((f0 + 1)) ] || { ok=0; ktap_print_msg "failures counter $f0 -> $f1, want +1"; }
		fi
	fi
	[ "$(state)" = idle ] || { ok=0; ktap_print_msg "state $(state), want idle"; module_reset; }
	why=$(all_writers_move 10) || { ok=0; ktap_print_msg "$why"; writers_fresh; }
	# A write to the failing filesystem must not block (it may fail).
	if ! timeout 20 sh -c "echo x >/mnt/$n/after; true" 2>/dev/null; then
		ok=0
		ktap_print_msg "a write to /mnt/$n blocked"
	fi
	case $when in
	dirty) what="before the flush (dirty data)" ;;
	midflush) what="from the middle of the flush" ;;
	clean) what="at the freeze (clean filesystem)" ;;
	frozen) what="while frozen" ;;
	esac
	ktap_test_result "${DMFS[$n]} on a device that fails I/O $what: $msg, nothing left frozen" [ "$ok" = 1 ]
	umount "/mnt/$n" 2>/dev/null || umount -l "/mnt/$n" 2>/dev/null
}

if [ -z "$FL" ] || ! command -v dmsetup >/dev/null; then
	for ((i = 0; i < 8; i++)); do ktap_test_skip "failing device case $i" "no dm disk or dmsetup"; done
else
	for n in fe fx; do
		for when in dirty midflush clean frozen; do
			dm_case "$n" "$when"
		done
	done
fi

# --- 5. emergency thaw with the helper gone
mkdir -p /tmp/sf-rel-bin
cp "$HELPER" /tmp/sf-rel-bin/snapfreeze
LOOP_SINCE=$(dmesg_lines)
t0=$(now_ms)
/tmp/sf-rel-bin/snapfreeze pre-script --execution-id "$(uuid 4000)" --timeout 15 \
	"${TARGETS[@]}" --hooks-dir "$EMPTY_HOOKS" --config "$EMPTY_CONF" >"$T/pre.out" 2>&1
rc=$?
rm -f /tmp/sf-rel-bin/snapfreeze
ok=1
if [ "$rc" != 0 ] || [ "$(state)" != frozen ]; then
	ok=0
	ktap_print_msg "pre-script exit $rc, state $(state)"
fi
if [ -e /tmp/sf-rel-bin/snapfreeze ] || command -v snapfreeze >/dev/null; then
	ok=0
	ktap_print_msg "a snapfreeze binary is still reachable"
fi
echo thaw >"$SYS/control" || { ok=0; ktap_print_msg "writing thaw to $SYS/control failed"; }
wait_state auto-thawed 2 || { ok=0; ktap_print_msg "state $(state) 2 s after the emergency thaw"; }
dt=$(($(now_ms) - t0))
why=$(all_writers_move 5) || { ok=0; ktap_print_msg "$why"; }
# Well before the 15 s deadline: the emergency thaw did it.
[ "$dt" -lt 12000 ] || { ok=0; ktap_print_msg "took $dt ms: the deadline (15 s) may have done it"; }
dmesg | tail -n 20 | grep -q 'emergency thaw: thawed 3 filesystem(s)' ||
	{ ok=0; ktap_print_msg "no 'emergency thaw: thawed 3 filesystem(s)' in dmesg"; }
helper post-script --execution-id "$(uuid 4000)" >"$T/post.out" 2>&1
rc=$?
if [ "$rc" != 203 ] || [ "$(state)" != idle ]; then
	ok=0
	ktap_print_msg "post-script after it: exit $rc (want 203), state $(state)"
fi
ktap_test_result "emergency thaw through $SYS/control with the helper binary gone: thawed in $dt ms, writers resumed, post-script reports it (203)" [ "$ok" = 1 ]

writers_stop
if kernel_clean "$since"; then
	ktap_test_pass "the kernel logged no warning, oops or hung task"
else
	ktap_test_fail "the kernel logged no warning, oops or hung task"
fi
ktap_finished
