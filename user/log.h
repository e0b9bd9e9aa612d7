/* SPDX-License-Identifier: GPL-2.0 */
/*
 * INFO:/ERROR: lines on stdout, as the scheduler's sample documents print
 * them; the scheduler keeps them as the command's output.  Nothing is ever
 * written to a file: filesystems may be frozen.  One summary line per
 * command goes to the system log's socket, without ever waiting for it.
 */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stdint.h>

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic milliseconds, for step durations. */
int64_t now_ms(void);
/* Now as RFC 3339 in UTC, "YYYY-mm-ddTHH:MM:SSZ", in a static buffer. */
const char *now_text(void);
/* CLOCK_REALTIME nanoseconds @ns the same way, into @buf. */
const char *time_text(uint64_t ns, char *buf, unsigned int size);
/*
 * One line to the system log (the journal) through /dev/log, or the socket
 * SNAPFREEZE_LOG_SOCKET names: a datagram sent without waiting, dropped
 * when nobody listens or the logger is blocked (its files may be frozen).
 */
void log_journal(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* SF_LOG_H */
