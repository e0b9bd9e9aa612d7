#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/packaging/ynl: the kernel's generic netlink client
# (tools/net/ynl, SF_YNL) reads docs/netlink/snapfreeze.yaml and drives
# the real module, nothing of snapfreeze's own userspace involved.  KTAP
# (tests/lib/ktap.sh); the Python part's results pass through a file.
#
#   /dev/vda ext4 -> /mnt/a   the two targets of a FREEZE
#   /dev/vdb ext4 -> /mnt/b
#   cli.py --spec snapfreeze.yaml --schema genetlink-c.yaml --do get
#   then one python3 process on ynl's library (lib.YnlFamily, what cli.py
#   runs; one process because each start costs many seconds under TCG):
#   subscribe to events, FREEZE dry-run, FREEZE, GET, THAW, an error
set -u
# shellcheck source=tests/lib/ktap.sh
. tests/lib/ktap.sh
SPEC=$PWD/docs/netlink/snapfreeze.yaml
W=/tmp/sf-ynl
mkdir -p "$W"

ktap_print_header
ktap_set_plan 8
ktap_print_msg "kernel $(uname -r), ynl $SF_YNL"

# Test that the module loads.
insmod kmod/snapfreeze.ko || ktap_exit_fail_msg "insmod kmod/snapfreeze.ko failed"
ktap_test_pass "insmod snapfreeze.ko"
a='' b=''
for d in ${SF_DISKS:-}; do
	case $d in a:*) a=${d##*:} ;; b:*) b=${d##*:} ;; esac
done
mkdir -p /mnt/a /mnt/b
if ! mount "$a" /mnt/a || ! mount "$b" /mnt/b; then ktap_print_msg "cannot mount the disks"; fi

# Test that cli.py, validating the spec against the kernel's genetlink-c
# schema, gets an answer to GET: state idle.
t=$SECONDS
if (cd "$SF_YNL" && /usr/bin/python3 cli.py --spec "$SPEC" --schema "$SF_YNL_SCHEMA" \
	--output-json --do get) >"$W/get" 2>"$W/err" &&
	[ "$(jq -r .state "$W/get" 2>/dev/null)" = idle ]; then
	ktap_test_pass "cli.py: the schema validates the spec; GET: state idle"
else
	ktap_print_msg "$(tail -n 5 "$W/err")"
	ktap_test_fail "cli.py: the schema validates the spec; GET: state idle"
fi
ktap_print_msg "cli.py took $((SECONDS - t)) s"

cd "$SF_YNL" || exit 1
# The library's results, "ok NAME" / "not ok NAME" / "# TEXT", in $W/py.
: >"$W/py"
/usr/bin/python3 - "$SPEC" "$W/py" <<'EOF'
import json, os, subprocess, sys, time
from lib import YnlFamily, NlError

out = open(sys.argv[2], "a", buffering=1)

def result(name, good):
    print(f"{'ok' if good else 'not ok'} {name}", file=out)

def diag(text):
    print(f"# {text}", file=out)

def sysfs_state():
    with open("/sys/kernel/snapfreeze/state") as f:
        return f.read().strip()

t0 = time.time()
ynl = YnlFamily(sys.argv[1], "")        # validated by cli.py above
# Events on a socket of their own: 6.12's _ops() fails on the recv after
# a notification that came between a request and its reply (op is None).
mon = YnlFamily(sys.argv[1], "")
mon.ntf_subscribe("events")
diag(f"spec loaded twice in {time.time() - t0:.0f} s")
with open("/proc/sys/kernel/random/uuid") as f:
    exec_id = f.read().strip()
targets = [{"path": "/mnt/a"}, {"path": "/mnt/b"}]

# Test that FREEZE with the dry-run flag (encoded from the spec's flag
# names) resolves both targets and freezes nothing.
r = ynl.do("freeze", {"target": targets, "exec-id": exec_id, "flags": ["dry-run"]})
diag(f"dry run: {len(r.get('target', []))} target(s), state {r.get('state')}, sysfs {sysfs_state()}")
result("FREEZE dry-run: two targets resolved, nothing frozen",
       len(r.get("target", [])) == 2 and sysfs_state() == "idle")

# Test that FREEZE freezes both, and the reply says so per target.
r = ynl.do("freeze", {"target": targets, "exec-id": exec_id, "timeout-ms": 60000})
ts = [(t.get("state"), t.get("fstype")) for t in r.get("target", [])]
diag(f"freeze: state {r.get('state')}, targets {ts}, sysfs {sysfs_state()}")
result("FREEZE: both frozen (reply and sysfs)",
       r.get("state") == "frozen" and ts == [("frozen", "ext4")] * 2
       and sysfs_state() == "frozen")

# A write that must wait for the thaw.
writer = subprocess.Popen(["sh", "-c", "echo x >/mnt/a/written"])

# Test that GET reports the frozen set: its execution id, its targets, a
# deadline still ahead.
r = ynl.do("get", {})
diag(f"get: state {r.get('state')}, exec-id {r.get('exec-id')}, "
     f"remaining {r.get('remaining-ms')} ms, {len(r.get('target', []))} target(s)")
result("GET: frozen, the execution id, two targets, time remaining",
       r.get("state") == "frozen" and r.get("exec-id") == exec_id
       and len(r.get("target", [])) == 2 and r.get("remaining-ms", 0) > 0)

time.sleep(1)
blocked = writer.poll() is None

# Test that THAW thaws: the reply's state is the one found (frozen), the
# targets are thawed, the blocked write goes through.
r = ynl.do("thaw", {"exec-id": exec_id})
ts = [t.get("state") for t in r.get("target", [])]
rc = writer.wait(timeout=60)
diag(f"thaw: state found {r.get('state')}, targets {ts}, sysfs {sysfs_state()}, "
     f"write blocked while frozen: {blocked}, then exit {rc}")
result("THAW: thawed (reply and sysfs), the write blocked until then",
       r.get("state") == "frozen" and ts == ["thawed", "thawed"]
       and sysfs_state() == "idle" and blocked and rc == 0)

# Test that an error comes back with the module's extended ack message,
# the bad attribute named by the spec.
try:
    ynl.do("freeze", {"target": [{"path": "/mnt/none"}], "exec-id": exec_id})
    diag("FREEZE of a missing path succeeded")
    result("an error: ENOENT, extack 'target not found' at .target", False)
except NlError as e:
    diag(f"error: {str(e).splitlines()[0]}; extack {e.nl_msg.extack}")
    result("an error: ENOENT, extack 'target not found' at .target",
           e.error == 2 and e.nl_msg.extack.get("msg") == "target not found"
           and e.nl_msg.extack.get("bad-attr") == ".target")

# Test that the subscription decoded the frozen and thawed events (sent
# from a workqueue: they may come after the replies).
end = time.time() + 60
while time.time() < end:
    mon.check_ntf()
    events = [m["msg"] for m in mon.async_msg_queue]
    if len([e for e in events if e.get("event") in ("frozen", "thawed")]) >= 2:
        break
    time.sleep(0.2)
for e in events:
    diag(f"event: {json.dumps(e)}")
names = [e.get("event") for e in events if e.get("exec-id", exec_id) == exec_id]
result("the events group: frozen, thawed (and the failed FREEZE)",
       names[:2] == ["frozen", "thawed"])
diag(f"the library's requests took {time.time() - t0:.0f} s")
EOF
ktap_print_msg "the library's process exited $?"
while IFS= read -r l; do
	case $l in
	"# "*) ktap_print_msg "${l#\# }" ;;
	"ok "*) ktap_test_pass "${l#ok }" ;;
	"not ok "*) ktap_test_fail "${l#not ok }" ;;
	esac
done <"$W/py"
cd "$OLDPWD" || exit 1
umount /mnt/a /mnt/b
rmmod snapfreeze
ktap_finished
