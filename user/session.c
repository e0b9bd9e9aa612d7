// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"
#include "session.h"

int connect_module(struct client **c)
{
	int ret = client_open(c);

	if (ret == -ENOENT) {
		log_error("the snapfreeze kernel module is not loaded and could not be loaded;");
		log_error("install it (dkms install snapfreeze/%s, see README.md) and run modprobe snapfreeze",
			  SF_VERSION);
	} else if (ret) {
		log_error("cannot talk to the kernel: %s", strerror(-ret));
	}
	return ret ? SF_EXIT_NOT_READY : 0;
}

int session_start(struct session *s, const struct options *o,
		  const char *what)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->what = what;
	s->start_ms = now_ms();
	log_info("snapfreeze %s %s, execution id %s%s, started at %s",
		 SF_VERSION, what, o->exec_id, o->force ? " (forced)" : "",
		 now_text());
	return connect_module(&s->client);
}

int session_end(struct session *s, int rc)
{
	log_info("%s finished with exit code %d at %s, runtime %lld ms",
		 s->what, rc, now_text(), (long long)(now_ms() - s->start_ms));
	client_status_free(&s->st);
	hooks_free(&s->hooks);
	client_close(s->client);
	return rc;
}
