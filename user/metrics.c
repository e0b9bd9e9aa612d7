// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics, one family each with its HELP and TYPE lines: counters end
 * in _total, durations are in seconds, times are Unix seconds
 * (_timestamp_seconds).  A family whose value the module does not report
 * (an older module, or a caller without CAP_SYS_ADMIN for the targets) is
 * left out rather than given a made-up value.
 */
#include <inttypes.h>
#include <time.h>

#include "metrics.h"
#include "names.h"

void metrics_label_value(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
	}
	putc('"', f);
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP snapfreeze_%s %s\n# TYPE snapfreeze_%s %s\n",
		name, help, name, type);
}

/* Nanoseconds as seconds, exactly: "1.000000042". */
static void seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000,
		ns % 1000000000);
}

static void gauge_s(FILE *f, const char *name, const char *help,
		    uint64_t ns)
{
	family(f, name, "gauge", help);
	fprintf(f, "snapfreeze_%s ", name);
	seconds(f, ns);
}

static void counter(FILE *f, const char *name, const char *help,
		    uint64_t v)
{
	family(f, name, "counter", help);
	fprintf(f, "snapfreeze_%s %" PRIu64 "\n", name, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	fprintf(f, "snapfreeze_%s %" PRIu64 "\n", name, v);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One series per state, 1 for the current one: alert on state="frozen". */
static void states(FILE *f, const struct client_status *st)
{
	uint32_t i;

	family(f, "state", "gauge",
	       "The freeze set's state: 1 for the current one, 0 for the others.");
	for (i = 0; i <= SNAPFREEZE_STATE_MAX; i++)
		fprintf(f, "snapfreeze_state{state=\"%s\"} %d\n", state_name(i),
			st->state == i);
}

static void target_labels(FILE *f, const struct client_target *t)
{
	fputs("{path=", f);
	metrics_label_value(f, t->path);
	fputs(",fstype=", f);
	metrics_label_value(f, t->fstype);
	fprintf(f, ",device=\"%u:%u\"", t->major, t->minor);
}

/* The set's targets, while there is a set, as the module reports them. */
static void targets(FILE *f, const struct client_status *st)
{
	unsigned int i, has_state = 0;
	uint32_t s;

	gauge(f, "targets", "Filesystems in the current freeze set.",
	      st->nr_targets);
	for (i = 0; i < st->nr_targets; i++)
		has_state += st->targets[i].has_state;
	if (!st->nr_targets || has_state < st->nr_targets)
		return;
	family(f, "target_state", "gauge",
	       "Each target's state: 1 for the current one, 0 for the others.");
	for (i = 0; i < st->nr_targets; i++) {
		for (s = 0; s <= SNAPFREEZE_TARGET_STATE_MAX; s++) {
			fputs("snapfreeze_target_state", f);
			target_labels(f, &st->targets[i]);
			fprintf(f, ",state=\"%s\"} %d\n", target_state_name(s),
				st->targets[i].state == s);
		}
	}
}

static void info_up(FILE *f, const char *version, int up)
{
	family(f, "info", "gauge", "The helper that wrote these metrics.");
	fputs("snapfreeze_info{version=", f);
	metrics_label_value(f, version);
	fputs("} 1\n", f);
	gauge(f, "up", "1 if the module answered, 0 if it could not be reached.",
	      up);
}

void metrics_print_down(FILE *f, const char *version)
{
	info_up(f, version, 0);
}

void metrics_print(FILE *f, const struct client_status *st,
		   const char *version)
{
	bool frozen = st->state == SNAPFREEZE_STATE_FROZEN;
	uint64_t now = realtime_ns(), since = st->frozen_since_ns;

	info_up(f, version, 1);
	states(f, st);
	counter(f, "freezes_total", "Freeze sets frozen since the module was loaded.",
		st->freezes);
	counter(f, "thaws_total", "Freeze sets thawed by a request (post-script).",
		st->thaws);
	counter(f, "auto_thaws_total",
		"Freeze sets thawed by the module itself (deadline, emergency, shutdown).",
		st->auto_thaws);
	counter(f, "failures_total", "Freeze requests that failed.",
		st->failures);
	gauge_s(f, "frozen_seconds",
		"How long the current set has been frozen; 0 when none is.",
		frozen && since && now > since ? now - since : 0);
	family(f, "frozen_since_timestamp_seconds", "gauge",
	       "When the current set was frozen (Unix time); 0 when none is.");
	fputs("snapfreeze_frozen_since_timestamp_seconds ", f);
	seconds(f, frozen ? since : 0);
	gauge_s(f, "auto_thaw_remaining_seconds",
		"Time left before the module thaws the current set by itself; 0 when none is frozen.",
		frozen ? (uint64_t)st->remaining_ms * 1000000 : 0);
	gauge_s(f, "timeout_seconds",
		"The auto-thaw timeout of the current or last set.",
		(uint64_t)st->timeout_ms * 1000000);
	gauge_s(f, "last_flush_seconds",
		"Duration of the last freeze's parallel flush.", st->flush_ns);
	gauge_s(f, "last_freeze_window_seconds",
		"The last freeze window: from the first freeze call to the last completion.",
		st->freeze_ns);
	if (st->has_skew)
		gauge_s(f, "last_skew_seconds",
			"The last freeze's skew: from the first target frozen to the last.",
			st->skew_ns);
	if (st->has_held_by_other)
		gauge(f, "held_by_other",
		      "Targets another holder (fsfreeze -f) kept frozen at the last thaw.",
		      st->held_by_other);
	targets(f, st);
}
