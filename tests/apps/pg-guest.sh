#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The PostgreSQL proof, INSIDE the VM (tests/apps/vm-proof pg boots it):
# Debian's PostgreSQL with its data directory on one virtio disk and its WAL
# on another, pgbench writing, snapshots of the two disks taken by the host
# one after the other (not at one instant, as separate volume snapshots
# are), a fresh server started on each pair of copies.
#
#   /mnt/pgdata  (disk pgdata)   data directory /mnt/pgdata/data
#   /mnt/pgwal   (disk pgwal)    /mnt/pgwal/wal, the data directory's pg_wal
#   /mnt/scratch (disk scratch)  target of the tests that freeze no database
#   /etc/postgresql /var/lib/postgresql /var/log/postgresql   tmpfs (the
#        host root is read-only); cluster 15/main made by pg_createcluster
#   /run/pgcopy  the copies' server: mount namespace with the copies at
#        /mnt/pgdata and /mnt/pgwal, port 5433
#
# A round with freezing: pre-script with the postgresql hook (CHECKPOINT,
# freeze), copy pgwal, SPACING s later copy pgdata, post-script.  A control
# round: the same copies, no pre-script.  Each pair of copies must give a
# server that starts, passes pg_amcheck and keeps pgbench's invariant (the
# balances of accounts, tellers and branches each sum to the sum of the
# history's deltas).  The control proves that the copies can be bad: at
# least one control round must fail.
#
#   tests/apps/pg-guest.sh [--plan]
#   SF_APPS_ROUNDS, SF_APPS_SPACING, SF_APPS_SIG: from tests/apps/vm-proof
# Functions called through traps and wait_for look unreachable to it:
# shellcheck disable=SC2317
set -u
ROUNDS=${SF_APPS_ROUNDS:-5}
SPACING=${SF_APPS_SPACING:-4}
if [ "${1:-}" = --plan ]; then
	# setup, volumes, ROUNDS with freezing, control, 3 stand-in, all
	# idle, not installed, not ready
	echo $((ROUNDS + 9))
	exit 0
fi

REPO=$PWD
# shellcheck source=tests/apps/lib.sh
. "$REPO/tests/apps/lib.sh"
T=/tmp/sf-apps
HD=$T/hooks
mkdir -p "$T"
export PATH=$REPO/user:$PATH
# The database runs under load in a TCG guest on shared cores (a CHECKPOINT
# took 37 s on a host with a load of 13): the hook gets far more than its
# default time, through an operator's knobs (hook_timeout, the pre-script's
# budget, and the hook's own bound).
ROUND_CONF=$T/snapfreeze.conf
printf 'hook_timeout = 150\nbudget = 170\nrollback_timeout = 30\n' >"$ROUND_CONF"

cleanup() {
	[ -w "$SYS/control" ] && echo thaw >"$SYS/control"
	[ -n "${BENCH:-}" ] && kill "$BENCH" 2>/dev/null
	pg_ctlcluster "$VER" main stop -m immediate 2>/dev/null
}
trap cleanup EXIT

as_pg() { runuser -u postgres -- "$@"; }
psql_q() { as_pg psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# ------------------------------------------------------------------ setup
setup() {
	local spec name dev
	for d in /etc/postgresql /var/lib/postgresql /var/log/postgresql; do
		mount -t tmpfs tmpfs "$d" || return 1
	done
	install -d -o postgres -g postgres /run/postgresql /run/pgcopy
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
	VER=$(basename "$(printf '%s\n' /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1 | xargs dirname | xargs dirname)")
	install -d -o postgres -g postgres -m 700 /mnt/pgdata/data /mnt/pgwal/wal
	pg_createcluster "$VER" main -d /mnt/pgdata/data -- --waldir=/mnt/pgwal/wal \
		--no-sync >"$T/create.log" 2>&1 || return 1
	# A load that leaves data pages on disk newer than the WAL copied
	# earlier: few buffers, a busy background writer.  log_checkpoints
	# shows the hook's CHECKPOINT in the server log.
	printf '%s\n' "shared_buffers = 1MB" "bgwriter_delay = 10ms" \
		"bgwriter_lru_maxpages = 1000" "bgwriter_lru_multiplier = 10" \
		"checkpoint_timeout = 30s" "max_wal_size = 64MB" "log_checkpoints = on" \
		>"/etc/postgresql/$VER/main/conf.d/snapfreeze-test.conf"
	pg_ctlcluster "$VER" main start || return 1
	as_pg pgbench -q -i -s 1 postgres >"$T/init.log" 2>&1 || return 1
	LOG=/var/log/postgresql/postgresql-$VER-main.log
	# The copies' server: Debian's configuration, another port and socket.
	printf '%s\n' "include '/etc/postgresql/$VER/main/postgresql.conf'" \
		"data_directory = '/mnt/pgdata/data'" "port = 5433" \
		"unix_socket_directories = '/run/pgcopy'" "external_pid_file = ''" \
		"cluster_name = 'copy'" >/run/pgcopy/postgresql.conf
	chown postgres /run/pgcopy/postgresql.conf
	hooks_dir "$HD" postgresql
}

# Test that the cluster comes up and dry-run finds it through the hook.
t_setup() {
	local name="pg: PostgreSQL on two disks, pgbench initialised, dry-run finds the cluster through the hook"
	if ! setup; then
		fail "$name"
		diag_file "$T/create.log"
		diag_file "$T/init.log"
		return 1
	fi
	SNAPFREEZE_PG_TIMEOUT=140 sf dry-run --target /mnt/pgdata --target /mnt/pgwal --hooks-dir "$HD" --config "$ROUND_CONF"
	if [ "$RC" = 0 ] && grep -q "cluster $VER/main .*freeze would CHECKPOINT it as postgres" <<<"$OUT"; then
		pass "$name"
		diag "$(grep 'hook 10-postgresql' <<<"$OUT" | head -n 1)"
	else
		fail "$name"
		diag "dry-run exit $RC"
		diag "$OUT"
	fi
}

# Test that a freeze set without the cluster's WAL disk is refused by
# dry-run and pre-script, naming pg_wal and its filesystem (issue 18,
# defect 8): the data directory and pg_wal must be frozen together.
t_volumes() {
	local name="pg: the set lacks pg_wal's disk: dry-run and pre-script fail (201) naming pg_wal on /mnt/pgwal; nothing frozen"
	local ok=1 out
	SNAPFREEZE_PG_TIMEOUT=140 sf dry-run --target /mnt/pgdata --hooks-dir "$HD" --config "$ROUND_CONF"
	out=$OUT
	[ "$RC" = 201 ] && grep -q "error: cluster $VER/main: pg_wal (.*) is on /mnt/pgwal, which is not in the freeze set" <<<"$OUT" || ok=0
	SNAPFREEZE_PG_TIMEOUT=140 sf pre-script --target /mnt/pgdata --hooks-dir "$HD" --config "$ROUND_CONF"
	[ "$RC" = 201 ] && grep -q "pg_wal (.*) is on /mnt/pgwal" <<<"$OUT" || ok=0
	[ "$(sf_state)" != frozen ] || ok=0
	# Both disks: the check passes.
	SNAPFREEZE_PG_TIMEOUT=140 sf dry-run --target /mnt/pgdata --target /mnt/pgwal --hooks-dir "$HD" --config "$ROUND_CONF"
	[ "$RC" = 0 ] || ok=0
	if [ "$ok" = 1 ]; then
		pass "$name"
		diag "$(grep 'not in the freeze set' <<<"$out" | head -n 1)"
	else
		fail "$name"
		diag "dry-run: $out"
		diag "last call exit $RC: $OUT"
		sf post-script --hooks-dir "$HD" --config "$ROUND_CONF"
	fi
}

# ------------------------------------------------------------ one round

# pgbench as postgres, exec'd by setpriv: BENCH is pgbench itself.
bench_start() { # LOG
	setpriv --reuid=postgres --regid=postgres --init-groups -- \
		pgbench -n -c 2 -j 2 -T 600 postgres >"$1" 2>&1 &
	BENCH=$!
	# Long enough for the background writer and the kernel to put data
	# pages on disk that are newer than a checkpoint (a run with 3 s made
	# only 2 of 5 control copies bad on a loaded host).
	sleep 15
}

# SIGTERM: an asynchronous command of a script ignores SIGINT.
bench_stop() {
	kill "$BENCH" 2>/dev/null
	wait "$BENCH" 2>/dev/null
	BENCH=
}

# The copies' checks, in a namespace of their own (mounts, pids, IPC): as
# a restore on another machine would see them.  Prints one line per
# finding; the last line is "verdict good" or "verdict bad: WHY".
verify_copies() { # TAG T0
	local data wal
	if ! data=$(dev_by_serial "$1-pgdata") || ! wal=$(dev_by_serial "$1-pgwal"); then
		echo "verdict bad: the copies did not appear in the guest"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m -p -i -f --mount-proc bash -c '
		data=$1 wal=$2 t0=$3 bin=/usr/lib/postgresql/$4/bin times="" lap=$SECONDS
		lap() { times+="$1 $((SECONDS - lap)) s, "; lap=$SECONDS; }
		as_pg() { runuser -u postgres -- "$@"; }
		bad() { echo "verdict bad: $*"; as_pg "$bin/pg_ctl" -D /run/pgcopy -m immediate stop >/dev/null 2>&1; exit 0; }
		mount "$data" /mnt/pgdata && mount "$wal" /mnt/pgwal || bad "cannot mount the copies"
		ckpt=$(as_pg "$bin/pg_controldata" /mnt/pgdata/data | sed -n "s/^Time of latest checkpoint: *//p")
		ckpt_s=$(date -d "$ckpt" +%s)
		echo "latest checkpoint in the copy: $ckpt ($((ckpt_s - t0)) s after the round began)"
		echo "checkpoint_s $ckpt_s"
		: >/run/pgcopy/log
		chown postgres /run/pgcopy/log
		if ! as_pg "$bin/pg_ctl" -D /run/pgcopy -l /run/pgcopy/log -w -t 180 start >/dev/null 2>&1; then
			grep -E "FATAL|PANIC|ERROR" /run/pgcopy/log | head -n 3 | sed "s/^/server: /"
			bad "the server does not start on the copies"
		fi
		lap start
		grep -E "redo (starts|done)|database system was" /run/pgcopy/log | sed "s/^/server: /"
		if ! out=$(as_pg "$bin/pg_amcheck" -h /run/pgcopy -p 5433 -d postgres --install-missing 2>&1); then
			printf "%s\n" "$out" | head -n 5 | sed "s/^/pg_amcheck: /"
			bad "pg_amcheck found corruption"
		fi
		lap pg_amcheck
		inv=$(as_pg psql -X -A -t -F " " -h /run/pgcopy -p 5433 -d postgres -c "
			SELECT (SELECT count(*) FROM pgbench_history),
			       (SELECT coalesce(sum(delta), 0) FROM pgbench_history),
			       (SELECT sum(abalance) FROM pgbench_accounts),
			       (SELECT sum(tbalance) FROM pgbench_tellers),
			       (SELECT sum(bbalance) FROM pgbench_branches)" 2>&1)
		read -r n h a t b <<<"$inv"
		echo "history $n rows, deltas $h; balances: accounts $a, tellers $t, branches $b"
		[ -n "$b" ] && [ "$h" = "$a" ] && [ "$h" = "$t" ] && [ "$h" = "$b" ] ||
			bad "pgbench invariant broken: $inv"
		lap invariant
		as_pg "$bin/pg_ctl" -D /run/pgcopy -m fast -w stop >/dev/null 2>&1
		lap stop
		echo "verify: ${times%, }"
		echo "verdict good"
	' verify "$data" "$wal" "$2" "$VER" 2>&1
}

# pgbench's transactions so far: its history's rows.
history() { psql_q -c "SELECT count(*) FROM pgbench_history"; }

# One round: MODE freeze or control, K its number.  VERDICT, DETAIL.
round() { # MODE K
	local mode=$1 k=$2 tag id t0 req0 req1 ckpt0 ckpt1 lines post=none h0
	tag=${mode:0:1}$k
	id=$(cat /proc/sys/kernel/random/uuid)
	VERDICT=bad DETAIL=() TIMES='' LAP=$SECONDS
	h0=$(history)
	bench_start "$T/bench-$tag.log"
	lap load
	t0=$(date +%s)
	if [ "$mode" = freeze ]; then
		req0=$(psql_q -c "SELECT checkpoints_req FROM pg_stat_bgwriter")
		ckpt0=$(grep -c "checkpoint starting: immediate force wait" "$LOG")
		SNAPFREEZE_PG_TIMEOUT=140 sf pre-script --execution-id "$id" --target /mnt/pgdata --target /mnt/pgwal \
			--hooks-dir "$HD" --config "$ROUND_CONF" --timeout 60
		if [ "$RC" != 0 ]; then
			DETAIL+=("pre-script exit $RC: $(tail -n 5 <<<"$OUT")")
			bench_stop
			return
		fi
		DETAIL+=("$(grep -Eo 'CHECKPOINT done in [0-9]+ ms|hook\(s\) ran in [0-9]+ ms|froze .* in [0-9]+ ms \([^)]*\)' <<<"$OUT")")
		lap pre-script
	fi
	if ! host_request copy pgwal pgdata "$SPACING" "$tag"; then
		DETAIL+=("copy: $ANSWER")
		[ "$mode" = freeze ] && sf post-script --execution-id "$id" --hooks-dir "$HD" --config "$ROUND_CONF"
		bench_stop
		return
	fi
	DETAIL+=("host: ${ANSWER#ok }")
	lap copy
	if [ "$mode" = freeze ]; then
		sf post-script --execution-id "$id" --hooks-dir "$HD" --config "$ROUND_CONF"
		post=$RC
		lap post-script
		[ "$RC" = 0 ] || DETAIL+=("post-script exit $RC: $(tail -n 3 <<<"$OUT")")
		req1=$(psql_q -c "SELECT checkpoints_req FROM pg_stat_bgwriter")
		ckpt1=$(grep -c "checkpoint starting: immediate force wait" "$LOG")
		DETAIL+=("server: checkpoints_req $req0 -> $req1, \"checkpoint starting: immediate force wait\" log lines $ckpt0 -> $ckpt1")
	fi
	bench_stop
	DETAIL+=("pgbench: $(($(history) - h0)) transactions in this round")
	lap stop-load
	if ! host_request attach "$tag" pgwal pgdata; then
		DETAIL+=("attach: $ANSWER")
		return
	fi
	lap attach
	lines=$(verify_copies "$tag" "$t0")
	lap verify
	host_request detach "$tag" pgwal pgdata || DETAIL+=("detach: $ANSWER")
	lap detach
	DETAIL+=("time: ${TIMES%, }")
	while IFS= read -r l; do
		case $l in
		checkpoint_s*) CKPT_S=${l#checkpoint_s } ;;
		*) DETAIL+=("$l") ;;
		esac
	done <<<"$lines"
	case ${lines##*$'\n'} in
	"verdict good") VERDICT=good ;;
	esac
	if [ "$mode" = freeze ]; then
		# The hook's checkpoint is the copy's latest one.
		if [ "${req1:-0}" -le "${req0:-0}" ] || [ "${ckpt1:-0}" -le "${ckpt0:-0}" ] ||
			[ "${CKPT_S:-0}" -lt "$t0" ] || [ "$post" != 0 ]; then
			VERDICT=bad
			DETAIL+=("the hook's CHECKPOINT is not visible (server counters, log, or the copy's pg_control), or post-script failed")
		fi
	fi
}

# ------------------------------------------------- IRIS and HANA stand-ins

# The stand-ins on PATH and their state; run in a subshell, so that none
# of it outlives the stand-in tests.
standins() {
	export IRIS_STANDIN_DIR=$T/iris HDBSQL_STANDIN_DIR=$T/hana
	export SNAPFREEZE_RUN_DIR=$T/run SNAPFREEZE_HOOK_CONF=/dev/null
	export SNAPFREEZE_HANA_HDBSQL=$REPO/tests/apps/standin/hdbsql
	export PATH=$REPO/tests/apps/standin:$PATH
	# hooks/hana looks for a running hdbnameserver.
	cp /bin/sleep "$T/hdbnameserver"
	"$T/hdbnameserver" 3600 &
	NAMER=$!
	wait_for 10 grep -qx hdbnameserver "/proc/$NAMER/comm"
}

standins_reset() {
	rm -rf "$IRIS_STANDIN_DIR" "$HDBSQL_STANDIN_DIR" "$SNAPFREEZE_RUN_DIR"
	mkdir -p "$IRIS_STANDIN_DIR" "$HDBSQL_STANDIN_DIR"
}

# Test that an IRIS instance refusing ExternalFreeze fails the pre-script
# (201), leaves nothing frozen and thaws the instance frozen before it.
t_iris_refuses() {
	local name="iris (STAND-IN): an instance refusing ExternalFreeze fails pre-script with 201; the one frozen before is thawed; nothing frozen"
	standins_reset
	hooks_dir "$T/hk" iris
	IRIS_STANDIN_INSTANCES="A:running B:running" IRIS_STANDIN_REFUSE=freeze:B \
		sf pre-script --execution-id None --target /mnt/scratch --hooks-dir "$T/hk" --config "$ROUND_CONF"
	if [ "$RC" = 201 ] && [ "$(sf_state)" != frozen ] && [ ! -e "$IRIS_STANDIN_DIR/frozen-A" ] &&
		grep -q "session A .*ExternalThaw" "$IRIS_STANDIN_DIR/calls" && touch /mnt/scratch/w1; then
		pass "$name"
	else
		fail "$name"
		diag "exit $RC, state $(sf_state)"
		diag "$OUT"
		diag_file "$IRIS_STANDIN_DIR/calls"
	fi
}

# Test that a HANA data snapshot prepared by a hook is abandoned when a
# later hook fails the pre-script.
t_hana_rollback() {
	local name="hana (STAND-IN): the data snapshot is abandoned (CLOSE ... UNSUCCESSFUL) when a later hook fails the pre-script"
	standins_reset
	hooks_dir "$T/hk" hana iris
	IRIS_STANDIN_REFUSE=freeze:IRIS \
		sf pre-script --execution-id None --target /mnt/scratch --hooks-dir "$T/hk" --config "$ROUND_CONF"
	if [ "$RC" = 201 ] && grep -q "UNSUCCESSFUL" "$HDBSQL_STANDIN_DIR/catalog" 2>/dev/null &&
		[ ! -e "$HDBSQL_STANDIN_DIR/prepared" ] && [ ! -e "$SNAPFREEZE_RUN_DIR/hana/snapshot" ]; then
		pass "$name"
	else
		fail "$name"
		diag "exit $RC"
		diag "$OUT"
		diag_file "$HDBSQL_STANDIN_DIR/calls"
	fi
}

# Test the HANA and IRIS hooks through a whole freeze: prepared and frozen
# before the freeze, confirmed and thawed after it.
t_standins_cycle() {
	local name="hana + iris (STAND-INS): pre-script freezes (snapshot prepared, instance frozen); post-script confirms it with the execution id and thaws"
	local id ok=1
	standins_reset
	hooks_dir "$T/hk" hana iris
	id=$(cat /proc/sys/kernel/random/uuid)
	sf pre-script --execution-id "$id" --target /mnt/scratch --hooks-dir "$T/hk" --config "$ROUND_CONF"
	[ "$RC" = 0 ] && [ "$(sf_state)" = frozen ] && [ -e "$IRIS_STANDIN_DIR/frozen-IRIS" ] &&
		[ -e "$HDBSQL_STANDIN_DIR/prepared" ] || ok=0
	diag "pre-script exit $RC, state $(sf_state)"
	sf post-script --execution-id "$id" --hooks-dir "$T/hk" --config "$ROUND_CONF"
	[ "$RC" = 0 ] && [ ! -e "$IRIS_STANDIN_DIR/frozen-IRIS" ] &&
		grep -q "SUCCESSFUL 'snapfreeze $id'" "$HDBSQL_STANDIN_DIR/catalog" || ok=0
	if [ "$ok" = 1 ]; then
		pass "$name"
	else
		fail "$name"
		diag "post-script exit $RC"
		diag "$OUT"
		diag_file "$HDBSQL_STANDIN_DIR/calls"
		diag_file "$IRIS_STANDIN_DIR/calls"
	fi
}

# ---------------------------------------------- stopped and not quiesceable

# Test that an image with every hook enabled snapshots fine when none of
# the databases runs: PostgreSQL stopped, MariaDB installed but not
# started, IRIS and HANA not installed.  One INFO line per hook.
t_all_idle() {
	local name="all four hooks enabled, no database running (PostgreSQL stopped, MariaDB not started, IRIS and HANA not installed): one INFO line each, pre-script 0"
	local out rc h ok=1
	pg_ctlcluster "$VER" main stop
	hooks_dir "$T/all" postgresql mysql iris hana
	sf pre-script --execution-id None --target /mnt/scratch --hooks-dir "$T/all" --config "$ROUND_CONF"
	out=$OUT rc=$RC
	sf post-script --execution-id None --hooks-dir "$T/all" --config "$ROUND_CONF"
	[ "$rc" = 0 ] && [ "$RC" = 0 ] || ok=0
	for h in 10-postgresql 20-mysql 30-iris 40-hana; do
		[ "$(grep -c "INFO: \[hook $h\]" <<<"$out")" = 1 ] || ok=0
	done
	grep -q "PostgreSQL is installed but no cluster is running" <<<"$out" &&
		grep -q "MySQL/MariaDB is installed but not running" <<<"$out" &&
		grep -q "InterSystems IRIS is not installed" <<<"$out" &&
		grep -q "SAP HANA is not installed" <<<"$out" || ok=0
	if [ "$ok" = 1 ]; then
		pass "$name"
		diag "$(grep '\[hook' <<<"$out")"
	else
		fail "$name"
		diag "pre-script exit $rc, post-script exit $RC"
		diag "$out"
	fi
}

# Test the same with PostgreSQL and MariaDB not installed: their files
# hidden in a mount namespace of the helper's own.
t_not_installed() {
	local name="all four hooks enabled, no database installed (PostgreSQL and MariaDB hidden in a mount namespace): one INFO line each, pre-script 0"
	local out rc ok=1
	: >"$T/empty"
	# shellcheck disable=SC2016 # expanded by the inner bash
	out=$(unshare -m bash -c '
		mount -t tmpfs tmpfs /usr/lib/postgresql &&
		mount -t tmpfs tmpfs /usr/sbin &&
		for f in /usr/bin/pg_lsclusters /usr/bin/pg_ctlcluster; do
			mount --bind "$1" "$f" || exit 1
		done
		shift
		"$@"' hide "$T/empty" "$HELPER" pre-script --execution-id None --target /mnt/scratch \
		--hooks-dir "$T/all" --config "$ROUND_CONF" 2>&1)
	rc=$?
	sf post-script --execution-id None --hooks-dir "$T/all" --config "$ROUND_CONF"
	[ "$rc" = 0 ] && [ "$RC" = 0 ] || ok=0
	grep -q "PostgreSQL is not installed" <<<"$out" &&
		grep -q "MySQL/MariaDB is not installed" <<<"$out" &&
		[ "$(grep -c 'INFO: \[hook' <<<"$out")" = 4 ] || ok=0
	if [ "$ok" = 1 ]; then
		pass "$name"
		diag "$(grep '\[hook' <<<"$out")"
	else
		fail "$name"
		diag "pre-script exit $rc, post-script exit $RC"
		diag "$out"
	fi
}

# The cluster answers, "rejecting connections" (pg_isready's exit 1).
rejecting() {
	as_pg pg_isready -q -h /run/postgresql
	[ $? = 1 ]
}

# Test that a running cluster that takes no connection (a standby without
# hot_standby) makes pre-script exit 206 and leaves nothing frozen.
t_not_ready() {
	local name="pg: cluster running but taking no connection (standby, hot_standby off): pre-script exits 206, nothing frozen"
	touch /mnt/pgdata/data/standby.signal
	chown postgres /mnt/pgdata/data/standby.signal
	as_pg "/usr/lib/postgresql/$VER/bin/pg_ctl" -D "/etc/postgresql/$VER/main" -o "-c hot_standby=off" \
		-l /run/pgcopy/standby.log -W start >/dev/null
	wait_for 60 rejecting
	diag "pg_isready: $(as_pg pg_isready -h /run/postgresql 2>&1)"
	sf pre-script --execution-id None --target /mnt/scratch --hooks-dir "$HD" --config "$ROUND_CONF"
	if [ "$RC" = 206 ] && [ "$(sf_state)" != frozen ] && touch /mnt/scratch/w2 &&
		grep -q "does not accept connections (.*rejecting connections): not ready" <<<"$OUT"; then
		pass "$name"
	else
		fail "$name"
		diag "exit $RC, state $(sf_state)"
		diag "$OUT"
		diag_file /run/pgcopy/standby.log 10
		sf post-script --execution-id None --hooks-dir "$HD" --config "$ROUND_CONF"
	fi
	as_pg "/usr/lib/postgresql/$VER/bin/pg_ctl" -D "/etc/postgresql/$VER/main" -m immediate stop >/dev/null
}

echo "# pg-guest: $ROUNDS rounds with freeze, $ROUNDS without, ${SPACING} s between the disk copies"
if t_setup; then
	t_volumes
	freeze_rounds pg "hook CHECKPOINT, WAL disk copied, data disk ${SPACING} s later" \
		"the copy starts, pg_amcheck passes, pgbench's invariant holds"
	control_rounds pg
	(
		standins
		t_iris_refuses
		t_hana_rollback
		t_standins_cycle
		kill "$NAMER"
	)
	t_all_idle
	t_not_installed
	t_not_ready
fi
exit 0
