/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	docs/netlink/snapfreeze.yaml */
/* YNL-GEN kernel header */

#ifndef _LINUX_SNAPFREEZE_GEN_H
#define _LINUX_SNAPFREEZE_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/snapfreeze.h>

/* Common nested types */
extern const struct nla_policy snapfreeze_target_nl_policy[SNAPFREEZE_TARGET_A_LEVEL + 1];

#endif /* _LINUX_SNAPFREEZE_GEN_H */
