# shellcheck shell=bash
# tests/lib/ktap.sh: KTAP output for shell tests, and the one function that
# counts any test program's result. Source it; it sets no shell options.
#
# Writing a test (the format kselftests print):
#
#   . tests/lib/ktap.sh
#   ktap_header               TAP version 13
#   ktap_plan 3               1..3
#   ktap_ok "name"            ok 1 name
#   ktap_not_ok "name"        not ok 2 name
#   ktap_skip "name" "why"    ok 3 name # SKIP why
#   ktap_check "name" CMD...  ok/not ok by CMD's exit status
#   ktap_diag "text"          # text
#   ktap_finished             # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
#                             and exit 1 if anything failed (or the plan
#                             was not met), else 0
#
# Counting a program (tests/run, tests/run-guest.sh, tests/kernels/*):
#
#   ktap_run NAME CMD...      run CMD, show its output, add its "# Totals:"
#                             line to KTAP_SUM_PASS/FAIL/SKIP. A program
#                             that prints no Totals line, or exits non-zero
#                             with no failure counted, counts as one
#                             failure of its own.
#   ktap_sum_line             "# Totals: ..." of everything counted so far
#   ktap_parse_totals FILE    KTAP_PASS/FAIL/SKIP from FILE's last Totals
#                             line; status 1 if it has none

KTAP_NUM=0
KTAP_PLAN=
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0

ktap_header() { echo "TAP version 13"; }

ktap_plan() {
	KTAP_PLAN=$1
	echo "1..$1"
}

ktap_diag() {
	local l
	# Every line of a multi-line message is a diagnostic.
	while IFS= read -r l; do echo "# $l"; done <<<"$*"
}

ktap_ok() {
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_PASS=$((KTAP_PASS + 1))
	echo "ok $KTAP_NUM $1"
}

ktap_not_ok() {
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_FAIL=$((KTAP_FAIL + 1))
	echo "not ok $KTAP_NUM $1"
}

ktap_skip() {
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_NUM $1 # SKIP ${2:-}"
}

ktap_check() {
	local name=$1
	shift
	if "$@"; then ktap_ok "$name"; else ktap_not_ok "$name"; fi
}

ktap_totals() {
	echo "# Totals: pass:$1 fail:$2 xfail:0 xpass:0 skip:$3 error:0"
}

# Tests the plan promised but that never reported (an early exit) failed.
ktap_finished() {
	local missing=0
	if [ -n "$KTAP_PLAN" ] && [ "$KTAP_NUM" -lt "$KTAP_PLAN" ]; then
		missing=$((KTAP_PLAN - KTAP_NUM))
		ktap_diag "$missing planned test(s) never reported a result"
		KTAP_FAIL=$((KTAP_FAIL + missing))
	fi
	ktap_totals "$KTAP_PASS" "$KTAP_FAIL" "$KTAP_SKIP"
	[ "$KTAP_FAIL" = 0 ] && exit 0
	exit 1
}

# ------------------------------------------------------------- counting
KTAP_SUM_PASS=0
KTAP_SUM_FAIL=0
KTAP_SUM_SKIP=0

ktap_parse_totals() {
	local t
	t=$(grep -aE '^# Totals: pass:[0-9]+ fail:[0-9]+ xfail:[0-9]+ xpass:[0-9]+ skip:[0-9]+ error:[0-9]+$' "$1" | tail -n 1)
	[ -n "$t" ] || return 1
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
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if ktap_parse_totals "$log"; then
		KTAP_SUM_PASS=$((KTAP_SUM_PASS + KTAP_PASS))
		KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + KTAP_FAIL))
		KTAP_SUM_SKIP=$((KTAP_SUM_SKIP + KTAP_SKIP))
		if [ "$rc" != 0 ] && [ "$KTAP_FAIL" = 0 ]; then
			echo "# $name: exited $rc with no failure counted: one failure"
			KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + 1))
		fi
	else
		echo "# $name: exited $rc and printed no '# Totals:' line: one failure"
		KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + 1))
	fi
	echo "# $name: $(grep -aE '^# Totals: ' "$log" | tail -n 1 | sed 's/^# //' || true) (exit $rc)"
	rm -f "$log"
	return "$rc"
}

ktap_sum_line() { ktap_totals "$KTAP_SUM_PASS" "$KTAP_SUM_FAIL" "$KTAP_SUM_SKIP"; }
