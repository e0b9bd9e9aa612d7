// SPDX-License-Identifier: GPL-2.0
/*
 * pre-script and dry-run, one phase after another: the host-wide lock, is
 * a set already frozen, the plan (which filesystems, in which order), the
 * freeze hooks, the kernel's FREEZE request and its report.  Each phase
 * returns 0 or the exit code; a failure undoes what the phases before it
 * did.  One time budget (--budget) covers everything from the start to
 * the set frozen: the wait for the lock, the plan, every hook (each is
 * stopped when the budget runs out) and the FREEZE.  Undoing (the thaw
 * hooks of a rollback) has a bound of its own, rollback_timeout.  SIGINT,
 * SIGTERM or SIGHUP at any point undo everything and exit 201.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "discover.h"
#include "exitcodes.h"
#include "log.h"
#include "names.h"
#include "report.h"
#include "session.h"
#include "signals.h"

/* Busy before anything else: no hook runs for a freeze doomed to fail. */
static int check_idle(struct session *s)
{
	if (client_get(s->client, &s->st, &s->err))
		return 0;	/* the FREEZE request will say what is wrong */
	if (s->st.state != SNAPFREEZE_STATE_FROZEN &&
	    s->st.state != SNAPFREEZE_STATE_FREEZING)
		return 0;
	log_error("a freeze set is already %s (execution id %s): run post-script first",
		  state_name(s->st.state), s->st.exec_id);
	return SF_EXIT_ALREADY_FROZEN;
}

/*
 * Drop the filesystems that cannot be frozen (tmpfs-like block filesystems
 * such as vfat), asked of the kernel with dry runs.  One dry run of the
 * whole plan names the first target at fault (client_error.target); the
 * next starts right after it, so a plan costs one request plus one per
 * target at fault, not one per filesystem (each is a round trip that
 * resolves every path it carries).  A target refused for another reason
 * stays: the real FREEZE reports it.  A kernel that names no target gets
 * one dry run per filesystem from there on.
 */
static void drop_unfreezable(struct session *s, struct plan *plan)
{
	bool one_by_one = false;
	unsigned int from = 0, n, bad;
	int ret;

	while (from < plan->n) {
		n = one_by_one ? 1 : plan->n - from;
		ret = client_freeze(s->client, s->o->exec_id, 60000,
				    &plan->paths[from], n, SNAPFREEZE_F_DRY_RUN,
				    &s->st, &s->err);
		if (!ret) {
			from += n;
			continue;
		}
		if (s->err.target >= 0 && (unsigned int)s->err.target < n) {
			bad = from + s->err.target;
		} else if (n == 1) {
			bad = from;
		} else {
			one_by_one = true;	/* no target named */
			continue;
		}
		if (ret == -EOPNOTSUPP) {
			log_info("skipping %s: its filesystem cannot be frozen",
				 plan->paths[bad]);
			plan_remove(plan, bad);
			from = bad;
		} else {
			from = bad + 1;
		}
	}
}

static int make_plan(struct session *s, struct plan *plan)
{
	const struct options *o = s->o;
	unsigned int i;

	if (o->targets.n ? plan_targets(plan, o->targets.paths, o->targets.n,
					&o->keep_thawed) :
			   plan_discover(plan, o->include_root, &o->keep_thawed))
		return SF_EXIT_PRE_FAILED;
	warn_permission_listeners();
	if (!o->targets.n)
		drop_unfreezable(s, plan);
	if (!plan->n) {
		log_error("no filesystem to freeze: name one with --target, or use --include-root");
		return SF_EXIT_PRE_FAILED;
	}
	for (i = 0; i < plan->n; i++)
		log_info("target %u: %s, freeze level %u", i + 1, plan->paths[i],
			 plan->levels[i]);
	return 0;
}

/* A freeze hook's failure: 206 when it said "not ready", else 201. */
static int hook_exit_code(int ret)
{
	return ret == SF_HOOK_NOT_READY ? SF_EXIT_NOT_READY : SF_EXIT_PRE_FAILED;
}

/*
 * Undo the freeze hooks [0, @n): "thaw" in reverse, all of them within
 * rollback_timeout, counted from now or from the budget's end, whichever
 * comes first (a freeze hook stopped at the budget's end, and the grace
 * it had after SIGTERM, eat into it), so that a pre-script that fails
 * ends by budget + rollback_timeout.  A second signal does not stop them.
 */
static void rollback_hooks(struct session *s, unsigned int n)
{
	struct hooks *h = &s->hooks;
	int64_t from = now_ms();

	if (!n)
		return;
	if (from > s->budget_end)
		from = s->budget_end;
	h->stop_on_signal = false;
	h->thaw_result = "rollback";
	hooks_share_reverse(h, n, "thaw",
			    from + (int64_t)s->o->rollback_s * 1000);
}

/* Why freeze hook @i did not succeed, as an ERROR line; the exit code. */
static int freeze_hook_failed(struct session *s, unsigned int i, int ret)
{
	const char *name = s->hooks.names[i];

	if (ret == SF_HOOK_TIMED_OUT && !budget_left(s))
		log_error("the time budget of %u s (--budget) was used up before the freeze could start, after %lld ms, in hook %s: nothing is frozen",
			  s->o->budget_s, (long long)(now_ms() - s->start_ms),
			  name);
	else if (ret == SF_HOOK_INTERRUPTED)
		log_error("hook %s was stopped: %s came", name,
			  strsignal(signal_pending()));
	else
		log_error("hook %s failed to prepare for the freeze%s", name,
			  ret == SF_HOOK_NOT_READY ? " (application not ready)" :
			  ret == SF_HOOK_TIMED_OUT ? " (hook_timeout)" : "");
	snprintf(s->summary, sizeof(s->summary), "hook %s failed", name);
	return hook_exit_code(ret);
}

/*
 * Each hook with "freeze" (or "dry-run") in name order, each stopped when
 * the budget runs out; when one fails, those before it get "thaw" in
 * reverse (a dry run has nothing to undo).
 */
static int run_freeze_hooks(struct session *s, const struct plan *plan,
			    bool dry)
{
	const struct options *o = s->o;
	struct hooks *h = &s->hooks;
	int64_t t = now_ms();
	unsigned int i, n;
	bool ran;
	int ret;

	h->timeout_s = o->hook_timeout_s;
	h->exec_id = o->exec_id;
	h->command = s->what;
	h->auto_thaw_s = o->timeout_s;
	/* The kernel arms the deadline at the FREEZE, inside the budget. */
	h->auto_thaw_by = epoch_at(s->budget_end) + o->timeout_s;
	h->stop_on_signal = true;
	if (hooks_load(h, o->hooks_dir, o->hooks_dir_given, dry) ||
	    hooks_set_targets(h, plan->paths, plan->n))
		return SF_EXIT_PRE_FAILED;
	for (i = 0; i < h->n; i++) {
		ran = false;
		if (signal_pending()) {
			ret = SF_HOOK_INTERRUPTED;
		} else if (!budget_left(s)) {
			ret = SF_HOOK_TIMED_OUT;
		} else {
			ret = hook_run(h, i, dry ? "dry-run" : "freeze",
				       s->budget_end);
			ran = true;
		}
		if (!ret)
			continue;
		/*
		 * A hook stopped half-way gets its thaw too; one that failed
		 * undid its own work.
		 */
		n = ran && (ret == SF_HOOK_TIMED_OUT ||
			    ret == SF_HOOK_INTERRUPTED) ? i + 1 : i;
		ret = freeze_hook_failed(s, i, ret);
		if (dry)
			return ret;
		if (n)
			log_error("undoing the hooks: thaw in reverse order%s",
				  n > i ? ", the stopped one included" : "");
		rollback_hooks(s, n);
		return ret;
	}
	if (h->n)
		log_info("%u hook(s) ran in %lld ms", h->n,
			 (long long)(now_ms() - t));
	return 0;
}

/*
 * The FREEZE, with levels and budget; a module older than this helper
 * refuses both as unknown attributes: then once more without them, one
 * target after another in the plan's order (which is safe) and no budget.
 */
static int send_freeze(struct session *s, const struct plan *plan,
		       uint32_t budget_ms, bool dry)
{
	struct client_freeze_args a = {
		.exec_id = s->o->exec_id, .timeout_ms = s->o->timeout_s * 1000,
		.paths = plan->paths, .n = plan->n, .levels = plan->levels,
		.budget_ms = budget_ms, .flags = dry ? SNAPFREEZE_F_DRY_RUN : 0,
	};
	int ret;

	ret = client_freeze_set(s->client, &a, &s->st, &s->err);
	if (ret != -EINVAL || !client_unknown_attr(&s->err))
		return ret;
	log_info("the loaded module is older than this helper: freezing one target after another, without a time budget (reload the module for both)");
	a.levels = NULL;
	a.budget_ms = 0;
	return client_freeze_set(s->client, &a, &s->st, &s->err);
}

/* A signal came after the set was frozen: thaw it again. */
static void unfreeze(struct session *s)
{
	struct client_status st = { 0 };
	struct client_error err;
	int ret;

	log_error("%s came: thawing the set again, the snapshot must not be taken",
		  strsignal(signal_pending()));
	ret = client_thaw(s->client, s->o->exec_id, 0, &st, &err);
	if (ret)
		report_kernel_error("thaw", ret, &err, NULL, 0);
	else
		log_info("thawed %u filesystem(s)", st.nr_targets);
	client_status_free(&st);
}

/* The FREEZE request; when it fails, nothing is frozen: thaw the hooks. */
static int request_freeze(struct session *s, const struct plan *plan,
			  bool dry)
{
	const struct options *o = s->o;
	uint32_t budget_ms = budget_left(s);
	int64_t t = now_ms();
	int ret;

	if (signal_pending()) {
		log_error("%s came before the freeze: nothing is frozen",
			  strsignal(signal_pending()));
		ret = -EINTR;
		goto failed;
	}
	if (!budget_ms) {
		log_error("the time budget of %u s (--budget) was used up before the freeze could start, after %lld ms: nothing is frozen",
			  o->budget_s, (long long)(t - s->start_ms));
		ret = -ETIME;
		goto failed;
	}
	ret = send_freeze(s, plan, budget_ms, dry);
	if (!ret && !dry && signal_pending()) {
		unfreeze(s);
		ret = -EINTR;
		goto failed;
	}
	if (!ret) {
		report_frozen(&s->st, dry, o->timeout_s, now_ms() - t);
		snprintf(s->summary, sizeof(s->summary), "%s %u filesystem(s)",
			 dry ? "would freeze" : "froze", s->st.nr_targets);
		return 0;
	}
	report_kernel_error(dry ? "the kernel's dry run" : "freeze", ret,
			    &s->err, plan->paths, plan->n);
	if (ret == -ETIME)
		log_error("the set was not frozen within the time budget of %u s (--budget; %u ms of it were left for flushing and freezing): nothing is frozen; raise --budget, and the scheduler's timeout with it, if flushing takes this long",
			  o->budget_s, budget_ms);
failed:
	if (!dry && s->hooks.n) {
		log_info("nothing is frozen; thawing the hooks");
		rollback_hooks(s, s->hooks.n);
	}
	if (!s->summary[0])
		snprintf(s->summary, sizeof(s->summary), "not frozen: %s",
			 strerror(-ret));
	return ret == -EBUSY ? SF_EXIT_ALREADY_FROZEN : SF_EXIT_PRE_FAILED;
}

static int run_freeze(const struct options *o, bool dry)
{
	struct plan plan = { .n = 0 };
	struct session s;
	int rc;

	rc = session_start(&s, o, dry ? "dry-run" : "pre-script",
			   SF_EXIT_PRE_FAILED);
	if (!rc)
		rc = check_idle(&s);
	if (!rc)
		rc = make_plan(&s, &plan);
	if (!rc)
		rc = run_freeze_hooks(&s, &plan, dry);
	if (!rc)
		rc = request_freeze(&s, &plan, dry);
	return session_end(&s, rc);
}

int cmd_pre_script(const struct options *o)
{
	return run_freeze(o, false);
}

int cmd_dry_run(const struct options *o)
{
	return run_freeze(o, true);
}
