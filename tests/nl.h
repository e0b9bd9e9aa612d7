/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small libmnl client for the snapfreeze tests.  Unlike the helper's
 * client it can build requests the helper never would (wrong types, missing
 * attributes, raw bytes), and it returns everything the kernel said: the
 * errno, the extack message and the extack bad-attribute offset.
 */
#ifndef SNAPFREEZE_TESTS_NL_H
#define SNAPFREEZE_TESTS_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/snapfreeze.h>

/* The names of the module's numbers, shared with the helper. */
#include "../user/names.h"

/* Big enough for 65 targets or one PATH_MAX+ path, and for its echo. */
#define SF_MSG_SIZE	16384
#define SF_RECV_SIZE	65536

struct nlt {
	struct mnl_socket *sock;
	uint16_t family;
	uint32_t events_group;		/* 0 if the family has none */
	uint32_t portid;
	uint32_t seq;
};

struct nlt_target {
	char path[256];
	char fstype[32];
	char sb_id[64];
	bool has_major, has_minor, has_state, has_timings;
	uint32_t major, minor;
	uint32_t state;			/* enum snapfreeze_target_state */
	uint64_t flush_ns, freeze_ns, frozen_at_ns;
};

/* A GET reply, a FREEZE/THAW reply or an event, as parsed. */
struct nlt_status {
	uint8_t cmd;
	bool malformed;			/* a known attribute had a bad type/length */
	bool has_state, has_exec_id, has_timeout, has_frozen_since;
	bool has_remaining, has_thawed_at, has_thaw_reason, has_flush_ns;
	bool has_freeze_ns, has_counters, has_last_error, has_event, has_errno;
	bool has_skew_ns, has_held_by_other, has_found_state;
	uint32_t state;
	uint32_t found_state;		/* THAW replies: the state found */
	char exec_id[64];
	unsigned int ntargets;
	struct nlt_target targets[SNAPFREEZE_MAX_TARGETS];
	uint32_t timeout_ms;
	uint64_t frozen_since;
	uint32_t remaining_ms;
	uint64_t thawed_at;
	uint32_t thaw_reason;
	uint64_t flush_ns, freeze_ns, skew_ns;
	uint32_t held_by_other;
	uint64_t freezes, thaws, auto_thaws, failures;
	char last_error[256];
	uint32_t event;
	uint32_t err;
};

struct nlt_result {
	int error;			/* positive errno from the ack, 0 if none */
	char msg[256];			/* extack message, "" if none */
	bool has_offset;
	uint32_t offset;		/* extack bad-attribute offset */
	bool has_reply;
	struct nlt_status st;		/* the reply message, if has_reply */
};

/* Open a socket and resolve the family.  NULL with errno set on failure. */
struct nlt *nlt_open(void);
void nlt_close(struct nlt *nl);
/* Join the "events" multicast group: 0 or -errno. */
int nlt_join_events(struct nlt *nl);

/* Start a request for @cmd in @buf (SF_MSG_SIZE bytes). */
struct nlmsghdr *nlt_msg_new(struct nlt *nl, void *buf, uint8_t cmd);
/* Offset of @attr from the start of @nlh: what the extack points at. */
uint32_t nlt_attr_offset(const struct nlmsghdr *nlh, const void *attr);
/* Put one SNAPFREEZE_A_TARGET nest with a PATH; returns the nest's offset. */
uint32_t nlt_put_target(struct nlmsghdr *nlh, const char *path);
/* Put a raw attribute (any type, any bytes); returns its offset. */
uint32_t nlt_put_raw(struct nlmsghdr *nlh, uint16_t type, const void *data,
		    size_t len);

/* Send @nlh (with NLM_F_ACK) and collect reply + ack: 0 or -errno. */
int nlt_request(struct nlt *nl, struct nlmsghdr *nlh,
		  struct nlt_result *res);

/*
 * Well-formed requests.  @id NULL omits the execution id, @timeout_ms 0
 * omits the timeout, @flags 0 omits the flags.  Returns 0 or -errno;
 * @offsets (may be NULL) receives each target nest's offset.
 */
int nlt_freeze(struct nlt *nl, const char *const *paths, unsigned int n,
	      const char *id, uint32_t timeout_ms, uint32_t flags,
	      struct nlt_result *res, uint32_t *offsets);
/* The same, with each target's SNAPFREEZE_TARGET_A_LEVEL (NULL: none). */
int nlt_freeze_levels(struct nlt *nl, const char *const *paths,
		     const uint32_t *levels, unsigned int n, const char *id,
		     uint32_t timeout_ms, uint32_t flags, struct nlt_result *res,
		     uint32_t *offsets);
int nlt_thaw(struct nlt *nl, const char *id, uint32_t flags,
	    struct nlt_result *res);
int nlt_get(struct nlt *nl, struct nlt_result *res);

/* Wait up to @timeout_ms for one multicast event: 0, -ETIMEDOUT or -errno. */
int nlt_recv_event(struct nlt *nl, struct nlt_status *ev, int timeout_ms);


#endif /* SNAPFREEZE_TESTS_NL_H */
