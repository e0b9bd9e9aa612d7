/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Application hooks: executables in a directory, run in name order with
 * "freeze" before the kernel freeze and in reverse with "thaw" after the
 * thaw.  The protocol is in snapfreeze-hooks(5): the environment each
 * hook gets, its time limit, how it is stopped.
 */
#ifndef SF_HOOKS_H
#define SF_HOOKS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* hook_run()'s answers besides an exit status. */
#define SF_HOOK_FAILED		-1	/* could not run, or killed by a signal */
#define SF_HOOK_TIMED_OUT	-2	/* stopped at its time limit */
#define SF_HOOK_INTERRUPTED	-3	/* stopped: we got SIGTERM/SIGINT/SIGHUP */

struct hooks {
	char *dir;
	char **names;
	unsigned int n;
	/* Set by the caller; what each hook is run with. */
	unsigned int timeout_s;		/* hook_timeout: each hook's own cap */
	const char *exec_id;
	const char *command;
	unsigned int auto_thaw_s;	/* SNAPFREEZE_TIMEOUT; 0: not told */
	int64_t auto_thaw_by;		/* SNAPFREEZE_AUTO_THAW_BY, epoch s */
	const char *thaw_result;	/* SNAPFREEZE_THAW_RESULT, thaw only */
	bool stop_on_signal;		/* a signal ends the running hook */
	char *targets;			/* space-separated: SNAPFREEZE_TARGETS */
	char helper[PATH_MAX];		/* SNAPFREEZE_HELPER */
};

/*
 * Read the hooks in @dir and check them: no hooks when the directory is
 * missing, unless it was @given (--hooks-dir, hooks_dir): then that is
 * an error.  The directory and every hook (symlinks resolved) must be
 * safe (path_safe(): root's, writable by root alone), or nothing runs.
 * @list_skipped (dry-run): an INFO line for every entry not run, and why.
 * 0, or -errno after ERROR lines.
 */
int hooks_load(struct hooks *h, const char *dir, bool given,
	       bool list_skipped);
/* SNAPFREEZE_TARGETS: the targets' paths.  0 or -ENOMEM. */
int hooks_set_targets(struct hooks *h, const char *const *paths,
		      unsigned int n);
void hooks_free(struct hooks *h);

/*
 * Run hook @i with @arg and wait for it, at most hook_timeout and never
 * past @until (now_ms() time): then its process group gets SIGTERM, and
 * SIGKILL a second later.  Returns its exit status, or SF_HOOK_*.
 */
int hook_run(const struct hooks *h, unsigned int i, const char *arg,
	     int64_t until);

/*
 * Run hooks [0, @n) in reverse with @arg, each until @until at the
 * latest, but never given less than @min_ms (a thaw must get its
 * chance): 0 if all of them exited 0.
 */
int hooks_run_reverse(const struct hooks *h, unsigned int n, const char *arg,
		      int64_t until, int64_t min_ms);

/*
 * Run hooks [0, @n) in reverse with @arg, all of them ending by @until:
 * each gets an equal share of the time left when it starts, so that a
 * slow one cannot take the time of those after it.  0 if all exited 0.
 */
int hooks_share_reverse(const struct hooks *h, unsigned int n,
			const char *arg, int64_t until);

#endif /* SF_HOOKS_H */
