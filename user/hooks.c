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

static int hooks_load(struct hooks *h, const char *dir)
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
		log_error("hooks directory %s: %s", dir, strerror(errno));
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

void hooks_free(struct hooks *h)
{
	unsigned int i;

	for (i = 0; i < h->n; i++)
		free(h->names[i]);
	free(h->names);
	free(h->dir);
	free(h->targets);
	h->names = NULL;
	h->dir = h->targets = NULL;
	h->n = 0;
}

/* The space-separated @paths, for SNAPFREEZE_TARGETS. */
static char *join_paths(const char *const *paths, unsigned int n)
{
	size_t len = 1;
	unsigned int i;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(paths[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, paths[i]);
	}
	return s;
}

int hooks_prepare(struct hooks *h, const char *dir, unsigned int timeout_s,
		  const char *exec_id, const char *command,
		  const char *const *paths, unsigned int n)
{
	int ret = hooks_load(h, dir);

	h->timeout_s = timeout_s;
	h->exec_id = exec_id;
	h->command = command;
	h->targets = join_paths(paths, n);
	if (!ret && !h->targets)
		ret = -ENOMEM;
	return ret;
}

int hooks_run_reverse(const struct hooks *h, unsigned int n, const char *arg)
{
	int bad = 0;

	while (n-- > 0)
		if (hook_run(h, n, arg) != 0)
			bad = -1;
	return bad;
}

/* One hook being run. */
struct running {
	const char *name, *arg;
	pid_t pid;
	int pidfd;		/* -1 on a kernel without pidfd_open */
	int out;		/* the read end of its stdout and stderr */
	bool pipe_open, termed;
	int64_t deadline;
	char buf[4096];
	size_t len;
};

/* Print each complete line the hook wrote, prefixed with its name. */
static void relay(struct running *r, bool flush)
{
	char *start = r->buf, *nl;

	while ((nl = memchr(start, '\n', r->buf + r->len - start))) {
		*nl = '\0';
		log_info("[hook %s] %s", r->name, start);
		start = nl + 1;
	}
	r->len -= start - r->buf;
	memmove(r->buf, start, r->len);
	if (r->len && (flush || r->len == sizeof(r->buf) - 1)) {
		r->buf[r->len] = '\0';
		log_info("[hook %s] %s", r->name, r->buf);
		r->len = 0;
	}
}

/* Read what the hook wrote; false at EOF or when nothing is there. */
static bool read_output(struct running *r)
{
	ssize_t n = read(r->out, r->buf + r->len, sizeof(r->buf) - 1 - r->len);

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			r->pipe_open = false;
		return false;
	}
	r->len += n;
	relay(r, false);
	return true;
}

static void child(const struct hooks *h, unsigned int i, const char *arg,
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

static int spawn(const struct hooks *h, unsigned int i, struct running *r)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(stdout);
	r->pid = fork();
	if (r->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (r->pid == 0)
		child(h, i, r->arg, fds[1]);
	close(fds[1]);
	r->out = fds[0];
	r->pipe_open = true;
	r->pidfd = open_pidfd(r->pid);
	return 0;
}

/* SIGTERM at the deadline, SIGKILL after the grace time, and again. */
static void enforce_deadline(struct running *r, unsigned int timeout_s)
{
	int64_t now = now_ms();

	if (now < r->deadline)
		return;
	if (!r->termed) {
		log_error("hook %s %s: timed out after %u s", r->name, r->arg,
			  timeout_s);
		kill(r->pid, SIGTERM);
		r->termed = true;
		r->deadline = now + SF_HOOK_KILL_GRACE_MS;
	} else {
		kill(r->pid, SIGKILL);
		r->deadline = now + 1000;
	}
}

/* How long to sleep in poll(): until the deadline, or a tick without a pidfd. */
static int poll_timeout(const struct running *r)
{
	int64_t left = r->deadline - now_ms();

	if (left < 0)
		left = 0;
	if (r->pidfd < 0 && left > SF_HOOK_TICK_MS)
		left = SF_HOOK_TICK_MS;
	return left;
}

/*
 * Wait for the hook itself, not for EOF: a hook may leave a process behind
 * (a database session holding a lock) that keeps the pipe open, or close
 * its output early (exec >>logfile) and run on.  poll() sleeps until
 * output, the hook's exit (its pidfd) or the deadline.
 */
static int wait_hook(struct running *r, unsigned int timeout_s)
{
	int status;

	while (waitpid(r->pid, &status, WNOHANG) != r->pid) {
		struct pollfd p[2] = {
			{ .fd = r->pipe_open ? r->out : -1, .events = POLLIN },
			{ .fd = r->pidfd, .events = POLLIN },
		};

		enforce_deadline(r, timeout_s);
		if (poll(p, 2, poll_timeout(r)) > 0 &&
		    (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			read_output(r);
	}
	return status;
}

int hook_run(const struct hooks *h, unsigned int i, const char *arg)
{
	struct running r = { .name = h->names[i], .arg = arg };
	int64_t start = now_ms();
	int status;

	if (spawn(h, i, &r))
		return -1;
	r.deadline = start + h->timeout_s * 1000LL;
	status = wait_hook(&r, h->timeout_s);
	if (r.pidfd >= 0)
		close(r.pidfd);
	/* What it wrote before exiting; children it left may write on. */
	fcntl(r.out, F_SETFL, O_NONBLOCK);
	while (r.pipe_open && read_output(&r))
		;
	relay(&r, true);
	close(r.out);

	log_info("hook %s %s: %s %d after %lld ms", r.name, arg,
		 WIFEXITED(status) ? "exit" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		 (long long)(now_ms() - start));
	if (r.termed || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
