// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "exitcodes.h"
#include "lock.h"
#include "log.h"
#include "session.h"
#include "signals.h"

int connect_module_msg(struct client **c, char *msg, size_t size)
{
	int ret = client_open(c);

	if (ret == -ENOENT)
		snprintf(msg, size, "the snapfreeze kernel module is not loaded and could not be loaded; install it (dkms install snapfreeze/%s, see README.md) and run modprobe snapfreeze",
			 SF_VERSION);
	else if (ret)
		snprintf(msg, size, "cannot talk to the kernel: %s",
			 strerror(-ret));
	return ret ? SF_EXIT_NOT_READY : 0;
}

int connect_module(struct client **c)
{
	char msg[256];
	int ret = connect_module_msg(c, msg, sizeof(msg));

	if (ret)
		log_error("%s", msg);
	return ret;
}

int64_t budget_left(const struct session *s)
{
	int64_t left = s->budget_end - now_ms();

	return left > 0 ? left : 0;
}

int64_t epoch_at(int64_t ms)
{
	int64_t ahead = ms - now_ms();

	return (int64_t)time(NULL) + (ahead > 0 ? (ahead + 999) / 1000 : 0);
}

int session_start(struct session *s, const struct options *o,
		  const char *what, int busy_rc)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->what = what;
	s->start_ms = now_ms();
	s->budget_end = s->start_ms + (int64_t)o->budget_s * 1000;
	log_info("snapfreeze %s %s, execution id %s%s, started at %s",
		 SF_VERSION, what, o->exec_id, o->force ? " (forced)" : "",
		 now_text());
	ret = host_lock(what, o->exec_id, s->budget_end);
	if (ret == -EINTR) {
		log_error("%s came while waiting for the host-wide lock: nothing was done",
			  strsignal(signal_pending()));
		return busy_rc;
	}
	if (ret) {
		if (ret == -ETIMEDOUT)
			log_error("nothing was done: %s exits %d, which the scheduler retries (--budget %u s was spent waiting)",
				  what, busy_rc, o->budget_s);
		snprintf(s->summary, sizeof(s->summary),
			 "another command held the lock");
		return busy_rc;
	}
	return connect_module(&s->client);
}

int session_end(struct session *s, int rc)
{
	long long ms = now_ms() - s->start_ms;

	log_info("%s finished with exit code %d at %s, runtime %lld ms",
		 s->what, rc, now_text(), ms);
	log_journal(rc ? LOG_ERR : LOG_INFO,
		    "%s exit code %d, execution id %s, runtime %lld ms%s%s",
		    s->what, rc, s->o->exec_id, ms, s->summary[0] ? ": " : "",
		    s->summary);
	client_status_free(&s->st);
	hooks_free(&s->hooks);
	client_close(s->client);
	return rc;
}
