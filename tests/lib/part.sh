# shellcheck shell=bash
# tests/lib/part.sh: a VM part of the suite, host side (sourced, after
# tests/lib/ktap.sh).  A part boots one guest with tests/vm/vm-run; the
# guest reports through tests/lib/ktap.sh, whose lines vm-run hands back as
# WORKDIR/ktap whatever the guest's root (9p share or root disk); the host
# prints that report as a subtest, counts its tests, and counts the VM's
# own outcome as one test more (a crash, a timeout or a kernel warning,
# oops, lockdep report or hung task fails it: vm-run's 124 and 125).
#
#   part_vm NAME VM-RUN-ARGS... -- GUEST...
#                     boot it; the workdir is $PART_DIR/NAME, the console
#                     and vm-run's notes go to its run.log; the kernel is
#                     the series SF_SERIES, else the release SF_KREL, else
#                     vm-run's default; the guest gets
#                     SF_LONG, SF_SEED and SF_ONLY (tests/run's options);
#                     a --timeout grows 6 times with SF_LONG, 8 times on
#                     the debug kernel
#   part_report NAME VMRC
#                     the guest's report as a subtest, then "ok N NAME" or
#                     "not ok N NAME"; the counts go to KTAP_CNT_*
#   part_wait_file FILE SECONDS PID
#                     for host drivers: wait for a file the guest writes,
#                     giving up early if PID (the VM) ended
#
# A part program prints ktap_print_header and ktap_set_plan (one test per
# part_report), runs its parts, then ktap_finished.

PART_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PART_DIR=${PART_DIR:-$PART_REPO/build/parts}

part_vm() {
	local name=$1 w=$PART_DIR/$1 env=()
	shift
	mkdir -p "$w"
	[ -z "${SF_LONG:-}" ] || env+=("SF_LONG=$SF_LONG")
	[ -z "${SF_SEED:-}" ] || env+=("SF_SEED=$SF_SEED")
	[ -z "${SF_ONLY:-}" ] || env+=("SF_ONLY=$SF_ONLY")
	local args=() vmargs=() factor=1
	# Time bounds are written for default counts on a generic kernel:
	# the long counts take 6 times longer, the debug kernel 8 times.
	[ -z "${SF_LONG:-}" ] || factor=6
	[ "${SF_SERIES:-}" != debug ] || factor=$((factor * 8))
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		vmargs+=("$1")
		if [ "$1" = --timeout ]; then vmargs+=("$(($2 * factor))"); shift; fi
		shift
	done
	shift
	if [ -n "${SF_SERIES:-}" ]; then args=(--series "$SF_SERIES")
	elif [ -n "${SF_KREL:-}" ]; then args=(--kernel-release "$SF_KREL"); fi
	"$PART_REPO/tests/vm/vm-run" --workdir "$w" ${args[@]+"${args[@]}"} \
		"${vmargs[@]}" -- env ${env[@]+"${env[@]}"} "$@" >"$w/run.log" 2>&1
}

part_report() {
	local name=$1 vmrc=$2 w=$PART_DIR/$1 ok=1
	local f=$w/ktap
	if [ -s "$f" ] && ktap_parse_totals "$f"; then
		sed 's/^/  /' "$f"
	else
		[ -s "$f" ] && sed 's/^/  /' "$f"
		ktap_print_msg "$name: the guest's report has no Totals line (it did not run, or died)"
		KTAP_PASS=0 KTAP_FAIL=1 KTAP_SKIP=0
	fi
	KTAP_CNT_PASS=$((KTAP_CNT_PASS + KTAP_PASS))
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + KTAP_FAIL))
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + KTAP_SKIP))
	[ "$KTAP_FAIL" = 0 ] || ok=0
	case $vmrc in
	0 | 1) KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1)) ;;
	*)
		KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
		ok=0
		case $vmrc in
		124) ktap_print_msg "$name: the VM crashed or timed out (vm-run exit 124)" ;;
		125) ktap_print_msg "$name: the guest kernel logged a WARNING/BUG/Oops/lockdep report or a hung task (vm-run exit 125)" ;;
		*) ktap_print_msg "$name: vm-run exit $vmrc" ;;
		esac
		grep -aE '^vm-run: ' "$w/run.log" 2>/dev/null | head -n 20 | sed 's/^/# /'
		ktap_print_msg "$name: the console's last lines ($w/console.log):"
		tail -n 30 "$w/console.log" 2>/dev/null | sed 's/^/#   /'
		;;
	esac
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
	if [ "$ok" = 1 ]; then echo "ok $KTAP_TESTNO $name"; else echo "not ok $KTAP_TESTNO $name"; fi
}

part_wait_file() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$1" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
