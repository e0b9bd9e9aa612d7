// SPDX-License-Identifier: GPL-2.0
/*
 * status (text, JSON or Prometheus metrics) and monitor (text or JSON
 * lines): what the kernel says, printed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exitcodes.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "nlclient.h"
#include "options.h"
#include "report.h"
#include "session.h"

/* What older modules do not report is left out. */
static void json_target(const struct client_target *t)
{
	fputs("{\"path\":", stdout);
	json_string(stdout, t->path);
	fputs(",\"fstype\":", stdout);
	json_string(stdout, t->fstype);
	fputs(",\"sb_id\":", stdout);
	json_string(stdout, t->sb_id);
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
		json_string(stdout, st->exec_id);
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
	json_string(stdout, st->last_error);
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

/*
 * What went wrong, in the format asked for: a JSON object with "error"
 * for --json, snapfreeze_up 0 for --prometheus (never an ERROR line on
 * stdout, which a collector reads), else an ERROR line.
 */
static int status_failed(const struct options *o, const char *msg)
{
	if (o->json) {
		fputs("{\"state\":null,\"error\":", stdout);
		json_string(stdout, msg);
		puts("}");
	} else if (o->prometheus) {
		metrics_print_down(stdout, SF_VERSION);
	} else {
		log_error("%s", msg);
		return SF_EXIT_NOT_READY;
	}
	fprintf(stderr, "snapfreeze: %s\n", msg);
	fflush(stdout);
	return SF_EXIT_NOT_READY;
}

int cmd_status(const struct options *o)
{
	struct client_status st = { 0 };
	struct client_error err;
	struct client *c;
	char msg[512];
	int ret;

	if (connect_module_msg(&c, msg, sizeof(msg)))
		return status_failed(o, msg);
	ret = client_get(c, &st, &err);
	client_close(c);
	if (ret) {
		snprintf(msg, sizeof(msg), "status failed: %s (error %d)",
			 err.msg[0] ? err.msg : strerror(-ret), -ret);
		return status_failed(o, msg);
	}
	if (o->prometheus)
		metrics_print(stdout, &st, SF_VERSION);
	else if (o->json)
		print_json(&st);
	else
		print_text(&st);
	client_status_free(&st);
	return SF_EXIT_OK;
}

/* Now as RFC 3339 in UTC, to the millisecond: what log shippers parse. */
static const char *utc_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return buf;
}

/*
 * One object per line, every key always there (null when it does not
 * apply), flushed: a log shipper reading a pipe gets each event as it
 * comes.
 */
static void print_event_json(const struct client_event *ev)
{
	char when[48];

	printf("{\"time\":\"%s\",\"event\":", utc_now(when, sizeof(when)));
	json_string(stdout, event_name(ev->event));
	fputs(",\"execution_id\":", stdout);
	json_string(stdout, ev->exec_id[0] ? ev->exec_id : NULL);
	fputs(",\"thaw_reason\":", stdout);
	json_string(stdout, ev->thaw_reason ?
		    thaw_reason_name(ev->thaw_reason) : NULL);
	fputs(",\"errno\":", stdout);
	if (ev->err)
		printf("%u", ev->err);
	else
		fputs("null", stdout);
	fputs(",\"error\":", stdout);
	json_string(stdout, ev->err ? strerror(ev->err) : NULL);
	printf(",\"held_by_other\":%u}\n", ev->held_by_other);
}

static void print_event_text(const struct client_event *ev)
{
	printf("%s %s execution %s", now_text(), event_name(ev->event),
	       ev->exec_id);
	if (ev->thaw_reason)
		printf(" reason %s", thaw_reason_name(ev->thaw_reason));
	if (ev->err)
		printf(" error %s", strerror(ev->err));
	if (ev->held_by_other)
		printf(" held-by-other %u", ev->held_by_other);
	putchar('\n');
}

/* Non-zero (stop) once stdout is gone: nobody reads the events any more. */
static int print_event(const struct client_event *ev, void *arg)
{
	const struct options *o = arg;

	if (o->json)
		print_event_json(ev);
	else
		print_event_text(ev);
	return fflush(stdout) || ferror(stdout);
}

int cmd_monitor(const struct options *o)
{
	struct client *c;
	char msg[512];
	int ret;

	if (connect_module_msg(&c, msg, sizeof(msg))) {
		if (!o->json)
			return status_failed(o, msg);
		fputs("{\"event\":null,\"error\":", stdout);
		json_string(stdout, msg);
		puts("}");
		fprintf(stderr, "snapfreeze: %s\n", msg);
		return SF_EXIT_NOT_READY;
	}
	/*
	 * The text form says when it listens (a hook waits for this line
	 * before it relies on the events); the subscription follows at once,
	 * long before any FREEZE a hook's caller can send.
	 */
	if (!o->json) {
		printf("%s listening\n", now_text());
		fflush(stdout);
	}
	ret = client_monitor(c, print_event, (void *)o);
	client_close(c);
	if (ret) {
		snprintf(msg, sizeof(msg), "monitor: %s", strerror(-ret));
		if (o->json) {
			fputs("{\"event\":null,\"error\":", stdout);
			json_string(stdout, msg);
			puts("}");
			fprintf(stderr, "snapfreeze: %s\n", msg);
			return SF_EXIT_NOT_READY;
		}
		log_error("%s", msg);
		return SF_EXIT_NOT_READY;
	}
	return SF_EXIT_OK;
}
