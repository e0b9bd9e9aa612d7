// SPDX-License-Identifier: GPL-2.0
/*
 * The event queue of the freeze set (events.h): a small ring filled under
 * the set's lock, drained by a work item that calls the subscribers.  A full
 * ring drops the newest event and says so; subscribers are for monitoring,
 * and the set's state is always in GET and sysfs.
 */
#include <linux/printk.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "events.h"

#define SF_EVENTS_QUEUED 32	/* a set makes at most a few per request */

static struct {
	/* Protects the ring: ring, head and count. */
	spinlock_t lock;
	struct sf_event ring[SF_EVENTS_QUEUED];
	unsigned int head;	/* the oldest queued event */
	unsigned int count;
} sf_events = {
	.lock = __SPIN_LOCK_UNLOCKED(sf_events.lock),
};

static BLOCKING_NOTIFIER_HEAD(sf_event_chain);

static bool pop(struct sf_event *ev)
{
	bool ok;

	spin_lock(&sf_events.lock);
	ok = sf_events.count > 0;
	if (ok) {
		*ev = sf_events.ring[sf_events.head];
		sf_events.head = (sf_events.head + 1) % SF_EVENTS_QUEUED;
		sf_events.count--;
	}
	spin_unlock(&sf_events.lock);
	return ok;
}

static void deliver_workfn(struct work_struct *work)
{
	struct sf_event ev;

	while (pop(&ev))
		blocking_notifier_call_chain(&sf_event_chain, ev.type, &ev);
}

static DECLARE_WORK(sf_deliver_work, deliver_workfn);

void sf_event_post(const struct sf_event *ev)
{
	bool dropped = false;

	spin_lock(&sf_events.lock);
	if (sf_events.count < SF_EVENTS_QUEUED) {
		sf_events.ring[(sf_events.head + sf_events.count) %
			       SF_EVENTS_QUEUED] = *ev;
		sf_events.count++;
	} else {
		dropped = true;
	}
	spin_unlock(&sf_events.lock);
	if (dropped)
		pr_warn_ratelimited("event queue full: dropped an event of execution %s\n",
				    ev->exec_id);
	/* Unbound, not for reclaim: subscribers allocate their messages. */
	queue_work(system_unbound_wq, &sf_deliver_work);
}

int sf_events_subscribe(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&sf_event_chain, nb);
}

void sf_events_unsubscribe(struct notifier_block *nb)
{
	blocking_notifier_chain_unregister(&sf_event_chain, nb);
}

void sf_events_flush(void)
{
	flush_work(&sf_deliver_work);
}
