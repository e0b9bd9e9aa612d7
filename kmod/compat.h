/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels snapfreeze builds for, and only
 * those.  Force-included into each source file by kmod/Kbuild, so the other
 * files read like code written for the newest kernel.
 *
 * Each block names the upstream change it follows.  Where a kernel's feature
 * cannot be detected with the preprocessor, kmod/Kbuild probes the target
 * kernel's headers ($(srctree), never the build host) and passes
 * -DSF_HAVE_<feature>.  Stable and distribution kernels backport these APIs,
 * so version numbers below are documentation, not tests.
 */
#ifndef _SNAPFREEZE_COMPAT_H
#define _SNAPFREEZE_COMPAT_H

#include <linux/fs.h>
#include <linux/blkdev.h>
#include <linux/hrtimer.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>

/*
 * Freeze and thaw a superblock the way FIFREEZE/FITHAW do: through
 * ->freeze_super when the filesystem has one, else the generic code.
 *
 * 880b9577855e ("fs: distinguish between user initiated freeze and kernel
 * initiated freeze", 6.6) added a holder argument; kernels with it are not
 * supported yet and fail here rather than misbehave.
 */
#ifdef SF_HAVE_FREEZE_HOLDER
#error "snapfreeze: freeze holders (6.6+) are not handled yet"
#endif

static inline int sf_freeze_super(struct super_block *sb)
{
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb);
	return freeze_super(sb);
}

/*
 * Returns 0 when our freeze is gone, including when someone else (FITHAW,
 * SysRq-j) thawed the filesystem under us: up to 6.5 thaw_super() then
 * answers -EINVAL.  Any other error means the filesystem is still frozen.
 */
static inline int sf_thaw_super(struct super_block *sb)
{
	int err;

	if (sb->s_op->thaw_super)
		err = sb->s_op->thaw_super(sb);
	else
		err = thaw_super(sb);
	return err == -EINVAL ? 0 : err;
}

/* True when anybody holds a freeze of @sb (a racy snapshot, for checks). */
static inline bool sf_super_frozen(struct super_block *sb)
{
	return READ_ONCE(sb->s_writers.frozen) != SB_UNFROZEN;
}

/*
 * The superblock mounted on block device @dev, with an active reference, or
 * NULL.  Up to 6.5 a filesystem mounted through mount_bdev()/get_tree_bdev()
 * publishes itself in bdev->bd_super (removed by the holder-ops rework in
 * 6.6).  The block device is looked up, never opened: an open may load a
 * driver, and a driver registering a genetlink family would wait for the
 * genetlink lock our request holds.  Superblocks are freed after an RCU
 * grace period and bd_super is cleared before the final put, so an RCU
 * read section keeps the pointer valid long enough to try for an active
 * reference.  btrfs never sets bd_super.
 */
static inline struct super_block *sf_bdev_get_super(dev_t dev)
{
	struct super_block *sb;
	struct inode *inode;

	inode = ilookup(blockdev_superblock, dev);
	if (!inode)
		return NULL;
	rcu_read_lock();
	sb = READ_ONCE(I_BDEV(inode)->bd_super);
	if (sb && !atomic_inc_not_zero(&sb->s_active))
		sb = NULL;
	rcu_read_unlock();
	iput(inode);
	/* Published before the filesystem is fully set up. */
	if (sb && !(READ_ONCE(sb->s_flags) & SB_BORN)) {
		deactivate_super(sb);
		sb = NULL;
	}
	return sb;
}

/*
 * hrtimer_setup() replaced hrtimer_init() plus a ->function assignment
 * (908a1d775422, 6.13; hrtimer_init() removed in 6.15).
 */
#ifndef SF_HAVE_HRTIMER_SETUP
static inline void sf_hrtimer_setup(struct hrtimer *timer,
				    enum hrtimer_restart (*fn)(struct hrtimer *),
				    clockid_t clock, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
}

#define hrtimer_setup sf_hrtimer_setup
#endif

/*
 * Restricting who may join a multicast group (GENL_MCAST_CAP_*, 6.8, and
 * backported to stable kernels including Debian's 6.1).  Without it anyone
 * may listen, so events carry nothing secret.
 */
#ifdef GENL_MCAST_CAP_SYS_ADMIN
#define SF_MCGRP_FLAGS GENL_MCAST_CAP_SYS_ADMIN
#else
#define SF_MCGRP_FLAGS 0
#endif

#endif /* _SNAPFREEZE_COMPAT_H */
