/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One filesystem of a freeze set: finding it from a request path, and
 * flushing, freezing and thawing it.  Nothing here knows about the set's
 * state machine or its lock (freezeset.c).
 */
#ifndef _SNAPFREEZE_TARGET_H
#define _SNAPFREEZE_TARGET_H

#include <linux/types.h>
#include <linux/workqueue.h>
#include <uapi/linux/snapfreeze.h>

struct super_block;

struct sf_target {
	/*
	 * An active reference, NULL once released.  Set before the set is
	 * live; cleared under the set's lock only when no work of the set
	 * is left (an auto-thawed set's release), so works read it without
	 * a lock.
	 */
	struct super_block *sb;
	char *path;		/* the first request path naming this sb */
	unsigned int req_index;	/* that path's position in the request */
	unsigned int level;	/* freeze order group, lowest first */
	dev_t dev;
	char fstype[32];
	char sb_id[32];
	/*
	 * Where it stands, and what runs for it; the set's lock protects
	 * these once the set is live (freezeset.c).
	 */
	enum snapfreeze_target_state state;
	bool busy;		/* a flush, freeze or thaw work is queued or running */
	bool thawing;		/* that work is a thaw */
	bool tried;		/* its thaw was tried in this round of an undo */
	/*
	 * Written by the target's own work item (freezeset.c), read by
	 * whoever waited for that work to finish.
	 */
	int err;
	u64 flush_ns;		/* every flush pass together */
	u64 freeze_ns;		/* its freeze call */
	u64 frozen_at_ns;	/* from the set's first freeze call */
	struct work_struct work;	/* its flush or freeze */
	struct work_struct thaw_work;	/* its thaw */
};

/* True while we hold a freeze of @t. */
static inline bool sf_target_held(const struct sf_target *t)
{
	return t->state == SNAPFREEZE_TARGET_STATE_FROZEN ||
	       t->state == SNAPFREEZE_TARGET_STATE_THAW_FAILED;
}

/*
 * Fill @t for request path @path: an active reference on the filesystem it
 * names and what reports need.  Returns 0, or a negative errno with *@msg
 * set to a short static reason.
 */
int sf_target_resolve(struct sf_target *t, const char *path,
		      const char **msg);

/* Is @t's filesystem frozen by anybody now (a racy snapshot)? */
bool sf_target_frozen_now(const struct sf_target *t);

/* Does anybody but us hold a freeze of @t, which we hold frozen? */
bool sf_target_other_holders(const struct sf_target *t);

/* Flush a target, timing it: sets ->err. */
void sf_target_flush(struct sf_target *t);

/* Freeze a target, timing the call: 0 or the freeze's error. */
int sf_target_freeze(struct sf_target *t);

/*
 * Thaw a target we hold frozen: 0 once our hold is gone.  Only from a
 * kernel thread (freezeset.c's thaw work), never a task that can be
 * killed, and with no lock held: see target.c.
 */
int sf_target_thaw(struct sf_target *t);

/*
 * A copy of @src for a reply, into @dst whose path the caller set: every
 * report field, no superblock reference and no work.
 */
void sf_target_copy(struct sf_target *dst, const struct sf_target *src);

/* Drop every target's superblock reference, then free the paths. */
void sf_targets_put(struct sf_target *tg, unsigned int nr);
void sf_targets_free(struct sf_target *tg, unsigned int nr);

/* Sort by level, then request order: the order of freezing. */
void sf_targets_sort(struct sf_target *tg, unsigned int nr);

#endif /* _SNAPFREEZE_TARGET_H */
