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
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "options.h"
#include "signals.h"

/* How long a hook's process group has after SIGTERM before SIGKILL. */
#define SF_HOOK_KILL_GRACE_MS 1000
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

/*
 * Whether entry @path is a hook to run: NULL, or why not (for dry-run's
 * list).  A hook that would run but is not safe is refused: -EPERM in
 * *@refused after an ERROR line.
 */
static const char *not_a_hook(const char *name, const char *path,
			      int *refused)
{
	char why[PATH_MAX + 128];
	struct stat st, lst;

	if (skipped_name(name))
		return "its name marks it as hidden, a backup or disabled";
	if (stat(path, &st)) {
		if (!lstat(path, &lst) && S_ISLNK(lst.st_mode))
			return "a dangling symlink";
		return strerror(errno);
	}
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (access(path, X_OK))
		return "no execute bit";
	if (!path_safe(path, why, sizeof(why))) {
		log_error("hook %s: %s: refusing to run it (and every other hook)",
			  path, why);
		*refused = -EPERM;
	}
	return NULL;
}

/* The directory itself: there, a directory, safe.  0, 1 (none), -errno. */
static int check_dir(const char *dir, bool given)
{
	char why[PATH_MAX + 128];
	struct stat st;

	if (stat(dir, &st)) {
		if (errno == ENOENT && !given)
			return 1;
		log_error("hooks directory %s: %s%s", dir, strerror(errno),
			  errno == ENOENT ? " (it was named by --hooks-dir or hooks_dir)" : "");
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("hooks directory %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (!path_safe(dir, why, sizeof(why))) {
		log_error("hooks directory %s: %s: refusing to run its hooks",
			  dir, why);
		return -EPERM;
	}
	return 0;
}

int hooks_load(struct hooks *h, const char *dir, bool given,
	       bool list_skipped)
{
	struct dirent **list;
	char path[PATH_MAX];
	const char *why;
	int i, n, ret, refused = 0;
	ssize_t len;

	len = readlink("/proc/self/exe", h->helper, sizeof(h->helper) - 1);
	h->helper[len > 0 ? len : 0] = '\0';
	h->dir = strdup(dir);
	h->names = NULL;
	h->n = 0;
	ret = check_dir(dir, given);
	if (ret)
		return ret > 0 ? 0 : ret;
	n = scandir(dir, &list, NULL, by_name);
	if (n < 0) {
		log_error("hooks directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	h->names = calloc(n ? n : 1, sizeof(*h->names));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		if (strcmp(name, ".") && strcmp(name, "..") && h->names) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			why = not_a_hook(name, path, &refused);
			if (!why)
				h->names[h->n++] = strdup(name);
			else if (list_skipped)
				log_info("hooks directory %s: skipping %s: %s",
					 dir, name, why);
		}
		free(list[i]);
	}
	free(list);
	if (!h->names)
		return -ENOMEM;
	return refused;
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

int hooks_set_targets(struct hooks *h, const char *const *paths,
		      unsigned int n)
{
	free(h->targets);
	h->targets = join_paths(paths, n);
	return h->targets ? 0 : -ENOMEM;
}

int hooks_run_reverse(const struct hooks *h, unsigned int n, const char *arg,
		      int64_t until, int64_t min_ms)
{
	int64_t at_least;
	int bad = 0;

	while (n-- > 0) {
		at_least = now_ms() + min_ms;
		if (hook_run(h, n, arg, until > at_least ? until : at_least))
			bad = -1;
	}
	return bad;
}

int hooks_share_reverse(const struct hooks *h, unsigned int n,
			const char *arg, int64_t until)
{
	int64_t now, left;
	int bad = 0;

	for (; n > 0; n--) {
		now = now_ms();
		left = until > now ? until - now : 0;
		if (hook_run(h, n - 1, arg, now + left / n))
			bad = -1;
	}
	return bad;
}

/* One hook being run. */
struct running {
	const char *name, *arg;
	pid_t pid;		/* also its process group */
	int pidfd;		/* -1 on a kernel without pidfd_open */
	int out;		/* the read end of its stdout and stderr */
	bool pipe_open;
	int stopped;		/* 0, or SF_HOOK_TIMED_OUT / _INTERRUPTED */
	int phase;		/* 0 running, 1 sent SIGTERM, 2 sent SIGKILL */
	int64_t start, limit;	/* when it started, when it is stopped */
	int64_t next;		/* the next step: SIGTERM, then SIGKILL */
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

static void setenv_num(const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	setenv(name, buf, 1);
}

/* What a hook is told (snapfreeze-hooks(5), ENVIRONMENT). */
static void child_env(const struct hooks *h, int64_t limit)
{
	int64_t left = limit - now_ms();

	setenv("SNAPFREEZE_EXECUTION_ID", h->exec_id, 1);
	setenv("SNAPFREEZE_COMMAND", h->command, 1);
	setenv("SNAPFREEZE_TARGETS", h->targets ? h->targets : "", 1);
	if (h->helper[0])
		setenv("SNAPFREEZE_HELPER", h->helper, 1);
	setenv_num("SNAPFREEZE_HOOK_TIME_LEFT_MS", left > 0 ? left : 0);
	setenv_num("SNAPFREEZE_HOOK_DEADLINE",
		   (long long)time(NULL) + (left > 0 ? left / 1000 : 0));
	if (h->auto_thaw_s) {
		setenv_num("SNAPFREEZE_TIMEOUT", h->auto_thaw_s);
		setenv_num("SNAPFREEZE_AUTO_THAW_BY", h->auto_thaw_by);
	} else {
		unsetenv("SNAPFREEZE_TIMEOUT");
		unsetenv("SNAPFREEZE_AUTO_THAW_BY");
	}
	if (h->thaw_result)
		setenv("SNAPFREEZE_THAW_RESULT", h->thaw_result, 1);
	else
		unsetenv("SNAPFREEZE_THAW_RESULT");
}

/*
 * In the child: a process group of its own (stopped as one), stdin from
 * /dev/null, the signals as a fresh process has them, output to our pipe.
 */
static void child(const struct hooks *h, unsigned int i, const char *arg,
		  int out, int64_t limit)
{
	char path[PATH_MAX];
	int null;

	setpgid(0, 0);
	signals_reset_child();
	snprintf(path, sizeof(path), "%s/%s", h->dir, h->names[i]);
	null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	if (out > STDERR_FILENO)
		close(out);
	child_env(h, limit);
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
		child(h, i, r->arg, fds[1], r->limit);
	/* Both sides, so that the group exists whoever runs first. */
	setpgid(r->pid, r->pid);
	close(fds[1]);
	r->out = fds[0];
	r->pipe_open = true;
	r->pidfd = open_pidfd(r->pid);
	return 0;
}

/*
 * At its limit (or on our signal) SIGTERM to the hook's process group,
 * SIGKILL after the grace time, and again: whatever it started goes too.
 */
static void enforce_limit(struct running *r, bool stop_on_signal)
{
	int64_t now = now_ms();

	if (!r->phase && !r->stopped && stop_on_signal && signal_pending()) {
		log_error("hook %s %s: stopping it: %s came", r->name, r->arg,
			  strsignal(signal_pending()));
		r->stopped = SF_HOOK_INTERRUPTED;
		r->next = now;
	}
	if (now < r->next)
		return;
	if (!r->phase) {
		if (!r->stopped) {
			log_error("hook %s %s: stopped at its time limit, after %lld ms",
				  r->name, r->arg, (long long)(now - r->start));
			r->stopped = SF_HOOK_TIMED_OUT;
		}
		kill(-r->pid, SIGTERM);
		r->phase = 1;
		r->next = now + SF_HOOK_KILL_GRACE_MS;
	} else {
		kill(-r->pid, SIGKILL);
		r->phase = 2;
		r->next = now + 1000;
	}
}

/* How long to sleep in poll(): until the next step, or a tick without a pidfd. */
static int poll_timeout(const struct running *r)
{
	int64_t left = r->next - now_ms();

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
 * output, the hook's exit (its pidfd), the next step or a signal.
 */
static int wait_hook(struct running *r, bool stop_on_signal)
{
	int status = 0;
	pid_t got;

	while ((got = waitpid(r->pid, &status, WNOHANG)) != r->pid) {
		struct pollfd p[2] = {
			{ .fd = r->pipe_open ? r->out : -1, .events = POLLIN },
			{ .fd = r->pidfd, .events = POLLIN },
		};

		if (got < 0 && errno != EINTR) {
			/* Not ours to wait for (someone reaped it): give up. */
			log_error("hook %s %s: cannot wait for it: %s", r->name,
				  r->arg, strerror(errno));
			return -1;
		}
		enforce_limit(r, stop_on_signal);
		if (poll(p, 2, poll_timeout(r)) > 0 &&
		    (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			read_output(r);
	}
	return status;
}

int hook_run(const struct hooks *h, unsigned int i, const char *arg,
	     int64_t until)
{
	struct running r = { .name = h->names[i], .arg = arg };
	int status;

	r.start = now_ms();
	r.limit = r.start + h->timeout_s * 1000LL;
	if (until < r.limit)
		r.limit = until;
	r.next = r.limit;
	if (spawn(h, i, &r))
		return SF_HOOK_FAILED;
	status = wait_hook(&r, h->stop_on_signal);
	if (r.pidfd >= 0)
		close(r.pidfd);
	/* What it wrote before exiting; children it left may write on. */
	fcntl(r.out, F_SETFL, O_NONBLOCK);
	while (r.pipe_open && read_output(&r))
		;
	relay(&r, true);
	close(r.out);
	if (status < 0)
		return SF_HOOK_FAILED;

	log_info("hook %s %s: %s %d after %lld ms", r.name, arg,
		 WIFEXITED(status) ? "exit" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		 (long long)(now_ms() - r.start));
	if (r.stopped)
		return r.stopped;
	if (!WIFEXITED(status))
		return SF_HOOK_FAILED;
	return WEXITSTATUS(status);
}
