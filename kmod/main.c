// SPDX-License-Identifier: GPL-2.0
/*
 * snapfreeze: freeze a set of filesystems all-or-nothing for a block-level
 * snapshot, and thaw them on request or at an in-kernel deadline.
 *
 * Module init and exit, parameters, and the reboot notifier.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/reboot.h>

#include "events.h"
#include "faults.h"
#include "freezeset.h"
#include "snapfreeze.h"

/*
 * The auto-thaw timeout a request may ask for is bounded by three
 * parameters, themselves bounded: however they are set, a set is thawed
 * within an hour.
 */
#define SF_TIMEOUT_FLOOR_MS 1
#define SF_TIMEOUT_CAP_MS 3600000

/* Protects the three values below, so they are always read together. */
static DEFINE_MUTEX(sf_params_lock);
static unsigned int sf_default_timeout_ms = 60000;
static unsigned int sf_min_timeout_ms = 100;
static unsigned int sf_max_timeout_ms = SF_TIMEOUT_CAP_MS;
/* Once loaded, every write must keep min <= default <= max. */
static bool sf_params_live;

void sf_params_bounds(u32 *def, u32 *min, u32 *max)
{
	mutex_lock(&sf_params_lock);
	*def = sf_default_timeout_ms;
	*min = sf_min_timeout_ms;
	*max = sf_max_timeout_ms;
	mutex_unlock(&sf_params_lock);
}

static bool params_consistent(void)
{
	lockdep_assert_held(&sf_params_lock);
	return sf_min_timeout_ms <= sf_default_timeout_ms &&
	       sf_default_timeout_ms <= sf_max_timeout_ms;
}

/*
 * Before the module is live the parameters may come in any order; init
 * checks them together.
 */
static int set_timeout(const char *val, const struct kernel_param *kp)
{
	unsigned int *p = kp->arg, v, old;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (v < SF_TIMEOUT_FLOOR_MS || v > SF_TIMEOUT_CAP_MS)
		return -ERANGE;
	mutex_lock(&sf_params_lock);
	old = *p;
	*p = v;
	if (sf_params_live && !params_consistent()) {
		*p = old;
		ret = -EINVAL;
	}
	mutex_unlock(&sf_params_lock);
	return ret;
}

static const struct kernel_param_ops sf_timeout_ops = {
	.set = set_timeout,
	.get = param_get_uint,
};

module_param_cb(default_timeout_ms, &sf_timeout_ops, &sf_default_timeout_ms,
		0644);
MODULE_PARM_DESC(default_timeout_ms,
		 "Auto-thaw timeout of a FREEZE that names none (ms, default 60000)");
module_param_cb(min_timeout_ms, &sf_timeout_ops, &sf_min_timeout_ms, 0644);
MODULE_PARM_DESC(min_timeout_ms,
		 "Shortest auto-thaw timeout accepted (ms, default 100)");
module_param_cb(max_timeout_ms, &sf_timeout_ops, &sf_max_timeout_ms, 0644);
MODULE_PARM_DESC(max_timeout_ms,
		 "Longest auto-thaw timeout accepted (ms, default and at most 3600000)");

static int params_go_live(void)
{
	int ret = 0;

	mutex_lock(&sf_params_lock);
	if (params_consistent()) {
		sf_params_live = true;
	} else {
		pr_err("parameters must keep min_timeout_ms <= default_timeout_ms <= max_timeout_ms (%u, %u, %u)\n",
		       sf_min_timeout_ms, sf_default_timeout_ms,
		       sf_max_timeout_ms);
		ret = -EINVAL;
	}
	mutex_unlock(&sf_params_lock);
	return ret;
}

/*
 * reboot(2) runs this after userspace has unmounted what it could; a frozen
 * filesystem refused its remount read-only.  Thaw it so nothing is left
 * frozen for the rest of the shutdown and the log says so, waiting a while
 * for the thaw (and a freeze under way to end and be undone), never for
 * good: the machine goes down regardless.
 */
#define SF_REBOOT_WAIT_MS 10000

static int sf_reboot_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	sf_shutdown("reboot", SF_REBOOT_WAIT_MS);
	return NOTIFY_DONE;
}

static struct notifier_block sf_reboot_nb = {
	.notifier_call = sf_reboot_notify,
};

static int __init sf_init(void)
{
	int ret;

	ret = params_go_live();
	if (ret)
		return ret;
	ret = sf_freezeset_init();
	if (ret)
		return ret;
	ret = sf_sysfs_init();
	if (ret)
		goto err_freezeset;
	ret = register_reboot_notifier(&sf_reboot_nb);
	if (ret)
		goto err_sysfs;
	sf_faults_init();
	/* Last: userspace must not reach a half-initialised module. */
	ret = sf_netlink_init();
	if (ret)
		goto err_faults;
	pr_info("loaded, version %s, family %s version %d, freeze hold %s, block-device targets %s\n",
		SF_VERSION, SNAPFREEZE_GENL_NAME, SNAPFREEZE_GENL_VERSION,
		SF_FREEZE_HOLD, SF_BDEV_TARGETS ? "yes" : "no");
	return 0;

err_faults:
	sf_faults_uninit();
	unregister_reboot_notifier(&sf_reboot_nb);
err_sysfs:
	sf_sysfs_uninit();
err_freezeset:
	sf_freezeset_uninit();
	sf_events_flush();
	return ret;
}

/*
 * No request and no work of the freeze set is left by now: each holds a
 * module reference.  The set's thaw, if it is frozen, comes last
 * (sf_freezeset_uninit()).
 */
static void __exit sf_exit(void)
{
	sf_netlink_uninit();
	sf_faults_uninit();
	unregister_reboot_notifier(&sf_reboot_nb);
	sf_sysfs_uninit();
	sf_freezeset_uninit();
	/* The last events went to no subscriber; let their work finish. */
	sf_events_flush();
	pr_info("unloaded\n");
}

module_init(sf_init);
module_exit(sf_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Freeze a set of filesystems all-or-nothing, with in-kernel auto-thaw");
MODULE_AUTHOR("The snapfreeze authors");
MODULE_VERSION(SF_VERSION);
MODULE_ALIAS_GENL_FAMILY(SNAPFREEZE_GENL_NAME);
