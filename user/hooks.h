/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Application hooks: executables in a directory, run in name order with
 * "freeze" before the kernel freeze and in reverse with "thaw" after the
 * thaw.  The protocol is in snapfreeze(8).
 */
#ifndef SF_HOOKS_H
#define SF_HOOKS_H

struct hooks {
	char *dir;
	char **names;
	unsigned int n;
	unsigned int timeout_s;
	const char *exec_id;
	const char *command;
	char *targets;		/* space-separated, for SNAPFREEZE_TARGETS */
};

/*
 * Read the hooks in @dir (absent: no hooks) and set what they are run
 * with: the time limit, the execution id, the command and the targets'
 * paths (SNAPFREEZE_TARGETS).  0, or -errno after an ERROR line.
 */
int hooks_prepare(struct hooks *h, const char *dir, unsigned int timeout_s,
		  const char *exec_id, const char *command,
		  const char *const *paths, unsigned int n);
void hooks_free(struct hooks *h);

/*
 * Run hook @i with @arg and wait for it, up to the timeout.  Returns its
 * exit status, or -1 if it could not run, was killed or timed out.
 */
int hook_run(const struct hooks *h, unsigned int i, const char *arg);

/* Run hooks [0, @n) in reverse with @arg: 0 if all of them exited 0. */
int hooks_run_reverse(const struct hooks *h, unsigned int n, const char *arg);

#endif /* SF_HOOKS_H */
