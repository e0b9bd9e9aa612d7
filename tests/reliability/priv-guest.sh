#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Privilege: only CAP_SYS_ADMIN in the initial user namespace may freeze,
# thaw, write the control file or listen to the events.  Runs INSIDE the VM
# (tests/reliability/priv), from the repository:
#
#   e4 ext4 /mnt/e4                       the target
#   build/reliability/sfprobe OP          tries one operation: exit 0
#                                         allowed, 1 denied, 3 the family
#                                         is not visible, 2 other error
#   callers:
#     nobody       uid/gid 65534, no capabilities
#     nocap        root without CAP_SYS_ADMIN (but with CAP_NET_ADMIN,
#                  which the generic GENL_ADMIN_PERM would have accepted)
#     userns       root of a new user namespace (unshare -U -r)
#     userns-net   the same in a new network namespace (unshare -U -r -n)
#
#   Each refused operation is tried where it would show: FREEZE while
#   idle (the set must stay idle), THAW and "thaw" to the control file
#   while root holds a set frozen (it must stay frozen).  A root probe
#   first shows that sfprobe reports "allowed" when it is.
#
#   priv-guest.sh
#   SF_REL_MCAST=yes|no   whether the module's kernel can restrict who
#                         joins the events group (run decides it from the
#                         headers the module was built against)
set -u

# shellcheck source=tests/reliability/lib.sh
. "$(dirname "$0")/lib.sh"

P=$BIN/sfprobe
CALLERS=(nobody nocap userns userns-net)

cleanup() {
	module_reset
	umount /mnt/e4 2>/dev/null
}
trap cleanup EXIT

# as CALLER CMD...: run CMD as CALLER.
as() {
	local c=$1
	shift
	case $c in
	nobody) setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@" ;;
	nocap) setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-sys_admin -- "$@" ;;
	userns) unshare -U -r -- "$@" ;;
	userns-net) unshare -U -r -n -- "$@" ;;
	esac
}

# want_refused CALLER RC: denied, or (in another network namespace) no
# family to talk to.
refused() {
	[ "$2" = 1 ] || { [ "$1" = userns-net ] && [ "$2" = 3 ]; }
}

root_freeze() { "$P" freeze /mnt/e4 15000 >/dev/null && [ "$(state)" = frozen ]; }
root_thaw() { "$P" thaw >/dev/null; [ "$(state)" = idle ]; }

ktap_print_header
ktap_set_plan 20
since=$(dmesg_lines)
ok=1
mkdir -p /mnt/e4
mount "$(dev_of e4)" /mnt/e4 || ok=0
module_load || ok=0
ktap_test_result "setup: ext4 mounted, module loaded" [ "$ok" = 1 ]

# Whether this kernel can restrict the events group.
MCAST=${SF_REL_MCAST:-}
if [ -z "$MCAST" ]; then
	h=/lib/modules/$(uname -r)/build/include/net/genetlink.h
	if [ -r "$h" ]; then
		grep -q GENL_MCAST_CAP_SYS_ADMIN "$h" && MCAST=yes || MCAST=no
	fi
fi
USERNS=yes
userns_why=
if ! userns_why=$(unshare -U -r true 2>&1); then
	USERNS=no
fi
ktap_print_msg "events group restricted: ${MCAST:-unknown}; user namespaces: $USERNS ${userns_why:+($userns_why)}"
f0=$(counter freezes)
t0=$(counter thaws)

# Test that sfprobe says "allowed" when it is: root freezes, joins, thaws.
ok=1
r1=$("$P" freeze /mnt/e4 15000) || ok=0
s1=$(state)
r2=$("$P" join-events) || ok=0
r3=$("$P" thaw) || ok=0
s2=$(state)
ktap_test_result "root with CAP_SYS_ADMIN may freeze ($r1, $s1), join events ($r2), thaw ($r3, $s2)" \
	[ "$ok.$s1.$s2" = 1.frozen.idle ]
root_ops=1

for c in "${CALLERS[@]}"; do
	if [[ $c == userns* ]] && [ "$USERNS" = no ]; then
		for op in FREEZE THAW "write control" "join events"; do
			ktap_test_skip "$c cannot $op" "unshare -U -r fails here: $userns_why"
		done
		continue
	fi
	if [ "$c" = nocap ]; then
		caps=$(as nocap grep CapEff /proc/self/status)
		ktap_print_msg "nocap: $caps (bit 21, CAP_SYS_ADMIN, must be clear)"
	fi

	# FREEZE while idle: the set must stay idle.
	r=$(as "$c" "$P" freeze /mnt/e4 15000)
	rc=$?
	s=$(state)
	ok=0
	refused "$c" "$rc" && [ "$s" = idle ] && ok=1
	ktap_test_result "$c cannot FREEZE ($r, state $s)" [ "$ok" = 1 ]
	module_reset

	# THAW while root holds a set: it must stay frozen.
	if root_freeze; then
		r=$(as "$c" "$P" thaw)
		rc=$?
		s=$(state)
		root_thaw
		root_ops=$((root_ops + 1))
		ok=0
		refused "$c" "$rc" && [ "$s" = frozen ] && ok=1
		ktap_test_result "$c cannot THAW ($r, the set stays $s)" [ "$ok" = 1 ]
	else
		ktap_test_fail "$c cannot THAW (root could not freeze first)"
	fi

	# The control file, likewise.
	if root_freeze; then
		r=$(as "$c" "$P" control)
		rc=$?
		s=$(state)
		root_thaw
		root_ops=$((root_ops + 1))
		# The file is in the initial network namespace's sysfs: every
		# caller reaches it, and must be refused (no family involved).
		ktap_test_result "$c cannot write thaw to $SYS/control ($r, the set stays $s)" \
			[ "$rc.$s" = 1.frozen ]
	else
		ktap_test_fail "$c cannot write control (root could not freeze first)"
	fi

	if [ "$MCAST" = yes ]; then
		r=$(as "$c" "$P" join-events)
		rc=$?
		ktap_test_result "$c cannot join the events group ($r)" refused "$c" "$rc"
	elif [ "$MCAST" = no ]; then
		ktap_test_skip "$c cannot join the events group" "this kernel cannot restrict a genetlink group (no GENL_MCAST_CAP_SYS_ADMIN)"
	else
		ktap_test_skip "$c cannot join the events group" "cannot tell whether this kernel restricts genetlink groups (no headers)"
	fi
done

f1=$(counter freezes)
t1=$(counter thaws)
ktap_test_result "the counters moved by root's own operations only (freezes $f0 -> $f1, thaws $t0 -> $t1, root froze $root_ops times)" \
	[ $((f1 - f0)).$((t1 - t0)) = "$root_ops.$root_ops" ]
if kernel_clean "$since"; then
	ktap_test_pass "the kernel logged no warning, oops or hung task"
else
	ktap_test_fail "the kernel logged no warning, oops or hung task"
fi
ktap_finished
