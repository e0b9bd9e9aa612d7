// SPDX-License-Identifier: GPL-2.0
/*
 * The freeze set: its state machine, the FREEZE and THAW requests, the
 * auto-thaw deadline.
 *
 *   IDLE --FREEZE--> FREEZING --all frozen--> FROZEN --THAW--> IDLE
 *                       |  \--any failure: roll back--> IDLE
 *                       |                               FROZEN --deadline,
 *                       |                                  emergency--> AUTO_THAWED
 *                    deadline/emergency/shutdown: thaw what is
 *                    frozen, the FREEZE request then fails
 *   AUTO_THAWED --THAW (reports it)--> IDLE;  FREEZE is allowed from there.
 *
 * No lock is held across a flush or a freeze_super(): a freeze can stall
 * (a writer on one filesystem waits for a daemon that waits on another we
 * already froze), and the deadline work must then be able to take the lock
 * and thaw what is frozen, which breaks the cycle.  A target is marked
 * frozen, under the lock, as soon as its freeze returns, so the deadline
 * work thaws exactly what is frozen and never touches a superblock whose
 * freeze is still in flight; the FREEZE request thaws those itself when it
 * sees that the set was aborted.
 *
 * Nothing allocates under the lock, and nothing under it waits for more
 * than a thaw: a reader of the state (GET, sysfs) cannot hold up the thaw
 * path, and reclaim never has to enter a frozen filesystem on its behalf.
 * Superblock references are dropped after the lock is released (the last
 * one may run a lazily unmounted filesystem's ->kill_sb()).
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "events.h"
#include "faults.h"
#include "freezeset.h"

/* How long to wait before retrying an auto-thaw whose thaw failed. */
#define SF_THAW_RETRY_MS 1000
/* Unloading with a target whose thaw fails: how long to keep trying. */
#define SF_UNLOAD_RETRIES 10
/*
 * Flushing runs in passes while writers go on: another pass when the
 * slowest flush of the last one took longer than this, at most
 * SF_FLUSH_PASSES in all, and only while the deadline is far enough.
 */
#define SF_REFLUSH_NS (50 * NSEC_PER_MSEC)
#define SF_FLUSH_PASSES 3

static struct {
	/*
	 * Protects every field below up to the timer, and the state of
	 * every target of the set.  Never held across a flush or a
	 * freeze_super(); held across thaw_super(), which takes s_umount
	 * (the order is sf.lock, then s_umount).
	 */
	struct mutex lock;
	enum snapfreeze_state state;
	bool dying;			/* unloading or rebooting: no new sets */
	/* A module reference, held while a target is stuck frozen. */
	bool pinned;
	int abort_err;			/* FREEZING only: why it was aborted */
	int pending;			/* FREEZING: works not yet finished */
	bool abandoned;			/* FREEZING: the request gave up */
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

	/* Fires at the deadline (or the budget's end), queues the work. */
	struct hrtimer timer;
	struct work_struct deadline_work;
	struct work_struct release_work;	/* after an auto-thaw */
	struct completion works_done;	/* every pending work finished */
	struct workqueue_struct *wq;	/* the deadline work */
	struct workqueue_struct *io_wq;	/* flushes, freezes, releases */
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

/* Thawing */

static unsigned int count_state(enum snapfreeze_target_state state)
{
	unsigned int i, n = 0;

	lockdep_assert_held(&sf.lock);
	for (i = 0; i < sf.nr_targets; i++)
		n += sf.targets[i].state == state;
	return n;
}

/*
 * A target stuck frozen (its thaw failed) keeps the module loaded: on 6.6+
 * nothing but this module can drop a kernel-held freeze.
 */
static void update_pin(void)
{
	bool stuck = count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED) > 0;

	lockdep_assert_held(&sf.lock);
	if (stuck && !sf.pinned && !sf.dying) {
		__module_get(THIS_MODULE);
		sf.pinned = true;
	} else if (!stuck && sf.pinned) {
		sf.pinned = false;
		module_put(THIS_MODULE);
	}
}

/* A target's thaw has finished with @err: see thaw_held(). */
static int thaw_done(struct sf_target *t, int err)
{
	lockdep_assert_held(&sf.lock);
	if (err) {
		t->state = SNAPFREEZE_TARGET_STATE_THAW_FAILED;
		pr_err_ratelimited("thawing %s failed: error %d\n", t->path, err);
		record_error(t->path, err, "thawing failed");
		return err;
	}
	t->state = SNAPFREEZE_TARGET_STATE_THAWED;
	if (sf_target_frozen_now(t)) {
		t->state = SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER;
		pr_warn("execution %s: %s is still frozen by another holder; only that holder can thaw it\n",
			sf.exec_id, t->path);
		record_error(t->path, -EBUSY, "still frozen by another holder");
	}
	return 0;
}

/* Thaw one target we hold. */
static int thaw_one(struct sf_target *t)
{
	lockdep_assert_held(&sf.lock);
	sf_target_thaw_start(t);
	return thaw_done(t, sf_target_thaw_wait(t));
}

/*
 * Thaw every target we hold, level by level, the last level first, the
 * targets of one level at once (the reverse of freeze_phase()).  A target
 * whose thaw fails stays held (THAW_FAILED), for a later THAW or the
 * retried deadline; one that another holder keeps frozen is reported.
 * Returns the first error.  No target changes state between the two loops:
 * the lock is held throughout.
 */
static int thaw_held(unsigned int *thawed)
{
	struct sf_target *tg = sf.targets;
	unsigned int i, first, end, n = 0;
	int err, ret = 0;

	lockdep_assert_held(&sf.lock);
	for (end = sf.nr_targets; end > 0; end = first) {
		for (first = end - 1; first > 0 &&
		     tg[first - 1].level == tg[end - 1].level; first--)
			;
		for (i = end; i-- > first;)
			if (sf_target_held(&tg[i]))
				sf_target_thaw_start(&tg[i]);
		for (i = end; i-- > first;) {
			if (!sf_target_held(&tg[i]))
				continue;
			err = thaw_done(&tg[i], sf_target_thaw_wait(&tg[i]));
			if (err)
				ret = ret ?: err;
			else
				n++;
		}
	}
	sf.held_by_other = count_state(SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER);
	update_pin();
	*thawed = n;
	return ret;
}

static void arm_deadline(ktime_t deadline)
{
	sf.deadline = deadline;
	hrtimer_start(&sf.timer, deadline, HRTIMER_MODE_ABS);
}

/*
 * After a rollback: targets whose thaw failed stay with the set, which
 * stays FROZEN and is retried shortly.  True if there were any.
 */
static bool keep_stuck(void)
{
	lockdep_assert_held(&sf.lock);
	if (!count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED))
		return false;
	sf.state = SNAPFREEZE_STATE_FROZEN;
	arm_deadline(ktime_add_ms(ktime_get_boottime(), SF_THAW_RETRY_MS));
	return true;
}

/* Hand the set's targets to @out (NULL: to the release work) and go idle. */
static void set_idle(struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	if (out) {
		out->targets = sf.targets;
		out->nr = sf.nr_targets;
	} else {
		/* Only a set that holds no superblock reference any more. */
		sf_targets_free(sf.targets, sf.nr_targets);
	}
	sf.targets = NULL;
	sf.nr_targets = 0;
	sf.exec_id[0] = '\0';
	sf.thaw_reason = SNAPFREEZE_THAW_NONE;
	sf.thawed_at_ns = 0;
	sf.frozen_since_ns = 0;
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

/*
 * Thaw the set behind its owner's back: the deadline passed, root asked for
 * an emergency thaw, or the module is going away.  A frozen set becomes
 * AUTO_THAWED, remembered until a THAW reports it; a set still being frozen
 * is marked aborted, and its FREEZE request fails with @abort_err.
 */
static void force_thaw(enum snapfreeze_thaw_reason reason, int abort_err,
		       const char *what)
{
	unsigned int thawed;
	int err;

	lockdep_assert_held(&sf.lock);
	if (sf.state != SNAPFREEZE_STATE_FREEZING &&
	    sf.state != SNAPFREEZE_STATE_FROZEN)
		return;

	err = thaw_held(&thawed);
	if (err) {
		/* Still frozen: keep the set and try again, never give up. */
		pr_err("%s: %u filesystem(s) of execution %s still frozen, retrying\n",
		       what, count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED),
		       sf.exec_id);
		arm_deadline(ktime_add_ms(ktime_get_boottime(), SF_THAW_RETRY_MS));
	}
	if (sf.state == SNAPFREEZE_STATE_FREEZING) {
		/* The FREEZE request sees this, undoes the rest and fails. */
		if (!sf.abort_err) {
			sf.abort_err = abort_err;
			pr_warn("%s: aborted the freeze of execution %s, thawed %u filesystem(s)\n",
				what, sf.exec_id, thawed);
		}
		return;
	}
	if (err)
		return;

	hrtimer_try_to_cancel(&sf.timer);
	pr_warn("%s: thawed %u filesystem(s) of execution %s%s: %s\n", what,
		thawed, sf.exec_id,
		reason == SNAPFREEZE_THAW_DEADLINE ? " at the deadline" : "",
		paths_string(sf.targets, sf.nr_targets));
	sf.state = SNAPFREEZE_STATE_AUTO_THAWED;
	sf.thaw_reason = reason;
	sf.thawed_at_ns = ktime_get_real_ns();
	sf.frozen_since_ns = 0;
	sf.auto_thaws++;
	post_event(SNAPFREEZE_EVENT_AUTO_THAWED, sf.exec_id, reason, 0);
	/* Not from here: this may be the reclaim worker, or under sysfs. */
	queue_work(sf.io_wq, &sf.release_work);
}

static void deadline_workfn(struct work_struct *work)
{
	ktime_t now = ktime_get_boottime();

	mutex_lock(&sf.lock);
	/* A stale run: the set it was armed for is gone or was re-armed. */
	if (sf.state == SNAPFREEZE_STATE_FREEZING &&
	    !ktime_before(now, sf.budget_end))
		force_thaw(SNAPFREEZE_THAW_DEADLINE, -ETIME, "freeze budget");
	else if ((sf.state == SNAPFREEZE_STATE_FREEZING ||
		  sf.state == SNAPFREEZE_STATE_FROZEN) &&
		 !ktime_before(now, sf.deadline))
		force_thaw(SNAPFREEZE_THAW_DEADLINE, -ETIMEDOUT, "auto-thaw");
	mutex_unlock(&sf.lock);
}

static enum hrtimer_restart deadline_fire(struct hrtimer *timer)
{
	/* Thawing sleeps: leave it to process context. */
	queue_work(sf.wq, &sf.deadline_work);
	return HRTIMER_NORESTART;
}

void sf_emergency_thaw(void)
{
	mutex_lock(&sf.lock);
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN)
		force_thaw(SNAPFREEZE_THAW_EMERGENCY, -ECANCELED,
			   "emergency thaw");
	else
		pr_info("emergency thaw: nothing is frozen\n");
	mutex_unlock(&sf.lock);
}

void sf_shutdown(const char *why)
{
	mutex_lock(&sf.lock);
	sf.dying = true;
	force_thaw(SNAPFREEZE_THAW_SHUTDOWN, -ESHUTDOWN, why);
	mutex_unlock(&sf.lock);
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
		     unsigned int nr, struct sf_outcome *out)
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
	strscpy(sf.exec_id, req->exec_id, sizeof(sf.exec_id));
	sf.targets = tg;
	sf.nr_targets = nr;
	sf.timeout_ms = req->timeout_ms;
	sf.abort_err = 0;
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
	hrtimer_start(&sf.timer, min(sf.deadline, sf.budget_end),
		      HRTIMER_MODE_ABS);
	mutex_unlock(&sf.lock);
	sf_outcome_release(&old);
	return 0;
}

/* FREEZE: flushing and freezing, with no lock held on entry or exit */

static const char *abort_msg(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "auto-thaw deadline passed while freezing";
	case -ETIME:
		return "freeze budget exhausted before the set was frozen";
	case -ESHUTDOWN:
		return "snapfreeze is shutting down";
	case -EINTR:
		return "caller was killed during the freeze";
	default:
		return "freeze aborted by an emergency thaw";
	}
}

/* Why the set cannot go on, or 0; called with the lock held. */
static int check_going_on(struct sf_outcome *out)
{
	lockdep_assert_held(&sf.lock);
	if (sf.abort_err) {
		set_outcome_error(out, -1, abort_msg(sf.abort_err));
		return sf.abort_err;
	}
	if (fatal_signal_pending(current)) {
		set_outcome_error(out, -1, "caller was killed during the freeze");
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

/*
 * Flushes and freezes run as work items, one per target, and the FREEZE
 * request waits for them, but only until the budget or the deadline (and
 * a grace period) has passed, or its caller is killed.  Then it gives the
 * set up: it thaws what is frozen and returns, and the last work item to
 * finish undoes the rest (abandon(), work_finished()).  Meanwhile the set
 * stays FREEZING and keeps the module loaded.
 */
#define SF_ABANDON_GRACE_MS 500

static void queue_works(struct sf_target *tg, unsigned int nr, work_func_t fn)
{
	unsigned int i;

	mutex_lock(&sf.lock);
	sf.pending = nr;
	reinit_completion(&sf.works_done);
	for (i = 0; i < nr; i++)
		tg[i].busy = true;
	mutex_unlock(&sf.lock);
	for (i = 0; i < nr; i++) {
		INIT_WORK(&tg[i].work, fn);
		queue_work(sf.io_wq, &tg[i].work);
	}
}

/* The request gave up on its set: see work_finished(). */
static void finish_abandoned(struct sf_outcome *last)
{
	unsigned int thawed;

	lockdep_assert_held(&sf.lock);
	sf.abandoned = false;
	thaw_held(&thawed);
	pr_warn("execution %s: the last flush or freeze of an abandoned set finished; thawed %u filesystem(s)\n",
		sf.exec_id, thawed);
	if (!keep_stuck())
		set_idle(last);
}

/* The end of every flush and freeze work item, under the set's lock. */
static void work_finished(struct sf_target *t, struct sf_outcome *last)
{
	lockdep_assert_held(&sf.lock);
	t->busy = false;
	if (--sf.pending)
		return;
	if (sf.abandoned)
		finish_abandoned(last);
	else
		complete(&sf.works_done);
}

/*
 * After work_finished(): the abandoned set's references, and the module
 * reference abandon() took.  The work item may be freed by now; this uses
 * nothing of it.
 */
static void after_work(struct sf_outcome *last, bool finished_abandoned)
{
	sf_outcome_release(last);
	if (finished_abandoned)
		module_put(THIS_MODULE);
}

/* Give the set up, with works still running; returns the error. */
static int abandon(struct sf_target *tg, unsigned int nr, bool killed,
		   struct sf_outcome *out)
{
	unsigned int i, thawed;
	int err;

	lockdep_assert_held(&sf.lock);
	err = sf.abort_err;
	if (!err && killed)
		err = -EINTR;
	if (!err)
		err = ktime_before(ktime_get_boottime(), sf.budget_end) ?
		      -ETIMEDOUT : -ETIME;
	sf.abort_err = err;
	set_outcome_error(out, -1, abort_msg(err));
	for (i = 0; i < nr; i++) {
		if (tg[i].busy) {
			out->target = tg[i].req_index;
			break;
		}
	}
	sf.abandoned = true;
	__module_get(THIS_MODULE);
	hrtimer_try_to_cancel(&sf.timer);
	thaw_held(&thawed);
	record_error(target_path(out->target), err, out->msg);
	pr_warn("freeze of execution %s abandoned: %s: %s (error %d); thawed %u filesystem(s), the rest when its work finishes\n",
		sf.exec_id, target_path(out->target) ?: "-", out->msg, err,
		thawed);
	sf.failures++;
	post_event(SNAPFREEZE_EVENT_FAILED, sf.exec_id, SNAPFREEZE_THAW_NONE,
		   err);
	return err;
}

/*
 * Wait for the works queued by queue_works().  0 once they all finished;
 * otherwise the set was abandoned (*@gone) and the error is returned.
 */
static int wait_works(struct sf_target *tg, unsigned int nr,
		      struct sf_outcome *out, bool *gone)
{
	s64 until;
	long left;
	int ret = 0;

	mutex_lock(&sf.lock);
	until = ktime_to_ns(ktime_sub(min(sf.deadline, sf.budget_end),
				      ktime_get_boottime()));
	mutex_unlock(&sf.lock);
	until = max_t(s64, 0, until + SF_ABANDON_GRACE_MS * NSEC_PER_MSEC);
	left = wait_for_completion_killable_timeout(&sf.works_done,
						    nsecs_to_jiffies(until));
	if (left > 0)
		return 0;
	mutex_lock(&sf.lock);
	if (sf.pending) {
		ret = abandon(tg, nr, left < 0, out);
		*gone = true;
	}
	mutex_unlock(&sf.lock);
	return ret;
}

static void flush_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, work);
	struct sf_outcome last = { .target = -1 };
	bool abandoned;

	sf_target_flush(t);
	mutex_lock(&sf.lock);
	abandoned = sf.abandoned;
	work_finished(t, &last);
	abandoned &= !sf.abandoned;
	mutex_unlock(&sf.lock);
	after_work(&last, abandoned);
}

/* Flush every target at once, in passes while the writers keep up. */
static int flush_phase(struct sf_target *tg, unsigned int nr,
		       struct sf_outcome *out, bool *gone)
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
		ret = wait_works(tg, nr, out, gone);
		if (ret)
			return ret;
		bad = first_failed(tg, nr);
		if (bad) {
			set_outcome_error(out, bad->req_index,
					  "flushing the filesystem failed");
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

/* Freeze one target (a work function): marks it frozen at once. */
static void freeze_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, work);
	struct sf_outcome last = { .target = -1 };
	bool abandoned;
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
		/* The rollback thaws this one too, or keeps it for a retry. */
		t->state = SNAPFREEZE_TARGET_STATE_FROZEN;
		t->frozen_at_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(),
							sf.freeze_start));
		/* Frozen by someone else too, since our check: not ours. */
		if (sf_target_other_holders(t))
			t->err = -EBUSY;
		/* Its set was given up: not frozen a moment longer. */
		if (sf.abandoned && thaw_one(t)) {
			update_pin();
			arm_deadline(ktime_add_ms(ktime_get_boottime(),
						  SF_THAW_RETRY_MS));
		}
	}
	abandoned = sf.abandoned;
	work_finished(t, &last);
	abandoned &= !sf.abandoned;
	mutex_unlock(&sf.lock);
	after_work(&last, abandoned);
}

static const char *freeze_error_msg(int err)
{
	return err == -EBUSY ? "filesystem is already frozen by someone else" :
			       "freezing the filesystem failed";
}

/* Freeze level by level; the targets of one level all at once. */
static int freeze_phase(struct sf_target *tg, unsigned int nr,
			struct sf_outcome *out, bool *gone)
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
		ret = wait_works(tg + first, n, out, gone);
		if (ret)
			return ret;
		mutex_lock(&sf.lock);
		ret = check_going_on(out);
		mutex_unlock(&sf.lock);
		if (ret) {
			/* The level whose freeze the abort overtook. */
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

/* FREEZE: the end, with the lock held */

static void record_timings(void)
{
	u64 first = U64_MAX, last = 0;
	unsigned int i;

	for (i = 0; i < sf.nr_targets; i++) {
		first = min(first, sf.targets[i].frozen_at_ns);
		last = max(last, sf.targets[i].frozen_at_ns);
	}
	sf.freeze_ns = last;
	sf.skew_ns = sf.nr_targets ? last - first : 0;
}

/* Undo a FREEZE that failed: thaw what is frozen, last first. */
static void freeze_failed(int ret, struct sf_outcome *out)
{
	const char *path = target_path(out->target);
	unsigned int thawed;

	lockdep_assert_held(&sf.lock);
	hrtimer_try_to_cancel(&sf.timer);
	thaw_held(&thawed);
	record_error(path, ret, out->msg);
	pr_warn("rollback of execution %s: %s: %s (error %d); thawed %u filesystem(s)\n",
		sf.exec_id, path ?: "-", out->msg, ret, thawed);
	sf.failures++;
	post_event(SNAPFREEZE_EVENT_FAILED, sf.exec_id, SNAPFREEZE_THAW_NONE,
		   ret);
	fill_status(&out->st);
	if (!keep_stuck())
		set_idle(out);
}

/* Declare the set frozen, unless its deadline or budget passed meanwhile. */
static int freeze_done(struct sf_outcome *out)
{
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
	hrtimer_start(&sf.timer, sf.deadline, HRTIMER_MODE_ABS);
	record_timings();
	sf.state = SNAPFREEZE_STATE_FROZEN;
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
	return 0;
}

static int freeze_finish(int ret, struct sf_outcome *out)
{
	mutex_lock(&sf.lock);
	if (!ret)
		ret = check_going_on(out);
	if (!ret)
		ret = freeze_done(out);
	if (ret)
		freeze_failed(ret, out);
	mutex_unlock(&sf.lock);
	/* A failed set's references go after the lock. */
	sf_outcome_release(out);
	return ret;
}

int sf_freeze(const struct sf_freeze_req *req, struct sf_outcome *out)
{
	struct sf_target *tg;
	unsigned int nr = 0;
	bool gone = false;
	int ret;

	memset(out, 0, sizeof(*out));
	set_outcome_error(out, -1, NULL);
	tg = kcalloc(req->nr_paths, sizeof(*tg), GFP_KERNEL);
	if (!tg)
		return -ENOMEM;
	/*
	 * An active set first: its filesystems would otherwise be reported
	 * as frozen by someone else.  Again once resolved, against a race.
	 */
	ret = check_can_start_unlocked(out);
	if (!ret)
		ret = resolve_targets(req, tg, &nr, out);
	if (ret || req->dry_run)
		return freeze_not_started(req, tg, nr, ret, out);
	ret = set_start(req, tg, nr, out);
	if (ret)
		return freeze_not_started(req, tg, nr, ret, out);
	ret = flush_phase(tg, nr, out, &gone);
	if (!ret)
		ret = freeze_phase(tg, nr, out, &gone);
	/* Abandoned: the set is no longer the request's to finish. */
	if (gone)
		return ret;
	return freeze_finish(ret, out);
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
		set_outcome_error(out, -1, "a freeze is in progress");
		return -EBUSY;
	default:
		break;
	}
	if (!force && strcmp(exec_id, sf.exec_id)) {
		set_outcome_error(out, -1,
				  "execution id does not match the frozen set");
		return -ESRCH;
	}
	return 0;
}

static int thaw_frozen_set(struct sf_outcome *out)
{
	unsigned int thawed;
	s64 held_ms;
	int ret;

	ret = thaw_held(&thawed);
	if (ret) {
		/* Stay FROZEN with what is left: THAW can be repeated. */
		set_outcome_error(out, -1, "thawing a filesystem failed");
		return ret;
	}
	hrtimer_try_to_cancel(&sf.timer);
	held_ms = ktime_ms_delta(ktime_get_boottime(), sf.frozen_at);
	pr_info("thawed %u filesystem(s) for execution %s after %lld ms: %s\n",
		thawed, sf.exec_id, held_ms,
		paths_string(sf.targets, sf.nr_targets));
	sf.thaws++;
	post_event(SNAPFREEZE_EVENT_THAWED, sf.exec_id, SNAPFREEZE_THAW_REQUEST,
		   0);
	return 0;
}

int sf_thaw(const char *exec_id, bool force, struct sf_outcome *out)
{
	enum snapfreeze_state found;
	int ret;

	memset(out, 0, sizeof(*out));
	set_outcome_error(out, -1, NULL);
	mutex_lock(&sf.lock);
	ret = check_can_thaw(exec_id, force, out);
	if (ret)
		goto out_unlock;
	found = sf.state;
	if (found == SNAPFREEZE_STATE_AUTO_THAWED)
		pr_info("execution %s: reported its auto-thaw\n", sf.exec_id);
	else
		ret = thaw_frozen_set(out);
	fill_status(&out->st);
	out->st.state = found;
	if (!ret)
		set_idle(out);
out_unlock:
	mutex_unlock(&sf.lock);
	return ret;
}

/* Module init and exit */

int sf_freezeset_init(void)
{
	mutex_init(&sf.lock);
	sf.state = SNAPFREEZE_STATE_IDLE;
	INIT_WORK(&sf.deadline_work, deadline_workfn);
	INIT_WORK(&sf.release_work, release_workfn);
	init_completion(&sf.works_done);
	hrtimer_setup(&sf.timer, deadline_fire, CLOCK_BOOTTIME,
		      HRTIMER_MODE_ABS);
	/*
	 * Unbound and with a rescuer: the deadline must run even when the
	 * machine is short of memory and every other worker is blocked on
	 * a frozen filesystem.  Not freezable: suspend must not stop it
	 * (docs/kernels.md).
	 */
	sf.wq = alloc_workqueue("snapfreeze", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!sf.wq)
		return -ENOMEM;
	/*
	 * Flushing syncs filesystems, which flush workqueues of their own
	 * that may have no rescuer, and a release may run ->kill_sb(): not
	 * allowed from a WQ_MEM_RECLAIM one.
	 */
	sf.io_wq = alloc_workqueue("snapfreeze_io", WQ_UNBOUND, 0);
	if (!sf.io_wq)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(sf.wq);
	return -ENOMEM;
}

/* Unloading: thaw, trying for a while if a thaw fails. */
static void thaw_for_unload(void)
{
	unsigned int tries;

	lockdep_assert_held(&sf.lock);
	for (tries = 0; tries < SF_UNLOAD_RETRIES; tries++) {
		force_thaw(SNAPFREEZE_THAW_SHUTDOWN, -ESHUTDOWN, "shutdown");
		if (!count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED))
			return;
		mutex_unlock(&sf.lock);
		msleep(SF_THAW_RETRY_MS);
		mutex_lock(&sf.lock);
	}
	pr_crit("unloading with %u filesystem(s) of execution %s still frozen\n",
		count_state(SNAPFREEZE_TARGET_STATE_THAW_FAILED), sf.exec_id);
}

void sf_freezeset_uninit(void)
{
	struct sf_outcome last = { .target = -1 };

	mutex_lock(&sf.lock);
	sf.dying = true;
	thaw_for_unload();
	/* Idle: neither the timer nor the work can re-arm anything now. */
	set_idle(&last);
	if (sf.pinned) {
		sf.pinned = false;
		module_put(THIS_MODULE);
	}
	mutex_unlock(&sf.lock);
	hrtimer_cancel(&sf.timer);
	cancel_work_sync(&sf.deadline_work);
	sf_outcome_release(&last);
	destroy_workqueue(sf.io_wq);
	destroy_workqueue(sf.wq);
}
