// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "exitcodes.h"
#include "log.h"
#include "report.h"

/*
 * The targets our thaw left frozen, each named: another holder's freeze
 * (a root user's fsfreeze -f nests on ours on 6.6+ kernels and outlives
 * it), or a thaw that failed.  Returns how many.
 */
static unsigned int report_left_frozen(const struct sf_nl_status *st)
{
	unsigned int i, held = 0, failed = 0;

	for (i = 0; i < st->nr_targets; i++) {
		const struct sf_nl_target *t = &st->targets[i];

		if (!t->has_state)
			continue;
		if (t->state == SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER) {
			sf_error("%s is still frozen by another holder (fsfreeze -f?): only that holder can thaw it, e.g. fsfreeze -u %s",
				 t->path, t->path);
			held++;
		} else if (t->state == SNAPFREEZE_TARGET_STATE_THAW_FAILED) {
			sf_error("%s is still frozen: its thaw failed; the kernel retries it (see dmesg)",
				 t->path);
			failed++;
		}
	}
	/* A count without per-target states: say what we know. */
	if (st->held_by_other > held) {
		sf_error("%u filesystem(s) still frozen by another holder (fsfreeze -f?): only that holder can thaw them (fsfreeze -u)",
			 st->held_by_other - held);
		held = st->held_by_other;
	}
	return held + failed;
}

static void report_auto_thaw(const struct sf_nl_status *st)
{
	time_t when = st->thawed_at_ns / 1000000000ULL;
	struct tm tm;
	char buf[32];

	localtime_r(&when, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	sf_error("the kernel already thawed execution %s at %s (%s), before post-script came: the snapshot may not be application-consistent",
		 st->exec_id, buf, sf_nl_reason_name(st->thaw_reason));
}

int report_thaw(const struct sf_nl_status *st)
{
	unsigned int left;

	if (st->state == SNAPFREEZE_STATE_AUTO_THAWED) {
		report_auto_thaw(st);
		report_left_frozen(st);
		return SF_EXIT_AUTO_THAWED;
	}
	left = report_left_frozen(st);
	if (!left) {
		sf_info("thawed %u filesystem(s) of execution %s", st->nr_targets,
			st->exec_id);
		return SF_EXIT_OK;
	}
	sf_info("thawed %u of %u filesystem(s) of execution %s",
		st->nr_targets > left ? st->nr_targets - left : 0,
		st->nr_targets, st->exec_id);
	return SF_EXIT_POST_FAILED;
}
