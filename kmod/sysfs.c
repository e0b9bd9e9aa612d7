// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/snapfreeze: the set's state for people and scripts, the
 * emergency thaw, and the auto-thaw uevent.  Documented in
 * docs/ABI/testing/sysfs-kernel-snapfreeze.
 *
 * State, timings and counters are for everyone; the execution id, the
 * targets' paths and the last error are for root only (mode 0400), as GET
 * gives them only to CAP_SYS_ADMIN.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "events.h"
#include "freezeset.h"
#include "snapfreeze.h"

static struct kobject *sf_kobj;

/* An sf_view_fn for each file: format one field into the page. */

static int show_state(const struct sf_status *st, const struct sf_target *tg,
		      unsigned int nr, void *buf)
{
	return sysfs_emit(buf, "%s\n", sf_state_name(st->state));
}

static int show_execution_id(const struct sf_status *st,
			     const struct sf_target *tg, unsigned int nr,
			     void *buf)
{
	return sysfs_emit(buf, "%s\n", st->exec_id);
}

/*
 * One line per target.  A page holds about 4 KB: when the lines do not
 * fit, as many as do are shown, then a last line saying how many are not.
 */
static int target_line(char *buf, int at, const struct sf_target *t)
{
	if (!buf)	/* just its length */
		return snprintf(NULL, 0, "%s %u:%u %s\n", t->path,
				MAJOR(t->dev), MINOR(t->dev), t->fstype);
	return sysfs_emit_at(buf, at, "%s %u:%u %s\n", t->path,
			     MAJOR(t->dev), MINOR(t->dev), t->fstype);
}

static int show_targets(const struct sf_status *st, const struct sf_target *tg,
			unsigned int nr, void *buf)
{
	/* Room kept for the last line: "... and 64 more\n". */
	const int room = PAGE_SIZE - 32;
	unsigned int i;
	int len = 0;

	for (i = 0; i < nr; i++) {
		if (len + target_line(NULL, 0, &tg[i]) > room)
			return len + sysfs_emit_at(buf, len, "... and %u more\n",
						   nr - i);
		len += target_line(buf, len, &tg[i]);
	}
	return len;
}

static int show_remaining_ms(const struct sf_status *st,
			     const struct sf_target *tg, unsigned int nr,
			     void *buf)
{
	return sysfs_emit(buf, "%u\n", st->remaining_ms);
}

static int show_held_by_other(const struct sf_status *st,
			      const struct sf_target *tg, unsigned int nr,
			      void *buf)
{
	return sysfs_emit(buf, "%u\n", st->held_by_other);
}

static int show_last_error(const struct sf_status *st,
			   const struct sf_target *tg, unsigned int nr,
			   void *buf)
{
	return sysfs_emit(buf, "%s\n", st->last_error);
}

#define SF_U64_SHOW(name, expr)						\
static int show_##name(const struct sf_status *st,			\
		       const struct sf_target *tg, unsigned int nr,	\
		       void *buf)					\
{									\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));	\
}

SF_U64_SHOW(freezes, st->freezes)
SF_U64_SHOW(thaws, st->thaws)
SF_U64_SHOW(auto_thaws, st->auto_thaws)
SF_U64_SHOW(failures, st->failures)
SF_U64_SHOW(last_flush_us, div_u64(st->flush_ns, NSEC_PER_USEC))
SF_U64_SHOW(last_freeze_us, div_u64(st->freeze_ns, NSEC_PER_USEC))
SF_U64_SHOW(last_skew_us, div_u64(st->skew_ns, NSEC_PER_USEC))

#define SF_ATTR(name, mode)						\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sf_view(show_##name, buf);				\
}									\
static struct kobj_attribute name##_attr = __ATTR(name, mode, name##_show, NULL)

SF_ATTR(state, 0444);
SF_ATTR(execution_id, 0400);
SF_ATTR(targets, 0400);
SF_ATTR(remaining_ms, 0444);
SF_ATTR(held_by_other, 0444);
SF_ATTR(freezes, 0444);
SF_ATTR(thaws, 0444);
SF_ATTR(auto_thaws, 0444);
SF_ATTR(failures, 0444);
SF_ATTR(last_error, 0400);
SF_ATTR(last_flush_us, 0444);
SF_ATTR(last_freeze_us, 0444);
SF_ATTR(last_skew_us, 0444);

/* What this kernel lets the module do (docs/kernels.md). */
static ssize_t freeze_hold_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", SF_FREEZE_HOLD);
}

static struct kobj_attribute freeze_hold_attr = __ATTR_RO(freeze_hold);

static ssize_t bdev_targets_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", SF_BDEV_TARGETS);
}

static struct kobj_attribute bdev_targets_attr = __ATTR_RO(bdev_targets);

/*
 * Root writes "thaw" to thaw everything, with no tool at all.  The file
 * mode keeps other users out; CAP_SYS_ADMIN is what THAW demands too.
 */
static ssize_t control_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!sysfs_streq(buf, "thaw"))
		return -EINVAL;
	sf_emergency_thaw();
	return count;
}

static struct kobj_attribute control_attr = __ATTR_WO(control);

static struct attribute *sf_attrs[] = {
	&state_attr.attr,
	&execution_id_attr.attr,
	&targets_attr.attr,
	&remaining_ms_attr.attr,
	&held_by_other_attr.attr,
	&freezes_attr.attr,
	&thaws_attr.attr,
	&auto_thaws_attr.attr,
	&failures_attr.attr,
	&last_error_attr.attr,
	&last_flush_us_attr.attr,
	&last_freeze_us_attr.attr,
	&last_skew_us_attr.attr,
	&freeze_hold_attr.attr,
	&bdev_targets_attr.attr,
	&control_attr.attr,
	NULL
};

static const struct attribute_group sf_attr_group = {
	.attrs = sf_attrs,
};

/*
 * On an auto-thaw at the deadline, a KOBJ_CHANGE uevent from the module's
 * own kobject (SUBSYSTEM=module, DEVPATH=/module/snapfreeze):
 * /sys/kernel/snapfreeze belongs to no kset, and uevents need one.
 */
static int sf_sysfs_event(struct notifier_block *nb, unsigned long type,
			  void *data)
{
	const struct sf_event *ev = data;
	char event[] = "SNAPFREEZE_EVENT=auto-thaw";
	char id[sizeof("SNAPFREEZE_EXECUTION_ID=") + SNAPFREEZE_EXEC_ID_MAX];
	char *envp[3];

	if (type != SNAPFREEZE_EVENT_AUTO_THAWED ||
	    ev->reason != SNAPFREEZE_THAW_DEADLINE)
		return NOTIFY_DONE;
	snprintf(id, sizeof(id), "SNAPFREEZE_EXECUTION_ID=%s", ev->exec_id);
	envp[0] = event;
	envp[1] = id;
	envp[2] = NULL;
	kobject_uevent_env(&THIS_MODULE->mkobj.kobj, KOBJ_CHANGE, envp);
	return NOTIFY_DONE;
}

static struct notifier_block sf_sysfs_event_nb = {
	.notifier_call = sf_sysfs_event,
};

int sf_sysfs_init(void)
{
	int ret;

	sf_kobj = kobject_create_and_add("snapfreeze", kernel_kobj);
	if (!sf_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(sf_kobj, &sf_attr_group);
	if (ret)
		goto err_put;
	ret = sf_events_subscribe(&sf_sysfs_event_nb);
	if (ret)
		goto err_group;
	return 0;

err_group:
	sysfs_remove_group(sf_kobj, &sf_attr_group);
err_put:
	kobject_put(sf_kobj);
	return ret;
}

void sf_sysfs_uninit(void)
{
	sf_events_unsubscribe(&sf_sysfs_event_nb);
	sysfs_remove_group(sf_kobj, &sf_attr_group);
	kobject_put(sf_kobj);
}
