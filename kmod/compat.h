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
#include <linux/task_work.h>
#include <net/genetlink.h>

/*
 * Freeze and thaw a superblock the way FIFREEZE/FITHAW do: through
 * ->freeze_super when the filesystem has one, else the generic code, with
 * the strongest hold each kernel offers:
 *
 *  - up to 6.5 there is one anonymous freeze: anybody (FITHAW, SysRq-j) may
 *    thaw it, and a second freezer gets -EBUSY;
 *  - 880b9577855e ("fs: distinguish between user initiated freeze and
 *    kernel initiated freeze", 6.6) added holders: we freeze as
 *    FREEZE_HOLDER_KERNEL, which `fsfreeze -u` and SysRq-j cannot thaw.
 *    Without FREEZE_MAY_NEST a second kernel freezer gets -EBUSY, which is
 *    what "frozen by someone else" means to us;
 *  - "fs: add owner of freeze/thaw" (6.16) added owners and FREEZE_EXCL:
 *    we freeze exclusively, owned by this module, so no other kernel code
 *    can drop our hold either.
 */
#if defined(SF_HAVE_FREEZE_OWNER)
#define SF_FREEZE_HOLD "kernel-exclusive"
#define SF_FREEZE_WHO (FREEZE_EXCL | FREEZE_HOLDER_KERNEL)

static inline int __sf_freeze_super(struct super_block *sb)
{
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb, SF_FREEZE_WHO, THIS_MODULE);
	return freeze_super(sb, SF_FREEZE_WHO, THIS_MODULE);
}

static inline int __sf_thaw_super(struct super_block *sb)
{
	if (sb->s_op->thaw_super)
		return sb->s_op->thaw_super(sb, SF_FREEZE_WHO, THIS_MODULE);
	return thaw_super(sb, SF_FREEZE_WHO, THIS_MODULE);
}
#elif defined(SF_HAVE_FREEZE_HOLDER)
#define SF_FREEZE_HOLD "kernel"

static inline int __sf_freeze_super(struct super_block *sb)
{
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb, FREEZE_HOLDER_KERNEL);
	return freeze_super(sb, FREEZE_HOLDER_KERNEL);
}

static inline int __sf_thaw_super(struct super_block *sb)
{
	if (sb->s_op->thaw_super)
		return sb->s_op->thaw_super(sb, FREEZE_HOLDER_KERNEL);
	return thaw_super(sb, FREEZE_HOLDER_KERNEL);
}
#else
#define SF_FREEZE_HOLD "anonymous"

static inline int __sf_freeze_super(struct super_block *sb)
{
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb);
	return freeze_super(sb);
}

static inline int __sf_thaw_super(struct super_block *sb)
{
	if (sb->s_op->thaw_super)
		return sb->s_op->thaw_super(sb);
	return thaw_super(sb);
}
#endif

static inline int sf_freeze_super(struct super_block *sb)
{
	return __sf_freeze_super(sb);
}

/*
 * Returns 0 when our freeze is gone.  -EINVAL says so too: up to 6.5 when
 * someone else (FITHAW, SysRq-j) thawed the filesystem under us; from 6.6
 * when our holder holds nothing, or (6.8+) when the thaw only dropped our
 * count under another holder's.  Any other error: still frozen.
 */
static inline int sf_thaw_super(struct super_block *sb)
{
	int err = __sf_thaw_super(sb);

	return err == -EINVAL ? 0 : err;
}

/* True when anybody holds a freeze of @sb (a racy snapshot, for checks). */
static inline bool sf_super_frozen(struct super_block *sb)
{
	return READ_ONCE(sb->s_writers.frozen) != SB_UNFROZEN;
}

/*
 * Whether anybody but us holds a freeze of @sb, which we hold frozen (a
 * racy snapshot, for checks):
 *
 *  - up to 6.5 there is one anonymous freeze: nobody can hold one while we
 *    do, a second freezer gets -EBUSY;
 *  - 880b9577855e (6.6) keeps a mask of holder kinds, freeze_holders: a
 *    userspace freeze (FIFREEZE) can join our kernel one;
 *  - "fs: handle freezing from multiple devices" (6.8) made that one count
 *    per kind, freeze_kcount and freeze_ucount: ours is one kernel count.
 *    A userspace freeze nests on ours, and from 6.16 another kernel
 *    holder can only nest with FREEZE_MAY_NEST.
 *
 * Debian ships no 6.6 or 6.7 kernel: that branch is not built here.
 */
#if defined(SF_HAVE_FREEZE_COUNTS)
static inline bool sf_super_other_holders(struct super_block *sb)
{
	return READ_ONCE(sb->s_writers.freeze_ucount) > 0 ||
	       READ_ONCE(sb->s_writers.freeze_kcount) > 1;
}
#elif defined(SF_HAVE_FREEZE_HOLDERS_MASK)
static inline bool sf_super_other_holders(struct super_block *sb)
{
	return READ_ONCE(sb->s_writers.freeze_holders) & FREEZE_HOLDER_USERSPACE;
}
#else
static inline bool sf_super_other_holders(struct super_block *sb)
{
	return false;
}
#endif

/*
 * The superblock mounted on block device @dev (whose node is @path), with
 * an active reference, possibly not yet fully set up (the caller checks);
 * NULL when there is none; ERR_PTR(-EOPNOTSUPP) when this kernel gives a
 * module no way to tell.  The block device is looked up in the bdev
 * filesystem, never opened: an open may load a driver, and a driver
 * registering a genetlink family would wait for the genetlink lock that a
 * request holds where it cannot be deferred (netlink.c).
 *
 *  - up to 6.5, mount_bdev()/get_tree_bdev() publish the superblock in
 *    bdev->bd_super; superblocks are freed after an RCU grace period and
 *    bd_super is cleared before the final put, so an RCU read section keeps
 *    the pointer valid long enough to try for an active reference;
 *  - the holder-ops rework (6.6) removed bd_super: a filesystem now claims
 *    its device with itself as holder and fs_holder_ops, stable under
 *    bd_holder_lock;
 *  - newer kernels (7.x) no longer export fs_holder_ops: no lookup.
 *
 * btrfs claims its devices with fs_holder_ops only from 6.17, and never
 * set bd_super.
 */
#if defined(SF_HAVE_BD_SUPER)
static inline struct super_block *__sf_bdev_super(struct block_device *bdev)
{
	struct super_block *sb;

	rcu_read_lock();
	sb = READ_ONCE(bdev->bd_super);
	if (sb && !atomic_inc_not_zero(&sb->s_active))
		sb = NULL;
	rcu_read_unlock();
	return sb;
}
#elif defined(SF_HAVE_FS_HOLDER_OPS)
static inline struct super_block *__sf_bdev_super(struct block_device *bdev)
{
	struct super_block *sb = NULL;

	mutex_lock(&bdev->bd_holder_lock);
	if (bdev->bd_holder_ops == &fs_holder_ops) {
		sb = bdev->bd_holder;
		if (!atomic_inc_not_zero(&sb->s_active))
			sb = NULL;
	}
	mutex_unlock(&bdev->bd_holder_lock);
	return sb;
}
#else
#define SF_COMPAT_NO_BDEV_LOOKUP
#endif

#ifdef SF_COMPAT_NO_BDEV_LOOKUP
#define SF_BDEV_TARGETS 0

static inline struct super_block *sf_bdev_get_super(const char *path,
						    dev_t dev)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#elif defined(SF_HAVE_LOOKUP_BDEV_PTR)
#define SF_BDEV_TARGETS 1

/*
 * Up to 5.10, bdev inodes are hashed by a mix of the device number; the
 * only exported way in is lookup_bdev() on the node's path, which finds
 * or allocates the block_device without opening it (2e5a0797a9ef "block:
 * remove i_bdev" changed both, 5.11).
 */
static inline struct super_block *sf_bdev_get_super(const char *path,
						    dev_t dev)
{
	struct block_device *bdev;
	struct super_block *sb;

	bdev = lookup_bdev(path);
	if (IS_ERR(bdev))
		return NULL;
	sb = bdev->bd_dev == dev ? __sf_bdev_super(bdev) : NULL;
	bdput(bdev);
	return sb;
}
#else
#define SF_BDEV_TARGETS 1

static inline struct super_block *sf_bdev_get_super(const char *path,
						    dev_t dev)
{
	struct super_block *sb;
	struct inode *inode;

	inode = ilookup(blockdev_superblock, dev);
	if (!inode)
		return NULL;
	sb = __sf_bdev_super(I_BDEV(inode));
	iput(inode);
	return sb;
}
#endif

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

/*
 * Running a netlink request as its sender's task work, out of genetlink's
 * cb_lock (netlink.c), needs task_work_add() exported ("task_work: export
 * task_work_add()", 2022; every kernel built here exports it, Debian's
 * 5.10 too).  kmod/Kbuild looks for it in the target kernel's
 * Module.symvers.  Without it requests run in genetlink's callback,
 * holding cb_lock while they wait (docs/kernels.md).
 */
#ifdef SF_HAVE_TASK_WORK_EXPORT
#define SF_CAN_DEFER 1

static inline int sf_task_work_add(struct task_struct *task,
				   struct callback_head *twork)
{
	return task_work_add(task, twork, TWA_RESUME);
}
#else
#define SF_CAN_DEFER 0

static inline int sf_task_work_add(struct task_struct *task,
				   struct callback_head *twork)
{
	return -EOPNOTSUPP;
}
#endif

/*
 * An extack message that is not a string literal, which NL_SET_ERR_MSG()
 * insists on: NL_SET_ERR_MSG_FMT() (6.2) copies it; before
 * it, the macros stored the pointer, as this does with static text.
 */
#ifdef NL_SET_ERR_MSG_FMT
#define sf_set_err_msg(extack, msg) NL_SET_ERR_MSG_FMT(extack, "%s", msg)
#else
static inline void sf_set_err_msg(struct netlink_ext_ack *extack,
				  const char *msg)
{
	extack->_msg = msg;
}
#endif

#endif /* _SNAPFREEZE_COMPAT_H */
