/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the test suite, on kernels built with
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the debug kernel; Debian's kernels have
 * none): each fault is a standard fault_attr under
 * /sys/kernel/debug/snapfreeze/ (probability, times, interval, ...; see
 * Documentation/fault-injection/fault-injection.rst), and counts towards
 * a task's /proc/thread-self/fail-nth like any other fault site.
 */
#ifndef _SNAPFREEZE_FAULTS_H
#define _SNAPFREEZE_FAULTS_H

#include <linux/types.h>

enum sf_fault {
	/*
	 * fail_thaw: a thaw fails with -EIO, as a failing ->unfreeze_fs
	 * would, and leaves the target frozen.
	 */
	SF_FAULT_THAW,
	/*
	 * freeze_late: a FREEZE stalls past its deadline, holding the set's
	 * lock, after its last freeze and before declaring the set frozen.
	 */
	SF_FAULT_LATE,
};

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
bool sf_fault(enum sf_fault fault);
void sf_faults_init(void);
void sf_faults_uninit(void);
#else
static inline bool sf_fault(enum sf_fault fault)
{
	return false;
}

static inline void sf_faults_init(void)
{
}

static inline void sf_faults_uninit(void)
{
}
#endif

#endif /* _SNAPFREEZE_FAULTS_H */
