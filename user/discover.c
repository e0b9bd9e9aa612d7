// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libmount/libmount.h>

#include "discover.h"
#include "log.h"
#include "options.h"

static bool under_boot(const char *target)
{
	return !strcmp(target, "/boot") || !strncmp(target, "/boot/", 6);
}

/* Why a path of keep_thawed is there, for the messages. */
static const char *keep_reason(const char *path)
{
	if (strstr(path, "/amazon/ssm"))
		return "the SSM agent writes its state, logs and this command's output there while it runs the pre-script";
	if (strstr(path, "/journal"))
		return "the system journal writes there, and every logging process waits for it";
	return "keep_thawed names it";
}

/* The path of @keep on filesystem @dev, or NULL. */
static const char *kept(const struct path_list *keep, dev_t dev)
{
	struct stat st;
	unsigned int i;

	for (i = 0; keep && i < keep->n; i++)
		if (!stat(keep->paths[i], &st) && st.st_dev == dev)
			return keep->paths[i];
	return NULL;
}

static bool known(const struct plan *plan, dev_t dev)
{
	unsigned int i;

	for (i = 0; i < plan->n; i++)
		if (plan->devs[i] == dev)
			return true;
	return false;
}

/*
 * The st_dev of the filesystem holding the file behind loop device @dev,
 * or 0 when @dev is no loop device (or it has no backing file).
 */
static dev_t loop_backing_dev(dev_t dev)
{
	char path[64], file[4096];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file",
		 major(dev), minor(dev));
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(file, sizeof(file), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	file[strcspn(file, "\n")] = '\0';
	if (stat(file, &st))
		return 0;
	return st.st_dev;
}

/* The device of the block device carrying the filesystem with st_dev @fs. */
static dev_t source_dev(struct libmnt_table *tb, dev_t fs)
{
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *m;
	struct stat st;
	dev_t dev = 0;

	if (!it)
		return 0;
	while (mnt_table_next_fs(tb, it, &m) == 0) {
		const char *src = mnt_fs_get_srcpath(m);

		if (mnt_fs_get_devno(m) == fs && src && !stat(src, &st) &&
		    S_ISBLK(st.st_mode)) {
			dev = st.st_rdev;
			break;
		}
	}
	mnt_free_iter(it);
	return dev;
}

/* Where each target's loop device keeps its backing file, if anywhere. */
static void find_backing(struct plan *plan, struct libmnt_table *tb)
{
	unsigned int i;

	for (i = 0; i < plan->n; i++)
		plan->backing[i] = plan->devs[i] ?
			loop_backing_dev(source_dev(tb, plan->devs[i])) : 0;
}

/* The target holding target @i's backing file, or -1. */
static int host_of(const struct plan *plan, unsigned int i)
{
	unsigned int j;

	if (!plan->backing[i])
		return -1;
	for (j = 0; j < plan->n; j++)
		if (j != i && plan->devs[j] == plan->backing[i])
			return j;
	return -1;
}

static void plan_move(struct plan *plan, unsigned int from, unsigned int to)
{
	const char *path = plan->paths[from];
	dev_t dev = plan->devs[from], backing = plan->backing[from];
	unsigned int k = from - to;

	memmove(&plan->paths[to + 1], &plan->paths[to], k * sizeof(plan->paths[0]));
	memmove(&plan->devs[to + 1], &plan->devs[to], k * sizeof(plan->devs[0]));
	memmove(&plan->backing[to + 1], &plan->backing[to],
		k * sizeof(plan->backing[0]));
	plan->paths[to] = path;
	plan->devs[to] = dev;
	plan->backing[to] = backing;
}

/*
 * Levels: a host is one level above the highest target living on it (every
 * path to the host: the kernel freezes a filesystem named twice once, at
 * the lower of its levels).  A chain is at most n long, so n passes settle
 * it and no level passes n - 1; a cycle (which loop devices refuse to
 * build) stops there.
 */
static void plan_levels(struct plan *plan)
{
	unsigned int pass, i, j, up;
	bool changed = true;

	for (i = 0; i < plan->n; i++)
		plan->levels[i] = 0;
	for (pass = 0; changed && pass < plan->n; pass++) {
		changed = false;
		for (i = 0; i < plan->n; i++) {
			up = plan->levels[i] + 1;
			if (!plan->backing[i] || up >= plan->n)
				continue;
			for (j = 0; j < plan->n; j++) {
				if (j == i || plan->devs[j] != plan->backing[i] ||
				    plan->levels[j] >= up)
					continue;
				plan->levels[j] = up;
				changed = true;
			}
		}
	}
}

void plan_stack(struct plan *plan)
{
	unsigned int pass, i;
	bool moved = true;
	int h;

	/* Each filesystem in front of its host, the rest as given. */
	for (pass = 0; moved && pass < plan->n; pass++) {
		moved = false;
		for (i = 0; i < plan->n; i++) {
			h = host_of(plan, i);
			if (h >= 0 && (unsigned int)h < i) {
				plan_move(plan, i, h);
				moved = true;
			}
		}
	}
	plan_levels(plan);
}

static struct libmnt_table *load_mounts(void)
{
	struct libmnt_table *tb = mnt_new_table();

	if (tb && mnt_table_parse_mtab(tb, NULL)) {
		mnt_unref_table(tb);
		tb = NULL;
	}
	if (!tb)
		log_error("cannot read the mount table");
	return tb;
}

int plan_discover(struct plan *plan, bool include_root,
		  const struct path_list *keep)
{
	struct libmnt_table *tb;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;
	bool too_many = false;
	struct stat st;

	plan->n = 0;
	tb = load_mounts();
	if (!tb)
		return -EIO;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it) {
		mnt_unref_table(tb);
		return -ENOMEM;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *src = mnt_fs_get_srcpath(fs);
		const char *target = mnt_fs_get_target(fs);
		dev_t dev = mnt_fs_get_devno(fs);

		if (!target || mnt_fs_is_pseudofs(fs) || mnt_fs_is_netfs(fs))
			continue;
		if (!src || stat(src, &st) || !S_ISBLK(st.st_mode))
			continue;
		if (mnt_fs_match_options(fs, "ro"))
			continue;	/* read-only: nothing to flush */
		if (!include_root && (!strcmp(target, "/") || under_boot(target))) {
			log_info("skipping %s (%s): / and /boot need --include-root",
				target, src);
			continue;
		}
		if (known(plan, dev))
			continue;	/* a bind mount or a second mount */
		if (kept(keep, dev)) {
			log_info("skipping %s (%s): it holds %s: %s (keep_thawed; --target freezes it anyway)",
				 target, src, kept(keep, dev),
				 keep_reason(kept(keep, dev)));
			continue;
		}
		if (plan->n == SNAPFREEZE_MAX_TARGETS) {
			log_error("more than %u filesystems: name them with --target",
				 SNAPFREEZE_MAX_TARGETS);
			too_many = true;
			break;
		}
		plan->paths[plan->n] = strdup(target);
		plan->devs[plan->n++] = dev;
	}
	mnt_free_iter(it);
	find_backing(plan, tb);
	plan_stack(plan);
	mnt_unref_table(tb);
	return too_many ? -E2BIG : 0;
}

/*
 * The mount point of the filesystem on block device @rdev, preferring a
 * read-write mount, or NULL.  Some kernels cannot map a device to its
 * filesystem, so the helper always sends a path.
 */
static const char *bdev_mount(struct libmnt_table *tb, dev_t rdev, dev_t *fs)
{
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	const char *found = NULL;
	struct libmnt_fs *m;
	struct stat st;

	if (!it)
		return NULL;
	while (mnt_table_next_fs(tb, it, &m) == 0) {
		const char *src = mnt_fs_get_srcpath(m);

		if (!src || stat(src, &st) || !S_ISBLK(st.st_mode) ||
		    st.st_rdev != rdev || !mnt_fs_get_target(m))
			continue;
		if (!found || !mnt_fs_match_options(m, "ro")) {
			found = mnt_fs_get_target(m);
			*fs = mnt_fs_get_devno(m);
		}
		if (!mnt_fs_match_options(m, "ro"))
			break;
	}
	mnt_free_iter(it);
	return found ? strdup(found) : NULL;
}

int plan_targets(struct plan *plan, const char *const *paths,
		 unsigned int n, const struct path_list *keep)
{
	struct libmnt_table *tb;
	const char *mnt;
	struct stat st;
	unsigned int i;

	tb = load_mounts();
	if (!tb)
		return -EIO;
	plan->n = 0;
	for (i = 0; i < n; i++) {
		plan->paths[plan->n] = paths[i];
		plan->devs[plan->n] = 0;
		/* The kernel says what is wrong with a target; not us. */
		if (!stat(paths[i], &st) && !S_ISBLK(st.st_mode)) {
			plan->devs[plan->n] = st.st_dev;
		} else if (!stat(paths[i], &st)) {
			mnt = bdev_mount(tb, st.st_rdev, &plan->devs[plan->n]);
			if (mnt) {
				log_info("%s is mounted at %s", paths[i], mnt);
				plan->paths[plan->n] = mnt;
			}
		}
		if (plan->devs[plan->n] && kept(keep, plan->devs[plan->n]))
			log_info("warning: %s holds %s: %s; frozen, it may block the command that froze it until the auto-thaw (the default plan leaves it out)",
				 plan->paths[plan->n],
				 kept(keep, plan->devs[plan->n]),
				 keep_reason(kept(keep, plan->devs[plan->n])));
		plan->n++;
	}
	find_backing(plan, tb);
	plan_stack(plan);
	mnt_unref_table(tb);
	return 0;
}

void plan_remove(struct plan *plan, unsigned int i)
{
	plan->n--;
	memmove(&plan->paths[i], &plan->paths[i + 1],
		(plan->n - i) * sizeof(plan->paths[0]));
	memmove(&plan->devs[i], &plan->devs[i + 1],
		(plan->n - i) * sizeof(plan->devs[0]));
	memmove(&plan->backing[i], &plan->backing[i + 1],
		(plan->n - i) * sizeof(plan->backing[0]));
	plan_levels(plan);
}

/* fanotify's permission events (linux/fanotify.h). */
#define SF_FAN_PERM_EVENTS	(0x00010000 | 0x00020000 | 0x00040000 | \
				 0x00100000)

/* Whether fdinfo file @path is a fanotify group with a permission mark. */
static bool fdinfo_perm(const char *path)
{
	char line[512];
	unsigned long mask;
	bool perm = false;
	const char *m;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return false;
	while (!perm && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "fanotify ", 9) || !(m = strstr(line, " mask:")))
			continue;
		mask = strtoul(m + 6, NULL, 16);
		perm = mask & SF_FAN_PERM_EVENTS;
	}
	fclose(f);
	return perm;
}

/* Whether process @pid holds a fanotify group with a permission mark. */
static bool pid_listens(const char *pid)
{
	char dir[300], path[PATH_MAX], link[64];
	struct dirent *d;
	bool found = false;
	ssize_t n;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	fds = opendir(dir);
	if (!fds)
		return false;
	while (!found && (d = readdir(fds))) {
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[fanotify]"))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, d->d_name);
		found = fdinfo_perm(path);
	}
	closedir(fds);
	return found;
}

unsigned int warn_permission_listeners(void)
{
	char path[PATH_MAX], comm[64];
	unsigned int found = 0;
	struct dirent *d;
	DIR *proc;
	FILE *f;

	proc = opendir("/proc");
	if (!proc)
		return 0;
	while ((d = readdir(proc))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
		    !pid_listens(d->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		comm[0] = '\0';
		f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		comm[strcspn(comm, "\n")] = '\0';
		log_info("warning: %s (pid %s) answers fanotify permission events (fapolicyd, an antivirus): every open() it watches waits for its answer, and if it blocks on a frozen filesystem, so does the whole machine, this command and the SSM agent included, until the kernel's auto-thaw deadline (--timeout) thaws the set; keep its files out of the set",
			 comm, d->d_name);
		found++;
	}
	closedir(proc);
	return found;
}
