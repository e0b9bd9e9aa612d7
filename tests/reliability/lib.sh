# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the reliability suite's guest-side scripts (sourced, never
# run): the VM's disks, the module's sysfs files, writers.  Results are
# KTAP through tests/lib/ktap.sh, which the VM's launcher hands back to
# the host (tests/lib/part.sh).

REPO=${REPO:-$PWD}
BIN=$REPO/build/reliability
HELPER=${SF_HELPER:-$REPO/user/snapfreeze}
MODULE=${SF_MODULE:-$REPO/kmod/snapfreeze.ko}
SYS=/sys/kernel/snapfreeze
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"

# The seed of every random choice (tests/run --seed), and the counts:
# by_length SHORT LONG prints LONG under tests/run --long (make check-long).
SEED=${SF_SEED:-1}
by_length() { if [ -n "${SF_LONG:-}" ]; then echo "$2"; else echo "$1"; fi; }

# dev_of NAME: the block device of vm-run's disk NAME (SF_DISKS).
dev_of() {
	local spec name dev
	for spec in ${SF_DISKS:-}; do
		IFS=: read -r name _ dev <<<"$spec"
		if [ "$name" = "$1" ]; then
			echo "$dev"
			return 0
		fi
	done
	return 1
}

# mount_disks NAME...: mount each of vm-run's disks NAME on /mnt/NAME;
# fails if any does not mount (the others stay mounted).
mount_disks() {
	local n rc=0
	for n in "$@"; do
		mkdir -p "/mnt/$n"
		mount "$(dev_of "$n")" "/mnt/$n" || rc=1
	done
	return "$rc"
}

# msleep MS: sleep without starting a process (a read with a timeout on a
# FIFO nobody writes); under TCG a fork+exec of sleep costs more than the
# short delays the polling loops want.
mkfifo /tmp/sf-rel-sleep 2>/dev/null
exec {SF_SLEEPFD}<>/tmp/sf-rel-sleep
msleep() { read -r -t "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" -u "$SF_SLEEPFD" _ || true; }

# now_ms: wall-clock milliseconds, without a fork.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# --- the module

# Builtin reads: under TCG every fork+exec costs tens of milliseconds, and
# polling loops must not spend their time starting cat.
sysread() {
	local v
	read -r v <"$SYS/$1" || v=
	echo "$v"
}
state() { sysread state; }
counter() { sysread "$1"; }
remaining() { sysread remaining_ms; }

module_load() {
	grep -q '^snapfreeze ' /proc/modules || insmod "$MODULE"
}

# wait_state STATE SECONDS: poll until the module is in STATE.
wait_state() {
	local end=$((SECONDS + $2)) s
	while :; do
		read -r s <"$SYS/state"
		[ "$s" = "$1" ] && return 0
		[ "$SECONDS" -le "$end" ] || return 1
		msleep 50
	done
}

# Nothing may stay frozen behind a test: the emergency thaw, then
# acknowledge whatever is left so the next test starts idle.
module_reset() {
	local s end
	s=$(state 2>/dev/null) || return 0
	if [ "$s" = frozen ] || [ "$s" = freezing ]; then
		echo thaw >"$SYS/control" 2>/dev/null || true
		# A frozen set ends auto-thawed, one being frozen idle.
		end=$((SECONDS + 10))
		while s=$(state) && [ "$s" != auto-thawed ] && [ "$s" != idle ] &&
			[ "$SECONDS" -le "$end" ]; do
			msleep 50
		done
	fi
	if [ "$(state)" != idle ]; then
		"$BIN/sfprobe" thaw >/dev/null 2>&1 || true
	fi
}

# A helper configuration and hooks directory with nothing in them.
EMPTY_CONF=/tmp/sf-rel-empty.conf
EMPTY_HOOKS=/tmp/sf-rel-hooks
: >"$EMPTY_CONF"
mkdir -p "$EMPTY_HOOKS"

# helper ARGS...: the helper with no hooks and no configuration.
helper() {
	"$HELPER" "$@" --hooks-dir "$EMPTY_HOOKS" --config "$EMPTY_CONF"
}

# uuid N: a fixed, valid execution id per number.
uuid() { printf '5f0c8a4e-1b2d-4c3e-9f10-%012x' "$1"; }

# --- writers (sfwriter), logging to /tmp/sf-rel-w/NAME.seq

WDIR=/tmp/sf-rel-w
WRITER_PIDS=()

# writer_start NAME MODE PATH [RATE [WRAP]]: MODE append (PATH a new file)
# or files (PATH a new directory); see sfwriter.c.
writer_start() {
	mkdir -p "$WDIR"
	[ "$2" = files ] && mkdir -p "$3"
	# sfwriter wants a new file: a leftover of an earlier test would stop it.
	[ "$2" = append ] && rm -f "$3"
	"$BIN/sfwriter" "$2" "$3" "$WDIR/$1.seq" "${4:-0}" ${5:+"$5"} 2>"$WDIR/$1.err" &
	WRITER_PIDS+=($!)
	echo "$!" >"$WDIR/$1.pid"
}

writer_seq() {	# read twice until stable: the writer may be rewriting it
	local a=0 b=1
	while [ "$a" != "$b" ]; do
		read -r a <"$WDIR/$1.seq" 2>/dev/null || a=0
		read -r b <"$WDIR/$1.seq" 2>/dev/null || b=0
	done
	echo "${a:-0}"
}

# writers_stop: end every writer (each finishes its current record).  A
# writer blocked on a frozen filesystem ends only after the thaw.
writers_stop() {
	local p
	for p in ${WRITER_PIDS[@]+"${WRITER_PIDS[@]}"}; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in ${WRITER_PIDS[@]+"${WRITER_PIDS[@]}"}; do
		wait "$p" 2>/dev/null || true
	done
	WRITER_PIDS=()
}

# writer_moves NAME SECONDS: the writer's count grows within SECONDS.
writer_moves() {
	local before now end=$((SECONDS + $2))
	before=$(writer_seq "$1")
	while :; do
		now=$(writer_seq "$1")
		[ "$now" -gt "$before" ] && return 0
		[ "$SECONDS" -le "$end" ] || return 1
		msleep 50
	done
}

# kernel_clean SINCE_LINE: no warning, oops or hung task in dmesg after
# line SINCE_LINE (dmesg | wc -l taken before); prints what it found.
kernel_clean() {
	local bad
	bad=$(dmesg | tail -n +"$(($1 + 1))" |
		grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|blocked for more than|possible circular locking|hung_task' || true)
	if [ -n "$bad" ]; then
		while IFS= read -r l; do ktap_print_msg "kernel: $l"; done < <(echo "$bad" | head -n 20)
		return 1
	fi
}

dmesg_lines() { dmesg | wc -l; }
