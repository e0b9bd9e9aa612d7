// SPDX-License-Identifier: GPL-2.0
/* post-script: the kernel's THAW, its report, then the thaw hooks. */
#include <errno.h>

#include "exitcodes.h"
#include "log.h"
#include "report.h"
#include "session.h"

/* The THAW request: the exit code so far; *@thawed if hooks are to run. */
static int request_thaw(struct session *s, bool *thawed)
{
	int ret;

	ret = client_thaw(s->client, s->o->exec_id,
			  s->o->force ? SNAPFREEZE_F_FORCE : 0, &s->st, &s->err);
	*thawed = !ret || ret == -ENOENT;
	if (ret == -ENOENT) {
		log_error("nothing is frozen: was pre-script run, or did it fail?");
		return SF_EXIT_NOT_FROZEN;
	}
	if (ret) {
		report_kernel_error("thaw", ret, &s->err, NULL, 0);
		return SF_EXIT_POST_FAILED;
	}
	return report_thaw(&s->st);
}

/*
 * Thaw hooks run whenever our hold is gone (after an auto-thaw too, and
 * where another holder keeps a filesystem frozen: the locks they release
 * are ours), in reverse name order.
 */
static int run_thaw_hooks(struct session *s, int rc)
{
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	unsigned int i;

	for (i = 0; i < s->st.nr_targets; i++)
		paths[i] = s->st.targets[i].path;
	if (hooks_prepare(&s->hooks, s->o->hooks_dir, s->o->hook_timeout_s,
			  s->o->exec_id, s->what, paths, s->st.nr_targets) ||
	    !s->hooks.n)
		return rc;
	if (hooks_run_reverse(&s->hooks, s->hooks.n, "thaw")) {
		log_error("a thaw hook failed");
		if (rc == SF_EXIT_OK)
			rc = SF_EXIT_POST_FAILED;
	}
	return rc;
}

int cmd_post_script(const struct options *o)
{
	struct session s;
	bool thawed;
	int rc;

	rc = session_start(&s, o, "post-script");
	if (!rc) {
		rc = request_thaw(&s, &thawed);
		if (thawed)
			rc = run_thaw_hooks(&s, rc);
	}
	return session_end(&s, rc);
}
