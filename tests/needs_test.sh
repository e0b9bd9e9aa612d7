#!/bin/bash
# Host test of tests/lib/needs, the check every VM part runs before it
# boots: it names the package of a program the part's scripts run and this
# machine lacks, and its table names only packages scripts/install-deps
# installs.
#
#   $T/bin/       an empty PATH: no program of the table is found
#   $T/part/      a part's scripts (a guest script, a host runner)
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
NEEDS=$REPO/tests/lib/needs
T=$(mktemp -d /tmp/sf-needs.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/part"
for p in bash sed grep sort awk dirname head cat; do ln -s "$(command -v "$p")" "$T/bin/$p"; done

ktap_header
ktap_plan 5

# Test that every package of the table is one install-deps installs.
ktap_check "tests/lib/programs names only packages scripts/install-deps installs" \
	"$NEEDS" --lint

# Test that a program the part runs, missing here, is named with its package.
printf '#!/bin/bash\n# a guest script\nmdadm --create /dev/md0 --run\n' >"$T/part/x-guest.sh"
printf '#!/bin/bash\n# its host runner\nexec tests/vm/vm-run -- tests/x/x-guest.sh\n' >"$T/part/run"
out=$(PATH=$T/bin "$NEEDS" "$T/part") && rc=0 || rc=$?
ktap_check "a missing mdadm fails the check (exit $rc)" test "$rc" = 1
ktap_check "and is named with its package: '$out'" \
	test "$out" = "missing mdadm: add mdadm to scripts/install-deps"

# Test that a name in a comment line asks for nothing.
printf '#!/bin/bash\n# mdadm is not used here\ntrue\n' >"$T/part/x-guest.sh"
out=$(PATH=$T/bin "$NEEDS" "$T/part") && rc=0 || rc=$?
ktap_check "a program named only in a comment is not needed (exit $rc, '$out')" \
	test "$rc" = 0 -a -z "$out"

# Test that on this machine (install-deps ran) every part's scripts have
# what they run.
out=$("$NEEDS" "$REPO"/tests "$REPO"/tests/*/ "$REPO"/bench) && rc=0 || rc=$?
ktap_check "every program the tests and bench run is installed here${out:+: $out}" \
	test "$rc" = 0
ktap_finished
