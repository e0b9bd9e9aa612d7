// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

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

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

const char *now_text(void)
{
	static char buf[32];

	return time_text((uint64_t)time(NULL) * 1000000000ULL, buf,
			 sizeof(buf));
}
