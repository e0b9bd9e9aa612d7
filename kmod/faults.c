// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection points for the test suite (faults.h).  Built only with
 * CONFIG_FAULT_INJECTION_DEBUG_FS.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "faults.h"

static DECLARE_FAULT_ATTR(sf_fail_thaw);
static DECLARE_FAULT_ATTR(sf_freeze_late);
static struct dentry *sf_debugfs;

bool sf_fault(enum sf_fault fault)
{
	switch (fault) {
	case SF_FAULT_THAW:
		return should_fail(&sf_fail_thaw, 1);
	case SF_FAULT_LATE:
		return should_fail(&sf_freeze_late, 1);
	}
	return false;
}

/* Without debugfs the faults simply never fire. */
void sf_faults_init(void)
{
	sf_debugfs = debugfs_create_dir("snapfreeze", NULL);
	fault_create_debugfs_attr("fail_thaw", sf_debugfs, &sf_fail_thaw);
	fault_create_debugfs_attr("freeze_late", sf_debugfs, &sf_freeze_late);
}

void sf_faults_uninit(void)
{
	debugfs_remove_recursive(sf_debugfs);
}
