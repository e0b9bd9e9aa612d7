// SPDX-License-Identifier: GPL-2.0
/*
 * pre-script and dry-run, one phase after another: is a set already
 * frozen, the plan (which filesystems, in which order), the freeze hooks,
 * the kernel's FREEZE request and its report.  Each phase returns 0 or the
 * exit code; a failure undoes what the phases before it did.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "discover.h"
#include "exitcodes.h"
#include "log.h"
#include "names.h"
#include "report.h"
#include "session.h"

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

	if (o->targets.n ? plan_targets(plan, o->targets.paths, o->targets.n) :
			   plan_discover(plan, o->include_root))
		return SF_EXIT_PRE_FAILED;
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
 * Each hook with "freeze" (or "dry-run") in name order; when one fails,
 * those before it get "thaw" in reverse (a dry run has nothing to undo).
 */
static int run_freeze_hooks(struct session *s, const struct plan *plan,
			    bool dry)
{
	const struct options *o = s->o;
	struct hooks *h = &s->hooks;
	int64_t t = now_ms();
	unsigned int i;
	int ret;

	if (hooks_prepare(h, o->hooks_dir, o->hook_timeout_s, o->exec_id,
			  s->what, plan->paths, plan->n))
		return SF_EXIT_PRE_FAILED;
	for (i = 0; i < h->n; i++) {
		ret = hook_run(h, i, dry ? "dry-run" : "freeze");
		if (!ret)
			continue;
		if (dry) {
			log_error("hook %s is not ready for a freeze", h->names[i]);
			return hook_exit_code(ret);
		}
		log_error("hook %s failed to prepare for the freeze%s: undoing the hooks before it",
			  h->names[i], ret == SF_HOOK_NOT_READY ?
			  " (application not ready)" : "");
		hooks_run_reverse(h, i, "thaw");
		return hook_exit_code(ret);
	}
	if (h->n)
		log_info("%u hook(s) ran in %lld ms", h->n,
			 (long long)(now_ms() - t));
	return 0;
}

/*
 * What is left of the time budget: everything since the start counts
 * (discovery, the hooks), so that the whole pre-script ends inside the
 * scheduler's timeout.  0 when it is used up.
 */
static uint32_t budget_left_ms(const struct session *s)
{
	int64_t left = (int64_t)s->o->budget_s * 1000 - (now_ms() - s->start_ms);

	return left > 0 ? (uint32_t)left : 0;
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

/* The FREEZE request; when it fails, nothing is frozen: thaw the hooks. */
static int request_freeze(struct session *s, const struct plan *plan,
			  bool dry)
{
	const struct options *o = s->o;
	uint32_t budget_ms = budget_left_ms(s);
	int64_t t = now_ms();
	int ret;

	if (!budget_ms) {
		log_error("the time budget of %u s (--budget) was used up before the freeze could start, after %lld ms: nothing is frozen",
			  o->budget_s, (long long)(t - s->start_ms));
		ret = -ETIME;
		goto failed;
	}
	ret = send_freeze(s, plan, budget_ms, dry);
	if (!ret) {
		report_frozen(&s->st, dry, o->timeout_s, now_ms() - t);
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
		hooks_run_reverse(&s->hooks, s->hooks.n, "thaw");
	}
	return ret == -EBUSY ? SF_EXIT_ALREADY_FROZEN : SF_EXIT_PRE_FAILED;
}

static int run_freeze(const struct options *o, bool dry)
{
	struct plan plan = { .n = 0 };
	struct session s;
	int rc;

	rc = session_start(&s, o, dry ? "dry-run" : "pre-script");
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
