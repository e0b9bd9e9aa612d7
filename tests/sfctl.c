// SPDX-License-Identifier: GPL-2.0
/*
 * sfctl: a bare client of the snapfreeze family for the VM demo and for
 * poking at the module by hand.  The real tool is user/snapfreeze; this
 * one prints what the kernel said and nothing more.
 *
 *   sfctl freeze ID TIMEOUT_MS PATH...
 *   sfctl thaw ID|--force
 *   sfctl get
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"

static void print_status(const struct nlt_status *st)
{
	unsigned int i;

	printf("state: %s\n", state_name(st->state));
	if (st->has_exec_id)
		printf("execution id: %s\n", st->exec_id);
	for (i = 0; i < st->ntargets; i++)
		printf("target: %s (%s on %s, %u:%u)\n", st->targets[i].path,
		       st->targets[i].fstype, st->targets[i].sb_id,
		       st->targets[i].major, st->targets[i].minor);
	if (st->state == SNAPFREEZE_STATE_FROZEN)
		printf("auto-thaw in: %u ms\n", st->remaining_ms);
	if (st->has_thawed_at)
		printf("auto-thawed at: %llu ns (reason %u)\n",
		       (unsigned long long)st->thawed_at, st->thaw_reason);
	printf("last flush: %llu us, freeze skew: %llu us\n",
	       (unsigned long long)st->flush_ns / 1000,
	       (unsigned long long)st->freeze_ns / 1000);
	printf("counters: freezes %llu, thaws %llu, auto-thaws %llu, failures %llu\n",
	       (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	       (unsigned long long)st->auto_thaws,
	       (unsigned long long)st->failures);
}

static int report(const char *what, int ret, const struct nlt_result *res)
{
	if (ret) {
		fprintf(stderr, "sfctl: %s: %s%s%s\n", what, strerror(-ret),
			res->msg[0] ? ": " : "", res->msg);
		return 1;
	}
	if (!res->has_reply)
		return 0;
	/* A THAW reply is the status found just before the thaw. */
	if (res->st.cmd == SNAPFREEZE_CMD_THAW)
		printf("thawed; the set was found %s:\n",
		       state_name(res->st.state));
	print_status(&res->st);
	return 0;
}

int main(int argc, char **argv)
{
	struct nlt_result res;
	struct nlt *nl;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: sfctl freeze ID TIMEOUT_MS PATH... | thaw ID|--force | get\n");
		return 1;
	}
	nl = nlt_open();
	if (!nl) {
		fprintf(stderr, "sfctl: snapfreeze family: %s\n", strerror(errno));
		return 1;
	}
	memset(&res, 0, sizeof(res));
	if (!strcmp(argv[1], "freeze") && argc >= 5) {
		ret = nlt_freeze(nl, (const char *const *)argv + 4, argc - 4,
				argv[2], strtoul(argv[3], NULL, 0), 0, &res,
				NULL);
		ret = report("freeze", ret, &res);
	} else if (!strcmp(argv[1], "thaw") && argc == 3) {
		bool force = !strcmp(argv[2], "--force");

		ret = nlt_thaw(nl, force ? NULL : argv[2],
			      force ? SNAPFREEZE_F_FORCE : 0, &res);
		ret = report("thaw", ret, &res);
	} else if (!strcmp(argv[1], "get") && argc == 2) {
		ret = report("get", nlt_get(nl, &res), &res);
	} else {
		fprintf(stderr, "sfctl: bad arguments\n");
		ret = 1;
	}
	nlt_close(nl);
	return ret;
}
