/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which filesystems to freeze, and in which order: the user's targets, or
 * every mounted read-write filesystem on a block device.  A filesystem
 * living on a loop device backed by a file on another target must be
 * frozen before the filesystem holding that file (freezing the holder
 * first would leave the upper filesystem's flush stuck behind it): it gets
 * a lower freeze level, and the kernel freezes level by level, all the
 * targets of one level at once.  It also comes first in the request, the
 * order a module without levels freezes in.
 */
#ifndef SF_DISCOVER_H
#define SF_DISCOVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <linux/snapfreeze.h>

struct plan {
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	dev_t devs[SNAPFREEZE_MAX_TARGETS];	/* 0 if unknown */
	/*
	 * The st_dev of the filesystem holding the loop device's backing
	 * file when the target lives on a loop device, else 0.
	 */
	dev_t backing[SNAPFREEZE_MAX_TARGETS];
	/* Freeze level (SNAPFREEZE_TARGET_A_LEVEL), lowest frozen first. */
	unsigned int levels[SNAPFREEZE_MAX_TARGETS];
	unsigned int n;
};

struct path_list;

/*
 * Every mounted filesystem worth freezing; see snapfreeze(8): not / and
 * /boot (unless @include_root), not the filesystems holding a path of
 * @keep (keep_thawed: the SSM agent's files, the journal).
 */
int plan_discover(struct plan *plan, bool include_root,
		  const struct path_list *keep);
/*
 * The user's targets, in a safe order; a warning for each that holds a
 * path of @keep.
 */
int plan_targets(struct plan *plan, const char *const *paths,
		 unsigned int n, const struct path_list *keep);

/*
 * Name every process that answers fanotify permission events (fapolicyd,
 * an antivirus): INFO lines saying what a frozen filesystem means for
 * them.  Returns how many.
 */
unsigned int warn_permission_listeners(void);
/* Drop entry @i, keeping the order; the levels are computed again. */
void plan_remove(struct plan *plan, unsigned int i);

/*
 * From devs[] and backing[] alone (no system call; the unit tests call
 * it): move each loop-backed target in front of the target holding its
 * file, and give every target its level: 0 when no other target lives on
 * it, else one more than the highest level of those that do.  Targets
 * without dependencies are all at level 0, frozen at once.
 */
void plan_stack(struct plan *plan);

#endif /* SF_DISCOVER_H */
