#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The MariaDB proof, INSIDE the VM (tests/apps/vm-proof mariadb boots it):
# Debian's MariaDB with its data directory on one virtio disk and its redo
# log and binary log on another, a transfer load with an invariant,
# snapshots of the two disks taken by the host one after the other, a
# fresh server started on each pair of copies.  Before that, what the lock
# does, observed in the server.
#
#   /mnt/mydata  (disk mydata)   --datadir /mnt/mydata/data (InnoDB
#                                system and undo tablespaces, tables)
#   /mnt/mylog   (disk mylog)    --innodb-log-group-home-dir /mnt/mylog/redo,
#                                --log-bin /mnt/mylog/binlog/mysql-bin
#   /mnt/scratch (disk scratch)  target of the lock tests, which freeze no
#                                database file: what blocks is the lock
#   /run/mysqld                  the server's socket (Debian's default, so
#                                the hook connects as a stock install:
#                                root over unix_socket), pid, error log
#   /run/mycopy                  the copies' server: mount namespace with
#                                the copies at /mnt/mydata and /mnt/mylog
#
# bank.acct holds 20000 accounts of 1000; the load (3 sessions of
# CALL bank.load_xfer) moves money between random accounts and records each
# move in bank.xfer, one transaction per move.  The invariant: the balances
# sum to 20000000, and every account's balance is 1000 plus what the moves
# brought it minus what they took.
#
#   tests/apps/mariadb-guest.sh
#   SF_APPS_ROUNDS, SF_APPS_SPACING, SF_APPS_SIG: from tests/apps/vm-proof
#   (the host side's arguments, not knobs for a user)
# Functions called through traps and wait_for look unreachable to it:
# shellcheck disable=SC2317
set -u
ROUNDS=${SF_APPS_ROUNDS:-5}
SPACING=${SF_APPS_SPACING:-4}

REPO=$PWD
# shellcheck source=tests/apps/lib.sh
. "$REPO/tests/apps/lib.sh"
ktap_print_header
# setup, 5 lock tests, 5 issue 18/24 tests, ROUNDS with freezing, control,
# stopped
ktap_set_plan $((ROUNDS + 13))
T=/tmp/sf-apps
HD=$T/hooks
STATE=/run/snapfreeze/mysql
mkdir -p "$T"
export PATH=$REPO/user:$PATH
# The database runs in a TCG guest on shared cores (a MariaDB client call
# took seconds at a host load of 17): every helper call here gives the hook
# more than its default time (an operator's knobs: hook_timeout and the
# budget that bounds the whole pre-script).
ROUND_CONF=$T/snapfreeze.conf
printf 'hook_timeout = 150\nbudget = 170\nrollback_timeout = 30\n' >"$ROUND_CONF"

SERVER=(--no-defaults --user=mysql --skip-networking --server-id=1
	--datadir=/mnt/mydata/data --innodb-log-group-home-dir=/mnt/mylog/redo
	--log-bin=/mnt/mylog/binlog/mysql-bin
	--innodb-buffer-pool-size=8M --innodb-log-file-size=48M
	--innodb-max-dirty-pages-pct=1)

cleanup() {
	[ -w "$SYS/control" ] && echo thaw >"$SYS/control"
	[ -n "${BLOCKER:-}" ] && kill "$BLOCKER" 2>/dev/null
	mariadb-admin shutdown 2>/dev/null
}
trap cleanup EXIT

q() { timeout 30 mariadb --batch --skip-column-names "$@"; }

# ------------------------------------------------------------------ setup
setup() {
	local spec name dev i
	for d in /var/lib/mysql /var/log/mysql; do
		[ ! -d "$d" ] || mount -t tmpfs tmpfs "$d" || return 1
	done
	install -d -o mysql -g mysql /run/mysqld /run/mycopy
	for spec in $SF_DISKS; do
		IFS=: read -r name _ dev <<<"$spec"
		mkdir -p "/mnt/$name" && mount "$dev" "/mnt/$name" || return 1
	done
	insmod "$REPO/kmod/snapfreeze.ko" || return 1
	# While the copies are taken the database's writers wait, in D state,
	# on the frozen filesystems: SPACING seconds plus the copies, which a
	# loaded host can stretch past the 20 s vm-run sets.  60 s (the
	# kernel's default is 120) still catches a task that is really stuck.
	echo 60 >/proc/sys/kernel/hung_task_timeout_secs
	install -d -o mysql -g mysql /mnt/mydata/data /mnt/mylog/redo /mnt/mylog/binlog
	mariadb-install-db "${SERVER[@]}" --skip-test-db \
		--auth-root-authentication-method=socket >"$T/install.log" 2>&1 || return 1
	mariadbd "${SERVER[@]}" --socket=/run/mysqld/mysqld.sock \
		--pid-file=/run/mysqld/mysqld.pid --log-error=/run/mysqld/error.log &
	wait_for 180 mariadb-admin ping >/dev/null 2>&1 || return 1
	q <<'SQL' >"$T/schema.log" 2>&1 || return 1
CREATE DATABASE bank;
USE bank;
CREATE TABLE acct (id INT PRIMARY KEY, bal BIGINT NOT NULL,
	pad CHAR(200) NOT NULL DEFAULT '') ENGINE=InnoDB;
CREATE TABLE xfer (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT NOT NULL,
	dst INT NOT NULL, amt INT NOT NULL) ENGINE=InnoDB;
CREATE TABLE probe (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(3)) ENGINE=InnoDB;
INSERT INTO acct (id, bal) SELECT seq, 1000 FROM seq_1_to_20000;
DELIMITER //
CREATE PROCEDURE load_xfer(n INT)
BEGIN
	DECLARE i INT DEFAULT 0;
	DECLARE s, d, a INT;
	WHILE i < n DO
		SET s = FLOOR(1 + RAND() * 20000), d = FLOOR(1 + RAND() * 20000),
		    a = FLOOR(1 + RAND() * 100);
		START TRANSACTION;
		UPDATE acct SET bal = bal - a WHERE id = s;
		UPDATE acct SET bal = bal + a WHERE id = d;
		INSERT INTO xfer (src, dst, amt) VALUES (s, d, a);
		COMMIT;
		SET i = i + 1;
	END WHILE;
END//
DELIMITER ;
SQL
	hooks_dir "$HD" mysql
}

# Test that the server comes up and dry-run reaches it through the hook.
t_setup() {
	local name="mariadb: MariaDB on two disks, root over unix_socket as Debian installs it; dry-run reaches it through the hook"
	if ! setup; then
		ktap_test_fail "$name"
		diag_file "$T/install.log"
		diag_file /run/mysqld/error.log
		diag_file "$T/schema.log"
		return 1
	fi
	sf dry-run --target /mnt/mydata --target /mnt/mylog --hooks-dir "$HD" --config "$ROUND_CONF"
	if [ "$RC" = 0 ] && grep -q "freeze would hold BACKUP STAGE BLOCK_COMMIT" <<<"$OUT"; then
		ktap_test_pass "$name"
		ktap_print_msg "$(grep 'hook 10-mysql' <<<"$OUT" | head -n 1)"
	else
		ktap_test_fail "$name"
		ktap_print_msg "dry-run exit $RC"
		ktap_print_msg "$OUT"
	fi
}

# ------------------------------------------------------------ lock tests

# A write from another session, in the background; the file $T/written
# appears when it has completed.
write_start() {
	rm -f "$T/written"
	(q -e "INSERT INTO bank.probe (at) VALUES (NOW(3))" && : >"$T/written") &
}
written() { [ -e "$T/written" ]; }
holder() { cat "$STATE/holder.pid" 2>/dev/null; }
alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }
# The hook's session and the writers' states, from the process list.
plist() { q -e "SELECT id, command, IFNULL(state, ''), LEFT(IFNULL(info, ''), 40) FROM information_schema.processlist WHERE id <> CONNECTION_ID()" 2>&1 | tr '\t' ' '; }
sessions_are() { [ "$(plist | grep -c .)" = "$1" ]; }
session_gone() { ! q -e "SELECT id FROM information_schema.processlist" | grep -qx "$1"; }
session_of_hook() { sed -n 's/.*held by session \([0-9]*\) .*/\1/p' <<<"$OUT"; }

# The lock tests freeze /mnt/scratch alone, on purpose: what blocks a
# write is then the lock, not a frozen database file.  The hook's check
# that the server's files are all in the set becomes a warning.
pre_scratch() { # [OPTIONS]
	ID=$(cat /proc/sys/kernel/random/uuid)
	SNAPFREEZE_MYSQL_VOLUMES=${SNAPFREEZE_MYSQL_VOLUMES:-warn} \
		sf pre-script --execution-id "$ID" --target /mnt/scratch --hooks-dir "$HD" --config "$ROUND_CONF" \
		"$@"
}
post_scratch() { sf post-script --execution-id "$ID" --hooks-dir "$HD" --config "$ROUND_CONF"; }

# Test that while frozen a write from another session waits for the lock
# (visible in the process list), and completes after post-script; with
# either lock the hook can take.
t_lock_until_post() { # backup-stage | ftwrl
	local kind="BACKUP STAGE BLOCK_COMMIT"
	[ "$1" = ftwrl ] && kind="FLUSH TABLES WITH READ LOCK"
	local name="mariadb: while frozen, a write from another session waits for the hook's $kind (process list: the holder's session, the write waiting for the lock); it completes after post-script"
	local ok=1 s pl
	SNAPFREEZE_MYSQL_LOCK=$1 pre_scratch
	[ "$RC" = 0 ] && grep -q "$kind held by session" <<<"$OUT" || ok=0
	ktap_print_msg "pre-script exit $RC: $(grep 'hook 10-mysql' <<<"$OUT" | head -n 1)"
	[ "$RC" = 0 ] || ktap_print_msg "$OUT"
	s=$(session_of_hook)
	write_start
	sleep 3
	pl=$(plist)
	ktap_print_msg "process list while frozen:"
	ktap_print_msg "$pl"
	written && ok=0
	grep -q "^$s " <<<"$pl" && grep -Eq "Waiting for (backup|global read) lock" <<<"$pl" || ok=0
	post_scratch
	[ "$RC" = 0 ] || ok=0
	wait_for 15 written || ok=0
	ktap_print_msg "post-script exit $RC; the write completed: $(written && echo yes || echo no)"
	alive "$(holder)" && ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "$OUT"
	fi
}

# Test that without post-script the holder lets go when the kernel
# auto-thaws, and post-script then reports 203.
t_lock_until_auto_thaw() {
	local name="mariadb: without post-script, the write completes after the kernel's auto-thaw (the holder let go by itself); post-script then exits 203"
	local ok=1 h t
	pre_scratch --timeout 6
	[ "$RC" = 0 ] || ok=0
	h=$(holder)
	write_start
	t=$SECONDS
	sleep 2
	written && ok=0
	wait_for 30 written || ok=0
	ktap_print_msg "the write completed after $((SECONDS - t)) s; state $(sf_state); holder $h alive: $(alive "$h" && echo yes || echo no)"
	diag_file "$STATE/holder.log" 5
	alive "$h" && ok=0
	grep -q "released .* on the kernel's auto-thaw" "$STATE/holder.log" || ok=0
	post_scratch
	[ "$RC" = 203 ] || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "post-script exit $RC"
		ktap_print_msg "$OUT"
	fi
}

# Test that killing the holder releases the lock, and that the thaw then
# reports the lock lost before it (202): the snapshot may have missed it.
t_kill_holder() {
	local name="mariadb: killing the lock holder (SIGKILL) releases the lock: the blocked write completes, its session leaves the process list; post-script reports the lost lock (202)"
	local ok=1 h s t
	pre_scratch
	[ "$RC" = 0 ] || ok=0
	h=$(holder) s=$(session_of_hook)
	write_start
	sleep 2
	written && ok=0
	kill -9 "$h"
	t=$SECONDS
	wait_for 15 written || ok=0
	ktap_print_msg "killed holder $h; the write completed after $((SECONDS - t)) s"
	wait_for 10 session_gone "$s" || ok=0
	post_scratch
	[ "$RC" = 202 ] && grep -q "ended without releasing" <<<"$OUT" || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "$OUT"
	fi
}

# Test that a server that cannot be quiesced (another session holds BACKUP
# STAGE, as a running mariabackup does) gives 206 and leaves nothing
# frozen or locked.
t_not_ready() {
	local name="mariadb: running but not quiesceable (another backup holds BACKUP STAGE): pre-script exits 206, nothing frozen, nothing locked"
	local ok=1 pl
	mkfifo "$T/blocker"
	mariadb --batch --unbuffered <"$T/blocker" >"$T/blocker.out" 2>&1 &
	exec 9>"$T/blocker"
	BLOCKER=$!
	echo "BACKUP STAGE START; SELECT 'blocker-locked';" >&9
	wait_for 20 grep -q blocker-locked "$T/blocker.out"
	SNAPFREEZE_MYSQL_LOCK_WAIT=3 pre_scratch
	[ "$RC" = 206 ] || ok=0
	ktap_print_msg "pre-script exit $RC: $(grep 'hook 10-mysql' <<<"$OUT" | head -n 1)"
	[ "$(sf_state)" != frozen ] && touch /mnt/scratch/w1 || ok=0
	# The blocker's session alone (the hook's may take a moment to go).
	wait_for 10 sessions_are 1 || ok=0
	pl=$(plist)
	ktap_print_msg "$pl"
	diag_file "$T/blocker.out"
	exec 9>&-
	wait "$BLOCKER"
	BLOCKER=
	write_start
	wait_for 15 written || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "$OUT"
	fi
}


# --------------------------------------------------- issues 18 and 24

# Test that a freeze set without one of the server's filesystems is refused
# by dry-run and pre-script, naming it: the binary and redo logs on
# /mnt/mylog, the set /mnt/mydata alone (issue 18, defect 8).
t_volumes() {
	local name="mariadb: the set lacks the server's log disk: dry-run and pre-script fail (201) naming the redo log directory on /mnt/mylog; nothing frozen or locked"
	local ok=1 out
	sf dry-run --target /mnt/mydata --hooks-dir "$HD" --config "$ROUND_CONF"
	out=$OUT
	[ "$RC" = 201 ] && grep -q "redo log directory (/mnt/mylog/redo.*) is on /mnt/mylog, which is not in the freeze set" <<<"$OUT" || ok=0
	sf pre-script --target /mnt/mydata --hooks-dir "$HD" --config "$ROUND_CONF"
	[ "$RC" = 201 ] && grep -q "binary log (/mnt/mylog/binlog) is on /mnt/mylog" <<<"$OUT" || ok=0
	[ "$(sf_state)" != frozen ] || ok=0
	sessions_are 0 || ok=0
	if [ "$ok" = 1 ]; then
		ktap_test_pass "$name"
		ktap_print_msg "$(grep 'not in the freeze set' <<<"$out" | head -n 2)"
	else
		ktap_test_fail "$name"
		ktap_print_msg "dry-run: $out"
		ktap_print_msg "pre-script exit $RC: $OUT"
		sf post-script --hooks-dir "$HD" --config "$ROUND_CONF"
	fi
}

# Test that the hook's FIFOs and state are root's alone, and that a thaw
# after the holder lost its session reports the failure (202), not
# success (defect 7).
t_fifos_lost_lock() {
	local name="mariadb: the holder's directory is 0700 and its FIFOs 0600; a lock lost while frozen (its session killed) makes post-script exit 202"
	local ok=1 s modes
	pre_scratch
	[ "$RC" = 0 ] || ok=0
	modes=$(stat -c '%a %n' "$STATE" "$STATE"/events "$STATE"/reply "$STATE"/session "$STATE"/holder.log 2>&1)
	ktap_print_msg "$modes"
	[ "$(stat -c %a "$STATE")" = 700 ] || ok=0
	for f in events reply session; do
		[ "$(stat -c %a "$STATE/$f")" = 600 ] || ok=0
	done
	s=$(session_of_hook)
	q -e "KILL $s" || ok=0
	wait_for 10 session_gone "$s" || ok=0
	post_scratch
	[ "$RC" = 202 ] && grep -q "not held to the end" <<<"$OUT" || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "post-script exit $RC: $OUT"
	fi
}

# Test issue 24: with the helper run from an absolute path that is not on
# PATH, the kernel's auto-thaw releases the lock within the timeout + 2 s.
t_auto_thaw_abs_path() {
	local name="mariadb: helper run by absolute path, not on PATH: the lock is gone within --timeout 4 + 2 s of the freeze, without post-script"
	local ok=1 t0 took
	mkdir -p /tmp/sfabs
	cp "$HELPER" /tmp/sfabs/snapfreeze
	ID=$(cat /proc/sys/kernel/random/uuid)
	RC=0
	OUT=$(env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SNAPFREEZE_MYSQL_VOLUMES=warn \
		timeout 120 /tmp/sfabs/snapfreeze pre-script --execution-id "$ID" --target /mnt/scratch \
		--hooks-dir "$HD" --config "$ROUND_CONF" --timeout 4 2>&1) || RC=$?
	t0=$(date +%s.%N)
	[ "$RC" = 0 ] || ok=0
	command -v snapfreeze >/dev/null && ktap_print_msg "snapfreeze is on the guest's PATH: $(command -v snapfreeze)"
	# The lock's release is timed by the holder's own log line (whole
	# seconds, UTC), not by a new client's write: under TCG on a loaded
	# host starting a client alone can take seconds.  The write then
	# shows that the database takes writes again.
	write_start
	wait_for 30 written || ok=0
	rel=$(sed -n "s/^\([0-9TZ:-]*\) released .* on the kernel's auto-thaw.*/\1/p" "$STATE/holder.log" 2>/dev/null | tail -n 1)
	rel=$(date -u -d "${rel:-none}" +%s 2>/dev/null) || rel=
	took=$(awk -v a="$t0" -v b="${rel:-0}" 'BEGIN { printf "%d", b - int(a) }')
	ktap_print_msg "the holder released the lock $(if [ -n "$rel" ]; then echo "$took s after pre-script returned"; else echo "at no time it logged"; fi); the write completed: $(written && echo yes || echo no); holder: $(tail -n 1 "$STATE/holder.log" 2>/dev/null)"
	[ -n "$rel" ] && [ "$took" -le 6 ] || ok=0
	post_scratch
	[ "$RC" = 203 ] || ok=0
	rm -rf /tmp/sfabs
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "$OUT"
		diag_file "$STATE/holder.log"
	fi
}

# Test issue 24: when the holder cannot start its event monitor, the freeze
# hook fails and nothing is locked or frozen (a setpriv that fails).
t_monitor_fails() {
	local name="mariadb: the event monitor cannot start: the freeze hook fails, pre-script 201, nothing locked, nothing frozen"
	local ok=1
	mkdir -p "$T/fakebin"
	printf '#!/bin/sh\nexit 1\n' >"$T/fakebin/setpriv"
	chmod 755 "$T/fakebin/setpriv"
	PATH=$T/fakebin:$PATH pre_scratch
	[ "$RC" = 201 ] && grep -q "cannot start the event monitor" <<<"$OUT" || ok=0
	[ "$(sf_state)" != frozen ] || ok=0
	write_start
	wait_for 15 written || ok=0
	wait_for 10 sessions_are 0 || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "pre-script exit $RC, state $(sf_state)"
		ktap_print_msg "$OUT"
		ktap_print_msg "$(plist)"
		sf post-script --hooks-dir "$HD" --config "$ROUND_CONF"
	fi
}

# Test that a post-script coming while a pre-script holds the lock in its
# hooks waits for it: after both, the set is thawed and the lock released
# (defect 1, with the real lock).
t_overlap() {
	local name="mariadb: a post-script that comes while the pre-script is still in its hooks waits for it, then thaws and releases: no frozen set with the database unlocked, no lock left"
	local ok=1 pid
	ID=$(cat /proc/sys/kernel/random/uuid)
	cp -r "$HD" "$T/hk-slow"
	# shellcheck disable=SC2016 # the hook's own $1
	printf '#!/bin/sh\n[ "$1" = freeze ] && sleep 3\nexit 0\n' >"$T/hk-slow/20-slow"
	chmod 755 "$T/hk-slow/20-slow"
	SNAPFREEZE_MYSQL_VOLUMES=warn "$HELPER" pre-script --execution-id "$ID" --target /mnt/scratch \
		--hooks-dir "$T/hk-slow" --config "$ROUND_CONF" >"$T/overlap-pre.out" 2>&1 &
	pid=$!
	wait_for 60 grep -q "hook 10-mysql freeze: exit 0" "$T/overlap-pre.out" || ok=0
	sf post-script --execution-id "$ID" --hooks-dir "$T/hk-slow" --config "$ROUND_CONF"
	wait "$pid" || ok=0
	[ "$RC" = 0 ] || ok=0
	[ "$(sf_state)" != frozen ] || ok=0
	wait_for 10 sessions_are 0 || ok=0
	write_start
	wait_for 15 written || ok=0
	if [ "$ok" = 1 ]; then ktap_test_pass "$name"; else
		ktap_test_fail "$name"
		ktap_print_msg "post-script exit $RC, state $(sf_state)"
		ktap_print_msg "$OUT"
		diag_file "$T/overlap-pre.out"
	fi
}

# ------------------------------------------------------------ one round

load_start() {
	for _ in 1 2 3; do
		mariadb bank -e "CALL load_xfer(100000000)" >/dev/null 2>&1 &
	done
	sleep 3
}

load_sessions() { q -e "SELECT id FROM information_schema.processlist WHERE info LIKE 'CALL load_xfer%'"; }
no_load() { [ -z "$(load_sessions)" ]; }

# KILL the load's sessions: the server rolls their open transactions back.
load_stop() {
	local id
	for id in $(load_sessions); do
		q -e "KILL $id" 2>/dev/null
	done
	wait_for 30 no_load
}

verify_copies() { # TAG
	local data log
	if ! data=$(dev_by_serial "$1-mydata") || ! log=$(dev_by_serial "$1-mylog"); then
		echo "verdict bad: the copies did not appear in the guest"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m -p -i -f --mount-proc bash -c '
		data=$1 log=$2 times="" lap=$SECONDS
		shift 2
		lap() { times+="$1 $((SECONDS - lap)) s, "; lap=$SECONDS; }
		S=/run/mycopy/sock
		q() { timeout 120 mariadb -S $S --batch --skip-column-names "$@"; }
		bad() { echo "verdict bad: $*"; mariadb-admin -S $S shutdown >/dev/null 2>&1; exit 0; }
		mount "$data" /mnt/mydata && mount "$log" /mnt/mylog || bad "cannot mount the copies"
		: >/run/mycopy/error.log
		chown mysql /run/mycopy/error.log
		mariadbd "$@" --socket=$S --pid-file=/run/mycopy/pid --log-error=/run/mycopy/error.log 2>>/run/mycopy/error.log &
		for i in $(seq 900); do
			mariadb-admin -S $S ping >/dev/null 2>&1 && break
			kill -0 $! 2>/dev/null || break
			sleep 0.2
		done
		grep -E "\[ERROR\]|crash recovery|log sequence number|Recovering" /run/mycopy/error.log | head -n 6 | sed "s/^/server: /"
		mariadb-admin -S $S ping >/dev/null 2>&1 || bad "the server does not start on the copies"
		grep -q "\[ERROR\]" /run/mycopy/error.log && bad "the server logged errors while starting on the copies"
		lap start
		out=$(mariadb-check -S $S --all-databases --extended 2>&1)
		if grep -qv "OK$" <<<"$out"; then
			grep -v "OK$" <<<"$out" | head -n 5 | sed "s/^/mariadb-check: /"
			bad "mariadb-check (CHECK TABLE) reports problems"
		fi
		lap check
		inv=$(q bank -e "
			SELECT (SELECT COUNT(*) FROM xfer), (SELECT SUM(bal) FROM acct),
			       (SELECT COUNT(*) FROM acct a LEFT JOIN
			          (SELECT id, SUM(d) s FROM (SELECT src id, -amt d FROM xfer
			                                     UNION ALL SELECT dst, amt FROM xfer) m
			           GROUP BY id) h ON h.id = a.id
			        WHERE a.bal <> 1000 + IFNULL(h.s, 0))" 2>&1)
		read -r n sum off <<<"$inv"
		echo "xfer $n rows; balances sum to $sum; $off accounts disagree with their transfers"
		[ "$sum" = 20000000 ] && [ "$off" = 0 ] || bad "invariant broken: $inv"
		lap invariant
		mariadb-admin -S $S shutdown >/dev/null 2>&1
		lap stop
		echo "verify: ${times%, }"
		echo "verdict good"
	' verify "$data" "$log" "${SERVER[@]}" 2>&1
}

# One round: MODE freeze or control, K its number.  VERDICT, DETAIL.
round() { # MODE K
	local mode=$1 k=$2 tag id lines post=none
	tag=${mode:0:1}$k
	id=$(cat /proc/sys/kernel/random/uuid)
	VERDICT=bad DETAIL=() TIMES='' LAP=$SECONDS
	load_start
	lap load
	DETAIL+=("load: $(q -e "SELECT COUNT(*) FROM bank.xfer") transfers so far")
	if [ "$mode" = freeze ]; then
		SNAPFREEZE_MYSQL_LOCK_WAIT=120 sf pre-script --execution-id "$id" --target /mnt/mydata --target /mnt/mylog \
			--hooks-dir "$HD" --config "$ROUND_CONF" --timeout 60
		if [ "$RC" != 0 ]; then
			DETAIL+=("pre-script exit $RC: $(tail -n 5 <<<"$OUT")")
			load_stop
			return
		fi
		DETAIL+=("$(grep -Eo 'BACKUP STAGE BLOCK_COMMIT held by session [0-9]*|hook\(s\) ran in [0-9]+ ms|froze .* in [0-9]+ ms \([^)]*\)' <<<"$OUT")")
		lap pre-script
		# (The lock in the process list is the lock tests' business: here
		# every second frozen counts, the copies must come within the
		# guest's 20 s hung-task limit.)
	fi
	if ! host_request copy mylog mydata "$SPACING" "$tag"; then
		DETAIL+=("copy: $ANSWER")
		[ "$mode" = freeze ] && sf post-script --execution-id "$id" --hooks-dir "$HD" --config "$ROUND_CONF"
		load_stop
		return
	fi
	DETAIL+=("host: ${ANSWER#ok }")
	lap copy
	if [ "$mode" = freeze ]; then
		sf post-script --execution-id "$id" --hooks-dir "$HD" --config "$ROUND_CONF"
		post=$RC
		[ "$RC" = 0 ] || DETAIL+=("post-script exit $RC: $(tail -n 3 <<<"$OUT")")
		lap post-script
	fi
	load_stop
	lap stop-load
	if ! host_request attach "$tag" mylog mydata; then
		DETAIL+=("attach: $ANSWER")
		return
	fi
	lap attach
	lines=$(verify_copies "$tag")
	lap verify
	host_request detach "$tag" mylog mydata || DETAIL+=("detach: $ANSWER")
	lap detach
	while IFS= read -r l; do DETAIL+=("$l"); done <<<"$lines"
	DETAIL+=("time: ${TIMES%, }")
	[ "${lines##*$'\n'}" = "verdict good" ] && VERDICT=good
	if [ "$mode" = freeze ] && [ "$post" != 0 ]; then
		VERDICT=bad
		DETAIL+=("post-script failed")
	fi
}

# Test that a stopped server is skipped: one INFO line, pre-script 0.
t_stopped() {
	local name="mariadb: installed but stopped: one INFO line from the hook, pre-script succeeds"
	local out rc
	mariadb-admin shutdown
	wait_for 60 bash -c '! pidof mariadbd >/dev/null'
	pre_scratch
	out=$OUT rc=$RC
	post_scratch
	if [ "$rc" = 0 ] && [ "$(grep -c 'INFO: \[hook 10-mysql\]' <<<"$out")" = 1 ] &&
		grep -q "installed but not running: nothing to do" <<<"$out"; then
		ktap_test_pass "$name"
	else
		ktap_test_fail "$name"
		ktap_print_msg "pre-script exit $rc"
		ktap_print_msg "$out"
	fi
}

ktap_print_msg "mariadb-guest: $ROUNDS rounds with freeze, $ROUNDS without, ${SPACING} s between the disk copies"
if t_setup; then
	t_lock_until_post backup-stage
	t_lock_until_post ftwrl
	t_lock_until_auto_thaw
	t_kill_holder
	t_not_ready
	t_volumes
	t_fifos_lost_lock
	t_auto_thaw_abs_path
	t_monitor_fails
	t_overlap
	freeze_rounds mariadb "hook lock, log disk copied, data disk ${SPACING} s later" \
		"the copy starts cleanly, CHECK TABLE passes, the transfers' invariant holds"
	control_rounds mariadb
	t_stopped
fi
ktap_finished
