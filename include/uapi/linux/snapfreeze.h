/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	docs/netlink/snapfreeze.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_SNAPFREEZE_H
#define _UAPI_LINUX_SNAPFREEZE_H

#define SNAPFREEZE_GENL_NAME	"snapfreeze"
#define SNAPFREEZE_GENL_VERSION	1

#define SNAPFREEZE_MAX_TARGETS	64
#define SNAPFREEZE_EXEC_ID_MAX	36
#define SNAPFREEZE_EXEC_ID_NONE	"None"

/**
 * enum snapfreeze_flag - Request flags. Each command takes only its own
 *   (FREEZE dry-run, THAW force) and rejects the others, so the set may grow;
 *   the kernel keeps the mask of valid flags to itself.
 * @SNAPFREEZE_F_DRY_RUN: FREEZE checks everything a real one would, freezes
 *   nothing.
 * @SNAPFREEZE_F_FORCE: THAW thaws the set whatever its execution id.
 */
enum snapfreeze_flag {
	SNAPFREEZE_F_DRY_RUN = 1,
	SNAPFREEZE_F_FORCE = 2,
};

/**
 * enum snapfreeze_state - Where the set stands.
 * @SNAPFREEZE_STATE_IDLE: Nothing frozen.
 * @SNAPFREEZE_STATE_FREEZING: A FREEZE request is under way (or being rolled
 *   back).
 * @SNAPFREEZE_STATE_FROZEN: The set is frozen.
 * @SNAPFREEZE_STATE_AUTO_THAWED: Thawed without a THAW; not yet reported.
 */
enum snapfreeze_state {
	SNAPFREEZE_STATE_IDLE,
	SNAPFREEZE_STATE_FREEZING,
	SNAPFREEZE_STATE_FROZEN,
	SNAPFREEZE_STATE_AUTO_THAWED,

	/* private: */
	__SNAPFREEZE_STATE_MAX,
	SNAPFREEZE_STATE_MAX = (__SNAPFREEZE_STATE_MAX - 1)
};

/**
 * enum snapfreeze_thaw_reason - Why the set was thawed.
 * @SNAPFREEZE_THAW_NONE: Not thawed.
 * @SNAPFREEZE_THAW_REQUEST: A THAW request.
 * @SNAPFREEZE_THAW_DEADLINE: The auto-thaw deadline.
 * @SNAPFREEZE_THAW_EMERGENCY: "thaw" written to the sysfs control file.
 * @SNAPFREEZE_THAW_SHUTDOWN: Module unload, reboot or power-off.
 */
enum snapfreeze_thaw_reason {
	SNAPFREEZE_THAW_NONE,
	SNAPFREEZE_THAW_REQUEST,
	SNAPFREEZE_THAW_DEADLINE,
	SNAPFREEZE_THAW_EMERGENCY,
	SNAPFREEZE_THAW_SHUTDOWN,

	/* private: */
	__SNAPFREEZE_THAW_MAX,
	SNAPFREEZE_THAW_MAX = (__SNAPFREEZE_THAW_MAX - 1)
};

/**
 * enum snapfreeze_event - The transition an EVENT message reports.
 * @SNAPFREEZE_EVENT_FROZEN: A FREEZE froze the set.
 * @SNAPFREEZE_EVENT_THAWED: A THAW thawed it.
 * @SNAPFREEZE_EVENT_AUTO_THAWED: The deadline, an emergency thaw or a shutdown
 *   thawed it.
 * @SNAPFREEZE_EVENT_FAILED: A FREEZE failed; errno says why.
 */
enum snapfreeze_event {
	SNAPFREEZE_EVENT_FROZEN = 1,
	SNAPFREEZE_EVENT_THAWED,
	SNAPFREEZE_EVENT_AUTO_THAWED,
	SNAPFREEZE_EVENT_FAILED,

	/* private: */
	__SNAPFREEZE_EVENT_MAX,
	SNAPFREEZE_EVENT_MAX = (__SNAPFREEZE_EVENT_MAX - 1)
};

/**
 * enum snapfreeze_target_state - Where one target of the set stands.
 * @SNAPFREEZE_TARGET_STATE_RESOLVED: Checked, not frozen by us (yet).
 * @SNAPFREEZE_TARGET_STATE_FROZEN: We hold a freeze of it.
 * @SNAPFREEZE_TARGET_STATE_THAWED: Our hold is released.
 * @SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER: Our hold is released, but another
 *   holder (a root user's fsfreeze -f, on kernels 6.6+ where freezes nest)
 *   keeps the filesystem frozen: only that holder can thaw it.
 * @SNAPFREEZE_TARGET_STATE_THAW_FAILED: Thawing failed; still frozen by us,
 *   retried until it succeeds.
 */
enum snapfreeze_target_state {
	SNAPFREEZE_TARGET_STATE_RESOLVED,
	SNAPFREEZE_TARGET_STATE_FROZEN,
	SNAPFREEZE_TARGET_STATE_THAWED,
	SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER,
	SNAPFREEZE_TARGET_STATE_THAW_FAILED,

	/* private: */
	__SNAPFREEZE_TARGET_STATE_MAX,
	SNAPFREEZE_TARGET_STATE_MAX = (__SNAPFREEZE_TARGET_STATE_MAX - 1)
};

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

	__SNAPFREEZE_A_LAST,
	SNAPFREEZE_A_MAX = (__SNAPFREEZE_A_LAST - 1)
};

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

	__SNAPFREEZE_TARGET_A_LAST,
	SNAPFREEZE_TARGET_A_MAX = (__SNAPFREEZE_TARGET_A_LAST - 1)
};

enum snapfreeze_cmd {
	SNAPFREEZE_CMD_UNSPEC,
	SNAPFREEZE_CMD_FREEZE,
	SNAPFREEZE_CMD_THAW,
	SNAPFREEZE_CMD_GET,
	SNAPFREEZE_CMD_EVENT,

	__SNAPFREEZE_CMD_MAX,
	SNAPFREEZE_CMD_MAX = (__SNAPFREEZE_CMD_MAX - 1)
};

#define SNAPFREEZE_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_SNAPFREEZE_H */
