/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host-wide lock that serializes pre-script, post-script, dry-run and
 * run: flock(2) on /run/snapfreeze/lock, held for the whole command and
 * dropped by the kernel when the process ends, however it ends (SIGKILL
 * included).  The holder writes who it is into the file, for the message
 * a waiting command prints.  The rules (snapfreeze(8), CONCURRENCY): a
 * second command waits for the lock within its time budget (--budget);
 * if the lock does not come in time it does nothing and fails in the way
 * the scheduler retries: pre-script, dry-run and run with 201, post-script
 * with 202.
 */
#ifndef SF_LOCK_H
#define SF_LOCK_H

#include <stdint.h>

#define SF_RUN_DIR	"/run/snapfreeze"
#define SF_LOCK_PATH	SF_RUN_DIR "/lock"

/*
 * Take the lock for command @what (execution @exec_id), waiting until
 * @until_ms (now_ms() time).  Taking it again in the same process (run's
 * pre-script and post-script) succeeds at once.  0; -ETIMEDOUT when
 * another command kept it (ERROR lines naming it said so); -EINTR when a
 * signal came while waiting; another -errno after an ERROR line.
 */
int host_lock(const char *what, const char *exec_id, int64_t until_ms);

/* The run directory, made if need be and checked: 0 or -errno (ERROR). */
int run_dir_ready(void);

#endif /* SF_LOCK_H */
