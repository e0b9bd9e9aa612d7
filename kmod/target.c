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
 * senders, SIGKILLed at any moment by the very watchdogs we replace.  So
 * every thaw runs in a kernel worker, which signals never reach, with no
 * lock held: a thaw may wait for a filesystem below it (a loop device's
 * backing filesystem) that is still being frozen, or that someone else
 * froze, for as long as that lasts.
 */
int sf_target_thaw(struct sf_target *t)
{
	WARN_ON_ONCE(!(current->flags & PF_KTHREAD));
	if (sf_fault(SF_FAULT_THAW))
		return -EIO;
	return sf_thaw_super(t->sb);
}

void sf_target_copy(struct sf_target *dst, const struct sf_target *src)
{
	char *path = dst->path;

	memset(dst, 0, sizeof(*dst));
	dst->path = path;
	dst->req_index = src->req_index;
	dst->level = src->level;
	dst->dev = src->dev;
	strscpy(dst->fstype, src->fstype, sizeof(dst->fstype));
	strscpy(dst->sb_id, src->sb_id, sizeof(dst->sb_id));
	dst->state = src->state;
	dst->flush_ns = src->flush_ns;
	dst->freeze_ns = src->freeze_ns;
	dst->frozen_at_ns = src->frozen_at_ns;
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
