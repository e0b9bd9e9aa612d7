# shellcheck shell=bash
# tests/lib/ktap.sh: the one result library of the shell tests, host and
# guest.  Source it; it sets no shell options.  Output is KTAP, as the
# kernel's kselftests print it, and the reporting functions are those of
# the kernel's tools/testing/selftests/kselftest/ktap_helpers.sh, with the
# same names and meanings:
#
#   ktap_print_header             TAP version 13
#   ktap_set_plan N               1..N
#   ktap_skip_all REASON          1..0 # SKIP REASON, the totals, exit 0
#   ktap_print_msg TEXT           # TEXT (each line of it)
#   ktap_test_pass NAME           ok N NAME
#   ktap_test_fail NAME           not ok N NAME   (and the test goes on)
#   ktap_test_skip NAME REASON    ok N NAME # SKIP REASON
#   ktap_test_result NAME CMD...  pass or fail by CMD's exit status
#   ktap_exit_fail_msg TEXT       Bail out! TEXT, the totals, exit 1
#   ktap_print_totals             # Totals: pass:P fail:F xfail:0 xpass:0 skip:S error:0
#   ktap_finished                 the totals, then exit: 0 if nothing failed
#                                 and every planned test reported, else 1
#
# With KTAP_FILE set, every line also goes to that file: a guest's report
# read over the shared repository rather than from the serial console,
# where kernel messages can cut into a line.
#
# Test cases as functions, for scripts with many (tests/helper_test.sh):
#
#   ktap_add_case NAME FUNCTION   register one, in order
#   ktap_run_cases                header, plan, every case (with SF_ONLY set,
#                                 only those whose name or function contains
#                                 one of its comma-separated words), each
#                                 in a subshell with set -e and
#                                 a fresh temporary directory $T, preceded
#                                 by a "# FUNCTION took S s" line; then the
#                                 totals; returns 1 if anything failed
#   case_fail MESSAGE             (in a case) end it as failed
#   case_skip REASON              (in a case) end it as skipped
#   hooks the script may define: case_setup (before each case, in the
#   runner's shell, with $T), case_cleanup (after it, whatever happened;
#   non-zero fails it), case_on_fail (in case_fail, more diagnostics)
#
# Counting whole programs (tests/run and the part runners):
#
#   ktap_run NAME CMD...          run CMD, show its output, add its Totals
#                                 line to the sums; a program that prints no
#                                 Totals line, or exits non-zero with no
#                                 failure counted, counts as one failure
#   ktap_print_sum                # Totals: ... of everything counted
#   ktap_parse_totals FILE        KTAP_PASS/FAIL/SKIP from FILE's last
#                                 Totals line; status 1 if it has none

KTAP_TESTNO=0
KTAP_PLAN=
KTAP_CNT_PASS=0
KTAP_CNT_FAIL=0
KTAP_CNT_SKIP=0

__ktap_out() {
	printf '%s\n' "$*"
	if [ -n "${KTAP_FILE:-}" ]; then printf '%s\n' "$*" >>"$KTAP_FILE"; fi
}

ktap_print_header() {
	if [ -n "${KTAP_FILE:-}" ]; then : >"$KTAP_FILE"; fi
	__ktap_out "TAP version 13"
}

ktap_set_plan() {
	KTAP_PLAN=$1
	__ktap_out "1..$1"
}

ktap_print_msg() {
	local l
	while IFS= read -r l; do __ktap_out "# $l"; done <<<"$*"
}

__ktap_test() { # RESULT NAME [DIRECTIVE]
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
	__ktap_out "$1 $KTAP_TESTNO $2${3:+ # $3}"
}

ktap_test_pass() {
	KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
	__ktap_test ok "$1"
}

ktap_test_fail() {
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	__ktap_test "not ok" "$1"
}

ktap_test_skip() {
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	__ktap_test ok "$1" "SKIP ${2:-}"
}

ktap_test_result() {
	local name=$1
	shift
	if "$@"; then ktap_test_pass "$name"; else ktap_test_fail "$name"; fi
}

ktap_print_totals() {
	__ktap_out "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
}

ktap_skip_all() {
	__ktap_out "1..0 # SKIP $*"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	ktap_print_totals
	exit 0
}

ktap_exit_fail_msg() {
	__ktap_out "Bail out! $*"
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	ktap_print_totals
	exit 1
}

# Tests the plan promised but that never reported (an early exit) failed.
ktap_finished() {
	if [ -n "$KTAP_PLAN" ] && [ "$KTAP_TESTNO" -lt "$KTAP_PLAN" ]; then
		ktap_print_msg "$((KTAP_PLAN - KTAP_TESTNO)) planned test(s) never reported a result"
		KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + KTAP_PLAN - KTAP_TESTNO))
	fi
	ktap_print_totals
	[ "$KTAP_CNT_FAIL" = 0 ] && exit 0
	exit 1
}

# ------------------------------------------------------- cases as functions
KTAP_CASES=()

ktap_add_case() { KTAP_CASES+=("$1" "$2"); }

case_fail() {
	echo "# FAIL: $*"
	if declare -F case_on_fail >/dev/null; then case_on_fail; fi
	exit 1
}

case_skip() {
	echo "$*" >"$T/.skip"
	exit 0
}

__ktap_case() { # NAME FUNCTION
	local rc start=$SECONDS
	T=$(mktemp -d "/tmp/${KTAP_CASE_TMP:-ktap}.XXXXXX")
	export T
	if declare -F case_setup >/dev/null; then case_setup; fi
	(
		set -e
		"$2"
	)
	rc=$?
	if declare -F case_cleanup >/dev/null && ! case_cleanup; then rc=1; fi
	echo "# $2 took $((SECONDS - start)) s"
	if [ "$rc" = 0 ] && [ -f "$T/.skip" ]; then
		ktap_test_skip "$1" "$(cat "$T/.skip")"
	elif [ "$rc" = 0 ]; then
		ktap_test_pass "$1"
	else
		ktap_test_fail "$1"
	fi
	rm -rf "$T"
}

ktap_run_cases() {
	local sel=() i w
	for ((i = 0; i < ${#KTAP_CASES[@]}; i += 2)); do
		[ -n "${SF_ONLY:-}" ] || { sel+=("${KTAP_CASES[@]:i:2}"); continue; }
		for w in ${SF_ONLY//,/ }; do
			[[ ${KTAP_CASES[i]} == *"$w"* || ${KTAP_CASES[i + 1]} == *"$w"* ]] &&
				sel+=("${KTAP_CASES[@]:i:2}") && break
		done
	done
	ktap_print_header
	ktap_set_plan $((${#sel[@]} / 2))
	for ((i = 0; i < ${#sel[@]}; i += 2)); do
		__ktap_case "${sel[i]}" "${sel[i + 1]}"
	done
	ktap_print_totals
	[ "$KTAP_CNT_FAIL" = 0 ]
}

# ------------------------------------------------------- counting programs
KTAP_SUM_PASS=0
KTAP_SUM_FAIL=0
KTAP_SUM_SKIP=0

ktap_parse_totals() {
	local t
	t=$(grep -aE '^# Totals: pass:[0-9]+ fail:[0-9]+ xfail:[0-9]+ xpass:[0-9]+ skip:[0-9]+ error:[0-9]+$' "$1" | tail -n 1)
	[[ $t =~ pass:([0-9]+)\ fail:([0-9]+)\ xfail:([0-9]+)\ xpass:([0-9]+)\ skip:([0-9]+)\ error:([0-9]+) ]] || return 1
	KTAP_PASS=${BASH_REMATCH[1]}
	# An unexpected pass and an error are failures here.
	KTAP_FAIL=$((BASH_REMATCH[2] + BASH_REMATCH[4] + BASH_REMATCH[6]))
	KTAP_SKIP=$((BASH_REMATCH[5] + BASH_REMATCH[3]))
}

ktap_run() {
	local name=$1 log rc
	shift
	log=$(mktemp "${TMPDIR:-/tmp}/sf-ktap.XXXXXX")
	# The program's output goes to KTAP_FILE once, from here, whole.
	KTAP_FILE='' "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ -n "${KTAP_FILE:-}" ]; then cat "$log" >>"$KTAP_FILE"; fi
	if ktap_parse_totals "$log"; then
		KTAP_SUM_PASS=$((KTAP_SUM_PASS + KTAP_PASS))
		KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + KTAP_FAIL))
		KTAP_SUM_SKIP=$((KTAP_SUM_SKIP + KTAP_SKIP))
		if [ "$rc" != 0 ] && [ "$KTAP_FAIL" = 0 ]; then
			ktap_print_msg "$name: exited $rc with no failure counted: one failure"
			KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + 1))
		fi
	else
		ktap_print_msg "$name: exited $rc and printed no '# Totals:' line: one failure"
		KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + 1))
	fi
	ktap_print_msg "$name: $(grep -aE '^# Totals: ' "$log" | tail -n 1 | sed 's/^# //' || true) (exit $rc)"
	rm -f "$log"
	return "$rc"
}

ktap_print_sum() {
	__ktap_out "# Totals: pass:$KTAP_SUM_PASS fail:$KTAP_SUM_FAIL xfail:0 xpass:0 skip:$KTAP_SUM_SKIP error:0"
}
