#!/bin/bash
# Runs INSIDE the test VM (from tests/run through tests/vm/vm-run), with the
# repository as the current directory:
#
#   SF_DISKS="ext4:ext4:/dev/vda ext4b:ext4:/dev/vdb xfs:xfs:/dev/vdc ..."
#        |
#        +-- mount each NAME at /mnt/NAME (/mnt is a tmpfs in the guest)
#        +-- insmod $SF_MODULE (default kmod/snapfreeze.ko)
#        +-- build/tests/snapfreeze_test, with SF_MNT_<NAME>/SF_DEV_<NAME>
#        +-- thaw and unmount everything, whatever happened
#
# Prints the KTAP output, then a last line "N passed, M failed" (plus
# ", K skipped" if any) and exits non-zero if anything failed.
set -u

SF_MODULE=${SF_MODULE:-kmod/snapfreeze.ko}
case $SF_MODULE in /*) ;; *) SF_MODULE=$PWD/$SF_MODULE ;; esac
export SF_MODULE
TEST_BIN=${SF_TEST_BIN:-build/tests/snapfreeze_test}
MOUNTS=()
setup_failed=0

say() { echo "run-guest: $*"; }

cleanup() {
	# Nothing may stay frozen: the VM's shutdown syncs every filesystem.
	if [ -w /sys/kernel/snapfreeze/control ]; then
		echo thaw >/sys/kernel/snapfreeze/control 2>/dev/null || true
	fi
	for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
		fsfreeze -u "$m" 2>/dev/null || true
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
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

# --- the tests
out=$(mktemp /tmp/sf-ktap.XXXXXX)
start=$(date +%s)
if [ "$setup_failed" = 0 ]; then
	# Each test has its own harness timeout; this one bounds the whole run.
	timeout -k 10 900 "$TEST_BIN" 2>&1 | tee "$out"
	bin_rc=${PIPESTATUS[0]}
else
	bin_rc=1
fi
say "suite took $(($(date +%s) - start)) s (test binary exit $bin_rc)"

# --- the count, from the KTAP result lines (not from the exit status alone)
passed=$(grep -cE '^ok [0-9]+ ' "$out" | head -n 1)
skipped=$(grep -cE '^ok [0-9]+ # SKIP' "$out" | head -n 1)
failed=$(grep -cE '^not ok [0-9]+ ' "$out" | head -n 1)
passed=$((passed - skipped))
plan=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$out" | head -n 1)
# Tests that never reported (the binary crashed or was killed) failed.
if [ -n "$plan" ]; then
	missing=$((plan - passed - skipped - failed))
	if [ "$missing" -gt 0 ]; then
		say "$missing test(s) never reported a result"
		failed=$((failed + missing))
	fi
fi
if [ "$setup_failed" != 0 ] || { [ "$bin_rc" != 0 ] && [ "$failed" = 0 ]; }; then
	say "setup failed or the test binary exited $bin_rc without a failed test"
	failed=$((failed + 1))
fi
rm -f "$out"

# --- the helper's end-to-end tests (user/snapfreeze against the module)
if [ "${SF_SKIP_HELPER_TESTS:-0}" != 1 ]; then
	grep -q '^snapfreeze ' /proc/modules || insmod "$SF_MODULE" || true
	hout=$(mktemp /tmp/sf-helper.XXXXXX)
	start=$(date +%s)
	timeout -k 10 900 tests/helper_test.sh 2>&1 | tee "$hout"
	hrc=${PIPESTATUS[0]}
	say "helper tests took $(($(date +%s) - start)) s (exit $hrc)"
	hsum=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$hout" | tail -n 1)
	rm -f "$hout"
	if [ -n "$hsum" ]; then
		hp=${hsum%% passed*}
		hf=${hsum#* passed, }
		hf=${hf%% failed*}
		hs=$(echo "$hsum" | sed -nE 's/.*, ([0-9]+) skipped$/\1/p')
		passed=$((passed + hp))
		failed=$((failed + hf))
		skipped=$((skipped + ${hs:-0}))
	fi
	if [ -z "$hsum" ] || { [ "$hrc" != 0 ] && [ "${hf:-0}" = 0 ]; }; then
		say "helper tests exited $hrc without a summary or a failed test"
		failed=$((failed + 1))
	fi
fi

trap - EXIT
cleanup
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" = 0 ]
