/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The freeze set: the one group of filesystems snapfreeze holds frozen, its
 * state machine, auto-thaw deadline and counters.  Callers (netlink, sysfs,
 * main) see only this interface; the set reports its transitions through
 * events.h and knows nothing of netlink or sysfs.
 */
#ifndef _SNAPFREEZE_FREEZESET_H
#define _SNAPFREEZE_FREEZESET_H

#include <linux/types.h>
#include <uapi/linux/snapfreeze.h>

#include "target.h"

#define SF_LAST_ERROR_LEN 160

/* A copy of the set's state, taken under its lock. */
struct sf_status {
	enum snapfreeze_state state;
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];	/* "" when idle */
	u32 timeout_ms;
	u32 remaining_ms;
	u32 held_by_other;	/* targets another holder kept frozen */
	u64 frozen_since_ns;	/* CLOCK_REALTIME, 0 unless frozen */
	u64 thawed_at_ns;	/* CLOCK_REALTIME, 0 unless auto-thawed */
	enum snapfreeze_thaw_reason thaw_reason;
	u64 flush_ns;		/* the last freeze's flush phase */
	u64 freeze_ns;		/* its freeze window */
	u64 skew_ns;		/* first target frozen to last */
	u64 freezes;
	u64 thaws;
	u64 auto_thaws;
	u64 failures;
	char last_error[SF_LAST_ERROR_LEN];	/* "" when none */
};

/*
 * Look at the live set.  @fn runs with the set locked: it must not
 * allocate or wait for anything (the deadline and THAW need that lock while
 * filesystems are frozen), so it fills a buffer sized beforehand.
 */
typedef int (*sf_view_fn)(const struct sf_status *st,
			   const struct sf_target *tg, unsigned int nr,
			   void *arg);
int sf_view(sf_view_fn fn, void *arg);

struct sf_freeze_req {
	unsigned int nr_paths;
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	unsigned int levels[SNAPFREEZE_MAX_TARGETS];
	const char *exec_id;
	u32 timeout_ms;
	u32 budget_ms;		/* frozen within it, or fail; 0: no budget */
	bool dry_run;
};

/*
 * What a FREEZE or THAW did, for its reply, owned by the caller until
 * sf_outcome_release().  @targets is a dry run's plan, a copy of the set
 * as a FREEZE froze it (NULL if there was no memory for one), or the set
 * a THAW thawed.
 */
struct sf_outcome {
	struct sf_status st;	/* THAW: st.state is the state it found */
	struct sf_target *targets;
	unsigned int nr;
	int target;		/* on error: request index at fault, or -1 */
	const char *msg;	/* on error: why, static text */
};

int sf_freeze(const struct sf_freeze_req *req, struct sf_outcome *out);
int sf_thaw(const char *exec_id, bool force, struct sf_outcome *out);
/* Drops the outcome's superblock references: call it with no lock held. */
void sf_outcome_release(struct sf_outcome *out);

/*
 * Execution ids are "None" or UUIDs (netlink.c checks the form); UUIDs
 * compare without regard to case, so a post-script given the id in
 * another case than the pre-script's still matches.
 */
bool sf_exec_id_equal(const char *a, const char *b);

/* Thaw everything now ("thaw" written to the control file). */
void sf_emergency_thaw(void);
/* Reboot or unload: no new set, thaw everything, wait up to @wait_ms. */
void sf_shutdown(const char *why, unsigned int wait_ms);

const char *sf_state_name(enum snapfreeze_state state);

int sf_freezeset_init(void);
void sf_freezeset_uninit(void);

#endif /* _SNAPFREEZE_FREEZESET_H */
