# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A small runner for shell test scripts, to be sourced.  Each test is a
# function run in a subshell with `set -e`, in a temporary directory $T of
# its own; the results are KTAP, as the kernel's kselftests print them.
#
#   TESTS+=("what it tests" function)   register a test, in order
#   fail MESSAGE          (in a test) end it as failed
#   skip REASON           (in a test) end it as skipped: something it
#                         needs is absent
#   runner_main [FUNCTION...]
#                         run every test, or only the named ones; print
#                         "TAP version 13", "1..N", "ok N what" /
#                         "not ok N what" / "ok N what # SKIP reason"
#                         (each after a "# FUNCTION took S s" line),
#                         then "P passed, F failed[, S skipped]" and last
#                         "# Totals: pass:P fail:F xfail:0 xpass:0
#                         skip:S error:0"; return 1 if anything failed
#   runner_bail REASON    a precondition of the whole script failed: one
#                         failed result, the same summary lines, return 1
#
# Hooks the script may define:
#   test_setup            before each test, in the runner's shell, with $T
#   test_cleanup          after each test, whatever happened; non-zero
#                         (after a "# ..." line saying why) fails the test
#   test_on_fail          in fail(), after the message: more diagnostics
#
# Set RUNNER_TMP to name the temporary directories (default "test").

TESTS=()
RUNNER_PASSED=0
RUNNER_FAILED=0
RUNNER_SKIPPED=0

fail() {
	echo "# FAIL: $*"
	if declare -F test_on_fail >/dev/null; then
		test_on_fail
	fi
	exit 1
}

skip() {
	echo "$*" >"$T/.skip"
	exit 0
}

# runner_result N WHAT RC: one KTAP result line, counted.
runner_result() {
	if [ "$3" = 0 ] && [ -f "$T/.skip" ]; then
		RUNNER_SKIPPED=$((RUNNER_SKIPPED + 1))
		echo "ok $1 $2 # SKIP $(cat "$T/.skip")"
	elif [ "$3" = 0 ]; then
		RUNNER_PASSED=$((RUNNER_PASSED + 1))
		echo "ok $1 $2"
	else
		RUNNER_FAILED=$((RUNNER_FAILED + 1))
		echo "not ok $1 $2"
	fi
}

# runner_run N WHAT FUNCTION
runner_run() {
	local rc start=$SECONDS
	T=$(mktemp -d "/tmp/${RUNNER_TMP:-test}.XXXXXX")
	export T
	if declare -F test_setup >/dev/null; then
		test_setup
	fi
	(
		set -e
		"$3"
	)
	rc=$?
	if declare -F test_cleanup >/dev/null && ! test_cleanup; then
		rc=1
	fi
	echo "# $3 took $((SECONDS - start)) s"
	runner_result "$1" "$2" "$rc"
	rm -rf "$T"
}

runner_summary() {
	local line="$RUNNER_PASSED passed, $RUNNER_FAILED failed"
	[ "$RUNNER_SKIPPED" = 0 ] || line="$line, $RUNNER_SKIPPED skipped"
	echo "$line"
	echo "# Totals: pass:$RUNNER_PASSED fail:$RUNNER_FAILED xfail:0 xpass:0 skip:$RUNNER_SKIPPED error:0"
	[ "$RUNNER_FAILED" = 0 ]
}

runner_main() {
	local sel=() i n=0
	if [ $# -gt 0 ]; then
		for ((i = 0; i < ${#TESTS[@]}; i += 2)); do
			case " $* " in *" ${TESTS[i + 1]} "*) sel+=("${TESTS[@]:i:2}") ;; esac
		done
		TESTS=(${sel[@]+"${sel[@]}"})
	fi
	echo "TAP version 13"
	echo "1..$((${#TESTS[@]} / 2))"
	for ((i = 0; i < ${#TESTS[@]}; i += 2)); do
		n=$((n + 1))
		runner_run "$n" "${TESTS[i]}" "${TESTS[i + 1]}"
	done
	runner_summary
}

runner_bail() {
	echo "TAP version 13"
	echo "1..1"
	echo "# $*"
	RUNNER_FAILED=1
	echo "not ok 1 setup"
	runner_summary
}
