// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	docs/netlink/snapfreeze.yaml */
/* YNL-GEN kernel source */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/snapfreeze.h>

/* Common nested types */
const struct nla_policy snapfreeze_target_nl_policy[SNAPFREEZE_TARGET_A_LEVEL + 1] = {
	[SNAPFREEZE_TARGET_A_PATH] = { .type = NLA_NUL_STRING, .len = 4095, },
	[SNAPFREEZE_TARGET_A_FSTYPE] = { .type = NLA_NUL_STRING, },
	[SNAPFREEZE_TARGET_A_SB_ID] = { .type = NLA_NUL_STRING, },
	[SNAPFREEZE_TARGET_A_MAJOR] = { .type = NLA_U32, },
	[SNAPFREEZE_TARGET_A_MINOR] = { .type = NLA_U32, },
	[SNAPFREEZE_TARGET_A_STATE] = NLA_POLICY_MAX(NLA_U32, 4),
	[SNAPFREEZE_TARGET_A_FLUSH_NS] = { .type = NLA_U64, },
	[SNAPFREEZE_TARGET_A_FREEZE_NS] = { .type = NLA_U64, },
	[SNAPFREEZE_TARGET_A_FROZEN_AT_NS] = { .type = NLA_U64, },
	[SNAPFREEZE_TARGET_A_LEVEL] = { .type = NLA_U32, },
};

/* SNAPFREEZE_CMD_FREEZE - do */
static const struct nla_policy snapfreeze_freeze_nl_policy[SNAPFREEZE_A_BUDGET_MS + 1] = {
	[SNAPFREEZE_A_TARGET] = NLA_POLICY_NESTED(snapfreeze_target_nl_policy),
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_NUL_STRING, .len = SNAPFREEZE_EXEC_ID_MAX, },
	[SNAPFREEZE_A_TIMEOUT_MS] = NLA_POLICY_MIN(NLA_U32, 1),
	[SNAPFREEZE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x3),
	[SNAPFREEZE_A_BUDGET_MS] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* SNAPFREEZE_CMD_THAW - do */
static const struct nla_policy snapfreeze_thaw_nl_policy[SNAPFREEZE_A_FLAGS + 1] = {
	[SNAPFREEZE_A_EXEC_ID] = { .type = NLA_NUL_STRING, .len = SNAPFREEZE_EXEC_ID_MAX, },
	[SNAPFREEZE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, 0x3),
};
