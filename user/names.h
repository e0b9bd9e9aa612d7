/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words userspace prints for the module's numbers (states, thaw
 * reasons, events, target states) and the execution id check: one copy for
 * the helper and the tests.  Header only, no library, so any userspace
 * program can include it without a build change.  A number the module
 * adds later reads "unknown".
 */
#ifndef SNAPFREEZE_NAMES_H
#define SNAPFREEZE_NAMES_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/snapfreeze.h>

/*
 * Indexed by the enums of linux/snapfreeze.h.  (Unused static tables in a
 * header draw no warning.)
 */
static const char *const snapfreeze_state_names[] = {
	[SNAPFREEZE_STATE_IDLE] = "idle",
	[SNAPFREEZE_STATE_FREEZING] = "freezing",
	[SNAPFREEZE_STATE_FROZEN] = "frozen",
	[SNAPFREEZE_STATE_AUTO_THAWED] = "auto-thawed",
};

static const char *const snapfreeze_thaw_reason_names[] = {
	[SNAPFREEZE_THAW_NONE] = "none",
	[SNAPFREEZE_THAW_REQUEST] = "request",
	[SNAPFREEZE_THAW_DEADLINE] = "deadline",
	[SNAPFREEZE_THAW_EMERGENCY] = "emergency",
	[SNAPFREEZE_THAW_SHUTDOWN] = "shutdown",
};

static const char *const snapfreeze_event_names[] = {
	[SNAPFREEZE_EVENT_FROZEN] = "frozen",
	[SNAPFREEZE_EVENT_THAWED] = "thawed",
	[SNAPFREEZE_EVENT_AUTO_THAWED] = "auto-thawed",
	[SNAPFREEZE_EVENT_FAILED] = "failed",
};

static const char *const snapfreeze_target_state_names[] = {
	[SNAPFREEZE_TARGET_STATE_RESOLVED] = "resolved",
	[SNAPFREEZE_TARGET_STATE_FROZEN] = "frozen",
	[SNAPFREEZE_TARGET_STATE_THAWED] = "thawed",
	[SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER] = "held-by-other",
	[SNAPFREEZE_TARGET_STATE_THAW_FAILED] = "thaw-failed",
};

#define NAME_OF(table, i) \
	((i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] : "unknown")

/* enum snapfreeze_state, as /sys/kernel/snapfreeze/state shows it. */
static inline const char *state_name(uint32_t state)
{
	return NAME_OF(snapfreeze_state_names, state);
}

static inline const char *thaw_reason_name(uint32_t reason)
{
	return NAME_OF(snapfreeze_thaw_reason_names, reason);
}

static inline const char *event_name(uint32_t event)
{
	return NAME_OF(snapfreeze_event_names, event);
}

static inline const char *target_state_name(uint32_t state)
{
	return NAME_OF(snapfreeze_target_state_names, state);
}

/* "None" or a UUID: 8-4-4-4-12 hex digits, either case. */
static inline bool exec_id_valid(const char *id)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (!strcmp(id, SNAPFREEZE_EXEC_ID_NONE))
		return true;
	if (strlen(id) != sizeof(form) - 1)
		return false;
	for (i = 0; i < sizeof(form) - 1; i++) {
		if (form[i] == '-' ? id[i] != '-' :
				     !isxdigit((unsigned char)id[i]))
			return false;
	}
	return true;
}

#endif /* SNAPFREEZE_NAMES_H */
