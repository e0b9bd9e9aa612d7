/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The freeze set: the one group of filesystems snapfreeze holds frozen, its
 * state machine, auto-thaw deadline and counters.  Callers (netlink, sysfs,
 * main) see only this interface; no netlink or sysfs code lives behind it.
 */
#ifndef _SNAPFREEZE_FREEZESET_H
#define _SNAPFREEZE_FREEZESET_H

#include <linux/types.h>
#include <linux/workqueue.h>
#include <uapi/linux/snapfreeze.h>

struct super_block;

/* One filesystem of a set (or of a dry run's plan). */
struct sf_target {
	struct super_block *sb;	/* active reference, NULL once released */
	char *path;		/* the first request path naming this sb */
	unsigned int req_index;	/* that path's position in the request */
	dev_t dev;
	char fstype[32];
	char sb_id[32];
	bool frozen;		/* we hold a freeze of sb */
	int flush_err;
	struct work_struct flush_work;
};

/* A consistent view of the set, valid only inside an sf_status_fn. */
struct sf_status {
	enum snapfreeze_state state;
	const char *exec_id;	/* NULL when idle */
	const struct sf_target *targets;
	unsigned int nr_targets;
	u32 timeout_ms;
	u32 remaining_ms;
	u64 frozen_since_ns;	/* CLOCK_REALTIME, 0 unless frozen */
	u64 thawed_at_ns;	/* CLOCK_REALTIME, 0 unless auto-thawed */
	enum snapfreeze_thaw_reason thaw_reason;
	u64 flush_ns;
	u64 freeze_ns;
	u64 freezes;
	u64 thaws;
	u64 auto_thaws;
	u64 failures;
	const char *last_error;	/* "" when none */
};

/* Called with the set locked; may sleep and allocate. */
typedef int (*sf_status_fn)(const struct sf_status *st, void *arg);

struct sf_freeze_req {
	unsigned int nr_paths;
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	const char *exec_id;
	u32 timeout_ms;
	bool dry_run;
};

/* Why a request failed, for the caller's error report. */
struct sf_error {
	int target;		/* request index of the target at fault, or -1 */
	const char *msg;	/* static text */
};

int sf_freeze(const struct sf_freeze_req *req, sf_status_fn fn, void *arg,
	      struct sf_error *err);
int sf_thaw(const char *exec_id, bool force, sf_status_fn fn, void *arg,
	    struct sf_error *err);
int sf_status_call(sf_status_fn fn, void *arg);
void sf_emergency_thaw(void);
void sf_shutdown(const char *why);

const char *sf_state_name(enum snapfreeze_state state);

int sf_freezeset_init(void);
void sf_freezeset_uninit(void);

#endif /* _SNAPFREEZE_FREEZESET_H */
