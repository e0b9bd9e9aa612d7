/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exit codes the snapshot scheduler sees: the only channel back to it,
 * so they are a contract (README.md; snapfreeze(8), EXIT STATUS).
 */
#ifndef SF_EXITCODES_H
#define SF_EXITCODES_H

enum exit_code {
	SF_EXIT_OK = 0,
	SF_EXIT_USAGE = 1,		/* usage error, unknown command word */
	SF_EXIT_PRE_FAILED = 201,	/* nothing is left frozen */
	SF_EXIT_POST_FAILED = 202,	/* may be retried */
	SF_EXIT_AUTO_THAWED = 203,	/* the kernel thawed before post-script */
	SF_EXIT_ALREADY_FROZEN = 204,	/* pre-script while frozen, or busy */
	SF_EXIT_NOT_FROZEN = 205,	/* post-script while nothing frozen */
	SF_EXIT_NOT_READY = 206,	/* no module, or a hook said not ready */
};

/* A hook exits with this (EX_TEMPFAIL) to say "application not ready". */
#define SF_HOOK_NOT_READY 75

#endif /* SF_EXITCODES_H */
