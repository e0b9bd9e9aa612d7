// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "options.h"
#include "signals.h"

/* How often a waiting command tries the lock again. */
#define SF_LOCK_POLL_MS 50

/* Ours, once taken; the kernel drops it when we exit. */
static int lock_fd = -1;

int run_dir_ready(void)
{
	char why[256];
	struct stat st;

	if (mkdir(SF_RUN_DIR, 0755) && errno != EEXIST) {
		log_error("cannot make %s: %s", SF_RUN_DIR, strerror(errno));
		return -errno;
	}
	if (lstat(SF_RUN_DIR, &st) || !S_ISDIR(st.st_mode)) {
		log_error("%s is not a directory", SF_RUN_DIR);
		return -ENOTDIR;
	}
	if (!path_safe(SF_RUN_DIR, why, sizeof(why))) {
		log_error("%s: %s: refusing to use it", SF_RUN_DIR, why);
		return -EPERM;
	}
	return 0;
}

/* Who holds the lock, as its holder wrote it: "pid N, CMD, ..." or "". */
static void holder_text(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0])
		snprintf(buf, size, "another snapfreeze command");
}

static int open_lock(void)
{
	struct stat st;
	int fd, ret;

	ret = run_dir_ready();
	if (ret)
		return ret;
	fd = open(SF_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		  O_NOCTTY, 0600);
	if (fd < 0) {
		log_error("cannot open %s: %s", SF_LOCK_PATH, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		log_error("%s is not a regular file of ours: refusing to use it",
			  SF_LOCK_PATH);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The holder's line, for the next command that has to wait. */
static void write_holder(int fd, const char *what, const char *exec_id)
{
	char line[192];
	int n;

	n = snprintf(line, sizeof(line), "pid %d, %s, execution id %s, since %s\n",
		     (int)getpid(), what, exec_id, now_text());
	if (ftruncate(fd, 0) || pwrite(fd, line, n, 0) != n)
		(void)errno;	/* only ever a message for others */
}

int host_lock(const char *what, const char *exec_id, int64_t until_ms)
{
	int64_t start = now_ms();
	char holder[192];
	bool said = false;
	int fd;

	if (lock_fd >= 0)
		return 0;
	fd = open_lock();
	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_error("cannot lock %s: %s", SF_LOCK_PATH,
				  strerror(errno));
			close(fd);
			return -EIO;
		}
		holder_text(fd, holder, sizeof(holder));
		if (!said) {
			log_info("waiting for the host-wide lock (%s): held by %s",
				 SF_LOCK_PATH, holder);
			said = true;
		}
		if (signal_pending()) {
			close(fd);
			return -EINTR;
		}
		if (now_ms() >= until_ms) {
			log_error("another snapfreeze command still holds the host-wide lock after %lld ms (%s): held by %s",
				  (long long)(now_ms() - start), SF_LOCK_PATH,
				  holder);
			close(fd);
			return -ETIMEDOUT;
		}
		poll(NULL, 0, SF_LOCK_POLL_MS);
	}
	if (said)
		log_info("took the host-wide lock after %lld ms",
			 (long long)(now_ms() - start));
	write_holder(fd, what, exec_id);
	lock_fd = fd;
	return 0;
}
