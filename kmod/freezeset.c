// SPDX-License-Identifier: GPL-2.0
/*
 * The freeze set: its state machine, the FREEZE and THAW requests, the
 * auto-thaw deadline.
 *
 *   IDLE --FREEZE--> FREEZING --all frozen--> FROZEN --THAW--> IDLE
 *                       |                        |
 *      a failure, the budget, the deadline,   the deadline, an emergency
 *      an emergency thaw, the caller killed,  thaw, shutdown: thawed
 *      shutdown: rolled back, then IDLE          v
 *                                           AUTO_THAWED --THAW (reports it)--> IDLE
 *   FREEZE is allowed from AUTO_THAWED too.
 *
 * Flushes, freezes and thaws run as work items, one per target, and no lock
 * is held across any of them.  A flush or a freeze can stall (a writer on
 * one filesystem waits for a daemon that waits on another we already
 * froze), and a thaw can wait for the filesystem below it (a loop device's
 * backing filesystem) while that one is still being frozen, or is frozen
 * by someone else.  A work reports to the set under its lock when it ends,
 * and the set moves on from there (advance()).  The requests, the deadline
 * and the emergency thaw start things and wait, killably and with no lock
 * held, for the set to settle: GET, sysfs, the deadline, the emergency
 * thaw and the reboot notifier always get through.
 *
 * Undoing a set (a rollback, a THAW, an auto-thaw) thaws in the reverse of
 * the freezing order: a target is thawed once no target of a higher level
 * is still held and untried, or being thawed.  A flush or a freeze still
 * running at a higher level holds the lower levels back for a grace period
 * only (SF_UNDO_GRACE_MS): usually it is the filesystem the lower ones live
 * on, and its own work thaws it the moment its freeze returns; but with
 * levels in the wrong order it lives on a lower one and waits for that
 * one's thaw.  A thaw that fails leaves its target frozen and held
 * (THAW_FAILED) and is retried every SF_THAW_RETRY_MS until it succeeds;
 * the levels below it are thawed meanwhile.  The module stays loaded while
 * any work runs or any target is stuck frozen.
 *
 * Nothing allocates under the lock, and nothing under it waits for I/O: a
 * reader of the state cannot hold up the thaw path, and reclaim never has
 * to enter a frozen filesystem on its behalf.  Superblock references are
 * dropped after the lock is released (the last one may run a lazily
 * unmounted filesystem's ->kill_sb()).
 */
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "events.h"
#include "faults.h"
#include "freezeset.h"

/* How long to wait before retrying a thaw that failed. */
#define SF_THAW_RETRY_MS 1000
/* Unloading with a target whose thaw fails: how often to try again. */
#define SF_UNLOAD_RETRIES 10
/*
 * Flushing runs in passes while writers go on: another pass when the
 * slowest flush of the last one took longer than this, at most
 * SF_FLUSH_PASSES in all, and only while the deadline is far enough.
 */
#define SF_REFLUSH_NS (50 * NSEC_PER_MSEC)
#define SF_FLUSH_PASSES 3
/*
 * A FREEZE waits this long past its budget or deadline for its works, and
 * this long for its rollback, before it returns and leaves the rest to
 * them.  A flush or freeze still running at a higher level holds the thaw
 * of the lower levels back this long once the freeze is given up.
 */
#define SF_UNDO_GRACE_MS 500
/* How long an emergency thaw waits for the thaw it started. */
#define SF_EMERGENCY_WAIT_MS 10000

struct sf_tomb;

/* Why a FREEZE failed, in words: the extack message of its error. */
#define SF_E_DEADLINE	"auto-thaw deadline passed while freezing"
#define SF_E_BUDGET	"freeze budget exhausted before the set was frozen"
#define SF_E_SHUTDOWN	"snapfreeze is shutting down"
#define SF_E_KILLED	"caller was killed during the freeze"
#define SF_E_EMERGENCY	"freeze aborted by an emergency thaw"
#define SF_E_BUSY	"filesystem is already frozen by someone else"
#define SF_E_FREEZE	"freezing the filesystem failed"
#define SF_E_FLUSH	"flushing the filesystem failed"
/* The same, when the rollback left a filesystem frozen. */
#define SF_E_STUCK	"; a filesystem is still frozen: its thaw failed and is retried"

/* A THAW request waiting for the set to be thawed (sf_thaw()). */
struct sf_thaw_wait {
	struct sf_outcome *out;	/* its reply, filled when the set is thawed */
	bool done;		/* the thaw settled: out and ret are final */
	int ret;
};

static struct {
	/*
	 * Protects every field below up to the timer, and the state, busy,
	 * thawing and tried fields of every target of the set.  Never held
	 * across a flush, a freeze_super() or a thaw_super().  Waiters read
	 * gen, busy, phase_left, abort_err and undo_active without it
	 * (READ_ONCE()); their writers use WRITE_ONCE().
	 */
	struct mutex lock;
	enum snapfreeze_state state;
	bool dying;			/* unloading or rebooting: no new sets */
	/* A module reference, held while works run or a target is stuck. */
	bool pinned;
	u64 gen;			/* sets started so far */
	bool request_active;		/* FREEZING: its request flushes or freezes */
	unsigned int phase_left;	/* FREEZING: that phase's works still running */
	unsigned int busy;		/* flush, freeze and thaw works not finished */
	/* Undoing the set: a rollback (FREEZING) or a thaw (FROZEN). */
	int abort_err;			/* FREEZING: the freeze was given up, why */
	const char *abort_msg;		/* that, in words */
	const char *abort_path;		/* the target at fault, or NULL */
	ktime_t abort_at;		/* CLOCK_BOOTTIME */
	bool abandoned;			/* FREEZING: its request returned */
	bool thawing;			/* FROZEN: being thawed, or retried */
	enum snapfreeze_thaw_reason thaw_cause;	/* why, while thawing */
	const char *thaw_what;		/* who, for the log */
	bool undo_active;		/* thaws to run: not yet settled */
	unsigned int undo_thawed;	/* targets the undo thawed */
	int undo_err;			/* the first thaw error of its round */
	struct sf_thaw_wait *waiter;	/* the THAW request waiting, or NULL */
	struct sf_tomb *tomb;		/* the set's, allocated with it */
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
	struct sf_target *targets;	/* owned by the set unless IDLE */
	unsigned int nr_targets;
	u32 timeout_ms;
	ktime_t deadline;		/* CLOCK_BOOTTIME: counts suspend */
	ktime_t budget_end;		/* FREEZING: frozen by then, or fail */
	ktime_t freeze_start;		/* CLOCK_BOOTTIME: first freeze call */
	ktime_t frozen_at;		/* CLOCK_BOOTTIME */
	u64 frozen_since_ns;		/* CLOCK_REALTIME, for reports */
	u64 thawed_at_ns;		/* CLOCK_REALTIME, for reports */
	enum snapfreeze_thaw_reason thaw_reason;
	u32 held_by_other;
	u64 flush_ns;
	u64 freeze_ns;
	u64 skew_ns;
	u64 freezes;
	u64 thaws;
	u64 auto_thaws;
	u64 failures;
	char last_error[SF_LAST_ERROR_LEN];
	char paths_buf[512];		/* scratch for log lines */

	/*
	 * Woken when a work ends, a set is given up or settles; waiters
	 * read what they wait for with READ_ONCE(), without the lock.
	 */
	wait_queue_head_t wait;
	/* Fires at the deadline, the budget's end, a retry; queues the work. */
	struct hrtimer timer;
	struct work_struct timer_work;
	struct work_struct release_work;	/* after an auto-thaw */
	/* One THAW request at a time waits for the set (sf_thaw()). */
	struct mutex thaw_serial;
	struct workqueue_struct *wq;		/* the timer work */
	struct workqueue_struct *io_wq;		/* flushes, freezes, releases */
	struct workqueue_struct *thaw_wq;	/* thaws */
} sf;

const char *sf_state_name(enum snapfreeze_state state)
{
	static const char *const names[] = {
		[SNAPFREEZE_STATE_IDLE] = "idle",
		[SNAPFREEZE_STATE_FREEZING] = "freezing",
		[SNAPFREEZE_STATE_FROZEN] = "frozen",
		[SNAPFREEZE_STATE_AUTO_THAWED] = "auto-thawed",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

bool sf_exec_id_equal(const char *a, const char *b)
{
	return !strcasecmp(a, b);
}

/* The targets' paths, space-separated and cut short, for one log line. */
static const char *paths_string(const struct sf_target *tg, unsigned int nr)
{
	size_t len = 0, room = sizeof(sf.paths_buf);
	unsigned int i;
	int n;

	lockdep_assert_held(&sf.lock);
	sf.paths_buf[0] = '\0';
	for (i = 0; i < nr; i++) {
		n = snprintf(sf.paths_buf + len, room - len, "%s%s",
			     i ? " " : "", tg[i].path);
		if (n < 0 || len + n >= room) {
			strscpy(sf.paths_buf + room - 4, "...", 4);
			break;
		}
		len += n;
	}
	return sf.paths_buf;
}

static void record_error(const char *path, int err, const char *msg)
{
	lockdep_assert_held(&sf.lock);
	snprintf(sf.last_error, sizeof(sf.last_error), "%s%s%s (error %d)",
		 path ?: "", path ? ": " : "", msg, err);
}

/* The path of the target at request index @index, or NULL. */
static const char *target_path(int index)
{
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	for (i = 0; index >= 0 && i < sf.nr_targets; i++)
		if (sf.targets[i].req_index == index)
			return sf.targets[i].path;
	return NULL;
}

static void set_outcome_error(struct sf_outcome *out, int target,
			      const char *msg)
{
	out->target = target;
	out->msg = msg;
}

/* An event about execution @exec_id (the set's own unless refused). */
static void post_event(enum snapfreeze_event type, const char *exec_id,
		       enum snapfreeze_thaw_reason reason, int err)
{
	struct sf_event ev = {
		.type = type,
		.reason = reason,
		.err = err,
	};

	lockdep_assert_held(&sf.lock);
	if (type == SNAPFREEZE_EVENT_THAWED ||
	    type == SNAPFREEZE_EVENT_AUTO_THAWED)
		ev.held_by_other = sf.held_by_other;
	strscpy(ev.exec_id, exec_id, sizeof(ev.exec_id));
	sf_event_post(&ev);
}

static void fill_status(struct sf_status *st)
{
	lockdep_assert_held(&sf.lock);
	memset(st, 0, sizeof(*st));
	st->state = sf.state;
	strscpy(st->exec_id, sf.exec_id, sizeof(st->exec_id));
	st->timeout_ms = sf.timeout_ms;
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN) {
		s64 left = ktime_ms_delta(sf.deadline, ktime_get_boottime());

		st->remaining_ms = left > 0 ? left : 0;
	}
	st->held_by_other = sf.held_by_other;
	st->frozen_since_ns = sf.frozen_since_ns;
	st->thawed_at_ns = sf.thawed_at_ns;
	st->thaw_reason = sf.thaw_reason;
	st->flush_ns = sf.flush_ns;
	st->freeze_ns = sf.freeze_ns;
	st->skew_ns = sf.skew_ns;
	st->freezes = sf.freezes;
	st->thaws = sf.thaws;
	st->auto_thaws = sf.auto_thaws;
	st->failures = sf.failures;
	strscpy(st->last_error, sf.last_error, sizeof(st->last_error));
}

int sf_view(sf_view_fn fn, void *arg)
{
	struct sf_status st;
	int ret;

	mutex_lock(&sf.lock);
	fill_status(&st);
	ret = fn(&st, sf.targets, sf.nr_targets, arg);
	mutex_unlock(&sf.lock);
	return ret;
}

void sf_outcome_release(struct sf_outcome *out)
{
	sf_targets_free(out->targets, out->nr);
	out->targets = NULL;
	out->nr = 0;
}

static unsigned int count_state(enum snapfreeze_target_state state)
{
	unsigned int i, n = 0;

	lockdep_assert_held(&sf.lock);
	for (i = 0; i < sf.nr_targets; i++)
		n += sf.targets[i].state == state;
	return n;
}

/*
 * Works that run, and a target stuck frozen (its thaw failed), keep the
 * module loaded: a work must not outlive the module's text and data, and
 * on 6.6+ nothing but this module can drop a kernel-held freeze.  Unloading
 * and rebooting take no reference: they wait for the works themselves.
 */
static void update_pin(void)
{
	bool want;

	lockdep_assert_held(&sf.lock);
	want = !sf.dying &&
	       (sf.busy || count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED));
	if (want && !sf.pinned) {
		__module_get(THIS_MODULE);
		sf.pinned = true;
	} else if (!want && sf.pinned) {
		sf.pinned = false;
		module_put(THIS_MODULE);
	}
}

/* The timer fires at @when; sf.deadline is left as it is. */
static void arm_timer(ktime_t when)
{
	lockdep_assert_held(&sf.lock);
	hrtimer_start(&sf.timer, when, HRTIMER_MODE_ABS);
}

static void arm_retry(void)
{
	arm_timer(ktime_add_ms(ktime_get_boottime(), SF_THAW_RETRY_MS));
}

/* The timer fires at @when, or sooner if it is armed for sooner. */
static void arm_timer_by(ktime_t when)
{
	lockdep_assert_held(&sf.lock);
	if (hrtimer_active(&sf.timer) &&
	    !ktime_after(hrtimer_get_expires(&sf.timer), when))
		return;
	arm_timer(when);
}

/* A set's targets on their way out, released on io_wq: see set_idle(). */
struct sf_tomb {
	struct work_struct work;
	struct sf_target *targets;
	unsigned int nr;
};

static void tomb_workfn(struct work_struct *work)
{
	struct sf_tomb *tomb = container_of(work, struct sf_tomb, work);

	sf_targets_free(tomb->targets, tomb->nr);
	kfree(tomb);
}

/*
 * Go idle.  The set's targets go to @out, whose owner releases them with no
 * lock held; without @out, into the set's tomb, released on io_wq: the last
 * superblock reference may run a lazily unmounted filesystem's ->kill_sb(),
 * which must run neither under the lock nor in a WQ_MEM_RECLAIM worker
 * (the thaws, the timer), and an undo may settle in any of those.
 */
static void set_idle(struct sf_outcome *out)
{
	struct sf_tomb *tomb = sf.tomb;

	lockdep_assert_held(&sf.lock);
	sf.tomb = NULL;
	if (out) {
		out->targets = sf.targets;
		out->nr = sf.nr_targets;
		kfree(tomb);
	} else if (tomb) {
		tomb->targets = sf.targets;
		tomb->nr = sf.nr_targets;
		INIT_WORK(&tomb->work, tomb_workfn);
		queue_work(sf.io_wq, &tomb->work);
	}
	sf.targets = NULL;
	sf.nr_targets = 0;
	sf.exec_id[0] = '\0';
	sf.thaw_reason = SNAPFREEZE_THAW_NONE;
	sf.thawed_at_ns = 0;
	sf.frozen_since_ns = 0;
	sf.request_active = false;
	WRITE_ONCE(sf.abort_err, 0);
	sf.abort_path = NULL;
	sf.thawing = false;
	WRITE_ONCE(sf.undo_active, false);
	sf.state = SNAPFREEZE_STATE_IDLE;
}

/* After an auto-thaw: drop the references, keep what status shows. */
static void release_workfn(struct work_struct *work)
{
	struct super_block *sbs[SNAPFREEZE_MAX_TARGETS];
	unsigned int i, n = 0;

	mutex_lock(&sf.lock);
	if (sf.state == SNAPFREEZE_STATE_AUTO_THAWED) {
		for (i = 0; i < sf.nr_targets; i++) {
			if (sf.targets[i].sb)
				sbs[n++] = sf.targets[i].sb;
			sf.targets[i].sb = NULL;
		}
	}
	mutex_unlock(&sf.lock);
	while (n-- > 0)
		deactivate_super(sbs[n]);
}

/* Undoing a set: thaws in order, rounds, settling */

static bool undoing(void)
{
	lockdep_assert_held(&sf.lock);
	return (sf.state == SNAPFREEZE_STATE_FREEZING && sf.abort_err) ||
	       (sf.state == SNAPFREEZE_STATE_FROZEN && sf.thawing);
}

/* A round of thaws: every held target is tried (again). */
static void new_round(void)
{
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	WRITE_ONCE(sf.undo_active, true);
	sf.undo_err = 0;
	for (i = 0; i < sf.nr_targets; i++)
		sf.targets[i].tried = false;
}

static void start_undo(void)
{
	lockdep_assert_held(&sf.lock);
	sf.undo_thawed = 0;
	new_round();
}

/* A target's thaw has ended with @err. */
static void thaw_done(struct sf_target *t, int err)
{
	lockdep_assert_held(&sf.lock);
	if (err) {
		t->state = SNAPFREEZE_TARGET_STATE_THAW_FAILED;
		pr_err_ratelimited("thawing %s failed: error %d\n", t->path, err);
		record_error(t->path, err, "thawing failed");
		sf.undo_err = sf.undo_err ?: err;
		return;
	}
	t->state = SNAPFREEZE_TARGET_STATE_THAWED;
	sf.undo_thawed++;
	if (sf_target_frozen_now(t)) {
		t->state = SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER;
		pr_warn("execution %s: %s is still frozen by another holder; only that holder can thaw it\n",
			sf.exec_id, t->path);
		record_error(t->path, -EBUSY, "still frozen by another holder");
	}
}

/*
 * Targets left frozen by another holder, looked at again once the undo is
 * over: a thaw that waited for that holder to let go of a filesystem below
 * it finds that filesystem thawed by now.
 */
static void count_held_by_other(void)
{
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	for (i = 0; i < sf.nr_targets; i++) {
		struct sf_target *t = &sf.targets[i];

		if (t->state == SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER &&
		    !sf_target_frozen_now(t))
			t->state = SNAPFREEZE_TARGET_STATE_THAWED;
	}
	sf.held_by_other = count_state(SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER);
}

/* A FREEZE rolled back: idle, or its stuck targets retried. */
static void settle_rollback(void)
{
	unsigned int stuck = count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED);

	lockdep_assert_held(&sf.lock);
	count_held_by_other();
	if (stuck) {
		pr_err_ratelimited("rollback of execution %s: %u filesystem(s) still frozen, retrying\n",
				   sf.exec_id, stuck);
		arm_retry();
		return;
	}
	hrtimer_try_to_cancel(&sf.timer);
	if (sf.abandoned)
		pr_warn("execution %s: the last flush or freeze of an abandoned set finished; thawed %u filesystem(s)\n",
			sf.exec_id, sf.undo_thawed);
	else
		pr_warn("rollback of execution %s: %s: %s (error %d); thawed %u filesystem(s)\n",
			sf.exec_id, sf.abort_path ?: "-", sf.abort_msg,
			sf.abort_err, sf.undo_thawed);
	set_idle(NULL);
}

/* The THAW waiting for the set reports that it was auto-thawed. */
static void report_auto_thaw(struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	pr_info("execution %s: reported its auto-thaw\n", sf.exec_id);
	fill_status(&out->st);
	set_idle(out);
}

static void thawed_by_request(struct sf_thaw_wait *w)
{
	s64 held_ms = ktime_ms_delta(ktime_get_boottime(), sf.frozen_at);

	lockdep_assert_held(&sf.lock);
	pr_info("thawed %u filesystem(s) for execution %s after %lld ms: %s\n",
		sf.undo_thawed, sf.exec_id, held_ms,
		paths_string(sf.targets, sf.nr_targets));
	sf.thaws++;
	post_event(SNAPFREEZE_EVENT_THAWED, sf.exec_id, SNAPFREEZE_THAW_REQUEST,
		   0);
	if (!w) {
		set_idle(NULL);
		return;
	}
	/* THAW's reply: SNAPFREEZE_A_STATE is the state it found. */
	fill_status(&w->out->st);
	w->out->st.state = SNAPFREEZE_STATE_FROZEN;
	set_idle(w->out);
}

static void auto_thawed(struct sf_thaw_wait *w)
{
	lockdep_assert_held(&sf.lock);
	pr_warn("%s: thawed %u filesystem(s) of execution %s%s: %s\n",
		sf.thaw_what, sf.undo_thawed, sf.exec_id,
		sf.thaw_cause == SNAPFREEZE_THAW_DEADLINE ? " at the deadline" : "",
		paths_string(sf.targets, sf.nr_targets));
	sf.state = SNAPFREEZE_STATE_AUTO_THAWED;
	sf.thaw_reason = sf.thaw_cause;
	sf.thawed_at_ns = ktime_get_real_ns();
	sf.frozen_since_ns = 0;
	sf.auto_thaws++;
	post_event(SNAPFREEZE_EVENT_AUTO_THAWED, sf.exec_id, sf.thaw_cause, 0);
	if (w)
		report_auto_thaw(w->out);
	else
		/* Not from here: this may be under sysfs, or the reboot. */
		queue_work(sf.io_wq, &sf.release_work);
}

/*
 * A FROZEN set's thaw is over: idle (a THAW), auto-thawed (the deadline,
 * an emergency thaw, shutdown), or still frozen where a thaw failed.  A
 * failed auto-thaw is retried until it succeeds; a failed THAW leaves the
 * set to the next THAW and to its deadline.
 */
static void settle_thaw(void)
{
	struct sf_thaw_wait *w = sf.waiter;

	lockdep_assert_held(&sf.lock);
	count_held_by_other();
	sf.waiter = NULL;
	if (w) {
		w->done = true;
		w->ret = sf.undo_err ?: -EIO;
	}
	if (count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED)) {
		if (sf.thaw_cause != SNAPFREEZE_THAW_REQUEST) {
			pr_err_ratelimited("%s: %u filesystem(s) of execution %s still frozen, retrying\n",
					   sf.thaw_what,
					   count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED),
					   sf.exec_id);
			arm_retry();
			return;
		}
		sf.thawing = false;
		arm_timer(max(sf.deadline, ktime_add_ms(ktime_get_boottime(),
							SF_THAW_RETRY_MS)));
		return;
	}
	hrtimer_try_to_cancel(&sf.timer);
	sf.thawing = false;
	if (w)
		w->ret = 0;
	if (sf.thaw_cause == SNAPFREEZE_THAW_REQUEST)
		thawed_by_request(w);
	else
		auto_thawed(w);
}

static void settle(void)
{
	lockdep_assert_held(&sf.lock);
	WRITE_ONCE(sf.undo_active, false);
	if (sf.state == SNAPFREEZE_STATE_FREEZING)
		settle_rollback();
	else
		settle_thaw();
	update_pin();
	wake_up_all(&sf.wait);
}

static void thaw_workfn(struct work_struct *work);

static void start_thaw(struct sf_target *t)
{
	lockdep_assert_held(&sf.lock);
	t->busy = true;
	t->thawing = true;
	t->tried = true;
	WRITE_ONCE(sf.busy, sf.busy + 1);
	update_pin();
	INIT_WORK(&t->thaw_work, thaw_workfn);
	queue_work(sf.thaw_wq, &t->thaw_work);
}

/* Within the grace period of a freeze given up (see the top). */
static bool in_grace(void)
{
	lockdep_assert_held(&sf.lock);
	return sf.state == SNAPFREEZE_STATE_FREEZING &&
	       ktime_before(ktime_get_boottime(),
			    ktime_add_ms(sf.abort_at, SF_UNDO_GRACE_MS));
}

/*
 * Must @t wait before it is thawed: a target of a higher level not yet
 * tried or being thawed, or, within the grace period, being flushed or
 * frozen?
 */
static bool thaw_waits(const struct sf_target *t, bool grace)
{
	unsigned int i;

	for (i = 0; i < sf.nr_targets; i++) {
		const struct sf_target *u = &sf.targets[i];

		if (u->level <= t->level)
			continue;
		if (u->thawing || (sf_target_held(u) && !u->tried))
			return true;
		if (u->busy && grace)
			return true;
	}
	return false;
}

/*
 * Move an undo on: start every thaw the order allows now, and settle once
 * nothing is left to run.  Called with the lock held by whoever changed
 * something: a work that ended, an undo that began, the timer.  A FREEZE
 * still under way is settled only once its request has let go of it.
 */
static void advance(void)
{
	bool grace, held_back = false, left = false, failed = false;
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	if (!undoing() || !sf.undo_active)
		return;
	grace = in_grace();
	for (i = sf.nr_targets; i-- > 0;) {
		struct sf_target *t = &sf.targets[i];

		if (!sf_target_held(t) || t->busy)
			continue;
		if (t->tried) {
			failed = true;
			continue;
		}
		if (!thaw_waits(t, grace)) {
			start_thaw(t);
			continue;
		}
		left = true;
		held_back |= grace && !thaw_waits(t, false);
	}
	if (sf.busy || left) {
		/*
		 * Works still run (a freeze stuck for good, maybe): try a
		 * failed thaw again meanwhile, and the held back ones once
		 * the grace period is over.
		 */
		if (failed)
			arm_timer_by(ktime_add_ms(ktime_get_boottime(),
						  SF_THAW_RETRY_MS));
		if (held_back)
			arm_timer_by(ktime_add_ms(sf.abort_at,
						  SF_UNDO_GRACE_MS));
		return;
	}
	if (sf.state == SNAPFREEZE_STATE_FREEZING && sf.request_active)
		return;
	settle();
}

/* The end of every work item, flush, freeze or thaw, under the lock. */
static void work_end(struct sf_target *t)
{
	lockdep_assert_held(&sf.lock);
	t->busy = false;
	t->thawing = false;
	WRITE_ONCE(sf.busy, sf.busy - 1);
	advance();
	update_pin();
	wake_up_all(&sf.wait);
}

/*
 * Thaw one target.  Once the lock is dropped the work item may be freed
 * (the set settled, and its tomb was released): nothing of it is used
 * after that.
 */
static void thaw_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, thaw_work);
	int err;

	err = sf_target_thaw(t);
	mutex_lock(&sf.lock);
	thaw_done(t, err);
	work_end(t);
	mutex_unlock(&sf.lock);
}

/* Give up the set being frozen: roll it back, the first cause kept. */
static void abort_set(int err, const char *msg, const char *path)
{
	lockdep_assert_held(&sf.lock);
	if (sf.abort_err)
		return;
	WRITE_ONCE(sf.abort_err, err);
	sf.abort_msg = msg;
	sf.abort_path = path;
	sf.abort_at = ktime_get_boottime();
	start_undo();
	wake_up_all(&sf.wait);
}

static const char *abort_msg(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return SF_E_DEADLINE;
	case -ETIME:
		return SF_E_BUDGET;
	case -ESHUTDOWN:
		return SF_E_SHUTDOWN;
	case -EINTR:
		return SF_E_KILLED;
	default:
		return SF_E_EMERGENCY;
	}
}

static void give_up(int err)
{
	abort_set(err, abort_msg(err), NULL);
}

/*
 * Thaw the set behind its owner's back: the deadline passed, root asked
 * for an emergency thaw, or the module or the machine is going away.  A
 * frozen set becomes AUTO_THAWED once thawed, remembered until a THAW
 * reports it; a set being frozen is given up, and its FREEZE fails with
 * @abort_err.  A THAW already under way goes on as it is.
 */
static void force_thaw(enum snapfreeze_thaw_reason reason, int abort_err,
		       const char *what)
{
	lockdep_assert_held(&sf.lock);
	if (sf.state == SNAPFREEZE_STATE_FREEZING) {
		if (!sf.abort_err)
			pr_warn("%s: aborted the freeze of execution %s\n",
				what, sf.exec_id);
		give_up(abort_err);
	} else if (sf.state == SNAPFREEZE_STATE_FROZEN && !sf.thawing) {
		sf.thawing = true;
		sf.thaw_cause = reason;
		sf.thaw_what = what;
		start_undo();
	} else if (sf.state == SNAPFREEZE_STATE_FROZEN && !sf.undo_active) {
		new_round();
	} else {
		return;
	}
	advance();
}

/*
 * The timer, during an undo: another round once it settled with thaws
 * that failed; before that, the failed thaws again, and the thaws held
 * back by the grace period.
 */
static void retry_undo(void)
{
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	if (!sf.undo_active) {
		new_round();
	} else {
		for (i = 0; i < sf.nr_targets; i++)
			if (sf.targets[i].state ==
			    SNAPFREEZE_TARGET_STATE_THAW_FAILED &&
			    !sf.targets[i].busy)
				sf.targets[i].tried = false;
	}
	advance();
}

static void timer_workfn(struct work_struct *work)
{
	ktime_t now = ktime_get_boottime();

	mutex_lock(&sf.lock);
	if (undoing())
		retry_undo();
	else if (sf.state == SNAPFREEZE_STATE_FREEZING &&
		 !ktime_before(now, sf.budget_end))
		force_thaw(SNAPFREEZE_THAW_DEADLINE, -ETIME, "freeze budget");
	else if ((sf.state == SNAPFREEZE_STATE_FREEZING ||
		  sf.state == SNAPFREEZE_STATE_FROZEN) &&
		 !ktime_before(now, sf.deadline))
		force_thaw(SNAPFREEZE_THAW_DEADLINE, -ETIMEDOUT, "auto-thaw");
	mutex_unlock(&sf.lock);
}

static enum hrtimer_restart timer_fire(struct hrtimer *timer)
{
	/* Thawing sleeps: leave it to process context. */
	queue_work(sf.wq, &sf.timer_work);
	return HRTIMER_NORESTART;
}

/* Has the undo of set @gen settled (done, or its thaws failed)? */
static bool undo_over(u64 gen)
{
	return READ_ONCE(sf.gen) != gen || !READ_ONCE(sf.undo_active);
}

void sf_emergency_thaw(void)
{
	bool started = false;
	u64 gen;

	mutex_lock(&sf.lock);
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN) {
		force_thaw(SNAPFREEZE_THAW_EMERGENCY, -ECANCELED,
			   "emergency thaw");
		started = true;
	} else {
		pr_info("emergency thaw: nothing is frozen\n");
	}
	gen = sf.gen;
	mutex_unlock(&sf.lock);
	if (started)
		wait_event_killable_timeout(sf.wait, undo_over(gen),
					    msecs_to_jiffies(SF_EMERGENCY_WAIT_MS));
}

void sf_shutdown(const char *why, unsigned int wait_ms)
{
	u64 gen;

	mutex_lock(&sf.lock);
	sf.dying = true;
	force_thaw(SNAPFREEZE_THAW_SHUTDOWN, -ESHUTDOWN, why);
	update_pin();
	gen = sf.gen;
	mutex_unlock(&sf.lock);
	if (wait_ms)
		wait_event_killable_timeout(sf.wait, undo_over(gen),
					    msecs_to_jiffies(wait_ms));
}

/* FREEZE: refusal and planning */

/* Refuse a new set unless none is active; called with the lock held. */
static int check_can_start(struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	if (sf.dying) {
		set_outcome_error(out, -1, "snapfreeze is shutting down");
		return -ESHUTDOWN;
	}
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN) {
		set_outcome_error(out, -1, "a freeze set is already active");
		return -EBUSY;
	}
	return 0;
}

static int check_can_start_unlocked(struct sf_outcome *out)
{
	int ret;

	mutex_lock(&sf.lock);
	ret = check_can_start(out);
	mutex_unlock(&sf.lock);
	return ret;
}

/*
 * Resolve every request path, one target per distinct filesystem, in
 * freezing order.  On failure the targets resolved so far are in @tg.
 */
static int resolve_targets(const struct sf_freeze_req *req,
			   struct sf_target *tg, unsigned int *nrp,
			   struct sf_outcome *out)
{
	unsigned int i, j, nr = 0;
	struct sf_target t;
	const char *msg;
	int ret;

	for (i = 0; i < req->nr_paths; i++) {
		memset(&t, 0, sizeof(t));
		t.req_index = i;
		t.level = req->levels[i];
		ret = sf_target_resolve(&t, req->paths[i], &msg);
		for (j = 0; !ret && j < nr && tg[j].sb != t.sb; j++)
			;
		if (!ret && j < nr) {
			/* Same filesystem as an earlier target: freeze it once,
			 * at the lower level.
			 */
			tg[j].level = min(tg[j].level, t.level);
			sf_targets_put(&t, 1);
			kfree(t.path);
			continue;
		}
		if (t.sb)
			tg[nr++] = t;
		if (ret) {
			*nrp = nr;
			set_outcome_error(out, i, msg);
			return ret;
		}
	}
	sf_targets_sort(tg, nr);
	*nrp = nr;
	return 0;
}

/* A FREEZE that changed nothing: refused, or a dry run. */
static int freeze_not_started(const struct sf_freeze_req *req,
			      struct sf_target *tg, unsigned int nr, int ret,
			      struct sf_outcome *out)
{
	mutex_lock(&sf.lock);
	if (ret && !req->dry_run) {
		record_error(out->target >= 0 ? req->paths[out->target] : NULL,
			     ret, out->msg);
		sf.failures++;
		pr_err_ratelimited("freeze of execution %s refused: %s (error %d)\n",
				   req->exec_id, out->msg, ret);
		post_event(SNAPFREEZE_EVENT_FAILED, req->exec_id,
			   SNAPFREEZE_THAW_NONE, ret);
	}
	fill_status(&out->st);
	mutex_unlock(&sf.lock);
	if (!ret) {
		/* The plan goes into the reply; its references go with it. */
		out->targets = tg;
		out->nr = nr;
		return 0;
	}
	sf_targets_free(tg, nr);
	return ret;
}

/* The set is ours: from here on, the deadline covers everything. */
static int set_start(const struct sf_freeze_req *req, struct sf_target *tg,
		     unsigned int nr, struct sf_tomb *tomb,
		     struct sf_outcome *out)
{
	struct sf_outcome old = { .target = -1 };
	ktime_t now;
	int ret;

	mutex_lock(&sf.lock);
	ret = check_can_start(out);
	if (ret) {
		mutex_unlock(&sf.lock);
		return ret;
	}
	if (sf.state == SNAPFREEZE_STATE_AUTO_THAWED)
		pr_info("execution %s was auto-thawed and never reported\n",
			sf.exec_id);
	set_idle(&old);
	sf.tomb = tomb;
	strscpy(sf.exec_id, req->exec_id, sizeof(sf.exec_id));
	sf.targets = tg;
	sf.nr_targets = nr;
	sf.timeout_ms = req->timeout_ms;
	WRITE_ONCE(sf.gen, sf.gen + 1);
	sf.request_active = true;
	WRITE_ONCE(sf.phase_left, 0);
	WRITE_ONCE(sf.abort_err, 0);
	sf.abort_msg = NULL;
	sf.abort_path = NULL;
	sf.abandoned = false;
	sf.thawing = false;
	WRITE_ONCE(sf.undo_active, false);
	sf.held_by_other = 0;
	sf.flush_ns = 0;
	sf.freeze_ns = 0;
	sf.skew_ns = 0;
	sf.state = SNAPFREEZE_STATE_FREEZING;
	now = ktime_get_boottime();
	sf.deadline = ktime_add_ms(now, req->timeout_ms);
	sf.budget_end = req->budget_ms ? ktime_add_ms(now, req->budget_ms) :
					 KTIME_MAX;
	/* Whichever comes first; the deadline alone once frozen. */
	arm_timer(min(sf.deadline, sf.budget_end));
	mutex_unlock(&sf.lock);
	sf_outcome_release(&old);
	return 0;
}

/* FREEZE: flushing and freezing, with no lock held on entry or exit */

/* Why the set cannot go on, or 0. */
static int check_going_on(struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	if (sf.abort_err) {
		set_outcome_error(out, -1, sf.abort_msg);
		return sf.abort_err;
	}
	if (fatal_signal_pending(current)) {
		set_outcome_error(out, -1, abort_msg(-EINTR));
		return -EINTR;
	}
	return 0;
}

/* The first target of @tg[0..nr) whose work failed, or NULL. */
static struct sf_target *first_failed(struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (tg[i].err)
			return &tg[i];
	return NULL;
}

/* The request index of the first of @tg[0..nr) whose work runs, or -1. */
static int first_busy(const struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	for (i = 0; i < nr; i++)
		if (tg[i].busy)
			return tg[i].req_index;
	return -1;
}

/*
 * Flushes and freezes run as work items, one per target, and the FREEZE
 * request waits for them, but only until the set is given up: the budget
 * or the deadline passed (or, should the timer be late, a grace period
 * after that), an emergency thaw or a reboot, or its caller was killed.
 */
static void queue_works(struct sf_target *tg, unsigned int nr, work_func_t fn)
{
	unsigned int i;

	mutex_lock(&sf.lock);
	WRITE_ONCE(sf.phase_left, nr);
	WRITE_ONCE(sf.busy, sf.busy + nr);
	for (i = 0; i < nr; i++) {
		tg[i].busy = true;
		INIT_WORK(&tg[i].work, fn);
	}
	update_pin();
	mutex_unlock(&sf.lock);
	for (i = 0; i < nr; i++)
		queue_work(sf.io_wq, &tg[i].work);
}

static bool phase_over(void)
{
	return !READ_ONCE(sf.phase_left) || READ_ONCE(sf.abort_err);
}

/*
 * Wait for the works queued by queue_works(): 0 once they all finished;
 * otherwise why the set was given up, with out->target the first target
 * whose work still runs (-1 if none).
 */
static int wait_phase(struct sf_target *tg, unsigned int nr,
		      struct sf_outcome *out)
{
	s64 until;
	long left;
	int ret;

	mutex_lock(&sf.lock);
	until = ktime_to_ns(ktime_sub(min(sf.deadline, sf.budget_end),
				      ktime_get_boottime()));
	mutex_unlock(&sf.lock);
	until = max_t(s64, 0, until + SF_UNDO_GRACE_MS * NSEC_PER_MSEC);
	left = wait_event_killable_timeout(sf.wait, phase_over(),
					   nsecs_to_jiffies(until));
	mutex_lock(&sf.lock);
	if (left < 0) {
		give_up(-EINTR);
	} else if (!left && sf.phase_left) {
		/* The timer is late: what it would have said. */
		give_up(ktime_before(ktime_get_boottime(), sf.budget_end) ?
			-ETIMEDOUT : -ETIME);
	}
	ret = check_going_on(out);
	if (ret)
		out->target = first_busy(tg, nr);
	mutex_unlock(&sf.lock);
	return ret;
}

/* The end of a flush or freeze work, under the lock: see work_end(). */
static void phase_work_end(struct sf_target *t)
{
	lockdep_assert_held(&sf.lock);
	WRITE_ONCE(sf.phase_left, sf.phase_left - 1);
	work_end(t);
}

static void flush_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, work);

	sf_target_flush(t);
	mutex_lock(&sf.lock);
	phase_work_end(t);
	mutex_unlock(&sf.lock);
}

/* Flush every target at once, in passes while the writers keep up. */
static int flush_phase(struct sf_target *tg, unsigned int nr,
		       struct sf_outcome *out)
{
	ktime_t start = ktime_get_boottime(), pass;
	struct sf_target *bad;
	unsigned int i, n;
	u64 slowest;
	s64 left;
	int ret;

	for (n = 0; n < SF_FLUSH_PASSES; n++) {
		pass = ktime_get_boottime();
		queue_works(tg, nr, flush_workfn);
		ret = wait_phase(tg, nr, out);
		if (ret)
			return ret;
		bad = first_failed(tg, nr);
		if (bad) {
			set_outcome_error(out, bad->req_index, SF_E_FLUSH);
			return bad->err;
		}
		slowest = ktime_to_ns(ktime_sub(ktime_get_boottime(), pass));
		mutex_lock(&sf.lock);
		sf.flush_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(), start));
		left = ktime_to_ns(ktime_sub(min(sf.deadline, sf.budget_end),
					     ktime_get_boottime()));
		mutex_unlock(&sf.lock);
		/* Another pass only while it is worth it and time is left. */
		if (slowest < SF_REFLUSH_NS || left < 4 * (s64)slowest)
			break;
	}
	for (i = 0; i < nr; i++)
		tg[i].err = 0;
	return 0;
}

/*
 * Freeze one target, and mark it frozen at once: a set given up meanwhile
 * thaws it right away (advance()), whatever its request is doing.
 */
static void freeze_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, work);
	int err;

	mutex_lock(&sf.lock);
	err = sf.abort_err;
	mutex_unlock(&sf.lock);
	if (!err)
		err = sf_target_freeze(t);
	mutex_lock(&sf.lock);
	if (err) {
		t->err = err;
	} else {
		t->state = SNAPFREEZE_TARGET_STATE_FROZEN;
		t->frozen_at_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(),
							sf.freeze_start));
		/* Frozen by someone else too, since our check: not ours. */
		if (sf_target_other_holders(t))
			t->err = -EBUSY;
	}
	phase_work_end(t);
	mutex_unlock(&sf.lock);
}

static const char *freeze_error_msg(int err)
{
	return err == -EBUSY ? SF_E_BUSY : SF_E_FREEZE;
}

/* Freeze level by level; the targets of one level all at once. */
static int freeze_phase(struct sf_target *tg, unsigned int nr,
			struct sf_outcome *out)
{
	struct sf_target *bad;
	unsigned int first, n;
	int ret;

	mutex_lock(&sf.lock);
	sf.freeze_start = ktime_get_boottime();
	mutex_unlock(&sf.lock);
	for (first = 0; first < nr; first += n) {
		for (n = 1; first + n < nr && tg[first + n].level ==
						  tg[first].level; n++)
			;
		queue_works(tg + first, n, freeze_workfn);
		ret = wait_phase(tg + first, n, out);
		if (ret) {
			/* Else the level whose freeze the abort overtook. */
			if (out->target < 0)
				out->target = tg[first].req_index;
			return ret;
		}
		bad = first_failed(tg + first, n);
		if (bad) {
			set_outcome_error(out, bad->req_index,
					  freeze_error_msg(bad->err));
			return bad->err;
		}
	}
	return 0;
}

/* FREEZE: the end */

static void record_timings(void)
{
	u64 first = U64_MAX, last = 0;
	unsigned int i;

	lockdep_assert_held(&sf.lock);
	for (i = 0; i < sf.nr_targets; i++) {
		first = min(first, sf.targets[i].frozen_at_ns);
		last = max(last, sf.targets[i].frozen_at_ns);
	}
	sf.freeze_ns = last;
	sf.skew_ns = sf.nr_targets ? last - first : 0;
}

/*
 * Room for the FREEZE's reply, allocated before the set is declared
 * frozen: the reply describes the set at that moment, not whatever a THAW
 * or the deadline made of it by the time the reply is built.  The set is
 * still the request's own here (FREEZING, not given up to anyone).
 */
static struct sf_target *reply_alloc(const struct sf_target *tg,
				     unsigned int nr)
{
	struct sf_target *copy = kcalloc(nr, sizeof(*copy),
					 GFP_KERNEL | __GFP_NOWARN);
	unsigned int i;

	for (i = 0; copy && i < nr; i++) {
		copy[i].path = kstrdup(tg[i].path, GFP_KERNEL | __GFP_NOWARN);
		if (!copy[i].path) {
			sf_targets_free(copy, nr);
			copy = NULL;
		}
	}
	return copy;
}

/* Declare the set frozen, unless its deadline or budget passed meanwhile. */
static int freeze_done(struct sf_outcome *out, struct sf_target *copy)
{
	unsigned int i;
	ktime_t now;
	int err = 0;

	lockdep_assert_held(&sf.lock);
	if (sf_fault(SF_FAULT_LATE))
		msleep(sf.timeout_ms + 100);
	now = ktime_get_boottime();
	if (!ktime_before(now, sf.deadline))
		err = -ETIMEDOUT;
	else if (!ktime_before(now, sf.budget_end))
		err = -ETIME;
	if (err) {
		set_outcome_error(out, -1, abort_msg(err));
		return err;
	}
	/* The budget's timer, if it was first, becomes the deadline's. */
	arm_timer(sf.deadline);
	record_timings();
	sf.state = SNAPFREEZE_STATE_FROZEN;
	sf.request_active = false;
	sf.frozen_at = ktime_get_boottime();
	sf.frozen_since_ns = ktime_get_real_ns();
	sf.freezes++;
	pr_info("froze %u filesystem(s) for execution %s, auto-thaw in %u ms, freeze window %llu us, skew %llu us: %s\n",
		sf.nr_targets, sf.exec_id, sf.timeout_ms,
		div_u64(sf.freeze_ns, NSEC_PER_USEC),
		div_u64(sf.skew_ns, NSEC_PER_USEC),
		paths_string(sf.targets, sf.nr_targets));
	post_event(SNAPFREEZE_EVENT_FROZEN, sf.exec_id, SNAPFREEZE_THAW_NONE, 0);
	fill_status(&out->st);
	for (i = 0; copy && i < sf.nr_targets; i++)
		sf_target_copy(&copy[i], &sf.targets[i]);
	out->targets = copy;
	out->nr = copy ? sf.nr_targets : 0;
	return 0;
}

/* The words of a failed FREEZE whose rollback left a filesystem frozen. */
static const char *still_frozen_msg(const char *msg)
{
	static const char *const msgs[][2] = {
		{ SF_E_DEADLINE, SF_E_DEADLINE SF_E_STUCK },
		{ SF_E_BUDGET, SF_E_BUDGET SF_E_STUCK },
		{ SF_E_SHUTDOWN, SF_E_SHUTDOWN SF_E_STUCK },
		{ SF_E_KILLED, SF_E_KILLED SF_E_STUCK },
		{ SF_E_EMERGENCY, SF_E_EMERGENCY SF_E_STUCK },
		{ SF_E_BUSY, SF_E_BUSY SF_E_STUCK },
		{ SF_E_FREEZE, SF_E_FREEZE SF_E_STUCK },
		{ SF_E_FLUSH, SF_E_FLUSH SF_E_STUCK },
	};
	unsigned int i;

	for (i = 0; msg && i < ARRAY_SIZE(msgs); i++)
		if (!strcmp(msg, msgs[i][0]))
			return msgs[i][1];
	return msg;
}

/* The FREEZE failed: give the set up, say so, roll back what is frozen. */
static void fail_freeze(int ret, struct sf_outcome *out)
{
	const char *path = target_path(out->target);

	lockdep_assert_held(&sf.lock);
	abort_set(ret, out->msg, path);
	if (!sf.abort_path)
		sf.abort_path = path;
	sf.request_active = false;
	record_error(path, ret, out->msg);
	sf.failures++;
	post_event(SNAPFREEZE_EVENT_FAILED, sf.exec_id, SNAPFREEZE_THAW_NONE,
		   ret);
	fill_status(&out->st);
	advance();
}

/*
 * Wait a little for the rollback of set @gen; if its works take longer,
 * give the set up to them and return (the set stays FREEZING meanwhile).
 */
static void wait_rollback(u64 gen, int ret, struct sf_outcome *out)
{
	wait_event_killable_timeout(sf.wait, undo_over(gen),
				    msecs_to_jiffies(SF_UNDO_GRACE_MS));
	mutex_lock(&sf.lock);
	if (sf.gen == gen && sf.state == SNAPFREEZE_STATE_FREEZING) {
		if (count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED))
			out->msg = still_frozen_msg(out->msg);
		if (sf.undo_active) {
			sf.abandoned = true;
			pr_warn("freeze of execution %s abandoned: %s: %s (error %d); thawed %u filesystem(s), the rest when its work finishes\n",
				sf.exec_id, target_path(out->target) ?: "-",
				out->msg, ret, sf.undo_thawed);
		}
	}
	mutex_unlock(&sf.lock);
}

static int freeze_finish(int ret, struct sf_target *tg, unsigned int nr,
			 struct sf_outcome *out)
{
	struct sf_target *copy = NULL;
	u64 gen;

	if (!ret)
		copy = reply_alloc(tg, nr);
	mutex_lock(&sf.lock);
	gen = sf.gen;
	if (!ret)
		ret = check_going_on(out);
	if (!ret)
		ret = freeze_done(out, copy);
	if (ret)
		fail_freeze(ret, out);
	mutex_unlock(&sf.lock);
	if (!ret)
		return 0;
	sf_targets_free(copy, nr);
	wait_rollback(gen, ret, out);
	return ret;
}

int sf_freeze(const struct sf_freeze_req *req, struct sf_outcome *out)
{
	struct sf_tomb *tomb;
	struct sf_target *tg;
	unsigned int nr = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	set_outcome_error(out, -1, NULL);
	tg = kcalloc(req->nr_paths, sizeof(*tg), GFP_KERNEL);
	tomb = kzalloc(sizeof(*tomb), GFP_KERNEL);
	if (!tg || !tomb) {
		kfree(tomb);
		kfree(tg);
		return -ENOMEM;
	}
	/*
	 * An active set first: its filesystems would otherwise be reported
	 * as frozen by someone else.  Again once resolved, against a race.
	 */
	ret = check_can_start_unlocked(out);
	if (!ret)
		ret = resolve_targets(req, tg, &nr, out);
	if (!ret && !req->dry_run)
		ret = set_start(req, tg, nr, tomb, out);
	if (ret || req->dry_run) {
		kfree(tomb);
		return freeze_not_started(req, tg, nr, ret, out);
	}
	ret = flush_phase(tg, nr, out);
	if (!ret)
		ret = freeze_phase(tg, nr, out);
	return freeze_finish(ret, tg, nr, out);
}

/* THAW */

static int check_can_thaw(const char *exec_id, bool force,
			  struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	switch (sf.state) {
	case SNAPFREEZE_STATE_IDLE:
		set_outcome_error(out, -1, "nothing is frozen");
		return -ENOENT;
	case SNAPFREEZE_STATE_FREEZING:
		set_outcome_error(out, -1, sf.abort_err ?
				  "a failed freeze is still being rolled back" :
				  "a freeze is in progress");
		return -EBUSY;
	default:
		break;
	}
	if (!force && !sf_exec_id_equal(exec_id, sf.exec_id)) {
		set_outcome_error(out, -1,
				  "execution id does not match the frozen set");
		return -ESRCH;
	}
	return 0;
}

/* Start the thaw of the frozen set, or join the one under way. */
static void thaw_join(struct sf_thaw_wait *w)
{
	lockdep_assert_held(&sf.lock);
	if (!sf.thawing) {
		sf.thawing = true;
		sf.thaw_cause = SNAPFREEZE_THAW_REQUEST;
		sf.thaw_what = "thaw";
		start_undo();
	} else if (!sf.undo_active) {
		new_round();
	}
	sf.waiter = w;
	advance();
}

static int thaw_wait(struct sf_thaw_wait *w)
{
	int ret;

	wait_event_killable(sf.wait, READ_ONCE(w->done));
	mutex_lock(&sf.lock);
	if (!w->done) {
		/* The thaw goes on without us. */
		sf.waiter = NULL;
		set_outcome_error(w->out, -1, "caller was killed during the thaw");
		ret = -EINTR;
	} else {
		ret = w->ret;
		if (ret)
			set_outcome_error(w->out, -1,
					  "thawing a filesystem failed");
	}
	mutex_unlock(&sf.lock);
	return ret;
}

/*
 * One THAW at a time waits for the set, holding thaw_serial (killably): a
 * post-script retried while the first one's thaw waits for a filesystem
 * below (held frozen by someone else) joins that thaw once the first gives
 * up, and reports its end.
 */
int sf_thaw(const char *exec_id, bool force, struct sf_outcome *out)
{
	struct sf_thaw_wait w = { .out = out };
	bool wait = false;
	int ret;

	memset(out, 0, sizeof(*out));
	set_outcome_error(out, -1, NULL);
	if (mutex_lock_killable(&sf.thaw_serial)) {
		set_outcome_error(out, -1, "caller was killed during the thaw");
		return -EINTR;
	}
	mutex_lock(&sf.lock);
	ret = check_can_thaw(exec_id, force, out);
	if (!ret && sf.state == SNAPFREEZE_STATE_AUTO_THAWED) {
		report_auto_thaw(out);
	} else if (!ret) {
		thaw_join(&w);
		wait = true;
	}
	mutex_unlock(&sf.lock);
	if (wait)
		ret = thaw_wait(&w);
	mutex_unlock(&sf.thaw_serial);
	return ret;
}

/* Module init and exit */

int sf_freezeset_init(void)
{
	mutex_init(&sf.lock);
	mutex_init(&sf.thaw_serial);
	init_waitqueue_head(&sf.wait);
	sf.state = SNAPFREEZE_STATE_IDLE;
	INIT_WORK(&sf.timer_work, timer_workfn);
	INIT_WORK(&sf.release_work, release_workfn);
	hrtimer_setup(&sf.timer, timer_fire, CLOCK_BOOTTIME, HRTIMER_MODE_ABS);
	/*
	 * Unbound and with a rescuer: the timer and the thaws must run even
	 * when the machine is short of memory and every other worker is
	 * blocked on a frozen filesystem (a worker of system_unbound_wq may
	 * have to be created first, and that may wait for memory).  Not
	 * freezable: suspend must not stop them (docs/kernels.md).
	 */
	sf.wq = alloc_workqueue("snapfreeze", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!sf.wq)
		return -ENOMEM;
	sf.thaw_wq = alloc_workqueue("snapfreeze_thaw",
				     WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!sf.thaw_wq)
		goto err_wq;
	/*
	 * Flushing syncs filesystems, which flush workqueues of their own
	 * that may have no rescuer, and a release may run ->kill_sb(): not
	 * allowed from a WQ_MEM_RECLAIM one.
	 */
	sf.io_wq = alloc_workqueue("snapfreeze_io", WQ_UNBOUND, 0);
	if (!sf.io_wq)
		goto err_thaw_wq;
	return 0;

err_thaw_wq:
	destroy_workqueue(sf.thaw_wq);
err_wq:
	destroy_workqueue(sf.wq);
	return -ENOMEM;
}

/*
 * Unloading waits for the set's works with no bound: the module's text
 * must outlive them.  A thaw can wait on a filesystem below it that
 * someone else froze (fsfreeze on a loop device's backing filesystem);
 * the log says so every minute.
 */
static void wait_settled_for_unload(void)
{
	unsigned int waited = 0;

	while (!wait_event_idle_timeout(sf.wait, !READ_ONCE(sf.busy) &&
					!READ_ONCE(sf.undo_active), 60 * HZ)) {
		waited += 60;
		pr_warn("unloading: waiting %u s for the thaw of execution %s; a filesystem below it may be frozen by someone else\n",
			waited, sf.exec_id);
	}
}

/*
 * Unloading: no request and no work is left (each holds the module), and
 * no target is stuck (that pins the module too): thaw what is frozen,
 * trying for a while if a thaw fails.  Nothing can drop a kernel-held
 * freeze once the module is gone (6.6+): the log says so if it comes to
 * that (docs/kernels.md).
 */
static void thaw_for_unload(void)
{
	unsigned int tries, stuck = 0;

	sf_shutdown("shutdown", 0);
	for (tries = 0; tries <= SF_UNLOAD_RETRIES; tries++) {
		if (tries) {
			msleep(SF_THAW_RETRY_MS);
			mutex_lock(&sf.lock);
			retry_undo();
			mutex_unlock(&sf.lock);
		}
		wait_settled_for_unload();
		mutex_lock(&sf.lock);
		stuck = count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED);
		mutex_unlock(&sf.lock);
		if (!stuck)
			return;
	}
	pr_crit("unloading with %u filesystem(s) of execution %s still frozen: nothing can thaw them any more\n",
		stuck, sf.exec_id);
}

void sf_freezeset_uninit(void)
{
	struct sf_outcome last = { .target = -1 };

	thaw_for_unload();
	mutex_lock(&sf.lock);
	/* Idle: neither the timer nor a work can start anything now. */
	set_idle(&last);
	update_pin();
	mutex_unlock(&sf.lock);
	hrtimer_cancel(&sf.timer);
	cancel_work_sync(&sf.timer_work);
	sf_outcome_release(&last);
	destroy_workqueue(sf.io_wq);
	destroy_workqueue(sf.thaw_wq);
	destroy_workqueue(sf.wq);
}
