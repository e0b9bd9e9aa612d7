// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "signals.h"

static const int caught_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_CAUGHT (sizeof(caught_signals) / sizeof(caught_signals[0]))

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t forward_pid;
/* Which we catch: not those we were started with ignored (nohup). */
static bool caught[NR_CAUGHT];

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	(void)ctx;
	if (!got_signal)
		got_signal = sig;
	/*
	 * si_code > 0: the kernel's (a terminal's Ctrl-C): the whole
	 * process group has it already, COMMAND included.
	 */
	if (forward_pid > 0 && si->si_code <= 0)
		kill(forward_pid, sig);
	errno = saved;
}

void signals_setup(bool catch)
{
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction old;
	sigset_t none;
	size_t i;

	/*
	 * Started with SIGCHLD ignored, waitpid() never finds a child (the
	 * kernel reaps them): the hooks' waits would spin.
	 */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NR_CAUGHT; i++)
		sigaddset(&sa.sa_mask, caught_signals[i]);
	for (i = 0; catch && i < NR_CAUGHT; i++) {
		if (sigaction(caught_signals[i], NULL, &old) ||
		    old.sa_handler == SIG_IGN)
			continue;
		caught[i] = !sigaction(caught_signals[i], &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int signal_pending(void)
{
	return got_signal;
}

void signals_forward_to(pid_t pid)
{
	forward_pid = pid;
}

void signals_reset_child(void)
{
	sigset_t none;
	size_t i;

	for (i = 0; i < NR_CAUGHT; i++)
		if (caught[i])
			signal(caught_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
