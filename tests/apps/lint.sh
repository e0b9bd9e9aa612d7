#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The application hooks' static checks (tests/run --set apps): shellcheck of
# the hooks and their tests, the hook man page (mandoc -T lint, man
# --warnings), make install's layout.  KTAP (tests/lib/ktap.sh).
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
# shellcheck source=tests/lib/ktap.sh
. tests/lib/ktap.sh
LOG=$REPO/build/apps
mkdir -p "$LOG"
SCRIPTS=(hooks/postgresql hooks/mysql hooks/iris hooks/hana tests/apps/lint.sh
	tests/apps/vm-proof tests/apps/lib.sh tests/apps/hooks_test.sh
	tests/apps/pg-guest.sh tests/apps/mariadb-guest.sh
	tests/apps/standin/iris tests/apps/standin/hdbsql)

ktap_print_header
ktap_set_plan 3
# Test that every hook and test script is shellcheck-clean.
if out=$(shellcheck -x "${SCRIPTS[@]}" 2>&1); then
	ktap_test_pass "lint: shellcheck -x, all severities: hooks and their tests are clean"
else
	ktap_test_fail "lint: shellcheck -x, all severities: hooks and their tests are clean"
	printf '%s\n' "$out" | head -n 40 | sed 's/^/# /'
fi
# Test that the hook man page is lint-clean for mandoc and man.
if ! command -v mandoc >/dev/null; then
	ktap_test_skip "lint: docs/snapfreeze-hooks.5 passes mandoc -T lint and man --warnings" "mandoc is not installed"
elif out=$({
	mandoc -T lint -W all docs/snapfreeze-hooks.5
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l docs/snapfreeze-hooks.5 2>&1 >/dev/null
} 2>&1) && [ -z "$out" ]; then
	ktap_test_pass "lint: docs/snapfreeze-hooks.5 passes mandoc -T lint and man --warnings"
else
	ktap_test_fail "lint: docs/snapfreeze-hooks.5 passes mandoc -T lint and man --warnings"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
# Test that make install puts the hooks where they are available but
# not enabled, executable, and the man page in section 5.
d=$(mktemp -d /tmp/sf-apps-install.XXXXXX)
if make -s install DESTDIR="$d" >"$LOG/install.log" 2>&1 &&
	for h in postgresql mysql iris hana; do
		[ -x "$d/usr/lib/snapfreeze/hooks/$h" ] || exit 1
	done &&
	[ -f "$d/usr/share/man/man5/snapfreeze-hooks.5" ] &&
	[ -d "$d/etc/snapfreeze/hooks.d" ] && [ -z "$(ls -A "$d/etc/snapfreeze/hooks.d")" ]; then
	ktap_test_pass "lint: make install: the four hooks in /usr/lib/snapfreeze/hooks (none enabled), snapfreeze-hooks(5)"
else
	ktap_test_fail "lint: make install: the four hooks in /usr/lib/snapfreeze/hooks (none enabled), snapfreeze-hooks(5)"
	sed 's/^/# /' "$LOG/install.log"
	(cd "$d" && find . | sed 's/^/# /')
fi
rm -rf "$d"
ktap_finished
