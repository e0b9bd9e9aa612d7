/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel's answers mean for the scheduler: the INFO:/ERROR: lines
 * and the exit codes.  No netlink here, so the unit tests (unit_test.c)
 * can feed it replies.
 */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include <stdbool.h>

#include "nlclient.h"

/*
 * A failed request: the kernel's own message, naming the target at fault
 * among @paths (the request's, in order) when the kernel points at one.
 */
void report_kernel_error(const char *what, int ret,
			 const struct client_error *err,
			 const char *const *paths, unsigned int n);

/* A FREEZE's reply: each target, and the totals (@dry: a dry run's). */
void report_frozen(const struct client_status *st, bool dry,
		   unsigned int timeout_s, long long took_ms);

/*
 * A successful THAW's reply: 0 when every target is thawed, 203 after an
 * auto-thaw, and 202 (203 after an auto-thaw) when a target is left
 * frozen, by another holder or by a failed thaw: each such target is
 * named in an ERROR line.
 */
int report_thaw(const struct client_status *st);

#endif /* SF_REPORT_H */
