/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Application hooks: executables in a directory, run in name order with
 * "freeze" before the kernel freeze and in reverse with "thaw" after the
 * thaw.  The protocol is in snapfreeze(8).
 */
#ifndef SF_HOOKS_H
#define SF_HOOKS_H

struct sf_hooks {
	char *dir;
	char **names;
	unsigned int n;
	unsigned int timeout_s;
	const char *exec_id;
	const char *command;
	char *targets;		/* space-separated, for SNAPFREEZE_TARGETS */
};

/* Read @dir (absent: no hooks).  0, or -errno after an ERROR line. */
int sf_hooks_load(struct sf_hooks *h, const char *dir);
void sf_hooks_free(struct sf_hooks *h);

/*
 * Run hook @i with @arg and wait for it, up to the timeout.  Returns its
 * exit status, or -1 if it could not run, was killed or timed out.
 */
int sf_hook_run(const struct sf_hooks *h, unsigned int i, const char *arg);

#endif /* SF_HOOKS_H */
