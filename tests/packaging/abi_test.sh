#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test that the generated ABI files are what the netlink spec generates,
# that make check-abi (scripts/ynl-regen --check) catches a spec they no
# longer match, and that the header keeps every name and value of ABI
# version 1. No kernel, no VM: the spec's edits are made on copies.
#
#   docs/netlink/snapfreeze.yaml  cp  $T/spec.yaml  --one sed each-->
#       scripts/ynl-regen --check --spec $T/spec.yaml  fails, naming the
#       generated file that would change
#   include/uapi/linux/snapfreeze.h  --cc-->  each name of
#       tests/packaging/abi-v1 has its value there
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...". The
# generator's tests SKIP when no linux-source >= 6.12 can be had
# (tests/packaging/ynl-source); the ABI's do not need it.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
REGEN=$REPO/scripts/ynl-regen
T=$(mktemp -d /tmp/sf-abi.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

ktap_print_header
ktap_set_plan 6

ynl=
if "$REPO/tests/packaging/ynl-source" >/dev/null 2>"$T/src.err"; then
	ynl=1
else
	ktap_print_msg "$(tail -n 1 "$T/src.err")"
fi

# drift NAME SED-SCRIPT FILE: after the edit of a copy of the spec the
# check must fail and its diff name FILE. The edit itself must change the
# spec (a sed that no longer matches would make the test vacuous).
drift() {
	local name=$1 script=$2 file=$3
	if [ -z "$ynl" ]; then
		ktap_test_skip "$name # no kernel YNL tools"
		return
	fi
	cp "$REPO/docs/netlink/snapfreeze.yaml" "$T/spec.yaml"
	sed -i -e "$script" "$T/spec.yaml"
	if cmp -s "$T/spec.yaml" "$REPO/docs/netlink/snapfreeze.yaml"; then
		ktap_test_fail "$name # the edit did not apply: update this test"
		return
	fi
	if "$REGEN" --check --spec "$T/spec.yaml" >"$T/out" 2>&1; then
		ktap_print_msg "the check passed after: $script"
		ktap_test_fail "$name"
	elif grep -q -- "^+++ b/$file$" "$T/out"; then
		ktap_test_pass "$name"
	else
		sed 's/^/# /' "$T/out"
		ktap_test_fail "$name # failed without a diff of $file"
	fi
}

# Test that the committed header and policies are what the spec generates.
if [ -z "$ynl" ]; then
	ktap_test_skip "the generated files are what the spec generates # no kernel YNL tools"
elif "$REGEN" --check >"$T/out" 2>&1; then
	ktap_test_pass "the generated files are what the spec generates"
else
	sed 's/^/# /' "$T/out"
	ktap_test_fail "the generated files are what the spec generates"
fi

# Test that a doc string changed in the spec alone is caught.
drift "spec: an enum entry's doc changed" \
	's/doc: The auto-thaw deadline\./doc: The deadline./' \
	include/uapi/linux/snapfreeze.h
# Test that an attribute renamed in the spec alone is caught.
drift "spec: an attribute renamed" \
	's/skew-ns/skew-us/g' include/uapi/linux/snapfreeze.h
# Test that a request attribute added in the spec alone is caught.
drift "spec: THAW takes timeout-ms" \
	's/attributes: \[exec-id, flags\]/attributes: [exec-id, flags, timeout-ms]/' \
	kmod/netlink-gen.c

# abi_values HEADER: "NAME VALUE" for each name of abi-v1, as cc reads
# HEADER (a string in double quotes).
abi_values() {
	{
		echo '#include <stdio.h>'
		echo "#include \"$1\""
		echo '#define P(n) _Generic((n), char *: printf("%s \"%s\"\n", #n, (char *)(n)), default: printf("%s %lld\n", #n, (long long)(n)))'
		echo 'int main(void) {'
		sed -n 's/^\([A-Z_][A-Z0-9_]*\) .*/P(\1);/p' "$REPO/tests/packaging/abi-v1"
		echo 'return 0; }'
	} >"$T/dump.c"
	cc -std=gnu11 -o "$T/dump" "$T/dump.c" >"$T/cc.log" 2>&1 && "$T/dump"
}

# Test that every name of ABI version 1 keeps its value.
grep -v '^#' "$REPO/tests/packaging/abi-v1" >"$T/v1"
if abi_values "$REPO/include/uapi/linux/snapfreeze.h" >"$T/now" && cmp -s "$T/v1" "$T/now"; then
	ktap_test_pass "the header has the $(wc -l <"$T/v1") names of ABI version 1, their values unchanged"
else
	sed 's/^/# /' "$T/cc.log"
	diff "$T/v1" "$T/now" | sed 's/^/# /'
	ktap_test_fail "the header has the names of ABI version 1, their values unchanged"
fi

# Test that two attributes swapped in a copy of the header are caught.
sed -e '/^\tSNAPFREEZE_A_FREEZES,/{N;s/\(.*\)\n\(.*\)/\2\n\1/}' \
	"$REPO/include/uapi/linux/snapfreeze.h" >"$T/swapped.h"
if cmp -s "$T/swapped.h" "$REPO/include/uapi/linux/snapfreeze.h"; then
	ktap_test_fail "ABI version 1: two attributes swapped # the edit did not apply: update this test"
elif abi_values "$T/swapped.h" >"$T/now" && ! cmp -s "$T/v1" "$T/now" &&
	diff "$T/v1" "$T/now" | grep -q SNAPFREEZE_A_FREEZES; then
	ktap_test_pass "ABI version 1: two attributes swapped are caught"
else
	ktap_test_fail "ABI version 1: two attributes swapped are caught"
fi

ktap_finished
