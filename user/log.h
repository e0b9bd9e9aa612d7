/* SPDX-License-Identifier: GPL-2.0 */
/*
 * INFO:/ERROR: lines on stdout, as the scheduler's sample documents print
 * them; the scheduler keeps them as the command's output.  Nothing is ever
 * written to a file: filesystems may be frozen.
 */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stdint.h>

void sf_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic milliseconds, for step durations. */
int64_t sf_now_ms(void);
/* The current local time as "YYYY-mm-dd HH:MM:SS", in a static buffer. */
const char *sf_timestamp(void);

#endif /* SF_LOG_H */
