/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events of the freeze set (frozen, thawed, auto-thawed, failed), queued
 * without allocating by whoever holds the set's lock, and delivered later,
 * in order, from a work item to the subscribers (netlink's multicast group,
 * sysfs's uevent) through a notifier chain.  The freeze set depends on no
 * subscriber, and no subscriber runs under the set's lock.
 */
#ifndef _SNAPFREEZE_EVENTS_H
#define _SNAPFREEZE_EVENTS_H

#include <linux/notifier.h>
#include <linux/types.h>
#include <uapi/linux/snapfreeze.h>

struct sf_event {
	enum snapfreeze_event type;
	enum snapfreeze_thaw_reason reason;	/* NONE unless (auto-)thawed */
	int err;			/* failed: the negative errno */
	u32 held_by_other;		/* (auto-)thawed: targets left frozen */
	char exec_id[SNAPFREEZE_EXEC_ID_MAX + 1];
};

/* Queue @ev for delivery; never sleeps, never allocates. */
void sf_event_post(const struct sf_event *ev);

/*
 * Subscribe: @nb->notifier_call(nb, type, const struct sf_event *) runs in
 * process context, with no lock of the freeze set held.  Unsubscribing
 * waits for a delivery in progress.
 */
int sf_events_subscribe(struct notifier_block *nb);
void sf_events_unsubscribe(struct notifier_block *nb);

/* Deliver what is queued, and wait until it is delivered. */
void sf_events_flush(void);

#endif /* _SNAPFREEZE_EVENTS_H */
