// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"
#include "names.h"
#include "report.h"

void report_kernel_error(const char *what, int ret,
			 const struct client_error *err,
			 const char *const *paths, unsigned int n)
{
	const char *why = err->msg[0] ? err->msg : strerror(-ret);

	if (err->target >= 0 && (unsigned int)err->target < n)
		log_error("%s failed: %s: %s (error %d)", what,
			  paths[err->target], why, -ret);
	else
		log_error("%s failed: %s (error %d)", what, why, -ret);
}

static void report_target(const struct client_target *t, bool dry)
{
	char timings[96] = "";

	if (t->has_timings && !dry)
		snprintf(timings, sizeof(timings),
			 "; flush %.1f ms, freeze %.1f ms, frozen at +%.1f ms",
			 t->flush_ns / 1e6, t->freeze_ns / 1e6,
			 t->frozen_at_ns / 1e6);
	log_info("%s %s (%s on %s, device %u:%u%s)",
		 dry ? "would freeze" : "frozen", t->path, t->fstype, t->sb_id,
		 t->major, t->minor, timings);
}

void report_frozen(const struct client_status *st, bool dry,
		   unsigned int timeout_s, long long took_ms)
{
	char skew[32] = "";
	unsigned int i;

	for (i = 0; i < st->nr_targets; i++)
		report_target(&st->targets[i], dry);
	if (dry) {
		log_info("dry run: every check passed, nothing was frozen");
		return;
	}
	if (st->has_skew)
		snprintf(skew, sizeof(skew), ", skew %.1f ms", st->skew_ns / 1e6);
	/* One line: what the scheduler's log shows of the freeze. */
	log_info("froze %u filesystem(s) in %lld ms (flush %.1f ms, freeze window %.1f ms%s); the kernel thaws them in %u s unless post-script comes first",
		 st->nr_targets, took_ms, st->flush_ns / 1e6,
		 st->freeze_ns / 1e6, skew, timeout_s);
}

/*
 * The targets our thaw left frozen, each named: another holder's freeze
 * (a root user's fsfreeze -f nests on ours on 6.6+ kernels and outlives
 * it), or a thaw that failed.  Returns how many.
 */
static unsigned int report_left_frozen(const struct client_status *st)
{
	unsigned int i, held = 0, failed = 0;

	for (i = 0; i < st->nr_targets; i++) {
		const struct client_target *t = &st->targets[i];

		if (!t->has_state)
			continue;
		if (t->state == SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER) {
			log_error("%s is still frozen by another holder (fsfreeze -f?): only that holder can thaw it, e.g. fsfreeze -u %s",
				 t->path, t->path);
			held++;
		} else if (t->state == SNAPFREEZE_TARGET_STATE_THAW_FAILED) {
			log_error("%s is still frozen: its thaw failed; the kernel retries it (see dmesg)",
				 t->path);
			failed++;
		}
	}
	/* A count without per-target states: say what we know. */
	if (st->held_by_other > held) {
		log_error("%u filesystem(s) still frozen by another holder (fsfreeze -f?): only that holder can thaw them (fsfreeze -u)",
			 st->held_by_other - held);
		held = st->held_by_other;
	}
	return held + failed;
}

static void report_auto_thaw(const struct client_status *st)
{
	char when[32];

	log_error("the kernel already thawed execution %s at %s (%s), before post-script came: the snapshot may not be application-consistent",
		  st->exec_id, time_text(st->thawed_at_ns, when, sizeof(when)),
		  thaw_reason_name(st->thaw_reason));
}

int report_thaw(const struct client_status *st)
{
	unsigned int left;

	if (st->state == SNAPFREEZE_STATE_AUTO_THAWED) {
		report_auto_thaw(st);
		report_left_frozen(st);
		return SF_EXIT_AUTO_THAWED;
	}
	left = report_left_frozen(st);
	if (!left) {
		log_info("thawed %u filesystem(s) of execution %s", st->nr_targets,
			st->exec_id);
		return SF_EXIT_OK;
	}
	log_info("thawed %u of %u filesystem(s) of execution %s",
		st->nr_targets > left ? st->nr_targets - left : 0,
		st->nr_targets, st->exec_id);
	return SF_EXIT_POST_FAILED;
}
