// SPDX-License-Identifier: GPL-2.0
/*
 * snapfreeze: freeze a set of filesystems all-or-nothing for a block-level
 * snapshot, and thaw them on request or at an in-kernel deadline.
 *
 * Module init and exit, parameters, and the reboot notifier.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/reboot.h>

#include "freezeset.h"
#include "snapfreeze.h"

unsigned int sf_default_timeout_ms = 60000;
module_param_named(default_timeout_ms, sf_default_timeout_ms, uint, 0644);
MODULE_PARM_DESC(default_timeout_ms,
		 "Auto-thaw timeout of a FREEZE that names none (ms, default 60000)");

unsigned int sf_min_timeout_ms = 100;
module_param_named(min_timeout_ms, sf_min_timeout_ms, uint, 0644);
MODULE_PARM_DESC(min_timeout_ms, "Shortest auto-thaw timeout accepted (ms, default 100)");

unsigned int sf_max_timeout_ms = 3600000;
module_param_named(max_timeout_ms, sf_max_timeout_ms, uint, 0644);
MODULE_PARM_DESC(max_timeout_ms, "Longest auto-thaw timeout accepted (ms, default 3600000)");

/*
 * reboot(2) runs this after userspace has unmounted what it could; a frozen
 * filesystem refused its remount read-only.  Thaw it so nothing is left
 * frozen for the rest of the shutdown and the log says so.
 */
static int sf_reboot_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	sf_shutdown("reboot");
	return NOTIFY_DONE;
}

static struct notifier_block sf_reboot_nb = {
	.notifier_call = sf_reboot_notify,
};

static int __init sf_init(void)
{
	int ret;

	ret = sf_freezeset_init();
	if (ret)
		return ret;
	ret = sf_sysfs_init();
	if (ret)
		goto err_freezeset;
	ret = register_reboot_notifier(&sf_reboot_nb);
	if (ret)
		goto err_sysfs;
	/* Last: userspace must not reach a half-initialised module. */
	ret = sf_netlink_init();
	if (ret)
		goto err_reboot;
	pr_info("loaded, family %s version %d, freeze hold %s, block-device targets %s\n",
		SNAPFREEZE_GENL_NAME, SNAPFREEZE_GENL_VERSION, SF_FREEZE_HOLD,
		SF_BDEV_TARGETS ? "yes" : "no");
	return 0;

err_reboot:
	unregister_reboot_notifier(&sf_reboot_nb);
err_sysfs:
	sf_sysfs_uninit();
err_freezeset:
	sf_freezeset_uninit();
	return ret;
}

static void __exit sf_exit(void)
{
	/*
	 * Thaw first, out of the reverse order: a FREEZE stalled behind a
	 * blocked writer would otherwise hold genl_unregister_family() until
	 * its deadline.  No new set can start after this.
	 */
	sf_shutdown("shutdown");
	sf_netlink_uninit();
	unregister_reboot_notifier(&sf_reboot_nb);
	sf_sysfs_uninit();
	sf_freezeset_uninit();
	pr_info("unloaded\n");
}

module_init(sf_init);
module_exit(sf_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Freeze a set of filesystems all-or-nothing, with in-kernel auto-thaw");
MODULE_AUTHOR("The snapfreeze authors");
MODULE_VERSION("0.1.0");
MODULE_ALIAS_GENL_FAMILY(SNAPFREEZE_GENL_NAME);
