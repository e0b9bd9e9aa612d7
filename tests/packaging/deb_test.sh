#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test the Debian packages: they build with dpkg-buildpackage, lintian has
# nothing to say that an override does not justify, and they hold what
# make install and make install-dkms install, with the version from
# VERSION. Installing them and running a cycle is tests/packaging/dkms-e2e.
#
#   packaging/build-deb --> build/deb/snapfreeze_V-R_amd64.deb
#                           build/deb/snapfreeze-dkms_V-R_all.deb
#        |  lintian --pedantic --display-info (overrides: debian/*)
#        |  dpkg-deb -c / -f / -x  vs  make install DESTDIR=$T/...
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...". About a
# minute (dpkg-buildpackage ~40 s, lintian ~25 s).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
VERSION=$(cat "$REPO/VERSION")
OUT=$REPO/build/deb
T=$(mktemp -d /tmp/sf-deb.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

NTESTS=9
ktap_print_header
ktap_set_plan $NTESTS

# Test that dpkg-buildpackage builds both packages.
if ! command -v dpkg-buildpackage >/dev/null || ! dpkg-checkbuilddeps -d 'debhelper-compat (= 13), dh-sequence-dkms' /dev/null 2>/dev/null; then
	for i in $(seq 1 $NTESTS); do
		ktap_test_skip "Debian package test $i" "dpkg-dev, debhelper or dh-dkms missing (scripts/install-deps)"
	done
	ktap_finished
fi
t0=$SECONDS
if "$REPO/packaging/build-deb" >"$T/build.out" 2>&1; then
	ktap_test_pass "dpkg-buildpackage builds the packages ($((SECONDS - t0)) s)"
else
	sed 's/^/# /' "$T/build.out" | tail -n 30
	ktap_test_fail "dpkg-buildpackage builds the packages"
	ktap_finished
fi
DEB=$OUT/snapfreeze_${VERSION}-1_amd64.deb
DKMS=$OUT/snapfreeze-dkms_${VERSION}-1_all.deb

# Test that lintian reports nothing but overridden tags (an O: line, and
# the N: comment explaining it).
if command -v lintian >/dev/null; then
	t0=$SECONDS
	lintian --pedantic --display-info --show-overrides "$OUT"/snapfreeze_*.changes \
		>"$T/lintian" 2>&1
	grep -v 'running with root privileges' "$T/lintian" | sed 's/^/# /'
	if grep -qE '^[EWIPX]: ' "$T/lintian"; then
		ktap_test_fail "lintian: every tag overridden and justified"
	else
		ktap_test_pass "lintian: every tag overridden and justified ($((SECONDS - t0)) s)"
	fi
else
	ktap_test_skip "lintian: every tag overridden and justified" "lintian not installed"
fi

# files DEB: the regular files and symlinks of a package, one per line,
# without what debhelper adds (/usr/share/doc, lintian overrides) and the
# .gz of man pages.
files() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { p = $6; sub(/^\./, "", p); print p }' |
		grep -v -e '^/usr/share/doc/' -e '^/usr/share/lintian/overrides/' | sed 's|^\(/usr/share/man/.*\)\.gz$|\1|' | sort
}
installed() { # installed TARGET: what make TARGET DESTDIR=... installs
	rm -rf "$T/root"
	make -s -C "$REPO" "$1" DESTDIR="$T/root" PREFIX=/usr >/dev/null 2>&1 || return 1
	(cd "$T/root" && find . ! -type d | sed 's/^\.//' | sort)
}

# Test that snapfreeze holds exactly what make install installs.
files "$DEB" >"$T/deb.files"
if installed install >"$T/install.files" && diff "$T/install.files" "$T/deb.files" >"$T/diff"; then
	ktap_test_pass "snapfreeze holds what make install installs ($(wc -l <"$T/deb.files") files)"
else
	sed 's/^/# /' "$T/diff"
	ktap_test_fail "snapfreeze holds what make install installs"
fi

# Test that it has the helper, both man pages and the completion.
missing=
for f in /usr/sbin/snapfreeze /usr/share/man/man8/snapfreeze.8 \
	/usr/share/man/man8/snapfreeze-module.8 \
	/usr/share/bash-completion/completions/snapfreeze \
	/usr/share/snapfreeze/ssm/snapfreeze.yaml \
	/usr/share/snapfreeze/netlink/snapfreeze.yaml; do
	grep -qxF "$f" "$T/deb.files" || missing="$missing $f"
done
ktap_test_result "snapfreeze has the helper, the man pages, the completion, the SSM document${missing:+ (missing:$missing)}" \
	test -z "$missing"

# Test that snapfreeze-dkms holds exactly the module's sources.
files "$DKMS" >"$T/dkms.files"
if installed install-dkms >"$T/install-dkms.files" &&
	diff "$T/install-dkms.files" "$T/dkms.files" >"$T/diff" &&
	! grep -qE '\.(o|ko|cmd|mod|mod\.c)$|/Module\.symvers$' "$T/dkms.files"; then
	ktap_test_pass "snapfreeze-dkms holds the module's sources and nothing built ($(wc -l <"$T/dkms.files") files)"
else
	sed 's/^/# /' "$T/diff"
	ktap_test_fail "snapfreeze-dkms holds the module's sources and nothing built"
fi

# Test that the versions are VERSION's: the packages', dkms.conf's, the
# helper's.
mkdir -p "$T/x"
dpkg-deb -x "$DKMS" "$T/x"
dpkg-deb -x "$DEB" "$T/x"
conf=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$T/x/usr/src/snapfreeze-$VERSION/dkms.conf" 2>/dev/null)
pv=$(dpkg-deb -f "$DEB" Version)
dv=$(dpkg-deb -f "$DKMS" Version)
hv=$("$T/x/usr/sbin/snapfreeze" --version 2>/dev/null)
ktap_print_msg "VERSION $VERSION; packages $pv, $dv; dkms.conf $conf; helper: $hv"
ktap_test_result "packages, dkms.conf and the helper say VERSION ($VERSION)" \
	test "${pv%-*}/${dv%-*}/$conf/$hv" = "$VERSION/$VERSION/$VERSION/snapfreeze $VERSION"

# Test that snapfreeze-dkms is for every architecture, depends on dkms and
# registers the module with DKMS when installed.
arch=$(dpkg-deb -f "$DKMS" Architecture)
deps=$(dpkg-deb -f "$DKMS" Depends)
dpkg-deb -e "$DKMS" "$T/ctl"
if [ "$arch" = all ] && [[ $deps == *dkms* ]] &&
	grep -q '^DKMS_NAME=snapfreeze$' "$T/ctl/postinst" &&
	grep -q "^DKMS_VERSION=$VERSION\$" "$T/ctl/postinst" &&
	grep -q '/usr/lib/dkms/common.postinst' "$T/ctl/postinst" &&
	grep -q 'dkms remove -m \$DKMS_NAME -v \$DKMS_VERSION --all' "$T/ctl/prerm"; then
	ktap_test_pass "snapfreeze-dkms: Architecture all, Depends dkms, DKMS maintainer scripts"
else
	ktap_print_msg "Architecture $arch, Depends $deps"
	ktap_test_fail "snapfreeze-dkms: Architecture all, Depends dkms, DKMS maintainer scripts"
fi

# Test that the helper depends on the libraries it links, found by dpkg.
deps=$(dpkg-deb -f "$DEB" Depends)
ktap_print_msg "snapfreeze Depends: $deps"
ktap_test_result "snapfreeze depends on libnl-genl, libmount, kmod (modprobe)" \
	bash -c '[[ $1 == *libnl-genl-3-200* && $1 == *libmount1* && $1 =~ (^|[ ,])kmod([ ,]|$) ]]' _ "$deps"

# Test that a changelog whose version is not VERSION stops the build
# (scripts/check-version, run by debian/rules).
cp -a "$OUT/snapfreeze-$VERSION" "$T/src"
sed -i "1s/($VERSION-/(9.9.9-/" "$T/src/debian/changelog"
if (cd "$T/src" && debian/rules override_dh_auto_configure) >"$T/cv" 2>&1; then
	ktap_test_fail "a changelog version other than VERSION stops the build"
else
	grep 'check-version' "$T/cv" | sed 's/^/# /'
	ktap_test_pass "a changelog version other than VERSION stops the build"
fi

ktap_finished
