#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side tests of the shipped hooks that need no kernel: the hook
# protocol of hooks/iris and hooks/hana against STAND-INS for IRIS's iris
# and HANA's hdbsql (tests/apps/standin/, which record their calls and
# refuse on request: neither server can be installed here), and what every
# hook does with a bad argument or setting.  The hooks are called as the
# helper calls them: one argument, SNAPFREEZE_* in the environment.
#
#   $T/            a fresh temporary directory per run
#     bin/         iris, hdbsql (symlinks to the stand-ins), hdbnameserver
#                  (a copy of sleep: hooks/hana looks for that process)
#     run/         SNAPFREEZE_RUN_DIR: the hooks' state (/run/snapfreeze)
#     iris/ hana/  the stand-ins' state: calls, frozen-NAME, prepared, catalog
#
#   tests/apps/hooks_test.sh [--plan]
# Functions called through traps look unreachable to shellcheck; the
# conditions given to check are expanded by eval:
# shellcheck disable=SC2317,SC2016
set -u
if [ "${1:-}" = --plan ]; then
	grep -c '^t_[a-z0-9_]*$' "$0"
	exit 0
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/apps/lib.sh
. "$REPO/tests/apps/lib.sh"
T=$(mktemp -d /tmp/sf-hooks-test.XXXXXX)
NAMER=
cleanup() {
	[ -n "$NAMER" ] && kill "$NAMER" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/bin"
ln -s "$REPO/tests/apps/standin/iris" "$REPO/tests/apps/standin/hdbsql" "$T/bin/"
cp "$(command -v sleep)" "$T/bin/hdbnameserver"
export PATH=$T/bin:$PATH SNAPFREEZE_HOOK_CONF=/dev/null SNAPFREEZE_EXECUTION_ID=None
export SNAPFREEZE_TARGETS=/mnt/data SNAPFREEZE_RUN_DIR=$T/run
export IRIS_STANDIN_DIR=$T/iris HDBSQL_STANDIN_DIR=$T/hana

# Run HOOK ARG as the helper's COMMAND would; RC, OUT.
hook() { # COMMAND HOOK ARG
	RC=0
	OUT=$(SNAPFREEZE_COMMAND=$1 timeout 60 "$HOOKS/$2" "$3" 2>&1) || RC=$?
}

# Fresh state for the hook and the stand-ins.
fresh() {
	rm -rf "$T/run" "$T/iris" "$T/hana"
	mkdir -p "$T/iris" "$T/hana"
}

check() { # NAME CONDITION...
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name"
		diag "exit $RC: $OUT"
		diag_file "$T/iris/calls" 10
		diag_file "$T/hana/calls" 10
	fi
}
has() { grep -q -- "$1" <<<"$OUT"; }
called() { grep -q -- "$2" "$T/$1/calls" 2>/dev/null; }
lines() { [ "$(grep -c . <<<"$OUT")" = "$1" ]; }

# A process named hdbnameserver, running once this returns.
namer_start() {
	"$T/bin/hdbnameserver" 3600 &
	NAMER=$!
	wait_for 10 grep -qx hdbnameserver "/proc/$NAMER/comm"
}
namer_stop() {
	kill "$NAMER"
	wait "$NAMER" 2>/dev/null
	NAMER=
}

# Test that every hook refuses an unknown argument with exit 1 and a usage line.
t_usage() {
	local h ok=true
	for h in postgresql mysql iris hana; do
		hook pre-script "$h" bogus
		[ "$RC" = 1 ] && has "usage: .* freeze|thaw|dry-run" || ok=false
	done
	check "every hook answers an unknown argument with exit 1 and its usage" $ok
}

# Test that a bad number in the settings is a failure, not a guess.
t_bad_setting() {
	RC=0
	OUT=$(SNAPFREEZE_MYSQL_MAX_HOLD=soon SNAPFREEZE_COMMAND=pre-script "$HOOKS/mysql" freeze 2>&1) || RC=$?
	check "mysql: a setting that is not a number of seconds fails the hook (exit 1)" \
		eval '[ "$RC" = 1 ] && has "not a positive number"'
}

# Test that the settings file is read and the environment wins over it.
t_settings_file() {
	fresh
	printf '%s\n' "# comment" "SNAPFREEZE_IRIS_INSTANCES=FROMFILE" "SNAPFREEZE_IRIS_TIMEOUT=7" \
		"NOT_OURS=1" >"$T/iris.conf"
	RC=0
	OUT=$(SNAPFREEZE_HOOK_CONF=$T/iris.conf SNAPFREEZE_IRIS_TIMEOUT=9 SNAPFREEZE_COMMAND=dry-run \
		IRIS_STANDIN_INSTANCES=FROMFILE:running "$HOOKS/iris" dry-run 2>&1) || RC=$?
	check "settings file: KEY=value lines are read, others ignored with a warning" \
		eval '[ "$RC" = 0 ] && has "instance FROMFILE: running" && has "ignored: NOT_OURS"'
}

# Test that without an iris command the IRIS hook says so in one line and succeeds.
t_iris_not_installed() {
	fresh
	RC=0
	OUT=$(PATH=/usr/bin:/bin SNAPFREEZE_COMMAND=pre-script "$HOOKS/iris" freeze 2>&1) || RC=$?
	check "iris: not installed: one INFO line, exit 0" eval '[ "$RC" = 0 ] && lines 1 && has "not installed"'
}

# Test that with every instance down the IRIS hook has nothing to do.
t_iris_not_running() {
	fresh
	IRIS_STANDIN_INSTANCES="IRIS:down" hook pre-script iris freeze
	check "iris (STAND-IN): installed, no instance running: one INFO line, exit 0" \
		eval '[ "$RC" = 0 ] && lines 1 && has "no instance is running" && ! called iris ExternalFreeze'
}

# Test a whole cycle: freeze each running instance, thaw each after.
t_iris_cycle() {
	local ok=true
	fresh
	IRIS_STANDIN_INSTANCES="A:running B:down C:running" hook pre-script iris freeze
	[ "$RC" = 0 ] && [ -e "$T/iris/frozen-A" ] && [ -e "$T/iris/frozen-C" ] &&
		! called iris "session B" || ok=false
	IRIS_STANDIN_INSTANCES="A:running B:down C:running" hook post-script iris thaw
	[ "$RC" = 0 ] && [ ! -e "$T/iris/frozen-A" ] && [ ! -e "$T/iris/frozen-C" ] || ok=false
	hook post-script iris thaw
	[ "$RC" = 0 ] && has "nothing to do" || ok=false
	check "iris (STAND-IN): freeze calls ExternalFreeze in each running instance, thaw ExternalThaw in each, a second thaw has nothing to do" $ok
}

# Test that a refused freeze fails (1) and thaws the instances frozen before.
t_iris_refused() {
	fresh
	IRIS_STANDIN_INSTANCES="A:running B:running" IRIS_STANDIN_REFUSE=freeze:B hook pre-script iris freeze
	check "iris (STAND-IN): ExternalFreeze refused: exit 1, the instance frozen before it is thawed" \
		eval '[ "$RC" = 1 ] && [ ! -e "$T/iris/frozen-A" ] && called iris "session A .*ExternalThaw" && [ ! -s "$T/run/iris/frozen" ]'
}

# Test that a freeze that hangs is given up after SNAPFREEZE_IRIS_TIMEOUT
# and the instance is thawed in case it froze late.
t_iris_hangs() {
	fresh
	IRIS_STANDIN_HANG=freeze:IRIS SNAPFREEZE_IRIS_TIMEOUT=2 hook pre-script iris freeze
	check "iris (STAND-IN): ExternalFreeze does not answer: exit 1 after SNAPFREEZE_IRIS_TIMEOUT, ExternalThaw tried" \
		eval '[ "$RC" = 1 ] && has "did not answer within 2 s" && called iris ExternalThaw'
}

# Test that a refused thaw fails (202 for the helper) and a retry thaws.
t_iris_thaw_retry() {
	local ok=true
	fresh
	hook pre-script iris freeze
	IRIS_STANDIN_REFUSE=thaw:IRIS hook post-script iris thaw
	[ "$RC" = 1 ] && [ -e "$T/iris/frozen-IRIS" ] || ok=false
	hook post-script iris thaw
	[ "$RC" = 0 ] && [ ! -e "$T/iris/frozen-IRIS" ] || ok=false
	check "iris (STAND-IN): ExternalThaw refused: exit 1 and the instance stays listed; the retried thaw thaws it" $ok
}

# Test that "iris qlist" failing means not ready (75).
t_iris_not_ready() {
	fresh
	IRIS_STANDIN_REFUSE=qlist hook pre-script iris freeze
	check "iris (STAND-IN): the iris command fails: not ready (75)" eval '[ "$RC" = 75 ] && has "not ready"'
}

# Test that dry-run calls an instance frozen by someone else not ready.
t_iris_dry_run() {
	local ok=true
	fresh
	hook dry-run iris dry-run
	[ "$RC" = 0 ] && ! called iris ExternalFreeze || ok=false
	: >"$T/iris/frozen-IRIS"
	hook dry-run iris dry-run
	[ "$RC" = 75 ] && has "already suspended" || ok=false
	check "iris (STAND-IN): dry-run freezes nothing, and calls an instance already frozen not ready (75)" $ok
}

# Test that without hdbsql the HANA hook says so in one line and succeeds.
t_hana_not_installed() {
	fresh
	RC=0
	OUT=$(PATH=/usr/bin:/bin SNAPFREEZE_COMMAND=pre-script "$HOOKS/hana" freeze 2>&1) || RC=$?
	check "hana: not installed: one INFO line, exit 0" eval '[ "$RC" = 0 ] && lines 1 && has "not installed"'
}

# Test that with no hdbnameserver running the HANA hook has nothing to do.
t_hana_not_running() {
	fresh
	hook pre-script hana freeze
	check "hana (STAND-IN): installed, not running: one INFO line, exit 0, no SQL sent" \
		eval '[ "$RC" = 0 ] && lines 1 && has "not running" && [ ! -e "$T/hana/calls" ]'
}

# Test prepare before, confirm after, with the execution id as external id.
t_hana_confirm() {
	local ok=true id
	fresh
	namer_start
	hook pre-script hana freeze
	[ "$RC" = 0 ] && [ -s "$T/run/hana/snapshot" ] && [ -e "$T/hana/prepared" ] || ok=false
	id=$(cat "$T/hana/prepared" 2>/dev/null)
	SNAPFREEZE_EXECUTION_ID=5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6 hook post-script hana thaw
	# shellcheck disable=SC2015
	[ "$RC" = 0 ] && grep -q "^$id SUCCESSFUL 'snapfreeze 5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6'" "$T/hana/catalog" &&
		[ ! -e "$T/run/hana/snapshot" ] || ok=false
	hook post-script hana thaw
	[ "$RC" = 0 ] && has "nothing to do" || ok=false
	namer_stop
	check "hana (STAND-IN): freeze prepares a data snapshot (id kept under the run directory), post-script's thaw confirms it with the execution id, a second thaw has nothing to do" $ok
}

# Test that a rolled-back pre-script abandons the snapshot.
t_hana_abandon() {
	fresh
	namer_start
	hook pre-script hana freeze
	hook pre-script hana thaw
	namer_stop
	check "hana (STAND-IN): thaw during a pre-script (rollback) abandons the snapshot: CLOSE SNAPSHOT ... UNSUCCESSFUL" \
		eval '[ "$RC" = 0 ] && grep -q " UNSUCCESSFUL " "$T/hana/catalog" && [ ! -e "$T/hana/prepared" ]'
}

# Test the failures: refused prepare (1, nothing kept), refused connection
# (75), someone else's prepared snapshot (75), refused confirm (1, kept for
# the retry, which confirms).
t_hana_failures() {
	local ok=true
	fresh
	namer_start
	HDBSQL_STANDIN_REFUSE=prepare hook pre-script hana freeze
	[ "$RC" = 1 ] && [ ! -e "$T/run/hana/snapshot" ] || ok=false
	HDBSQL_STANDIN_REFUSE=connect hook pre-script hana freeze
	[ "$RC" = 75 ] || ok=false
	echo 4242 >"$T/hana/prepared"
	hook pre-script hana freeze
	[ "$RC" = 75 ] && has "another data snapshot is prepared" || ok=false
	rm "$T/hana/prepared"
	hook pre-script hana freeze
	HDBSQL_STANDIN_REFUSE=confirm hook post-script hana thaw
	[ "$RC" = 1 ] && [ -s "$T/run/hana/snapshot" ] || ok=false
	hook post-script hana thaw
	[ "$RC" = 0 ] && grep -q " SUCCESSFUL " "$T/hana/catalog" || ok=false
	namer_stop
	check "hana (STAND-IN): prepare refused 1, no connection 75, another snapshot prepared 75, confirm refused 1 and retried" $ok
}

# Test that a snapshot left prepared by an earlier freeze is abandoned first.
t_hana_stale() {
	fresh
	namer_start
	hook pre-script hana freeze
	hook pre-script hana freeze
	namer_stop
	check "hana (STAND-IN): a snapshot an earlier freeze left prepared is abandoned before the next one" \
		eval '[ "$RC" = 0 ] && grep -q "UNSUCCESSFUL .snapfreeze: never confirmed" "$T/hana/catalog" && [ -e "$T/hana/prepared" ]'
}

# Test the one settings parser: blanks around key and value, quotes, no
# evaluation of anything in a line (a key used to reach eval).
t_settings_strict() {
	fresh
	printf '%s\n' '  SNAPFREEZE_IRIS_INSTANCES = "FROMFILE"  ' \
		"SNAPFREEZE_IRIS_X\$(touch $T/pwned)=1" "SNAPFREEZE_IRIS_TIMEOUT = 7" \
		"SNAPFREEZE_IRIS_BOGUS = 1" "no equals sign" >"$T/iris.conf"
	RC=0
	OUT=$(SNAPFREEZE_HOOK_CONF=$T/iris.conf SNAPFREEZE_COMMAND=dry-run \
		IRIS_STANDIN_INSTANCES=FROMFILE:running "$HOOKS/iris" dry-run 2>&1) || RC=$?
	check "settings file: KEY = value with blanks and quotes is read; nothing in a line is evaluated" \
		eval '[ "$RC" = 0 ] && has "instance FROMFILE: running" && [ ! -e "$T/pwned" ] && has "ignored: SNAPFREEZE_IRIS_X.* is not a key of the form" && has "SNAPFREEZE_IRIS_BOGUS is not a setting of this hook" && has "not KEY = value"'
}

# Test that the settings parser is one block, the same in every hook.
t_settings_one_parser() {
	local h sums
	sums=$(for h in postgresql mysql iris hana; do
		sed -n '/^# --- settings: this block/,/^# --- end of settings/p' "$HOOKS/$h" | md5sum
	done | sort -u)
	RC=0 OUT=$sums
	check "settings: the parser block is present and the same in all four hooks" \
		eval '[ "$(grep -c . <<<"$sums")" = 1 ] && [ "$(sed -n "/^# --- settings: this block/,/^# --- end of settings/p" "$HOOKS/iris" | wc -l)" -gt 20 ]'
}

# Test that a settings file others may write is refused: the hook fails.
t_settings_owner() {
	local ok=true
	fresh
	printf 'SNAPFREEZE_IRIS_TIMEOUT=7\n' >"$T/iris.conf"
	chmod 666 "$T/iris.conf"
	RC=0
	OUT=$(SNAPFREEZE_HOOK_CONF=$T/iris.conf SNAPFREEZE_COMMAND=dry-run "$HOOKS/iris" dry-run 2>&1) || RC=$?
	[ "$RC" = 1 ] && has "refusing to read it" || ok=false
	chmod 644 "$T/iris.conf"
	chown 65534 "$T/iris.conf"
	RC=0
	OUT=$(SNAPFREEZE_HOOK_CONF=$T/iris.conf SNAPFREEZE_COMMAND=dry-run "$HOOKS/iris" dry-run 2>&1) || RC=$?
	[ "$RC" = 1 ] && has "owner uid 65534" || ok=false
	check "settings file writable by others or not root's: refused, the hook fails (exit 1)" $ok
}

# Test that a hook's waits end before the helper's deadline for it.
t_iris_deadline() {
	local t=$SECONDS
	fresh
	IRIS_STANDIN_HANG=freeze:IRIS SNAPFREEZE_IRIS_TIMEOUT=20 SNAPFREEZE_HOOK_TIME_LEFT_MS=3000 \
		hook pre-script iris freeze
	t=$((SECONDS - t))
	check "iris (STAND-IN): the wait for ExternalFreeze ends before the helper's deadline (SNAPFREEZE_HOOK_TIME_LEFT_MS 3000 ms: gave up after $t s)" \
		eval '[ "$RC" = 1 ] && has "did not answer within 2 s" && [ "$t" -lt 10 ]'
}

# Test the IRIS watchdog: no thaw by the auto-thaw deadline + 2 s, it
# thaws the instance itself.
t_iris_watchdog() {
	local ok=true
	fresh
	SNAPFREEZE_AUTO_THAW_BY=$(($(date +%s) + 1)) hook pre-script iris freeze
	[ "$RC" = 0 ] && [ -e "$T/iris/frozen-IRIS" ] || ok=false
	wait_for 20 test ! -e "$T/iris/frozen-IRIS" || ok=false
	called iris "session IRIS .*ExternalThaw" || ok=false
	hook post-script iris thaw
	[ "$RC" = 0 ] || ok=false
	check "iris (STAND-IN): without a thaw, the watchdog thaws the instance at the auto-thaw deadline + 2 s" $ok
}

# Test that a post-script that found the set auto-thawed (203) closes the
# HANA data snapshot UNSUCCESSFUL.
t_hana_auto_thawed() {
	fresh
	namer_start
	hook pre-script hana freeze
	SNAPFREEZE_THAW_RESULT=auto-thawed hook post-script hana thaw
	namer_stop
	check "hana (STAND-IN): after an auto-thaw (SNAPFREEZE_THAW_RESULT=auto-thawed) the data snapshot is closed UNSUCCESSFUL" \
		eval '[ "$RC" = 0 ] && grep -q " UNSUCCESSFUL .*auto-thawed" "$T/hana/catalog" && ! grep -q " SUCCESSFUL " "$T/hana/catalog"'
}

t_usage
t_bad_setting
t_settings_file
t_iris_not_installed
t_iris_not_running
t_iris_cycle
t_iris_refused
t_iris_hangs
t_iris_thaw_retry
t_iris_not_ready
t_iris_dry_run
t_hana_not_installed
t_hana_not_running
t_hana_confirm
t_hana_abandon
t_hana_failures
t_hana_stale
t_settings_strict
t_settings_one_parser
t_settings_owner
t_iris_deadline
t_iris_watchdog
t_hana_auto_thawed
