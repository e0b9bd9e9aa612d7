/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only file that speaks netlink: a libnl-genl-3 client of the
 * snapfreeze family.  Replies and events are validated and parsed into
 * plain structs; unknown attributes are ignored, for forward
 * compatibility, and so are absent ones an older module does not send
 * (the has_ flags say which were there).
 */
#ifndef SF_NLCLIENT_H
#define SF_NLCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/snapfreeze.h>

struct client;

struct client_target {
	char *path;
	char fstype[32];
	char sb_id[64];
	uint32_t major, minor;
	bool has_state, has_timings;	/* newer modules only */
	uint32_t state;			/* enum snapfreeze_target_state */
	uint64_t flush_ns, freeze_ns, frozen_at_ns;
};

/* A FREEZE, THAW or GET reply. */
struct client_status {
	uint32_t state;			/* enum snapfreeze_state */
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
	struct client_target targets[SNAPFREEZE_MAX_TARGETS];
	unsigned int nr_targets;
	uint32_t timeout_ms, remaining_ms, thaw_reason;
	uint64_t frozen_since_ns, thawed_at_ns, flush_ns, freeze_ns;
	uint64_t freezes, thaws, auto_thaws, failures;
	char last_error[256];
	bool has_held_by_other, has_skew;	/* newer modules only */
	uint32_t held_by_other;		/* targets another holder kept frozen */
	uint64_t skew_ns;
};

/* A message of the events group. */
struct client_event {
	uint32_t event;			/* enum snapfreeze_event */
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
	uint32_t thaw_reason;
	uint32_t err;			/* positive errno, failed events */
	uint32_t held_by_other;
};

/* What the kernel said about a failed request. */
struct client_error {
	int err;		/* negative errno */
	char msg[256];		/* the extack message, "" if none */
	int target;		/* index of the request's target at fault, or -1 */
};

/*
 * Connect and resolve the family; if it is missing, try to load the module
 * (the kernel's family autoload, then modprobe).  0, or -ENOENT when the
 * family cannot be had, or another negative errno.
 */
int client_open(struct client **cp);
void client_close(struct client *c);

/* A FREEZE request. */
struct client_freeze_args {
	const char *exec_id;
	uint32_t timeout_ms;
	const char *const *paths;
	unsigned int n;
	/* Each target's SNAPFREEZE_TARGET_A_LEVEL; NULL: none sent. */
	const unsigned int *levels;
	uint32_t budget_ms;		/* SNAPFREEZE_A_BUDGET_MS; 0: none */
	uint32_t flags;
};

/* Requests: 0 and @st filled in, or a negative errno and @err. */
int client_freeze_set(struct client *c, const struct client_freeze_args *a,
		      struct client_status *st, struct client_error *err);
/* A FREEZE without levels or budget. */
int client_freeze(struct client *c, const char *exec_id, uint32_t timeout_ms,
		  const char *const *paths, unsigned int n, uint32_t flags,
		  struct client_status *st, struct client_error *err);
int client_thaw(struct client *c, const char *exec_id, uint32_t flags,
		struct client_status *st, struct client_error *err);
int client_get(struct client *c, struct client_status *st,
	       struct client_error *err);
void client_status_free(struct client_status *st);

/* Call @fn for each event until it returns non-zero or an error occurs. */
int client_monitor(struct client *c,
		   int (*fn)(const struct client_event *ev, void *arg),
		   void *arg);

/*
 * Whether @err is a module's refusal of an attribute it does not know
 * (a module older than the helper).
 */
bool client_unknown_attr(const struct client_error *err);

/* Parse one reply into @st (what the requests do; for the unit tests). */
struct nl_msg;
int client_parse_status(struct nl_msg *msg, struct client_status *st);

#endif /* SF_NLCLIENT_H */
