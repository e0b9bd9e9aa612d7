# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the tests of the application hooks (tests/apps/), host side and
# guest side.  Results are printed unnumbered, "ok - NAME", "not ok - NAME"
# or "ok - NAME # SKIP WHY", with "# ..." diagnostics; tests/apps/run
# numbers them into one KTAP stream and counts them.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HOOKS=$REPO/hooks
HELPER=${SF_HELPER:-$REPO/user/snapfreeze}
SYS=/sys/kernel/snapfreeze

diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
pass() { printf 'ok - %s\n' "$*"; }
fail() { printf 'not ok - %s\n' "$*"; }
skip() { printf 'ok - %s # SKIP %s\n' "$1" "$2"; }

# A file's lines as diagnostics, at most the last N (default 40).
diag_file() { # FILE [N]
	[ -s "$1" ] || return 0
	tail -n "${2:-40}" "$1" | sed 's/^/#   /'
}

# Wait up to SECONDS for a command to succeed, polling every 0.2 s.
wait_for() { # SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# The helper as the scheduler runs it; RC its exit code, OUT its output.
# shellcheck disable=SC2034 # RC and OUT are for the caller
# The repository's helper is first on PATH so that hooks find it
# ("snapfreeze monitor").  The bound is above the guests' budget (170 s)
# plus their rollback: the helper's own limits end a call first.
sf() {
	RC=0
	OUT=$(PATH=$(dirname "$HELPER"):$PATH timeout -k 5 300 "$HELPER" "$@" 2>&1) || RC=$?
}

# The module's state: idle, frozen, auto-thawed, ...
sf_state() { cat "$SYS/state" 2>/dev/null || echo none; }

# A hooks directory holding the named shipped hooks, enabled the documented
# way: a symlink per hook, with an order prefix.
hooks_dir() { # DIR NAME...
	local d=$1 n=10
	shift
	rm -rf "$d"
	mkdir -p "$d"
	for h; do
		ln -s "$HOOKS/$h" "$d/$n-$h"
		n=$((n + 10))
	done
}

# ------------------------------------------------------------- guest/host
# The guest asks the host (tests/apps/vm-proof) to act on the VM through
# QMP: files in a directory of the repository, shared over 9p.
#   SIG/req.N  "copy DISK1 DISK2 SPACING TAG" | "attach TAG DISK..." |
#              "detach TAG DISK..."
#   SIG/ans.N  "ok ..." or "error ..."
REQ_N=0
host_request() { # WORDS...; ANSWER is the host's answer
	local n=$((++REQ_N))
	printf '%s\n' "$*" >"$SF_APPS_SIG/req.$n.tmp"
	mv "$SF_APPS_SIG/req.$n.tmp" "$SF_APPS_SIG/req.$n"
	ANSWER="error: no answer from the host"
	wait_for 300 test -e "$SF_APPS_SIG/ans.$n" || return 1
	ANSWER=$(cat "$SF_APPS_SIG/ans.$n")
	[[ $ANSWER == ok* ]]
}

# The guest's block device whose virtio serial is NAME (hot-plugged: waits
# up to 30 s for it).
dev_by_serial() { # NAME
	local s i
	for ((i = 0; i < 150; i++)); do
		for s in /sys/block/vd*/serial; do
			if [ -e "$s" ] && [ "$(cat "$s")" = "$1" ]; then
				s=/dev/$(basename "$(dirname "$s")")
				wait_for 10 test -b "$s" && echo "$s"
				return
			fi
		done
		sleep 0.2
	done
	return 1
}

# --- the rounds of a proof (pg-guest.sh, mariadb-guest.sh) ----------------
# Each defines round MODE K (MODE freeze or control): it takes one pair of
# copies and sets VERDICT (good or bad) and DETAIL (lines for the log).

# Phase timings of a round, for DETAIL: "phase N s, ...".
lap() { # PHASE
	TIMES+="$1 $((SECONDS - LAP)) s, "
	LAP=$SECONDS
}

# Test that each pair of copies taken around a freeze is good.  APP names
# the application in the results; HOW says how a round takes its copies;
# PROVES what a good copy proves.
freeze_rounds() { # APP HOW PROVES
	local k
	for ((k = 1; k <= ROUNDS; k++)); do
		round freeze "$k"
		if [ "$VERDICT" = good ]; then
			pass "$1: round $k with freeze ($2): $3"
		else
			fail "$1: round $k with freeze: $3"
		fi
		printf '%s\n' "${DETAIL[@]}" | sed 's/^/#   /'
	done
}

# Test that the same copies without a freeze can be bad: else the rounds
# with a freeze prove nothing.
control_rounds() { # APP
	local k bad=0
	for ((k = 1; k <= ROUNDS; k++)); do
		round control "$k"
		[ "$VERDICT" = good ] || bad=$((bad + 1))
		diag "control round $k: $VERDICT"
		printf '%s\n' "${DETAIL[@]}" | sed 's/^/#   /'
	done
	diag "RESULT $1 control: $bad of $ROUNDS copies without freeze were bad"
	if [ "$bad" -gt 0 ]; then
		pass "$1: control without freeze: $bad of $ROUNDS copies were bad, so the test can fail"
	else
		fail "$1: control without freeze: no copy was bad, so the rounds with freeze prove nothing"
	fi
}
