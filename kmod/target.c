// SPDX-License-Identifier: GPL-2.0
/*
 * One filesystem of a freeze set: resolve a request path to its superblock,
 * flush it, freeze it, thaw it.  Freezing and thawing go through the
 * superblock, the way FIFREEZE and FITHAW do (compat.h), never through the
 * block device.
 */
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "faults.h"
#include "target.h"

/* The superblock mounted on the block device node at @path. */
static struct super_block *bdev_node_super(const char *path,
					   struct inode *inode,
					   struct vfsmount *mnt, int *errp,
					   const char **msgp)
{
	struct super_block *sb;

	if (mnt->mnt_flags & MNT_NODEV) {
		*errp = -EACCES;
		*msgp = "device node on a nodev mount";
		return NULL;
	}
	sb = sf_bdev_get_super(path, inode->i_rdev);
	if (IS_ERR(sb)) {
		*errp = PTR_ERR(sb);
		*msgp = "cannot map a block device on this kernel: give a mount point";
		return NULL;
	}
	/* Claimed, or published, before it is fully set up. */
	if (sb && !(READ_ONCE(sb->s_flags) & SB_BORN)) {
		deactivate_super(sb);
		sb = NULL;
	}
	if (!sb) {
		*errp = -ENODEV;
		*msgp = "no mounted filesystem on this block device";
	}
	return sb;
}

/* An active reference on the filesystem @name lives in or names. */
static struct super_block *path_get_super(const char *name, int *errp,
					  const char **msgp)
{
	struct super_block *sb;
	struct inode *inode;
	struct path path;
	int err;

	/* LOOKUP_AUTOMOUNT: a target under an automount point mounts it. */
	err = kern_path(name, LOOKUP_FOLLOW | LOOKUP_AUTOMOUNT, &path);
	if (err) {
		*errp = err;
		*msgp = "target not found";
		return NULL;
	}
	inode = d_backing_inode(path.dentry);
	if (S_ISBLK(inode->i_mode)) {
		sb = bdev_node_super(name, inode, path.mnt, errp, msgp);
	} else if (path.mnt->mnt_sb->s_magic == AUTOFS_SUPER_MAGIC) {
		sb = NULL;
		*errp = -ENOENT;
		*msgp = "automount point that did not mount";
	} else {
		/* The mount holds an active reference, so this cannot be 0. */
		sb = path.mnt->mnt_sb;
		atomic_inc(&sb->s_active);
	}
	path_put(&path);
	return sb;
}

int sf_target_resolve(struct sf_target *t, const char *path, const char **msg)
{
	struct super_block *sb;
	int err = 0;

	sb = path_get_super(path, &err, msg);
	if (!sb)
		return err;
	t->sb = sb;
	t->dev = sb->s_dev;
	t->state = SNAPFREEZE_TARGET_STATE_RESOLVED;
	strscpy(t->fstype, sb->s_type->name, sizeof(t->fstype));
	strscpy(t->sb_id, sb->s_id, sizeof(t->sb_id));
	t->path = kstrdup(path, GFP_KERNEL);
	if (!t->path) {
		*msg = "out of memory";
		return -ENOMEM;
	}
	if (!sb->s_op->freeze_fs && !sb->s_op->freeze_super) {
		*msg = "filesystem does not support freezing";
		return -EOPNOTSUPP;
	}
	if (sf_super_frozen(sb)) {
		*msg = "filesystem is already frozen by someone else";
		return -EBUSY;
	}
	return 0;
}

bool sf_target_frozen_now(const struct sf_target *t)
{
	return sf_super_frozen(t->sb);
}

bool sf_target_other_holders(const struct sf_target *t)
{
	return sf_super_other_holders(t->sb);
}

void sf_target_flush(struct sf_target *t)
{
	struct super_block *sb = t->sb;
	ktime_t start = ktime_get_boottime();

	/* sync_filesystem() wants s_umount, against remounts. */
	down_read(&sb->s_umount);
	t->err = sync_filesystem(sb);
	up_read(&sb->s_umount);
	t->flush_ns += ktime_to_ns(ktime_sub(ktime_get_boottime(), start));
}

int sf_target_freeze(struct sf_target *t)
{
	ktime_t start = ktime_get_boottime();
	int err;

	err = sf_freeze_super(t->sb);
	t->freeze_ns = ktime_to_ns(ktime_sub(ktime_get_boottime(), start));
	return err;
}

/*
 * A thaw must not run in a task that can be killed.  btrfs reads its super
 * block back when it is thawed (5.19 and later), and a read cut short by a
 * fatal signal makes it force the filesystem read-only ("super block on
 * devid 1 got modified unexpectedly", error -4).  Our callers are netlink
 * senders, SIGKILLed at any moment by the very watchdogs we replace, and a
 * killed FREEZE rolls back in its own task.  So the thaw runs in a kernel
 * worker, which signals never reach, and the caller waits for it without
 * being interruptible: a thaw is short, and it must finish.  Targets that
 * thaw together each have a worker: ext4 writes its superblock when
 * thawed and btrfs reads its own back, each waiting for the disk, so on
 * N volumes that is N I/Os at once, not one after another.
 */
static void thaw_workfn(struct work_struct *work)
{
	struct sf_target *t = container_of(work, struct sf_target, thaw_work);

	t->thaw_ret = sf_thaw_super(t->sb);
}

/*
 * A kernel thread (the auto-thaw, an abandoned set's last work item)
 * thaws in place: it cannot be killed, and a worker of a reclaim
 * workqueue must not wait for system_unbound_wq.
 */
void sf_target_thaw_start(struct sf_target *t)
{
	INIT_WORK(&t->thaw_work, thaw_workfn);
	if (sf_fault(SF_FAULT_THAW))
		t->thaw_ret = -EIO;
	else if (current->flags & PF_KTHREAD)
		t->thaw_ret = sf_thaw_super(t->sb);
	else
		queue_work(system_unbound_wq, &t->thaw_work);
}

int sf_target_thaw_wait(struct sf_target *t)
{
	flush_work(&t->thaw_work);
	return t->thaw_ret;
}

void sf_targets_put(struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (tg[i].sb) {
			deactivate_super(tg[i].sb);
			tg[i].sb = NULL;
		}
	}
}

void sf_targets_free(struct sf_target *tg, unsigned int nr)
{
	unsigned int i;

	if (!tg)
		return;
	sf_targets_put(tg, nr);
	for (i = 0; i < nr; i++)
		kfree(tg[i].path);
	kfree(tg);
}

static int cmp_order(const void *a, const void *b)
{
	const struct sf_target *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->req_index < y->req_index ? -1 : x->req_index > y->req_index;
}

void sf_targets_sort(struct sf_target *tg, unsigned int nr)
{
	/* Not yet queued: moving a work_struct before INIT_WORK is fine. */
	sort(tg, nr, sizeof(*tg), cmp_order, NULL);
}
