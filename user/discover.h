/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which filesystems to freeze, and in which order: the user's targets, or
 * every mounted read-write filesystem on a block device; either way a
 * filesystem living on a loop device backed by a file on another target
 * comes first, so the kernel freezes it before the filesystem holding it.
 */
#ifndef SF_DISCOVER_H
#define SF_DISCOVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <linux/snapfreeze.h>

struct plan {
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	dev_t devs[SNAPFREEZE_MAX_TARGETS];	/* 0 if unknown */
	unsigned int n;
};

/* Every mounted filesystem worth freezing; see snapfreeze(8). */
int plan_discover(struct plan *plan, bool include_root);
/* The user's targets, in a safe order. */
int plan_targets(struct plan *plan, const char *const *paths,
		    unsigned int n);
/* Drop entry @i, keeping the order. */
void plan_remove(struct plan *plan, unsigned int i);

#endif /* SF_DISCOVER_H */
