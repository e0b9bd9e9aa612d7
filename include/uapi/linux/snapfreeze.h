/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * snapfreeze: freeze a set of filesystems all-or-nothing, with an in-kernel
 * auto-thaw deadline, over generic netlink.
 *
 * Family SNAPFREEZE_GENL_NAME, version SNAPFREEZE_GENL_VERSION, initial
 * network namespace only.  All attributes are validated strictly: unknown
 * attributes, wrong types and wrong lengths are rejected.
 *
 * SNAPFREEZE_CMD_FREEZE (needs CAP_SYS_ADMIN in the initial user namespace)
 *   request:
 *     SNAPFREEZE_A_TARGET          nest, repeated 1..SNAPFREEZE_MAX_TARGETS
 *       SNAPFREEZE_TARGET_A_PATH   string: a mount point, any path inside a
 *                                  mounted filesystem, or a block device node
 *                                  carrying a mounted filesystem; absolute
 *       SNAPFREEZE_TARGET_A_LEVEL  u32, optional: freeze order group, see
 *                                  below
 *     SNAPFREEZE_A_EXEC_ID         string, required: "None" or a UUID (its
 *                                  hex digits in either case)
 *     SNAPFREEZE_A_TIMEOUT_MS      u32, optional: auto-thaw deadline, counted
 *                                  from the moment the request is accepted;
 *                                  default and bounds are module parameters
 *                                  (default_timeout_ms, min_timeout_ms,
 *                                  max_timeout_ms; 60000, 100, 3600000)
 *     SNAPFREEZE_A_FLAGS           u32, optional: SNAPFREEZE_F_DRY_RUN
 *     SNAPFREEZE_A_BUDGET_MS       u32, optional: how long flushing and
 *                                  freezing may take; the set not frozen by
 *                                  then, the FREEZE fails with ETIME and
 *                                  nothing stays frozen (a scheduler's script
 *                                  timeout, minus what ran before)
 *   reply: the same attributes as a GET reply, describing the set as the
 *   FREEZE left it: frozen, the moment it was declared so (not whatever a
 *   THAW or the deadline made of it by the time the reply is read); best
 *   effort (the set is frozen when the ack says so, whether or not a reply
 *   could be built).  With SNAPFREEZE_F_DRY_RUN nothing is frozen and the
 *   reply carries the resolved targets (deduplicated) and the state as it
 *   is.
 *
 *   Targets are resolved and checked first, then flushed in parallel, then
 *   frozen.  A filesystem that lives on another target (through a loop
 *   device, for instance) must be frozen before that target.  Without any
 *   SNAPFREEZE_TARGET_A_LEVEL, targets are frozen one after another in
 *   request order.  With levels, all targets of the lowest level are frozen
 *   at once, then those of the next level, and so on (a target without a
 *   level is at level 0); give a filesystem a lower level than the target
 *   it lives on.  Paths that resolve to the same filesystem are frozen
 *   once.  Thaws go the other way: the highest level first, the targets of
 *   one level at once (without levels, one after another, last first).  If
 *   any step fails for any target, every filesystem already frozen is
 *   thawed again that way before the reply; the error points at the
 *   target's SNAPFREEZE_A_TARGET attribute (extack offset) and says why.
 *
 *   A FREEZE returns at the latest about a second after its budget or its
 *   deadline, an emergency thaw or a reboot, or when its caller is killed,
 *   even while a flush or a freeze is stuck in a filesystem (a dead device,
 *   a host frozen elsewhere, a writer holding the filesystem's write
 *   access while it faults on memory nobody serves): it fails (ETIME,
 *   ETIMEDOUT, ECANCELED, ESHUTDOWN, EINTR) pointing at the stuck target.
 *   Everything frozen is thawed, the highest level first, once no level
 *   above it is still being thawed; a flush or freeze still stuck at a
 *   higher level holds the lower levels back half a second only (it may
 *   be what they live on, or, levels given in the wrong order, live on
 *   them).  A thaw that fails leaves its target frozen (THAW_FAILED); it is
 *   retried every second until it succeeds, and the error's message then
 *   ends "a filesystem is still frozen: its thaw failed and is retried".
 *   The set shows FREEZING until every work has ended and everything is
 *   thawed; meanwhile a FREEZE and a THAW get EBUSY, and the module cannot
 *   be unloaded (nor while any FREEZE or THAW is under way).
 *
 * SNAPFREEZE_CMD_THAW (needs CAP_SYS_ADMIN in the initial user namespace)
 *   request:
 *     SNAPFREEZE_A_EXEC_ID         string: the set's execution id, required
 *                                  unless SNAPFREEZE_F_FORCE is set; "None"
 *                                  matches "None", a UUID the same UUID in
 *                                  any case (the hex digits are compared
 *                                  without regard to case)
 *     SNAPFREEZE_A_FLAGS           u32, optional: SNAPFREEZE_F_FORCE
 *   The set is thawed first; the reply is sent after, best effort (the
 *   ack says the thaw happened even when no reply could be built).  A THAW
 *   waits for its thaw, which may wait for a filesystem below (a loop
 *   device's backing filesystem held frozen by someone else) for as long
 *   as that lasts; its caller can be killed meanwhile, and the thaw goes
 *   on.  A THAW that comes while another waits joins it once that one is
 *   gone; one that comes while the deadline or an emergency thaw thaws
 *   the set reports their auto-thaw.
 *   reply: the attributes of a GET reply, plus
 *     SNAPFREEZE_A_FOUND_STATE     u32, the state the request found:
 *                                  SNAPFREEZE_STATE_FROZEN (this request
 *                                  thawed the set) or
 *                                  SNAPFREEZE_STATE_AUTO_THAWED (it had
 *                                  been thawed already, see
 *                                  SNAPFREEZE_A_THAWED_AT and
 *                                  SNAPFREEZE_A_THAW_REASON)
 *   SNAPFREEZE_A_STATE says the same, as in ABI version 1 (kept for the
 *   clients of that version; new clients read SNAPFREEZE_A_FOUND_STATE).
 *   What is true after the thaw is in each target's
 *   SNAPFREEZE_TARGET_A_STATE (THAWED or HELD_BY_OTHER) and in
 *   SNAPFREEZE_A_HELD_BY_OTHER.  After a successful THAW the set is
 *   SNAPFREEZE_STATE_IDLE.
 *
 *   A target left frozen by another holder (HELD_BY_OTHER) is not an error
 *   of the request: the set's own hold is gone, and only that other holder
 *   (a root user's `fsfreeze -f`, on kernels 6.6+ where freezes nest) can
 *   thaw it.  Callers should report it loudly.
 *
 * SNAPFREEZE_CMD_GET (anyone; some attributes only for CAP_SYS_ADMIN)
 *   request: no attributes
 *   reply ([priv]: only when the sender has CAP_SYS_ADMIN in the initial
 *   user namespace; others get the state, timings and counters):
 *     SNAPFREEZE_A_STATE           u32, enum snapfreeze_state
 *     SNAPFREEZE_A_EXEC_ID         string (absent when idle) [priv]
 *     SNAPFREEZE_A_TARGET          nest, repeated (absent when idle) [priv]
 *       SNAPFREEZE_TARGET_A_PATH   string, as given in FREEZE
 *       SNAPFREEZE_TARGET_A_FSTYPE string, e.g. "ext4"
 *       SNAPFREEZE_TARGET_A_SB_ID  string, the superblock id, e.g. "vdb"
 *       SNAPFREEZE_TARGET_A_MAJOR  u32, device major (st_dev)
 *       SNAPFREEZE_TARGET_A_MINOR  u32, device minor (st_dev)
 *       SNAPFREEZE_TARGET_A_STATE  u32, enum snapfreeze_target_state
 *       SNAPFREEZE_TARGET_A_FLUSH_NS      u64, its flush's duration
 *       SNAPFREEZE_TARGET_A_FREEZE_NS     u64, its freeze call's duration
 *       SNAPFREEZE_TARGET_A_FROZEN_AT_NS  u64, when it became frozen, from
 *                                  the start of the set's first freeze call
 *     SNAPFREEZE_A_TIMEOUT_MS      u32, the set's auto-thaw timeout
 *     SNAPFREEZE_A_FROZEN_SINCE    u64, CLOCK_REALTIME ns (frozen only)
 *     SNAPFREEZE_A_REMAINING_MS    u32, time left before auto-thaw
 *     SNAPFREEZE_A_THAWED_AT       u64, CLOCK_REALTIME ns (auto-thawed only)
 *     SNAPFREEZE_A_THAW_REASON     u32, enum snapfreeze_thaw_reason
 *     SNAPFREEZE_A_HELD_BY_OTHER   u32, targets left frozen by another
 *                                  holder when the set was thawed
 *     SNAPFREEZE_A_FLUSH_NS        u64, duration of the last parallel flush
 *     SNAPFREEZE_A_FREEZE_NS       u64, freeze window of the last freeze:
 *                                  from the first freeze call to the last
 *                                  completion
 *     SNAPFREEZE_A_SKEW_NS         u64, skew of the last freeze: from the
 *                                  first target frozen to the last
 *     SNAPFREEZE_A_FREEZES, _THAWS, _AUTO_THAWS, _FAILURES   u64 counters
 *     SNAPFREEZE_A_LAST_ERROR      string, the last failure in words [priv]
 *
 * Multicast group SNAPFREEZE_MCGRP_EVENTS (CAP_SYS_ADMIN to join where the
 * kernel supports restricting it) carries SNAPFREEZE_CMD_EVENT messages:
 *     SNAPFREEZE_A_EVENT           u32, enum snapfreeze_event
 *     SNAPFREEZE_A_EXEC_ID         string, only where joining the group
 *                                  needs CAP_SYS_ADMIN (kernels with
 *                                  GENL_MCAST_CAP_SYS_ADMIN: 6.8, and
 *                                  stable kernels it was backported to);
 *                                  elsewhere anyone may listen, and events
 *                                  carry no execution id
 *     SNAPFREEZE_A_THAW_REASON     u32 (NONE unless thawed or auto-thawed)
 *     SNAPFREEZE_A_ERRNO           u32, positive errno (failed events)
 *     SNAPFREEZE_A_HELD_BY_OTHER   u32, targets another holder keeps frozen
 *                                  (thawed and auto-thawed events)
 *
 * Errors (negative errno in the netlink ack, with an extack message):
 *   EPERM      FREEZE or THAW without CAP_SYS_ADMIN
 *   EINVAL     malformed request: missing attribute, an attribute the
 *              command does not take, bad execution id, a flag the command
 *              does not take, a relative target path, ...
 *   EACCES     a block device node on a nodev mount
 *   E2BIG      more than SNAPFREEZE_MAX_TARGETS targets
 *   ERANGE     timeout outside the module's bounds
 *   EBUSY      FREEZE while a set is frozen or being frozen (or still being
 *              rolled back), or a target is frozen by someone else (before
 *              the request, or while it was being flushed and frozen); THAW
 *              while a freeze is in progress or being rolled back
 *   ENOENT     a target does not exist, or is an automount point that
 *              did not mount; THAW while nothing is frozen and no
 *              auto-thaw is left to report
 *   ENODEV     a block device target has no mounted filesystem
 *   EOPNOTSUPP a target's filesystem cannot be frozen
 *   ENOMEM     no memory for the request (nothing was changed)
 *   ESRCH      THAW with an execution id that is not the set's
 *   ETIMEDOUT  the auto-thaw deadline passed while the set was being frozen
 *              (a set is never reported frozen after its deadline)
 *   ETIME      the FREEZE's budget (SNAPFREEZE_A_BUDGET_MS) passed before the
 *              set was frozen
 *   ECANCELED  an emergency thaw interrupted the freeze
 *   EINTR      the caller was killed while the set was being frozen, or
 *              while its THAW waited
 *   ESHUTDOWN  the machine is rebooting, or the module is being unloaded
 *              (which it cannot be while a request is under way); a reboot
 *              interrupted the freeze
 *   anything else: what the filesystem's freeze or thaw returned
 */
#ifndef _UAPI_LINUX_SNAPFREEZE_H
#define _UAPI_LINUX_SNAPFREEZE_H

#define SNAPFREEZE_GENL_NAME		"snapfreeze"
#define SNAPFREEZE_GENL_VERSION		1
#define SNAPFREEZE_MCGRP_EVENTS		"events"

/* Most targets in one FREEZE request. */
#define SNAPFREEZE_MAX_TARGETS		64
/* Longest execution id: a UUID, 8-4-4-4-12 hex digits. */
#define SNAPFREEZE_EXEC_ID_MAX		36
/* The execution id of a run that has none. */
#define SNAPFREEZE_EXEC_ID_NONE		"None"

enum snapfreeze_cmd {
	SNAPFREEZE_CMD_UNSPEC,
	SNAPFREEZE_CMD_FREEZE,
	SNAPFREEZE_CMD_THAW,
	SNAPFREEZE_CMD_GET,
	SNAPFREEZE_CMD_EVENT,		/* multicast only */

	__SNAPFREEZE_CMD_MAX
};

#define SNAPFREEZE_CMD_MAX (__SNAPFREEZE_CMD_MAX - 1)

/*
 * Request flags.  Each command rejects the flags it does not take, so the
 * set may grow; the kernel keeps the mask of valid flags to itself.
 */
enum snapfreeze_flag {
	SNAPFREEZE_F_DRY_RUN = 1U << 0,	/* FREEZE: check everything, freeze nothing */
	SNAPFREEZE_F_FORCE = 1U << 1,	/* THAW: thaw whatever execution id */
};

enum snapfreeze_state {
	SNAPFREEZE_STATE_IDLE,		/* nothing frozen */
	SNAPFREEZE_STATE_FREEZING,	/* a FREEZE request is under way */
	SNAPFREEZE_STATE_FROZEN,	/* the set is frozen */
	SNAPFREEZE_STATE_AUTO_THAWED,	/* thawed without a THAW; not yet reported */

	__SNAPFREEZE_STATE_MAX
};

#define SNAPFREEZE_STATE_MAX (__SNAPFREEZE_STATE_MAX - 1)

enum snapfreeze_thaw_reason {
	SNAPFREEZE_THAW_NONE,
	SNAPFREEZE_THAW_REQUEST,	/* a THAW request */
	SNAPFREEZE_THAW_DEADLINE,	/* the auto-thaw deadline */
	SNAPFREEZE_THAW_EMERGENCY,	/* "thaw" written to the sysfs control file */
	SNAPFREEZE_THAW_SHUTDOWN,	/* module unload, reboot or power-off */

	__SNAPFREEZE_THAW_MAX
};

#define SNAPFREEZE_THAW_MAX (__SNAPFREEZE_THAW_MAX - 1)

enum snapfreeze_event {
	SNAPFREEZE_EVENT_FROZEN = 1,
	SNAPFREEZE_EVENT_THAWED,
	SNAPFREEZE_EVENT_AUTO_THAWED,
	SNAPFREEZE_EVENT_FAILED,

	__SNAPFREEZE_EVENT_MAX
};

#define SNAPFREEZE_EVENT_MAX (__SNAPFREEZE_EVENT_MAX - 1)

/* Where one target of the set stands (SNAPFREEZE_TARGET_A_STATE). */
enum snapfreeze_target_state {
	SNAPFREEZE_TARGET_STATE_RESOLVED,	/* checked, not frozen by us (yet) */
	SNAPFREEZE_TARGET_STATE_FROZEN,		/* we hold a freeze of it */
	SNAPFREEZE_TARGET_STATE_THAWED,		/* our hold is released */
	/*
	 * Our hold is released, but another holder (a root user's
	 * `fsfreeze -f`, on kernels that let freezes nest) keeps the
	 * filesystem frozen: only that holder can thaw it.
	 */
	SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER,
	/* Thawing failed: still frozen by us, retried until it succeeds. */
	SNAPFREEZE_TARGET_STATE_THAW_FAILED,

	__SNAPFREEZE_TARGET_STATE_MAX
};

#define SNAPFREEZE_TARGET_STATE_MAX (__SNAPFREEZE_TARGET_STATE_MAX - 1)

enum snapfreeze_attr {
	SNAPFREEZE_A_UNSPEC,
	SNAPFREEZE_A_PAD,
	SNAPFREEZE_A_TARGET,
	SNAPFREEZE_A_EXEC_ID,
	SNAPFREEZE_A_TIMEOUT_MS,
	SNAPFREEZE_A_FLAGS,
	SNAPFREEZE_A_STATE,
	SNAPFREEZE_A_FROZEN_SINCE,
	SNAPFREEZE_A_REMAINING_MS,
	SNAPFREEZE_A_THAWED_AT,
	SNAPFREEZE_A_THAW_REASON,
	SNAPFREEZE_A_FLUSH_NS,
	SNAPFREEZE_A_FREEZE_NS,
	SNAPFREEZE_A_FREEZES,
	SNAPFREEZE_A_THAWS,
	SNAPFREEZE_A_AUTO_THAWS,
	SNAPFREEZE_A_FAILURES,
	SNAPFREEZE_A_LAST_ERROR,
	SNAPFREEZE_A_EVENT,
	SNAPFREEZE_A_ERRNO,
	SNAPFREEZE_A_HELD_BY_OTHER,
	SNAPFREEZE_A_SKEW_NS,
	SNAPFREEZE_A_BUDGET_MS,
	SNAPFREEZE_A_FOUND_STATE,

	__SNAPFREEZE_A_LAST
};

#define SNAPFREEZE_A_MAX (__SNAPFREEZE_A_LAST - 1)

enum snapfreeze_target_attr {
	SNAPFREEZE_TARGET_A_UNSPEC,
	SNAPFREEZE_TARGET_A_PATH,
	SNAPFREEZE_TARGET_A_FSTYPE,
	SNAPFREEZE_TARGET_A_SB_ID,
	SNAPFREEZE_TARGET_A_MAJOR,
	SNAPFREEZE_TARGET_A_MINOR,
	SNAPFREEZE_TARGET_A_PAD,
	SNAPFREEZE_TARGET_A_STATE,
	SNAPFREEZE_TARGET_A_FLUSH_NS,
	SNAPFREEZE_TARGET_A_FREEZE_NS,
	SNAPFREEZE_TARGET_A_FROZEN_AT_NS,
	SNAPFREEZE_TARGET_A_LEVEL,

	__SNAPFREEZE_TARGET_A_LAST
};

#define SNAPFREEZE_TARGET_A_MAX (__SNAPFREEZE_TARGET_A_LAST - 1)

#endif /* _UAPI_LINUX_SNAPFREEZE_H */
