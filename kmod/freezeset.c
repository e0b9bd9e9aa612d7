// SPDX-License-Identifier: GPL-2.0
/*
 * The freeze set: resolve, flush, freeze, roll back, thaw, auto-thaw.
 *
 *   IDLE --FREEZE--> FREEZING --all frozen--> FROZEN --THAW--> IDLE
 *                       |  \--any failure: roll back--> IDLE
 *                       |                               FROZEN --deadline,
 *                       |                                  emergency--> AUTO_THAWED
 *                    deadline/emergency/shutdown: thaw what is
 *                    frozen, the FREEZE request then fails
 *   AUTO_THAWED --THAW (reports it)--> IDLE;  FREEZE is allowed from there.
 *
 * The FREEZE request calls freeze_super() without holding sf.lock: a freeze
 * can stall (a writer on the next filesystem waits for a daemon that waits on
 * one we already froze), and the deadline work must then be able to take the
 * lock and thaw what is frozen, which breaks the cycle.  A target is marked
 * frozen only once its freeze returned, so the deadline work never touches a
 * superblock whose freeze is still in flight; the request thread thaws that
 * one itself when it sees the set was aborted.
 */
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "freezeset.h"
#include "snapfreeze.h"

/* How long to wait before retrying an auto-thaw whose thaw failed. */
#define SF_THAW_RETRY_MS 1000

static struct {
	/*
	 * Protects every field below except timer, deadline_work and the
	 * workqueues, which have their own synchronisation.  Never held
	 * across freeze_super() or a flush; held across thaw_super() and
	 * deactivate_super(), which take s_umount (the order is sf.lock, then
	 * s_umount) and may run a lazily unmounted filesystem's ->kill_sb().
	 */
	struct mutex lock;
	enum snapfreeze_state state;
	bool dying;			/* unloading or rebooting: no new sets */
	int abort_err;			/* FREEZING only: why it was aborted */
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
	struct sf_target *targets;	/* owned by the set unless IDLE */
	unsigned int nr_targets;
	u32 timeout_ms;
	ktime_t deadline;		/* CLOCK_BOOTTIME: counts suspend */
	ktime_t frozen_at;		/* CLOCK_BOOTTIME */
	u64 frozen_since_ns;		/* CLOCK_REALTIME, for reports */
	u64 thawed_at_ns;		/* CLOCK_REALTIME, for reports */
	enum snapfreeze_thaw_reason thaw_reason;
	u64 flush_ns;
	u64 freeze_ns;
	u64 freezes;
	u64 thaws;
	u64 auto_thaws;
	u64 failures;
	char last_error[160];
	char paths_buf[512];		/* scratch for log lines */

	struct hrtimer timer;		/* fires at deadline, queues work */
	struct work_struct deadline_work;
	struct workqueue_struct *wq;	/* the deadline work */
	struct workqueue_struct *flush_wq;	/* parallel flushes */
} sf;

const char *sf_state_name(enum snapfreeze_state state)
{
	switch (state) {
	case SNAPFREEZE_STATE_IDLE:
		return "idle";
	case SNAPFREEZE_STATE_FREEZING:
		return "freezing";
	case SNAPFREEZE_STATE_FROZEN:
		return "frozen";
	case SNAPFREEZE_STATE_AUTO_THAWED:
		return "auto-thawed";
	}
	return "unknown";
}

static void set_error(struct sf_error *err, int target, const char *msg)
{
	err->target = target;
	err->msg = msg;
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

/* Resolution: one active superblock reference per distinct filesystem. */

static struct super_block *path_get_super(const char *name, int *errp,
					  const char **msgp)
{
	struct super_block *sb;
	struct inode *inode;
	struct path path;
	int err;

	err = kern_path(name, LOOKUP_FOLLOW, &path);
	if (err) {
		*errp = err;
		*msgp = "target not found";
		return NULL;
	}
	inode = d_backing_inode(path.dentry);
	if (S_ISBLK(inode->i_mode) && (path.mnt->mnt_flags & MNT_NODEV)) {
		sb = NULL;
		*errp = -EACCES;
		*msgp = "device node on a nodev mount";
	} else if (S_ISBLK(inode->i_mode)) {
		sb = sf_bdev_get_super(name, inode->i_rdev);
		/* Claimed, or published, before it is fully set up. */
		if (!IS_ERR_OR_NULL(sb) && !(READ_ONCE(sb->s_flags) & SB_BORN)) {
			deactivate_super(sb);
			sb = NULL;
		}
		if (IS_ERR(sb)) {
			*errp = PTR_ERR(sb);
			*msgp = "cannot map a block device on this kernel: give a mount point";
			sb = NULL;
		} else if (!sb) {
			*errp = -ENODEV;
			*msgp = "no mounted filesystem on this block device";
		}
	} else {
		/* The mount holds an active reference, so this cannot be 0. */
		sb = path.mnt->mnt_sb;
		atomic_inc(&sb->s_active);
	}
	path_put(&path);
	return sb;
}

static void targets_put_supers(struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (tg[i].sb) {
			deactivate_super(tg[i].sb);
			tg[i].sb = NULL;
		}
	}
}

static void targets_free(struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	if (!tg)
		return;
	targets_put_supers(tg, nr);
	for (i = 0; i < nr; i++)
		kfree(tg[i].path);
	kfree(tg);
}

static int resolve_targets(const struct sf_freeze_req *req,
			   struct sf_target *tg, unsigned int *nrp,
			   struct sf_error *err)
{
	unsigned int i, j, nr = 0;
	struct super_block *sb;
	const char *msg;
	int ret = 0;

	for (i = 0; i < req->nr_paths; i++) {
		sb = path_get_super(req->paths[i], &ret, &msg);
		if (!sb)
			goto fail;
		for (j = 0; j < nr && tg[j].sb != sb; j++)
			;
		if (j < nr) {		/* same filesystem as an earlier target */
			deactivate_super(sb);
			continue;
		}
		tg[nr].sb = sb;
		tg[nr].req_index = i;
		tg[nr].dev = sb->s_dev;
		strscpy(tg[nr].fstype, sb->s_type->name, sizeof(tg[nr].fstype));
		strscpy(tg[nr].sb_id, sb->s_id, sizeof(tg[nr].sb_id));
		nr++;
		tg[nr - 1].path = kstrdup(req->paths[i], GFP_KERNEL);
		if (!tg[nr - 1].path) {
			ret = -ENOMEM;
			msg = "out of memory";
			goto fail;
		}
		if (!sb->s_op->freeze_fs && !sb->s_op->freeze_super) {
			ret = -EOPNOTSUPP;
			msg = "filesystem does not support freezing";
			goto fail;
		}
		if (sf_super_frozen(sb)) {
			ret = -EBUSY;
			msg = "filesystem is already frozen by someone else";
			goto fail;
		}
	}
	*nrp = nr;
	return 0;

fail:
	*nrp = nr;
	set_error(err, i, msg);
	return ret;
}

/* Flushing: every target at once, before the first freeze. */

static void flush_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, flush_work);
	struct super_block *sb = t->sb;

	/* sync_filesystem() wants s_umount, against remounts. */
	down_read(&sb->s_umount);
	t->flush_err = sync_filesystem(sb);
	up_read(&sb->s_umount);
}

static int flush_targets(struct sf_target *tg, unsigned int nr,
			 unsigned int *failed)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		INIT_WORK(&tg[i].flush_work, flush_workfn);
		queue_work(sf.flush_wq, &tg[i].flush_work);
	}
	for (i = 0; i < nr; i++)
		flush_work(&tg[i].flush_work);
	for (i = 0; i < nr; i++) {
		if (tg[i].flush_err) {
			*failed = i;
			return tg[i].flush_err;
		}
	}
	return 0;
}

/*
 * Thaw every target we froze, last first.  A target whose thaw fails stays
 * marked frozen so that a later THAW or the retried deadline can try again.
 * Returns the number thawed, or the first error.
 */
static int thaw_targets(struct sf_target *tg, unsigned int nr,
			unsigned int *thawed)
{
	unsigned int i, n = 0;
	int err, ret = 0;

	lockdep_assert_held(&sf.lock);
	for (i = nr; i-- > 0;) {
		if (!tg[i].frozen)
			continue;
		err = sf_thaw_super(tg[i].sb);
		if (err) {
			pr_err_ratelimited("thawing %s failed: error %d\n",
					   tg[i].path, err);
			record_error(tg[i].path, err, "thawing failed");
			if (!ret)
				ret = err;
			continue;
		}
		tg[i].frozen = false;
		n++;
	}
	*thawed = n;
	return ret;
}

static unsigned int count_frozen(const struct sf_target *tg, unsigned int nr)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr; i++)
		n += tg[i].frozen;
	return n;
}

static void arm_deadline(ktime_t deadline)
{
	sf.deadline = deadline;
	hrtimer_start(&sf.timer, deadline, HRTIMER_MODE_ABS);
}

static void set_idle(void)
{
	lockdep_assert_held(&sf.lock);
	targets_free(sf.targets, sf.nr_targets);
	sf.targets = NULL;
	sf.nr_targets = 0;
	sf.exec_id[0] = '\0';
	sf.thaw_reason = SNAPFREEZE_THAW_NONE;
	sf.thawed_at_ns = 0;
	sf.frozen_since_ns = 0;
	sf.state = SNAPFREEZE_STATE_IDLE;
}

static void fill_status(struct sf_status *st, const struct sf_target *tg,
			unsigned int nr)
{
	lockdep_assert_held(&sf.lock);
	memset(st, 0, sizeof(*st));
	st->state = sf.state;
	st->exec_id = sf.state == SNAPFREEZE_STATE_IDLE ? NULL : sf.exec_id;
	st->targets = tg;
	st->nr_targets = nr;
	st->timeout_ms = sf.timeout_ms;
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN) {
		s64 left = ktime_ms_delta(sf.deadline, ktime_get_boottime());

		st->remaining_ms = left > 0 ? left : 0;
	}
	st->frozen_since_ns = sf.frozen_since_ns;
	st->thawed_at_ns = sf.thawed_at_ns;
	st->thaw_reason = sf.thaw_reason;
	st->flush_ns = sf.flush_ns;
	st->freeze_ns = sf.freeze_ns;
	st->freezes = sf.freezes;
	st->thaws = sf.thaws;
	st->auto_thaws = sf.auto_thaws;
	st->failures = sf.failures;
	st->last_error = sf.last_error;
}

int sf_status_call(sf_status_fn fn, void *arg)
{
	struct sf_status st;
	int ret;

	mutex_lock(&sf.lock);
	fill_status(&st, sf.targets, sf.nr_targets);
	ret = fn(&st, arg);
	mutex_unlock(&sf.lock);
	return ret;
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

	err = thaw_targets(sf.targets, sf.nr_targets, &thawed);
	if (err) {
		/* Still frozen: keep the set and try again, never give up. */
		pr_err("%s: %u filesystem(s) of execution %s still frozen, retrying\n",
		       what, count_frozen(sf.targets, sf.nr_targets),
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
	if (reason == SNAPFREEZE_THAW_DEADLINE)
		pr_warn("%s: thawed %u filesystem(s) of execution %s at the deadline: %s\n",
			what, thawed, sf.exec_id,
			paths_string(sf.targets, sf.nr_targets));
	else
		pr_warn("%s: thawed %u filesystem(s) of execution %s\n",
			what, thawed, sf.exec_id);
	/*
	 * The superblock references stay until the set goes idle, in process
	 * context: the last one may run ->kill_sb() of a lazily unmounted
	 * filesystem, which must not happen in our WQ_MEM_RECLAIM worker
	 * (it may flush workqueues that have no rescuer).
	 */
	sf.state = SNAPFREEZE_STATE_AUTO_THAWED;
	sf.thaw_reason = reason;
	sf.thawed_at_ns = ktime_get_real_ns();
	sf.frozen_since_ns = 0;
	sf.auto_thaws++;
	sf_netlink_notify(SNAPFREEZE_EVENT_AUTO_THAWED, sf.exec_id, reason, 0);
	if (reason == SNAPFREEZE_THAW_DEADLINE)
		sf_sysfs_uevent("auto-thaw", sf.exec_id);
}

static void deadline_workfn(struct work_struct *work)
{
	mutex_lock(&sf.lock);
	/* A stale run: the set it was armed for is gone or was re-armed. */
	if ((sf.state == SNAPFREEZE_STATE_FREEZING ||
	     sf.state == SNAPFREEZE_STATE_FROZEN) &&
	    !ktime_before(ktime_get_boottime(), sf.deadline))
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

/* FREEZE */

/* Refuse a new set unless none is active; called with the lock held. */
static int check_can_start(struct sf_error *err)
{
	lockdep_assert_held(&sf.lock);
	if (sf.dying) {
		set_error(err, -1, "snapfreeze is shutting down");
		return -ESHUTDOWN;
	}
	if (sf.state == SNAPFREEZE_STATE_FREEZING ||
	    sf.state == SNAPFREEZE_STATE_FROZEN) {
		set_error(err, -1, "a freeze set is already active");
		return -EBUSY;
	}
	return 0;
}

/*
 * Undo a FREEZE that failed at @tg (NULL: not the fault of one target):
 * thaw what is frozen, last first, and go back to IDLE.  The caller drops
 * the superblock references after unlocking.
 */
static void freeze_failed(struct sf_target *tg, int ret, const char *msg)
{
	unsigned int i, thawed;

	lockdep_assert_held(&sf.lock);
	hrtimer_try_to_cancel(&sf.timer);
	thaw_targets(sf.targets, sf.nr_targets, &thawed);
	record_error(tg ? tg->path : NULL, ret, msg);
	pr_warn("rollback of execution %s: %s: %s; thawed %u filesystem(s)\n",
		sf.exec_id, tg ? tg->path : "-", msg, thawed);
	sf.failures++;
	sf_netlink_notify(SNAPFREEZE_EVENT_FAILED, sf.exec_id,
			  SNAPFREEZE_THAW_NONE, ret);
	/* Targets whose thaw failed stay with the set, retried shortly. */
	for (i = 0; i < sf.nr_targets; i++) {
		if (sf.targets[i].frozen) {
			sf.state = SNAPFREEZE_STATE_FROZEN;
			arm_deadline(ktime_add_ms(ktime_get_boottime(),
						  SF_THAW_RETRY_MS));
			return;
		}
	}
	sf.targets = NULL;
	sf.nr_targets = 0;
	set_idle();
}

static const char *abort_msg(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "auto-thaw deadline passed while freezing";
	case -ESHUTDOWN:
		return "snapfreeze is shutting down";
	default:
		return "freeze aborted by an emergency thaw";
	}
}

/* Freeze the targets in order; returns with the lock held. */
static int freeze_targets(struct sf_target *tg, unsigned int nr,
			  struct sf_error *err)
{
	ktime_t first = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		mutex_lock(&sf.lock);
		if (sf.abort_err) {
			set_error(err, -1, abort_msg(sf.abort_err));
			return sf.abort_err;
		}
		mutex_unlock(&sf.lock);

		if (!first)
			first = ktime_get_boottime();
		ret = sf_freeze_super(tg[i].sb);

		mutex_lock(&sf.lock);
		if (ret) {
			set_error(err, tg[i].req_index, ret == -EBUSY ?
				  "filesystem is already frozen by someone else" :
				  "freezing the filesystem failed");
			return ret;
		}
		/* The rollback thaws this one too, or keeps it for a retry. */
		tg[i].frozen = true;
		if (sf.abort_err) {
			set_error(err, tg[i].req_index, abort_msg(sf.abort_err));
			return sf.abort_err;
		}
		if (fatal_signal_pending(current)) {
			set_error(err, tg[i].req_index,
				  "caller was killed during the freeze");
			return -EINTR;
		}
		if (i + 1 < nr)
			mutex_unlock(&sf.lock);
	}
	sf.freeze_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(), first));
	return 0;
}

int sf_freeze(const struct sf_freeze_req *req, sf_status_fn fn, void *arg,
	      struct sf_error *err)
{
	struct sf_status st;
	struct sf_target *tg;
	unsigned int nr = 0, failed;
	ktime_t start;
	u64 flush_ns;
	int ret;

	set_error(err, -1, NULL);
	tg = kcalloc(req->nr_paths, sizeof(*tg), GFP_KERNEL);
	if (!tg)
		return -ENOMEM;

	/*
	 * An active set first: its filesystems would otherwise be reported
	 * as frozen by someone else.  Again once resolved, against a race.
	 */
	mutex_lock(&sf.lock);
	ret = check_can_start(err);
	mutex_unlock(&sf.lock);
	if (!ret)
		ret = resolve_targets(req, tg, &nr, err);
	mutex_lock(&sf.lock);
	if (!ret)
		ret = check_can_start(err);
	if (ret || req->dry_run) {
		if (ret && !req->dry_run) {
			record_error(err->target >= 0 ?
				     req->paths[err->target] : NULL,
				     ret, err->msg);
			sf.failures++;
			pr_err_ratelimited("freeze of execution %s refused: %s (error %d)\n",
					   req->exec_id, err->msg, ret);
			sf_netlink_notify(SNAPFREEZE_EVENT_FAILED, req->exec_id,
					  SNAPFREEZE_THAW_NONE, ret);
		}
		if (!ret && fn) {
			fill_status(&st, tg, nr);
			ret = fn(&st, arg);
		}
		mutex_unlock(&sf.lock);
		goto out_free;
	}

	/* The set is ours: from here on, the deadline covers everything. */
	if (sf.state == SNAPFREEZE_STATE_AUTO_THAWED)
		pr_info("execution %s was auto-thawed and never reported\n",
			sf.exec_id);
	set_idle();
	strscpy(sf.exec_id, req->exec_id, sizeof(sf.exec_id));
	sf.targets = tg;
	sf.nr_targets = nr;
	sf.timeout_ms = req->timeout_ms;
	sf.abort_err = 0;
	sf.state = SNAPFREEZE_STATE_FREEZING;
	arm_deadline(ktime_add_ms(ktime_get_boottime(), req->timeout_ms));
	mutex_unlock(&sf.lock);

	start = ktime_get_boottime();
	ret = flush_targets(tg, nr, &failed);
	flush_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(), start));
	if (ret) {
		mutex_lock(&sf.lock);
		sf.flush_ns = flush_ns;
		set_error(err, tg[failed].req_index,
			  "flushing the filesystem failed");
		freeze_failed(&tg[failed], ret, err->msg);
		goto out_unlock;
	}

	ret = freeze_targets(tg, nr, err);
	sf.flush_ns = flush_ns;
	if (ret) {
		for (failed = 0; failed < nr; failed++)
			if (tg[failed].req_index == err->target)
				break;
		freeze_failed(failed < nr ? &tg[failed] : NULL, ret, err->msg);
		goto out_unlock;
	}

	sf.state = SNAPFREEZE_STATE_FROZEN;
	sf.frozen_at = ktime_get_boottime();
	sf.frozen_since_ns = ktime_get_real_ns();
	sf.freezes++;
	pr_info("froze %u filesystem(s) for execution %s, auto-thaw in %u ms: %s\n",
		nr, sf.exec_id, sf.timeout_ms, paths_string(tg, nr));
	sf_netlink_notify(SNAPFREEZE_EVENT_FROZEN, sf.exec_id,
			  SNAPFREEZE_THAW_NONE, 0);
	if (fn) {
		fill_status(&st, tg, nr);
		/* The set is frozen whatever happens to the reply. */
		if (fn(&st, arg))
			pr_warn_ratelimited("could not build the FREEZE reply\n");
	}
	mutex_unlock(&sf.lock);
	return 0;

out_unlock:
	/* On failure the set gave the targets back unless it kept them. */
	if (sf.targets == tg)
		tg = NULL;
	mutex_unlock(&sf.lock);
out_free:
	targets_free(tg, nr);
	return ret;
}

/* THAW */

int sf_thaw(const char *exec_id, bool force, sf_status_fn fn, void *arg,
	    struct sf_error *err)
{
	struct sf_status st;
	unsigned int thawed;
	s64 held_ms;
	int ret = 0;

	set_error(err, -1, NULL);
	mutex_lock(&sf.lock);
	switch (sf.state) {
	case SNAPFREEZE_STATE_IDLE:
		set_error(err, -1, "nothing is frozen");
		ret = -ENOENT;
		goto out;
	case SNAPFREEZE_STATE_FREEZING:
		set_error(err, -1, "a freeze is in progress");
		ret = -EBUSY;
		goto out;
	default:
		break;
	}
	if (!force && strcmp(exec_id, sf.exec_id)) {
		set_error(err, -1, "execution id does not match the frozen set");
		ret = -ESRCH;
		goto out;
	}

	if (fn) {
		fill_status(&st, sf.targets, sf.nr_targets);
		ret = fn(&st, arg);
		if (ret)
			goto out;
	}

	if (sf.state == SNAPFREEZE_STATE_AUTO_THAWED) {
		pr_info("execution %s: reported its auto-thaw\n", sf.exec_id);
		set_idle();
		goto out;
	}

	ret = thaw_targets(sf.targets, sf.nr_targets, &thawed);
	if (ret) {
		/* Stay FROZEN with what is left: THAW can be repeated. */
		set_error(err, -1, "thawing a filesystem failed");
		goto out;
	}
	hrtimer_try_to_cancel(&sf.timer);
	held_ms = ktime_ms_delta(ktime_get_boottime(), sf.frozen_at);
	pr_info("thawed %u filesystem(s) for execution %s after %lld ms: %s\n",
		thawed, sf.exec_id, held_ms,
		paths_string(sf.targets, sf.nr_targets));
	sf.thaws++;
	sf_netlink_notify(SNAPFREEZE_EVENT_THAWED, sf.exec_id,
			  SNAPFREEZE_THAW_REQUEST, 0);
	set_idle();
out:
	mutex_unlock(&sf.lock);
	return ret;
}

int sf_freezeset_init(void)
{
	mutex_init(&sf.lock);
	sf.state = SNAPFREEZE_STATE_IDLE;
	INIT_WORK(&sf.deadline_work, deadline_workfn);
	hrtimer_setup(&sf.timer, deadline_fire, CLOCK_BOOTTIME,
		      HRTIMER_MODE_ABS);
	/*
	 * Unbound and with a rescuer: the deadline must run even when the
	 * machine is short of memory and every other worker is blocked on
	 * a frozen filesystem.  Not freezable: suspend must not stop it.
	 */
	sf.wq = alloc_workqueue("snapfreeze", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!sf.wq)
		return -ENOMEM;
	/*
	 * Flushing syncs filesystems, which flush workqueues of their own
	 * that may have no rescuer: not allowed from a WQ_MEM_RECLAIM one.
	 */
	sf.flush_wq = alloc_workqueue("snapfreeze_flush", WQ_UNBOUND, 0);
	if (!sf.flush_wq)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(sf.wq);
	return -ENOMEM;
}

void sf_freezeset_uninit(void)
{
	unsigned int stuck;

	mutex_lock(&sf.lock);
	force_thaw(SNAPFREEZE_THAW_SHUTDOWN, -ESHUTDOWN, "shutdown");
	stuck = count_frozen(sf.targets, sf.nr_targets);
	if (stuck)
		pr_crit("unloading with %u filesystem(s) of execution %s still frozen\n",
			stuck, sf.exec_id);
	/* Idle: neither the timer nor the work can re-arm anything now. */
	set_idle();
	mutex_unlock(&sf.lock);
	hrtimer_cancel(&sf.timer);
	cancel_work_sync(&sf.deadline_work);
	destroy_workqueue(sf.flush_wq);
	destroy_workqueue(sf.wq);
}
