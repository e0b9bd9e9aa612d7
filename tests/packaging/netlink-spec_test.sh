#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test that scripts/check-netlink-spec passes on the tree and fails on each
# kind of disagreement between the spec, the UAPI header and the module's
# policies. No kernel, no VM: it edits copies.
#
#   docs/netlink/snapfreeze.yaml      cp   $T/spec.yaml  -+
#   include/uapi/linux/snapfreeze.h   -->  $T/header.h    +-> one sed each,
#   kmod/netlink.c                         $T/netlink.c  -+   check fails
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...".
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
CHECK=$REPO/scripts/check-netlink-spec
T=$(mktemp -d /tmp/sf-nlspec.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

fresh() {
	cp "$REPO/docs/netlink/snapfreeze.yaml" "$T/spec.yaml"
	cp "$REPO/include/uapi/linux/snapfreeze.h" "$T/header.h"
	cp "$REPO/kmod/netlink.c" "$T/netlink.c"
}
run_check() {
	"$CHECK" --spec "$T/spec.yaml" --header "$T/header.h" --netlink "$T/netlink.c" \
		>"$T/out" 2>&1
}

# mismatch NAME FILE SED-SCRIPT WORD: after the edit the check must fail and
# name WORD in its complaint. The edit itself must change the file (a sed
# that no longer matches would make the test vacuous).
mismatch() {
	local name=$1 file=$2 script=$3 word=$4
	fresh
	cp "$T/$file" "$T/$file.orig"
	sed -i -e "$script" "$T/$file"
	if cmp -s "$T/$file" "$T/$file.orig"; then
		ktap_test_fail "$name # the edit did not apply: update this test"
		return
	fi
	if run_check; then
		ktap_print_msg "the check passed after: $script on $file"
		ktap_test_fail "$name"
	elif grep -q -- "$word" "$T/out"; then
		ktap_test_pass "$name"
	else
		sed 's/^/# /' "$T/out"
		ktap_test_fail "$name # failed without naming $word"
	fi
}

ktap_print_header
ktap_set_plan 16

# Test that the tree's own spec, header and module agree.
fresh
if run_check; then
	ktap_test_pass "the spec, the header and the policies of the tree agree"
else
	sed 's/^/# /' "$T/out"
	ktap_test_fail "the spec, the header and the policies of the tree agree"
fi

# Test that an attribute renamed in the spec alone is caught.
mismatch "spec: an attribute renamed" spec.yaml \
	's/name: skew-ns/name: skew-us/' SNAPFREEZE_A_SKEW_US
# Test that a command missing from the spec is caught.
mismatch "spec: a command removed" spec.yaml \
	'/^    -$/{N;/name: get$/{N;N;N;N;N;N;d}}' SNAPFREEZE_CMD_GET
# Test that a renamed flag is caught.
mismatch "spec: a flag renamed" spec.yaml \
	's/name: dry-run/name: dry/' SNAPFREEZE_F_DRY
# Test that a check the policy does not make is caught.
mismatch "spec: timeout-ms min changed" spec.yaml \
	'/name: timeout-ms/,/min:/s/min: 1/min: 10/' timeout-ms
# Test that a request attribute the policy does not take is caught.
mismatch "spec: THAW takes timeout-ms" spec.yaml \
	's/attributes: \[exec-id, flags\]/attributes: [exec-id, flags, timeout-ms]/' \
	SNAPFREEZE_A_TIMEOUT_MS
# Test that two attributes swapped in the header are caught.
mismatch "header: two attributes swapped" header.h \
	'/^\tSNAPFREEZE_A_FREEZES,/{N;s/\(.*\)\n\(.*\)/\2\n\1/}' SNAPFREEZE_A_FREEZES
# Test that an enum value changed in the header is caught.
mismatch "header: an event's value" header.h \
	's/SNAPFREEZE_EVENT_FROZEN = 1,/SNAPFREEZE_EVENT_FROZEN = 0,/' SNAPFREEZE_EVENT_FROZEN
# Test that a constant changed in the header is caught.
mismatch "header: a constant" header.h \
	's/SNAPFREEZE_MAX_TARGETS\t\t64/SNAPFREEZE_MAX_TARGETS\t\t128/' SNAPFREEZE_MAX_TARGETS
# Test that an entry the spec lacks is caught.
mismatch "header: an extra state" header.h \
	's/\tSNAPFREEZE_STATE_AUTO_THAWED,/&\n\tSNAPFREEZE_STATE_BROKEN,/' SNAPFREEZE_STATE_BROKEN
# Test that the family name changed in the header is caught.
mismatch "header: the family name" header.h \
	's/"snapfreeze"/"snapfreez"/' SNAPFREEZE_GENL_NAME
# Test that a command's policy taking one more attribute is caught.
mismatch "policy: THAW takes timeout-ms" netlink.c \
	'/sf_thaw_policy\[/a\	[SNAPFREEZE_A_TIMEOUT_MS] = NLA_POLICY_MIN(NLA_U32, 1),' \
	SNAPFREEZE_A_TIMEOUT_MS
# Test that a command's policy missing an attribute is caught.
mismatch "policy: FREEZE without flags" netlink.c \
	'/sf_freeze_policy\[/,/^};/{/SNAPFREEZE_A_FLAGS/d}' SNAPFREEZE_A_FLAGS
# Test that the nested target policy taking a reply-only attribute is caught.
mismatch "policy: a target takes fstype" netlink.c \
	'/sf_target_policy\[/a\	[SNAPFREEZE_TARGET_A_FSTYPE] = { .type = NLA_NUL_STRING },' \
	SNAPFREEZE_TARGET_A_FSTYPE
# Test that a length the spec does not give is caught.
mismatch "policy: the execution id's length" netlink.c \
	'0,/.len = SNAPFREEZE_EXEC_ID_MAX }/s//.len = SNAPFREEZE_EXEC_ID_MAX + 1 }/' exec-id
# Test that a type the spec does not give is caught.
mismatch "policy: a u64 timeout" netlink.c \
	's/NLA_POLICY_MIN(NLA_U32, 1)/NLA_POLICY_MIN(NLA_U64, 1)/' timeout-ms

ktap_finished
