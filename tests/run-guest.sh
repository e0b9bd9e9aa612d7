#!/bin/bash
# Runs INSIDE the test VM (from tests/run through tests/vm/vm-run), with the
# repository as the current directory:
#
#   SF_DISKS="ext4:ext4:/dev/vda ext4b:ext4:/dev/vdb xfs:xfs:/dev/vdc ..."
#        |
#        +-- mount each NAME at /mnt/NAME (/mnt is a tmpfs in the guest)
#        +-- insmod $SF_MODULE (default kmod/snapfreeze.ko)
#        +-- tests/vm/harness_test.sh (the guest itself: user namespaces)
#        +-- build/tests/snapfreeze_test, with SF_MNT_<NAME>/SF_DEV_<NAME>
#        |   (with SF_ONLY, only its tests whose full name holds a word)
#        +-- tests/helper_test.sh
#        +-- on the debug kernel (kmemleak): tests/vm/kdebug on, first, and
#        |   tests/vm/kdebug leaks, last (kmemleak; it does the rmmod)
#        +-- thaw and unmount everything, whatever happened
#
# Prints each program's KTAP output, then a last line
# "# Totals: pass:P fail:F xfail:0 xpass:0 skip:S error:0" summing them
# all, and exits non-zero if anything failed.
set -u
. tests/lib/ktap.sh

SF_MODULE=${SF_MODULE:-kmod/snapfreeze.ko}
case $SF_MODULE in /*) ;; *) SF_MODULE=$PWD/$SF_MODULE ;; esac
export SF_MODULE
TEST_BIN=build/tests/snapfreeze_test
# The debug kernel (tests/kernels/debug-kernel) is the one with kmemleak;
# the kernel tests stretch their timing there (SF_DEBUG_KERNEL).
if [ -e /sys/kernel/debug/kmemleak ]; then export SF_DEBUG_KERNEL=1; fi
# Bounds of each program's whole run; KASAN and lockdep under TCG are
# several times slower.
T=1500
[ "${SF_DEBUG_KERNEL:-0}" != 1 ] || T=10800
MOUNTS=()
setup_failed=0

say() { ktap_print_msg "run-guest: $*"; }

# The kernel tests' full names, FIXTURE[.VARIANT].TEST as the harness
# reports them and as its -r takes them, one a line.  Its -l prints a
# table (printf "%-20s %-25s %s\n"): each fixture's name on its first row,
# then its variants and its tests side by side, each column as long as its
# own list; every variant runs every test.  Fails on a name too long for
# its column.
harness_tests() {
	"$TEST_BIN" -l 2>&1 | awk '
		function trim(s) { gsub(/^ +| +$/, "", s); return s }
		function flush(  i, j) {
			for (i = 0; i < (nv ? nv : 1); i++)
				for (j = 0; j < nt; j++)
					print fx (nv ? "." var[i] : "") "." test[j]
			nv = nt = 0
		}
		/^# FIXTURE/ || /^-+$/ { next }
		substr($0, 21, 1) != " " || substr($0, 47, 1) != " " { bad = 1; exit }
		{
			f = trim(substr($0, 1, 20))
			if (f != "") { flush(); fx = f }
			v = trim(substr($0, 22, 25))
			if (v != "") var[nv++] = v
			t = trim(substr($0, 48))
			if (t != "") test[nt++] = t
		}
		END { if (bad || fx == "") exit 1; flush() }'
}

cleanup() { # [keep-module]
	# Nothing may stay frozen: the VM's shutdown syncs every filesystem.
	if [ -w /sys/kernel/snapfreeze/control ]; then
		echo thaw >/sys/kernel/snapfreeze/control 2>/dev/null || true
	fi
	for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
		fsfreeze -u "$m" 2>/dev/null || true
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	MOUNTS=()
	[ "${1:-}" != keep-module ] || return 0
	if grep -q '^snapfreeze ' /proc/modules; then
		rmmod snapfreeze || say "warning: rmmod snapfreeze failed"
	fi
}
trap cleanup EXIT

# --- disks
for spec in ${SF_DISKS:-}; do
	IFS=: read -r name fstype dev <<<"$spec"
	if [ -z "$dev" ] || [ ! -b "$dev" ]; then
		say "disk $name ($fstype) has no device: skipped"
		continue
	fi
	mnt=/mnt/$name
	mkdir -p "$mnt"
	if ! mount -t "$fstype" "$dev" "$mnt"; then
		say "cannot mount $dev ($fstype) on $mnt"
		setup_failed=1
		continue
	fi
	MOUNTS+=("$mnt")
	var=$(echo "$name" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_')
	export "SF_MNT_$var=$mnt" "SF_DEV_$var=$dev"
	say "$dev ($fstype) on $mnt: SF_MNT_$var SF_DEV_$var"
done

# --- module
if grep -q '^snapfreeze ' /proc/modules; then
	rmmod snapfreeze || setup_failed=1
fi
if ! insmod "$SF_MODULE"; then
	say "cannot insmod $SF_MODULE"
	setup_failed=1
fi
if [ ! -x "$TEST_BIN" ]; then
	say "$TEST_BIN is missing: build it with make -C tests"
	setup_failed=1
fi

# SF_ONLY (tests/run --filter): only the kernel tests whose full name holds
# one of its comma-separated words (ktap_run_cases' rule), each named to the
# harness with -r, which skips the others before their fixture's setup.
# None matching: a fixture name no C identifier can be, so a plan of 0.
SUITE_ARGS=()
if [ -n "${SF_ONLY:-}" ] && [ "$setup_failed" = 0 ]; then
	if names=$(harness_tests); then
		for name in $names; do
			for w in ${SF_ONLY//,/ }; do
				if [[ $name == *"$w"* ]]; then
					SUITE_ARGS+=(-r "$name")
					break
				fi
			done
		done
		say "SF_ONLY=$SF_ONLY: $((${#SUITE_ARGS[@]} / 2)) kernel tests"
		[ ${#SUITE_ARGS[@]} -gt 0 ] || SUITE_ARGS=(-f "SF_ONLY=$SF_ONLY")
	else
		say "cannot read the list of $TEST_BIN -l"
		setup_failed=1
	fi
fi

# --- the tests: every program prints KTAP ending in "# Totals: ...", and
# ktap_run (tests/lib/ktap.sh) counts them all the same way.
if [ "${SF_DEBUG_KERNEL:-0}" = 1 ]; then
	# The debug kernel's detectors, shown and checked before anything runs.
	ktap_run kdebug-on tests/vm/kdebug on
	# KASAN and lockdep under TCG make everything 5 to 10 times slower:
	# a writer that a helper test keeps blocked on a frozen filesystem
	# for its few seconds is blocked for minutes here.  The hung-task
	# detector (20 s in every guest) keeps its purpose at 180 s.
	echo 180 >/proc/sys/kernel/hung_task_timeout_secs
fi

ktap_run harness_test tests/vm/harness_test.sh

if [ "$setup_failed" = 0 ]; then
	# Each test has its own harness timeout; this one bounds the whole run.
	start=$(date +%s)
	ktap_run snapfreeze_test timeout -k 10 "$T" "$TEST_BIN" \
		${SUITE_ARGS[@]+"${SUITE_ARGS[@]}"}
	say "suite took $(($(date +%s) - start)) s"
else
	say "setup failed: the kernel tests did not run"
	KTAP_SUM_FAIL=$((KTAP_SUM_FAIL + 1))
fi

# --- the helper's end-to-end tests (user/snapfreeze against the module)
grep -q '^snapfreeze ' /proc/modules || insmod "$SF_MODULE" || true
start=$(date +%s)
ktap_run helper_test timeout -k 10 "$T" tests/helper_test.sh
say "helper tests took $(($(date +%s) - start)) s"

# --- after everything: no leak of ours (rmmods the module)
if [ "${SF_DEBUG_KERNEL:-0}" = 1 ]; then
	# Thaw and unmount first: what the tests left mounted is not a leak.
	cleanup keep-module
	ktap_run kdebug-leaks tests/vm/kdebug leaks
fi

trap - EXIT
cleanup
ktap_print_sum
[ "$KTAP_SUM_FAIL" = 0 ]
