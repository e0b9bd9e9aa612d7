/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIGINT, SIGTERM and SIGHUP, caught for the whole command (unless the
 * helper was started with them ignored, as nohup does): pre-script rolls
 * back and exits 201, post-script finishes its thaw first, run forwards
 * them to its COMMAND.  The handler only records the signal (and forwards
 * it to run's COMMAND); the code checks signal_pending() between steps
 * and whenever a wait returns.
 */
#ifndef SF_SIGNALS_H
#define SF_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Default dispositions for what a parent may have left us (SIGCHLD
 * ignored, signals blocked), then, with @catch (the commands that freeze
 * or thaw), catch the three signals.  SIGPIPE is ignored by the helper
 * itself: the scheduler reads its stdout, and a closed pipe must not kill
 * it.
 */
void signals_setup(bool catch);

/* The signal that came (its number), or 0. */
int signal_pending(void);

/* run: forward the signals a process sends us to @pid (0: to nobody). */
void signals_forward_to(pid_t pid);

/*
 * In a child before exec: every disposition and the mask as a fresh
 * process has them (what we ignore because we were started so stays
 * ignored for it too).
 */
void signals_reset_child(void);

#endif /* SF_SIGNALS_H */
