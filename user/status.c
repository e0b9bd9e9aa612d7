// SPDX-License-Identifier: GPL-2.0
/* status (text or JSON) and monitor: what the kernel says, printed. */
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"
#include "names.h"
#include "nlclient.h"
#include "options.h"
#include "report.h"
#include "session.h"

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* What older modules do not report is left out. */
static void json_target(const struct client_target *t)
{
	fputs("{\"path\":", stdout);
	json_string(t->path);
	fputs(",\"fstype\":", stdout);
	json_string(t->fstype);
	fputs(",\"sb_id\":", stdout);
	json_string(t->sb_id);
	printf(",\"device\":\"%u:%u\"", t->major, t->minor);
	if (t->has_state)
		printf(",\"state\":\"%s\"", target_state_name(t->state));
	if (t->has_timings)
		printf(",\"flush_ns\":%llu,\"freeze_ns\":%llu,\"frozen_at_ns\":%llu",
		       (unsigned long long)t->flush_ns,
		       (unsigned long long)t->freeze_ns,
		       (unsigned long long)t->frozen_at_ns);
	putchar('}');
}

static void print_json(const struct client_status *st)
{
	unsigned int i;

	printf("{\"state\":\"%s\",\"execution_id\":", state_name(st->state));
	if (st->exec_id[0])
		json_string(st->exec_id);
	else
		fputs("null", stdout);
	fputs(",\"targets\":[", stdout);
	for (i = 0; i < st->nr_targets; i++) {
		if (i)
			putchar(',');
		json_target(&st->targets[i]);
	}
	printf("],\"timeout_ms\":%u,\"remaining_ms\":%u,\"frozen_since_ns\":%llu,\"thawed_at_ns\":%llu,\"thaw_reason\":\"%s\",\"last_flush_ns\":%llu,\"last_freeze_ns\":%llu,\"freezes\":%llu,\"thaws\":%llu,\"auto_thaws\":%llu,\"failures\":%llu,\"last_error\":",
	       st->timeout_ms, st->remaining_ms,
	       (unsigned long long)st->frozen_since_ns,
	       (unsigned long long)st->thawed_at_ns,
	       thaw_reason_name(st->thaw_reason),
	       (unsigned long long)st->flush_ns,
	       (unsigned long long)st->freeze_ns,
	       (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	       (unsigned long long)st->auto_thaws,
	       (unsigned long long)st->failures);
	json_string(st->last_error);
	if (st->has_held_by_other)
		printf(",\"held_by_other\":%u", st->held_by_other);
	if (st->has_skew)
		printf(",\"skew_ns\":%llu", (unsigned long long)st->skew_ns);
	puts("}");
}

static void print_target(const struct client_target *t)
{
	printf("target: %s (%s on %s, %u:%u)", t->path, t->fstype, t->sb_id,
	       t->major, t->minor);
	if (t->has_state)
		printf(" %s", target_state_name(t->state));
	if (t->has_state && t->state == SNAPFREEZE_TARGET_STATE_HELD_BY_OTHER)
		printf(": still frozen by another holder (fsfreeze -f?), only it can thaw it: fsfreeze -u %s",
		       t->path);
	putchar('\n');
}

static void print_text(const struct client_status *st)
{
	unsigned int i;

	printf("state: %s\n", state_name(st->state));
	if (st->exec_id[0])
		printf("execution id: %s\n", st->exec_id);
	for (i = 0; i < st->nr_targets; i++)
		print_target(&st->targets[i]);
	if (st->state == SNAPFREEZE_STATE_FROZEN)
		printf("auto-thaw in: %u ms\n", st->remaining_ms);
	printf("freezes: %llu, thaws: %llu, auto-thaws: %llu, failures: %llu\n",
	       (unsigned long long)st->freezes, (unsigned long long)st->thaws,
	       (unsigned long long)st->auto_thaws,
	       (unsigned long long)st->failures);
	if (st->last_error[0])
		printf("last error: %s\n", st->last_error);
	if (st->held_by_other)
		printf("left frozen by another holder at the last thaw: %u filesystem(s); only that holder can thaw them (fsfreeze -u PATH)\n",
		       st->held_by_other);
}

int cmd_status(const struct options *o)
{
	struct client_status st = { 0 };
	struct client_error err;
	struct client *c;
	int ret;

	if (connect_module(&c))
		return SF_EXIT_NOT_READY;
	ret = client_get(c, &st, &err);
	client_close(c);
	if (ret) {
		report_kernel_error("status", ret, &err, NULL, 0);
		return SF_EXIT_NOT_READY;
	}
	if (o->json)
		print_json(&st);
	else
		print_text(&st);
	client_status_free(&st);
	return SF_EXIT_OK;
}

static int print_event(const struct client_event *ev, void *arg)
{
	(void)arg;
	printf("%s %s execution %s", now_text(), event_name(ev->event),
	       ev->exec_id);
	if (ev->thaw_reason)
		printf(" reason %s", thaw_reason_name(ev->thaw_reason));
	if (ev->err)
		printf(" error %s", strerror(ev->err));
	if (ev->held_by_other)
		printf(" held-by-other %u", ev->held_by_other);
	putchar('\n');
	fflush(stdout);
	return 0;
}

int cmd_monitor(const struct options *o)
{
	struct client *c;
	int ret;

	(void)o;
	if (connect_module(&c))
		return SF_EXIT_NOT_READY;
	ret = client_monitor(c, print_event, NULL);
	client_close(c);
	if (ret) {
		log_error("monitor: %s", strerror(-ret));
		return SF_EXIT_NOT_READY;
	}
	return SF_EXIT_OK;
}
