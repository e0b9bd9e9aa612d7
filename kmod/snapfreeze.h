/* SPDX-License-Identifier: GPL-2.0 */
/* What the module's files offer each other, apart from the freeze set. */
#ifndef _SNAPFREEZE_H
#define _SNAPFREEZE_H

#include <linux/types.h>

/*
 * The auto-thaw timeout bounds (module parameters, main.c), read together:
 * *@def is the default of a FREEZE that names no timeout.
 */
void sf_params_bounds(u32 *def, u32 *min, u32 *max);

/* netlink.c */
int sf_netlink_init(void);
void sf_netlink_uninit(void);

/* sysfs.c */
int sf_sysfs_init(void);
void sf_sysfs_uninit(void);

#endif /* _SNAPFREEZE_H */
