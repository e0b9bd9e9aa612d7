/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pre-script, dry-run and post-script share: the start and end lines
 * the scheduler keeps, the connection to the module, the last reply, the
 * hooks.
 */
#ifndef SF_SESSION_H
#define SF_SESSION_H

#include <stdint.h>

#include "hooks.h"
#include "nlclient.h"
#include "options.h"

struct session {
	const struct options *o;
	const char *what;		/* "pre-script", "dry-run", "post-script" */
	int64_t start_ms;
	struct client *client;
	struct client_status st;	/* the last reply */
	struct client_error err;
	struct hooks hooks;
};

/*
 * Connect to the module, loading it if need be: 0, or 206 after ERROR
 * lines that say how to get it.
 */
int connect_module(struct client **c);

/* Print the start line and connect: 0, or the exit code. */
int session_start(struct session *s, const struct options *o,
		  const char *what);
/* Print the end line with @rc, free everything, and return @rc. */
int session_end(struct session *s, int rc);

#endif /* SF_SESSION_H */
