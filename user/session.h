/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pre-script, dry-run and post-script share: the start and end lines
 * the scheduler keeps, the host-wide lock, the time budget, the connection
 * to the module, the last reply, the hooks.
 */
#ifndef SF_SESSION_H
#define SF_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "hooks.h"
#include "nlclient.h"
#include "options.h"

struct session {
	const struct options *o;
	const char *what;		/* "pre-script", "dry-run", "post-script" */
	int64_t start_ms;
	int64_t budget_end;		/* start + --budget, now_ms() time */
	struct client *client;
	struct client_status st;	/* the last reply */
	struct client_error err;
	struct hooks hooks;
	char summary[160];		/* for the journal's line */
};

/*
 * Connect to the module, loading it if need be: 0, or 206 after ERROR
 * lines that say how to get it.
 */
int connect_module(struct client **c);
/* The same, the problem in @msg instead of ERROR lines. */
int connect_module_msg(struct client **c, char *msg, size_t size);

/*
 * Print the start line, take the host-wide lock (waiting within the
 * budget) and connect: 0, or the exit code: @busy_rc when another command
 * kept the lock (201 for pre-script, 202 for post-script).
 */
int session_start(struct session *s, const struct options *o,
		  const char *what, int busy_rc);
/*
 * Print the end line with @rc, send the journal its summary line, free
 * everything, and return @rc.
 */
int session_end(struct session *s, int rc);

/* Milliseconds of the budget left, 0 when it is used up. */
int64_t budget_left(const struct session *s);
/* The wall-clock second (epoch) at or after now_ms() time @ms. */
int64_t epoch_at(int64_t ms);

#endif /* SF_SESSION_H */
