// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void emit(const char *level, const char *fmt, va_list ap)
{
	fputs(level, stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	/* Each line now: if we are killed, the scheduler still has it. */
	fflush(stdout);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("INFO: ", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("ERROR: ", fmt, ap);
	va_end(ap);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *time_text(uint64_t ns, char *buf, unsigned int size)
{
	time_t t = ns / 1000000000ULL;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *now_text(void)
{
	static char buf[32];

	return time_text((uint64_t)time(NULL) * 1000000000ULL, buf,
			 sizeof(buf));
}

void log_journal(int priority, const char *fmt, ...)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("SNAPFREEZE_LOG_SOCKET");
	char line[1024];
	va_list ap;
	int fd, n;

	if (!path || !*path)
		path = "/dev/log";
	if (strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	/* RFC 3164 as syslog(3) sends it; journald reads it the same. */
	n = snprintf(line, sizeof(line), "<%d>snapfreeze[%d]: ",
		     LOG_DAEMON | priority, (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	/* Never wait: a logger blocked on a frozen /var must not hold us. */
	if (sendto(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, sizeof(sa)) < 0)
		(void)errno;
	close(fd);
}
