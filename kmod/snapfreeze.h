/* SPDX-License-Identifier: GPL-2.0 */
/* What the module's files offer each other, apart from the freeze set. */
#ifndef _SNAPFREEZE_H
#define _SNAPFREEZE_H

#include <linux/types.h>
#include <uapi/linux/snapfreeze.h>

/* Module parameters (main.c). */
extern unsigned int sf_default_timeout_ms;
extern unsigned int sf_min_timeout_ms;
extern unsigned int sf_max_timeout_ms;

/* netlink.c */
int sf_netlink_init(void);
void sf_netlink_uninit(void);
void sf_netlink_notify(enum snapfreeze_event event, const char *exec_id,
		       enum snapfreeze_thaw_reason reason, int err);

/* sysfs.c */
int sf_sysfs_init(void);
void sf_sysfs_uninit(void);
void sf_sysfs_uevent(const char *event, const char *exec_id);

#endif /* _SNAPFREEZE_H */
