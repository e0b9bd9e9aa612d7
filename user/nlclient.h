/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only file that speaks netlink: a libnl-genl-3 client of the
 * snapfreeze family.  Replies are validated and parsed into plain structs;
 * unknown attributes are ignored, for forward compatibility.
 */
#ifndef SF_NLCLIENT_H
#define SF_NLCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/snapfreeze.h>

struct sf_nl;

struct sf_nl_target {
	char *path;
	char fstype[32];
	char sb_id[64];
	uint32_t major, minor;
	/* Absent from older modules: has_state, has_timings say. */
	bool has_state, has_timings;
	uint32_t state;			/* enum snapfreeze_target_state */
	uint64_t flush_ns, freeze_ns, frozen_at_ns;
};

struct sf_nl_status {
	uint8_t cmd;
	uint32_t state;
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
	struct sf_nl_target targets[SNAPFREEZE_MAX_TARGETS];
	unsigned int nr_targets;
	uint32_t timeout_ms, remaining_ms, thaw_reason;
	uint64_t frozen_since_ns, thawed_at_ns, flush_ns, freeze_ns;
	uint64_t freezes, thaws, auto_thaws, failures;
	char last_error[256];
	/* Absent from older modules. */
	bool has_held_by_other, has_skew;
	uint32_t held_by_other;		/* left frozen by another holder */
	uint64_t skew_ns;
	/* events */
	uint32_t event, err;
};

/* What the kernel said about a failed request. */
struct sf_nl_error {
	int err;		/* negative errno */
	char msg[256];		/* the extack message, "" if none */
	int target;		/* index of the request's target at fault, or -1 */
};

/*
 * Connect and resolve the family; if it is missing, try to load the module
 * (the kernel's family autoload, then libkmod).  0, or -ENOENT when the
 * family cannot be had, or another negative errno.
 */
int sf_nl_open(struct sf_nl **nlp);
void sf_nl_close(struct sf_nl *nl);

int sf_nl_freeze(struct sf_nl *nl, const char *exec_id, uint32_t timeout_ms,
		 const char *const *paths, unsigned int n, uint32_t flags,
		 struct sf_nl_status *st, struct sf_nl_error *err);
int sf_nl_thaw(struct sf_nl *nl, const char *exec_id, uint32_t flags,
	       struct sf_nl_status *st, struct sf_nl_error *err);
int sf_nl_get(struct sf_nl *nl, struct sf_nl_status *st,
	      struct sf_nl_error *err);
/* Call @fn for each event until it returns non-zero or an error occurs. */
int sf_nl_monitor(struct sf_nl *nl,
		  int (*fn)(const struct sf_nl_status *ev, void *arg),
		  void *arg);

void sf_nl_status_free(struct sf_nl_status *st);
const char *sf_nl_state_name(uint32_t state);
const char *sf_nl_reason_name(uint32_t reason);
const char *sf_nl_event_name(uint32_t event);
const char *sf_nl_target_state_name(uint32_t state);

/* Parse one reply or event into @st (for the unit tests). */
struct nl_msg;
int sf_nl_parse_status(struct nl_msg *msg, struct sf_nl_status *st);

#endif /* SF_NLCLIENT_H */
