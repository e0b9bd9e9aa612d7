#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test the RPM packages for Amazon Linux 2023 and the RHEL family, as far as
# a Debian host can: BUILD-TESTED ONLY. They build with rpmbuild from the
# spec (and from the tarball alone, rpmbuild -ta), rpmlint finds nothing
# its configuration does not justify, and they hold what make install and
# make install-dkms install, with the version from VERSION and the DKMS
# scriptlets. Nobody installs them here.
#
#   packaging/build-rpm --> build/rpm/RPMS/x86_64/snapfreeze-V-1.x86_64.rpm
#                           build/rpm/RPMS/noarch/snapfreeze-dkms-V-1.noarch.rpm
#        |  rpmlint -c packaging/rpm/rpmlint.toml
#        |  rpm -qp --list/--scripts/--requires  vs  make install DESTDIR=...
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...". About 20 s.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
VERSION=$(cat "$REPO/VERSION")
OUT=$REPO/build/rpm
T=$(mktemp -d /tmp/sf-rpm.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

NTESTS=7
ktap_print_header
ktap_set_plan $NTESTS

# Test that rpmbuild builds both packages and the source package.
if ! command -v rpmbuild >/dev/null; then
	for i in $(seq 1 $NTESTS); do
		ktap_test_skip "RPM package test $i" "rpmbuild missing (apt-get install rpm)"
	done
	ktap_finished
fi
t0=$SECONDS
if "$REPO/packaging/build-rpm" >"$T/build.out" 2>&1; then
	ktap_test_pass "rpmbuild -ba builds the packages ($((SECONDS - t0)) s)"
else
	sed 's/^/# /' "$T/build.out" | tail -n 30
	ktap_test_fail "rpmbuild -ba builds the packages"
	ktap_finished
fi
RPM=$OUT/RPMS/x86_64/snapfreeze-$VERSION-1.x86_64.rpm
DKMS=$OUT/RPMS/noarch/snapfreeze-dkms-$VERSION-1.noarch.rpm

# Test that rpmlint reports nothing its configuration does not justify.
if command -v rpmlint >/dev/null; then
	rpmlint -c "$REPO/packaging/rpm/rpmlint.toml" "$OUT"/RPMS/*/*.rpm \
		"$OUT"/SRPMS/*.rpm "$OUT/SPECS/snapfreeze.spec" >"$T/lint" 2>&1
	rc=$?
	grep -E ': [EW]: |checked;' "$T/lint" | sed 's/^/# /'
	ktap_test_result "rpmlint: no error, no warning (exit $rc)" \
		bash -c '[ "$1" = 0 ] && ! grep -qE ": [EW]: " "$2"' _ "$rc" "$T/lint"
else
	ktap_test_skip "rpmlint: no error, no warning" "rpmlint not installed"
fi

# files RPM: its files and symlinks, man pages without .gz, no build-id
# links and docs (rpmbuild's own).
files() {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" 2>/dev/null |
		awk '$1 !~ /^d/ { print $2 }' |
		grep -v -e '^/usr/lib/\.build-id/' -e '^/usr/share/doc/' |
		sed 's|^\(/usr/share/man/.*\)\.gz$|\1|' | sort
}
installed() {
	rm -rf "$T/root"
	make -s -C "$REPO" "$1" DESTDIR="$T/root" PREFIX=/usr >/dev/null 2>&1 || return 1
	(cd "$T/root" && find . ! -type d | sed 's/^\.//' | sort)
}

# Test that snapfreeze holds what make install installs, and the man pages
# compressed.
files "$RPM" >"$T/rpm.files"
if installed install >"$T/install.files" && diff "$T/install.files" "$T/rpm.files" >"$T/diff" &&
	rpm -qlp "$RPM" | grep -qx '/usr/share/man/man8/snapfreeze.8.gz'; then
	ktap_test_pass "snapfreeze holds what make install installs ($(wc -l <"$T/rpm.files") files)"
else
	sed 's/^/# /' "$T/diff"
	ktap_test_fail "snapfreeze holds what make install installs"
fi

# Test that snapfreeze-dkms holds the module's sources and is noarch.
files "$DKMS" >"$T/dkms.files"
arch=$(rpm -qp --qf '%{ARCH}' "$DKMS" 2>/dev/null)
if installed install-dkms >"$T/install-dkms.files" &&
	diff "$T/install-dkms.files" "$T/dkms.files" >"$T/diff" && [ "$arch" = noarch ]; then
	ktap_test_pass "snapfreeze-dkms ($arch) holds the module's sources ($(wc -l <"$T/dkms.files") files)"
else
	sed 's/^/# /' "$T/diff"
	ktap_test_fail "snapfreeze-dkms ($arch) holds the module's sources"
fi

# Test that the versions are VERSION's: the packages' and dkms.conf's.
rv=$(rpm -qp --qf '%{VERSION}' "$RPM" 2>/dev/null)
dv=$(rpm -qp --qf '%{VERSION}' "$DKMS" 2>/dev/null)
(cd "$T" && rpm2cpio "$DKMS" | cpio -id --quiet "./usr/src/snapfreeze-$VERSION/dkms.conf")
conf=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$T/usr/src/snapfreeze-$VERSION/dkms.conf" 2>/dev/null)
ktap_test_result "packages and dkms.conf say VERSION ($rv, $dv, $conf)" \
	test "$rv/$dv/$conf" = "$VERSION/$VERSION/$VERSION"

# Test that snapfreeze-dkms requires dkms and registers, builds, installs
# and removes the module in its scriptlets.
rpm -qp --scripts "$DKMS" >"$T/scripts" 2>/dev/null
rpm -qp --requires "$DKMS" >"$T/requires" 2>/dev/null
if grep -qx dkms "$T/requires" &&
	grep -q "dkms add -m snapfreeze -v $VERSION" "$T/scripts" &&
	grep -q "dkms install -m snapfreeze -v $VERSION" "$T/scripts" &&
	grep -q "dkms remove -m snapfreeze -v $VERSION .*--all" "$T/scripts"; then
	ktap_test_pass "snapfreeze-dkms requires dkms, its scriptlets add, build, install, remove"
else
	sed 's/^/# /' "$T/scripts"
	ktap_test_fail "snapfreeze-dkms requires dkms, its scriptlets add, build, install, remove"
fi

# Test that the source tarball alone builds (rpmbuild -ta: the spec is in
# it, with the version put in).
mkdir -p "$T/ta"
if rpmbuild --define "_topdir $T/ta" --define 'debug_package %{nil}' --nodeps \
	-tb "$OUT/SOURCES/snapfreeze-$VERSION.tar.gz" >"$T/ta.log" 2>&1 &&
	[ -f "$T/ta/RPMS/x86_64/snapfreeze-$VERSION-1.x86_64.rpm" ]; then
	ktap_test_pass "rpmbuild -tb snapfreeze-$VERSION.tar.gz"
else
	tail -n 20 "$T/ta.log" | sed 's/^/# /'
	ktap_test_fail "rpmbuild -tb snapfreeze-$VERSION.tar.gz"
fi

ktap_finished
