#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test that the man pages the packages install are clean for both
# formatters: mandoc's linter and groff through man(1) with every warning.
#
#   docs/*.[1-8]  --mandoc -T lint-->  no message (snapfreeze-module.8: not
#                                      even a style hint; the others: no
#                                      error, their owners fix warnings)
#                 --man --warnings -l-->  nothing on stderr, some text
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...".
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
T=$(mktemp -d /tmp/sf-man.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

# The pages this test holds to every mandoc message, style included.
STRICT="snapfreeze-module.8"

pages=()
for p in "$REPO"/docs/*.[1-8]; do
	[ -f "$p" ] && pages+=("$p")
done

ktap_print_header
ktap_set_plan $((2 * ${#pages[@]}))
for p in "${pages[@]}"; do
	name=${p##*/}
	# Test that mandoc finds nothing to say about the page.
	if ! command -v mandoc >/dev/null; then
		ktap_test_skip "mandoc -T lint $name" "mandoc not installed (apt-get install mandoc)"
	else
		level=error
		case " $STRICT " in *" $name "*) level=style ;; esac
		if mandoc -T lint -W "$level" "$p" >"$T/lint" 2>&1; then
			ktap_test_pass "mandoc -T lint -W $level $name"
		else
			sed 's/^/# /' "$T/lint"
			ktap_test_fail "mandoc -T lint -W $level $name"
		fi
	fi
	# Test that groff, as man(1) runs it, warns about nothing and renders
	# the page's sections.
	if MANWIDTH=80 man --warnings -l "$p" >"$T/out" 2>"$T/err" &&
		[ ! -s "$T/err" ] && grep -q '^NAME' "$T/out" &&
		grep -q '^SEE ALSO' "$T/out"; then
		ktap_test_pass "man --warnings -l $name"
	else
		sed 's/^/# /' "$T/err"
		ktap_test_fail "man --warnings -l $name"
	fi
done
ktap_finished
