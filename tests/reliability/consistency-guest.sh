#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the consistency proof (host side: tests/reliability/consistency,
# part "consistency", which copies the disks through QMP).  Runs INSIDE
# the VM, from the repository:
#
#   vda e4  ext4    /mnt/e4     writers: e4-a (appends 4 KiB records to
#   vdb xfs xfs     /mnt/xfs             rR-append), e4-f (creates
#   vdc bt  btrfs   /mnt/bt              rR-files/fN), the same on each
#   vdd m1 -+ md0 RAID0 (64 KiB chunks), ext4, /mnt/md
#   vde m2 -+
#
#   each round R:
#     writers start on all four, run for a while (nothing fsyncs)
#     frozen round:  snapfreeze pre-script --target all four  (exit 0)
#     control round: nothing
#     the last sequence number each writer logged = what must be in the copy
#     SIG/rR.copy  ->  host: drive-backup e4, xfs, bt, m1, m2, one after
#                      another, SPACING seconds apart (each is a separate
#                      point-in-time copy, as separate volume snapshots are)
#     SIG/rR.copied <- host: every copy has started
#     frozen round:  snapfreeze post-script                     (exit 0)
#     writers stop;  SIG/rR.ready <- host: every copy has finished
#     check the copies in COPIES/rR-NAME.img (the repository, over 9p):
#       ext4: no needs_recovery in dumpe2fs -h, e2fsck -fn exit 0
#       xfs:  mounted once (nouuid: log replay), xfs_repair -n exit 0
#       btrfs: btrfs check --readonly exit 0
#       md:   m1+m2 copies assembled (new array UUID), its ext4 as above
#       data: every writer's records 1..N present and intact in the copy
#             (N: its last logged number), each copy mounted read-only
#
# Frozen rounds must pass every check; control rounds are expected to
# fail some (the last test says how many did: if none did, the checks
# prove nothing).
#
#   consistency-guest.sh SIGDIR COPYDIR FROZEN_ROUNDS CONTROL_ROUNDS
set -u

SIG=$1
COPIES=$2
NFROZEN=$3
NCONTROL=$4
RUN_S=3		# seconds the writers run before the copy point
RATE_A=400	# append records per second per writer
RATE_F=100	# files per second per writer
# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"

FS=(e4 xfs bt md)
LOOPS=()
T=/tmp/sf-rel-c
mkdir -p "$T"

cleanup() {
	writers_stop
	module_reset
	for f in c-e4 c-xfs c-bt c-md; do umount "/mnt/$f" 2>/dev/null; done
	mdadm --stop /dev/md1 >/dev/null 2>&1
	for l in ${LOOPS[@]+"${LOOPS[@]}"}; do losetup -d "$l" 2>/dev/null; done
	for f in "${FS[@]}"; do umount "/mnt/$f" 2>/dev/null; done
	mdadm --stop /dev/md0 >/dev/null 2>&1
	: >"$SIG/guest-done"
}
trap cleanup EXIT

# wait_sig FILE SECONDS
wait_sig() {
	local end=$((SECONDS + $2))
	while [ ! -e "$1" ]; do
		[ "$SECONDS" -le "$end" ] || return 1
		msleep 100
	done
}

loop_of() {	# loop_of IMAGE: attach, print the loop device
	local l
	l=$(losetup -f --show "$1") || return 1
	LOOPS+=("$l")
	echo "$l"
}

loop_free() { losetup -d "$1" 2>/dev/null; }

ktap_print_header
ktap_set_plan $((NFROZEN * 6 + 2))

# --- setup
setup_ok=1
modprobe raid0 2>/dev/null
modprobe loop 2>/dev/null
M1=$(dev_of m1) M2=$(dev_of m2)
if ! mdadm --create /dev/md0 --level=0 --raid-devices=2 --chunk=64 \
	--metadata=1.2 --run --force "$M1" "$M2" >"$T/mdadm.log" 2>&1 ||
	! mkfs.ext4 -q -F /dev/md0 >>"$T/mdadm.log" 2>&1; then
	ktap_print_msg "cannot build the md stripe: $(tr '\n' ' ' <"$T/mdadm.log")"
	setup_ok=0
fi
declare -A DEV=([e4]=$(dev_of e4) [xfs]=$(dev_of xfs) [bt]=$(dev_of bt) [md]=/dev/md0)
for f in "${FS[@]}"; do
	mkdir -p "/mnt/$f" "/mnt/c-$f"
	mount "${DEV[$f]}" "/mnt/$f" || setup_ok=0
done
module_load || setup_ok=0
ktap_print_msg "dirty writeback: expire $(cat /proc/sys/vm/dirty_expire_centisecs) cs," \
	"interval $(cat /proc/sys/vm/dirty_writeback_centisecs) cs," \
	"ratio $(cat /proc/sys/vm/dirty_ratio)%; writers run ${RUN_S} s at" \
	"${RATE_A} records/s and ${RATE_F} files/s"
if [ "$setup_ok" = 1 ]; then
	ktap_test_pass "setup: ext4, xfs, btrfs and ext4 on an md RAID0 of two disks mounted, module loaded"
else
	ktap_test_fail "setup: ext4, xfs, btrfs and ext4 on an md RAID0 of two disks mounted, module loaded"
	: >"$SIG/abort"
	for ((i = 0; i < NFROZEN * 6 + 1; i++)); do ktap_test_fail "not run: setup failed"; done
	ktap_finished
	exit 1
fi

# --- checks of one copy; each prints a reason and returns 1 on failure

# ext4_clean DEV_OR_IMAGE
ext4_clean() {
	local rc=0
	if dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
		echo -n "needs journal recovery; "
		rc=1
	fi
	if ! e2fsck -fn "$1" >"$T/fsck.log" 2>&1; then
		echo -n "e2fsck -fn: $(grep -vE '^(Pass|e2fsck [0-9])' "$T/fsck.log" | head -n 3 | tr '\n' ' '); "
		rc=1
	fi
	return $rc
}

# data_present MNT FS ROUND: the writers' records up to their logged number.
data_present() {
	local w n v rc=0
	for w in a f; do
		n=$(cat "$T/r$3.$2-$w.expect")
		if [ "$w" = a ]; then
			v=$("$BIN/sfwriter" verify-append "$1/r$3-append" "$n")
		else
			v=$("$BIN/sfwriter" verify-files "$1/r$3-files" "$n")
		fi || {
			echo -n "$2-$w: $v, want $n; "
			rc=1
		}
		echo "$2-$w $n $v" >>"$T/r$3.data"
	done
	return $rc
}

# local_copy NAME ROUND: the host's copy, brought into tmpfs (a loop device
# on a 9p file is ten times slower than on tmpfs); prints its path.
local_copy() {
	cp --sparse=always "$COPIES/r$2-$1.img" "$T/$1.img" && echo "$T/$1.img"
}

# check_copy ROUND FS: prints the reasons it failed, if any.  The data
# verdicts go to $T/rROUND.data.
check_copy() {
	local r=$1 f=$2 img l l1 l2 rc=0 why=
	if [ "$f" = md ]; then
		if ! local_copy m1 "$r" >/dev/null || ! local_copy m2 "$r" >/dev/null; then
			echo "cannot copy the images into tmpfs"
			return 1
		fi
	else
		img=$(local_copy "$f" "$r") || {
			echo "cannot copy the image into tmpfs"
			return 1
		}
	fi
	case $f in
	e4)
		why=$(ext4_clean "$img") || rc=1
		if l=$(loop_of "$img") && mount -o ro "$l" /mnt/c-e4; then
			why+=$(data_present /mnt/c-e4 e4 "$r")
			umount /mnt/c-e4
		else
			why+="cannot mount the copy; "
		fi
		loop_free "$l"
		;;
	xfs)
		l=$(loop_of "$img")
		if mount -o nouuid "$l" /mnt/c-xfs 2>"$T/mnt.log"; then
			why+=$(data_present /mnt/c-xfs xfs "$r")
			umount /mnt/c-xfs
			if ! xfs_repair -n "$l" >"$T/repair.log" 2>&1; then
				why+="xfs_repair -n: $(grep -vE '^(Phase|        - )' "$T/repair.log" | head -n 3 | tr '\n' ' '); "
				rc=1
			fi
		else
			why+="mount (log replay) failed: $(tr '\n' ' ' <"$T/mnt.log"); "
			rc=1
		fi
		loop_free "$l"
		;;
	bt)
		if ! btrfs check --readonly "$img" >"$T/check.log" 2>&1; then
			why+="btrfs check: $(grep -iE 'error|fail|wrong|mismatch' "$T/check.log" | head -n 3 | tr '\n' ' '); "
			rc=1
		fi
		# Its own fsid (metadata_uuid), so that it can be mounted next to
		# the original, which has the same one.
		if btrfstune -f -m "$img" >"$T/tune.log" 2>&1 && l=$(loop_of "$img") &&
			mount -o ro "$l" /mnt/c-bt 2>"$T/mnt.log"; then
			why+=$(data_present /mnt/c-bt bt "$r")
			umount /mnt/c-bt
		else
			why+="cannot mount the copy: $(cat "$T/tune.log" "$T/mnt.log" 2>/dev/null | tr '\n' ' '); "
		fi
		[ -n "${l:-}" ] && loop_free "$l"
		;;
	md)
		l1=$(loop_of "$T/m1.img")
		l2=$(loop_of "$T/m2.img")
		# A new array UUID: the original array is still running.
		if mdadm --assemble /dev/md1 --run --update=uuid \
			--uuid="$(cat /proc/sys/kernel/random/uuid)" "$l1" "$l2" \
			>"$T/asm.log" 2>&1; then
			why+=$(ext4_clean /dev/md1) || rc=1
			if mount -o ro /dev/md1 /mnt/c-md 2>"$T/mnt.log"; then
				why+=$(data_present /mnt/c-md md "$r")
				umount /mnt/c-md
			else
				why+="cannot mount the stripe's ext4; "
			fi
			mdadm --stop /dev/md1 >/dev/null 2>&1
		else
			why+="the member copies do not assemble: $(tr '\n' ' ' <"$T/asm.log"); "
			rc=1
		fi
		loop_free "$l1"
		loop_free "$l2"
		;;
	esac
	rm -f "$T"/*.img
	echo "$why"
	return $rc
}

# --- the rounds: frozen and control alternate, frozen first
declare -A CTRL_FAIL=([e4]=0 [xfs]=0 [bt]=0 [md]=0 [data]=0)
ctrl_failed_rounds=0
nrounds=$((NFROZEN + NCONTROL))
fr=0 cr=0
for ((r = 1; r <= nrounds; r++)); do
	if { [ $((r % 2)) = 1 ] && [ "$fr" -lt "$NFROZEN" ]; } || [ "$cr" -ge "$NCONTROL" ]; then
		mode=frozen
		fr=$((fr + 1))
	else
		mode=control
		cr=$((cr + 1))
	fi
	rm -f "$T/r$r".*
	for f in "${FS[@]}"; do
		rm -rf "/mnt/$f"/r*-append "/mnt/$f"/r*-files
		writer_start "$f-a" append "/mnt/$f/r$r-append" "$RATE_A"
		writer_start "$f-f" files "/mnt/$f/r$r-files" "$RATE_F"
	done
	sleep "$RUN_S"

	pre_rc=- post_rc=- frozen_ms=-
	if [ "$mode" = frozen ]; then
		t0=$(now_ms)
		helper pre-script --execution-id "$(uuid "$r")" --timeout 60 --budget 50 \
			--target /mnt/e4 --target /mnt/xfs --target /mnt/bt \
			--target /mnt/md >"$T/r$r.pre" 2>&1
		pre_rc=$?
	fi
	# What had completed when pre-script returned (or would have).
	for f in "${FS[@]}"; do
		for w in a f; do
			writer_seq "$f-$w" >"$T/r$r.$f-$w.expect"
		done
	done
	: >"$SIG/r$r.copy"
	if ! wait_sig "$SIG/r$r.copied" 60; then
		ktap_print_msg "round $r: the host never started the copies"
	fi
	if [ "$mode" = frozen ]; then
		helper post-script --execution-id "$(uuid "$r")" >"$T/r$r.post" 2>&1
		post_rc=$?
		frozen_ms=$(($(now_ms) - t0))
	fi
	writers_stop
	expect=
	for f in "${FS[@]}"; do
		expect+="$f $(cat "$T/r$r.$f-a.expect")/$(cat "$T/r$r.$f-f.expect") "
	done
	ktap_print_msg "round $r ($mode): records/files completed at the copy point: $expect"
	[ "$mode" = frozen ] && ktap_print_msg "round $r: $(grep -o 'froze .*' "$T/r$r.pre" | head -n 1)"
	tc=$SECONDS
	if ! wait_sig "$SIG/r$r.ready" 300; then
		ktap_print_msg "round $r: the host never finished the copies"
	fi
	[ -e "$SIG/r$r.host" ] && ktap_print_msg "round $r: host: $(tr '\n' ' ' <"$SIG/r$r.host")"
	if [ -e "$SIG/r$r.host-error" ]; then
		ktap_print_msg "round $r: host: $(cat "$SIG/r$r.host-error")"
	fi

	DATA_OK=1
	declare -A WHY=()
	declare -A OK=()
	tcs=
	for f in "${FS[@]}"; do
		t1=$SECONDS
		if WHY[$f]=$(check_copy "$r" "$f"); then OK[$f]=1; else OK[$f]=0; fi
		tcs+="$f $((SECONDS - t1)) s, "
	done
	# check_copy ran in a subshell: the data verdicts are in the file.
	if grep -q 'valid=' "$T/r$r.data" 2>/dev/null; then
		while read -r _ n v _; do
			[ "${v#valid=}" -ge "$n" ] || DATA_OK=0
		done <"$T/r$r.data"
		[ "$(wc -l <"$T/r$r.data")" = 8 ] || DATA_OK=0
	else
		DATA_OK=0
	fi
	rm -f "$COPIES/r$r"-*.img
	ktap_print_msg "round $r: checking the copies took $((SECONDS - tc)) s (${tcs%, })"

	if [ "$mode" = frozen ]; then
		if [ "$pre_rc" = 0 ] && [ "$post_rc" = 0 ]; then
			ktap_test_pass "round $r frozen: pre-script and post-script exit 0 (frozen for $frozen_ms ms, the copies taken in between)"
		else
			ktap_test_fail "round $r frozen: pre-script and post-script exit 0 (pre $pre_rc, post $post_rc)"
			tail -n 5 "$T/r$r.pre" | sed "s/^/pre: /" | while read -r l; do ktap_print_msg "$l"; done
			tail -n 5 "$T/r$r.post" | sed "s/^/post: /" | while read -r l; do ktap_print_msg "$l"; done
		fi
		for f in "${FS[@]}"; do
			case $f in
			e4) name="ext4 copy is clean without journal recovery (no needs_recovery, e2fsck -fn)" ;;
			xfs) name="xfs copy is clean after one log replay (mount nouuid, xfs_repair -n)" ;;
			bt) name="btrfs copy passes btrfs check" ;;
			md) name="RAID0 stripe assembled from its two member copies: its ext4 is clean without journal recovery" ;;
			esac
			if [ "${OK[$f]}" = 1 ]; then
				ktap_test_pass "round $r frozen: $name"
			else
				ktap_test_fail "round $r frozen: $name"
				ktap_print_msg "  ${WHY[$f]}"
			fi
		done
		if [ "$DATA_OK" = 1 ]; then
			ktap_test_pass "round $r frozen: every write completed before pre-script returned is in the copies (8 writers)"
		else
			ktap_test_fail "round $r frozen: every write completed before pre-script returned is in the copies"
			while read -r l; do ktap_print_msg "  $l"; done <"$T/r$r.data"
		fi
	else
		failed_here=
		for f in "${FS[@]}"; do
			if [ "${OK[$f]}" != 1 ]; then
				CTRL_FAIL[$f]=$((CTRL_FAIL[$f] + 1))
				failed_here+="$f(${WHY[$f]%%; *}) "
			fi
		done
		if [ "$DATA_OK" != 1 ]; then
			CTRL_FAIL[data]=$((CTRL_FAIL[data] + 1))
			failed_here+="data($(awk '{split($3, v, "="); if (v[2] + 0 < $2) printf "%s %s/%s ", $1, v[2], $2}' "$T/r$r.data" 2>/dev/null)) "
		fi
		if [ -n "$failed_here" ]; then
			ctrl_failed_rounds=$((ctrl_failed_rounds + 1))
			ktap_print_msg "control round $r: the copies are inconsistent, as expected without a freeze: $failed_here"
		else
			ktap_print_msg "control round $r: the copies happened to pass every check"
		fi
	fi
	unset WHY OK
done

ktap_print_msg "control failures by check over $NCONTROL round(s): ext4 ${CTRL_FAIL[e4]}, xfs ${CTRL_FAIL[xfs]}, btrfs ${CTRL_FAIL[bt]}, md stripe ${CTRL_FAIL[md]}, missing writes ${CTRL_FAIL[data]}"
if [ "$NCONTROL" -gt 0 ] && [ "$ctrl_failed_rounds" -gt 0 ]; then
	ktap_test_pass "the control (same procedure, no freeze) failed in $ctrl_failed_rounds of $NCONTROL round(s): the checks can tell"
elif [ "$NCONTROL" = 0 ]; then
	ktap_test_skip "the control (same procedure, no freeze) fails" "no control rounds asked for"
else
	ktap_test_fail "the control (same procedure, no freeze) failed in 0 of $NCONTROL round(s): the checks prove nothing"
fi
ktap_finished
