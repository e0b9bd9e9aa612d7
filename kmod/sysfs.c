// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/snapfreeze: the set's state for people and scripts, the
 * emergency thaw, and the auto-thaw uevent.  Documented in
 * docs/ABI/testing/sysfs-kernel-snapfreeze.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "freezeset.h"
#include "snapfreeze.h"

static struct kobject *sf_kobj;

/* An sf_status_fn for each file: format one field into the page. */

static int show_state(const struct sf_status *st, void *buf)
{
	return sysfs_emit(buf, "%s\n", sf_state_name(st->state));
}

static int show_execution_id(const struct sf_status *st, void *buf)
{
	return sysfs_emit(buf, "%s\n", st->exec_id ?: "");
}

static int show_targets(const struct sf_status *st, void *buf)
{
	const struct sf_target *t;
	unsigned int i;
	int len = 0;

	for (i = 0; i < st->nr_targets; i++) {
		t = &st->targets[i];
		len += sysfs_emit_at(buf, len, "%s %u:%u %s\n", t->path,
				     MAJOR(t->dev), MINOR(t->dev), t->fstype);
	}
	return len;
}

static int show_remaining_ms(const struct sf_status *st, void *buf)
{
	return sysfs_emit(buf, "%u\n", st->remaining_ms);
}

static int show_last_error(const struct sf_status *st, void *buf)
{
	return sysfs_emit(buf, "%s\n", st->last_error);
}

#define SF_U64_SHOW(name, expr)						\
static int show_##name(const struct sf_status *st, void *buf)		\
{									\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));	\
}

SF_U64_SHOW(freezes, st->freezes)
SF_U64_SHOW(thaws, st->thaws)
SF_U64_SHOW(auto_thaws, st->auto_thaws)
SF_U64_SHOW(failures, st->failures)
SF_U64_SHOW(last_flush_us, div_u64(st->flush_ns, NSEC_PER_USEC))
SF_U64_SHOW(last_freeze_us, div_u64(st->freeze_ns, NSEC_PER_USEC))

#define SF_ATTR_RO(name)						\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sf_status_call(show_##name, buf);			\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

SF_ATTR_RO(state);
SF_ATTR_RO(execution_id);
SF_ATTR_RO(targets);
SF_ATTR_RO(remaining_ms);
SF_ATTR_RO(freezes);
SF_ATTR_RO(thaws);
SF_ATTR_RO(auto_thaws);
SF_ATTR_RO(failures);
SF_ATTR_RO(last_error);
SF_ATTR_RO(last_flush_us);
SF_ATTR_RO(last_freeze_us);

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
	&freezes_attr.attr,
	&thaws_attr.attr,
	&auto_thaws_attr.attr,
	&failures_attr.attr,
	&last_error_attr.attr,
	&last_flush_us_attr.attr,
	&last_freeze_us_attr.attr,
	&freeze_hold_attr.attr,
	&bdev_targets_attr.attr,
	&control_attr.attr,
	NULL
};

static const struct attribute_group sf_attr_group = {
	.attrs = sf_attrs,
};

/*
 * A KOBJ_CHANGE uevent from the module's own kobject (SUBSYSTEM=module,
 * DEVPATH=/module/snapfreeze): /sys/kernel/snapfreeze belongs to no kset,
 * and uevents need one.
 */
void sf_sysfs_uevent(const char *event, const char *exec_id)
{
	char ev[48], id[sizeof("SNAPFREEZE_EXECUTION_ID=") + SNAPFREEZE_EXEC_ID_MAX];
	char *envp[3];

	snprintf(ev, sizeof(ev), "SNAPFREEZE_EVENT=%s", event);
	snprintf(id, sizeof(id), "SNAPFREEZE_EXECUTION_ID=%s", exec_id);
	envp[0] = ev;
	envp[1] = id;
	envp[2] = NULL;
	kobject_uevent_env(&THIS_MODULE->mkobj.kobj, KOBJ_CHANGE, envp);
}

int sf_sysfs_init(void)
{
	int ret;

	sf_kobj = kobject_create_and_add("snapfreeze", kernel_kobj);
	if (!sf_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(sf_kobj, &sf_attr_group);
	if (ret)
		goto err_put;
	return 0;

err_put:
	kobject_put(sf_kobj);
	return ret;
}

void sf_sysfs_uninit(void)
{
	sysfs_remove_group(sf_kobj, &sf_attr_group);
	kobject_put(sf_kobj);
}
