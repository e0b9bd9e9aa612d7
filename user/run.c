// SPDX-License-Identifier: GPL-2.0
/*
 * run: pre-script, COMMAND, post-script, in one process, for snapshot
 * tools that are not a scheduler with pre/post hooks (lvcreate --snapshot,
 * a cloud CLI's snapshot call).  The freeze and the thaw are exactly the
 * pre-script's and the post-script's (freeze.c, post.c), hooks included;
 * the kernel's auto-thaw deadline (--timeout) guards COMMAND as it guards
 * the time between a scheduler's two scripts.
 *
 * The exit status (snapfreeze(8), EXIT STATUS):
 *   the freeze failed            the pre-script's code; COMMAND not run
 *   the thaw failed, or the set  the post-script's code (202, 203, 205),
 *   was auto-thawed before it    whatever COMMAND's status: the snapshot
 *                                may not be consistent, which matters more
 *   otherwise                    COMMAND's: its exit status, 128 + N when
 *                                signal N killed it, 127 when it was not
 *                                found, 126 when it could not be run
 *
 * Signals: SIGINT, SIGTERM and SIGHUP sent to snapfreeze by a process
 * (kill) are forwarded to COMMAND; those the terminal sends (Ctrl-C) reach
 * COMMAND by themselves, as it is in our process group, and are not sent
 * twice.  Either way snapfreeze itself stays, to thaw.  A signal
 * snapfreeze was started with ignored (nohup) stays ignored, for both.  One that comes
 * while freezing stops COMMAND from being started: the set is thawed and
 * the exit status is 128 + N.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcodes.h"
#include "lock.h"
#include "log.h"
#include "options.h"
#include "signals.h"

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/*
 * In the child: the dispositions COMMAND would have had without us
 * (what we were started with ignored stays ignored), then the signals
 * unblocked: one that came since fork() acts on the child as it would
 * on COMMAND.
 */
static void exec_command(char *const *argv)
{
	signals_reset_child();
	execvp(argv[0], argv);
	fprintf(stderr, "snapfreeze run: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Its status, as a shell reports it: 0..255, or 128 + the signal. */
static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * Fork with the signals blocked, so that none is lost between fork() and
 * the moment child_pid is set (and none runs our handler in the child).
 */
static int run_command(char *const *argv)
{
	sigset_t block, old;
	int status, ret;
	int64_t t = now_ms();
	pid_t pid;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < NR_FORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	fflush(NULL);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0)
		exec_command(argv);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_error("cannot start %s: %s", argv[0], strerror(errno));
		return -1;
	}
	signals_forward_to(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	do {
		ret = waitpid(pid, &status, 0);
	} while (ret < 0 && errno == EINTR);
	signals_forward_to(0);
	if (ret < 0) {
		log_error("waiting for %s: %s", argv[0], strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status))
		log_error("%s was killed by signal %d (%s) after %lld ms",
			  argv[0], WTERMSIG(status), strsignal(WTERMSIG(status)),
			  (long long)(now_ms() - t));
	else
		log_info("%s exited with status %d after %lld ms", argv[0],
			 WEXITSTATUS(status), (long long)(now_ms() - t));
	return status_code(status);
}

int cmd_run(const struct options *o)
{
	int rc, cmd_rc, post_rc, ret;

	/* The lock for the whole run: no other command between its steps. */
	ret = host_lock("run", o->exec_id, now_ms() + o->budget_s * 1000LL);
	if (ret) {
		log_error("run: the host-wide lock could not be taken: %s was not run, nothing was done: exit code %d",
			  o->run_argv[0], SF_EXIT_PRE_FAILED);
		return SF_EXIT_PRE_FAILED;
	}
	rc = cmd_pre_script(o);
	if (rc && signal_pending()) {
		log_error("run: %s came while freezing: %s not run, nothing is frozen: exit code %d",
			  strsignal(signal_pending()), o->run_argv[0],
			  128 + signal_pending());
		return 128 + signal_pending();
	}
	if (rc) {
		log_error("run: the freeze failed, %s was not run: exit code %d",
			  o->run_argv[0], rc);
		return rc;
	}
	if (signal_pending()) {
		log_error("run: %s came while freezing: %s not run, thawing",
			  strsignal(signal_pending()), o->run_argv[0]);
		cmd_rc = 128 + signal_pending();
	} else {
		log_info("run: frozen, running %s", o->run_argv[0]);
		cmd_rc = run_command(o->run_argv);
		if (cmd_rc < 0)
			cmd_rc = 126;	/* as if it could not be executed */
	}
	post_rc = cmd_post_script(o);
	if (post_rc) {
		log_error("run: %s's status is %d, but the thaw's exit code is %d%s: exit code %d",
			  o->run_argv[0], cmd_rc, post_rc,
			  post_rc == SF_EXIT_AUTO_THAWED ?
			  " (the set was thawed before the command finished: a snapshot it took may not be consistent)" :
			  "", post_rc);
		return post_rc;
	}
	log_info("run: exit code %d, %s's", cmd_rc, o->run_argv[0]);
	return cmd_rc;
}
