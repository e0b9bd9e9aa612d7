// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"

/* How long a hook has after SIGTERM before SIGKILL. */
#define SF_HOOK_KILL_GRACE_MS 5000
/* Without a pidfd, how often to look whether the hook has exited. */
#define SF_HOOK_TICK_MS 250

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && !strcmp(name + n - s, suffix);
}

/* Package-manager leftovers, editor backups, disabled hooks. */
static bool skipped_name(const char *name)
{
	static const char *const suffixes[] = {
		"~", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp",
		".rpmnew", ".rpmsave", ".sample", ".disabled",
	};
	size_t i;

	if (name[0] == '.')
		return true;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(name, suffixes[i]))
			return true;
	return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int sf_hooks_load(struct sf_hooks *h, const char *dir)
{
	struct dirent **list;
	char path[4096];
	struct stat st;
	int i, n;

	h->dir = strdup(dir);
	h->names = NULL;
	h->n = 0;
	n = scandir(dir, &list, NULL, by_name);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		sf_error("hooks directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	h->names = calloc(n ? n : 1, sizeof(*h->names));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (h->names && !skipped_name(name) && !stat(path, &st) &&
		    S_ISREG(st.st_mode) && !access(path, X_OK))
			h->names[h->n++] = strdup(name);
		free(list[i]);
	}
	free(list);
	return h->names ? 0 : -ENOMEM;
}

void sf_hooks_free(struct sf_hooks *h)
{
	unsigned int i;

	for (i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	free(h->dir);
}

/* Print each complete line the hook wrote, prefixed with its name. */
static void relay(const char *name, char *buf, size_t *len, bool flush)
{
	char *start = buf, *nl;

	while ((nl = memchr(start, '\n', buf + *len - start))) {
		*nl = '\0';
		sf_info("[hook %s] %s", name, start);
		start = nl + 1;
	}
	*len -= start - buf;
	memmove(buf, start, *len);
	if (*len && (flush || *len == 4095)) {
		buf[*len] = '\0';
		sf_info("[hook %s] %s", name, buf);
		*len = 0;
	}
}

static void child(const struct sf_hooks *h, unsigned int i, const char *arg,
		  int out)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", h->dir, h->names[i]);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	if (out > STDERR_FILENO)
		close(out);
	setenv("SNAPFREEZE_EXECUTION_ID", h->exec_id, 1);
	setenv("SNAPFREEZE_COMMAND", h->command, 1);
	setenv("SNAPFREEZE_TARGETS", h->targets ? h->targets : "", 1);
	execl(path, h->names[i], arg, (char *)NULL);
	fprintf(stderr, "cannot run: %s\n", strerror(errno));
	_exit(127);
}

/* A descriptor that polls readable when @pid exits, or -1 (kernel < 5.3). */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* How long to sleep in poll(): until @deadline, or a tick without a pidfd. */
static int poll_timeout(int64_t deadline, int pidfd)
{
	int64_t left = deadline - sf_now_ms();

	if (left < 0)
		left = 0;
	if (pidfd < 0 && left > SF_HOOK_TICK_MS)
		left = SF_HOOK_TICK_MS;
	return left;
}

int sf_hook_run(const struct sf_hooks *h, unsigned int i, const char *arg)
{
	int64_t deadline, start = sf_now_ms();
	char buf[4096];
	size_t len = 0;
	bool pipe_open = true, killed = false, termed = false;
	int fds[2], status, pidfd;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		child(h, i, arg, fds[1]);
	close(fds[1]);
	pidfd = open_pidfd(pid);

	/*
	 * Wait for the hook itself, not for EOF: a hook may leave a process
	 * behind (a database session holding a lock) that keeps the pipe open,
	 * or close its output early (exec >>logfile) and run on.  poll()
	 * sleeps until output, the hook's exit (its pidfd) or the deadline.
	 */
	deadline = start + h->timeout_s * 1000LL;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pipe_open ? fds[0] : -1, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		pid_t r = waitpid(pid, &status, WNOHANG);
		int64_t now = sf_now_ms();
		ssize_t n;

		if (r == pid)
			break;
		if (now >= deadline && !termed) {
			sf_error("hook %s %s: timed out after %u s", h->names[i],
				 arg, h->timeout_s);
			kill(pid, SIGTERM);
			termed = killed = true;
			deadline = now + SF_HOOK_KILL_GRACE_MS;
		} else if (now >= deadline) {
			kill(pid, SIGKILL);
			deadline = now + 1000;
		}
		if (poll(p, 2, poll_timeout(deadline, pidfd)) <= 0 ||
		    !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0) {
			pipe_open = false;
			continue;
		}
		len += n;
		relay(h->names[i], buf, &len, false);
	}
	if (pidfd >= 0)
		close(pidfd);
	/* What it wrote before exiting; children it left may write on. */
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	while (pipe_open) {
		ssize_t n = read(fds[0], buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += n;
		relay(h->names[i], buf, &len, false);
	}
	relay(h->names[i], buf, &len, true);
	close(fds[0]);

	sf_info("hook %s %s: %s %d after %lld ms", h->names[i], arg,
		WIFEXITED(status) ? "exit" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		(long long)(sf_now_ms() - start));
	if (killed || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
