/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a kernel reply means for the scheduler: the INFO:/ERROR: lines and
 * the exit code.  No netlink here, so the unit tests can feed it replies.
 */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include "nlclient.h"

/*
 * A successful THAW's reply: 0 when every target is thawed, 203 after an
 * auto-thaw, and 202 (203 after an auto-thaw) when a target is left
 * frozen, by another holder or by a failed thaw: each such target is
 * named in an ERROR line.
 */
int report_thaw(const struct sf_nl_status *st);

#endif /* SF_REPORT_H */
