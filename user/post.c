// SPDX-License-Identifier: GPL-2.0
/*
 * post-script: the kernel's THAW, its report, then the thaw hooks.  It
 * must thaw whatever else is wrong: a configuration file that went bad
 * since the pre-script is warned about (options.c), a signal is noted and
 * the thaw finished first.  The wait for the host-wide lock is bounded by
 * --budget (then 202, nothing done: the scheduler retries post-scripts);
 * the thaw hooks get what is left of the budget, never less than
 * rollback_timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "log.h"
#include "report.h"
#include "session.h"
#include "signals.h"

/*
 * The set's execution id differs from ours in case only (a pre-script by
 * an older helper, a kernel that compares bytes): the same run, thaw it
 * with the kernel's spelling.
 */
static int thaw_other_case(struct session *s, int ret)
{
	struct client_status st = { 0 };
	struct client_error err;
	char id[sizeof(st.exec_id)];

	if (ret != -ESRCH || client_get(s->client, &st, &err))
		return ret;
	snprintf(id, sizeof(id), "%s", st.exec_id);
	client_status_free(&st);
	if (!id[0] || strcmp(id, s->o->exec_id) == 0 ||
	    strcasecmp(id, s->o->exec_id))
		return ret;
	log_info("the set's execution id is %s: the same as ours but for case", id);
	return client_thaw(s->client, id, 0, &s->st, &s->err);
}

/* The THAW request: the exit code so far; *@thawed if hooks are to run. */
static int request_thaw(struct session *s, bool *thawed)
{
	int ret;

	ret = client_thaw(s->client, s->o->exec_id,
			  s->o->force ? SNAPFREEZE_F_FORCE : 0, &s->st, &s->err);
	if (ret == -ESRCH && !s->o->force)
		ret = thaw_other_case(s, ret);
	*thawed = !ret || ret == -ENOENT;
	if (ret == -ENOENT) {
		log_error("nothing is frozen: was pre-script run, or did it fail?");
		s->hooks.thaw_result = "not-frozen";
		snprintf(s->summary, sizeof(s->summary), "nothing was frozen");
		return SF_EXIT_NOT_FROZEN;
	}
	if (ret) {
		report_kernel_error("thaw", ret, &s->err, NULL, 0);
		snprintf(s->summary, sizeof(s->summary), "thaw failed: %s",
			 strerror(-ret));
		return SF_EXIT_POST_FAILED;
	}
	ret = report_thaw(&s->st);
	s->hooks.thaw_result = ret == SF_EXIT_AUTO_THAWED ? "auto-thawed" :
			       ret ? "failed" : "thawed";
	snprintf(s->summary, sizeof(s->summary), "%s %u filesystem(s)",
		 s->hooks.thaw_result, s->st.nr_targets);
	return ret;
}

/*
 * Thaw hooks run whenever our hold is gone (after an auto-thaw too, and
 * where another holder keeps a filesystem frozen: the locks they release
 * are ours), in reverse name order.
 */
static int run_thaw_hooks(struct session *s, int rc)
{
	const char *paths[SNAPFREEZE_MAX_TARGETS];
	struct hooks *h = &s->hooks;
	int64_t until;
	unsigned int i;


	for (i = 0; i < s->st.nr_targets; i++)
		paths[i] = s->st.targets[i].path;
	h->timeout_s = s->o->hook_timeout_s;
	h->exec_id = s->o->exec_id;
	h->command = s->what;
	h->stop_on_signal = false;
	if (hooks_load(h, s->o->hooks_dir, s->o->hooks_dir_given, false) ||
	    hooks_set_targets(h, paths, s->st.nr_targets)) {
		log_error("the thaw hooks cannot run");
		return rc == SF_EXIT_OK ? SF_EXIT_POST_FAILED : rc;
	}
	if (!h->n)
		return rc;
	until = s->budget_end;
	if (hooks_run_reverse(h, h->n, "thaw", until,
			      (int64_t)s->o->rollback_s * 1000)) {
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

	rc = session_start(&s, o, "post-script", SF_EXIT_POST_FAILED);
	if (!rc) {
		rc = request_thaw(&s, &thawed);
		if (thawed)
			rc = run_thaw_hooks(&s, rc);
	}
	if (signal_pending())
		log_info("%s came during post-script: it finished the thaw first",
			 strsignal(signal_pending()));
	return session_end(&s, rc);
}
