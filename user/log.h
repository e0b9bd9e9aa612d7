/* SPDX-License-Identifier: GPL-2.0 */
/*
 * INFO:/ERROR: lines on stdout, as the scheduler's sample documents print
 * them; the scheduler keeps them as the command's output.  Nothing is ever
 * written to a file: filesystems may be frozen.
 */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stdint.h>

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic milliseconds, for step durations. */
int64_t now_ms(void);
/* The local time as "YYYY-mm-dd HH:MM:SS", in a static buffer. */
const char *now_text(void);
/* Local time @ns (CLOCK_REALTIME nanoseconds) the same way, into @buf. */
const char *time_text(uint64_t ns, char *buf, unsigned int size);

#endif /* SF_LOG_H */
